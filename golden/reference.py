"""Float ideal reference, for accuracy comparisons only (never for bit-exact checks).

``ideal_output`` is the tile's conversion in float64 without rounding, without capacitor
saturation and without the EN window: where nothing saturates, the golden ``y`` differs from
``clip(z_float, lo, hi) - lo`` by at most 0.5 output LSB (the round-half-up step).
"""
from __future__ import annotations

import numpy as np

from .spec import TileConfig, TileParams

__all__ = ["ideal_mvm", "ideal_output"]


def ideal_mvm(x, weights) -> np.ndarray:
    """``x @ W`` in float64; ``x`` holds signed input values (shape ``(rows,)`` or
    ``(batch, rows)``), ``weights`` is ``(rows, cols)``."""
    return np.asarray(x, dtype=np.float64) @ np.asarray(weights, dtype=np.float64)


def ideal_output(x, weights, config: TileConfig, params: TileParams) -> np.ndarray:
    """``z_float = (x @ W) * gain / 2**(ramp_shift + gain_frac_bits) + offset`` in float64."""
    cfg = config.resolved(params)
    shift = cfg.ramp_shift + params.gain_frac_bits
    gain = cfg.gain.astype(np.float64) * 2.0 ** -shift
    return ideal_mvm(x, weights) * gain + cfg.offset.astype(np.float64)
