"""Throughput of every backend in one run: golden model, plain NumPy, amaranth.sim, Icarus,
Verilator; Verilog emission and Verilator build times; the chip: two 512 x 512 tiles chained
(passes/s) and the 34-tile chip (emission, build, peak memory, cycles/s with two tiles active,
against the 2-tile chip's). Prints a table and writes JSON.

    python scripts/bench.py [--sizes 64 512] [--golden-sizes 512] [--json build/bench.json]
                            [--quick] [--chip none|2|all]

The golden model is measured with every non-ideality of the configuration on (SIGNED inputs,
per-column gain and offset, ramp shift, hard-sigmoid EN window), once without and once with
read noise; with read noise each call advances the MVM index (vector i of a call of a batch of
n is MVM ``k * n + i`` for call k), as MVM_COUNT does, so every call draws fresh noise.
``--golden-sizes`` measures only the golden model (no Verilog, no simulator) at sizes that
``--sizes`` does not list: ``--sizes --chip none`` measures the golden model at 512 x 512 alone.

Figures are measured here, on this machine, in this run; compare them as ratios.
"""
import argparse
import dataclasses
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from golden.cli import writable_file                                     # noqa: E402
from golden.spec import Activation, InputMode, TileConfig, TileParams   # noqa: E402
from golden.tile import Tile as GoldenTile                               # noqa: E402
from tb.stimulus import random_codes, random_inputs                      # noqa: E402


def best_of(fn, repeats, min_time=0.2):
    """Best time per call of ``fn`` over ``repeats`` rounds of at least ``min_time`` each."""
    best = float("inf")
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / n)
    return best


def best_of_interleaved(fns: dict, repeats: int, min_time: float = 0.2) -> dict:
    """Best time per call of each function of ``fns``, measured in alternating rounds (all
    functions once per round), so that a machine whose load varies weighs on all of them
    alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            best[name] = min(best[name], best_of(fn, 1, min_time))
    return best


def bench_golden(p, rng, repeats):
    """Golden model with every non-ideality on, without and with read noise, vs float64 W @ X
    of the same shape (one vector, and a batch of 1000)."""
    golden = GoldenTile(p, random_codes(rng, p))
    cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.HARD_SIGMOID,
                     ramp_shift=p.ramp_shift_max // 2,
                     gain=rng.integers(p.gain_one // 2, 2 * p.gain_one, size=p.cols),
                     offset=rng.integers(-8, 8, size=p.cols))
    noisy = dataclasses.replace(cfg, noise_seed=int(rng.integers(0, 1 << 32)),
                                noise_sigma=min(65535, 2 << cfg.ramp_shift))   # ~1 LSB sd
    batch = 1000
    x1 = random_inputs(rng, p, InputMode.SIGNED, 1)[0]
    xb = random_inputs(rng, p, InputMode.SIGNED, batch)
    w = golden.weights.astype(np.float64)
    x1f, xbf = x1.astype(np.float64), xb.astype(np.float64).T.copy()
    index1, indexb = itertools.count(), itertools.count(0, batch)
    t = best_of_interleaved({
        "n1": lambda: w.T @ x1f, "g1": lambda: golden.mvm(x1, cfg),
        "r1": lambda: golden.mvm(x1, noisy, next(index1))}, repeats)
    t_n1, t_g1, t_r1 = t["n1"], t["g1"], t["r1"]
    t = best_of_interleaved({
        "nb": lambda: w.T @ xbf, "gb": lambda: golden.mvm(xb, cfg),
        "rb": lambda: golden.mvm(xb, noisy, next(indexb))}, repeats)
    t_nb, t_gb, t_rb = t["nb"], t["gb"], t["rb"]
    return {
        "golden_single_mvm_per_s": 1 / t_g1, "numpy_single_mvm_per_s": 1 / t_n1,
        "golden_single_ratio": t_n1 / t_g1,
        "golden_noise_single_mvm_per_s": 1 / t_r1, "golden_noise_single_ratio": t_n1 / t_r1,
        "golden_batch_mvm_per_s": batch / t_gb, "numpy_batch_mvm_per_s": batch / t_nb,
        "golden_batch_ratio": t_nb / t_gb,
        "golden_noise_batch_mvm_per_s": batch / t_rb, "golden_noise_batch_ratio": t_nb / t_rb,
        "noise_sigma": noisy.noise_sigma,
    }


def print_golden(name: str, g: dict) -> None:
    """The golden model's ratios to NumPy, one line per case."""
    for case, key in (("single vector", "single"), ("batch of 1000", "batch")):
        print(f"  {name} {case}: golden (read noise off) vs numpy: "
              f"{g[f'golden_{key}_ratio']:.2f}; golden (read noise on) vs numpy: "
              f"{g[f'golden_noise_{key}_ratio']:.2f}", flush=True)


