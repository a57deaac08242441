"""Closed-loop (program-and-verify) row-wise programming of PCM conductances (docs/programming.md).

The bit-exact reference of ``hdl.programmer.RowProgrammer``: one row of unit cells is programmed
at a time, all columns in parallel. Every device of the row is RESET to code 0, then the MSP
pair (G+, G-) and, in 4-PCM mode, the LSP pair (g+, g-) are each iterated: in every iteration
(one clock cycle) a device whose error exceeds ``tol`` receives a pulse

    g' = clamp(g + round_half_up(err * pulse_gain / 256) + noise, 0, code_max)

where ``noise`` comes from a counter-based hash (``mix32``, the "lowbias32" integer hash) turned
into an approximately Gaussian number (Irwin-Hall sum of four bytes) and scaled by a tabulated
state-dependent sigma (aihwkit's PCM programming-noise polynomial). The RTL draws the same
numbers, so every intermediate state is reproducible.

Invariant used by the vectorized implementation (and the RTL): in each pair only the device on
the target's side (G+ for a positive target, G- for a negative one; likewise g+/g-) can ever
receive a pulse. The other device's target is 0, it starts at 0 after the RESET, its error is 0
and ``tol >= 0``: it is converged from the first check and never touched. So each column has one
*active device* per pair; ``tests/test_golden_program.py`` checks this against a literal
per-device loop of the contract.

``python -m golden.program --rows 512 --cols 512 --seed 1`` programs random targets and prints
the weight-error statistics (mean |error| in % of the largest weight, analog yield), iterations
and cycles.
"""
from __future__ import annotations

import argparse
import enum
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import cli
from .crossbar import _weights_of
from .fixed import round_shift
from .ilp import _index
from .rng import (COLUMN_MULTIPLIER, IRWIN_HALL_MEAN, IRWIN_HALL_SD, MASK32, MIX32_M1,
                  MIX32_M2, column_constants, column_hash, irwin_hall, mix32)
from .spec import TileParams, _check_int, check_int, check_int_array, check_params

__all__ = [
    "ProgPhase", "ProgramConfig", "RowResult", "ArrayResult", "WeightErrorStats",
    "MIX32_M1", "MIX32_M2", "COLUMN_MULTIPLIER", "IRWIN_HALL_MEAN", "IRWIN_HALL_SD",
    "SIGMA_BINS_MAX", "NOISE_SCALE_ONE", "GAIN_SHIFT", "PROG_NOISE_COEFF", "G_MAX_US",
    "BAD_TARGET_CYCLES",
    "mix32", "key_word", "noise_key", "column_constants", "column_hash", "irwin_hall",
    "sigma_bins", "sigma_bin", "sigma_frac_bits", "noise_shift", "sigma_code", "sigma_table",
    "pulse_step", "pulse_noise", "check_targets", "msp_targets", "lsp_targets", "weight_tolerance",
    "program_row", "program_array", "weight_error_stats", "latency", "main",
]

# -- constants of the contract ------------------------------------------------------------------

SIGMA_BINS_MAX = 16             #: bins of the sigma table (fewer when code_max + 1 < 16)
NOISE_SCALE_ONE = 16            #: noise_scale 16 = 1.0 x the model's sigma
NOISE_SCALE_BITS = 4            #: log2(NOISE_SCALE_ONE)
GAIN_SHIFT = 8                  #: pulse_gain / 256
#: aihwkit PCMLikeNoiseModel.prog_coeff: sigma_p(x) = c0 + c1 x + c2 x^2 (uS at g_max = 25 uS)
PROG_NOISE_COEFF = (0.26348, 1.9650, -1.1731)
G_MAX_US = 25.0                 #: conductance of code_max, in uS
#: cycles a command with an illegal target occupies: the handshake and the check cycle
BAD_TARGET_CYCLES = 2

