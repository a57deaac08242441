"""amaranth.sim check: simulate variants a, b, c at small N and compare per-cycle checksums
with the Verilator dump ../../build/verilator_study/a_N/vl.txt (built by ./build.sh a N; ./check.sh N).
Usage: python amsim_check.py [N] [CYCLES]"""
import os, sys, time
os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
from amaranth.sim import Simulator
from gen import Design

N = int(sys.argv[1]) if len(sys.argv) > 1 else 8
C = int(sys.argv[2]) if len(sys.argv) > 2 else 600
M64 = (1 << 64) - 1


def run(variant):
    d = Design(variant, N)
    sim = Simulator(d)
    sim.add_clock(1e-6, domain="sync")
    out = []

    async def tb(ctx):
        for c in range(C):
            await ctx.tick()
            h = 1469598103934665603
            for s in d.ports:
                h = ((h ^ (ctx.get(s) & ((1 << len(s)) - 1))) * 1099511628211) & M64
            out.append(f"{c} {h:016x}")

    sim.add_testbench(tb)
    t0 = time.time()
    sim.run()
    return out, time.time() - t0


for v in ["a", "b", "b2", "c", "a3", "b3"]:
    r = "a3" if v in ("a3", "b3") else "a"
    ref = open(os.path.join(os.path.dirname(__file__) or ".", f"../../build/verilator_study/{r}_{N}/vl.txt")).read().split("\n")[:C]
    out, dt = run(v)
    bad = [i for i in range(C) if out[i] != ref[i]]
    print(f"amaranth.sim variant {v}: N={N}, {C} cycles, {dt:.1f}s, "
          + (f"IDENTICAL to Verilator {r}" if not bad else f"{len(bad)} cycles differ, first: sim '{out[bad[0]]}' vs verilator '{ref[bad[0]]}'"))
