"""Tile parameters, run-time configuration and the enums shared by golden model and RTL.

The golden model never imports amaranth; ``hdl`` imports this module so that one parameter
object configures both.
"""
from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "InputMode", "InputSource", "Activation", "Phase", "ErrorBit",
    "TileParams", "TileConfig", "ERROR_BITS", "EN_LO_BITS", "READ_NOISE_SIGMA_MAX",
    "NOISE_SIGMA_BITS", "ROW_INDEX_BITS",
    "check_int", "check_int_array", "check_enum", "check_params", "check_config",
]


class InputMode(enum.IntEnum):
    """How the ILP reads an input word (``CTRL.input_mode``)."""
    UNSIGNED = 0
    SIGNED = 1


class InputSource(enum.IntEnum):
    """Where the crossbar's input lanes come from (``CTRL.input_source``)."""
    HOST = 0    # the tile's own ILP, fed by the ``x`` stream
    LANES = 1   # the ``lanes_in`` port (the mesh)


class Activation(enum.IntEnum):
    """EN-window activation (``CTRL.activation``)."""
    RELU = 0
    IDENTITY = 1
    HARD_SIGMOID = 2
    WINDOW = 3


class Phase(enum.IntEnum):
    """Local-controller phase (``STATUS.phase``)."""
    IDLE = 0
    INTEGRATE = 1
    EVALUATE = 2
    CONVERT = 3
    EMIT = 4
    OUTPUT = 5
    CALIBRATE = 6   # calibration command: vector load and column walk (golden.calibration)


class ErrorBit(enum.IntEnum):
    """Bit positions of the ``ERROR`` register."""
    BAD_VALUE = 0
    BUSY_WRITE = 1
    BAD_ADDRESS = 2
    BAD_ROW = 3
    CAP_SAT = 4
    OUT_SAT = 5
    LANE_OVERRANGE = 6
    LANE_COLLISION = 7
    BAD_TARGET = 8
    PROG_FAIL = 9
    CAL_DEAD = 10       # a calibration read found a column with no charge (docs/faults.md)


#: Width of the ERROR register (one bit per ErrorBit).
ERROR_BITS = len(ErrorBit)


#: Width of the row index of the ``prog`` and ``target`` streams.
ROW_INDEX_BITS = 16

#: Width of the NOISE_SIGMA register (golden.noise) and its largest value.
NOISE_SIGMA_BITS = 16
READ_NOISE_SIGMA_MAX = (1 << NOISE_SIGMA_BITS) - 1

#: Width of the EN window's lower edge (EN_WINDOW.en_lo, signed); its upper edge is
#: lo + span with 0 <= span <= out_max (TileParams.en_hi_bits wide)
EN_LO_BITS = 16


# -- argument checks shared by the public functions of golden/ and tb/ ----------------------------

def _bound_text(v) -> str:
    """A bound as text: decimal up to 64 bits, beyond that ``2**n - 1`` (or ``-2**n``, ``2**n``)
    when it is one, else hexadecimal (Python refuses decimal text of more than 4300 digits)."""
    v = int(v)
    if abs(v) < 1 << 64:
        return str(v)
    for k, form in ((v + 1, "2**{} - 1"), (v, "2**{}"), (-v, "-2**{}")):
        if k > 0 and k & (k - 1) == 0:
            return form.format(k.bit_length() - 1)
    return hex(v)


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"in [{_bound_text(lo)}, {_bound_text(hi)}]"
    if lo is not None:
        return f">= {_bound_text(lo)}"
    return f"<= {_bound_text(hi)}" if hi is not None else ""


def _value_text(value) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) \
            and int(value).bit_length() > 256:
        sign = "a negative" if value < 0 else "an"
        return f"{sign} integer of {int(value).bit_length()} bits"
    return repr(value)