def bench_amaranth_sim(p, rng, mvms):
    # a large tile compiles to deeply nested Python with very wide constants
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
    sys.set_int_max_str_digits(0)
    from hdl.tile import Tile
    from amaranth.sim import Simulator
    from tb.simdrv import SimTileDriver
    golden = GoldenTile(p, random_codes(rng, p))
    xs = random_inputs(rng, p, InputMode.UNSIGNED, mvms)
    expected = golden.mvm(xs, TileConfig())
    dut = Tile(p)
    t0 = time.perf_counter()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    out = {}

    async def bench(ctx):
        drv = SimTileDriver(ctx, dut, p)
        for r in range(p.rows):          # program row by row (not timed)
            await drv.program_row(r, golden.codes[r])
        start = time.perf_counter()
        cycles = mismatches = 0
        for i, x in enumerate(xs):
            y, latency = await drv.mvm(x)
            cycles += latency + 1
            mismatches += int(np.sum(y != expected[i]))
        seconds = time.perf_counter() - start
        out.update(mvms=mvms, mismatches=mismatches, mvm_per_second=mvms / seconds,
                   cycles_per_second=cycles / seconds)

    sim.add_testbench(bench)
    sim.run()
    out["setup_seconds"] = time.perf_counter() - t0 - mvms / out["mvm_per_second"]
    return out


def bench_cocotb(p, key, simulator, mvms, groups=8, plain=False):
    from hdl.tile import Tile
    from tb.runner import run_cocotb
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        start = time.perf_counter()
        run_cocotb(lambda: Tile(p), "tile", "tb.test_tile", simulator, key,
                   testcase="random_mvms",
                   extra_env={"TEST_MVMS": mvms, "TEST_SEED": 1, "TEST_SUMMARY": summary,
                              "TEST_GROUPS": groups, "TEST_PLAIN_CONFIG": int(plain)})
        out = json.loads(summary.read_text())
        out["total_seconds"] = time.perf_counter() - start
    return out


def bench_build(p, key):
    """Fresh Verilog emission and Verilator build of the tile, timed."""
    import subprocess
    from hdl.tile import Tile
    from hdl.verilog import emit
    from tb.runner import VERILATOR_BUILD_ARGS
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        text = emit(Tile(p), "tile", Path(tmp) / "tile.v")
        emit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(["verilator", "--cc", "--build", "-j", str(os.cpu_count() or 2),
                        *[a for a in VERILATOR_BUILD_ARGS if a != "--timing"],
                        "--Mdir", str(Path(tmp) / "obj"), "tile.v"],
                       cwd=tmp, check=True, capture_output=True)
        build_s = time.perf_counter() - t0
    return {"verilog_emit_seconds": emit_s, "verilog_bytes": len(text),
            "verilator_build_seconds": build_s}


def bench_chip(grid: str, empty: str, chain: str, beats: int, pair_rows: str) -> dict:
    """A routed pass of a chip of 512 x 512 tiles (scripts/chip_run.py in its own process, so
    that its peak memory is its own): emission, build, cycles/s of the stream."""
    import subprocess
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "chip.json"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "chip_run.py"), "--grid", grid,
                        "--empty", empty, "--pair-rows", pair_rows, "--chain", chain,
                        "--beats", str(beats), "--json", str(out)], check=True, cwd=ROOT)
        return json.loads(out.read_text())


