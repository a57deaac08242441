"""Self-tests of the golden model against an independent, slow, scalar reference.

The reference below (``ref_*``) is written from docs/spec.md with plain Python integers and
loops, sharing no code with ``golden``. Every bit-exact comparison is exact; the only float
tolerance in this file is the 0.5-LSB bound between the golden output and the float ideal
(``test_golden_vs_float_ideal``), which is the round-half-up step.

Random tests take the ``seed`` fixture of tests/conftest.py (printed; ``SEED=<n>`` reruns one).
"""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from golden import (Activation, InputMode, Phase, Tile, TileConfig, TileParams, crossbar, fixed,
                    ilp, mvm_timing, olp, ramp)
from golden.reference import ideal_mvm, ideal_output


def make_rng(seed: int, offset: int) -> np.random.Generator:
    """A generator per test: ``seed`` (printed by the fixture) plus a per-test offset."""
    return np.random.default_rng(seed + offset)


# -- independent scalar reference (docs/spec.md, plain Python ints) ---------------------------

def ref_round_shift(x: int, s: int) -> int:
    return x if s == 0 else (x + (1 << (s - 1))) // (1 << s)


def ref_input_range(mode, in_bits):
    if mode == InputMode.UNSIGNED:
        return 0, 2 ** in_bits - 1
    return -2 ** (in_bits - 1), 2 ** (in_bits - 1) - 1


def ref_encode(x: int, mode):
    if mode == InputMode.UNSIGNED:
        return x, 1
    return abs(x), (-1 if x < 0 else 1)


def ref_weight(cell, p) -> int:
    if p.devices_per_weight == 4:
        gp, gm, lp, lm = (int(v) for v in cell)
        return p.f_factor * (gp - gm) + (lp - lm)
    gp, gm = (int(v) for v in cell)
    return gp - gm


def ref_window(activation, out_bits, en_lo, en_hi):
    if activation == Activation.RELU:
        return 0, 2 ** out_bits - 1
    if activation == Activation.IDENTITY:
        return -2 ** (out_bits - 1), 2 ** (out_bits - 1) - 1
    if activation == Activation.HARD_SIGMOID:
        return -2 ** (out_bits - 2), 2 ** (out_bits - 2)
    return en_lo, (2 ** out_bits - 1 if en_hi is None else en_hi)


def ref_mvm(x_vec, codes, cfg: TileConfig, p: TileParams, columns=None):
    """One vector: dict of per-column lists charge, charge_sat, z, y and flags cap_sat, out_sat."""
    cmax = 2 ** (p.charge_bits - 1) - 1
    s = cfg.ramp_shift + p.gain_frac_bits
    gain = [2 ** p.gain_frac_bits] * p.cols if cfg.gain is None else [int(g) for g in cfg.gain]
    offset = [0] * p.cols if cfg.offset is None else [int(o) for o in cfg.offset]
    lo, hi = ref_window(cfg.activation, p.out_bits, cfg.en_lo, cfg.en_hi)
    res = {"charge": [], "charge_sat": [], "z": [], "y": [], "cap_sat": False, "out_sat": False}
    for c in (range(p.cols) if columns is None else columns):
        q = 0
        for r in range(p.rows):
            d, sign = ref_encode(int(x_vec[r]), cfg.input_mode)
            q += sign * d * ref_weight(codes[r][c], p)
        qs = max(-cmax, min(cmax, q))
        z = ref_round_shift(qs * gain[c], s) + offset[c]
        y = max(lo, min(hi, z)) - lo
        res["charge"].append(q)
        res["charge_sat"].append(qs)
        res["z"].append(z)
        res["y"].append(y)
        res["cap_sat"] |= q != qs
        res["out_sat"] |= z > hi
    return res


def random_config(rng, p: TileParams, mode, activation, ramp_shift):
    gain = rng.integers(0, 2 ** p.gain_bits, p.cols)
    offset = rng.integers(-2 ** p.out_bits, 2 ** p.out_bits, p.cols)
    en_lo = int(rng.integers(max(-2 ** p.out_bits, -2 ** 15), min(2 ** p.out_bits, 2 ** 15)))
    en_hi = en_lo + int(rng.integers(0, min(p.out_max, 2 ** 15 - 1 - en_lo) + 1))
    return TileConfig(input_mode=mode, activation=activation, ramp_shift=ramp_shift,
                      en_lo=en_lo, en_hi=en_hi, gain=gain, offset=offset)


def random_inputs(rng, p: TileParams, mode, batch):
    lo, hi = ref_input_range(mode, p.in_bits)
    x = rng.integers(lo, hi + 1, (batch, p.rows))
    x[0, :] = hi                                   # full scale
    x[1, :] = lo                                   # zero / most negative
    return x