# key word fields (docs/programming.md section 4): iteration [7:0], device [8], pair [10],
# row [27:12] (the row field of the command is 16 bits wide)
ITER_SHIFT, DEVICE_SHIFT, PAIR_SHIFT, ROW_SHIFT = 0, 8, 10, 12


class ProgPhase(enum.IntEnum):
    """State of the row programmer (``RowProgrammer.phase``), one per cycle."""
    IDLE = 0        # cmd.ready: waiting for a command
    RESET = 1       # target check; every device of the row RESET to 0 (1 cycle)
    MSP = 2         # G+/G- iterations (one cycle each)
    REMAINDER = 3   # LSP remainder targets from the programmed MSP pair (1 cycle, 4-PCM)
    LSP = 4         # g+/g- iterations (4-PCM)
    EVALUATE = 5    # weights, fail mask, fail count (1 cycle)
    RESULT = 6      # result.valid until accepted


# -- configuration ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProgramConfig:
    """Run-time configuration of a programming run (the programmer's configuration registers).

    seed : 32-bit seed of the noise generator
    tol : verify tolerance in codes, 0..code_max (a device with |target - g| <= tol is converged)
    pulse_gain : eta = pulse_gain / 256 of the pulse step, 1..255
    noise_scale : programming-noise scale, 16 = 1.0 x the model's sigma, 0 = noiseless, 0..255
    max_iter : largest number of pulse iterations per pair, 1..255
    """
    seed: int = 1
    tol: int = 2
    pulse_gain: int = 192
    noise_scale: int = NOISE_SCALE_ONE
    max_iter: int = 40

    def validate(self, params: TileParams) -> "ProgramConfig":
        _check_int("seed", self.seed, 0, MASK32)
        _check_int("tol", self.tol, 0, params.code_max)
        _check_int("pulse_gain", self.pulse_gain, 1, 255)
        _check_int("noise_scale", self.noise_scale, 0, 255)
        _check_int("max_iter", self.max_iter, 1, 255)
        return self


# -- the counter-based generator ----------------------------------------------------------------

def _key_word(row, pair, device, iteration):
    return ((np.asarray(row, dtype=np.int64) << ROW_SHIFT) | (pair << PAIR_SHIFT)
            | (np.asarray(device, dtype=np.int64) << DEVICE_SHIFT) | (iteration << ITER_SHIFT))


def key_word(row, pair: int, device, iteration: int):
    """``(row << 12) | (pair << 10) | (device << 8) | iteration``: the fields never overlap for
    16-bit rows, pair and device in {0, 1} and iterations < 256 (integers or integer arrays
    that broadcast together)."""
    return _key_word(check_int_array("row", row, 0, (1 << 16) - 1),
                     check_int_array("pair", pair, 0, 1),
                     check_int_array("device", device, 0, 1),
                     check_int_array("iteration", iteration, 0, 255))


def _noise_key(seed, row, pair, device, iteration):
    word = _key_word(row, pair, device, iteration)
    if word.ndim == 0:
        return mix32(seed ^ mix32(int(word)))
    return mix32(np.uint32(seed) ^ mix32(word))


def noise_key(seed: int, row, pair: int, device, iteration: int):
    """Key shared by every column for one (row, pair, device, iteration):
    ``mix32(seed ^ mix32(key_word(...)))`` with a 32-bit ``seed``. Scalars give an int, arrays
    a uint32 array."""
    seed = check_int("seed", seed, 0, MASK32)
    word = key_word(row, pair, device, iteration)
    if word.ndim == 0:
        return mix32(seed ^ mix32(int(word)))
    return mix32(np.uint32(seed) ^ mix32(word))


# -- the state-dependent sigma table ------------------------------------------------------------

def sigma_bins(params: TileParams) -> int:
    """Number of sigma bins: 16, or code_max + 1 when that is smaller."""
    check_params(params)
    return min(SIGMA_BINS_MAX, params.code_max + 1)


def _bin_shift(params: TileParams) -> int:
    return params.code_bits - (sigma_bins(params).bit_length() - 1)


