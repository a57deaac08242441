"""A register loaded straight from its source: a one-word memory."""
from amaranth.lib import memory

__all__ = ["held_word"]


def held_word(m, name: str, shape, *, domain: str, data, enable):
    """A value of ``shape`` that takes ``data`` at ``domain``'s edges where ``enable`` is high
    and holds otherwise; returns it (as a value of ``shape``; unspecified until first loaded).

    Equivalent to ``with m.If(enable): m.d[domain] += reg.eq(data)``, but built from a memory:
    the emitted Verilog writes ``data`` in the clocked process itself, where a register gets a
    combinational hold multiplexer in front of it. A simulator evaluates that multiplexer
    whenever its inputs may change, at every evaluation when ``data`` is an input port (a
    4096-bit vector payload, twice per cycle); the memory write costs only on ``enable``.
    The memory has two words (a one-word memory has a zero-width address, which Verilator
    rejects); only word 0 is used.
    """
    mem = memory.Memory(shape=shape, depth=2, init=[])
    m.submodules[name] = mem
    wr = mem.write_port(domain=domain)
    rd = mem.read_port(domain="comb")
    m.d.comb += [wr.addr.eq(0), wr.data.eq(data), wr.en.eq(enable), rd.addr.eq(0)]
    return rd.data