def check_int(name: str, value, lo=None, hi=None) -> int:
    """``value`` as an ``int``, checked to be an integer (a Python or NumPy integer, not a bool
    nor a float) in ``[lo, hi]`` (either bound may be None); the error names ``name``, the value
    and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        legal = _range_text(lo, hi)
        raise TypeError(f"{name} must be an integer{' ' + legal if legal else ''}, "
                        f"not {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be {_range_text(lo, hi)}, not {_value_text(value)}")
    return int(value)


_check_int = check_int


def _index_text(shape, flat: int) -> str:
    return ", ".join(str(int(i)) for i in np.unravel_index(flat, shape))


@functools.lru_cache(maxsize=None)
def _dtype_range(dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def check_int_array(name: str, value, lo=None, hi=None) -> np.ndarray:
    """``value`` as an ``int64`` array, checked to have an integer dtype (not bool, float or
    object) and every element in ``[lo, hi]`` (either bound may be None); the error names
    ``name``, the dtype or the first element outside the range, and the range."""
    arr = np.asarray(value)
    legal = _range_text(lo, hi)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array"
                        f"{' with values ' + legal if legal else ''}, not dtype {arr.dtype}")
    dmin, dmax = _dtype_range(arr.dtype)
    within = (lo is None or dmin >= lo) and (hi is None or dmax <= hi)
    if arr.size and not within:
        small = arr.min() < lo if lo is not None else False
        big = arr.max() > hi if hi is not None else False
        if small or big:
            bad = np.zeros(arr.shape, dtype=bool)
            if lo is not None:
                bad |= arr < lo
            if hi is not None:
                bad |= arr > hi
            flat = int(np.flatnonzero(bad.ravel())[0])
            where = f"[{_index_text(arr.shape, flat)}]" if arr.ndim else ""
            raise ValueError(f"{name}{where} = {int(arr.ravel()[flat])} is outside "
                             f"{legal.removeprefix('in ')}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > (1 << 63) - 1:
        raise ValueError(f"{name} has values that do not fit int64")
    return arr.astype(np.int64)


def _enum_text(enum_cls) -> str:
    members = [f"{int(m)} ({m.name})" for m in enum_cls]
    return members[0] if len(members) == 1 else ", ".join(members[:-1]) + " or " + members[-1]


def check_enum(name: str, value, enum_cls):
    """``value`` as a member of ``enum_cls``: a member, or a Python or NumPy integer that is one
    of its values. A bool, a float, a string or a member of another enum raises ``TypeError``,
    an integer that is no member's value ``ValueError``; both list the legal values."""
    if isinstance(value, enum_cls):
        return value
    article = "an" if enum_cls.__name__[0] in "AEIOU" else "a"
    legal = f"{name} must be {article} {enum_cls.__name__}: {_enum_text(enum_cls)}"
    if (isinstance(value, (bool, enum.Enum))
            or not isinstance(value, (int, np.integer))):
        raise TypeError(f"{legal}, not {value!r}")
    try:
        return enum_cls(int(value))
    except ValueError:
        raise ValueError(f"{legal}, not {value!r}") from None