PARAM_SETS = {
    "2pcm_in4_out4": TileParams(rows=7, cols=5, in_bits=4, out_bits=4, code_bits=3,
                                devices_per_weight=2, charge_bits=10, gain_bits=4,
                                gain_frac_bits=2),
    "4pcm_F3_in8_out8": TileParams(rows=9, cols=6, in_bits=8, out_bits=8, code_bits=4,
                                   devices_per_weight=4, f_factor=3, charge_bits=12),
    "4pcm_F1_in4_out8_smallcap": TileParams(rows=16, cols=4, in_bits=4, out_bits=8, code_bits=2,
                                            charge_bits=6, gain_bits=3, gain_frac_bits=0),
    "4pcm_F3_in8_out4": TileParams(rows=3, cols=8, in_bits=8, out_bits=4, code_bits=8,
                                   f_factor=3, charge_bits=18),
    "wide_int_paths": TileParams(rows=5, cols=3, in_bits=16, out_bits=16, code_bits=12,
                                 f_factor=15, charge_bits=48, gain_bits=16, gain_frac_bits=15),
}


# -- fixed ----------------------------------------------------------------------------------

def test_round_shift_directed_ties():
    # ties go toward plus infinity; plain >> would floor, int() would truncate toward zero
    cases = [(3, 1, 2), (-3, 1, -1), (1, 1, 1), (-1, 1, 0), (5, 2, 1), (6, 2, 2), (-6, 2, -1),
             (-2, 2, 0), (-10, 2, -2), (7, 0, 7), (-7, 0, -7), (2 ** 62, 63, 1),
             (-(2 ** 63), 64, 0), (2 ** 63 - 1, 64, 0), (-(2 ** 63), 63, -1)]
    for x, s, want in cases:
        assert int(fixed.round_shift(x, s)) == want == ref_round_shift(x, s), (x, s)
    assert int(np.int64(-3) >> 1) == -2          # why round_shift exists


def test_round_shift_random_vs_bigint(seed):
    rng = make_rng(seed, 1)
    x = rng.integers(-(2 ** 63), 2 ** 63 - 1, 2000, dtype=np.int64, endpoint=True)
    for s in (0, 1, 2, 7, 31, 62, 63, 64):
        got = fixed.round_shift(x, s)
        want = [ref_round_shift(int(v), s) for v in x]
        assert got.dtype == np.int64 and got.tolist() == want, s


def test_clamp_and_saturate():
    x = np.array([-9, -3, 0, 3, 9])
    assert fixed.clamp(x, -3, 4).tolist() == [-3, -3, 0, 3, 4]
    assert fixed.saturate_symmetric(x, 3).tolist() == [-3, -3, 0, 3, 3]
    assert fixed.clamp(x, 0, 0).dtype == np.int64
    with pytest.raises(ValueError, match="lo <= hi"):
        fixed.clamp(x, 2, 1)
    with pytest.raises(ValueError, match="limit must be >= 0"):
        fixed.saturate_symmetric(x, -1)
    with pytest.raises(TypeError, match="integer array, not dtype float64"):
        fixed.clamp(np.array([1.5]), 0, 1)
    with pytest.raises(ValueError, match="shift must be in"):
        fixed.round_shift(x, 65)
    with pytest.raises(TypeError, match="shift must be an integer"):
        fixed.round_shift(x, 1.0)


# -- ILP / OLP ------------------------------------------------------------------------------

def test_encode_directed():
    p = TileParams(rows=4, in_bits=4)
    d, s = ilp.encode(np.array([0, 1, 7, 15]), InputMode.UNSIGNED, p)
    assert d.tolist() == [0, 1, 7, 15] and s.tolist() == [1, 1, 1, 1]
    d, s = ilp.encode(np.array([[0, -1, 7, -8]]), InputMode.SIGNED, p)
    assert d.tolist() == [[0, 1, 7, 8]] and s.tolist() == [[1, -1, 1, -1]]
    assert ilp.window_ticks(p, InputMode.UNSIGNED) == 16
    assert ilp.window_ticks(p, InputMode.SIGNED) == 9


def test_encode_random_vs_ref(seed):
    rng = make_rng(seed, 2)
    for p in PARAM_SETS.values():
        for mode in InputMode:
            x = random_inputs(rng, p, mode, 4)
            d, s = ilp.encode(x, mode, p)
            for b in range(4):
                for r in range(p.rows):
                    assert (d[b, r], s[b, r]) == ref_encode(int(x[b, r]), mode)
            assert d.max() < ilp.window_ticks(p, mode)       # low on the window's last tick


