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
"""
from __future__ import annotations

import numpy as np

from .spec import NOISE_SIGMA_BITS, READ_NOISE_SIGMA_MAX
from .rng import IRWIN_HALL_MEAN, IRWIN_HALL_SD, MASK32, column_constants, irwin_hall, mix32
from .spec import check_int, check_int_array

#: Largest MVM index (MVM_COUNT before the reduction modulo 2^32) the model takes.
MVM_INDEX_MAX = (1 << 63) - 1

__all__ = ["NOISE_SHIFT", "NOISE_SIGMA_BITS", "NOISE_MAX_SIGMA", "MVM_INDEX_MAX", "noise_max",
           "noise_sd", "noise_keys", "read_noise"]

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
    u = mix32(keys[..., None] + column_constants(cols))     # uint32: wraps modulo 2^32
    return (irwin_hall(u) * int(sigma)) >> NOISE_SHIFT