def print_chip(results: dict) -> None:
    two, full = results.get("chip_2"), results.get("chip_34")
    if not (two or full):
        return
    print(f"\n{'chip':<34} {'passes/s':>9} {'cycles/s':>10}  note")
    for name, r in (("2 tiles (1 x 2), 512 x 512", two), ("34 tiles (6 x 6), 2 active", full)):
        if r is None:
            continue
        print(f"{name:<34} {r['passes_per_second']:>9.2f} {r['cycles_per_second']:>10.0f}  "
              f"chain {r['chain']}, {r['beats']} beats, {r['mismatches']} mismatches")
        cached = " (cached: the figures of the build that made it)" if r.get("build_cached") \
            else ""
        print(f"{'':<34} Verilog {r['verilog_bytes'] / 1e6:.1f} MB emitted in "
              f"{r.get('emit_seconds', float('nan')):.0f} s; Verilator build "
              f"{r.get('build_seconds', float('nan')):.0f} s, peak "
              f"{r.get('build_peak_rss_bytes', float('nan')) / 2**30:.2f} GiB{cached}")
    if two and full:
        print(f"idle tiles: 34-tile chip with 2 active at "
              f"{full['cycles_per_second'] / two['cycles_per_second']:.2f} x the 2-tile chip's "
              f"cycles/s (goal >= 0.5)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[64, 512],
                    help="square tile sizes (rows = cols) to measure on every backend (none: "
                         "only the golden model at --golden-sizes and the chip)")
    ap.add_argument("--golden-sizes", type=int, nargs="*", default=[512],
                    help="sizes at which to measure the golden model alone when --sizes does "
                         "not list them (no values: none)")
    ap.add_argument("--json", type=writable_file, default=str(ROOT / "build" / "bench.json"),
                    help="where to write the figures (checked before measuring)")
    ap.add_argument("--quick", action="store_true", help="fewer MVMs and repeats")
    ap.add_argument("--chip", choices=["none", "2", "all"], default="all",
                    help="chip figures: none, the 2-tile chip only, or also the 34-tile chip "
                         "(its first build takes 15 to 25 minutes)")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)     # progress lines as they happen
    for s in args.sizes + args.golden_sizes:
        if not 1 <= s <= 4096:
            ap.error(f"size must be in [1, 4096], not {s}")
    rng = np.random.default_rng(2024)
    repeats = 2 if args.quick else 5
    results = {}
    for size in dict.fromkeys(args.golden_sizes):
        if size in args.sizes:
            continue
        print(f"== {size} x {size}: golden model ==", flush=True)
        g = bench_golden(TileParams(rows=size, cols=size), rng, repeats)
        print_golden(f"{size}x{size}", g)
        results[f"{size}x{size}"] = {"golden": g}
    for size in args.sizes:
        p = TileParams(rows=size, cols=size)
        key = "full" if size == 512 else f"bench{size}"
        r = {}
        print(f"== {size} x {size} ==", flush=True)
        r["golden"] = bench_golden(p, rng, repeats)
        print(f"  golden: {r['golden']}", flush=True)
        print_golden(f"{size}x{size}", r["golden"])
        r["build"] = bench_build(p, key)
        print(f"  build: {r['build']}", flush=True)
        big = size >= 256
        try:
            r["amaranth_sim"] = bench_amaranth_sim(p, rng, 1 if big else (3 if args.quick else 10))
        except (RecursionError, ValueError, MemoryError) as error:
            r["amaranth_sim"] = {"error": f"{type(error).__name__}: {error}"}
        print(f"  amaranth.sim: {r['amaranth_sim']}", flush=True)
        # Icarus at full size runs tens of cycles per second: one configuration, no
        # per-column register writes, two MVMs
        r["icarus"] = (bench_cocotb(p, key, "icarus", 2, groups=1, plain=True) if big
                       else bench_cocotb(p, key, "icarus", 40))
        print(f"  icarus: {r['icarus']}", flush=True)
        r["verilator"] = bench_cocotb(p, key, "verilator",
                                      (50 if args.quick else 200) if big else 500)
        print(f"  verilator: {r['verilator']}", flush=True)
        results[f"{size}x{size}"] = r
    if args.chip != "none":
        print("== chip: two 512 x 512 tiles chained on a 1 x 2 chip ==", flush=True)
        results["chip_2"] = bench_chip("1x2", "", "0,1", 16, "0")
    if args.chip == "all":
        print("== chip: the 34-tile chip, two tiles active ==", flush=True)
        results["chip_34"] = bench_chip("6x6", "5,4;5,5", "0,33", 16, "0,1,2,3,4,5")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))

    tiles = {name: r for name, r in results.items() if not name.startswith("chip")}
    if tiles:
        print()
        print(f"{'size':>9} {'backend':<22} {'MVM/s':>12} {'cycles/s':>12}  note")
    for name, r in tiles.items():
        g = r["golden"]
        print(f"{name:>9} {'numpy W@x float64':<22} {g['numpy_single_mvm_per_s']:>12.0f} "
              f"{'':>12}  single vector")
        print(f"{name:>9} {'golden':<22} {g['golden_single_mvm_per_s']:>12.0f} {'':>12}  "
              f"single vector, {g['golden_single_ratio']:.2f} x numpy")
        print(f"{name:>9} {'golden, read noise on':<22} "
              f"{g['golden_noise_single_mvm_per_s']:>12.0f} {'':>12}  "
              f"single vector, {g['golden_noise_single_ratio']:.2f} x numpy")
        print(f"{name:>9} {'numpy W@X float64':<22} {g['numpy_batch_mvm_per_s']:>12.0f} "
              f"{'':>12}  batch of 1000")
        print(f"{name:>9} {'golden':<22} {g['golden_batch_mvm_per_s']:>12.0f} {'':>12}  "
              f"batch of 1000, {g['golden_batch_ratio']:.2f} x numpy")
        print(f"{name:>9} {'golden, read noise on':<22} "
              f"{g['golden_noise_batch_mvm_per_s']:>12.0f} {'':>12}  "
              f"batch of 1000, {g['golden_noise_batch_ratio']:.2f} x numpy")
        if "build" not in r:        # measured for the golden model only
            continue
        for backend in ("amaranth_sim", "icarus", "verilator"):
            b = r[backend]
            if "error" in b:
                print(f"{name:>9} {backend:<22} {'-':>12} {'-':>12}  {b['error'][:60]}")
                continue
            print(f"{name:>9} {backend:<22} {b['mvm_per_second']:>12.1f} "
                  f"{b['cycles_per_second']:>12.0f}  {b['mvms']} MVMs, "
                  f"{b['mismatches']} mismatches")
        bd = r["build"]
        print(f"{name:>9} Verilog emission {bd['verilog_emit_seconds']:.1f} s "
              f"({bd['verilog_bytes'] / 1e6:.1f} MB), Verilator build "
              f"{bd['verilator_build_seconds']:.1f} s")
    print_chip(results)
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
