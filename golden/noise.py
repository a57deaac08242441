"""Deterministic read noise of the MVM (docs/spec.md section 4).

Every MVM adds to each column's raw charge, before the capacitor clamps it, a noise term drawn
from a counter-based generator, so the RTL and this model draw the same numbers:

    key    = mix32(NOISE_SEED ^ mix32(n))             n = MVM_COUNT of the MVM (mod 2^32)
    u[c]   = mix32(key + c * 0x9E3779B9)               one 32-bit word per column (mod 2^32)
    N[c]   = (sum of the four bytes of u[c]) - 510    Irwin-Hall, in [-510, 510], sd ~147.8
    noise  = floor(N[c] * NOISE_SIGMA / 2^8)          charge units, arithmetic shift

``mix32`` (lowbias32), the column constants and the Irwin-Hall sum are the tile's one generator
(``golden/rng.py``), shared with closed-loop programming. The noise
has mean -1/2 charge unit (the floor) and standard deviation ``NOISE_SIGMA * 147.8 / 256``
(about 0.577 * NOISE_SIGMA); ``NOISE_SIGMA = 0`` turns it off. It is an output-referred noise
of constant sigma in charge units (one charge unit = one tick of one unit weight).

Computation: :func:`noise_rows` evaluates the formula above for many MVMs at once, in place in
``uint32``/``int32`` buffers (wrapping multiplications are the mod-2^32 arithmetic of ``mix32``):

- the byte sum is a SWAR sum: ``t = (u & 0x00FF00FF) + ((u >> 8) & 0x00FF00FF)`` holds two
  16-bit partial sums (each <= 510); ``(t * 0x10001) >> 16`` (mod 2^32) adds them in the top
  half, so it is ``N[c] + 510``, in [0, 1020];
- ``(N * sigma) >> 8`` fits ``int32`` (|N * sigma| <= 510 * 65535 < 2^31), and ``>>`` on a
  signed integer is the arithmetic shift (the floor).

:func:`read_noise` validates its arguments and returns ``int64``; :func:`sequential_keys` and
:func:`noise_rows` take already validated values (the tile's MVM path).
"""
from __future__ import annotations

import numpy as np

from .spec import NOISE_SIGMA_BITS, READ_NOISE_SIGMA_MAX
from .rng import (IRWIN_HALL_MEAN, IRWIN_HALL_SD, MASK32, MIX32_M1, MIX32_M2, column_constants,
                  mix32)
from .spec import check_int, check_int_array

#: Largest MVM index (MVM_COUNT before the reduction modulo 2^32) the model takes.
MVM_INDEX_MAX = (1 << 63) - 1

__all__ = ["NOISE_SHIFT", "NOISE_SIGMA_BITS", "NOISE_MAX_SIGMA", "MVM_INDEX_MAX", "noise_max",
           "noise_sd", "noise_keys", "read_noise", "sequential_keys", "noise_rows"]

NOISE_SHIFT = 8                 #: noise = (N * sigma) >> NOISE_SHIFT
NOISE_MAX_SIGMA = READ_NOISE_SIGMA_MAX


def noise_max(sigma: int = NOISE_MAX_SIGMA) -> int:
    """Largest |noise| of one column at ``sigma`` (the floor makes the negative side larger)."""
    return -((-IRWIN_HALL_MEAN * sigma) >> NOISE_SHIFT)


def noise_sd(sigma: int) -> float:
    """Standard deviation of the noise in charge units (floor quantization not included)."""
    return sigma * IRWIN_HALL_SD / (1 << NOISE_SHIFT)


def _check_scalar(name, value, hi):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if not 0 <= value <= hi:
        raise ValueError(f"{name} must be in [0, {hi}], not {value!r}")


def noise_keys(seed: int, index) -> np.ndarray:
    """``mix32(seed ^ mix32(n))`` for every MVM index ``n`` (an integer or an integer array,
    each in [0, 2^63 - 1]; uint32, shape of ``index``)."""
    _check_scalar("noise seed", seed, MASK32)
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        n = np.int64(check_int("MVM index", index, 0, MVM_INDEX_MAX))
    else:
        n = check_int_array("MVM index", index, 0, MVM_INDEX_MAX)
    flat = np.atleast_1d(n) & MASK32
    return mix32(np.uint32(seed) ^ mix32(flat)).reshape(n.shape)