def test_encode_errors():
    p = TileParams(rows=4, in_bits=4)
    with pytest.raises(ValueError, match=r"words\[2\] = 16 is outside \[0, 15\]"):
        ilp.encode(np.array([0, 1, 16, 3]), InputMode.UNSIGNED, p)
    with pytest.raises(ValueError, match=r"words\[1, 3\] = -9 is outside \[-8, 7\]"):
        ilp.encode(np.array([[0, 0, 0, 0], [0, 0, 0, -9]]), InputMode.SIGNED, p)
    with pytest.raises(ValueError, match=r"words\[0\] = -1 is outside"):
        ilp.encode(np.array([-1, 0, 0, 0]), InputMode.UNSIGNED, p)
    with pytest.raises(TypeError, match="words must be an integer array, not dtype float64"):
        ilp.encode(np.zeros(4), InputMode.UNSIGNED, p)
    with pytest.raises(ValueError, match=r"words must have shape \(4,\) or \(batch, 4\)"):
        ilp.encode(np.zeros(5, dtype=int), InputMode.UNSIGNED, p)
    with pytest.raises(ValueError, match=r"mode must be an InputMode: 0 \(UNSIGNED\) or 1 \(SIGNED\), not 7"):
        ilp.encode(np.zeros(4, dtype=int), 7, p)


def test_waveform_and_capture_roundtrip(seed):
    rng = make_rng(seed, 3)
    for out_bits in (2, 4, 8):
        out_max = 2 ** out_bits - 1
        y = rng.integers(0, out_max + 1, (3, 11))
        y[0, 0], y[0, 1] = 0, out_max
        wave = ilp.waveform(y, out_max + 1)
        assert wave.shape == (out_max + 1, 3, 11) and wave.dtype == np.bool_
        for b in range(3):
            for lane in range(11):
                col = wave[:, b, lane].tolist()
                assert col == [t < y[b, lane] for t in range(out_max + 1)]
        words, over = olp.capture(wave, out_bits)
        assert words.tolist() == y.tolist() and not over.any()


def test_capture_overrange_and_edges():
    # lane 0: high through the last tick -> saturates; lane 1: two pulses -> total count at
    # the last falling edge; lane 2: 5 ticks in an over-long window with out_bits=2 -> saturates
    wave = np.zeros((8, 3), dtype=bool)
    wave[5:, 0] = True
    wave[[0, 1, 4], 1] = True
    wave[:5, 2] = True
    words, over = olp.capture(wave, 2)
    assert words.tolist() == [3, 3, 3] and over.tolist() == [True, False, True]
    words, over = olp.capture(wave, 4)
    assert words.tolist() == [15, 3, 5] and over.tolist() == [True, False, False]
    full = ilp.waveform(np.array([4, 2]), 4)          # duration == window: no falling edge
    words, over = olp.capture(full, 4)
    assert words.tolist() == [15, 2] and over.tolist() == [True, False]


def test_waveform_capture_errors():
    with pytest.raises(ValueError, match=r"durations\[1\] = 5 is outside \[0, 4\]"):
        ilp.waveform(np.array([0, 5]), 4)
    with pytest.raises(ValueError, match="window must be at least 1 tick"):
        ilp.waveform(np.array([0]), 0)
    with pytest.raises(TypeError, match="durations must be an integer array"):
        ilp.waveform(np.array([0.5]), 4)
    with pytest.raises(TypeError, match="waveform must be a bool array"):
        olp.capture(np.zeros((4, 2), dtype=int), 4)
    with pytest.raises(ValueError, match="window >= 1"):
        olp.capture(np.zeros((0, 2), dtype=bool), 4)
    with pytest.raises(ValueError, match=r"out_bits must be in \[2, 16\]"):
        olp.capture(np.zeros((4, 2), dtype=bool), 1)


# -- crossbar ---------------------------------------------------------------------------------

def test_weights_directed():
    # 4-PCM, F = 3: w = 3 * (gp - gm) + (lp - lm)
    p = TileParams(rows=1, cols=2, code_bits=4, f_factor=3)
    codes = np.array([[[15, 0, 0, 15], [2, 5, 7, 1]]])
    assert crossbar.weights(codes, p).tolist() == [[3 * 15 - 15, 3 * -3 + 6]]
    assert p.weight_max == 3 * 15 + 15
    p2 = TileParams(rows=1, cols=2, code_bits=4, devices_per_weight=2)
    assert crossbar.weights(np.array([[[15, 0], [0, 15]]]), p2).tolist() == [[15, -15]]


