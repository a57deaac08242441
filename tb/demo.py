"""The kit's main job: random MVMs through the tile RTL, checked against the golden model.

    python -m tb.demo [--rows 512] [--cols 512] [--in-bits 8] ... [--mvms 200]
                      [--simulator verilator] [--seed 1]

Emits the tile's Verilog, builds it (cached in build/sim), runs seeded random MVMs over every
input mode and activation under cocotb, compares every output word and every latency with
golden/, and prints the figures.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from golden import cli
from golden.spec import InputMode, Phase, TileConfig, TileParams
from golden.timing import mvm_timing


def main(argv=None) -> int:
    from hdl.verilog import add_size_arguments, params_from_args
    ap = argparse.ArgumentParser(prog="python -m tb.demo", description=__doc__.splitlines()[0])
    add_size_arguments(ap)
    ap.add_argument("--mvms", type=int, default=200, help="random MVMs to run (>= 8)")
    ap.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    ap.add_argument("--seed", type=cli.seed, default=1, help=f"0..{cli.SEED_MAX}")
    args = ap.parse_args(argv)
    params = params_from_args(ap, args)
    if args.mvms < 8:
        ap.error(f"--mvms must be at least 8 (one per input mode and activation), not {args.mvms}")

    from hdl.tile import Tile
    from tb.runner import run_cocotb

    # the chip-size build is shared with the full-size test (key "full")
    key = "full" if params == TileParams() else "demo_" + "_".join(
        str(v) for v in (params.rows, params.cols, params.in_bits, params.out_bits,
                         params.code_bits, params.devices_per_weight, params.f_factor,
                         params.eval_rows))
    print(f"tile {params.rows} x {params.cols}, {params.in_bits}-bit in, {params.out_bits}-bit out, "
          f"{params.devices_per_weight} PCM per weight, F = {params.f_factor}; "
          f"{args.simulator}; seed {args.seed}", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        summary_path = Path(tmp) / "summary.json"
        run_cocotb(lambda: Tile(params), "tile", "tb.test_tile", args.simulator, key,
                   testcase="random_mvms",
                   extra_env={"TEST_MVMS": args.mvms, "TEST_SEED": args.seed,
                              "TEST_SUMMARY": summary_path})
        s = json.loads(summary_path.read_text())
    total = time.perf_counter() - start

    print()
    print(f"MVMs through the RTL       {s['mvms']}")
    print(f"mismatches vs golden       {s['mismatches']}  (every word of every output vector)")
    for mode in InputMode:
        t = mvm_timing(params, TileConfig(input_mode=mode))
        phases = ", ".join(f"{ph.name} {n}" for ph, n in t.cycles.items())
        print(f"cycles per MVM ({mode.name:8s}) {t.period}  ({phases}; "
              f"latency {t.latency}, physical window {t.physical_ticks} ticks)")
    print(f"cycles per MVM measured    {s['cycles_per_mvm']:.1f}  (mean over the run)")
    print(f"simulation speed           {s['mvm_per_second']:.1f} MVM/s, "
          f"{s['cycles_per_second'] / 1e3:.1f} k cycles/s ({args.simulator}, cocotb)")
    print(f"wall time                  {total:.1f} s including Verilog emission and build "
          f"when not cached")
    return 0 if s["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
