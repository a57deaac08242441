"""Device and periphery faults of a tile (docs/faults.md), bit-exact with the RTL.

A :class:`FaultMap` describes, for one parameter set:

- **stuck devices**: every PCM device (row, column, device in ``params.cell_fields`` order) is
  ``Stuck.NONE``, ``Stuck.ZERO`` (stuck at zero conductance: code 0) or ``Stuck.FULL`` (stuck at
  full conductance: code ``code_max``). A stuck device keeps its stuck code whatever is written
  to it: every row write (``prog`` stream, the row programmer's result) stores the stuck code
  in its place, and the row programmer's RESET and pulses do not move it (its verify reads
  see the stuck code, so the programmer's fail mask reports the weights it could not reach);
- **dead input lanes**: the lane's word line never sees a pulse; the crossbar counts its
  duration as 0 (an MVM or a conductance read gets no charge from that row);
- **dead columns**: the column's integration line is open; its capacitor receives no charge
  at all, read noise included (the noise model stands for that column's analog path): its
  clamped charge is 0 in every MVM and every conductance read, so its output is the
  conversion of charge 0 (``offset`` and the EN window still apply) and it never saturates.

The stuck state takes effect when the row is next written (the RTL merges the fault memory into
the row-write path so that the multiply-accumulate does not grow): inject the faults, then
program. Dead lanes and columns act at once (the RTL holds them in the ``FAULT_LANES`` and
``FAULT_COLS`` configuration registers; ``TileConfig.dead_lanes``/``dead_cols``).

``FaultMap.random(params, stuck_fraction, seed, ...)`` draws a map for studies, deterministic
from its seed.

Faults exist only on a tile built with the fault-injection hardware
(``TileParams(fault_injection=True)``): the fault memory, the dead-lane and dead-column masks
and the FAULT_* registers. The chip's tiles are built without it (at 512 x 512 it would make
the Verilator build several times longer); a FaultMap for a tile without it is refused.
"""
from __future__ import annotations

import enum
import math

import numpy as np

from .spec import TileParams, check_int, check_int_array, check_params

__all__ = ["Stuck", "FaultMap", "stuck_words", "mask_words", "bits_of_words",
           "FAULT_WORD_BITS"]

#: Bits per word of the FAULT_* register windows.
FAULT_WORD_BITS = 32


class Stuck(enum.IntEnum):
    """Stuck state of one PCM device."""
    NONE = 0
    ZERO = 1    #: stuck at zero conductance: code 0
    FULL = 2    #: stuck at full conductance: code code_max


def mask_words(bits) -> np.ndarray:
    """A bool vector packed into 32-bit words (bit j of word i = element 32 i + j), ``int64``."""
    b = np.asarray(bits, dtype=bool).ravel()
    n = -(-b.size // FAULT_WORD_BITS)
    padded = np.zeros(n * FAULT_WORD_BITS, dtype=np.int64)
    padded[:b.size] = b
    weights = np.int64(1) << np.arange(FAULT_WORD_BITS, dtype=np.int64)
    return (padded.reshape(n, FAULT_WORD_BITS) * weights).sum(axis=1)


def bits_of_words(words, count: int) -> np.ndarray:
    """The first ``count`` bits of 32-bit words (the inverse of :func:`mask_words`), bool."""
    w = np.asarray(words, dtype=np.int64)
    bits = (w[:, None] >> np.arange(FAULT_WORD_BITS, dtype=np.int64)[None, :]) & 1
    return bits.ravel()[:count].astype(bool)


def stuck_words(stuck_row) -> tuple[np.ndarray, np.ndarray]:
    """``(mask, level)`` words of one row's stuck states ``(cols, devices)``: device k = c *
    devices + d is bit k % 32 of word k // 32; ``mask`` bit set = stuck, ``level`` bit set =
    stuck at full (FAULT_MASK / FAULT_LEVEL)."""
    s = np.asarray(stuck_row).ravel()
    return mask_words(s != Stuck.NONE), mask_words(s == Stuck.FULL)


def _fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], not {value!r}")
    v = float(value)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], not {value!r}")
    return v


