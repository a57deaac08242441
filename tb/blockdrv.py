"""cocotb player of a ``tb.blocks`` scenario, for a block wrapped with the HDL clock.

Python wakes only on the cycles where some input changes (the player writes after the falling
edge, skipping unchanged cycles with one ``Timer``) and on output changes (one monitor per
output awaits ``Edge`` and reads the settled value in ``ReadOnly``), never once per cycle for
its own sake. The per-cycle trace is rebuilt from the change times afterwards: the value of
cycle k is the last value seen before the rising edge that ends it, which is what an
amaranth.sim testbench records, so both tiers share ``Scenario.check``.
"""
from __future__ import annotations

import os

import cocotb
from cocotb.triggers import Edge, FallingEdge, ReadOnly, Timer
from cocotb.utils import get_sim_time

from hdl.verilog import CLOCK_HALF_PERIOD_NS, CLOCK_PERIOD_NS
from .runner import idle_inputs, ports_from_env

__all__ = ["seed_from_env", "run_scenario"]

_PERIOD_PS = CLOCK_PERIOD_NS * 1000
_FIRST_RISE_PS = CLOCK_HALF_PERIOD_NS * 1000    # the wrapper's clock starts low


def seed_from_env() -> int:
    """The run's seed (``TEST_SEED``, set by tests/test_rtl_blocks.py), logged."""
    seed = int(os.environ.get("TEST_SEED", "1"))
    cocotb.log.info(f"seed {seed}")
    return seed


def _cycle_now() -> int:
    """Index of the clock cycle (rising edge to rising edge) the simulation is in."""
    return (int(get_sim_time("ps")) - _FIRST_RISE_PS) // _PERIOD_PS


def _sample(handle):
    try:
        return int(handle.value)
    except ValueError:          # X or Z (Icarus)
        return None


async def _monitor(handle, events: list):
    while True:
        await Edge(handle)
        await ReadOnly()
        events.append((_cycle_now(), _sample(handle)))


def _array_groups(ports) -> dict:
    """``{name: [(element name, width), ...]}`` for every port array ``name__0 .. name__N``
    (an Amaranth ``Member.array``), which the scenarios treat as one flat port."""
    names = {port.name: port.width for port in ports}
    groups = {}
    for name in names:
        base, _, index = name.rpartition("__")
        if index == "0" and base and base not in names:
            members, k = [], 0
            while f"{base}__{k}" in names:
                members.append((f"{base}__{k}", names[f"{base}__{k}"]))
                k += 1
            groups[base] = members
    return groups


class _GroupHandle:
    """Writes a flat value into the elements of a port array (element 0 lowest)."""

    def __init__(self, dut, members):
        self.handles = [(getattr(dut, name), width) for name, width in members]

    @property
    def value(self):
        raise AttributeError("read port arrays through their element monitors")

    @value.setter
    def value(self, flat):
        for handle, width in self.handles:
            handle.value = flat & ((1 << width) - 1)
            flat >>= width


def _join(samples, widths):
    if any(v is None for v in samples):
        return None
    flat, shift = 0, 0
    for v, w in zip(samples, widths):
        flat |= v << shift
        shift += w
    return flat


async def run_scenario(dut, scenario, reset_cycles: int = 2) -> dict:
    """Reset, play ``scenario.inputs`` from the first cycle after reset, return the trace
    ``{output name: [one sample per cycle]}`` (None where a sample was X/Z)."""
    ports = ports_from_env()
    groups = _array_groups(ports)
    widths = {port.name: port.width for port in ports}
    widths.update({base: sum(w for _, w in members) for base, members in groups.items()})
    for name, width in {**scenario.input_widths, **scenario.output_widths}.items():
        if widths.get(name) != width:
            raise ValueError(f"{scenario.block}: port {name} is {widths.get(name)} bits wide in "
                             f"the wrapper, the scenario assumes {width}")
    inputs = {name: (_GroupHandle(dut, groups[name]) if name in groups else getattr(dut, name),
                     values) for name, values in scenario.inputs.items()}
    cycles = scenario.cycles
    # outputs: every port array element is monitored on its own and joined per cycle below
    watched = []
    for name in scenario.outputs:
        watched += [element for element, _ in groups[name]] if name in groups else [name]

    idle_inputs(dut, reset=True)
    await Timer(reset_cycles * CLOCK_PERIOD_NS, "ns")
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    for handle, values in inputs.values():
        handle.value = values[0]
    first = _cycle_now()
    events = {name: [] for name in watched}
    monitors = [cocotb.start_soon(_monitor(getattr(dut, name), events[name]))
                for name in watched]
    await ReadOnly()
    initial = {name: _sample(getattr(dut, name)) for name in watched}

    current = 0
    for k in range(1, cycles):
        changed = [(handle, values[k]) for handle, values in inputs.values()
                   if values[k] != values[k - 1]]
        if not changed:
            continue
        if k - current > 1:     # land between two edges, then on cycle k's falling edge
            await Timer((k - current - 1) * CLOCK_PERIOD_NS + 1, "ns")
        await FallingEdge(dut.clk)
        for handle, value in changed:
            handle.value = value
        current = k
    if cycles - 1 > current:
        await Timer((cycles - 1 - current - 1) * CLOCK_PERIOD_NS + 1, "ns")
        await FallingEdge(dut.clk)
    await ReadOnly()
    assert _cycle_now() - first == cycles - 1, "player lost track of the cycle count"
    for monitor in monitors:
        monitor.kill()

    trace = {}
    for name in watched:
        values, value, it = [], initial[name], iter(events[name])
        pending = next(it, None)
        for k in range(cycles):
            while pending is not None and pending[0] - first <= k:
                value = pending[1]
                pending = next(it, None)
            values.append(value)
        trace[name] = values
    for name in scenario.outputs:
        if name in groups:
            members = groups[name]
            trace[name] = [_join([trace[element][k] for element, _ in members],
                                 [w for _, w in members]) for k in range(cycles)]
    return {name: trace[name] for name in scenario.outputs}
