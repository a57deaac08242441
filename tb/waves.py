"""A short tile simulation that records an FST waveform.

    python -m tb.waves [--rows 16] [--cols 16] [...] [--simulator verilator]

Runs the ``phase_timing`` test (one MVM per input mode, every phase checked) with tracing on
and prints where the FST is. The defaults are small: a 512 x 512 trace runs to gigabytes.
"""
import argparse
import sys

from hdl.verilog import add_size_arguments, params_from_args


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tb.waves", description=__doc__.splitlines()[0])
    add_size_arguments(ap)
    ap.set_defaults(rows=16, cols=16)
    ap.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    args = ap.parse_args(argv)
    params = params_from_args(ap, args)

    from hdl.tile import Tile
    from tb.runner import run_cocotb
    key = "waves_" + "_".join(str(v) for v in (
        params.rows, params.cols, params.in_bits, params.out_bits, params.code_bits,
        params.devices_per_weight, params.f_factor))
    results = run_cocotb(lambda: Tile(params), "tile", "tb.test_tile", args.simulator, key,
                         testcase="phase_timing", waves=True)
    fst = results.parent / "waves.fst"
    if not fst.exists() or fst.stat().st_size == 0:
        print(f"tb.waves: error: no waveform at {fst}", file=sys.stderr)
        return 1
    print(f"tb.waves: {fst} ({fst.stat().st_size / 1e3:.0f} kB); open it with gtkwave")
    return 0


if __name__ == "__main__":
    sys.exit(main())
