"""Regression in volume: random MVMs through the tile RTL on Verilator and Icarus, checked
against the golden model, in parallel on the available cores.

    python scripts/regress.py [--mvms 100000] [--jobs N] [--seed S] [--chunk 5000]

The MVMs are shared out over the small parameter sets of the suite (tests/test_rtl_tile.py
``SMALL``: 8 x 6, 12 x 10 with F = 3 and a partial row group, 16 x 16 in 2-PCM mode) and both
simulators in the suite's proportions (``VOLUME``: by each simulator's speed at each size), in
runs of at most ``--chunk`` MVMs, each with its own printed seed (20 % of the MVMs with random
idle cycles and output back-pressure, random configurations over every input mode and
activation, read noise on half of them). Prints every run as it ends and the totals: MVMs,
mismatches (a run with a mismatch fails and names its seed; replay it with the printed
command), MVM/s. Exit status 1 if any run failed.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from golden.spec import check_int        # noqa: E402

__all__ = ["plan", "main"]


def plan(total: int, chunk: int, seed: int) -> list:
    """Runs (set, simulator, MVMs, seed) covering at least ``total`` MVMs in the proportions of
    the suite's VOLUME, none longer than ``chunk``."""
    from tests.test_rtl_tile import VOLUME
    volume_total = sum(sum(v.values()) for v in VOLUME.values())
    runs = []
    for simulator, sets in VOLUME.items():
        for name, share in sets.items():
            count = math.ceil(total * share / volume_total)
            pieces = math.ceil(count / chunk)
            for i in range(pieces):
                n = count // pieces + (1 if i < count % pieces else 0)
                runs.append((name, simulator, n, (seed + len(runs)) % (1 << 32)))
    # longest (Icarus at the largest size) first, so the pool ends together
    runs.sort(key=lambda r: -(r[2] * (8 if r[1] == "icarus" else 1)
                              * {"t8x6": 1, "t12x10f3": 2, "t16x16d2": 5}.get(r[0], 1)))
    return runs


#: Each run's output (the simulator's and cocotb's), kept for a failed run.
LOGS = ROOT / "build" / "regress"


@contextlib.contextmanager
def _output_to(path: str):
    """File descriptors 1 and 2 (this process's and its simulator's) into ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _one(run) -> dict:
    """One run_cocotb of tb.test_tile's random_mvms (in a worker process)."""
    name, simulator, mvms, seed = run
    from hdl.tile import Tile
    from tb.runner import run_cocotb
    from tests.test_rtl_tile import SMALL
    out = {"set": name, "simulator": simulator, "mvms": mvms, "seed": seed}
    start = time.perf_counter()
    LOGS.mkdir(parents=True, exist_ok=True)
    os.environ["TB_RUN_NAME"] = f"regress-{name}-{seed}"     # runs of one build in parallel
    out["log"] = str(LOGS / f"{name}-{simulator}-{seed}.log")
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        try:
            with _output_to(out["log"]):
                run_cocotb(lambda: Tile(SMALL[name]), "tile", "tb.test_tile", simulator, name,
                           testcase="random_mvms",
                           extra_env={"TEST_SEED": seed, "TEST_MVMS": mvms, "TEST_STALL": 0.2,
                                      "TEST_SUMMARY": summary})
            data = json.loads(summary.read_text())
            out.update(mismatches=int(data["mismatches"]), ok=True,
                       mvm_per_second=float(data["mvm_per_second"]))
        except (Exception, SystemExit) as error:      # the runner exits on a failed run
            out.update(ok=False, error=(str(error).splitlines() or [repr(error)])[0][:300],
                       mismatches=None)
    out["seconds"] = time.perf_counter() - start
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/regress.py",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--mvms", type=int, default=100_000, help="MVMs in all (>= 1)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="runs at the same time (default: the cores)")
    ap.add_argument("--seed", type=int, default=None,
                    help="first run's seed (default: random, printed); run i uses seed + i")
    ap.add_argument("--chunk", type=int, default=5000, help="most MVMs in one run")
    ap.add_argument("--json", default=str(ROOT / "build" / "regress.json"))
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    try:
        check_int("--mvms", args.mvms, 1, 10**8)
        check_int("--jobs", args.jobs, 1, 256)
        check_int("--chunk", args.chunk, 1, 10**6)
        if args.seed is not None:
            check_int("--seed", args.seed, 0, (1 << 32) - 1)
    except ValueError as error:
        ap.error(str(error))
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    runs = plan(args.mvms, args.chunk, seed)
    print(f"regress: {sum(r[2] for r in runs)} MVMs in {len(runs)} runs on {args.jobs} "
          f"workers, seeds {seed} + i (the first run of each build also emits and builds)")
    start = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(_one, r) for r in runs]
        for k, future in enumerate(as_completed(futures), 1):
            r = future.result()
            results.append(r)
            state = (f"{r['mismatches']} mismatches, {r['mvm_per_second']:.0f} MVM/s"
                     if r["ok"] else f"FAILED: {r['error']}")
            print(f"[{k}/{len(runs)} {time.perf_counter() - start:6.0f} s] {r['set']:>8} "
                  f"{r['simulator']:<9} {r['mvms']:>5} MVMs, seed {r['seed']}: {state}")
    wall = time.perf_counter() - start
    done = sum(r["mvms"] for r in results if r["ok"])
    failed = [r for r in results if not r["ok"]]
    print(f"regress: {done} MVMs checked, {len(failed)} failed runs, "
          f"{sum(r['mismatches'] or 0 for r in results if r['ok'])} mismatches in passing runs; "
          f"{wall:.0f} s wall, {done / wall:.0f} MVM/s over {args.jobs} workers")
    for sim in ("verilator", "icarus"):
        mine = [r for r in results if r["ok"] and r["simulator"] == sim]
        if mine:
            busy = sum(r["seconds"] for r in mine)
            print(f"  {sim}: {sum(r['mvms'] for r in mine)} MVMs in {busy:.0f} s of runs")
    for r in failed:
        print(f"  log: {r['log']}")
        print(f"  replay: SEED={r['seed']} RTL_MVMS={r['mvms']} .venv/bin/python -m pytest "
              f"'tests/test_rtl_tile.py::test_random_volume[{r['set']}-{r['simulator']}]'")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"seed": seed, "wall_seconds": wall,
                                           "runs": results}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