def test_weights_random_vs_ref(seed):
    rng = make_rng(seed, 4)
    for p in PARAM_SETS.values():
        codes = rng.integers(0, p.code_max + 1, (p.rows, p.cols, p.devices_per_weight))
        w = crossbar.weights(codes, p)
        assert w.dtype == np.int64
        assert w.tolist() == [[ref_weight(codes[r, c], p) for c in range(p.cols)]
                              for r in range(p.rows)]


def test_weights_errors():
    p = TileParams(rows=2, cols=3, code_bits=3)
    good = np.zeros((2, 3, 4), dtype=int)
    bad = good.copy()
    bad[1, 2, 3] = 8
    with pytest.raises(ValueError, match=r"codes\[1, 2, 3\] = 8 is outside \[0, 7\]"):
        crossbar.weights(bad, p)
    bad[1, 2, 3] = -1
    with pytest.raises(ValueError, match=r"codes\[1, 2, 3\] = -1 is outside"):
        crossbar.weights(bad, p)
    with pytest.raises(ValueError, match=r"codes must have shape \(2, 3, 4\), not \(2, 3, 2\)"):
        crossbar.weights(np.zeros((2, 3, 2), dtype=int), p)
    with pytest.raises(TypeError, match="codes must be an integer array, not dtype float64"):
        crossbar.weights(good.astype(float), p)


def test_integrate_vs_ref_and_errors(seed):
    rng = make_rng(seed, 5)
    for p in PARAM_SETS.values():
        codes = rng.integers(0, p.code_max + 1, (p.rows, p.cols, p.devices_per_weight))
        w = crossbar.weights(codes, p)
        for mode in InputMode:
            x = random_inputs(rng, p, mode, 5)
            d, s = ilp.encode(x, mode, p)
            charge, charge_sat, cap_sat = crossbar.integrate(d, s, w, p)
            for b in range(5):
                ref = ref_mvm(x[b], codes, TileConfig(input_mode=mode), p)
                assert charge[b].tolist() == ref["charge"]
                assert charge_sat[b].tolist() == ref["charge_sat"]
                assert bool(cap_sat[b]) == ref["cap_sat"]
    p = PARAM_SETS["2pcm_in4_out4"]
    d = np.zeros(p.rows, dtype=int)
    s = np.ones(p.rows, dtype=int)
    w = np.zeros((p.rows, p.cols), dtype=int)
    with pytest.raises(ValueError, match=r"signs\[0\] = 0 is not \+1 or -1"):
        crossbar.integrate(d, s * 0, w, p)
    with pytest.raises(ValueError, match=r"durations\[0\] = 16 is outside \[0, 15\]"):
        crossbar.integrate(d + 16, s, w, p)
    w[2, 1] = p.weight_max + 1
    with pytest.raises(ValueError, match=r"weights\[2, 1\] = 8 is outside \[-7, 7\]"):
        crossbar.integrate(d, s, w, p)
    with pytest.raises(ValueError, match="signs must have the shape of durations"):
        crossbar.integrate(d, np.ones((2, p.rows), dtype=int), w, p)


# -- ramp -------------------------------------------------------------------------------------

def test_convert_directed_ties_and_activations():
    # gain 1.0 (code 4, 2 fractional bits), ramp_shift 1: s = 3, z = round_half_up(Q / 2) + off
    p = TileParams(rows=1, cols=6, out_bits=4, charge_bits=8, gain_bits=4, gain_frac_bits=2)
    q = np.array([3, -3, 5, -5, 127, -127])          # Q/2 = 1.5 -1.5 2.5 -2.5 63.5 -63.5
    cfg = TileConfig(ramp_shift=1, activation=Activation.IDENTITY, gain=np.full(6, 4),
                     offset=np.array([0, 0, 0, 0, 0, 1]))
    y, z, sat = ramp.convert(q, cfg, p)
    assert z.tolist() == [2, -1, 3, -2, 64, -62]
    assert y.tolist() == [10, 7, 11, 6, 15, 0]       # identity: clamp(z, -8, 7) + 8
    assert bool(sat)
    cfg.activation = Activation.RELU
    assert ramp.convert(q, cfg, p)[0].tolist() == [2, 0, 3, 0, 15, 0]
    cfg.activation = Activation.HARD_SIGMOID                 # window [-4, 4]
    assert ramp.convert(q, cfg, p)[0].tolist() == [6, 3, 7, 2, 8, 0]
    cfg.activation, cfg.en_lo, cfg.en_hi = Activation.WINDOW, 2, 3   # bounded ReLU-like
    y, _, sat = ramp.convert(q[:1].repeat(6), cfg, p)     # z = 2 (and 3 with the offset)
    assert y.tolist() == [0, 0, 0, 0, 0, 1] and not sat
    # gain 0.75 (code 3): P = 3 * Q, s = 2 -> ties at P = 2 mod 4
    cfg2 = TileConfig(gain=np.full(6, 3))
    y, z, _ = ramp.convert(np.array([2, -2, 6, 1, 0, 3]), cfg2, p)
    assert z.tolist() == [2, -1, 5, 1, 0, 2]         # 1.5 -1.5 4.5 0.75 0 2.25