def sigma_bin(target_codes, params: TileParams) -> np.ndarray:
    """Bin of a device's target code (in [0, code_max]): its top (up to) 4 bits."""
    check_params(params)
    return check_int_array("target_codes", target_codes, 0, params.code_max) >> _bin_shift(params)


def sigma_frac_bits(params: TileParams) -> int:
    """Q: fraction bits of ``sigma_table`` entries; ``20 - code_bits`` keeps every entry in
    [70, 300] whatever the code width (9 bits)."""
    check_params(params)
    return 20 - params.code_bits


def noise_shift(params: TileParams) -> int:
    """SHIFT of ``noise = round_half_up(N * sigma_q * noise_scale / 2^SHIFT)``: Q + 4."""
    return sigma_frac_bits(params) + NOISE_SCALE_BITS


def sigma_code(x) -> np.ndarray:
    """aihwkit's programming-noise sigma at normalized target x = g_T / g_max, as a fraction of
    g_max: ``max(0, c0 + c1 x + c2 x^2) / 25`` (uS at g_max = 25 uS)."""
    x = np.asarray(x, dtype=np.float64)
    c0, c1, c2 = PROG_NOISE_COEFF
    return np.maximum(0.0, c0 + c1 * x + c2 * x * x) / G_MAX_US


def sigma_table(params: TileParams) -> np.ndarray:
    """Integer sigma multipliers per bin (compile-time constants of the RTL).

    Bin b covers target codes [b * 2^s, (b + 1) * 2^s - 1] (s = code_bits - log2(bins)); its
    sigma in codes is ``sigma_code(x_mid) * code_max`` at the bin's mid code
    ``x_mid = (b * 2^s + (2^s - 1) / 2) / code_max``; the entry is
    ``round(sigma_codes * 2^Q / IRWIN_HALL_SD)`` so that at noise_scale 16 the noise
    ``N * entry * 16 / 2^(Q + 4)`` has standard deviation sigma_codes.
    """
    bins = sigma_bins(params)
    width = 1 << _bin_shift(params)
    mid = (np.arange(bins) * width + (width - 1) / 2) / params.code_max
    codes = sigma_code(mid) * params.code_max
    return np.floor(codes * (1 << sigma_frac_bits(params)) / IRWIN_HALL_SD + 0.5).astype(np.int64)


# -- one pulse ----------------------------------------------------------------------------------

def _pulse_step(err, pulse_gain):
    return round_shift(err * pulse_gain, GAIN_SHIFT)


def pulse_step(err, pulse_gain: int) -> np.ndarray:
    """Deterministic part of a pulse: ``round_half_up(err * pulse_gain / 256)`` (integer errors,
    ``pulse_gain`` in [1, 255])."""
    return _pulse_step(check_int_array("err", err), check_int("pulse_gain", pulse_gain, 1, 255))


def _pulse_noise(n, scaled_sigma, params):
    return round_shift(n * scaled_sigma, noise_shift(params))


def pulse_noise(n, scaled_sigma, params: TileParams) -> np.ndarray:
    """Noise of a pulse in codes: ``round_half_up(N * sigma_q[bin] * noise_scale / 2^SHIFT)``;
    ``n`` holds Irwin-Hall numbers, ``scaled_sigma`` is ``sigma_q[bin] * noise_scale``."""
    check_params(params)
    return _pulse_noise(check_int_array("n", n, -IRWIN_HALL_MEAN, IRWIN_HALL_MEAN),
                        check_int_array("scaled_sigma", scaled_sigma, 0), params)


# -- targets ------------------------------------------------------------------------------------

