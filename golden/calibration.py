"""Drift calibration run by the tile (docs/spec.md section 10), bit-exact with ``hdl.calibration``.

A calibration is one **conductance read** followed by a walk over the columns:

- the conductance read is an MVM whose input is ``CAL_INPUT`` on every row and whose cells
  steer all four device currents the same way, so column c integrates
  ``C[c] = sum_r s * d * (F * (G+ + G-) + (g+ + g-))`` (2-PCM: ``G+ + G-``) -- no cancellation
  between positive and negative weights, and every device's drift shows. Read noise (keyed by
  ``MVM_COUNT``, which the read advances) and the capacitor clamp apply as in an MVM;
- ``REFERENCE`` stores ``(GAIN[c], Cs[c])`` of every column (the reference, taken right after
  programming);
- ``COMPENSATE`` sets every ``GAIN[c]`` from the reference and a new read:

  ``PER_COLUMN``: ``GAIN[c] = round(g0[c] * |r[c]| / |q[c]|)``; a column whose reference or
  new reading is 0, saturated (``|.| = charge_max``) or of the other sign keeps ``g0[c]`` and
  is counted in ``CAL_SKIPPED``;

  ``GLOBAL``: ``GAIN[c] = round(g0[c] * sum|r| / sum|q|)``; if either sum is 0 every column
  keeps ``g0[c]`` (all counted as skipped);

  ``round`` is half up, ``floor((2 N + D) / (2 D))``; a result above ``2^gain_bits - 1``
  saturates there and is counted in ``CAL_CLIPPED`` (spec: the only clipping the calibration
  does).

The reference gains ``g0`` are the ``GAIN`` registers at the ``REFERENCE`` command, so repeated
compensations do not compound.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from . import ilp
from .crossbar import check_codes
from .fixed import saturate_symmetric
from .noise import read_noise
from .spec import (InputMode, Phase, TileConfig, TileParams, check_config, check_enum,
                   check_int, check_int_array, check_params)

__all__ = ["CalOp", "CalScope", "CalReference", "CalResult", "CAL_CMD_WIDTH", "pack_cal_cmd",
           "conductance_weights", "conductance_read", "compensated_gains", "walk_cycles",
           "calibration_cycles", "calibration_phases", "Calibrator"]


class CalOp(enum.IntEnum):
    """``CAL_CMD.op``."""
    REFERENCE = 0
    COMPENSATE = 1


class CalScope(enum.IntEnum):
    """``CAL_CMD.scope`` (used by COMPENSATE)."""
    PER_COLUMN = 0
    GLOBAL = 1


#: CAL_CMD: op [0], scope [1]; other bits must be 0.
CAL_CMD_WIDTH = 2


def pack_cal_cmd(op: CalOp, scope: CalScope = CalScope.PER_COLUMN) -> int:
    """The ``CAL_CMD`` word of a command."""
    return int(check_enum("op", op, CalOp)) | int(check_enum("scope", scope, CalScope)) << 1


@dataclass(frozen=True)
class CalReference:
    """What ``REFERENCE`` stores: the gains ``g0`` and the conductance read ``r`` (clamped charge),
    both ``int64 (cols,)``."""
    gain: np.ndarray
    charge: np.ndarray


@dataclass(frozen=True)
class CalResult:
    """Outcome of one calibration command.

    Members
    -------
    charge: the conductance read, clamped, ``int64 (cols,)``.
    cap_sat: some column's read was clamped (sets ``CAP_SAT``).
    reference: the stored reference after the command.
    gain: the ``GAIN`` registers after the command, ``int64 (cols,)``.
    skipped, clipped: ``CAL_SKIPPED`` / ``CAL_CLIPPED`` (0 after REFERENCE).
    cycles: cycles the tile is busy with the command (``calibration_cycles``).
    dead: ``bool (cols,)``, the columns whose read is 0: no charge reached the capacitor (a
        dead column, dead lanes on every row, or every device at code 0), ``CAL_DEAD_MASK``;
        a COMPENSATE leaves them at their reference gain (docs/faults.md). None: computed
        from ``charge``.
    """
    charge: np.ndarray
    cap_sat: bool
    reference: CalReference
    gain: np.ndarray
    skipped: int
    clipped: int
    cycles: int
    dead: np.ndarray | None = None

    def __post_init__(self):
        if self.dead is None:
            object.__setattr__(self, "dead", np.asarray(self.charge) == 0)

    @property
    def dead_count(self) -> int:
        """``CAL_DEAD``: number of dead columns of this command's read."""
        return int(np.count_nonzero(self.dead))