def test_convert_errors():
    p = TileParams(rows=1, cols=2, charge_bits=8)
    with pytest.raises(ValueError, match=r"charge_sat\[1\] = 128 is outside \[-127, 127\]"):
        ramp.convert(np.array([0, 128]), TileConfig(), p)
    with pytest.raises(TypeError, match="charge_sat must be an integer array"):
        ramp.convert(np.array([0.0, 1.0]), TileConfig(), p)
    with pytest.raises(ValueError, match=r"gain\[1\] = 256 is outside \[0, 255\]"):
        ramp.convert(np.array([0, 1]), TileConfig(gain=np.array([1, 256])), p)
    with pytest.raises(ValueError, match=r"offset\[0\] = -257 is outside \[-256, 255\]"):
        ramp.convert(np.array([0, 1]), TileConfig(offset=np.array([-257, 0])), p)
    with pytest.raises(ValueError, match="EN window must satisfy lo <= hi <= lo \\+ out_max"):
        ramp.convert(np.array([0, 1]), TileConfig(activation=Activation.WINDOW, en_lo=0,
                                                  en_hi=256), p)
    with pytest.raises(ValueError, match=r"ramp_shift must be in \[0, 8\]"):
        ramp.convert(np.array([0, 1]), TileConfig(ramp_shift=9), p)


# -- composed tile ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_tile_random_vs_ref(name, seed):
    p = PARAM_SETS[name]
    rng = make_rng(seed, 10 + list(PARAM_SETS).index(name))
    codes = rng.integers(0, p.code_max + 1, (p.rows, p.cols, p.devices_per_weight))
    codes[:, 0, 0::2], codes[:, 0, 1::2] = p.code_max, 0      # column 0: +weight_max
    codes[:, 1, 0::2], codes[:, 1, 1::2] = 0, p.code_max      # column 1: -weight_max
    tile = Tile(p, codes)
    seen = {"cap_sat": set(), "out_sat": set()}
    for mode in InputMode:
        for activation in Activation:
            for ramp_shift in (0, int(rng.integers(1, p.ramp_shift_max + 1))):
                cfg = random_config(rng, p, mode, activation, ramp_shift)
                x = random_inputs(rng, p, mode, 4)
                res = tile.run(x, cfg)
                y_fast = tile.mvm(x, cfg)
                assert y_fast.dtype == np.int64 and np.array_equal(y_fast, res.y)
                for b in range(4):
                    ref = ref_mvm(x[b], codes, cfg, p)
                    for field in ("charge", "charge_sat", "z", "y"):
                        assert getattr(res, field)[b].tolist() == ref[field], (field, b)
                    assert bool(res.cap_sat[b]) == ref["cap_sat"]
                    assert bool(res.out_sat[b]) == ref["out_sat"]
                    assert np.array_equal(tile.mvm(x[b], cfg), res.y[b])
                    seen["cap_sat"].add(ref["cap_sat"])
                    seen["out_sat"].add(ref["out_sat"])
    if name != "wide_int_paths":          # 48-bit capacitor: cannot saturate with 5 rows
        assert seen["cap_sat"] == {True, False}
    assert seen["out_sat"] == {True, False}


def test_tile_directed_2x2():
    # 4-PCM, F = 3; column 0 weights (+5, -2), column 1 weights (+1, +7)
    p = TileParams(rows=2, cols=2, in_bits=4, out_bits=4, code_bits=3, f_factor=3,
                   charge_bits=8, gain_bits=4, gain_frac_bits=2)
    codes = np.array([[[2, 1, 3, 1], [0, 0, 1, 0]],        # 3*1+2 = 5 ; 0+1 = 1
                      [[0, 1, 2, 1], [2, 0, 2, 1]]])       # -3+1 = -2 ; 6+1 = 7
    tile = Tile(p, codes)
    assert tile.weights.tolist() == [[5, 1], [-2, 7]]
    cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY, ramp_shift=1,
                     gain=np.array([4, 6]), offset=np.array([1, -2]))
    res = tile.run(np.array([3, -8]), cfg)
    # Q = (3*5 + -8*-2, 3*1 + -8*7) = (31, -53); clamp at 127: no CAP_SAT
    # z0 = rhu(31*4 / 8) + 1 = rhu(15.5) + 1 = 17; z1 = rhu(-53*6 / 8) - 2 = rhu(-39.75) - 2 = -42
    assert res.charge.tolist() == [31, -53] and not res.cap_sat
    assert res.z.tolist() == [17, -42] and res.y.tolist() == [15, 0] and res.out_sat
    res = tile.run(np.array([7, 7]), TileConfig(ramp_shift=0))   # Q = (21, 56): no rounding
    assert res.z.tolist() == [21, 56] and res.y.tolist() == [15, 15]