def check_targets(targets, params: TileParams, name: str = "targets") -> np.ndarray:
    """Validate target weights (integer dtype, last axis = cols, |t| <= weight_max); int64."""
    check_params(params)
    arr = np.asarray(targets)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, not dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != params.cols:
        raise ValueError(f"{name} must have shape ({params.cols},) or (rows, {params.cols}), "
                         f"not {arr.shape}")
    wmax = params.weight_max
    a = arr.astype(np.int64)
    if a.size and int(np.abs(a).max()) > wmax:
        flat = int(np.flatnonzero((np.abs(a) > wmax).ravel())[0])
        raise ValueError(f"{name}[{_index(a, flat)}] = {int(a.ravel()[flat])} is outside "
                         f"[{-wmax}, {wmax}] (weight_max of {params.devices_per_weight}-PCM "
                         f"cells, code_bits={params.code_bits}, F={params.f_factor})")
    return a


def msp_targets(t, params: TileParams) -> tuple[np.ndarray, np.ndarray]:
    """``(negative, magnitude)`` of the MSP pair's difference target.

    4-PCM: ``tG = sign(t) * min((|t| + floor(F/2)) // F, code_max)``: t / F rounded half away
    from zero, clamped. 2-PCM: ``tG = t``. A positive tG is G+'s target (G- gets 0), a negative
    one G-'s (G+ gets 0).
    """
    check_params(params)
    return _msp_targets(check_int_array("t", t, -params.weight_max, params.weight_max), params)


