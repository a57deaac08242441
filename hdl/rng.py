"""The tile's counter-based generator in hardware (``golden/rng.py``: lowbias32, Irwin-Hall)."""
from golden import rng as grng

__all__ = ["mix32", "irwin_hall"]


def mix32(x):
    """lowbias32 of a 32-bit value (``golden.rng.mix32``)."""
    x = x[:32]
    x = x ^ (x >> 16)
    x = (x * grng.MIX32_M1)[:32]
    x = x ^ (x >> 15)
    x = (x * grng.MIX32_M2)[:32]
    return x ^ (x >> 16)


def irwin_hall(u):
    """``(sum of the four bytes of u) - 510`` (``golden.rng.irwin_hall``), in [-510, 510]."""
    return u[0:8] + u[8:16] + u[16:24] + u[24:32] - grng.IRWIN_HALL_MEAN
