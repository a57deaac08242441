"""Bit-sliced arithmetic: a vector of lanes held as planes, plane j = bit j of every lane."""
from amaranth.hdl import Cat, Signal

__all__ = ["to_planes", "from_planes", "ripple"]


def to_planes(m, name: str, words, count: int, bits: int) -> list:
    """``bits`` signals of ``count`` bits: bit k of signal j is bit j of word k of ``words``
    (``count`` packed ``bits``-wide fields, field 0 lowest). Pure wiring: the transposition
    from word-per-lane to bit-per-lane form."""
    planes = []
    for j in range(bits):
        plane = Signal(count, name=f"{name}_{j}")
        m.d.comb += plane.eq(Cat(*(words[k * bits + j] for k in range(count))))
        planes.append(plane)
    return planes


def from_planes(planes, count: int):
    """The inverse of :func:`to_planes`: ``count`` packed words, word k from bit k of every
    plane (a value, built where it is used)."""
    return Cat(*(plane[k] for k in range(count) for plane in planes))


def ripple(m, name: str, planes, step, *, down: bool = False) -> list:
    """Every lane plus (or minus, ``down``) its bit of ``step``, modulo 2^len(planes): the
    planes of the result, as values. The carries (borrows) between planes are named signals
    ``<name>_<j>``, so each is computed once."""
    out = []
    carry = step
    for j, plane in enumerate(planes):
        out.append(plane ^ carry)
        if j < len(planes) - 1:
            nxt = Signal(len(plane), name=f"{name}_{j}")
            m.d.comb += nxt.eq(carry & (~plane if down else plane))
            carry = nxt
    return out
