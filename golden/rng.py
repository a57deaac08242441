"""The tile's counter-based generator: the lowbias32 hash and an Irwin-Hall normal.

RTL (``hdl/rng.py``) and golden model draw the same numbers from it, so closed-loop programming
and read noise stay bit-exact (design brief section 4: "a counter-based or LFSR generator that
both implement, seeded by a CSR; a Gaussian by a documented approximation").

- ``mix32`` (lowbias32, C. Wellons' hash prospector): ``x ^= x >> 16; x *= 0x7feb352d;
  x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16``, all modulo 2^32.
- one word per column: ``u[c] = mix32(key + c * 0x9E3779B9)``, all modulo 2^32 (an addition,
  not an XOR: in Verilator an XOR with a different constant per column turned into bit-level
  operations per column).
- ``irwin_hall(u)``: the sum of the four bytes of ``u`` minus 510, in [-510, 510], mean 0,
  standard deviation ``sqrt(4 (256^2 - 1) / 12)`` = 147.80 (a sum of four uniforms: close to
  normal within +-3.4 sd, with no tails beyond).
"""
from __future__ import annotations

import math

import numpy as np

from .spec import check_int, check_int_array

__all__ = ["MASK32", "MIX32_M1", "MIX32_M2", "COLUMN_MULTIPLIER", "IRWIN_HALL_MEAN",
           "IRWIN_HALL_SD", "mix32", "column_constants", "column_hash", "irwin_hall"]

MASK32 = 0xFFFFFFFF
MIX32_M1 = 0x7FEB352D           #: first multiplier of lowbias32
MIX32_M2 = 0x846CA68B           #: second multiplier of lowbias32
COLUMN_MULTIPLIER = 0x9E3779B9  #: golden-ratio constant that spreads column indices
IRWIN_HALL_MEAN = 510           #: mean of the sum of four uniform bytes
IRWIN_HALL_SD = math.sqrt(4 * (256 ** 2 - 1) / 12)     #: about 147.80


def mix32(x):
    """lowbias32 of ``x`` (mod 2^32): a Python int gives an int, an integer array a uint32
    array."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        x = int(x) & MASK32
        x ^= x >> 16
        x = (x * MIX32_M1) & MASK32
        x ^= x >> 15
        x = (x * MIX32_M2) & MASK32
        x ^= x >> 16
        return x
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"mix32 needs integers, not dtype {a.dtype}")
    a = (a.astype(np.int64) & MASK32).astype(np.uint32) if a.dtype != np.uint32 else a.copy()
    a ^= a >> np.uint32(16)
    a *= np.uint32(MIX32_M1)            # uint32 arrays wrap modulo 2^32
    a ^= a >> np.uint32(15)
    a *= np.uint32(MIX32_M2)
    a ^= a >> np.uint32(16)
    return a


def column_constants(cols: int) -> np.ndarray:
    """``(c * 0x9E3779B9) mod 2^32`` for every column c (uint32)."""
    cols = check_int("cols", cols, 0, 4096)
    return ((np.arange(cols, dtype=np.uint64) * np.uint64(COLUMN_MULTIPLIER))
            & np.uint64(MASK32)).astype(np.uint32)


def column_hash(key, cols: int) -> np.ndarray:
    """``u[c] = mix32(key + column_constants[c])`` (mod 2^32) for one key (uint32, shape
    (cols,))."""
    key = check_int("key", key, 0, MASK32)
    return mix32(np.uint32(key) + column_constants(cols))


def irwin_hall(u) -> np.ndarray:
    """``N = (sum of the four bytes of u) - 510``, in [-510, 510] (int64); approximately normal
    with standard deviation ``IRWIN_HALL_SD`` (about 147.8); ``u`` holds 32-bit words."""
    u = check_int_array("u", u, 0, MASK32)
    return ((u & 255) + ((u >> 8) & 255) + ((u >> 16) & 255) + ((u >> 24) & 255)
            - IRWIN_HALL_MEAN)