def test_tile_rounding_ties_through_tile():
    p = TileParams(rows=1, cols=3, in_bits=8, out_bits=8, code_bits=4, devices_per_weight=2,
                   gain_bits=4, gain_frac_bits=0)
    tile = Tile(p, np.array([[[1, 0], [3, 0], [0, 2]]]))            # w = 1, 3, -2
    cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY, ramp_shift=2,
                     gain=np.array([2, 1, 1]))
    x = np.array([[-3], [5], [3], [-1]])
    # Q = x * (1, 3, -2); P = (2x, 3x, -2x); z = rhu(P / 4)
    # x=-3: P=(-6, -9, 6) -> (-1.5, -2.25, 1.5) -> (-1, -2, 2)
    # x= 5: P=(10, 15, -10) -> (2.5, 3.75, -2.5) -> (3, 4, -2)
    # x= 3: P=(6, 9, -6) -> (1.5, 2.25, -1.5) -> (2, 2, -1)
    # x=-1: P=(-2, -3, 2) -> (-0.5, -0.75, 0.5) -> (0, -1, 1)
    res = tile.run(x, cfg)
    assert res.z.tolist() == [[-1, -2, 2], [3, 4, -2], [2, 2, -1], [0, -1, 1]]
    assert np.array_equal(tile.mvm(x, cfg), res.y) and np.array_equal(res.y, res.z + 128)


def test_golden_vs_float_ideal(seed):
    """The only float tolerance: |y - (clip(z_float, lo, hi) - lo)| <= 0.5 LSB where the
    capacitor did not saturate (round half up moves z by at most one half)."""
    rng = make_rng(seed, 20)
    for p in PARAM_SETS.values():
        tile = Tile(p, rng.integers(0, p.code_max + 1, (p.rows, p.cols, p.devices_per_weight)))
        for mode in InputMode:
            for activation in Activation:
                cfg = random_config(rng, p, mode, activation, int(rng.integers(0, 4)))
                x = random_inputs(rng, p, mode, 8)
                res = tile.run(x, cfg)
                assert np.array_equal(ideal_mvm(x, tile.weights), res.charge)
                zf = ideal_output(x, tile.weights, cfg, p)
                lo, hi = p.activation_window(activation, (cfg.en_lo, cfg.en_hi))
                ok = res.charge == res.charge_sat
                assert ok.any()
                assert np.all(np.abs(res.z - zf)[ok] <= 0.5)
                assert np.all(np.abs(res.y - (np.clip(zf, lo, hi) - lo))[ok] <= 0.5)


def test_int64_fallback_paths_equal(monkeypatch, seed):
    rng = make_rng(seed, 21)
    p = PARAM_SETS["4pcm_F3_in8_out8"]
    codes = rng.integers(0, p.code_max + 1, (p.rows, p.cols, p.devices_per_weight))
    cfg = random_config(rng, p, InputMode.SIGNED, Activation.IDENTITY, 3)
    x = random_inputs(rng, p, InputMode.SIGNED, 50)
    fast = Tile(p, codes)
    y_fast, res_fast = fast.mvm(x, cfg), fast.run(x, cfg)
    monkeypatch.setattr(crossbar, "FLOAT64_EXACT_LIMIT", 0)
    monkeypatch.setattr(ramp, "FLOAT64_EXACT_LIMIT", 0)
    slow = Tile(p, codes)
    assert not slow._float_charge
    assert np.array_equal(slow.mvm(x, cfg), y_fast)
    assert np.array_equal(slow.mvm(x[3], cfg), y_fast[3])
    assert np.array_equal(slow.run(x, cfg).charge, res_fast.charge)
    monkeypatch.undo()
    monkeypatch.setattr(ramp, "FLOAT64_EXACT_LIMIT", 0)      # float charge, int conversion
    mixed = Tile(p, codes)
    assert mixed._float_charge and not mixed._derived(cfg).conv.float_exact
    assert np.array_equal(mixed.mvm(x, cfg), y_fast)
    assert np.array_equal(mixed.mvm(x[0], cfg), y_fast[0])


