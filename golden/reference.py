"""Float ideal reference, for accuracy comparisons only (never for bit-exact checks).

``ideal_output`` is the tile's conversion in float64 without rounding, without capacitor
saturation and without the EN window: where nothing saturates, the golden ``y`` differs from
``clip(z_float, lo, hi) - lo`` by at most 0.5 output LSB (the round-half-up step).
"""
from __future__ import annotations

import numpy as np

from .spec import TileConfig, TileParams, check_config

__all__ = ["ideal_mvm", "ideal_output"]


def _finite(name: str, value) -> np.ndarray:
    """``value`` as a float64 array: integer or float dtype (not bool, complex, strings or
    objects), every element finite."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real (integer or float) array, not dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        flat = int(np.flatnonzero(bad.ravel())[0])
        where = ", ".join(str(int(i)) for i in np.unravel_index(flat, arr.shape))
        raise ValueError(f"{name}[{where}] = {arr.ravel()[flat]} is not finite (NaN or "
                         f"infinity)")
    return arr


def ideal_mvm(x, weights) -> np.ndarray:
    """``x @ W`` in float64; ``x`` holds signed input values (shape ``(rows,)`` or
    ``(batch, rows)``), ``weights`` is ``(rows, cols)``; both real and finite."""
    w = _finite("weights", weights)
    if w.ndim != 2:
        raise ValueError(f"weights must have shape (rows, cols), not {w.shape}")
    xf = _finite("x", x)
    rows = w.shape[0]
    if xf.ndim not in (1, 2) or xf.shape[-1] != rows:
        raise ValueError(f"x must have shape ({rows},) or (batch, {rows}) to match weights "
                         f"{w.shape}, not {xf.shape}")
    return xf @ w


def ideal_output(x, weights, config: TileConfig, params: TileParams) -> np.ndarray:
    """``z_float = (x @ W) * gain / 2**(ramp_shift + gain_frac_bits) + offset`` in float64;
    ``weights`` is ``(params.rows, params.cols)``."""
    cfg = check_config(config).resolved(params)
    shape = np.shape(weights)
    if shape != (params.rows, params.cols):
        raise ValueError(f"weights must have shape {(params.rows, params.cols)}, not {shape}")
    shift = cfg.ramp_shift + params.gain_frac_bits
    gain = cfg.gain.astype(np.float64) * 2.0 ** -shift
    return ideal_mvm(x, weights) * gain + cfg.offset.astype(np.float64)
