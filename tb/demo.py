"""The kit's main job: random MVMs through the tile RTL, checked against the golden model.

    python -m tb.demo [--rows 512] [--cols 512] [--in-bits 8] ... [--mvms 200]
                      [--simulator verilator] [--seed 1]

Emits the tile's Verilog, builds it (cached in build/sim), runs seeded random MVMs over every
input mode and activation under cocotb, compares every output word and every latency with
golden/, and prints the figures. When words or latencies differ it prints how many, the first
one with both values and the seed, and exits with status 1.
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


def describe_mismatch(m: dict, seed: int) -> str:
    """One line naming a mismatching output word: index, mode, activation, both values."""
    return (f"y[{m['mvm']}][{m['column']}] ({m['mode']}, {m['activation']}): expected "
            f"{m['expected']}, got {m['got']} (seed {seed})")


def report(summary: dict | None, params: TileParams, simulator: str, seed: int,
           seconds: float, failure: str | None = None, mvms: int | None = None) -> int:
    """Print the figures of a run (``summary``: the testbench's ``TEST_SUMMARY``, None when the
    run ended before writing one) and return the exit status: 0 when every word and every
    latency matched, 1 otherwise."""
    err = sys.stderr
    replay = (f"replay: python -m tb.demo --rows {params.rows} --cols {params.cols} "
              f"--in-bits {params.in_bits} --out-bits {params.out_bits} --code-bits "
              f"{params.code_bits} --devices {params.devices_per_weight} --f-factor "
              f"{params.f_factor} --eval-rows {params.eval_rows} --simulator {simulator} "
              + ("--fault-injection " if params.fault_injection else "")
              + (f"--mvms {mvms} " if mvms is not None else "") + f"--seed {seed}")
    if summary is None:
        print(f"tb.demo: the RTL run failed before it reported any MVM (seed {seed}): "
              f"{failure}", file=err)
        print(replay, file=err)
        return 1
    s = summary
    print()
    print(f"MVMs through the RTL       {s['mvms']}")
    print(f"mismatches vs golden       {s['mismatches']}  (every word of every output vector)")
    if s.get("latency_mismatches"):
        print(f"latency mismatches         {s['latency_mismatches']}")
    for mode in InputMode:
        t = mvm_timing(params, TileConfig(input_mode=mode))
        phases = ", ".join(f"{ph.name} {n}" for ph, n in t.cycles.items())
        print(f"cycles per MVM ({mode.name:8s}) {t.period}  ({phases}; "
              f"latency {t.latency}, physical window {t.physical_ticks} ticks)")
    if s["mvms"]:
        print(f"cycles per MVM measured    {s['cycles_per_mvm']:.1f}  (mean over the run)")
        print(f"simulation speed           {s['mvm_per_second']:.1f} MVM/s, "
              f"{s['cycles_per_second'] / 1e3:.1f} k cycles/s ({simulator}, cocotb)")
    print(f"wall time                  {seconds:.1f} s including Verilog emission and build "
          f"when not cached")
    bad = bool(s["mismatches"] or s.get("latency_mismatches") or s.get("error") or failure)
    if not bad:
        return 0
    if s["mismatches"]:
        n = s["mismatches"]
        print(f"tb.demo: {n} output word{'s differ' if n != 1 else ' differs'} from the golden "
              f"model; first mismatch: {describe_mismatch(s['first_mismatch'], seed)}", file=err)
    first = s.get("first_latency_mismatch")
    if first:
        n = s["latency_mismatches"]
        print(f"tb.demo: {n} latenc{'ies differ' if n != 1 else 'y differs'} from the golden model; "
              f"first latency mismatch: MVM {first['mvm']}: expected {first['expected']} "
              f"cycles, got {first['got']} (seed {seed})", file=err)
    if s.get("error") and not (s["mismatches"] or first):
        print(f"tb.demo: the run stopped after {s['mvms']} MVMs (seed {seed}): {s['error']}",
              file=err)
    elif not (s["mismatches"] or first):
        print(f"tb.demo: the RTL run failed (seed {seed}): {failure}", file=err)
    print(replay, file=err)
    return 1


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
    failure = None
    with tempfile.TemporaryDirectory() as tmp:
        summary_path = Path(tmp) / "summary.json"
        try:
            run_cocotb(lambda: Tile(params), "tile", "tb.test_tile", args.simulator, key,
                       testcase="random_mvms",
                       extra_env={"TEST_MVMS": args.mvms, "TEST_SEED": args.seed,
                                  "TEST_SUMMARY": summary_path})
        except (AssertionError, RuntimeError) as error:
            # a failed cocotb test (AssertionError) or a failed build (RuntimeError)
            failure = str(error)
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return report(summary, params, args.simulator, args.seed, time.perf_counter() - start,
                  failure, args.mvms)


if __name__ == "__main__":
    sys.exit(main())
