"""The tile's register map (data, down to the field) and a golden model of the register file.

``TILE_MAP`` is the one description of the tile's registers (docs/spec.md section 8 is
generated from it: ``python -m golden.regs``). The golden :class:`RegisterFile` below and the
RTL (``hdl.csr``) both take their decoding, legality checks and read-back from it.
"""
from __future__ import annotations


import numpy as np

from .calibration import CalOp, CalResult, CalScope
from .program import ProgramConfig, RowResult
from .regmap import OKAY, SLVERR, WORD_BITS, Field, Register, RegisterMap, print_table
from .spec import (EN_LO_BITS, NOISE_SIGMA_BITS, Activation, ErrorBit, InputMode, InputSource,
                   Phase, TileConfig, TileParams, _check_int, check_enum, check_int)

__all__ = ["TILE_MAP", "REGISTERS", "GAIN_BASE", "OFFSET_BASE", "FAIL_MASK_BASE", "ID_VALUE",
           "OKAY", "SLVERR", "ADDR_BITS", "RegisterFile", "pack_ctrl", "pack_en_window",
           "gain_address", "offset_address", "fail_mask_words", "fail_mask_address",
           "PROG_FIELDS", "ERROR_FIELDS", "FAULT_MASK_BASE", "FAULT_LEVEL_BASE",
           "FAULT_LANES_BASE", "FAULT_COLS_BASE", "CAL_DEAD_MASK_BASE", "fault_device_words",
           "fault_lane_words", "fault_col_words"]

ID_VALUE = 0x50434D31   # "PCM1"
ADDR_BITS = 16          #: byte-address width of one tile's register window
GAIN_BASE = 0x4000
OFFSET_BASE = 0x8000
FAIL_MASK_BASE = 0xC000
FAULT_MASK_BASE = 0xD000        #: up to 512 words (4096 columns x 4 devices)
FAULT_LEVEL_BASE = 0xD800
FAULT_LANES_BASE = 0xE000       #: up to 128 words
FAULT_COLS_BASE = 0xE200
CAL_DEAD_MASK_BASE = 0xE400

#: ERROR's fields, one per ErrorBit (field name = the bit's name in lower case)
ERROR_FIELDS = tuple(Field(b.name.lower(), int(b)) for b in ErrorBit)