def _bool_vector(name: str, value, n: int) -> np.ndarray:
    if value is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(value)
    if arr.dtype != np.bool_:
        raise TypeError(f"{name} must be a bool array of shape ({n},), not dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), not {arr.shape}")
    return arr.copy()


class FaultMap:
    """The faults of one tile (see the module docstring).

    ``stuck``: ``(rows, cols, devices_per_weight)`` integer array of ``Stuck`` values (None: no
    stuck device); ``dead_lanes``: bool ``(rows,)``; ``dead_cols``: bool ``(cols,)`` (None: none).
    The arrays are copied; the map is immutable.
    """

    __slots__ = ("params", "stuck", "dead_lanes", "dead_cols")

    def __init__(self, params: TileParams, stuck=None, dead_lanes=None, dead_cols=None):
        check_params(params)
        if not params.fault_injection:
            raise ValueError(f"a FaultMap needs a tile with fault-injection hardware: "
                             f"params.fault_injection is False ({params}); use "
                             f"dataclasses.replace(params, fault_injection=True)")
        shape = (params.rows, params.cols, params.devices_per_weight)
        if stuck is None:
            s = np.zeros(shape, dtype=np.int8)
        else:
            arr = np.asarray(stuck)
            if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
                raise TypeError(f"stuck must be an integer array of Stuck values "
                                f"(0 NONE, 1 ZERO, 2 FULL), not dtype {arr.dtype}")
            if arr.shape != shape:
                raise ValueError(f"stuck must have shape {shape} (rows, cols, "
                                 f"devices_per_weight), not {arr.shape}")
            s = check_int_array("stuck", arr, int(Stuck.NONE), int(Stuck.FULL)).astype(np.int8)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "stuck", s)
        object.__setattr__(self, "dead_lanes", _bool_vector("dead_lanes", dead_lanes,
                                                            params.rows))
        object.__setattr__(self, "dead_cols", _bool_vector("dead_cols", dead_cols, params.cols))
        for a in (self.stuck, self.dead_lanes, self.dead_cols):
            a.flags.writeable = False

    def __setattr__(self, name, value):
        raise AttributeError("FaultMap is immutable")

    def __getstate__(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state):
        for k, v in state.items():
            object.__setattr__(self, k, v)

    def __eq__(self, other):
        return (isinstance(other, FaultMap) and other.params == self.params
                and np.array_equal(other.stuck, self.stuck)
                and np.array_equal(other.dead_lanes, self.dead_lanes)
                and np.array_equal(other.dead_cols, self.dead_cols))

    __hash__ = None

    def __repr__(self):
        return (f"FaultMap({self.params.rows} x {self.params.cols}: "
                f"{self.stuck_count(Stuck.ZERO)} stuck at zero, "
                f"{self.stuck_count(Stuck.FULL)} stuck at full, "
                f"{int(self.dead_lanes.sum())} dead lanes, {int(self.dead_cols.sum())} dead "
                f"columns)")

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def none(cls, params: TileParams) -> "FaultMap":
        """No fault at all."""
        return cls(params)

    @classmethod
    def random(cls, params: TileParams, stuck_fraction=0.0, seed: int = 0, *,
               full_fraction=0.5, dead_lanes: int = 0, dead_cols: int = 0) -> "FaultMap":
        """A map with ``round(stuck_fraction * devices)`` stuck devices chosen uniformly without
        replacement among every device of the array, ``round(full_fraction * stuck)`` of them
        stuck at full and the others at zero, plus ``dead_lanes`` dead input lanes and
        ``dead_cols`` dead columns chosen uniformly. Deterministic from ``seed``
        (``numpy.random.default_rng``)."""
        check_params(params)
        stuck_fraction = _fraction("stuck_fraction", stuck_fraction)
        full_fraction = _fraction("full_fraction", full_fraction)
        seed = check_int("seed", seed, 0, (1 << 64) - 1)
        dead_lanes = check_int("dead_lanes", dead_lanes, 0, params.rows)
        dead_cols = check_int("dead_cols", dead_cols, 0, params.cols)
        rng = np.random.default_rng(seed)
        shape = (params.rows, params.cols, params.devices_per_weight)
        total = int(np.prod(shape))
        k = int(round(stuck_fraction * total))
        chosen = rng.choice(total, size=k, replace=False) if k else np.zeros(0, dtype=np.int64)
        full = int(round(full_fraction * k))
        stuck = np.zeros(total, dtype=np.int8)
        stuck[chosen[:full]] = Stuck.FULL
        stuck[chosen[full:]] = Stuck.ZERO
        lanes = np.zeros(params.rows, dtype=bool)
        lanes[rng.choice(params.rows, size=dead_lanes, replace=False)] = True
        cols = np.zeros(params.cols, dtype=bool)
        cols[rng.choice(params.cols, size=dead_cols, replace=False)] = True
        return cls(params, stuck.reshape(shape), lanes, cols)

    # -- views ----------------------------------------------------------------------------------
    @property
    def any(self) -> bool:
        """Some fault is present."""
        return bool(self.stuck.any() or self.dead_lanes.any() or self.dead_cols.any())

    def stuck_count(self, kind: Stuck | None = None) -> int:
        """Number of stuck devices (of one kind, or of both)."""
        if kind is None:
            return int(np.count_nonzero(self.stuck))
        return int(np.count_nonzero(self.stuck == Stuck(kind)))

    @property
    def stuck_mask(self) -> np.ndarray:
        """bool ``(rows, cols, devices)``: the device is stuck."""
        return self.stuck != Stuck.NONE

    @property
    def stuck_codes(self) -> np.ndarray:
        """``int64 (rows, cols, devices)``: the stuck code (0 or code_max) where stuck, 0
        elsewhere."""
        return np.where(self.stuck == Stuck.FULL, self.params.code_max, 0).astype(np.int64)

    def apply(self, codes, row: int | None = None) -> np.ndarray:
        """The codes a write of ``codes`` stores: the stuck code where a device is stuck.
        ``codes`` is the whole array ``(rows, cols, devices)``, or one row ``(cols, devices)``
        with ``row``. The codes are not validated here (the tile validates them first)."""
        c = np.asarray(codes, dtype=np.int64)
        if row is None:
            s = self.stuck
        else:
            s = self.stuck[check_int("row", row, 0, self.params.rows - 1)]
        if not s.any():
            return c.copy()
        out = np.where(s == Stuck.ZERO, 0, c)
        out[s == Stuck.FULL] = self.params.code_max
        return out

    def row_words(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """``(FAULT_MASK words, FAULT_LEVEL words)`` of one row."""
        return stuck_words(self.stuck[check_int("row", row, 0, self.params.rows - 1)])

    def lane_words(self) -> np.ndarray:
        """FAULT_LANES words."""
        return mask_words(self.dead_lanes)

    def col_words(self) -> np.ndarray:
        """FAULT_COLS words."""
        return mask_words(self.dead_cols)

    def with_periphery(self, dead_lanes=None, dead_cols=None) -> "FaultMap":
        """A copy with other dead lanes and columns (None: none)."""
        return FaultMap(self.params, self.stuck, dead_lanes, dead_cols)

    # -- reachability ---------------------------------------------------------------------------
    def weight_range(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lowest, highest)`` weight each cell can hold with its stuck devices fixed and the
        others anywhere in [0, code_max], ``int64 (rows, cols)``. Every integer between them
        is a weight of the cell when F = 1 (or in 2-PCM mode)."""
        p = self.params
        cm = p.code_max
        s = self.stuck
        lo_code = np.where(s == Stuck.FULL, cm, 0)
        hi_code = np.where(s == Stuck.ZERO, 0, cm)
        # w = F (gp - gm) + (lp - lm): maximal with plus devices high and minus devices low
        sign = np.array([1, -1, 1, -1][:p.devices_per_weight])
        scale = np.array([p.f_factor, p.f_factor, 1, 1][:p.devices_per_weight])
        hi = np.where(sign > 0, hi_code, lo_code) * sign * scale
        lo = np.where(sign > 0, lo_code, hi_code) * sign * scale
        return lo.sum(axis=-1).astype(np.int64), hi.sum(axis=-1).astype(np.int64)