@dataclass(frozen=True)
class TileParams:
    """Design-time parameters of one tile; defaults are the chip's (docs/spec.md section 1)."""
    rows: int = 512
    cols: int = 512
    in_bits: int = 8
    out_bits: int = 8
    code_bits: int = 8
    devices_per_weight: int = 4
    f_factor: int = 1
    charge_bits: int = 24
    gain_bits: int = 8
    gain_frac_bits: int = 7
    eval_rows: int = 4
    #: the fault-injection hardware of docs/faults.md (the fault memory of stuck devices, the
    #: dead-lane and dead-column masks, registers FAULT_*): a verification feature, off on the
    #: chip's tiles; without it a FaultMap or dead lanes and columns are refused
    fault_injection: bool = False

    def __post_init__(self):
        _check_int("rows", self.rows, 1, 4096)
        _check_int("cols", self.cols, 1, 4096)
        _check_int("in_bits", self.in_bits, 2, 16)
        _check_int("out_bits", self.out_bits, 2, 16)
        _check_int("code_bits", self.code_bits, 1, 12)
        _check_int("devices_per_weight", self.devices_per_weight, 2, 4)   # rejects 4.0, True
        if self.devices_per_weight not in (2, 4):
            raise ValueError(
                f"devices_per_weight must be 2 or 4, not {self.devices_per_weight!r}")
        _check_int("f_factor", self.f_factor, 1, 15)
        if self.devices_per_weight == 2 and self.f_factor != 1:
            raise ValueError(
                f"f_factor only applies to 4-PCM cells; with devices_per_weight=2 it must be 1, "
                f"not {self.f_factor!r}")
        _check_int("charge_bits", self.charge_bits, 2, 48)
        _check_int("gain_bits", self.gain_bits, 1, 16)
        # gain 1.0 (2^gain_frac_bits, the reset value) must fit the gain_bits-wide register
        _check_int("gain_frac_bits", self.gain_frac_bits, 0, self.gain_bits - 1)
        _check_int("eval_rows", self.eval_rows, 1, 64)
        if self.eval_rows & (self.eval_rows - 1):
            raise ValueError(f"eval_rows must be a power of two, not {self.eval_rows}")
        if not isinstance(self.fault_injection, bool):
            raise TypeError(f"fault_injection must be True or False, not "
                            f"{self.fault_injection!r}")

    # -- derived quantities -------------------------------------------------------------------
    @property
    def code_max(self) -> int:
        return (1 << self.code_bits) - 1

    @property
    def weight_max(self) -> int:
        """Largest |w| of one unit cell."""
        if self.devices_per_weight == 4:
            return self.f_factor * self.code_max + self.code_max
        return self.code_max

    @property
    def out_max(self) -> int:
        return (1 << self.out_bits) - 1

    @property
    def charge_max(self) -> int:
        return (1 << (self.charge_bits - 1)) - 1

    @property
    def offset_bits(self) -> int:
        return self.out_bits + 1

    @property
    def target_bits(self) -> int:
        """Width of one signed target weight of the ``target`` stream: holds +-weight_max
        (and some illegal values, which the row programmer refuses)."""
        return self.weight_max.bit_length() + 1

    @property
    def en_hi_bits(self) -> int:
        """Signed width of the EN window's upper edge: lo + span at their largest."""
        return ((1 << (EN_LO_BITS - 1)) - 1 + self.out_max).bit_length() + 1

    @property
    def gain_one(self) -> int:
        """Gain code meaning 1.0 (the reset value of every GAIN register)."""
        return 1 << self.gain_frac_bits

    @property
    def eval_groups(self) -> int:
        """Words of the behavioral code memory: groups of ``eval_rows`` rows."""
        return -(-self.rows // self.eval_rows)

    @property
    def evaluate_cycles(self) -> int:
        """Cycles of the EVALUATE phase: one per group of ``eval_rows`` rows, plus the code
        memory's read latency (docs/spec.md section 7)."""
        return self.eval_groups + 1

    @property
    def ramp_shift_max(self) -> int:
        return self.charge_bits

    @property
    def duration_max(self) -> int:
        """Longest duration any input lane can be counted to (2^in_bits - 1)."""
        return (1 << self.in_bits) - 1

    def input_duration_max(self, mode: InputMode) -> int:
        """D of docs/spec.md section 2: the longest duration in this input mode."""
        mode = check_enum("mode", mode, InputMode)
        if mode == InputMode.UNSIGNED:
            return (1 << self.in_bits) - 1
        return 1 << (self.in_bits - 1)

    def input_range(self, mode: InputMode) -> tuple[int, int]:
        """Inclusive range of legal input words in this mode."""
        mode = check_enum("mode", mode, InputMode)
        if mode == InputMode.UNSIGNED:
            return 0, (1 << self.in_bits) - 1
        return -(1 << (self.in_bits - 1)), (1 << (self.in_bits - 1)) - 1

    @property
    def accumulator_max(self) -> int:
        """Largest |Q| before saturation: rows * duration_max * weight_max."""
        return self.rows * self.duration_max * self.weight_max

    @property
    def read_noise_max(self) -> int:
        """Largest |read noise| of one column (``golden.noise``, NOISE_SIGMA at its maximum)."""
        return -((-510 * READ_NOISE_SIGMA_MAX) >> 8)

    @property
    def conductance_read_max(self) -> int:
        """Largest |C| of the calibration's conductance read (golden.calibration): every device
        at code_max, so twice ``accumulator_max``."""
        return 2 * self.accumulator_max

    @property
    def cal_input_default(self) -> int:
        """Reset value of CAL_INPUT: the largest word whose conductance read cannot saturate
        the capacitor (``rows * d * 2 * weight_max <= charge_max``), at most the largest
        positive word of the SIGNED mode (so it means the same in both modes). It is 0 when
        even a read at word 1 can saturate (``rows * 2 * weight_max > charge_max``): such a
        read integrates no charge, and without read noise a COMPENSATE then skips every
        column (docs/spec.md section 10)."""
        d = self.charge_max // (self.rows * 2 * self.weight_max)
        return min(d, (1 << (self.in_bits - 1)) - 1)

    @property
    def accumulator_bits(self) -> int:
        """Signed width that holds any unsaturated column charge (an MVM's or a conductance
        read's), read noise included."""
        return max((self.conductance_read_max + self.read_noise_max).bit_length() + 1,
                   self.charge_bits)

    @property
    def cell_fields(self) -> tuple[str, ...]:
        """Names of the conductance codes of one unit cell, in storage order."""
        return ("gp", "gm", "lp", "lm") if self.devices_per_weight == 4 else ("gp", "gm")

    def activation_window(self, activation: Activation, en_window=(0, None)) -> tuple[int, int]:
        """EN window [lo, hi] of an activation (docs/spec.md section 5)."""
        activation = check_enum("activation", activation, Activation)
        ob = self.out_bits
        if activation == Activation.RELU:
            return 0, self.out_max
        if activation == Activation.IDENTITY:
            return -(1 << (ob - 1)), (1 << (ob - 1)) - 1
        if activation == Activation.HARD_SIGMOID:
            return -(1 << (ob - 2)), 1 << (ob - 2)
        lo, hi = en_window
        return lo, (self.out_max if hi is None else hi)


@dataclass
class TileConfig:
    """Run-time configuration: the contents of the tile's configuration registers.

    ``gain`` and ``offset`` default to the reset values (gain 1.0, offset 0) for ``params.cols``
    columns; call :meth:`validate` against the tile's parameters before use.
    """
    input_mode: InputMode = InputMode.UNSIGNED
    input_source: InputSource = InputSource.HOST
    activation: Activation = Activation.RELU
    ramp_shift: int = 0
    en_lo: int = 0
    en_hi: int | None = None          # None: out_max
    gain: np.ndarray | None = None    # (cols,) unsigned codes; None: all gain_one
    offset: np.ndarray | None = None  # (cols,) signed; None: all 0
    noise_seed: int = 0               # NOISE_SEED (golden.noise)
    noise_sigma: int = 0              # NOISE_SIGMA; 0: no read noise
    dead_lanes: np.ndarray | None = None  # (rows,) bool, FAULT_LANES (golden.faults); None: none
    dead_cols: np.ndarray | None = None   # (cols,) bool, FAULT_COLS; None: none

    def resolved(self, params: TileParams) -> "TileConfig":
        """A validated copy with defaults filled in for ``params``."""
        check_params(params)
        cfg = TileConfig(
            input_mode=check_enum("input_mode", self.input_mode, InputMode),
            input_source=check_enum("input_source", self.input_source, InputSource),
            activation=check_enum("activation", self.activation, Activation),
            ramp_shift=self.ramp_shift,
            en_lo=self.en_lo,
            en_hi=params.out_max if self.en_hi is None else self.en_hi,
            gain=(np.full(params.cols, params.gain_one, dtype=np.int64) if self.gain is None
                  else np.asarray(self.gain)),
            offset=(np.zeros(params.cols, dtype=np.int64) if self.offset is None
                    else np.asarray(self.offset)),
            noise_seed=self.noise_seed,
            noise_sigma=self.noise_sigma,
            dead_lanes=None if self.dead_lanes is None else np.asarray(self.dead_lanes),
            dead_cols=None if self.dead_cols is None else np.asarray(self.dead_cols),
        )
        cfg.validate(params)
        # no dead lane (column) at all is the same as None: the fast paths stay in use
        if cfg.dead_lanes is not None:
            cfg.dead_lanes = cfg.dead_lanes.copy() if cfg.dead_lanes.any() else None
        if cfg.dead_cols is not None:
            cfg.dead_cols = cfg.dead_cols.copy() if cfg.dead_cols.any() else None
        cfg.gain = cfg.gain.astype(np.int64)
        cfg.offset = cfg.offset.astype(np.int64)
        return cfg

    def validate(self, params: TileParams) -> None:
        check_params(params)
        check_enum("input_mode", self.input_mode, InputMode)
        check_enum("input_source", self.input_source, InputSource)
        check_enum("activation", self.activation, Activation)
        _check_int("ramp_shift", self.ramp_shift, 0, params.ramp_shift_max)
        _check_int("noise_seed", self.noise_seed, 0, (1 << 32) - 1)
        _check_int("noise_sigma", self.noise_sigma, 0, READ_NOISE_SIGMA_MAX)
        _check_int("en_lo", self.en_lo, -(1 << (EN_LO_BITS - 1)), (1 << (EN_LO_BITS - 1)) - 1)
        en_hi = params.out_max if self.en_hi is None else self.en_hi
        _check_int("en_hi", en_hi, -(1 << 62), 1 << 62)
        if not self.en_lo <= en_hi <= self.en_lo + params.out_max:
            raise ValueError(
                f"EN window must satisfy lo <= hi <= lo + out_max ({params.out_max}), "
                f"not lo={self.en_lo}, hi={en_hi}")
        for name, arr, lo, hi in (
            ("gain", self.gain, 0, (1 << params.gain_bits) - 1),
            ("offset", self.offset, -(1 << params.out_bits), (1 << params.out_bits) - 1),
        ):
            if arr is None:
                continue
            arr = np.asarray(arr)
            if arr.shape != (params.cols,):
                raise ValueError(f"{name} must have shape ({params.cols},), not {arr.shape}")
            if not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(f"{name} must be an integer array with values in [{lo}, {hi}], "
                                f"not dtype {arr.dtype}")
            if arr.size and (arr.min() < lo or arr.max() > hi):
                bad = int(np.flatnonzero((arr < lo) | (arr > hi))[0])
                raise ValueError(
                    f"{name}[{bad}] = {int(arr[bad])} is outside [{lo}, {hi}]")
        for name, arr, n in (("dead_lanes", self.dead_lanes, params.rows),
                             ("dead_cols", self.dead_cols, params.cols)):
            if arr is None:
                continue
            arr = np.asarray(arr)
            if arr.dtype != np.bool_:
                raise TypeError(f"{name} must be a bool array of shape ({n},), "
                                f"not dtype {arr.dtype}")
            if arr.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), not {arr.shape}")
            if arr.any() and not params.fault_injection:
                raise ValueError(f"{name} marks {int(arr.sum())} dead, but the tile has no "
                                 f"fault-injection hardware (TileParams.fault_injection=False)")


def check_params(params, name: str = "params") -> TileParams:
    """``params`` if it is a :class:`TileParams`; ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(params, TileParams):
        raise TypeError(f"{name} must be a TileParams, not {params!r}")
    return params


def check_config(config, name: str = "config") -> TileConfig:
    """``config`` if it is a :class:`TileConfig`; ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(config, TileConfig):
        raise TypeError(f"{name} must be a TileConfig, not {config!r}")
    return config
