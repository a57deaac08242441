"""Clock domains of the tile: a free-running ``core`` domain and gated block domains.

The tile's ``sync`` clock (the ``clk`` port) drives no register directly. Every clocked domain
is derived from it by one combinational step, so all domains see the same edge at the same
time (in amaranth.sim a derived clock rises one delta cycle after ``clk``; a register clocked by
``clk`` itself would update a delta earlier than the others and they would read its new value):

* ``core``: ``clk`` itself, for the free-running blocks (registers, controller, calibrator).
* ``negedge``: the falling edge of ``clk``; holds only the gate enables.
* a gated domain ``<name>``: ``clk & <name>_en``, where ``<name>_en`` is the block's enable
  sampled on the falling edge before the rising edge it gates (the classic latch-and-AND clock
  gate: the gated clock cannot glitch, because the enable only changes while ``clk`` is low).

A gated block's registers keep their values while its clock is off, exactly as registers under
a clock enable would, so the tile's behaviour is that of one clock domain. The gating exists for
simulation speed: Verilator evaluates a register's next-state logic whenever a clock it depends
on ticks, so a block whose logic reads only registers of its own gated domain costs nothing
while its clock is off (``scripts/verilator_study`` measures this). An enable must be a function
of registers and of input ports that change no later than the falling edge; a stream that a
gated block accepts is therefore only ``ready`` while the block's clock runs (``<name>_en``).

Every domain has the tile's asynchronous reset (``rst``).

A tile on a chip is gated as a whole as well (``gate``): its ``core`` domain and every gated
domain then also need the tile's own enable, sampled the same way, so that a tile with nothing
to do costs a simulator nothing (docs/chip.md).
"""
from amaranth.hdl import ClockDomain, ClockSignal, ResetSignal, Signal, Value

__all__ = ["add_core_domains", "add_gated_domain", "add_held_clock"]


def add_core_domains(m, gate=None, *, core: str = "core",
                     negedge: str = "negedge") -> Signal | None:
    """Define ``core`` (``clk``) and ``negedge`` (the falling edge of ``clk``) in module ``m``
    (under other names where a module above already has local domains of these names).

    With ``gate`` (a 1-bit value), ``core`` is ``clk`` gated by ``gate`` like any gated domain
    (sampled on the falling edge, running on the first edge after reset) and the sampled gate
    is returned; pass the same ``gate`` to every :func:`add_gated_domain` of the module.
    """
    m.domains += [ClockDomain(core, async_reset=True, local=True),
                  ClockDomain(negedge, clk_edge="neg", async_reset=True, local=True)]
    m.d.comb += [
        ResetSignal(core).eq(ResetSignal("sync")),
        ClockSignal(negedge).eq(ClockSignal("sync")),
        ResetSignal(negedge).eq(ResetSignal("sync")),
    ]
    if gate is None:
        m.d.comb += ClockSignal(core).eq(ClockSignal("sync"))
        return None
    sampled = Signal(name=f"{core}_en", init=1)
    m.d[negedge] += sampled.eq(gate)
    m.d.comb += ClockSignal(core).eq(ClockSignal("sync") & sampled)
    return sampled


def add_gated_domain(m, name: str, enable, *, running_after_reset: bool = False,
                     gate=None, negedge: str = "negedge") -> Signal:
    """Define domain ``name`` clocked by ``clk`` while ``enable`` held at the last falling edge.

    Returns the sampled enable (``<name>_en``): high during exactly the cycles whose closing
    rising edge the domain sees. Needs :func:`add_core_domains` in the same module first.

    ``gate``: the module's own gate (see :func:`add_core_domains`), ANDed with ``enable``.
    ``negedge``: the name of the module's falling-edge domain (:func:`add_core_domains`).

    The sampled enable resets to ``running_after_reset``: it decides the first rising edge
    after reset when no falling edge came between. A domain whose enable is high in the reset
    state (a block that may take a stream transfer on the first cycle) sets it, so that the
    clock runs on every cycle its enable is high.
    """
    if not isinstance(running_after_reset, bool):
        raise TypeError(f"running_after_reset must be a bool, not {running_after_reset!r}")
    sampled = Signal(name=f"{name}_en", init=running_after_reset)
    m.d[negedge] += sampled.eq(enable if gate is None else enable & gate)
    m.domains += ClockDomain(name, async_reset=True, local=True)
    m.d.comb += [
        ClockSignal(name).eq(ClockSignal("sync") & sampled),
        ResetSignal(name).eq(ResetSignal("sync")),
    ]
    return sampled


def add_held_clock(m, need, *, name: str, core: str = "core",
                   negedge: str = "negedge") -> Signal:
    """A copy of ``clk`` that stays high while a block has nothing to do: returns the clock
    (a signal named ``name``) to give to the block in place of ``clk``.

    ``need`` (1 bit, settled by the falling edge): the block could change state at the next
    rising edge. The clock falls on every falling edge at which ``need`` is high and rises on
    the rising edge after it, exactly as ``clk``; after a falling edge at which ``need`` is low
    it rises once more (on the next rising edge) and then stays high until a falling edge at
    which ``need`` is high again, where it falls together with that decision.

    Built from two registers, both high after reset: ``<name>_n`` samples ``need`` on the
    falling edge (``negedge``), ``<name>_p`` copies it on the rising edge (``core``), and the
    clock is ``clk | ~(<name>_n | <name>_p)``. It cannot glitch: while ``clk`` is high the
    clock is high whatever the registers do, and at a falling edge ``<name>_p`` equals the
    value ``<name>_n`` had before the edge, so the clock either falls with ``clk`` (that value
    high) or stays high and falls when ``<name>_n`` rises (that value low).

    Why it is exact for a block whose own clock gates sample their enables on its falling edge
    (``add_core_domains`` / ``add_gated_domain``): with ``need`` covering every such enable,
    the last falling edge the block sees before its clock stops samples them all low, so its
    gated clocks stay off while it is held, as they would have with ``clk`` running; and the
    falling edge on which it starts again is the one at which the decision is made, so its
    enables are sampled on that edge with the values they would have had. The block's model is
    then not evaluated at all while it is held (a Verilator hierarchical block is called on
    every edge of its clock input).

    The registers ``<name>_n`` and ``<name>_p`` are added to ``negedge`` and ``core`` (defined
    by :func:`add_core_domains` in ``m``). A simulator that orders registers by delta cycles
    (amaranth.sim) sees the held clock one combinational step later than ``core``; use it where
    the block is an instance of emitted Verilog, whose registers update together.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier, not {name!r}")
    width = Value.cast(need).shape().width
    if width != 1:
        raise ValueError(f"need must be 1 bit wide, not {width} bits ({need!r})")
    sampled = Signal(name=f"{name}_n", init=1)
    copied = Signal(name=f"{name}_p", init=1)
    clock = Signal(name=name)
    m.d[negedge] += sampled.eq(need)
    m.d[core] += copied.eq(sampled)
    m.d.comb += clock.eq(ClockSignal("sync") | ~(sampled | copied))
    return clock
