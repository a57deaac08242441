"""A register loaded straight from its source: a one-word memory."""
from amaranth.lib import memory

__all__ = ["held_word"]


def held_word(m, name: str, shape, *, domain: str, data, enable, registered_read: bool = False):
    """A value of ``shape`` that takes ``data`` at ``domain``'s edges where ``enable`` is high
    and holds otherwise; returns it (as a value of ``shape``; unspecified until first loaded).

    Equivalent to ``with m.If(enable): m.d[domain] += reg.eq(data)``, but built from a memory:
    the emitted Verilog writes ``data`` in the clocked process itself, where a register gets a
    combinational hold multiplexer in front of it. A simulator evaluates that multiplexer
    whenever its inputs may change, at every evaluation when ``data`` is an input port (a
    4096-bit vector payload, twice per cycle); the memory write costs only on ``enable``.
    The memory has two words (a one-word memory has a zero-width address, which Verilator
    rejects); only word 0 is used.

    ``registered_read``: the value comes from a read port in ``domain`` transparent to the
    write (the same value on every cycle), so it is a register of its own in the simulator's
    model. With the combinational read, Verilator reads the memory word afresh for every
    use: a bit-level transposition of a 4096-bit word (the ILP's bit planes) became 4,096
    copies of the whole word at each evaluation, most of the cost of an idle chip.
    """
    mem = memory.Memory(shape=shape, depth=2, init=[])
    m.submodules[name] = mem
    wr = mem.write_port(domain=domain)
    rd = mem.read_port(domain=domain, transparent_for=(wr,)) if registered_read else \
        mem.read_port(domain="comb")
    m.d.comb += [wr.addr.eq(0), wr.data.eq(data), wr.en.eq(enable), rd.addr.eq(0)]
    return rd.data