TILE_MAP = RegisterMap("tile", ADDR_BITS, (
    Register("ID", 0x0000, "RO", (Field("id", 0, 32, ID_VALUE),), const=True,
             doc='"PCM1"'),
    Register("GEOMETRY", 0x0004, "RO", (Field("rows", 0, 16, "rows"),
                                        Field("cols", 16, 16, "cols")), const=True),
    Register("FORMAT", 0x0008, "RO", (Field("in_bits", 0, 8, "in_bits"),
                                      Field("out_bits", 8, 8, "out_bits"),
                                      Field("code_bits", 16, 8, "code_bits"),
                                      Field("devices_per_weight", 24, 4, "devices_per_weight"),
                                      Field("f_factor", 28, 4, "f_factor")), const=True),
    Register("CHARGE", 0x000C, "RO", (Field("charge_bits", 0, 8, "charge_bits"),
                                      Field("gain_bits", 8, 8, "gain_bits"),
                                      Field("gain_frac_bits", 16, 8, "gain_frac_bits")),
             const=True),
    Register("CTRL", 0x0010, "RW", (
        Field("input_mode", 0, 1, enum=InputMode),
        Field("input_source", 1, 1, enum=InputSource),
        Field("activation", 2, 3, enum=Activation)), config=True),
    Register("RAMP_SHIFT", 0x0014, "RW", (
        Field("ramp_shift", 0, 6, hi="ramp_shift_max",
              doc="ramp slope: 2^ramp_shift charge units per output tick at gain 1.0"),),
             config=True),
    Register("EN_WINDOW", 0x0018, "RW", (
        Field("en_lo", 0, EN_LO_BITS, 0, signed=True, doc="lo"),
        Field("en_span", 16, 16, "out_max", hi="out_max", doc="hi = lo + span")), config=True,
             doc="the WINDOW activation's EN window [lo, lo + span] (section 5)"),
    Register("STATUS", 0x001C, "RO", (Field("busy", 0),
                                      Field("phase", 1, 3, enum=Phase))),
    Register("ERROR", 0x0020, "RW1C", ERROR_FIELDS,
             doc="sticky; write 1 to clear (bits of other positions are ignored)"),
    Register("MVM_COUNT", 0x0024, "RO", (Field("mvm_count", 0, 32),),
             doc="MVMs completed since reset, wraps at 2^32; keys the read noise"),
    Register("LAST_LATENCY", 0x0028, "RO", (Field("last_latency", 0, 32),),
             doc="cycles from the last input handshake to its y.valid"),
    Register("NOISE_SEED", 0x002C, "RW", (Field("noise_seed", 0, 32),), config=True,
             doc="seed of the read noise (section 4)"),
    Register("NOISE_SIGMA", 0x0030, "RW", (Field("noise_sigma", 0, NOISE_SIGMA_BITS, doc="0 = off"),),
             config=True, doc="read-noise scale (section 4)"),
    Register("PROG_SEED", 0x0034, "RW", (Field("prog_seed", 0, 32, ProgramConfig.seed),),
             doc="seed of the programming-noise generator (docs/programming.md)"),
    Register("PROG_TOL", 0x0038, "RW", (
        Field("prog_tol", 0, "code_bits", f"min({ProgramConfig.tol}, code_max)",
              doc="verify tolerance in codes"),)),
    Register("PROG_GAIN", 0x003C, "RW", (
        Field("prog_gain", 0, 8, ProgramConfig.pulse_gain, lo=1, doc="pulse gain / 256"),)),
    Register("PROG_NOISE", 0x0040, "RW", (
        Field("prog_noise", 0, 8, ProgramConfig.noise_scale, doc="programming noise, 16 = 1.0"),)),
    Register("PROG_MAX_ITER", 0x0044, "RW", (
        Field("prog_max_iter", 0, 8, ProgramConfig.max_iter, lo=1,
              doc="pulse iterations per device pair"),)),
    Register("PROG_STATUS", 0x0048, "RO", (
        Field("prog_busy", 0), Field("prog_converged", 1, doc="last row converged"),
        Field("prog_bad_target", 2, doc="last command had an illegal target"))),
    Register("PROG_ITER", 0x004C, "RO", (
        Field("prog_iter_msp", 0, 8), Field("prog_iter_lsp", 8, 8),
        Field("prog_iter_total", 16, 9)), doc="pulse iterations of the last row"),
    Register("PROG_FAILS", 0x0050, "RO", (Field("prog_fail_count", 0, 16),),
             doc="weights of the last row outside the tolerance"),
    Register("PROG_ROWS", 0x0054, "RO", (Field("prog_rows", 0, 16),
                                         Field("prog_rows_converged", 16, 16)),
             doc="rows programmed since reset, and of them converged"),
    Register("CAL_INPUT", 0x0058, "RW", (
        Field("cal_input", 0, "in_bits", "cal_input_default",
              doc="word on every row of a calibration read, read in CTRL.input_mode; the reset "
                  "is 0 when a read of word 1 can saturate (section 10)"),),
             config=True),
    Register("CAL_CMD", 0x005C, "RW", (
        Field("cal_op", 0, enum=CalOp), Field("cal_scope", 1, enum=CalScope)), config=True,
             rule="reference_held",
             doc="a write starts a calibration (section 10); COMPENSATE needs a REFERENCE "
                 "completed since reset; reads the last accepted command"),
    Register("CAL_STATUS", 0x0060, "RO", (Field("cal_busy", 0),
                                          Field("cal_reference_valid", 1,
                                                doc="a reference is held"))),
    Register("CAL_SKIPPED", 0x0064, "RO", (Field("cal_skipped", 0, 16),),
             doc="columns of the last COMPENSATE left at their reference gain"),
    Register("CAL_CLIPPED", 0x0068, "RO", (Field("cal_clipped", 0, 16),),
             doc="columns of the last COMPENSATE whose gain saturated"),
    Register("FAULT_ROW", 0x006C, "RW", (
        Field("fault_row", 0, 16, 0, hi="rows - 1",
              doc="row whose stuck devices FAULT_MASK and FAULT_LEVEL address"),),
             doc="fault injection, docs/faults.md", present="fault_injection"),
    Register("CAL_DEAD", 0x0070, "RO", (Field("cal_dead_count", 0, 16),),
             doc="columns of the last calibration command whose read was 0 (dead), "
                 "docs/faults.md"),
    Register("GAIN", GAIN_BASE, "RW", (
        Field("gain", 0, "gain_bits", "gain_one", doc="unsigned, gain_one = 1.0"),),
             count="cols", config=True),
    Register("OFFSET", OFFSET_BASE, "RW", (
        Field("offset", 0, 32, 0, lo="-2 ** out_bits", hi="2 ** out_bits - 1", signed=True,
              doc="in output LSBs"),), count="cols", config=True),
    Register("PROG_FAIL_MASK", FAIL_MASK_BASE, "RO", (Field("fail_mask", 0, 32),),
             count="(cols + 31) // 32", doc="bit j: column 32i + j of the last row failed"),
    Register("FAULT_MASK", FAULT_MASK_BASE, "RW", (Field("fault_mask", 0, 32),),
             count="(cols * devices_per_weight + 31) // 32",
             doc="row FAULT_ROW, bit j: device k = 32i + j (column k // devices_per_weight, "
                 "device k % devices_per_weight in cell order) is stuck. Non-volatile (reset "
                 "keeps it); acts on the row's next write (docs/faults.md)",
             present="fault_injection"),
    Register("FAULT_LEVEL", FAULT_LEVEL_BASE, "RW", (Field("fault_level", 0, 32),),
             count="(cols * devices_per_weight + 31) // 32",
             doc="row FAULT_ROW, bit j: stuck device 32i + j is stuck at code_max (1) or "
                 "at 0 (0). Non-volatile", present="fault_injection"),
    Register("FAULT_LANES", FAULT_LANES_BASE, "RW", (Field("fault_lanes", 0, 32),),
             count="(rows + 31) // 32", config=True,
             doc="bit j: input lane 32i + j is dead (its duration counts as 0)",
             present="fault_injection"),
    Register("FAULT_COLS", FAULT_COLS_BASE, "RW", (Field("fault_cols", 0, 32),),
             count="(cols + 31) // 32", config=True,
             doc="bit j: column 32i + j is dead (its charge is 0, read noise included)",
             present="fault_injection"),
    Register("CAL_DEAD_MASK", CAL_DEAD_MASK_BASE, "RO", (Field("cal_dead_mask", 0, 32),),
             count="(cols + 31) // 32",
             doc="bit j: column 32i + j read 0 in the last calibration command"),
))