def _msp_targets(t, params):
    mag = np.abs(t)
    if params.devices_per_weight == 4:
        mag = np.minimum((mag + params.f_factor // 2) // params.f_factor, params.code_max)
    return t < 0, mag


def lsp_targets(t, gp, gm, params: TileParams) -> tuple[np.ndarray, np.ndarray]:
    """``(negative, magnitude)`` of the LSP remainder ``tL = clamp(t - F (gp - gm), +-code_max)``
    from the MSP pair's programmed codes."""
    check_params(params)
    return _lsp_targets(check_int_array("t", t, -params.weight_max, params.weight_max),
                        check_int_array("gp", gp, 0, params.code_max),
                        check_int_array("gm", gm, 0, params.code_max), params)


def _lsp_targets(t, gp, gm, params):
    r = t - params.f_factor * (gp - gm)
    return r < 0, np.minimum(np.abs(r), params.code_max)


def weight_tolerance(tol: int, params: TileParams) -> int:
    """Largest |w - t| of a weight that is not failed.

    4-PCM: ``tol * (F + 1) + max(0, F // 2 - code_max)``; 2-PCM: ``tol``. This is the worst
    error of a cell whose devices all converged: the MSP error (F * tol) only shows when the LSP
    remainder clamps, then the LSP adds tol; the last term is the intrinsic gap of cells that
    cannot represent every integer (F > 2 code_max + 1; 0 for every practical size).
    """
    check_params(params)
    tol = check_int("tol", tol, 0, params.code_max)
    if params.devices_per_weight == 4:
        return tol * (params.f_factor + 1) + max(0, params.f_factor // 2 - params.code_max)
    return tol


def latency(phase_cycles, params: TileParams):
    """Cycles from the command handshake to the first cycle with ``result.valid``:
    handshake 1 + RESET 1 + MSP phase + (remainder 1 + LSP phase, 4-PCM) + evaluate 1."""
    check_params(params)
    pc = check_int_array("phase_cycles", phase_cycles, 0)
    if pc.ndim == 0 or pc.shape[-1] != 2:
        raise ValueError(f"phase_cycles must have 2 entries (MSP, LSP) on its last axis, not "
                         f"shape {pc.shape}")
    if params.devices_per_weight == 4:
        return 4 + pc[..., 0] + pc[..., 1]
    return 3 + pc[..., 0]


# -- results ------------------------------------------------------------------------------------

@dataclass
class RowResult:
    """Outcome of programming one row (``program_row``).

    codes : (cols, devices_per_weight) final codes, ``params.cell_fields`` order
    weights : (cols,) w = F (gp - gm) + (lp - lm), or gp - gm
    errors : (cols,) w - t
    fail_mask : (cols,) bool, |w - t| > weight_tolerance
    fail_count, converged : number of failed weights, fail_count == 0
    iterations : (2,) pulse iterations of the MSP and the LSP phase (LSP 0 in 2-PCM mode)
    phase_cycles : (2,) cycles of each phase (pulses + 1 when it ended by the all-converged
        check)
    cycles : latency, handshake cycle to first result.valid cycle (``latency``)
    trace : per phase, (pulses + 1, cols, devices) codes at the start of each iteration
        (index ``pulses`` = after the phase), when requested
    """
    codes: np.ndarray
    weights: np.ndarray
    errors: np.ndarray
    fail_mask: np.ndarray
    fail_count: int
    converged: bool
    iterations: np.ndarray
    phase_cycles: np.ndarray
    cycles: int
    trace: list = field(default_factory=list)

    @property
    def total_iterations(self) -> int:
        return int(self.iterations.sum())


@dataclass
class ArrayResult:
    """Outcome of programming every row (``program_array``); fields as ``RowResult`` with a
    leading rows axis."""
    codes: np.ndarray
    weights: np.ndarray
    errors: np.ndarray
    fail_mask: np.ndarray
    fail_count: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    phase_cycles: np.ndarray
    cycles: np.ndarray

    def row(self, r: int) -> RowResult:
        return RowResult(self.codes[r], self.weights[r], self.errors[r], self.fail_mask[r],
                         int(self.fail_count[r]), bool(self.converged[r]), self.iterations[r],
                         self.phase_cycles[r], int(self.cycles[r]))


# -- the vectorized core ------------------------------------------------------------------------

def _phase(codes, dev_index, negative, mag, row_ids, pair, cfg, params, trace, stuck=None):
    """Iterate one pair over every row at once; updates ``codes`` in place.

    ``dev_index`` is the column of ``codes`` holding the pair's plus device (minus = +1);
    ``negative``/``mag`` (rows, cols) select each column's active device and its target.
    ``stuck`` (optional, bool (rows, cols, devices)): stuck devices, which a pulse does not
    move (their codes are already the stuck codes). Returns (pulses, phase cycles) per row.
    """
    nrows, cols = mag.shape
    table = sigma_table(params) * cfg.noise_scale
    scaled = table[mag >> _bin_shift(params)]
    device = negative.astype(np.int64)                  # 0: plus device, 1: minus device
    rr = np.arange(nrows)[:, None]
    cc = np.arange(cols)[None, :]
    g = codes[rr, cc, dev_index + device]               # active device codes
    if stuck is not None:
        # a stuck active device is never moved; a stuck inactive device (target 0) is
        # converged only if its stuck code is within tol of 0: otherwise it keeps the pair from
        # passing the all-converged check (it is pulsed in vain), and the phase runs out
        frozen = stuck[rr, cc, dev_index + device]
        blocked = codes[rr, cc, dev_index + 1 - device] > cfg.tol
    else:
        frozen = blocked = None
    colk = column_constants(cols)
    pulses = np.zeros(nrows, dtype=np.int64)
    checked = np.zeros(nrows, dtype=bool)               # ended by the all-converged check
    live = np.arange(nrows)
    if trace is not None:
        trace.append([])
    for it in range(cfg.max_iter):
        err = mag[live] - g[live]
        nc = np.abs(err) > cfg.tol
        if trace is not None:
            snap = codes[0].copy()
            snap[np.arange(cols), dev_index + device[0]] = g[0]
            trace[-1].append(snap)
        done = ~(nc | blocked[live]).any(axis=1) if stuck is not None else ~nc.any(axis=1)
        checked[live[done]] = True
        keep = ~done
        live, err, nc = live[keep], err[keep], nc[keep]
        if not len(live):
            break
        keys = _noise_key(cfg.seed, row_ids[live, None], pair, np.array([[0, 1]]), it)  # (L, 2)
        k = np.where(device[live] == 1, keys[:, 1:2], keys[:, 0:1])                # (L, C)
        n = irwin_hall(mix32(k + colk[None, :]))     # uint32: wraps
        new = g[live] + _pulse_step(err, cfg.pulse_gain) + _pulse_noise(n, scaled[live], params)
        if stuck is not None:
            nc = nc & ~frozen[live]
        g[live] = np.where(nc, np.clip(new, 0, params.code_max), g[live])
        pulses[live] += 1
    else:
        if trace is not None:     # exhausted: the state after the last pulse
            snap = codes[0].copy()
            snap[np.arange(cols), dev_index + device[0]] = g[0]
            trace[-1].append(snap)
    codes[rr, cc, dev_index + device] = g
    if trace is not None:
        trace[-1] = np.stack(trace[-1])
        # a phase that ended by its check already has its final state as the last snapshot
    return pulses, pulses + checked


def _program(t, row_ids, cfg: ProgramConfig, params: TileParams, trace=None, stuck=None):
    nrows, cols = t.shape
    codes = np.zeros((nrows, cols, params.devices_per_weight), dtype=np.int64)   # RESET
    frozen = None
    if stuck is not None and stuck.any():
        # stuck devices (golden.faults) keep their stuck code through the RESET and the pulses
        frozen = stuck != 0
        codes[stuck == 2] = params.code_max
    iterations = np.zeros((nrows, 2), dtype=np.int64)
    phase_cycles = np.zeros((nrows, 2), dtype=np.int64)
    neg, mag = _msp_targets(t, params)
    iterations[:, 0], phase_cycles[:, 0] = _phase(codes, 0, neg, mag, row_ids, 0, cfg, params,
                                                  trace, frozen)
    if params.devices_per_weight == 4:
        neg, mag = _lsp_targets(t, codes[..., 0], codes[..., 1], params)
        iterations[:, 1], phase_cycles[:, 1] = _phase(codes, 2, neg, mag, row_ids, 1, cfg,
                                                      params, trace, frozen)
    w = _weights_of(codes, params)
    errors = w - t
    fail = np.abs(errors) > weight_tolerance(cfg.tol, params)
    fail_count = fail.sum(axis=1)
    return ArrayResult(codes, w, errors, fail, fail_count, fail_count == 0, iterations,
                       phase_cycles, latency(phase_cycles, params))


def _check_params_cfg(cfg, params):
    if not isinstance(params, TileParams):
        raise TypeError(f"params must be a TileParams, not {params!r}")
    if not isinstance(cfg, ProgramConfig):
        raise TypeError(f"cfg must be a ProgramConfig, not {cfg!r}")
    cfg.validate(params)


def _check_stuck(stuck, shape, params):
    """Stuck states (``golden.faults.Stuck`` values: 0 none, 1 at zero, 2 at full) of the
    devices of the rows programmed, ``int64`` of ``shape``; None stays None."""
    if stuck is None:
        return None
    arr = np.asarray(stuck)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(f"stuck must be an integer array of Stuck values (0 NONE, 1 ZERO, "
                        f"2 FULL), not dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"stuck must have shape {shape}, not {arr.shape}")
    return check_int_array("stuck", arr, 0, 2)


def program_row(targets, row: int, cfg: ProgramConfig = ProgramConfig(),
                params: TileParams = TileParams(), trace: bool = False,
                stuck=None) -> RowResult:
    """Program one row to integer target weights ``targets`` (shape (cols,)).

    ``row`` (0 <= row < params.rows) only enters the noise key. Raises ``ValueError`` naming the
    first column whose |target| exceeds ``params.weight_max`` (the RTL raises ``bad_target``
    and programs nothing). With ``trace`` the result holds the per-iteration codes of each
    phase. ``stuck`` (optional, ``(cols, devices_per_weight)`` of ``golden.faults.Stuck``
    values): stuck devices of the row, which hold their stuck code through the RESET and every
    pulse (docs/faults.md); the fail mask then reports the weights that could not be reached.
    """
    _check_params_cfg(cfg, params)
    _check_int("row", row, 0, params.rows - 1)
    t = check_targets(targets, params)
    if t.ndim != 1:
        raise ValueError(f"targets must have shape ({params.cols},), not {t.shape}")
    s = _check_stuck(stuck, (params.cols, params.devices_per_weight), params)
    phases = [] if trace else None
    res = _program(t[None, :], np.array([row], dtype=np.int64), cfg, params, phases,
                   None if s is None else s[None]).row(0)
    if trace:
        res.trace = phases
    return res


def program_array(target_weights, cfg: ProgramConfig = ProgramConfig(),
                  params: TileParams = TileParams(), row_ids=None, stuck=None) -> ArrayResult:
    """Program every row of ``target_weights`` (shape (n, cols), n <= rows; row i gets row index
    ``row_ids[i]``, default i), vectorized over rows and columns. Row by row equal to
    ``program_row`` (``stuck``: optional ``(n, cols, devices_per_weight)`` stuck states)."""
    _check_params_cfg(cfg, params)
    t = check_targets(target_weights, params, "target_weights")
    if t.ndim != 2:
        raise ValueError(f"target_weights must have shape (rows, {params.cols}), not {t.shape}")
    if row_ids is None:
        if t.shape[0] > params.rows:
            raise ValueError(f"target_weights has {t.shape[0]} rows, the tile {params.rows}")
        row_ids = np.arange(t.shape[0], dtype=np.int64)
    else:
        row_ids = check_int_array("row_ids", row_ids, 0, params.rows - 1)
        if row_ids.shape != (t.shape[0],):
            raise ValueError(f"row_ids must have shape ({t.shape[0]},), not {row_ids.shape}")
    s = _check_stuck(stuck, t.shape + (params.devices_per_weight,), params)
    return _program(t, row_ids, cfg, params, None, s)


# -- statistics ---------------------------------------------------------------------------------

@dataclass
class WeightErrorStats:
    """Weight-error statistics in units of the largest weight (``weight_max``)."""
    count: int
    mean_abs_error_pct: float       #: mean |w - t| / weight_max * 100
    rms_error_pct: float
    max_abs_error: int              #: in weight LSBs
    analog_yield: float             #: fraction of weights with |w - t| <= 0.2 weight_max
    fail_fraction: float | None = None  #: fraction over weight_tolerance (when known)

    def __str__(self):
        text = (f"mean |error| {self.mean_abs_error_pct:.3f} % of max weight, rms "
                f"{self.rms_error_pct:.3f} %, max |error| {self.max_abs_error} LSB, analog yield "
                f"{100 * self.analog_yield:.3f} % (|error| <= 20 % of max weight)")
        if self.fail_fraction is not None:
            text += f", failed {100 * self.fail_fraction:.3f} %"
        return text


def weight_error_stats(targets, weights, params: TileParams, fail_mask=None) -> WeightErrorStats:
    """Mean |w - t| as a percentage of ``weight_max``, rms, max and the analog yield (fraction of
    weights within 20 % of ``weight_max``: ``5 |w - t| <= weight_max``). ``targets`` and
    ``weights`` are integer weights in [-weight_max, weight_max] of one shape, ``fail_mask``
    (optional) a bool array of that shape."""
    check_params(params)
    wmax = params.weight_max
    t = check_int_array("targets", targets, -wmax, wmax)
    w = check_int_array("weights", weights, -wmax, wmax)
    if t.shape != w.shape:
        raise ValueError(f"targets {t.shape} and weights {w.shape} must have the same shape")
    if not t.size:
        raise ValueError("weight_error_stats needs at least one weight")
    if fail_mask is not None:
        fail_mask = np.asarray(fail_mask)
        if fail_mask.dtype != np.bool_:
            raise TypeError(f"fail_mask must be a bool array, not dtype {fail_mask.dtype}")
        if fail_mask.shape != t.shape:
            raise ValueError(f"fail_mask must have the shape of targets {t.shape}, not "
                             f"{fail_mask.shape}")
    e = np.abs(w - t)
    return WeightErrorStats(
        count=int(e.size),
        mean_abs_error_pct=float(100 * e.mean() / wmax),
        rms_error_pct=float(100 * np.sqrt((e.astype(np.float64) ** 2).mean()) / wmax),
        max_abs_error=int(e.max()),
        analog_yield=float((5 * e <= wmax).mean()),
        fail_fraction=None if fail_mask is None else float(np.mean(fail_mask)))


# -- command line -------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    d = ProgramConfig()
    parser = argparse.ArgumentParser(
        prog="python -m golden.program",
        description="Program random (seeded) target weights into a tile with the closed-loop "
                    "model and print the weight-error statistics, iterations and cycles.")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--cols", type=int, default=512)
    parser.add_argument("--code-bits", type=int, default=8)
    parser.add_argument("--devices", type=int, default=4, help="PCM devices per weight: 4 or 2")
    parser.add_argument("--f-factor", type=int, default=1)
    parser.add_argument("--seed", type=cli.seed, default=1,
                        help="seed of the random targets and of the noise generator "
                             f"(0..{cli.SEED_MAX})")
    parser.add_argument("--tol", type=int, default=d.tol)
    parser.add_argument("--pulse-gain", type=int, default=d.pulse_gain)
    parser.add_argument("--noise-scale", type=int, default=d.noise_scale)
    parser.add_argument("--max-iter", type=int, default=d.max_iter)
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        params = TileParams(rows=args.rows, cols=args.cols, code_bits=args.code_bits,
                            devices_per_weight=args.devices, f_factor=args.f_factor)
        cfg = ProgramConfig(seed=args.seed, tol=args.tol, pulse_gain=args.pulse_gain,
                            noise_scale=args.noise_scale, max_iter=args.max_iter)
        cfg.validate(params)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    rng = np.random.default_rng(args.seed)
    wmax = params.weight_max
    targets = rng.integers(-wmax, wmax + 1, size=(params.rows, params.cols))
    start = time.perf_counter()
    res = program_array(targets, cfg, params)
    seconds = time.perf_counter() - start
    stats = weight_error_stats(targets, res.weights, params, res.fail_mask)
    it = res.iterations
    print(f"golden.program: {params.rows} x {params.cols} weights, {params.devices_per_weight}-PCM, "
          f"code_bits {params.code_bits}, F {params.f_factor}, weight_max {wmax}; targets "
          f"uniform in [{-wmax}, {wmax}] (seed {args.seed})")
    print(f"config: seed {cfg.seed}, tol {cfg.tol}, pulse_gain {cfg.pulse_gain} "
          f"(eta {cfg.pulse_gain / 256:g}), noise_scale {cfg.noise_scale} "
          f"({cfg.noise_scale / NOISE_SCALE_ONE:g} x sigma), max_iter {cfg.max_iter}; "
          f"weight tolerance {weight_tolerance(cfg.tol, params)}")
    print(f"weights: {stats}")
    print(f"rows converged: {int(res.converged.sum())} of {params.rows}")
    names = ("MSP", "LSP") if params.devices_per_weight == 4 else ("MSP",)
    for k, name in enumerate(names):
        print(f"iterations {name}: mean {it[:, k].mean():.2f}, max {int(it[:, k].max())} "
              f"(rows at max_iter: {int((it[:, k] == cfg.max_iter).sum())})")
    total = it.sum(axis=1)
    print(f"iterations total per row: mean {total.mean():.2f}, max {int(total.max())}")
    per_row = res.cycles + 1    # back to back: the result handshake, then the next command
    print(f"cycles per row (handshake to result.valid): mean {res.cycles.mean():.2f}, min "
          f"{int(res.cycles.min())}, max {int(res.cycles.max())}; whole array back to back "
          f"{int(per_row.sum())} cycles")
    print(f"golden model time: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
