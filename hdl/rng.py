"""The tile's counter-based generator in hardware (``golden/rng.py``: lowbias32, Irwin-Hall)."""
from golden import rng as grng

__all__ = ["mix32", "mix32_signal", "irwin_hall"]


def mix32(x):
    """lowbias32 of a 32-bit value (``golden.rng.mix32``), as one expression.

    Each step reads its operand twice, and Amaranth copies a subexpression once per use when
    it lowers a design (its transformers rebuild the expression as a tree), so the netlist
    holds 2^k copies of step k's operand: fine for a few instances, while a per-column hash
    takes :func:`mix32_signal`. The constant shifts are slices, not shift operators."""
    x = x[:32]
    x = x ^ x.shift_right(16)
    x = (x * grng.MIX32_M1)[:32]
    x = x ^ x.shift_right(15)
    x = (x * grng.MIX32_M2)[:32]
    return x ^ x.shift_right(16)


def mix32_signal(m, x, name: str):
    """``mix32(x)`` as a combinational signal ``<name>``, every value read twice held in a
    signal of its own (``<name>_0`` .. ``<name>_2``), so each step is built once."""
    from amaranth.hdl import Signal
    steps = [Signal(32, name=f"{name}_{k}") for k in range(3)] + [Signal(32, name=name)]
    m.d.comb += [
        steps[0].eq(x[:32]),
        steps[1].eq(((steps[0] ^ steps[0].shift_right(16)) * grng.MIX32_M1)[:32]),
        steps[2].eq(((steps[1] ^ steps[1].shift_right(15)) * grng.MIX32_M2)[:32]),
        steps[3].eq(steps[2] ^ steps[2].shift_right(16)),
    ]
    return steps[3]


def irwin_hall(u):
    """``(sum of the four bytes of u) - 510`` (``golden.rng.irwin_hall``), in [-510, 510]."""
    return u[0:8] + u[8:16] + u[16:24] + u[24:32] - grng.IRWIN_HALL_MEAN


def gated(m, cond, name: str, shape, value):
    """A combinational signal that carries ``value`` while ``cond`` holds and 0 otherwise.

    Verilator inlines an operator whose only reader is such a conditional assignment into its
    ``if``, so none of the operator runs while ``cond`` is low; an operator read twice (as in
    ``x ^ (x >> 16)``) would be hoisted out and run on every evaluation, so the per-column
    datapaths below feed every multi-use value through one of these.
    """
    from amaranth.hdl import Signal
    sig = Signal(shape, name=name)
    with m.If(cond):
        m.d.comb += sig.eq(value)
    return sig


def mix32_gated(m, cond, x, name: str):
    """``mix32(x)`` computed only while ``cond`` holds (0 otherwise), step by step through
    :func:`gated` signals named ``<name>_<step>``."""
    x = gated(m, cond, f"{name}_0", 32, x[:32])
    x = gated(m, cond, f"{name}_1", 32, x ^ x.shift_right(16))
    x = gated(m, cond, f"{name}_2", 32, (x * grng.MIX32_M1)[:32])
    x = gated(m, cond, f"{name}_3", 32, x ^ x.shift_right(15))
    x = gated(m, cond, f"{name}_4", 32, (x * grng.MIX32_M2)[:32])
    return gated(m, cond, f"{name}_5", 32, x ^ x.shift_right(16))