def test_batch_chunking_and_empty(seed):
    rng = make_rng(seed, 22)
    p = PARAM_SETS["2pcm_in4_out4"]
    tile = Tile(p, rng.integers(0, p.code_max + 1, (p.rows, p.cols, 2)))
    cfg = random_config(rng, p, InputMode.UNSIGNED, Activation.RELU, 1)
    x = random_inputs(rng, p, InputMode.UNSIGNED, 23)
    want = tile.run(x, cfg).y
    tile._chunk = 5                                   # 23 = 4 full chunks + 3
    assert np.array_equal(tile.mvm(x, cfg), want)
    assert tile.mvm(np.zeros((0, p.rows), dtype=int), cfg).shape == (0, p.cols)
    clone = pickle.loads(pickle.dumps(tile))
    assert np.array_equal(clone.mvm(x, cfg), want)
    assert np.array_equal(copy.deepcopy(tile).mvm(x.astype(np.uint8), cfg), want)


def test_config_mutation_is_seen(seed):
    rng = make_rng(seed, 23)
    p = PARAM_SETS["4pcm_F3_in8_out8"]
    tile = Tile(p, rng.integers(0, p.code_max + 1, (p.rows, p.cols, 4)))
    x = random_inputs(rng, p, InputMode.UNSIGNED, 6)
    cfg = random_config(rng, p, InputMode.UNSIGNED, Activation.RELU, 2)
    y0 = tile.mvm(x, cfg)
    for mutate in (lambda c: c.gain.__setitem__(0, (int(c.gain[0]) + 7) % 256),
                   lambda c: c.offset.__setitem__(slice(None), 5),
                   lambda c: setattr(c, "ramp_shift", 0),
                   lambda c: setattr(c, "activation", Activation.IDENTITY),
                   lambda c: setattr(c, "input_mode", InputMode.SIGNED)):
        mutate(cfg)
        xm = np.clip(x, *p.input_range(cfg.input_mode))
        fresh = copy.deepcopy(cfg)
        assert np.array_equal(tile.mvm(xm, cfg), Tile(p, tile.codes).run(xm, fresh).y)
    assert y0.shape == (6, p.cols)
    cfg.ramp_shift = 1
    tile.mvm(x // 2, cfg)
    cfg.ramp_shift = 1.0                              # same value, wrong type: still rejected
    with pytest.raises(TypeError, match="ramp_shift must be an integer"):
        tile.mvm(x // 2, cfg)


def test_tile_programming(seed):
    rng = make_rng(seed, 24)
    p = PARAM_SETS["4pcm_F3_in8_out8"]
    tile = Tile(p)
    assert not tile.codes.any() and not tile.weights.any()
    x = random_inputs(rng, p, InputMode.UNSIGNED, 3)
    assert np.array_equal(tile.mvm(x, TileConfig(offset=np.full(p.cols, 9))),
                          np.full((3, p.cols), 9))
    codes = rng.integers(0, p.code_max + 1, (p.rows, p.cols, 4))
    for r in range(p.rows):
        tile.program_row(r, codes[r])
    assert np.array_equal(tile.codes, codes)
    assert np.array_equal(tile.weights, crossbar.weights(codes, p))
    ref = Tile(p, codes)
    cfg = random_config(rng, p, InputMode.UNSIGNED, Activation.WINDOW, 0)
    assert np.array_equal(tile.mvm(x, cfg), ref.mvm(x, cfg))
    tile.codes[0, 0, 0] = 99                          # a copy: the tile is not changed
    assert np.array_equal(tile.codes, codes)
    tile.program_row(2, np.zeros((p.cols, 4), dtype=np.uint8))
    codes[2] = 0
    assert np.array_equal(tile.mvm(x, cfg), Tile(p, codes).mvm(x, cfg))
    with pytest.raises(ValueError, match=r"row must be in \[0, 8\], not 9"):
        tile.program_row(9, codes[0])
    with pytest.raises(ValueError, match=r"row must be in \[0, 8\], not -1"):
        tile.program_row(-1, codes[0])
    with pytest.raises(TypeError, match="row must be an integer"):
        tile.program_row(1.0, codes[0])
    with pytest.raises(ValueError, match=r"codes_row must have shape \(6, 4\)"):
        tile.program_row(0, codes[:, 0])
    with pytest.raises(ValueError, match=r"codes_row\[5, 1\] = 16 is outside \[0, 15\]"):
        bad = codes[0].copy()
        bad[5, 1] = 16
        tile.program_row(0, bad)
    with pytest.raises(ValueError, match=r"codes must have shape \(9, 6, 4\)"):
        tile.program(codes[:, :, :2])
    with pytest.raises(TypeError, match="params must be a TileParams"):
        Tile({"rows": 2})


def test_mvm_input_errors():
    p = PARAM_SETS["4pcm_F3_in8_out8"]
    tile = Tile(p)
    cfg = TileConfig(input_mode=InputMode.SIGNED)
    x = np.zeros((2, p.rows), dtype=int)
    x[1, 4] = 128
    for fn in (tile.mvm, tile.run):
        with pytest.raises(ValueError, match=r"\[1, 4\] = 128 is outside \[-128, 127\]"):
            fn(x, cfg)
        with pytest.raises(TypeError, match="must be an integer array, not dtype float64"):
            fn(x.astype(float), cfg)
        with pytest.raises(ValueError, match=r"must have shape \(9,\) or \(batch, 9\)"):
            fn(np.zeros(8, dtype=int), cfg)
        with pytest.raises(TypeError, match="config must be a TileConfig"):
            fn(x, {"input_mode": 1})
    with pytest.raises(ValueError, match=r"x\[0\] = -1 is outside \[0, 255\]"):
        tile.mvm(np.full(p.rows, -1), TileConfig())
    with pytest.raises(ValueError, match=r"activation must be an Activation: .*, not"):
        tile.mvm(np.zeros(p.rows, dtype=int), TileConfig(activation=9))


def test_full_size_tile(seed):
    rng = make_rng(seed, 30)
    p = TileParams()
    codes = rng.integers(0, p.code_max + 1, (p.rows, p.cols, p.devices_per_weight))
    tile = Tile(p, codes)
    cfg = random_config(rng, p, InputMode.SIGNED, Activation.IDENTITY, 6)
    x = random_inputs(rng, p, InputMode.SIGNED, 3)
    res = tile.run(x, cfg)
    assert np.array_equal(tile.mvm(x, cfg), res.y)
    cols = [0, 1, 255, 511]
    for b in range(3):
        ref = ref_mvm(x[b], codes, cfg, p, columns=cols)
        for field in ("charge", "z", "y"):
            assert getattr(res, field)[b, cols].tolist() == ref[field]
    assert res.timing.latency == 1 + 129 + (512 // 4 + 1) + 1 + 256     # eval_rows = 4


# -- timing -----------------------------------------------------------------------------------

def test_timing():
    for p in PARAM_SETS.values():
        for mode in InputMode:
            t = mvm_timing(p, TileConfig(input_mode=mode))
            d = 2 ** p.in_bits - 1 if mode == InputMode.UNSIGNED else 2 ** (p.in_bits - 1)
            out_max = 2 ** p.out_bits - 1
            assert dict(t.cycles) == {Phase.IDLE: 1, Phase.INTEGRATE: d + 1,
                                      Phase.EVALUATE: -(-p.rows // p.eval_rows) + 1, Phase.CONVERT: 1,
                                      Phase.EMIT: out_max + 1, Phase.OUTPUT: 1}
            assert t.latency == 1 + (d + 1) + (-(-p.rows // p.eval_rows) + 1) + 1 + (out_max + 1)
            assert t.period == t.latency + 1
            assert t.physical_ticks == (d + 1) + 1 + (out_max + 1)
            assert hash(t) == hash(mvm_timing(p, TileConfig(input_mode=mode)))
    t = mvm_timing(TileParams(), TileConfig())
    assert (t.latency, t.period, t.physical_ticks) == (1 + 256 + 129 + 1 + 256, 644, 513)
    # EVALUATE: one cycle per group of eval_rows rows (a partial last group counts), +1
    for rows, eval_rows, evaluate in ((512, 1, 513), (512, 8, 65), (5, 4, 3), (1, 64, 2)):
        t = mvm_timing(TileParams(rows=rows, eval_rows=eval_rows), TileConfig())
        assert t.cycles[Phase.EVALUATE] == evaluate
    for bad in (0, 3, 128, 2.0):
        with pytest.raises((TypeError, ValueError), match="eval_rows"):
            TileParams(eval_rows=bad)
    assert mvm_timing(TileParams(), TileConfig(), integrate_ticks=10).cycles[Phase.INTEGRATE] == 10
    with pytest.raises(TypeError):
        t.cycles[Phase.IDLE] = 2
    with pytest.raises(ValueError, match="integrate_ticks must be at least 1"):
        mvm_timing(TileParams(), TileConfig(), integrate_ticks=0)


def test_params_validation():
    with pytest.raises(TypeError, match="devices_per_weight must be an integer"):
        TileParams(devices_per_weight=4.0)
    with pytest.raises(ValueError, match="devices_per_weight must be 2 or 4, not 3"):
        TileParams(devices_per_weight=3)
    with pytest.raises(ValueError, match="with devices_per_weight=2 it must be 1"):
        TileParams(devices_per_weight=2, f_factor=3)
