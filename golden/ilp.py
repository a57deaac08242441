"""Input line processor: words -> pulse durations and polarities (docs/spec.md section 2).

A bus whose longest legal duration is D uses a window of D + 1 ticks; every lane starts high on
the window's first tick, stays high for exactly its duration and is low on the last tick.
Signs are handled in one phase: ``signs`` is +1 or -1 per lane (the lane's polarity wire is
high for -1); a zero word has duration 0 and sign +1.
"""
from __future__ import annotations

import numpy as np

from .spec import InputMode, TileParams, check_enum, check_params

__all__ = ["check_words", "encode", "window_ticks", "waveform"]


def _index(arr: np.ndarray, flat: int) -> str:
    idx = np.unravel_index(flat, arr.shape)
    return ", ".join(str(int(i)) for i in idx)


def check_words(words, mode: InputMode, params: TileParams, name: str = "words") -> np.ndarray:
    """Validate input words for ``mode`` and return them as ``int64``.

    ``words`` has shape ``(rows,)`` or ``(batch, rows)``. A non-integer dtype raises
    ``TypeError``; a word outside the mode's legal range raises ``ValueError`` naming the index
    and the value.
    """
    check_params(params)
    mode = check_enum("mode", mode, InputMode)
    arr = np.asarray(words)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, not dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != params.rows:
        raise ValueError(
            f"{name} must have shape ({params.rows},) or (batch, {params.rows}), not {arr.shape}")
    lo, hi = params.input_range(mode)
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        flat = int(np.flatnonzero(((arr < lo) | (arr > hi)).ravel())[0])
        raise ValueError(
            f"{name}[{_index(arr, flat)}] = {int(arr.ravel()[flat])} is outside [{lo}, {hi}] "
            f"({mode.name} inputs, in_bits={params.in_bits})")
    return arr.astype(np.int64, copy=False)


def encode(words, mode: InputMode, params: TileParams) -> tuple[np.ndarray, np.ndarray]:
    """Durations (ticks, ``int64`` in [0, D]) and signs (``int64``, +1 or -1) of input words.

    UNSIGNED: d = x, s = +1. SIGNED (two's complement value x): d = |x|, s = -1 if x < 0.
    """
    mode = check_enum("mode", mode, InputMode)
    x = check_words(words, mode, params)
    if mode == InputMode.UNSIGNED:
        return x.copy(), np.ones_like(x)
    return np.abs(x), np.where(x < 0, -1, 1).astype(np.int64)


def window_ticks(params: TileParams, mode: InputMode) -> int:
    """Length of the ILP pulse window in ticks: D + 1."""
    check_params(params)
    return params.input_duration_max(mode) + 1


def waveform(durations, window: int) -> np.ndarray:
    """Pulse lanes over a window: ``bool`` array ``(window, *durations.shape)``.

    Lane i is high on ticks ``[0, durations[i])``. A duration may equal ``window`` (a lane high
    on every tick, with no falling edge inside the window: useful to exercise OLP overrange);
    the ILP itself never produces one.
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise TypeError(f"window must be an integer, not {window!r}")
    if window < 1:
        raise ValueError(f"window must be at least 1 tick, not {window}")
    d = np.asarray(durations)
    if d.dtype.kind not in "iu":
        raise TypeError(f"durations must be an integer array, not dtype {d.dtype}")
    if d.size and (int(d.min()) < 0 or int(d.max()) > window):
        flat = int(np.flatnonzero(((d < 0) | (d > window)).ravel())[0])
        raise ValueError(
            f"durations[{_index(d, flat)}] = {int(d.ravel()[flat])} is outside [0, {window}]")
    ticks = np.arange(window).reshape((window,) + (1,) * d.ndim)
    return ticks < d
