"""Statistical PCM device model: weight mapping, programming noise, drift, read noise and drift
compensation (docs/device.md).

This is a float model for accuracy and drift studies, **not** part of the bit-exact contract:
its results enter the bit-exact tile only through :func:`conductances_to_codes`, which turns an
aged device state into the integer conductance codes that ``golden.Tile`` and the RTL crossbar
load. Conductances are in microsiemens (uS), times in seconds.

Reference formulas (design brief section 4; IBM aihwkit ``PCMLikeNoiseModel``,
``src/aihwkit/inference/noise/pcm.py``, fitted on about one million IBM PCM devices, Nandakumar et
al. ICECS 2019, Joshi et al. Nat. Commun. 2020; evaluation preset of Rasch et al., Nat. Commun.
14, 5282, 2023), with ``g_max = 25`` uS by default:

- programming noise: ``x = g_T / g_max``,
  ``sigma_p = (0.26348 + 1.9650 x - 1.1731 x^2) * g_max / 25``,
  ``g_prog = max(0, g_T + sigma_p N(0, 1))``;
- drift exponent: ``gr = max(|g_T| / g_max, 1e-7)``,
  ``mu = clip(-0.0155 ln gr + 0.0244, 0.049, 0.1)``,
  ``s = clip(-0.0125 ln gr - 0.0059, 0.008, 0.045)``, ``nu = |mu + s N(0, 1)|``;
- drift: ``g_d = g_prog (t_eff / t0)^-nu``, ``t0 = 20`` s;
- accumulated 1/f read noise: ``Q = min(0.2, 0.0088 / max(1e-3, (g_ref / g_max)^0.65))``,
  ``sigma_n = Q sqrt(ln((t_eff + t_read) / (2 t_read)))``, ``t_read = 250`` ns,
  ``g = max(0, g_d + |g_d| sigma_n N(0, 1))`` (one draw per aging, frozen as in aihwkit);
- drift compensation: ``alpha = mean|y_ref| / mean|y_t|`` of a calibration read right after
  programming (``y_ref``) and at time t (``y_t``), globally or per column.

Conventions. aihwkit's documentation (``docs/source/pcm_inference.rst``) and its code disagree
on three points, and aihwkit's inference tile adds a fourth (how a programmed pair ages);
:class:`Convention` names each choice and ``PCMModel(convention=...)`` selects a set:

================ ========================= ==================== ============================
point            ``"kit"`` (default)       ``"docs"``           ``"aihwkit_code"``
================ ========================= ==================== ============================
read-noise Q of  programmed ``g_prog``     target ``g_T``       ``g_prog``
drift clock      ``t_eff = t + t0``        ``t_eff = t``        ``t_eff = t + t0``
calibration      one-hot rows (``eye``)    all-ones vector      one-hot rows (``eye``)
aging of a pair  each device on its own    each device          net weight on one device
================ ========================= ==================== ============================

``t`` is always the time of inference counted from the end of programming (aihwkit's
``t_inference``). Why the kit's defaults:

- **Q from g_prog** (code): the 1/f noise is read from the device as it is, and the device
  holds ``g_prog``, not its target. The difference is not confined to Q's 0.2 cap: ``Q``
  falls as ``g^-0.65`` and the programming noise is large at small targets (``sigma_p`` =
  0.34 uS at a 1 uS target), so the devices spread over the steep part of ``Q``: measured
  against aihwkit, ``Q(g_T)`` makes the relative read-noise spread 10 % too narrow at a 1 uS
  target (``Q`` = 0.07, far from the cap), 8 % too wide at 0 uS, and agrees within the noise
  only from about 7.5 uS up (docs/device.md section 3).
- **t_eff = t + t0** (code, and the brief): ``g_prog`` is the conductance verified at ``t0``
  after the last programming pulse, so ``t = 0`` is that verify read and every ``t >= 0`` is
  defined. The docs' clock (``t`` since the last pulse) leaves ``t < t0`` undefined (we hold
  ``g_prog`` there, as aihwkit's code does for ``t_eff <= t0``) and has no read noise for
  ``t <= t_read`` (the log is clipped at 0).
- **one-hot calibration** (code): the readout ``mean_i |y_i|`` of one-hot inputs is
  ``mean |w|`` per column, with no cancellation between positive and negative weights; the
  all-ones read sums signed weights, and a column whose weights nearly cancel gives an
  ill-conditioned per-column ratio. On the tile it costs ``rows`` MVMs instead of one, which is
  negligible next to the hours between calibrations.
- **each device ages on its own** (the hardware): every device drifts with its own exponent
  from its own programmed conductance. aihwkit's inference tile instead ages the programmed
  *weights*: its drift step converts them back to conductances with the single-pair converter,
  which rescales by the largest programmed weight of the tensor and puts each pair's net weight
  ``G+ - G-`` on one device (the other at 0), so the device that was targeted at 0 (and
  programmed to ``max(0, 0.26 N)`` uS, drifting fast) no longer counts. ``aging="net_weight"``
  reproduces that for 2-PCM cells (:meth:`ProgrammedArray.conductances`); 4-PCM cells have no
  counterpart in aihwkit (its dual-pair converter maps weights differently) and always age
  device by device.

``convention="aihwkit_code"`` reproduces aihwkit 1.2.0's code on all four points (for 4-PCM
cells on the first three); a :class:`Convention` instance mixes them freely, except that
``aging="net_weight"`` takes ``Q`` of the re-converted programmed conductance, as aihwkit does,
and so needs ``read_noise_from="programmed"``.

Mapping rule (weights -> target conductances, :func:`program_weights`):

- scale: ``s = max |W|`` over the tile (``per_column=False``) or over each column
  (``per_column=True``); an all-zero tile or column uses ``s = 1`` (its weights map to 0).
  The largest weight uses the cell's full range ``R = (F + 1) g_max`` (4-PCM) or ``g_max``
  (2-PCM): ``w_g = W / s * R`` in uS, matching the tile's integer ``weight_max``.
- 2-PCM: ``G+ - G- = w_g``, the positive part on G+, the other device targeted at 0.
- 4-PCM: the most-significant pair carries the weight and is programmed first:
  ``G+ - G- = clip(w_g / F, -g_max, g_max)``; then the least-significant pair is targeted at the
  remainder ``r = w_g - F (G+ - G-)_programmed`` clipped to ``[-g_max, g_max]``, so ``g``
  corrects the programming error of ``G`` (and carries the part of a weight beyond
  ``F g_max``). Each pair puts its positive part on its "+" device and 0 on the other.

Random numbers: every function that draws takes ``seed``, an ``int`` or a
``numpy.random.Generator`` (never unseeded); the draw order is documented per function, so a
seed reproduces a run exactly.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from .spec import TileParams

__all__ = [
    "G_MAX", "Convention", "CONVENTIONS", "PCMModel", "ProgrammedArray",
    "as_generator", "weight_scale", "pair_targets", "program_weights", "effective_weights",
    "conductances_to_codes", "drift_compensation",
]

#: Default maximal conductance in uS (aihwkit's ``g_max``).
G_MAX = 25.0

_READ_NOISE_REFS = ("programmed", "target")
_DRIFT_CLOCKS = ("after_t0", "since_programming")
_CALIBRATIONS = ("one_hot", "all_ones")
_AGINGS = ("devices", "net_weight")


# -- validation helpers -----------------------------------------------------------------------
def _check_real(name, value, *, positive=False, nonnegative=False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, not {value!r}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be > 0, not {value!r}")
    if nonnegative and v < 0:
        raise ValueError(f"{name} must be >= 0, not {value!r}")
    return v


def _check_time(t, name="t") -> float:
    """A time in seconds: a finite real number >= 0."""
    return _check_real(name, t, nonnegative=True)


def _first_index(mask: np.ndarray) -> str:
    flat = int(np.flatnonzero(mask.ravel())[0])
    return ", ".join(str(int(i)) for i in np.unravel_index(flat, mask.shape))


def _as_float_array(name, value, *, ndim=None, last=None) -> np.ndarray:
    """A finite float64 copy of a real array (integer or float dtype)."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real (integer or float) array, not dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, not shape {arr.shape}")
    if last is not None and (arr.ndim == 0 or arr.shape[-1] != last):
        raise ValueError(f"{name} must have {last} entries on its last axis, not shape "
                         f"{arr.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        flat = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(f"{name}[{_first_index(bad)}] = {arr.ravel()[flat]} is not finite "
                         f"(NaN or infinity)")
    return arr