def conductance_weights(codes, params: TileParams) -> np.ndarray:
    """Per-cell weight of the conductance read, ``int64 (rows, cols)``:
    ``F * (G+ + G-) + (g+ + g-)`` (4-PCM) or ``G+ + G-`` (2-PCM)."""
    check_params(params)
    c = check_codes(codes, (params.rows, params.cols, params.devices_per_weight), params)
    w = c[..., 0] + c[..., 1]
    if params.devices_per_weight == 4:
        w = params.f_factor * w + (c[..., 2] + c[..., 3])
    return w


def _alive(cfg: TileConfig, params: TileParams, faults) -> tuple[np.ndarray, np.ndarray]:
    """(lanes alive, columns alive) of the configuration's FAULT_LANES / FAULT_COLS and of a
    ``golden.faults.FaultMap`` (or None) together."""
    lanes = np.ones(params.rows, dtype=bool)
    cols = np.ones(params.cols, dtype=bool)
    if faults is not None:
        from .faults import FaultMap
        if not isinstance(faults, FaultMap):
            raise TypeError(f"faults must be a FaultMap or None, not {faults!r}")
        if faults.params != params:
            raise ValueError(f"faults were made for {faults.params}, not {params}")
        lanes &= ~faults.dead_lanes
        cols &= ~faults.dead_cols
    if cfg.dead_lanes is not None:
        lanes &= ~cfg.dead_lanes
    if cfg.dead_cols is not None:
        cols &= ~cfg.dead_cols
    return lanes, cols