#: Register name -> its description (``.address``, ``.access``, ``.fields``)
REGISTERS = {r.name: r for r in TILE_MAP.registers}

#: Programming configuration registers -> ProgramConfig fields.
PROG_FIELDS = {"PROG_SEED": "seed", "PROG_TOL": "tol", "PROG_GAIN": "pulse_gain",
               "PROG_NOISE": "noise_scale", "PROG_MAX_ITER": "max_iter"}


def _word_check(name, value):
    _check_int(name, value, 0, (1 << WORD_BITS) - 1)


def pack_ctrl(input_mode, input_source, activation) -> int:
    """CTRL's word. Values outside a field's enum are packed as given (to test refusals) but
    must fit the field."""
    ctrl = TILE_MAP["CTRL"]
    values = {"input_mode": input_mode, "input_source": input_source, "activation": activation}
    word = 0
    for f in ctrl.fields:
        v = values[f.name]
        _check_int(f.name, v, 0, (1 << f.width) - 1)
        word |= int(v) << f.lsb
    return word


def pack_en_window(lo: int, hi: int) -> int:
    """EN_WINDOW's word for the window [lo, hi]: lo in [15:0], span = hi - lo in [31:16]."""
    _check_int("lo", lo, -(1 << (EN_LO_BITS - 1)), (1 << (EN_LO_BITS - 1)) - 1)
    _check_int("hi", hi, lo, lo + 0xFFFF)
    return (lo & 0xFFFF) | (hi - lo) << 16