def _check_devices(devices) -> int:
    if isinstance(devices, bool) or not isinstance(devices, (int, np.integer)):
        raise TypeError(f"devices must be an integer, not {devices!r}")
    if devices not in (2, 4):
        raise ValueError(f"devices must be 2 or 4, not {devices!r}")
    return int(devices)


def as_generator(seed) -> np.random.Generator:
    """``seed`` as a Generator: an ``int`` (>= 0) seeds a new one, a Generator is used as is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy.random.Generator (never None: every "
                        f"draw is seeded), not {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, not {seed!r}")
    return np.random.default_rng(int(seed))


# -- conventions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Convention:
    """The points where aihwkit's docs, its code and the kit may differ (module docstring).

    Members
    -------
    read_noise_from: ``"programmed"`` (Q of ``g_prog``, code) or ``"target"`` (Q of ``g_T``,
        docs).
    drift_clock: ``"after_t0"`` (``t_eff = t + t0``, code) or ``"since_programming"``
        (``t_eff = t``, docs).
    calibration: ``"one_hot"`` (``eye(rows)``, code) or ``"all_ones"`` (one all-ones vector,
        docs).
    aging: ``"devices"`` (each device ages from its own programmed conductance) or
        ``"net_weight"`` (aihwkit's inference tile: each 2-PCM pair's programmed net weight,
        rescaled by the largest one of the array, on one device; needs
        ``read_noise_from="programmed"``).
    """
    read_noise_from: str = "programmed"
    drift_clock: str = "after_t0"
    calibration: str = "one_hot"
    aging: str = "devices"

    def __post_init__(self):
        for name, legal in (("read_noise_from", _READ_NOISE_REFS),
                            ("drift_clock", _DRIFT_CLOCKS), ("calibration", _CALIBRATIONS),
                            ("aging", _AGINGS)):
            value = getattr(self, name)
            if value not in legal:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, legal))}, "
                                 f"not {value!r}")
        if self.aging == "net_weight" and self.read_noise_from != "programmed":
            raise ValueError(f"aging='net_weight' takes the read-noise Q of the re-converted "
                             f"programmed conductance (aihwkit's drift step), so it needs "
                             f"read_noise_from='programmed', not {self.read_noise_from!r}")


#: Named convention sets for ``PCMModel(convention=...)``.
CONVENTIONS = {
    "kit": Convention("programmed", "after_t0", "one_hot", "devices"),
    "docs": Convention("target", "since_programming", "all_ones", "devices"),
    "aihwkit_code": Convention("programmed", "after_t0", "one_hot", "net_weight"),
}


def _resolve_convention(convention) -> Convention:
    if isinstance(convention, Convention):
        return convention
    if isinstance(convention, str) and convention in CONVENTIONS:
        return CONVENTIONS[convention]
    raise ValueError(f"convention must be one of {', '.join(map(repr, CONVENTIONS))} or a "
                     f"Convention, not {convention!r}")


# -- the device model -------------------------------------------------------------------------
@dataclass(frozen=True)
class PCMModel:
    """PCM device statistics (aihwkit ``PCMLikeNoiseModel``); every coefficient is a field so
    that studies and tests can change one (``dataclasses.replace``).

    Members
    -------
    g_max: maximal conductance (uS); targets must lie in ``[0, g_max]``.
    prog_coeff: ``sigma_p`` polynomial coefficients ``c_i`` of ``(g_T / g_max)^i`` (uS, fitted
        at ``prog_coeff_g_max_reference``).
    prog_coeff_g_max_reference: the ``g_max`` the polynomial was fitted at (25 uS);
        ``sigma_p`` is scaled by ``g_max / prog_coeff_g_max_reference``.
    drift_mu: ``(slope, intercept, lo, hi)`` of ``mu = clip(slope ln gr + intercept, lo, hi)``.
    drift_sigma: the same for ``s``.
    drift_gr_floor: ``gr = max(|g_T| / g_max, drift_gr_floor)``.
    t0: drift reference time (s), the verify read after programming.
    t_read: read-pulse width of the 1/f noise integral (s).
    read_q: ``(coeff, exponent, q_max, floor)`` of
        ``Q = min(q_max, coeff / max(floor, (g / g_max)^exponent))``.
    prog_noise_scale, drift_scale, read_noise_scale: multipliers (1 = the fitted model, 0 = off).
    convention: ``"kit"`` (default), ``"docs"``, ``"aihwkit_code"`` or a :class:`Convention`;
        stored resolved.
    """
    g_max: float = G_MAX
    prog_coeff: tuple = (0.26348, 1.9650, -1.1731)
    prog_coeff_g_max_reference: float = 25.0
    drift_mu: tuple = (-0.0155, 0.0244, 0.049, 0.1)
    drift_sigma: tuple = (-0.0125, -0.0059, 0.008, 0.045)
    drift_gr_floor: float = 1e-7
    t0: float = 20.0
    t_read: float = 250e-9
    read_q: tuple = (0.0088, 0.65, 0.2, 1e-3)
    prog_noise_scale: float = 1.0
    drift_scale: float = 1.0
    read_noise_scale: float = 1.0
    convention: Convention | str = "kit"

    def __post_init__(self):
        _check_real("g_max", self.g_max, positive=True)
        _check_real("prog_coeff_g_max_reference", self.prog_coeff_g_max_reference,
                    positive=True)
        for name, n in (("prog_coeff", None), ("drift_mu", 4), ("drift_sigma", 4),
                        ("read_q", 4)):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)) or (n is not None and len(value) != n) \
                    or len(value) == 0:
                want = f"{n} real numbers" if n else "a non-empty tuple of real numbers"
                raise ValueError(f"{name} must be {want}, not {value!r}")
            for i, c in enumerate(value):
                _check_real(f"{name}[{i}]", c)
            object.__setattr__(self, name, tuple(float(c) for c in value))
        for name in ("drift_mu", "drift_sigma"):
            _, _, lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} clip range must satisfy 0 <= lo <= hi, not "
                                 f"lo={lo}, hi={hi}")
        _, _, q_max, q_floor = self.read_q
        if q_max < 0 or q_floor <= 0:
            raise ValueError(f"read_q must have q_max >= 0 and floor > 0, not {self.read_q!r}")
        _check_real("drift_gr_floor", self.drift_gr_floor, positive=True)
        _check_real("t0", self.t0, positive=True)
        _check_real("t_read", self.t_read, positive=True)
        for name in ("prog_noise_scale", "drift_scale", "read_noise_scale"):
            _check_real(name, getattr(self, name), nonnegative=True)
        object.__setattr__(self, "convention", _resolve_convention(self.convention))

    def replace(self, **changes) -> "PCMModel":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # -- input checks ---------------------------------------------------------------------------
    def _targets(self, g_target, name="g_target") -> np.ndarray:
        g = _as_float_array(name, g_target)
        if g.size and (g.min() < 0 or g.max() > self.g_max):
            idx = _first_index((g < 0) | (g > self.g_max))
            raise ValueError(f"{name}[{idx}] is outside [0, g_max={self.g_max}] uS")
        return g

    def _conductances(self, g, name) -> np.ndarray:
        arr = _as_float_array(name, g)
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name}[{_first_index(arr < 0)}] is negative; conductances "
                             f"are >= 0")
        return arr

    # -- programming ----------------------------------------------------------------------------
    def programming_sigma(self, g_target) -> np.ndarray:
        """``sigma_p`` (uS) of each target conductance."""
        g = self._targets(g_target)
        x = g / self.g_max
        sigma = np.zeros_like(g)
        for c in reversed(self.prog_coeff):        # Horner: c0 + x (c1 + x (c2 + ...))
            sigma = sigma * x + c
        return sigma * (self.g_max / self.prog_coeff_g_max_reference)

    def program(self, g_target, seed) -> np.ndarray:
        """Programmed conductances ``max(0, g_T + scale sigma_p N)``.

        Draws one ``standard_normal`` of ``g_target``'s shape.
        """
        rng = as_generator(seed)
        g = self._targets(g_target)
        sigma = self.programming_sigma(g)
        noise = rng.standard_normal(g.shape)
        return np.maximum(0.0, g + self.prog_noise_scale * sigma * noise)

    # -- drift ----------------------------------------------------------------------------------
    def drift_mean_std(self, g_target) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, s)`` of the drift exponent of each target (before the ``|.|`` fold)."""
        g = self._targets(g_target)
        log_gr = np.log(np.maximum(np.abs(g) / self.g_max, self.drift_gr_floor))
        a, b, lo, hi = self.drift_mu
        mu = np.clip(a * log_gr + b, lo, hi)
        a, b, lo, hi = self.drift_sigma
        s = np.clip(a * log_gr + b, lo, hi)
        return mu, s

    def drift_exponents(self, g_target, seed) -> np.ndarray:
        """``nu = drift_scale |mu + s N|`` per device. Draws one ``standard_normal``."""
        rng = as_generator(seed)
        mu, s = self.drift_mean_std(g_target)
        return self.drift_scale * np.abs(mu + s * rng.standard_normal(mu.shape))

    def effective_time(self, t) -> float:
        """``t_eff``: time since the last programming pulse under the drift clock."""
        t = _check_time(t)
        return t + self.t0 if self.convention.drift_clock == "after_t0" else t

    def drift_factor(self, nu, t) -> np.ndarray:
        """``(t_eff / t0)^-nu`` when ``t_eff > t0``, else 1 (``g_prog`` held)."""
        nu = _as_float_array("nu", nu)
        if nu.size and nu.min() < 0:
            raise ValueError(f"nu[{_first_index(nu < 0)}] is negative; drift exponents "
                             f"are >= 0")
        t_eff = self.effective_time(t)
        if t_eff <= self.t0:
            return np.ones_like(nu)
        return (t_eff / self.t0) ** (-nu)

    # -- read noise -----------------------------------------------------------------------------
    def read_noise_q(self, g_ref) -> np.ndarray:
        """``Q = min(q_max, coeff / max(floor, (|g_ref| / g_max)^exponent))``."""
        g = self._conductances(g_ref, "g_ref")
        coeff, exponent, q_max, floor = self.read_q
        return np.minimum(q_max, coeff / np.maximum(floor, (g / self.g_max) ** exponent))

    def read_noise_sigma(self, g_ref, t) -> np.ndarray:
        """``sigma_n = Q sqrt(max(0, ln((t_eff + t_read) / (2 t_read))))`` (relative)."""
        t_eff = self.effective_time(t)
        log_term = max(0.0, math.log((t_eff + self.t_read) / (2.0 * self.t_read)))
        return self.read_noise_q(g_ref) * math.sqrt(log_term)

    # -- aging ------------------------------------------------------------------------------------
    def age(self, g_prog, nu, t, seed, g_target=None) -> np.ndarray:
        """Conductances at time ``t`` after programming: drift, then one read-noise draw.

        ``g = max(0, g_d + |g_d| read_noise_scale sigma_n N)`` with ``g_d = g_prog *
        drift_factor(nu, t)``; ``sigma_n`` uses ``g_prog`` (``read_noise_from="programmed"``;
        ``g_target`` is then not used) or ``g_target`` (``"target"``; then it is required).
        Draws one ``standard_normal`` of ``g_prog``'s shape, always (even when ``sigma_n`` is
        0), so the stream does not depend on ``t``.
        """
        rng = as_generator(seed)
        gp = self._conductances(g_prog, "g_prog")
        nu = _as_float_array("nu", nu)
        if nu.shape != gp.shape:
            raise ValueError(f"nu must have the shape of g_prog {gp.shape}, not {nu.shape}")
        if self.convention.read_noise_from == "target":
            if g_target is None:
                raise ValueError("g_target is required: this convention takes the read-noise "
                                 "Q of the target conductance")
            g_ref = self._targets(g_target)
            if g_ref.shape != gp.shape:
                raise ValueError(f"g_target must have the shape of g_prog {gp.shape}, not "
                                 f"{g_ref.shape}")
        else:
            g_ref = gp
        g_d = gp * self.drift_factor(nu, t)
        sigma = self.read_noise_scale * self.read_noise_sigma(g_ref, t)
        noise = rng.standard_normal(gp.shape)
        return np.maximum(0.0, g_d + np.abs(g_d) * sigma * noise)

    # -- calibration ------------------------------------------------------------------------------
    def calibration_inputs(self, rows: int) -> np.ndarray:
        """The calibration input vectors ``(n, rows)`` (float, values 0/1): ``eye(rows)``
        (one-hot) or ``ones((1, rows))`` (all-ones), per the convention."""
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)):
            raise TypeError(f"rows must be an integer, not {rows!r}")
        if rows < 1:
            raise ValueError(f"rows must be >= 1, not {rows!r}")
        if self.convention.calibration == "one_hot":
            return np.eye(int(rows))
        return np.ones((1, int(rows)))


