"""amaranth.sim player of a ``tb.blocks`` scenario (the fast tier: no Verilog, no build)."""
from __future__ import annotations

from amaranth.hdl import Cat, Value

__all__ = ["flat_ports", "run_scenario"]


def flat_ports(component) -> dict:
    """``{flat port name: Value}`` of a component, named as in the emitted Verilog."""
    ports = {"__".join(map(str, path)): Value.cast(value)
             for path, _member, value in component.signature.flatten(component)}
    # a port array (Member.array) also appears as one flat port, element 0 lowest
    for name in list(ports):
        base, _, index = name.rpartition("__")
        if index == "0" and base and base not in ports:
            elements, k = [], 0
            while f"{base}__{k}" in ports:
                elements.append(ports[f"{base}__{k}"])
                k += 1
            ports[base] = Cat(*elements)
    return ports


def check_widths(scenario, ports: dict) -> None:
    """Every port the scenario drives or records exists with the width it assumes."""
    for name, width in {**scenario.input_widths, **scenario.output_widths}.items():
        if name not in ports:
            raise ValueError(f"{scenario.block}: the component has no port {name!r}")
        if len(ports[name]) != width:
            raise ValueError(f"{scenario.block}: port {name} is {len(ports[name])} bits wide, "
                             f"the scenario assumes {width}")


def run_scenario(component, scenario, vcd: str | None = None) -> dict:
    """Play ``scenario.inputs`` cycle by cycle on a fresh simulation of ``component``; return
    ``{output name: [one unsigned sample per cycle]}`` (sampled after the cycle's inputs
    settled, i.e. the values the next rising edge sees)."""
    from .simdrv import simulate
    from hdl.verilog import reset_domain_fragment

    ports = flat_ports(component)
    check_widths(scenario, ports)
    inputs = {name: (ports[name], values) for name, values in scenario.inputs.items()}
    outputs = {name: (ports[name], (1 << len(ports[name])) - 1) for name in scenario.outputs}
    trace = {name: [] for name in scenario.outputs}
    cycles = scenario.cycles

    async def bench(ctx):
        previous = {}
        for k in range(cycles):
            for name, (port, values) in inputs.items():
                if previous.get(name) != values[k]:
                    ctx.set(port, values[k])    # a signed port wraps the unsigned value
                    previous[name] = values[k]
            for name, (port, mask) in outputs.items():
                trace[name].append(ctx.get(port) & mask)
            await ctx.tick()

    simulate(reset_domain_fragment(component)[0], bench, vcd)   # the emitted design's domain
    return trace
