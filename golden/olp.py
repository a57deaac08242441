"""Output line processor: pulse lanes -> words (docs/spec.md section 6).

Each lane has a counter of its high ticks; the count is latched on the lane's falling edge, so
the word of a lane that is low on the window's last tick is its number of high ticks (with
several pulses, the count at the last falling edge, which is the total). A lane still high on the
window's last tick has no falling edge inside the window: its word saturates at
``2**out_bits - 1`` and it flags overrange. A count above ``2**out_bits - 1`` (only possible
with windows longer than the tile's ``out_max + 1`` ticks) saturates and flags overrange too.
"""
from __future__ import annotations

import numpy as np

__all__ = ["capture"]


def capture(waveform, out_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Words and overrange flags of a ``bool`` waveform ``(window, *lanes_shape)``.

    Returns ``words`` (``int64``, shape ``lanes_shape``) and ``overrange`` (``bool``, one flag per
    lane, same shape; ``overrange.any(axis=-1)`` is the per-vector ``LANE_OVERRANGE`` event).
    """
    if isinstance(out_bits, bool) or not isinstance(out_bits, (int, np.integer)):
        raise TypeError(f"out_bits must be an integer, not {out_bits!r}")
    if not 2 <= out_bits <= 16:
        raise ValueError(f"out_bits must be in [2, 16], not {out_bits!r}")
    wave = np.asarray(waveform)
    if wave.dtype != np.bool_:
        raise TypeError(f"waveform must be a bool array, not dtype {wave.dtype}")
    if wave.ndim < 1 or wave.shape[0] < 1:
        raise ValueError(f"waveform must have shape (window, ...) with window >= 1, "
                         f"not {wave.shape}")
    out_max = (1 << out_bits) - 1
    counts = np.count_nonzero(wave, axis=0).astype(np.int64)
    overrange = wave[-1] | (counts > out_max)
    words = np.where(overrange, out_max, counts)
    return words, overrange