# -- mapping ----------------------------------------------------------------------------------
def weight_scale(weights, per_column: bool = True):
    """``max |W|`` over the tile (a float) or over each column (``(cols,)``); zero -> 1."""
    w = _as_float_array("weights", weights, ndim=2)
    if not isinstance(per_column, (bool, np.bool_)):
        raise TypeError(f"per_column must be a bool, not {per_column!r}")
    if w.size == 0:
        raise ValueError(f"weights must not be empty, not shape {w.shape}")
    if per_column:
        s = np.abs(w).max(axis=0)
        return np.where(s > 0, s, 1.0)
    s = float(np.abs(w).max())
    return s if s > 0 else 1.0


def pair_targets(diff, g_max: float = G_MAX) -> np.ndarray:
    """Targets ``(..., 2)`` of one differential pair: ``(max(d, 0), max(-d, 0))`` of
    ``d = clip(diff, -g_max, g_max)``."""
    g_max = _check_real("g_max", g_max, positive=True)
    d = np.clip(_as_float_array("diff", diff), -g_max, g_max)
    return np.stack([np.maximum(d, 0.0), np.maximum(-d, 0.0)], axis=-1)


def effective_weights(g, f_factor=1) -> np.ndarray:
    """Cell weights in uS of conductances ``(..., devices)`` in ``(gp, gm[, lp, lm])`` order:
    ``F (gp - gm) + (lp - lm)`` or ``gp - gm``."""
    arr = _as_float_array("g", g)
    if arr.ndim == 0 or arr.shape[-1] not in (2, 4):
        raise ValueError(f"g must have 2 or 4 devices on its last axis, not shape {arr.shape}")
    f = _check_real("f_factor", f_factor, positive=True)
    w = arr[..., 0] - arr[..., 1]
    if arr.shape[-1] == 4:
        w = f * w + (arr[..., 2] - arr[..., 3])
    return w


