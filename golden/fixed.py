"""Named integer rounding and saturation helpers (docs/spec.md sections 4 and 5).

Every function takes integer scalars or arrays and returns ``int64`` arrays. Order of
operations is the caller's business and is stated where each helper is used; the helpers
themselves do exactly one thing each:

- :func:`round_shift` divides by ``2**s`` and rounds **half up** (ties toward plus infinity).
  Note that dropping bits with ``x >> s`` alone rounds toward **minus infinity** (floor), and
  C-style integer division rounds toward zero; neither is what the tile does.
- :func:`clamp` saturates to an inclusive range ``[lo, hi]``.
- :func:`saturate_symmetric` saturates to ``[-max, +max]`` (the capacitor).
"""
from __future__ import annotations

import numpy as np

__all__ = ["FLOAT64_EXACT_LIMIT", "as_int64", "round_shift", "clamp", "saturate_symmetric"]

#: Every integer of magnitude below this is exactly representable in float64, and so is every
#: sum or product of such integers whose exact result stays below it.
FLOAT64_EXACT_LIMIT = 1 << 53


def as_int64(x, name: str = "x") -> np.ndarray:
    """``x`` as an ``int64`` array; a non-integer dtype raises ``TypeError``."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, not dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > (1 << 63) - 1:
        raise ValueError(f"{name} has values that do not fit int64")
    return arr.astype(np.int64, copy=False)


def _check_shift(s) -> int:
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
        raise TypeError(f"shift must be an integer, not {s!r}")
    if not 0 <= s <= 64:
        raise ValueError(f"shift must be in [0, 64], not {s!r}")
    return int(s)


def round_shift(x, s: int) -> np.ndarray:
    """``floor((x + 2**(s-1)) / 2**s)`` for ``s >= 1``, ``x`` for ``s == 0``: round half up.

    Computed without the addition, so it cannot overflow for any ``int64`` ``x``:
    ``(x >> s)`` is the floor quotient and bit ``s-1`` of ``x`` is 1 exactly when the dropped
    remainder is at least one half.
    """
    s = _check_shift(s)
    x = as_int64(x)
    if s == 0:
        return x.copy()
    return (x >> s) + ((x >> (s - 1)) & 1)


def _check_bound(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    return int(value)


def clamp(x, lo: int, hi: int) -> np.ndarray:
    """``x`` saturated to the inclusive range ``[lo, hi]`` (integers)."""
    lo, hi = _check_bound("lo", lo), _check_bound("hi", hi)
    if lo > hi:
        raise ValueError(f"clamp range must have lo <= hi, not lo={lo}, hi={hi}")
    return np.minimum(np.maximum(as_int64(x), lo), hi)


def saturate_symmetric(x, max: int) -> np.ndarray:  # noqa: A002 - name fixed by the API
    """``x`` saturated to ``[-max, +max]`` (an integer ``max >= 0``)."""
    max = _check_bound("max", max)     # noqa: A001
    if max < 0:
        raise ValueError(f"saturation limit must be >= 0, not {max}")
    return clamp(x, -max, max)
