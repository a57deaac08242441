"""Ramp conversion with gain, offset and the EN-window activation (docs/spec.md section 5).

For column c, in this order:

1. ``P = Qs[c] * gain[c]``
2. ``s = ramp_shift + gain_frac_bits``
3. ``z = round_shift(P, s)`` (round half up: ties toward plus infinity)
4. ``z = z + offset[c]``
5. ``y = clamp(z, lo, hi) - lo`` with ``[lo, hi]`` the activation's EN window;
   ``out_sat`` (per vector) when some column has ``z > hi``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fixed import FLOAT64_EXACT_LIMIT, as_int64, clamp, round_shift
from .spec import TileConfig, TileParams, check_config

__all__ = ["Conversion", "convert"]


@dataclass(frozen=True, eq=False)
class Conversion:
    """The per-configuration constants of the conversion, derived once from a resolved config.

    ``float_exact`` says whether the float64 form ``v = Qs * gain_scaled + bias`` followed by
    ``clip(v, 0, hi - lo)`` and truncation is exact (every intermediate is a multiple of 2**-s
    whose numerator stays below 2**53); then ``floor(v) = z - lo`` and truncation of the clipped
    non-negative value equals the floor.

    ``raw_float_exact`` says whether the same holds for every raw charge Q the tile can
    integrate, before the capacitor clamp (``|Q| <= accumulator_max + read_noise_max``); then
    one clip does both clamps: ``clip(Q * gain_scaled + bias, raw_lo, raw_hi)`` with
    ``raw_lo/raw_hi = clip(bias -/+ gain_scaled * charge_max, 0, hi - lo)`` per column equals
    ``clip(clamp(Q, -charge_max, charge_max) * gain_scaled + bias, 0, hi - lo)``, because the
    map is non-decreasing in Q (gain >= 0).
    """
    lo: int
    hi: int
    shift: int
    gain: np.ndarray          # int64 (cols,)
    offset: np.ndarray        # int64 (cols,)
    gain_scaled: np.ndarray   # float64 (cols,): gain * 2**-shift
    bias: np.ndarray          # float64 (cols,): (1/2 if shift else 0) + offset - lo
    float_exact: bool
    raw_lo: np.ndarray        # float64 (cols,): clip(bias - gain_scaled * charge_max, 0, hi - lo)
    raw_hi: np.ndarray        # float64 (cols,): clip(bias + gain_scaled * charge_max, 0, hi - lo)
    raw_float_exact: bool

    @classmethod
    def of(cls, cfg: TileConfig, params: TileParams) -> "Conversion":
        """Constants of an already resolved ``cfg``."""
        lo, hi = params.activation_window(cfg.activation, (cfg.en_lo, cfg.en_hi))
        shift = cfg.ramp_shift + params.gain_frac_bits
        gain = cfg.gain
        offset = cfg.offset
        half = (1 << (shift - 1)) if shift else 0
        gmax = int(gain.max()) if gain.size else 0
        omax = int(np.abs(offset - lo).max()) if offset.size else 0
        bound = params.charge_max * gmax + half + (omax << shift)
        raw_max = params.accumulator_max + params.read_noise_max
        raw_bound = max(raw_max, params.charge_max) * gmax + half + (omax << shift)
        scale = 2.0 ** -shift
        gain_scaled = gain.astype(np.float64) * scale
        bias = (0.5 if shift else 0.0) + (offset - lo).astype(np.float64)
        swing = gain_scaled * params.charge_max
        span = hi - lo
        return cls(
            lo=lo, hi=hi, shift=shift, gain=gain, offset=offset,
            gain_scaled=gain_scaled, bias=bias,
            float_exact=bound < FLOAT64_EXACT_LIMIT,
            raw_lo=np.clip(bias - swing, 0, span), raw_hi=np.clip(bias + swing, 0, span),
            raw_float_exact=raw_bound < FLOAT64_EXACT_LIMIT,
        )

    def z(self, charge_sat: np.ndarray) -> np.ndarray:
        """Steps 1-4 on validated int64 charges: the pre-activation ``z`` (int64)."""
        return round_shift(charge_sat * self.gain, self.shift) + self.offset

    def y(self, z: np.ndarray) -> np.ndarray:
        """Step 5: the EN-window activation of ``z``."""
        return clamp(z, self.lo, self.hi) - self.lo


def convert(charge_sat, config: TileConfig, params: TileParams):
    """Convert capacitor charges to output words: ``(y, z, out_sat)``.

    ``charge_sat`` is ``int``, shape ``(cols,)`` or ``(batch, cols)``, within
    ``[-charge_max, charge_max]``. ``y`` and ``z`` are ``int64`` of the same shape; ``out_sat``
    is ``bool`` per vector (shape ``()`` or ``(batch,)``).
    """
    cfg = check_config(config).resolved(params)
    q = as_int64(charge_sat, "charge_sat")
    if q.ndim not in (1, 2) or q.shape[-1] != params.cols:
        raise ValueError(f"charge_sat must have shape ({params.cols},) or (batch, "
                         f"{params.cols}), not {q.shape}")
    cmax = params.charge_max
    if q.size and int(np.abs(q).max()) > cmax:
        flat = int(np.flatnonzero((np.abs(q) > cmax).ravel())[0])
        idx = ", ".join(str(int(i)) for i in np.unravel_index(flat, q.shape))
        raise ValueError(f"charge_sat[{idx}] = {int(q.ravel()[flat])} is outside "
                         f"[{-cmax}, {cmax}] (charge_bits={params.charge_bits})")
    conv = Conversion.of(cfg, params)
    z = conv.z(q)
    y = conv.y(z)
    out_sat = np.any(z > conv.hi, axis=-1)
    return y, z, out_sat