@dataclass(frozen=True, eq=False)
class ProgrammedArray:
    """A tile's devices after programming (the result of :func:`program_weights`).

    Members
    -------
    model: the :class:`PCMModel` used.
    devices, f_factor: cell layout (``(gp, gm)`` or ``(gp, gm, lp, lm)``) and F.
    scale: ``max |W|`` used (float, or ``(cols,)`` with per-column scaling).
    target_weights: ``w_g = W / scale * R`` (uS), the weights the cells aim at.
    g_target, g_prog, nu: ``(rows, cols, devices)`` targets, programmed conductances (at
        ``t0``) and drift exponents.
    """
    model: PCMModel
    devices: int
    f_factor: float
    scale: object
    target_weights: np.ndarray
    g_target: np.ndarray
    g_prog: np.ndarray
    nu: np.ndarray

    @property
    def full_range(self) -> float:
        """``R``: the cell weight (uS) of the largest ``|W|``."""
        g = self.model.g_max
        return (self.f_factor + 1) * g if self.devices == 4 else g

    def conductances(self, t, seed) -> np.ndarray:
        """Conductances ``(rows, cols, devices)`` at time ``t`` (s) after programming.

        ``aging="devices"`` (and every 4-PCM array): :meth:`PCMModel.age` of every device.
        ``aging="net_weight"`` with 2-PCM cells, aihwkit's inference-tile drift step
        (``InferenceTileWithPeriphery.drift_weights`` -> ``apply_drift_noise`` with
        ``SinglePairConductanceConverter``): the programmed net weight ``w = gp - gm`` of each
        pair is rescaled by ``r = g_max / max|w|`` (over the whole array), put on one device,
        ``(max(w r, 0), max(-w r, 0))``, aged with each device's own ``nu`` and ``Q`` of that
        conductance, and scaled back by ``1 / r``: the result is the pair's equivalent
        conductances in this array's units (its weights are aihwkit's drifted weights).
        Either way one ``standard_normal`` of ``g_prog``'s shape is drawn.
        """
        model = self.model
        if model.convention.aging == "devices" or self.devices == 4:
            return model.age(self.g_prog, self.nu, t, seed, g_target=self.g_target)
        w = self.g_prog[..., 0] - self.g_prog[..., 1]
        peak = float(np.abs(w).max()) if w.size else 0.0
        r = model.g_max / peak if peak > 0 else 1.0
        g_net = pair_targets(w * r, model.g_max)
        return model.age(g_net, self.nu, t, seed) / r

    def weights(self, g) -> np.ndarray:
        """Cell weights (uS) of conductances ``g`` of this array."""
        return effective_weights(g, self.f_factor)


