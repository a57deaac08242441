"""golden.calibration: the conductance read, the gain formula, cycles, registers, bad input.

Expected values are worked by hand from docs/spec.md section 10, not taken from the code.
"""
import numpy as np
import pytest

from golden.calibration import (CalOp, CalReference, CalScope, Calibrator, calibration_cycles,
                                calibration_phases, compensated_gains, conductance_read,
                                conductance_weights, pack_cal_cmd, walk_cycles)
from golden.regs import OKAY, REGISTERS, SLVERR, RegisterFile
from golden.spec import ErrorBit, InputMode, Phase, TileConfig, TileParams

P4 = TileParams(rows=2, cols=3, in_bits=4, out_bits=4, code_bits=3, f_factor=3, charge_bits=12)
P2 = TileParams(rows=2, cols=2, in_bits=4, out_bits=4, code_bits=3, devices_per_weight=2,
                charge_bits=12)


def test_conductance_weights_sum_every_device():
    codes = np.zeros((2, 3, 4), dtype=np.int64)
    codes[0, 0] = (1, 2, 3, 4)          # gp, gm, lp, lm
    codes[1, 2] = (7, 0, 0, 7)
    w = conductance_weights(codes, P4)
    assert w[0, 0] == 3 * (1 + 2) + (3 + 4)
    assert w[1, 2] == 3 * 7 + 7
    assert np.count_nonzero(w) == 2
    codes2 = np.array([[[5, 2], [0, 0]], [[1, 1], [7, 7]]])
    assert conductance_weights(codes2, P2).tolist() == [[7, 0], [2, 14]]


def test_conductance_read_signed_input_and_clamp():
    codes = np.full((2, 3, 4), 7, dtype=np.int64)            # every cell 3*14 + 14 = 56
    cfg = TileConfig(input_mode=InputMode.SIGNED)
    raw, sat, cap = conductance_read(codes, -3, cfg, P4)
    assert raw.tolist() == [-3 * 56 * 2] * 3 and not cap
    raw, sat, cap = conductance_read(codes, 7, TileConfig(), P4)
    assert raw.tolist() == [7 * 56 * 2] * 3                  # 784 < charge_max 2047
    big = TileParams(rows=64, cols=1, in_bits=4, code_bits=3, f_factor=3, charge_bits=12)
    raw, sat, cap = conductance_read(np.full((64, 1, 4), 7), 15, TileConfig(), big)
    assert raw[0] == 15 * 56 * 64 and sat[0] == big.charge_max and cap


def test_per_column_gain_rounds_half_up_and_skips():
    p = TileParams(rows=1, cols=7, charge_bits=12, gain_bits=8, gain_frac_bits=7)
    cmax = p.charge_max
    ref = CalReference(gain=np.array([128, 3, 100, 100, 100, 100, 200]),
                       charge=np.array([1000, 1, 0, 50, cmax, -40, 300]))
    now = np.array([800, 2, 10, 0, 100, 20, 100])
    gain, skipped, clipped = compensated_gains(ref, now, CalScope.PER_COLUMN, p)
    # 128*1000/800 = 160; 3*1/2 = 1.5 -> 2 (half up); r = 0, q = 0, r saturated and a sign
    # change keep g0; 200*300/100 = 600 -> 255 (clipped)
    assert gain.tolist() == [160, 2, 100, 100, 100, 100, 255]
    assert (skipped, clipped) == (4, 1)
    # below half rounds down: 3 * 1 / 4 = 0.75 -> 1, 1 * 1 / 3 = 0.33 -> 0
    ref = CalReference(gain=np.array([3, 1]), charge=np.array([1, 1]))
    p2 = TileParams(rows=1, cols=2, charge_bits=12)
    assert compensated_gains(ref, np.array([4, 3]), CalScope.PER_COLUMN, p2)[0].tolist() == [1, 0]


def test_global_gain_uses_sums_of_magnitudes():
    p = TileParams(rows=1, cols=3, charge_bits=12)
    ref = CalReference(gain=np.array([100, 64, 7]), charge=np.array([300, -100, 0]))
    now = np.array([150, -40, 10])          # sum|r| = 400, sum|q| = 200: alpha = 2
    gain, skipped, clipped = compensated_gains(ref, now, CalScope.GLOBAL, p)
    assert gain.tolist() == [200, 128, 14] and (skipped, clipped) == (0, 0)
    gain, skipped, _ = compensated_gains(ref, np.zeros(3, dtype=np.int64), CalScope.GLOBAL, p)
    assert gain.tolist() == [100, 64, 7] and skipped == 3


