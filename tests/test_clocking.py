"""hdl.clocking: a gated domain ticks exactly on the cycles its enable held, in step with core."""
import os

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from hdl.clocking import add_core_domains, add_gated_domain


class _Pair(Elaboratable):
    """A free-running cycle counter in ``core`` and, in gated domain ``g``, a copy of it and a
    tick count; ``g`` is enabled on the cycles whose counter value is in ``pattern``."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.cycle = Signal(8)
        self.seen = Signal(8)       # the core counter as last sampled by a g tick
        self.ticks = Signal(8)

    def elaborate(self, platform):
        m = Module()
        add_core_domains(m)
        enable = Signal()
        m.d.comb += enable.eq(0)
        for value in self.pattern:
            with m.If(self.cycle == value):
                m.d.comb += enable.eq(1)
        add_gated_domain(m, "g", enable)
        m.d.core += self.cycle.eq(self.cycle + 1)
        m.d.g += [self.seen.eq(self.cycle), self.ticks.eq(self.ticks + 1)]
        return m


def test_gated_domain_ticks_on_enabled_cycles_and_reads_core_state_of_the_same_edge():
    pattern = {1, 2, 5, 9, 10, 11}
    dut = _Pair(pattern)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    trace = []

    async def bench(ctx):
        for _ in range(16):
            await ctx.tick()
            trace.append((ctx.get(dut.cycle), ctx.get(dut.seen), ctx.get(dut.ticks)))

    sim.add_testbench(bench)
    sim.run()
    ticks = seen = 0
    for cycle, (got_cycle, got_seen, got_ticks) in enumerate(trace):
        # the edge closing cycle `cycle` (core counter == cycle before it) ticks g iff enabled
        if cycle in pattern:
            ticks, seen = ticks + 1, cycle
        assert (got_cycle, got_seen, got_ticks) == (cycle + 1, seen, ticks), \
            f"after edge {cycle}: cycle/seen/ticks {got_cycle, got_seen, got_ticks}, " \
            f"expected {cycle + 1, seen, ticks}"