def read_noise(seed: int, sigma: int, index, cols: int) -> np.ndarray:
    """Noise in charge units, ``int64`` of shape ``index.shape + (cols,)``.

    ``index`` is the MVM_COUNT of each MVM (a scalar or an array of them).
    """
    _check_scalar("noise sigma", sigma, NOISE_MAX_SIGMA)
    if isinstance(cols, bool) or not isinstance(cols, (int, np.integer)) or cols < 1:
        raise ValueError(f"cols must be a positive integer, not {cols!r}")
    keys = noise_keys(seed, index)
    rows = noise_rows(keys.reshape(-1), int(sigma), _column_constants(int(cols)))
    return rows.astype(np.int64).reshape(keys.shape + (int(cols),))


_M1, _M2 = np.uint32(MIX32_M1), np.uint32(MIX32_M2)
_S8, _S15, _S16 = np.uint32(8), np.uint32(15), np.uint32(16)
_BYTE_LANES = np.uint32(0x00FF00FF)
_LANE_SUM = np.uint32(0x10001)
_COLUMN_CONSTANTS: dict[int, np.ndarray] = {}


def _column_constants(cols: int) -> np.ndarray:
    """``rng.column_constants(cols)``, computed once per width (read-only)."""
    cc = _COLUMN_CONSTANTS.get(cols)
    if cc is None:
        cc = column_constants(cols)
        cc.flags.writeable = False
        _COLUMN_CONSTANTS[cols] = cc
    return cc


def _mix32_inplace(a: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """``a = mix32(a)`` on a ``uint32`` array, ``tmp`` a scratch array of its shape."""
    np.right_shift(a, _S16, out=tmp)
    a ^= tmp
    a *= _M1
    np.right_shift(a, _S15, out=tmp)
    a ^= tmp
    a *= _M2
    np.right_shift(a, _S16, out=tmp)
    a ^= tmp
    return a


def sequential_keys(seed: int, first: int, count: int) -> np.ndarray:
    """``noise_keys(seed, first + arange(count))`` (uint32, ``(count,)``) for already valid
    ``seed`` in [0, 2^32 - 1], ``first >= 0`` and ``count >= 0``."""
    if count == 1:
        return np.array([mix32(seed ^ mix32(first & MASK32))], dtype=np.uint32)
    n = ((first & MASK32) + np.arange(count, dtype=np.int64)) & MASK32
    a = n.astype(np.uint32)
    tmp = np.empty_like(a)
    _mix32_inplace(a, tmp)
    a ^= np.uint32(seed)
    return _mix32_inplace(a, tmp)


def noise_rows(keys: np.ndarray, sigma: int, cols, *, out: np.ndarray | None = None,
               tmp: np.ndarray | None = None) -> np.ndarray:
    """Noise of the MVMs of ``keys`` (uint32, ``(m,)``, from :func:`noise_keys` or
    :func:`sequential_keys`): ``int32`` of shape ``(m, cols)``.

    ``sigma`` is an already valid NOISE_SIGMA; ``cols`` the number of columns or the column
    constants themselves. ``out`` and ``tmp`` are optional scratch arrays of shape
    ``(m, cols)``, ``out`` ``int32`` (the result is written there) and ``tmp`` ``uint32``.
    """
    cc = _column_constants(int(cols)) if isinstance(cols, (int, np.integer)) else cols
    shape = (keys.shape[0], cc.shape[0])
    out = np.empty(shape, dtype=np.int32) if out is None else out
    tmp = np.empty(shape, dtype=np.uint32) if tmp is None else tmp
    u = out.view(np.uint32)
    np.add(keys[:, None], cc, out=u)            # wraps modulo 2^32
    _mix32_inplace(u, tmp)
    np.bitwise_and(u, _BYTE_LANES, out=tmp)     # bytes 0 and 2
    u >>= _S8
    u &= _BYTE_LANES                            # bytes 1 and 3
    u += tmp                                    # two 16-bit lanes, each <= 510
    u *= _LANE_SUM
    u >>= _S16                                  # sum of the four bytes, in [0, 1020]
    out -= IRWIN_HALL_MEAN                      # N, in [-510, 510]
    out *= sigma
    out >>= NOISE_SHIFT                         # arithmetic shift: the floor
    return out