def test_halved_codes_double_the_gain_exactly():
    rng = np.random.default_rng(5)
    p = TileParams(rows=16, cols=8, code_bits=6, charge_bits=20)
    codes = 2 * rng.integers(1, 32, size=(16, 8, 4))
    cal = Calibrator(p)
    cfg = TileConfig(gain=np.full(8, 50))
    cal.run(CalOp.REFERENCE, CalScope.PER_COLUMN, codes, cfg, 3)
    res = cal.run(CalOp.COMPENSATE, CalScope.PER_COLUMN, codes // 2, cfg, 3)
    assert res.gain.tolist() == [100] * 8 and res.skipped == res.clipped == 0
    # compensating twice does not compound: the reference gains are the base
    res = cal.run(CalOp.COMPENSATE, CalScope.GLOBAL, codes // 2, TileConfig(gain=res.gain), 3)
    assert res.gain.tolist() == [100] * 8


def test_cycles_and_phases():
    p = TileParams(rows=5, cols=4, in_bits=3, gain_bits=6, gain_frac_bits=4, eval_rows=1)
    grouped = TileParams(rows=5, cols=4, in_bits=3, gain_bits=6, gain_frac_bits=4, eval_rows=4)
    # EVALUATE of ceil(5 / 4) + 1 = 3 cycles instead of 6
    assert calibration_cycles(grouped, TileConfig(), CalOp.REFERENCE) == 16 - 3 + 4
    # UNSIGNED: D = 7; load 1 + integrate 8 + evaluate 6 + done 1 = 16
    assert calibration_cycles(p, TileConfig(), CalOp.REFERENCE) == 16 + 4
    assert calibration_cycles(p, TileConfig(), CalOp.COMPENSATE) == 16 + 4 * 9
    assert calibration_cycles(p, TileConfig(), CalOp.COMPENSATE, CalScope.GLOBAL) == 16 + 5 + 36
    signed = TileConfig(input_mode=InputMode.SIGNED)            # D = 4
    assert calibration_cycles(p, signed, CalOp.REFERENCE) == 13 + 4
    assert walk_cycles(p, CalOp.COMPENSATE, CalScope.GLOBAL) == 41
    phases = calibration_phases(p, signed, CalOp.REFERENCE)
    assert phases == [(Phase.CALIBRATE, 1), (Phase.INTEGRATE, 5), (Phase.EVALUATE, 6),
                      (Phase.CALIBRATE, 5)]
    assert sum(n for _, n in phases) == calibration_cycles(p, signed, CalOp.REFERENCE)


def test_registers_rules():
    p = P4
    regs = RegisterFile(p)
    cmd, inp = REGISTERS["CAL_CMD"].address, REGISTERS["CAL_INPUT"].address
    assert regs.read(inp)[0] == p.cal_input_default
    # COMPENSATE before a reference, reserved bits, a too wide CAL_INPUT: BAD_VALUE
    assert regs.write(cmd, pack_cal_cmd(CalOp.COMPENSATE)) == SLVERR
    assert regs.write(cmd, 4) == SLVERR
    assert regs.write(inp, 1 << p.in_bits) == SLVERR
    assert regs.error == 1 << ErrorBit.BAD_VALUE and regs.cal_started is None
    # while busy: BUSY_WRITE, even for a legal command
    assert regs.write(cmd, pack_cal_cmd(CalOp.REFERENCE), busy=True) == SLVERR
    assert regs.error >> ErrorBit.BUSY_WRITE & 1
    assert regs.write(inp, 0xF) == OKAY and regs.cal_input == 15
    assert regs.write(cmd, pack_cal_cmd(CalOp.REFERENCE, CalScope.GLOBAL)) == OKAY
    assert regs.cal_started == (CalOp.REFERENCE, CalScope.GLOBAL)
    assert regs.read(cmd)[0] == 2
    # CAL_INPUT is read in CTRL.input_mode: 0xF is -1 in SIGNED
    assert regs.cal_input_word() == 15
    regs.write(REGISTERS["CTRL"].address, 1)
    assert regs.cal_input_word() == -1


#: capacitors too small for one conductance read at word 1 (rows * 2 * weight_max > charge_max)
TINY_CAPACITORS = [
    TileParams(rows=4096, cols=1, charge_bits=12),               # 4096 * 2 * 510 > 2047
    TileParams(rows=1, cols=1, in_bits=2, out_bits=2, code_bits=1, devices_per_weight=2,
               charge_bits=2, gain_bits=1, gain_frac_bits=0),   # 1 * 2 * 1 > 1
    TileParams(rows=2, cols=3, in_bits=4, code_bits=3, f_factor=3, charge_bits=6),  # 112 > 31
]


@pytest.mark.parametrize("p", [TileParams(), P4, P2, *TINY_CAPACITORS,
                               TileParams(rows=1, cols=1, in_bits=16, code_bits=1,
                                          charge_bits=48)])
def test_cal_input_default_is_the_largest_word_that_cannot_saturate(p):
    """docs/spec.md section 10: the largest d with rows * d * 2 * weight_max <= charge_max, at
    most the largest positive SIGNED word; 0 when even d = 1 can saturate."""
    d = p.cal_input_default
    cap = (1 << (p.in_bits - 1)) - 1
    assert 0 <= d <= cap
    assert p.rows * d * 2 * p.weight_max <= p.charge_max
    assert d == cap or p.rows * (d + 1) * 2 * p.weight_max > p.charge_max
    # the read of a full array (every device at code_max) at the default does not saturate
    full = np.full((p.rows, p.cols, p.devices_per_weight), p.code_max)
    assert not conductance_read(full, d, TileConfig(), p)[2]


def test_cal_input_default_values():
    assert TileParams().cal_input_default == 16      # 8388607 // (512 * 2 * 510)
    assert P4.cal_input_default == 7                 # 2047 // 224 = 9, capped at 7
    for p in TINY_CAPACITORS:
        assert p.cal_input_default == 0
        full = np.full((p.rows, p.cols, p.devices_per_weight), p.code_max)
        assert conductance_read(full, 1, TileConfig(), p)[2]     # word 1 saturates
        assert RegisterFile(p).read(REGISTERS["CAL_INPUT"].address) == (0, OKAY)


@pytest.mark.parametrize("p", TINY_CAPACITORS[1:])
def test_tiny_capacitor_calibration_skips_every_column(p):
    """With CAL_INPUT at its reset value 0 the read carries no charge: without read noise a
    COMPENSATE keeps every reference gain and counts every column as skipped."""
    rng = np.random.default_rng(3)
    codes = rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, p.devices_per_weight))
    cfg = TileConfig(gain=np.full(p.cols, (1 << p.gain_bits) - 1))
    cal = Calibrator(p)
    ref = cal.run(CalOp.REFERENCE, CalScope.PER_COLUMN, codes, cfg, p.cal_input_default)
    assert not ref.cap_sat and not ref.charge.any()
    for scope in CalScope:
        res = cal.run(CalOp.COMPENSATE, scope, codes // 2, cfg, p.cal_input_default)
        assert not res.cap_sat
        assert (res.skipped, res.clipped) == (p.cols, 0)
        assert res.gain.tolist() == cfg.gain.tolist()


@pytest.mark.parametrize("call, message", [
    (lambda: Calibrator(P4).run(CalOp.COMPENSATE, CalScope.PER_COLUMN,
                                np.zeros((2, 3, 4), int), TileConfig(), 1), "REFERENCE"),
    (lambda: conductance_read(np.zeros((2, 3, 4), int), 16, TileConfig(), P4), "cal_input"),
    (lambda: conductance_read(np.zeros((2, 3, 4), int), -1, TileConfig(), P4), "cal_input"),
    (lambda: conductance_read(np.zeros((2, 3, 4), int), 1.0, TileConfig(), P4), "cal_input"),
    (lambda: conductance_read(np.zeros((2, 3, 3), int), 1, TileConfig(), P4), "shape"),
    (lambda: compensated_gains(CalReference(np.zeros(2, int), np.zeros(3, int)),
                               np.zeros(3, int), CalScope.GLOBAL, P4), "reference.gain"),
    (lambda: compensated_gains(CalReference(np.zeros(3, int), np.full(3, 5000)),
                               np.zeros(3, int), CalScope.GLOBAL, P4),
     r"reference.charge\[0\] = 5000 is outside \[-2047, 2047\]"),
    (lambda: Calibrator(P4).run(CalOp.REFERENCE, 5, np.zeros((2, 3, 4), int),
                                TileConfig(), 1), "CalScope"),
    (lambda: Calibrator("P4"), "TileParams"),
])
def test_bad_input_names_the_problem(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