def fail_mask_words(p: TileParams) -> int:
    """Number of PROG_FAIL_MASK words (32 columns each)."""
    return (p.cols + 31) // 32


#: Largest window index of GAIN/OFFSET (TileParams' largest cols) and of PROG_FAIL_MASK.
_COLS_MAX = 4096


def fail_mask_address(word: int) -> int:
    return FAIL_MASK_BASE + 4 * check_int("word", word, 0, -(-_COLS_MAX // 32) - 1)


def gain_address(col: int) -> int:
    return GAIN_BASE + 4 * check_int("col", col, 0, _COLS_MAX - 1)


def offset_address(col: int) -> int:
    return OFFSET_BASE + 4 * check_int("col", col, 0, _COLS_MAX - 1)


def fault_device_words(p: TileParams) -> int:
    """Words of FAULT_MASK / FAULT_LEVEL (32 devices each)."""
    return (p.cols * p.devices_per_weight + 31) // 32


def fault_lane_words(p: TileParams) -> int:
    return (p.rows + 31) // 32


def fault_col_words(p: TileParams) -> int:
    return (p.cols + 31) // 32


def _bits(words, count: int) -> np.ndarray:
    from .faults import bits_of_words
    return bits_of_words(words, count)


def _mask_word(result, word: int) -> int:
    if result is None:
        return 0
    bits = np.asarray(result.fail_mask, dtype=bool)[32 * word:32 * word + 32]
    return int(sum(1 << j for j, b in enumerate(bits) if b))


class RegisterFile:
    """Golden model of the CSR block: legality rules, responses and error flags.

    ``write`` returns the AXI response (OKAY or SLVERR) and updates ``error`` exactly as
    docs/spec.md section 8 says; an illegal write leaves every register unchanged. Decoding,
    field legality and read-back come from ``TILE_MAP``.
    """

    def __init__(self, params: TileParams):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self.p = params
        self.map = TILE_MAP.resolve(params)
        # the fault memory (FAULT_MASK, FAULT_LEVEL words of every row): non-volatile, a reset
        # keeps it (the faults are the devices')
        self.fault_mask = np.zeros((params.rows, fault_device_words(params)), dtype=np.int64)
        self.fault_level = np.zeros_like(self.fault_mask)
        self.reset()

    def reset(self):
        p = self.p
        #: contents of the single RW registers, by field name
        self.values = {f.name: f.reset for r, f in self.map.fields()
                       if r.access == "RW" and r.count is None}
        self.gain = np.full(p.cols, self.map["GAIN"].fields[0].reset, dtype=np.int64)
        self.offset = np.zeros(p.cols, dtype=np.int64)
        self.error = 0
        self.mvm_count = 0
        self.last_latency = 0
        self.prog_last = None           # RowResult of the last completed row
        self.prog_bad_target = False
        self.prog_rows = 0
        self.prog_rows_converged = 0
        self.cal_reference = False      # a REFERENCE has completed since reset
        self.cal_skipped = 0
        self.cal_clipped = 0
        self.cal_started = None         # (op, scope) of the last accepted CAL_CMD write
        self.cal_dead = np.zeros(p.cols, dtype=bool)    # CAL_DEAD_MASK
        self.fault_lanes = np.zeros(fault_lane_words(p), dtype=np.int64)   # FAULT_LANES words
        self.fault_cols = np.zeros(fault_col_words(p), dtype=np.int64)     # FAULT_COLS words

    # -- named views of the stored fields ---------------------------------------------------
    @property
    def cal_input(self) -> int:
        return self.values["cal_input"]

    @property
    def prog(self) -> ProgramConfig:
        return ProgramConfig(**{f: self.values[reg.lower()] for reg, f in PROG_FIELDS.items()})

    def _flag(self, bit: ErrorBit):
        self.error |= 1 << int(bit)
        return SLVERR

    def _rule_holds(self, rule: str, fields: dict[str, int]) -> bool:
        if rule == "reference_held":
            return fields["cal_op"] != CalOp.COMPENSATE or self.cal_reference
        raise ValueError(f"unknown register rule {rule!r}")

    def write(self, address: int, data: int, strobe: int = 0xF, busy: bool = False) -> int:
        _check_int("address", address, 0, (1 << 32) - 1)
        _word_check("data", data)
        _check_int("strobe", strobe, 0, 0xF)
        decoded = self.map.decode(address)
        if decoded is None or strobe != 0xF:
            return self._flag(ErrorBit.BAD_ADDRESS)
        reg, index = decoded
        if reg.access == "RW1C":                    # ERROR
            self.error &= ~data
            return OKAY
        if reg.access == "RO":
            return self._flag(ErrorBit.BAD_ADDRESS)
        if reg.config and busy:
            return self._flag(ErrorBit.BUSY_WRITE)
        fields = reg.unpack(data)
        if reg.check(data) is not None or (reg.rule and not self._rule_holds(reg.rule, fields)):
            return self._flag(ErrorBit.BAD_VALUE)
        if reg.name == "GAIN":
            self.gain[index] = fields["gain"]
        elif reg.name == "OFFSET":
            self.offset[index] = fields["offset"]
        elif reg.name == "FAULT_MASK":
            self.fault_mask[self.values["fault_row"], index] = data
        elif reg.name == "FAULT_LEVEL":
            self.fault_level[self.values["fault_row"], index] = data
        elif reg.name == "FAULT_LANES":
            self.fault_lanes[index] = data
        elif reg.name == "FAULT_COLS":
            self.fault_cols[index] = data
        else:
            self.values.update(fields)
        if reg.name == "CAL_CMD":
            self.cal_started = (CalOp(fields["cal_op"]), CalScope(fields["cal_scope"]))
        return OKAY

    def _status(self, busy, phase, busy_prog, busy_cal) -> dict[str, int]:
        """Values of the read-only fields that are not constants."""
        last = self.prog_last
        status = {
            "busy": int(busy), "phase": int(phase),
            "mvm_count": self.mvm_count & 0xFFFFFFFF,
            "last_latency": self.last_latency & 0xFFFFFFFF,
            "prog_busy": int(busy_prog),
            "prog_converged": int(last.converged) if last else 0,
            "prog_bad_target": int(self.prog_bad_target),
            "prog_iter_msp": int(last.iterations[0]) if last else 0,
            "prog_iter_lsp": int(last.iterations[1]) if last else 0,
            "prog_iter_total": int(last.total_iterations) if last else 0,
            "prog_fail_count": last.fail_count if last else 0,
            "prog_rows": self.prog_rows & 0xFFFF,
            "prog_rows_converged": self.prog_rows_converged & 0xFFFF,
            "cal_busy": int(phase == Phase.CALIBRATE or busy_cal),
            "cal_reference_valid": int(self.cal_reference),
            "cal_skipped": self.cal_skipped,
            "cal_clipped": self.cal_clipped,
            "cal_dead_count": int(np.count_nonzero(self.cal_dead)),
        }
        for f in ERROR_FIELDS:
            status[f.name] = self.error >> f.lsb & 1
        return status

    def read(self, address: int, busy: bool = False, phase: Phase = Phase.IDLE,
             busy_prog: bool = False, busy_cal: bool = False) -> tuple[int, int]:
        """(data, response) of a read; unmapped addresses read 0 with SLVERR."""
        _check_int("address", address, 0, (1 << 32) - 1)
        phase = check_enum("phase", phase, Phase)
        decoded = self.map.decode(address)
        if decoded is None:
            self._flag(ErrorBit.BAD_ADDRESS)
            return 0, SLVERR
        reg, index = decoded
        if reg.const:
            return reg.reset_word(), OKAY
        if reg.name == "GAIN":
            return reg.pack({"gain": int(self.gain[index])}), OKAY
        if reg.name == "OFFSET":
            return reg.pack({"offset": int(self.offset[index])}), OKAY
        if reg.name == "PROG_FAIL_MASK":
            return _mask_word(self.prog_last, index), OKAY
        if reg.name == "FAULT_MASK":
            return int(self.fault_mask[self.values["fault_row"], index]), OKAY
        if reg.name == "FAULT_LEVEL":
            return int(self.fault_level[self.values["fault_row"], index]), OKAY
        if reg.name == "FAULT_LANES":
            return int(self.fault_lanes[index]), OKAY
        if reg.name == "FAULT_COLS":
            return int(self.fault_cols[index]), OKAY
        if reg.name == "CAL_DEAD_MASK":
            from .faults import mask_words
            return int(mask_words(self.cal_dead)[index]), OKAY
        if reg.access == "RW":
            return reg.pack(self.values), OKAY
        return reg.pack(self._status(busy, phase, busy_prog, busy_cal)), OKAY

    def _load(self, wanted: list[tuple[int, int, int | None]]) -> list[tuple[int, int]]:
        """Writes of (address, data) for the entries whose present word differs."""
        writes = []
        for address, data, present in wanted:
            if present != data:
                writes.append((address, data))
                if self.write(address, data) != OKAY:
                    raise RuntimeError(f"the register model refused its own write "
                                       f"{address:#x} <- {data:#x}")
        return writes

    def load_program(self, config: ProgramConfig) -> list[tuple[int, int]]:
        """Writes that set the programming registers to ``config`` (skipping equal ones); the
        model's registers are updated as if they had been made."""
        config.validate(self.p)
        return self._load([(REGISTERS[reg].address, getattr(config, f), self.values[reg.lower()])
                           for reg, f in PROG_FIELDS.items()])

    def programmed(self, result: RowResult | None) -> None:
        """Record a programming command's outcome: a row's ``RowResult``, or None for a command
        rejected for an illegal target (``BAD_TARGET``)."""
        if result is None:
            self.prog_bad_target = True
            self._flag(ErrorBit.BAD_TARGET)
            return
        self.prog_bad_target = False
        self.prog_last = result
        self.prog_rows += 1
        self.prog_rows_converged += int(result.converged)
        if not result.converged:
            self._flag(ErrorBit.PROG_FAIL)

    def cal_input_word(self) -> int:
        """CAL_INPUT as a word of the present CTRL.input_mode (two's complement in SIGNED)."""
        v = self.cal_input
        if self.config().input_mode == InputMode.SIGNED and v >> (self.p.in_bits - 1):
            v -= 1 << self.p.in_bits
        return v

    def calibrated(self, result: CalResult) -> None:
        """Record a calibration command's outcome (the gains it wrote and its counters)."""
        if self.values["cal_op"] == CalOp.REFERENCE:
            self.cal_reference = True
        self.cal_skipped, self.cal_clipped = result.skipped, result.clipped
        self.gain = np.asarray(result.gain, dtype=np.int64).copy()
        self.cal_dead = np.asarray(result.dead, dtype=bool).copy()
        if result.cap_sat:
            self._flag(ErrorBit.CAP_SAT)
        if self.cal_dead.any():
            self._flag(ErrorBit.CAL_DEAD)
        self.mvm_count += 1
        self.cal_started = None

    def config(self) -> TileConfig:
        """The run-time configuration these register contents select."""
        v = self.values
        lanes = _bits(self.fault_lanes, self.p.rows)
        cols = _bits(self.fault_cols, self.p.cols)
        return TileConfig(
            input_mode=InputMode(v["input_mode"]),
            input_source=InputSource(v["input_source"]),
            activation=Activation(v["activation"]),
            ramp_shift=v["ramp_shift"], en_lo=v["en_lo"], en_hi=v["en_lo"] + v["en_span"],
            gain=self.gain.copy(), offset=self.offset.copy(),
            noise_seed=v["noise_seed"], noise_sigma=v["noise_sigma"],
            dead_lanes=lanes if lanes.any() else None,
            dead_cols=cols if cols.any() else None)

    def faults(self):
        """The ``golden.faults.FaultMap`` the fault registers hold: the stuck devices of the
        fault memory and the dead lanes and columns of FAULT_LANES / FAULT_COLS; None on a tile
        without fault injection (``TileParams.fault_injection``)."""
        from .faults import FaultMap, Stuck
        p = self.p
        if not p.fault_injection:
            return None
        n = p.cols * p.devices_per_weight
        stuck = np.zeros((p.rows, n), dtype=np.int8)
        for r in np.flatnonzero(self.fault_mask.any(axis=1)):
            mask = _bits(self.fault_mask[r], n)
            level = _bits(self.fault_level[r], n)
            stuck[r] = np.where(mask, np.where(level, Stuck.FULL, Stuck.ZERO), Stuck.NONE)
        return FaultMap(p, stuck.reshape(p.rows, p.cols, p.devices_per_weight),
                        _bits(self.fault_lanes, p.rows), _bits(self.fault_cols, p.cols))

    def load_faults(self, faults) -> list[tuple[int, int]]:
        """Writes that make the fault registers hold ``faults`` (a ``golden.faults.FaultMap``):
        FAULT_ROW then the FAULT_MASK / FAULT_LEVEL words of every row whose words differ, and
        FAULT_LANES / FAULT_COLS; the model is updated as if they had been made. Bits of the
        last words beyond the devices (lanes, columns) are written 0."""
        from .faults import FaultMap
        if not isinstance(faults, FaultMap):
            raise TypeError(f"faults must be a FaultMap, not {faults!r}")
        if faults.params != self.p:
            raise ValueError(f"faults were made for {faults.params}, not {self.p}")
        m = self.map    # a FaultMap exists only for a tile with fault injection
        writes = []
        for r in range(self.p.rows):
            mask, level = faults.row_words(r)
            if np.array_equal(mask, self.fault_mask[r]) and \
                    np.array_equal(level, self.fault_level[r]):
                continue
            wanted = [(m.address("FAULT_ROW"), r, self.values["fault_row"])]
            for name, words, present in (("FAULT_MASK", mask, self.fault_mask[r]),
                                         ("FAULT_LEVEL", level, self.fault_level[r])):
                wanted += [(m.address(name, i), int(words[i]), int(present[i]))
                           for i in range(len(words))]
            writes += self._load(wanted)
        wanted = [(m.address("FAULT_LANES", i), int(w), int(self.fault_lanes[i]))
                  for i, w in enumerate(faults.lane_words())]
        wanted += [(m.address("FAULT_COLS", i), int(w), int(self.fault_cols[i]))
                   for i, w in enumerate(faults.col_words())]
        return writes + self._load(wanted)

    def load(self, config: TileConfig) -> list[tuple[int, int]]:
        """Writes that take the registers from their present contents to ``config``.

        The model's registers are updated as if the writes had been made; registers that
        already hold the wanted value are skipped.
        """
        if not isinstance(config, TileConfig):
            raise TypeError(f"config must be a TileConfig, not {config!r}")
        cfg = config.resolved(self.p)
        m, v, p = self.map, self.values, self.p
        wanted = [
            (m.address("CTRL"), pack_ctrl(cfg.input_mode, cfg.input_source, cfg.activation),
             m["CTRL"].pack(v)),
            (m.address("RAMP_SHIFT"), cfg.ramp_shift, v["ramp_shift"]),
            (m.address("EN_WINDOW"), pack_en_window(cfg.en_lo, cfg.en_hi),
             m["EN_WINDOW"].pack(v)),
            (m.address("NOISE_SEED"), cfg.noise_seed, v["noise_seed"]),
            (m.address("NOISE_SIGMA"), cfg.noise_sigma, v["noise_sigma"]),
        ]
        gain, offset = m["GAIN"], m["OFFSET"]
        for c in np.flatnonzero(cfg.gain != self.gain):
            wanted.append((gain_address(int(c)), gain.pack({"gain": int(cfg.gain[c])}), None))
        for c in np.flatnonzero(cfg.offset != self.offset):
            wanted.append((offset_address(int(c)),
                           offset.pack({"offset": int(cfg.offset[c])}), None))
        from .faults import mask_words
        faulty = (("FAULT_LANES", cfg.dead_lanes, self.fault_lanes, p.rows),
                  ("FAULT_COLS", cfg.dead_cols, self.fault_cols, p.cols))
        # without fault injection there are no such registers (and no dead lanes or columns)
        for name, dead, present, n in faulty if p.fault_injection else ():
            words = mask_words(np.zeros(n, dtype=bool) if dead is None else dead)
            wanted += [(m.address(name, i), int(w), int(present[i]))
                       for i, w in enumerate(words)]
        return self._load(wanted)


def main(argv=None) -> int:
    """Print the tile's register table (the one in docs/spec.md section 8)."""
    return print_table(TILE_MAP, "python -m golden.regs", main.__doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
