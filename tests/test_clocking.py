"""hdl.clocking: a gated domain ticks exactly on the cycles its enable held, in step with core."""
import os

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

import pytest
from amaranth.hdl import Elaboratable, Fragment, Module, Signal
from amaranth.sim import Simulator

from hdl.clocking import add_core_domains, add_gated_domain


class _Pair(Elaboratable):
    """A free-running cycle counter in ``core`` and, in gated domain ``g``, a copy of it and a
    tick count; ``g`` is enabled on the cycles whose counter value is in ``pattern``."""

    def __init__(self, pattern, running_after_reset=False):
        self.pattern = pattern
        self.running_after_reset = running_after_reset
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
        add_gated_domain(m, "g", enable, running_after_reset=self.running_after_reset)
        m.d.core += self.cycle.eq(self.cycle + 1)
        m.d.g += [self.seen.eq(self.cycle), self.ticks.eq(self.ticks + 1)]
        return m


def _trace(dut, cycles=16):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    trace = []

    async def bench(ctx):
        for _ in range(cycles):
            await ctx.tick()
            trace.append((ctx.get(dut.cycle), ctx.get(dut.seen), ctx.get(dut.ticks)))

    sim.add_testbench(bench)
    sim.run()
    return trace


def test_first_edge_after_reset_follows_running_after_reset():
    # enabled on cycle 0 only: the sampled enable decides the first edge (no falling edge came
    # before it), so g ticks there only when it is running after reset
    for running, ticks in ((False, 0), (True, 1)):
        trace = _trace(_Pair({0}, running_after_reset=running), cycles=4)
        assert [t[2] for t in trace] == [ticks] * 4, (running, trace)


def test_running_after_reset_must_be_a_bool():
    m = Module()
    with pytest.raises(TypeError, match="running_after_reset must be a bool, not 1"):
        add_gated_domain(m, "g", Signal(), running_after_reset=1)
    Fragment.get(m, None)       # elaborated, so the module is not reported as unused


def test_gated_domain_ticks_on_enabled_cycles_and_reads_core_state_of_the_same_edge():
    pattern = {1, 2, 5, 9, 10, 11}
    dut = _Pair(pattern)
    trace = _trace(dut)
    ticks = seen = 0
    for cycle, (got_cycle, got_seen, got_ticks) in enumerate(trace):
        # the edge closing cycle `cycle` (core counter == cycle before it) ticks g iff enabled
        if cycle in pattern:
            ticks, seen = ticks + 1, cycle
        assert (got_cycle, got_seen, got_ticks) == (cycle + 1, seen, ticks), \
            f"after edge {cycle}: cycle/seen/ticks {got_cycle, got_seen, got_ticks}, " \
            f"expected {cycle + 1, seen, ticks}"