def program_weights(weights, *, seed, devices: int = 4, f_factor=1, per_column: bool = True,
                    model: PCMModel | None = None) -> ProgrammedArray:
    """Map a float weight matrix ``(rows, cols)`` onto PCM cells and program them.

    The mapping rule is the module docstring's. Draw order (one Generator from ``seed``):
    2-PCM: programming noise of ``(gp, gm)``, then drift exponents of all devices;
    4-PCM: programming noise of ``(gp, gm)``, then of ``(lp, lm)`` (targeted at the remainder
    of the programmed ``G`` pair), then drift exponents of all four devices.
    """
    model = PCMModel() if model is None else model
    if not isinstance(model, PCMModel):
        raise TypeError(f"model must be a PCMModel, not {model!r}")
    devices = _check_devices(devices)
    f = _check_real("f_factor", f_factor, positive=True)
    if devices == 2 and f != 1:
        raise ValueError(f"f_factor only applies to 4-PCM cells; with devices=2 it must be 1, "
                         f"not {f_factor!r}")
    rng = as_generator(seed)
    w = _as_float_array("weights", weights, ndim=2)
    scale = weight_scale(w, per_column)
    g_max = model.g_max
    full_range = (f + 1) * g_max if devices == 4 else g_max
    w_g = w / scale * full_range
    if devices == 2:
        g_target = pair_targets(w_g, g_max)
        g_prog = model.program(g_target, rng)
    else:
        msp_target = pair_targets(w_g / f, g_max)
        msp_prog = model.program(msp_target, rng)
        remainder = w_g - f * (msp_prog[..., 0] - msp_prog[..., 1])
        lsp_target = pair_targets(remainder, g_max)
        lsp_prog = model.program(lsp_target, rng)
        g_target = np.concatenate([msp_target, lsp_target], axis=-1)
        g_prog = np.concatenate([msp_prog, lsp_prog], axis=-1)
    nu = model.drift_exponents(g_target, rng)
    return ProgrammedArray(model=model, devices=devices, f_factor=f, scale=scale,
                           target_weights=w_g, g_target=g_target, g_prog=g_prog, nu=nu)