def conductance_read(codes, cal_input: int, config: TileConfig, params: TileParams,
                     mvm_index: int = 0, faults=None) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(raw charge, clamped charge, cap_sat)`` of the conductance read with ``CAL_INPUT =
    cal_input`` (a word of ``config.input_mode``), read noise keyed by ``mvm_index``. Dead
    lanes (their rows integrate nothing) and dead columns (charge 0, no read noise) come from
    the configuration (``dead_lanes``, ``dead_cols``) and from ``faults`` (a
    ``golden.faults.FaultMap``; its stuck devices are already in ``codes``)."""
    cfg = check_config(config).resolved(params)
    mode = InputMode(cfg.input_mode)
    lo, hi = params.input_range(mode)
    word = check_int("cal_input", cal_input, lo, hi)
    check_int("mvm_index", mvm_index, 0, (1 << 63) - 1)
    lanes, cols = _alive(cfg, params, faults)
    durations, signs = ilp.encode(np.full(params.rows, word, dtype=np.int64), mode, params)
    sd = durations * signs * lanes
    charge = sd @ conductance_weights(codes, params)
    if cfg.noise_sigma:
        charge = charge + read_noise(cfg.noise_seed, cfg.noise_sigma, np.int64(mvm_index),
                                     params.cols)
    charge = charge * cols
    charge_sat = saturate_symmetric(charge, params.charge_max)
    return charge, charge_sat, bool(np.any(charge != charge_sat))


def _round_ratio(n: int, d: int) -> int:
    """``floor((2 n + d) / (2 d))``: n / d rounded half up (n >= 0, d > 0)."""
    return (2 * n + d) // (2 * d)


def compensated_gains(reference: CalReference, charge, scope: CalScope,
                      params: TileParams) -> tuple[np.ndarray, int, int]:
    """``(gain, skipped, clipped)`` of a COMPENSATE with the new clamped read ``charge``."""
    check_params(params)
    if not isinstance(reference, CalReference):
        raise TypeError(f"reference must be a CalReference, not {reference!r}")
    scope = check_enum("scope", scope, CalScope)
    cols = params.cols
    cmax = params.charge_max
    gmax = (1 << params.gain_bits) - 1
    for name, arr in (("reference.gain", reference.gain), ("reference.charge", reference.charge),
                      ("charge", charge)):
        shape = np.shape(arr)
        if shape != (cols,):
            raise ValueError(f"{name} must have shape ({cols},), not {shape}")
    g0 = check_int_array("reference.gain", reference.gain, 0, gmax)
    r = check_int_array("reference.charge", reference.charge, -cmax, cmax)
    q = check_int_array("charge", charge, -cmax, cmax)
    gain = g0.copy()
    skipped = clipped = 0
    if scope == CalScope.GLOBAL:
        s_ref, s_now = int(np.abs(r).sum()), int(np.abs(q).sum())
        if s_ref == 0 or s_now == 0:
            return gain, cols, 0
    for c in range(cols):
        if scope == CalScope.PER_COLUMN:
            rc, qc = int(r[c]), int(q[c])
            if (rc == 0 or qc == 0 or abs(rc) == cmax or abs(qc) == cmax
                    or (rc > 0) != (qc > 0)):
                skipped += 1
                continue
            n, d = int(g0[c]) * abs(rc), abs(qc)
        else:
            n, d = int(g0[c]) * s_ref, s_now
        value = _round_ratio(n, d)
        if value > gmax:
            value = gmax
            clipped += 1
        gain[c] = value
    return gain, skipped, clipped


def walk_cycles(params: TileParams, op: CalOp, scope: CalScope = CalScope.PER_COLUMN) -> int:
    """Cycles of the column walk after the conductance read (docs/spec.md section 10)."""
    check_params(params)
    per_column = params.gain_bits + 3
    op, scope = check_enum("op", op, CalOp), check_enum("scope", scope, CalScope)
    if op == CalOp.REFERENCE:
        return params.cols
    if scope == CalScope.PER_COLUMN:
        return params.cols * per_column
    return params.cols + 1 + params.cols * per_column


def calibration_cycles(params: TileParams, config: TileConfig, op: CalOp,
                       scope: CalScope = CalScope.PER_COLUMN) -> int:
    """Cycles the tile is busy with a calibration command: the vector load (1), the read's
    INTEGRATE (D + 1) and EVALUATE (``params.evaluate_cycles``), the crossbar's done cycle (1;
    an MVM's CONVERT),
    then the column walk."""
    mode = InputMode(check_config(config).resolved(params).input_mode)
    return (1 + params.input_duration_max(mode) + 1 + params.evaluate_cycles + 1
            + walk_cycles(params, op, scope))


def calibration_phases(params: TileParams, config: TileConfig, op: CalOp,
                       scope: CalScope = CalScope.PER_COLUMN) -> list[tuple[Phase, int]]:
    """``STATUS.phase`` through a calibration command, as ``[(phase, cycles), ...]``: the load,
    the read's INTEGRATE and EVALUATE, then the done cycle and the walk (CALIBRATE)."""
    mode = InputMode(check_config(config).resolved(params).input_mode)
    return [(Phase.CALIBRATE, 1), (Phase.INTEGRATE, params.input_duration_max(mode) + 1),
            (Phase.EVALUATE, params.evaluate_cycles), (Phase.CALIBRATE, 1 + walk_cycles(params, op, scope))]


class Calibrator:
    """The tile's calibration state (the reference memory) and the commands on it.

    ``run(op, scope, codes, config, cal_input, mvm_index)`` returns a ``CalResult``; a
    ``COMPENSATE`` before any ``REFERENCE`` raises (the tile answers it with ``BAD_VALUE``).
    """

    def __init__(self, params: TileParams):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self.params = params
        self.reference: CalReference | None = None

    def run(self, op: CalOp, scope: CalScope, codes, config: TileConfig, cal_input: int,
            mvm_index: int = 0, faults=None) -> CalResult:
        p = self.params
        op, scope = check_enum("op", op, CalOp), check_enum("scope", scope, CalScope)
        cfg = check_config(config).resolved(p)
        if op == CalOp.COMPENSATE and self.reference is None:
            raise ValueError("COMPENSATE needs a REFERENCE calibration first")
        _, charge, cap_sat = conductance_read(codes, cal_input, cfg, p, mvm_index, faults)
        cycles = calibration_cycles(p, cfg, op, scope)
        if op == CalOp.REFERENCE:
            self.reference = CalReference(gain=cfg.gain.copy(), charge=charge.copy())
            return CalResult(charge=charge, cap_sat=cap_sat, reference=self.reference,
                             gain=cfg.gain.copy(), skipped=0, clipped=0, cycles=cycles)
        gain, skipped, clipped = compensated_gains(self.reference, charge, scope, p)
        return CalResult(charge=charge, cap_sat=cap_sat, reference=self.reference, gain=gain,
                         skipped=skipped, clipped=clipped, cycles=cycles)
