"""Crossbar: unit-cell weights and charge integration (docs/spec.md sections 3 and 4).

The charge of column c is the integer ``Q[c] = sum_r s[r] * d[r] * w[r, c]``; the capacitor
saturates on the net charge at the end of the window (the running charge is not clipped):
``Qs = clamp(Q, -charge_max, +charge_max)``.

Exactness of the float path: every partial sum of Q is an integer of magnitude at most
``params.accumulator_max``. When that bound is below 2**53, a float64 (BLAS) matrix product
computes Q exactly in any summation order, so it is used; otherwise an int64 product is.
"""
from __future__ import annotations

import numpy as np

from .fixed import FLOAT64_EXACT_LIMIT, saturate_symmetric
from .ilp import _index
from .spec import TileParams, check_params

__all__ = ["check_codes", "weights", "integrate", "accumulate", "float_path_exact"]


def float_path_exact(params: TileParams) -> bool:
    """Whether a float64 product computes every column charge of ``params`` exactly."""
    check_params(params)
    return params.accumulator_max < FLOAT64_EXACT_LIMIT


def check_codes(codes, shape: tuple[int, ...], params: TileParams, name: str = "codes") -> np.ndarray:
    """Validate conductance codes (shape, integer dtype, range [0, code_max]); ``int64`` copy."""
    check_params(params)
    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, not dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, not {arr.shape}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > params.code_max):
        flat = int(np.flatnonzero(((arr < 0) | (arr > params.code_max)).ravel())[0])
        raise ValueError(
            f"{name}[{_index(arr, flat)}] = {int(arr.ravel()[flat])} is outside "
            f"[0, {params.code_max}] (code_bits={params.code_bits})")
    return arr.astype(np.int64)


def weights(codes, params: TileParams) -> np.ndarray:
    """Integer weights ``(rows, cols)`` of conductance codes ``(rows, cols, devices_per_weight)``.

    The last axis follows ``params.cell_fields``: (gp, gm, lp, lm) or (gp, gm).
    4-PCM: ``w = F * (gp - gm) + (lp - lm)``; 2-PCM: ``w = gp - gm``.
    """
    check_params(params)
    c = check_codes(codes, (params.rows, params.cols, params.devices_per_weight), params)
    return _weights_of(c, params)


def _weights_of(c: np.ndarray, params: TileParams) -> np.ndarray:
    """Weights of already validated int64 codes (any leading shape, last axis = devices)."""
    w = c[..., 0] - c[..., 1]
    if params.devices_per_weight == 4:
        w = params.f_factor * w + (c[..., 2] - c[..., 3])
    return w


def accumulate(signed_durations: np.ndarray, weights: np.ndarray, params: TileParams,
               weights_f64: np.ndarray | None = None) -> np.ndarray:
    """Raw charge ``signed_durations @ weights`` (int64), exact; inputs must already be valid.

    ``|signed_durations| <= duration_max`` and ``|weights| <= weight_max`` are the caller's
    promise; ``weights_f64`` is an optional cached float64 copy of ``weights``.
    """
    if float_path_exact(params):
        wf = weights.astype(np.float64) if weights_f64 is None else weights_f64
        return (signed_durations.astype(np.float64) @ wf).astype(np.int64)
    return signed_durations.astype(np.int64) @ weights.astype(np.int64)


def integrate(durations, signs, weights, params: TileParams, *,
              weights_f64: np.ndarray | None = None, noise: np.ndarray | None = None):
    """Integrate pulses on the crossbar: ``(charge, charge_sat, cap_sat)``.

    ``durations`` and ``signs`` (+1/-1) have shape ``(rows,)`` or ``(batch, rows)``;
    ``weights`` is ``(rows, cols)``. ``charge`` is the raw ``int64`` column charge,
    ``charge_sat`` the capacitor-clamped charge, ``cap_sat`` a ``bool`` per vector (shape ``()``
    or ``(batch,)``): some column was clamped. ``weights_f64`` is an optional float64 copy of
    ``weights`` (a cache; it must equal ``weights``). ``noise`` (optional, ``int64``, the shape
    of ``charge``, ``|noise| <= params.read_noise_max``) is read noise added to the raw charge
    before the clamp (``golden.noise.read_noise``).
    """
    check_params(params)
    d = np.asarray(durations)
    s = np.asarray(signs)
    for name, arr in (("durations", d), ("signs", s)):
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array, not dtype {arr.dtype}")
        if arr.ndim not in (1, 2) or arr.shape[-1] != params.rows:
            raise ValueError(f"{name} must have shape ({params.rows},) or (batch, "
                             f"{params.rows}), not {arr.shape}")
    if s.shape != d.shape:
        raise ValueError(f"signs must have the shape of durations {d.shape}, not {s.shape}")
    dmax = params.duration_max
    if d.size and (int(d.min()) < 0 or int(d.max()) > dmax):
        flat = int(np.flatnonzero(((d < 0) | (d > dmax)).ravel())[0])
        raise ValueError(f"durations[{_index(d, flat)}] = {int(d.ravel()[flat])} is outside "
                         f"[0, {dmax}]")
    if s.size and not np.all((s == 1) | (s == -1)):
        flat = int(np.flatnonzero(((s != 1) & (s != -1)).ravel())[0])
        raise ValueError(f"signs[{_index(s, flat)}] = {int(s.ravel()[flat])} is not +1 or -1")
    w = np.asarray(weights)
    if w.dtype.kind not in "iu":
        raise TypeError(f"weights must be an integer array, not dtype {w.dtype}")
    if w.shape != (params.rows, params.cols):
        raise ValueError(f"weights must have shape {(params.rows, params.cols)}, not {w.shape}")
    wmax = params.weight_max
    if w.size and (int(w.min()) < -wmax or int(w.max()) > wmax):
        flat = int(np.flatnonzero((np.abs(w.astype(np.int64)) > wmax).ravel())[0])
        raise ValueError(f"weights[{_index(w, flat)}] = {int(w.ravel()[flat])} is outside "
                         f"[{-wmax}, {wmax}]")
    sd = s.astype(np.int64) * d.astype(np.int64)
    charge = accumulate(sd, w.astype(np.int64, copy=False), params, weights_f64)
    if noise is not None:
        noise = np.asarray(noise)
        if noise.shape != charge.shape or noise.dtype.kind not in "iu":
            raise ValueError(f"noise must be an integer array of shape {charge.shape}, not "
                             f"{noise.dtype} {noise.shape}")
        if noise.size and int(np.abs(noise).max()) > params.read_noise_max:
            raise ValueError(f"noise exceeds +-{params.read_noise_max}")
        charge = charge + noise
    charge_sat = saturate_symmetric(charge, params.charge_max)
    cap_sat = np.any(charge != charge_sat, axis=-1)
    return charge, charge_sat, cap_sat
