"""The tile's register map as data, and a golden model of the register file's behaviour.

Both the RTL (``hdl.csr``) and the testbenches take addresses and legality rules from here
(docs/spec.md section 8), so a register's address and rules exist in one place.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibration import CAL_CMD_WIDTH, CalOp, CalResult, CalScope
from .program import ProgramConfig, RowResult
from .spec import (ERROR_BITS, Activation, ErrorBit, InputMode, InputSource, Phase, TileConfig,
                   TileParams)

__all__ = ["Register", "REGISTERS", "GAIN_BASE", "OFFSET_BASE", "ID_VALUE", "OKAY", "SLVERR",
           "RegisterFile", "ADDR_BITS", "pack_ctrl", "pack_en_window", "gain_address",
           "offset_address", "ro_values", "CTRL_INPUT_MODE", "CTRL_INPUT_SOURCE",
           "CTRL_ACTIVATION", "CTRL_WIDTH", "NOISE_SIGMA_BITS", "FAIL_MASK_BASE", "PROG_FIELDS",
           "fail_mask_words", "fail_mask_address"]

ID_VALUE = 0x50434D31   # "PCM1"
GAIN_BASE = 0x4000
OFFSET_BASE = 0x8000
FAIL_MASK_BASE = 0xC000     #: PROG_FAIL_MASK[k]: columns 32k .. 32k + 31 of the last row
ADDR_BITS = 16
OKAY, SLVERR = 0, 2


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    access: str   # "RO", "RW", "RW1C"


REGISTERS = {r.name: r for r in (
    Register("ID", 0x0000, "RO"),
    Register("GEOMETRY", 0x0004, "RO"),
    Register("FORMAT", 0x0008, "RO"),
    Register("CHARGE", 0x000C, "RO"),
    Register("CTRL", 0x0010, "RW"),
    Register("RAMP_SHIFT", 0x0014, "RW"),
    Register("EN_WINDOW", 0x0018, "RW"),
    Register("STATUS", 0x001C, "RO"),
    Register("ERROR", 0x0020, "RW1C"),
    Register("MVM_COUNT", 0x0024, "RO"),
    Register("LAST_LATENCY", 0x0028, "RO"),
    Register("NOISE_SEED", 0x002C, "RW"),
    Register("NOISE_SIGMA", 0x0030, "RW"),
    Register("PROG_SEED", 0x0034, "RW"),
    Register("PROG_TOL", 0x0038, "RW"),
    Register("PROG_GAIN", 0x003C, "RW"),
    Register("PROG_NOISE", 0x0040, "RW"),
    Register("PROG_MAX_ITER", 0x0044, "RW"),
    Register("PROG_STATUS", 0x0048, "RO"),
    Register("PROG_ITER", 0x004C, "RO"),
    Register("PROG_FAILS", 0x0050, "RO"),
    Register("PROG_ROWS", 0x0054, "RO"),
    Register("CAL_INPUT", 0x0058, "RW"),
    Register("CAL_CMD", 0x005C, "RW"),
    Register("CAL_STATUS", 0x0060, "RO"),
    Register("CAL_SKIPPED", 0x0064, "RO"),
    Register("CAL_CLIPPED", 0x0068, "RO"),
)}

#: Programming configuration registers -> ProgramConfig fields.
PROG_FIELDS = {"PROG_SEED": "seed", "PROG_TOL": "tol", "PROG_GAIN": "pulse_gain",
               "PROG_NOISE": "noise_scale", "PROG_MAX_ITER": "max_iter"}

#: Width of NOISE_SIGMA (golden.noise); wider values are illegal.
NOISE_SIGMA_BITS = 16

# CTRL fields: (lsb, width)
CTRL_INPUT_MODE = (0, 1)
CTRL_INPUT_SOURCE = (1, 1)
CTRL_ACTIVATION = (2, 3)
CTRL_WIDTH = 5


def pack_ctrl(input_mode, input_source, activation) -> int:
    return (int(input_mode) << CTRL_INPUT_MODE[0] | int(input_source) << CTRL_INPUT_SOURCE[0]
            | int(activation) << CTRL_ACTIVATION[0])


def pack_en_window(lo: int, hi: int) -> int:
    return (lo & 0xFFFF) | (hi & 0xFFFF) << 16


def _s16(v):
    return v - (1 << 16) if v & 0x8000 else v


def _s32(v):
    return v - (1 << 32) if v & 0x80000000 else v


def ro_values(p: TileParams) -> dict[str, int]:
    return {
        "ID": ID_VALUE,
        "GEOMETRY": p.rows | p.cols << 16,
        "FORMAT": (p.in_bits | p.out_bits << 8 | p.code_bits << 16
                   | p.devices_per_weight << 24 | p.f_factor << 28),
        "CHARGE": p.charge_bits | p.gain_bits << 8 | p.gain_frac_bits << 16,
    }


def fail_mask_words(p: TileParams) -> int:
    """Number of PROG_FAIL_MASK words (32 columns each)."""
    return (p.cols + 31) // 32


def fail_mask_address(word: int) -> int:
    return FAIL_MASK_BASE + 4 * word


def _mask_word(result, word: int) -> int:
    if result is None:
        return 0
    bits = np.asarray(result.fail_mask, dtype=bool)[32 * word:32 * word + 32]
    return int(sum(1 << j for j, b in enumerate(bits) if b))


def gain_address(col: int) -> int:
    return GAIN_BASE + 4 * col


def offset_address(col: int) -> int:
    return OFFSET_BASE + 4 * col


class RegisterFile:
    """Golden model of the CSR block: legality rules, responses and error flags.

    ``write`` returns the AXI response (OKAY or SLVERR) and updates ``error`` exactly as
    docs/spec.md section 8 says; an illegal write leaves every register unchanged.
    """

    def __init__(self, params: TileParams):
        self.p = params
        self.reset()

    def reset(self):
        p = self.p
        self.ctrl = 0
        self.ramp_shift = 0
        self.en_lo, self.en_hi = 0, p.out_max
        self.gain = np.full(p.cols, p.gain_one, dtype=np.int64)
        self.offset = np.zeros(p.cols, dtype=np.int64)
        self.error = 0
        self.mvm_count = 0
        self.last_latency = 0
        self.noise_seed = 0
        self.noise_sigma = 0
        self.prog = ProgramConfig()
        self.prog_busy = False
        self.prog_last = None           # RowResult of the last completed row
        self.prog_bad_target = False
        self.prog_rows = 0
        self.prog_rows_converged = 0
        self.cal_input = p.cal_input_default
        self.cal_cmd = 0
        self.cal_reference = False      # a REFERENCE has completed since reset
        self.cal_skipped = 0
        self.cal_clipped = 0
        self.cal_started = None         # (op, scope) of the last accepted CAL_CMD write

    def _flag(self, bit: ErrorBit):
        self.error |= 1 << int(bit)
        return SLVERR

    def _decode(self, address):
        """(kind, index) of an address, or None if unmapped."""
        p = self.p
        if address % 4 or not 0 <= address < (1 << ADDR_BITS):
            return None
        for reg in REGISTERS.values():
            if reg.address == address:
                return reg.name, None
        if GAIN_BASE <= address < GAIN_BASE + 4 * p.cols:
            return "GAIN", (address - GAIN_BASE) // 4
        if OFFSET_BASE <= address < OFFSET_BASE + 4 * p.cols:
            return "OFFSET", (address - OFFSET_BASE) // 4
        if FAIL_MASK_BASE <= address < FAIL_MASK_BASE + 4 * fail_mask_words(p):
            return "PROG_FAIL_MASK", (address - FAIL_MASK_BASE) // 4
        return None

    def write(self, address: int, data: int, strobe: int = 0xF, busy: bool = False) -> int:
        p = self.p
        if not 0 <= data < (1 << 32):
            raise ValueError(f"CSR write data must be a 32-bit unsigned value, not {data!r}")
        decoded = self._decode(address)
        if decoded is None or strobe != 0xF:
            return self._flag(ErrorBit.BAD_ADDRESS)
        name, index = decoded
        if name == "ERROR":
            self.error &= ~data
            return OKAY
        if name == "PROG_FAIL_MASK" or (name in REGISTERS and REGISTERS[name].access == "RO"):
            return self._flag(ErrorBit.BAD_ADDRESS)
        if name in PROG_FIELDS:
            # the programmer samples these when it accepts a command: writable at any time
            field = PROG_FIELDS[name]
            try:
                cfg = ProgramConfig(**{**self.prog.__dict__, field: data}).validate(p)
            except ValueError:
                return self._flag(ErrorBit.BAD_VALUE)
            self.prog = cfg
            return OKAY
        if busy:
            return self._flag(ErrorBit.BUSY_WRITE)
        if name == "CTRL":
            act = (data >> CTRL_ACTIVATION[0]) & ((1 << CTRL_ACTIVATION[1]) - 1)
            if data >> CTRL_WIDTH or act > max(Activation):
                return self._flag(ErrorBit.BAD_VALUE)
            self.ctrl = data
        elif name == "RAMP_SHIFT":
            if data > p.ramp_shift_max:
                return self._flag(ErrorBit.BAD_VALUE)
            self.ramp_shift = data
        elif name == "EN_WINDOW":
            lo, hi = _s16(data & 0xFFFF), _s16(data >> 16)
            if not lo <= hi <= lo + p.out_max:
                return self._flag(ErrorBit.BAD_VALUE)
            self.en_lo, self.en_hi = lo, hi
        elif name == "CAL_INPUT":
            if data >> p.in_bits:
                return self._flag(ErrorBit.BAD_VALUE)
            self.cal_input = data
        elif name == "CAL_CMD":
            if data >> CAL_CMD_WIDTH or (data & 1 == CalOp.COMPENSATE and not self.cal_reference):
                return self._flag(ErrorBit.BAD_VALUE)
            self.cal_cmd = data
            self.cal_started = (CalOp(data & 1), CalScope(data >> 1 & 1))
        elif name == "NOISE_SEED":
            self.noise_seed = data
        elif name == "NOISE_SIGMA":
            if data >> NOISE_SIGMA_BITS:
                return self._flag(ErrorBit.BAD_VALUE)
            self.noise_sigma = data
        elif name == "GAIN":
            if data >= 1 << p.gain_bits:
                return self._flag(ErrorBit.BAD_VALUE)
            self.gain[index] = data
        elif name == "OFFSET":
            value = _s32(data)
            if not -(1 << p.out_bits) <= value < (1 << p.out_bits):
                return self._flag(ErrorBit.BAD_VALUE)
            self.offset[index] = value
        return OKAY

    def read(self, address: int, busy: bool = False, phase: Phase = Phase.IDLE,
             busy_prog: bool = False, busy_cal: bool = False) -> tuple[int, int]:
        """(data, response) of a read; unmapped addresses read 0 with SLVERR."""
        last = self.prog_last
        decoded = self._decode(address)
        if decoded is None:
            self._flag(ErrorBit.BAD_ADDRESS)
            return 0, SLVERR
        name, index = decoded
        ro = ro_values(self.p)
        if name in ro:
            return ro[name], OKAY
        value = {
            "CTRL": lambda: self.ctrl,
            "RAMP_SHIFT": lambda: self.ramp_shift,
            "EN_WINDOW": lambda: pack_en_window(self.en_lo, self.en_hi),
            "STATUS": lambda: int(busy) | int(phase) << 1,
            "ERROR": lambda: self.error,
            "MVM_COUNT": lambda: self.mvm_count & 0xFFFFFFFF,
            "LAST_LATENCY": lambda: self.last_latency & 0xFFFFFFFF,
            "NOISE_SEED": lambda: self.noise_seed,
            "NOISE_SIGMA": lambda: self.noise_sigma,
            **{reg: (lambda f=f: getattr(self.prog, f)) for reg, f in PROG_FIELDS.items()},
            "PROG_STATUS": lambda: (int(busy_prog) | int(last.converged if last else 0) << 1
                                    | int(self.prog_bad_target) << 2),
            "PROG_ITER": lambda: (0 if last is None else int(last.iterations[0])
                                  | int(last.iterations[1]) << 8
                                  | int(last.total_iterations) << 16),
            "PROG_FAILS": lambda: 0 if last is None else last.fail_count,
            "PROG_ROWS": lambda: (self.prog_rows & 0xFFFF) | (self.prog_rows_converged & 0xFFFF) << 16,
            "PROG_FAIL_MASK": lambda: _mask_word(last, index),
            "CAL_INPUT": lambda: self.cal_input,
            "CAL_CMD": lambda: self.cal_cmd,
            "CAL_STATUS": lambda: int(phase == Phase.CALIBRATE or busy_cal)
                                  | int(self.cal_reference) << 1,
            "CAL_SKIPPED": lambda: self.cal_skipped,
            "CAL_CLIPPED": lambda: self.cal_clipped,
            "GAIN": lambda: int(self.gain[index]),
            "OFFSET": lambda: int(self.offset[index]) & 0xFFFFFFFF,
        }[name]()
        return value, OKAY

    def load_program(self, config: ProgramConfig) -> list[tuple[int, int]]:
        """Writes that set the programming registers to ``config`` (skipping equal ones); the
        model's registers are updated as if they had been made."""
        config.validate(self.p)
        writes = []
        for reg, field in PROG_FIELDS.items():
            data = getattr(config, field)
            if getattr(self.prog, field) != data:
                writes.append((REGISTERS[reg].address, data))
                assert self.write(REGISTERS[reg].address, data) == OKAY
        return writes

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
        op = CalOp(self.cal_cmd & 1)
        if op == CalOp.REFERENCE:
            self.cal_reference = True
        self.cal_skipped, self.cal_clipped = result.skipped, result.clipped
        self.gain = np.asarray(result.gain, dtype=np.int64).copy()
        if result.cap_sat:
            self._flag(ErrorBit.CAP_SAT)
        self.mvm_count += 1
        self.cal_started = None

    def config(self) -> TileConfig:
        """The run-time configuration these register contents select."""
        ctrl = self.ctrl
        return TileConfig(
            input_mode=InputMode(ctrl >> CTRL_INPUT_MODE[0] & 1),
            input_source=InputSource(ctrl >> CTRL_INPUT_SOURCE[0] & 1),
            activation=Activation(ctrl >> CTRL_ACTIVATION[0] & 7),
            ramp_shift=self.ramp_shift, en_lo=self.en_lo, en_hi=self.en_hi,
            gain=self.gain.copy(), offset=self.offset.copy(),
            noise_seed=self.noise_seed, noise_sigma=self.noise_sigma)

    def load(self, config: TileConfig) -> list[tuple[int, int]]:
        """Writes that take the registers from their present contents to ``config``.

        The model's registers are updated as if the writes had been made; registers that
        already hold the wanted value are skipped.
        """
        cfg = config.resolved(self.p)
        writes = []
        wanted = [
            (REGISTERS["CTRL"].address, self.ctrl,
             pack_ctrl(cfg.input_mode, cfg.input_source, cfg.activation)),
            (REGISTERS["RAMP_SHIFT"].address, self.ramp_shift, cfg.ramp_shift),
            (REGISTERS["EN_WINDOW"].address, pack_en_window(self.en_lo, self.en_hi),
             pack_en_window(cfg.en_lo, cfg.en_hi)),
            (REGISTERS["NOISE_SEED"].address, self.noise_seed, cfg.noise_seed),
            (REGISTERS["NOISE_SIGMA"].address, self.noise_sigma, cfg.noise_sigma),
        ]
        for c in np.flatnonzero(cfg.gain != self.gain):
            wanted.append((gain_address(int(c)), None, int(cfg.gain[c])))
        for c in np.flatnonzero(cfg.offset != self.offset):
            wanted.append((offset_address(int(c)), None, int(cfg.offset[c]) & 0xFFFFFFFF))
        for address, present, data in wanted:
            if present != data:
                writes.append((address, data))
                assert self.write(address, data) == OKAY
        return writes