# -- into the bit-exact tile --------------------------------------------------------------------
def conductances_to_codes(g, params: TileParams, g_max=G_MAX) -> np.ndarray:
    """Integer conductance codes ``(rows, cols, devices_per_weight)`` of conductances ``g``.

    ``code = floor(g / g_max * code_max + 1/2)`` (round half up), then clipped to
    ``[0, code_max]`` (a conductance above ``g_max`` saturates at ``code_max``; conductances
    are never negative). The layout is ``golden.crossbar.weights``'s: last axis in
    ``params.cell_fields`` order, so the result loads into ``golden.Tile`` and the RTL.
    The weight scale of the tile is then ``code_max / g_max`` codes per uS: a cell weight
    ``w_g`` (uS) becomes about ``w_g * code_max / g_max`` integer weight units.
    """
    if not isinstance(params, TileParams):
        raise TypeError(f"params must be a TileParams, not {params!r}")
    g_max = _check_real("g_max", g_max, positive=True)
    shape = (params.rows, params.cols, params.devices_per_weight)
    arr = _as_float_array("g", g)
    if arr.shape != shape:
        raise ValueError(f"g must have shape {shape} (rows, cols, devices_per_weight), not "
                         f"{arr.shape}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"g[{_first_index(arr < 0)}] is negative; conductances are >= 0")
    codes = np.floor(arr * (params.code_max / g_max) + 0.5)
    return np.clip(codes, 0, params.code_max).astype(np.int64)


# -- drift compensation -------------------------------------------------------------------------
def drift_compensation(reference, current, per_column: bool = False):
    """``alpha = mean|reference| / mean|current|`` over all outputs (a float) or per column
    (``(cols,)``, means over axis 0).

    ``reference`` and ``current`` are the outputs ``(n, cols)`` of the same calibration inputs
    right after programming and at time t. A zero mean of ``current`` raises (the drift cannot
    be compensated from a read that carries no signal).
    """
    ref = _as_float_array("reference", reference, ndim=2)
    cur = _as_float_array("current", current, ndim=2)
    if ref.shape != cur.shape:
        raise ValueError(f"current must have the shape of reference {ref.shape}, not "
                         f"{cur.shape}")
    if ref.size == 0:
        raise ValueError("calibration outputs must not be empty")
    if not isinstance(per_column, (bool, np.bool_)):
        raise TypeError(f"per_column must be a bool, not {per_column!r}")
    axis = 0 if per_column else None
    num = np.abs(ref).mean(axis=axis)
    den = np.abs(cur).mean(axis=axis)
    if np.any(den == 0):
        where = f" (column {int(np.flatnonzero(den == 0)[0])})" if per_column else ""
        raise ValueError(f"current calibration readout is 0{where}: nothing to compensate "
                         f"against")
    alpha = num / den
    return alpha if per_column else float(alpha)
