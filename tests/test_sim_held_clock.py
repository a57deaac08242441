# amaranth: UnusedElaboratable=no
"""Fast tier: ``hdl.clocking.add_held_clock``, the clock the emitted chip gives every tile
position.

A block whose own clock gate samples its enable on the falling edge (``add_core_domains`` with
a gate, as in the tile) runs once on ``clk`` and once on a held clock whose ``need`` is that
enable; the two must count the same edges on every cycle of a random enable sequence with long
idle stretches, while the held clock has far fewer edges than ``clk``. The counts of the held
clock's rising edges follow the contract: one after every falling edge at which ``need`` was
high, and one more after each falling edge that stopped it (the reset state counts as running);
it never rises while ``clk`` is low (a held clock of ``clk | ~sample``, without the copy, does:
it glitches on the falling edge that stops it).
"""
import numpy as np
import pytest
from amaranth.hdl import ClockDomain, ClockSignal, DomainRenamer, Elaboratable, Module, \
    ResetSignal, Signal
from amaranth.sim import Simulator

from hdl.clocking import add_core_domains, add_held_clock


class GatedCounter(Elaboratable):
    """A counter in a domain gated by ``en`` (sampled on the falling edge, hdl.clocking)."""

    def __init__(self):
        self.en = Signal()
        self.count = Signal(16)

    def elaborate(self, platform):
        m = Module()
        add_core_domains(m, gate=self.en)
        m.d.core += self.count.eq(self.count + 1)
        return m


class Harness(Elaboratable):
    """The counter on ``clk`` (``ref``) and on a held clock (``held``); ``edges`` counts the
    held clock's rising edges, ``glitches`` those that came while ``clk`` was low."""

    def __init__(self):
        self.en = Signal()
        self.ref = GatedCounter()
        self.held = GatedCounter()
        self.edges = Signal(16)
        self.glitches = Signal(16)

    def elaborate(self, platform):
        m = Module()
        add_core_domains(m, core="top", negedge="top_negedge")
        clock = add_held_clock(m, self.en, name="held_clk", core="top", negedge="top_negedge")
        m.domains.held = ClockDomain("held", async_reset=True, local=True)
        m.d.comb += [ClockSignal("held").eq(clock), ResetSignal("held").eq(ResetSignal("sync"))]
        m.d.held += [self.edges.eq(self.edges + 1),
                     self.glitches.eq(self.glitches + ~ClockSignal("sync"))]
        m.submodules.ref = self.ref
        m.submodules.held = DomainRenamer("held")(self.held)
        m.d.comb += [self.ref.en.eq(self.en), self.held.en.eq(self.en)]
        return m


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_held_clock_is_transparent(seed):
    rng = np.random.default_rng(seed)
    cycles = 600
    # bursts of activity between idle stretches of 1 to 40 cycles, plus isolated single cycles
    en = np.zeros(cycles, dtype=bool)
    t = 5
    while t < cycles:
        burst = int(rng.integers(1, 12))
        en[t:t + burst] = True
        t += burst + int(rng.integers(1, 40))
    en[rng.integers(0, cycles, 20)] = True
    en[0] = False           # offered before the first rising edge: no falling edge samples it
    dut = Harness()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        for n in range(cycles):
            ctx.set(dut.en, int(en[n]))         # settles well before the falling edge
            await ctx.tick()
            seen.append((ctx.get(dut.ref.count), ctx.get(dut.held.count), ctx.get(dut.edges),
                         ctx.get(dut.glitches)))

    sim.add_testbench(bench)
    sim.run()
    ref, held, edges, glitches = (np.array(column) for column in zip(*seen))
    assert glitches[-1] == 0, "the held clock rose while clk was low"
    assert np.array_equal(ref, held), \
        f"first difference on cycle {int(np.argmax(ref != held))}"
    assert ref[-1] == int(en.sum()) + 1     # the gate runs on the first edge after reset
    # the held clock rises on the first edge (both registers high after reset), after every
    # falling edge with ``need`` high and once after each stop (the reset state counting as
    # running), and never while idle
    before = np.concatenate(([True, True], en[1:-1]))
    expected = np.cumsum(en | before)
    assert np.array_equal(edges, expected)
    assert edges[-1] < cycles // 2


def test_held_clock_refuses_a_wide_need_and_a_bad_name():
    m = Module()
    add_core_domains(m)
    with pytest.raises(ValueError, match=r"need must be 1 bit wide, not 3 bits"):
        add_held_clock(m, Signal(3), name="held")
    with pytest.raises(ValueError, match=r"name must be an identifier, not 'held clk'"):
        add_held_clock(m, Signal(), name="held clk")
