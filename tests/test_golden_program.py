"""golden.program: the closed-loop programming model (docs/programming.md).

Unit tests of every piece (hash, Irwin-Hall, sigma table, rounding, targets), a literal
per-device transcription of the contract that the vectorized model must equal bit for bit,
convergence and exhaustion, bad-input errors, statistics and the command line.
"""
import math

import numpy as np
import pytest

from golden import program as gp
from golden.program import ProgramConfig, program_array, program_row
from golden.spec import TileParams

MASK = 0xFFFFFFFF


# -- an independent transcription of the contract ----------------------------------------------

def ref_mix32(x):
    x &= MASK
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    x ^= x >> 16
    return x


def ref_sigma_q(target, p):
    """sigma multiplier of a target code, from the formulas of docs/programming.md."""
    bins = min(16, p.code_max + 1)
    width = (p.code_max + 1) // bins
    b = target // width
    x = (b * width + (width - 1) / 2) / p.code_max
    sigma_us = 0.26348 + 1.9650 * x - 1.1731 * x * x
    sigma_codes = sigma_us / 25 * p.code_max
    q = 20 - p.code_bits
    return math.floor(sigma_codes * 2 ** q / math.sqrt(4 * (256 ** 2 - 1) / 12) + 0.5)


def ref_program_row(t, row, cfg, p):
    """Every device of every column, one by one, exactly as the contract reads."""
    cm, F, cols = p.code_max, p.f_factor, p.cols
    dev = p.devices_per_weight
    g = [[0] * dev for _ in range(cols)]                       # RESET
    shift = 24 - p.code_bits

    def pair_phase(pair, targets):
        pulses, checked = 0, False
        for it in range(cfg.max_iter):
            conv = [[abs(targets[c][d] - g[c][2 * pair + d]) <= cfg.tol for d in (0, 1)]
                    for c in range(cols)]
            if all(all(cc) for cc in conv):
                checked = True
                break
            for d in (0, 1):
                k = ref_mix32(cfg.seed ^ ref_mix32((row << 12) ^ (pair << 10) ^ (d << 8) ^ it))
                for c in range(cols):
                    if conv[c][d]:
                        continue
                    cur = g[c][2 * pair + d]
                    err = targets[c][d] - cur
                    u = ref_mix32((k + c * 0x9E3779B9) & MASK)
                    n = sum((u >> (8 * i)) & 255 for i in range(4)) - 510
                    noise = (n * ref_sigma_q(targets[c][d], p) * cfg.noise_scale
                             + (1 << (shift - 1))) >> shift
                    step = (err * cfg.pulse_gain + 128) >> 8
                    g[c][2 * pair + d] = min(max(cur + step + noise, 0), cm)
            pulses += 1
        return pulses, pulses + checked

    if dev == 4:
        tg = []
        for v in t:
            mag = min((abs(v) + F // 2) // F, cm)
            tg.append((mag, 0) if v >= 0 else (0, mag))
    else:
        tg = [(v, 0) if v >= 0 else (0, -v) for v in t]
    it0, pc0 = pair_phase(0, tg)
    it1 = pc1 = 0
    if dev == 4:
        tl = []
        for c, v in enumerate(t):
            r = v - F * (g[c][0] - g[c][1])
            tl.append((min(r, cm), 0) if r >= 0 else (0, min(-r, cm)))
        it1, pc1 = pair_phase(1, tl)
    codes = np.array(g, dtype=np.int64)
    if dev == 4:
        w = F * (codes[:, 0] - codes[:, 1]) + codes[:, 2] - codes[:, 3]
        tol_w = cfg.tol * (F + 1) + max(0, F // 2 - cm)
        cycles = 4 + pc0 + pc1
    else:
        w = codes[:, 0] - codes[:, 1]
        tol_w = cfg.tol
        cycles = 3 + pc0
    fail = np.abs(w - np.asarray(t)) > tol_w
    return codes, w, fail, (it0, it1), (pc0, pc1), cycles


PARAMS = {
    "c6b4": TileParams(rows=8, cols=6, code_bits=4),
    "c5b5d2": TileParams(rows=8, cols=5, code_bits=5, devices_per_weight=2),
    "c4b6f2": TileParams(rows=8, cols=4, code_bits=6, f_factor=2),
    "c4b2f5": TileParams(rows=8, cols=4, code_bits=2, f_factor=5),
    "c3b8": TileParams(rows=8, cols=3, code_bits=8),
}


def random_config(rng, p):
    return ProgramConfig(seed=int(rng.integers(0, 1 << 32)),
                         tol=int(rng.integers(0, min(p.code_max, 3) + 1)),
                         pulse_gain=int(rng.choice([1, 100, 192, 255])),
                         noise_scale=int(rng.choice([0, 16, 40, 255])),
                         max_iter=int(rng.integers(1, 25)))


@pytest.mark.parametrize("name", list(PARAMS))
def test_matches_literal_contract(name, seed):
    """The vectorized model (one active device per pair) equals the per-device loop."""
    p = PARAMS[name]
    rng = np.random.default_rng(seed)
    for _ in range(25):
        cfg = random_config(rng, p)
        t = rng.integers(-p.weight_max, p.weight_max + 1, size=p.cols)
        row = int(rng.integers(0, p.rows))
        codes, w, fail, its, pcs, cycles = ref_program_row(t.tolist(), row, cfg, p)
        res = program_row(t, row, cfg, p)
        what = f"{name} row {row} {cfg} targets {t.tolist()} (seed {seed})"
        assert res.codes.tolist() == codes.tolist(), what
        assert res.weights.tolist() == w.tolist(), what
        assert res.fail_mask.tolist() == fail.tolist(), what
        assert tuple(res.iterations.tolist()) == its, what
        assert tuple(res.phase_cycles.tolist()) == pcs, what
        assert res.cycles == cycles, what


@pytest.mark.parametrize("name", ["c6b4", "c4b6f2", "c5b5d2"])
def test_array_equals_rows(name, seed):
    p = PARAMS[name]
    rng = np.random.default_rng(seed)
    cfg = random_config(rng, p)
    t = rng.integers(-p.weight_max, p.weight_max + 1, size=(p.rows, p.cols))
    arr = program_array(t, cfg, p)
    for r in range(p.rows):
        one = program_row(t[r], r, cfg, p)
        assert arr.codes[r].tolist() == one.codes.tolist()
        assert arr.iterations[r].tolist() == one.iterations.tolist()
        assert int(arr.cycles[r]) == one.cycles
    ids = rng.permutation(p.rows)
    shuffled = program_array(t, cfg, p, row_ids=ids)
    assert shuffled.codes[0].tolist() == program_row(t[0], int(ids[0]), cfg, p).codes.tolist()


def test_trace_holds_every_iteration():
    p = PARAMS["c6b4"]
    cfg = ProgramConfig(seed=7, tol=0, pulse_gain=200, noise_scale=16, max_iter=6)
    res = program_row(np.array([30, -30, 0, 17, -5, 1]), 2, cfg, p, trace=True)
    assert len(res.trace) == 2
    for pair in range(2):
        tr = res.trace[pair]
        assert tr.shape == (res.iterations[pair] + 1, p.cols, 4)
    assert (res.trace[0][0] == 0).all()                 # after the RESET
    assert (res.trace[1][-1] == res.codes).all()
    assert (res.trace[1][0][:, :2] == res.trace[0][-1][:, :2]).all()


# -- the generator -------------------------------------------------------------------------

def test_mix32_vectors():
    """lowbias32 (Wellons' hash-prospector constants): pinned values, scalar == array."""
    vectors = {0: 0x00000000, 1: 0x688990C0, 0xDEADBEEF: 0xE628C683}
    for x, y in vectors.items():
        assert gp.mix32(x) == y == ref_mix32(x)
    xs = np.array([0, 1, 2, 0xFFFFFFFF, 0x12345678, 0x80000000], dtype=np.int64)
    assert gp.mix32(xs).tolist() == [ref_mix32(int(x)) for x in xs]
    assert gp.mix32(xs.astype(np.uint32)).tolist() == [ref_mix32(int(x)) for x in xs]
    with pytest.raises(TypeError, match="integers"):
        gp.mix32(np.array([1.5]))


def test_key_fields_do_not_collide():
    """(row, pair, device, iteration) -> key word is injective for rows < 2^16, iterations
    < 256: checked for every combination with rows 0..4095."""
    rows = np.arange(4096)[:, None, None, None]
    pair = np.arange(2)[None, :, None, None]
    dev = np.arange(2)[None, None, :, None]
    it = np.arange(256)[None, None, None, :]
    words = gp.key_word(rows, pair, dev, it)
    # decoding every field back proves the map injective
    assert ((words >> 12) == rows).all() and (((words >> 10) & 3) == pair).all()
    assert (((words >> 8) & 3) == dev).all() and ((words & 255) == it).all()
    assert gp.key_word(4095, 1, 1, 255) == (4095 << 12) | (1 << 10) | (1 << 8) | 255
    assert gp.key_word(0xFFFF, 1, 1, 255) < 1 << 32
    assert gp.noise_key(5, 3, 1, 0, 7) == ref_mix32(5 ^ ref_mix32((3 << 12) | (1 << 10) | 7))


def test_irwin_hall():
    assert gp.irwin_hall(np.array([0, 0xFFFFFFFF, 0x01020304])).tolist() == [-510, 510,
                                                                            1 + 2 + 3 + 4 - 510]
    u = gp.mix32(np.arange(200_000))
    n = gp.irwin_hall(u)
    assert n.min() >= -510 and n.max() <= 510
    assert abs(n.mean()) < 1.5
    assert abs(n.std() / gp.IRWIN_HALL_SD - 1) < 0.01
    assert abs(gp.IRWIN_HALL_SD - 147.80) < 0.01


def test_column_hash_uses_weyl_offsets():
    k = 0x1234ABCD
    u = gp.column_hash(k, 5)
    assert u.tolist() == [ref_mix32((k + c * 0x9E3779B9) & MASK) for c in range(5)]


# -- the sigma table and the noise ----------------------------------------------------------

@pytest.mark.parametrize("code_bits", [1, 2, 3, 4, 6, 8, 10, 12])
def test_sigma_table(code_bits):
    p = TileParams(rows=2, cols=2, code_bits=code_bits)
    table = gp.sigma_table(p)
    assert len(table) == min(16, p.code_max + 1)
    assert table.min() >= 30 and table.max() < 512           # 9 bits for every code width
    assert [ref_sigma_q(b * ((p.code_max + 1) // len(table)), p) for b in range(len(table))] \
        == table.tolist()
    bins = gp.sigma_bin(np.arange(p.code_max + 1), p)
    assert bins.min() == 0 and bins.max() == len(table) - 1
    assert (np.diff(bins) >= 0).all()


@pytest.mark.parametrize("code_bits", [4, 8, 12])
def test_noise_sd_matches_aihwkit_sigma(code_bits):
    """At noise_scale 16 the noise of a bin, before its rounding to whole codes, has the sd of
    aihwkit's programming sigma (in codes) at the bin's mid target within the table's
    quantization; the rounded noise too where sigma is several codes (8-bit codes and wider;
    with 4-bit codes sigma is below 1 code and the rounded noise is mostly 0). noise_scale 32
    doubles it, 0 switches it off."""
    p = TileParams(rows=2, cols=2, code_bits=code_bits)
    table = gp.sigma_table(p)
    n = gp.irwin_hall(gp.mix32(np.arange(300_000) * 7 + 3))
    width = (p.code_max + 1) // len(table)
    for b in (0, len(table) // 2, len(table) - 1):
        x = (b * width + (width - 1) / 2) / p.code_max
        want = (0.26348 + 1.9650 * x - 1.1731 * x * x) / 25 * p.code_max
        quant = 0.5 / table[b] + 0.01                       # table entry, sampling
        exact = n * float(table[b] * 16) / 2 ** gp.noise_shift(p)
        assert abs(exact.std() / want - 1) < quant, (b, exact.std(), want)
        noise = gp.pulse_noise(n, table[b] * 16, p)
        assert np.abs(noise - exact).max() <= 0.5
        if code_bits >= 8:
            got = math.sqrt(noise.var() - 1 / 12)           # minus the rounding's variance
            assert abs(got / want - 1) < quant + 0.01, (b, got, want)
            assert abs(noise.mean()) < 0.02 * want
            double = gp.pulse_noise(n, table[b] * 32, p)
            assert abs(double.std() / noise.std() - 2) < 0.05
        assert not gp.pulse_noise(n, table[b] * 0, p).any()


def test_rounding_rules():
    # pulse step: round half up of err * gain / 256
    assert gp.pulse_step([1, -1, 3, -3, 2, -2, 255], 128).tolist() == [1, 0, 2, -1, 1, -1, 128]
    assert gp.pulse_step([255], 255).tolist() == [254]
    assert gp.pulse_step([1], 1).tolist() == [0]
    # noise: round half up of N * sns / 2^SH
    p = TileParams(rows=2, cols=2, code_bits=8)
    sh = gp.noise_shift(p)
    assert sh == 16
    assert gp.pulse_noise([1, -1], [1 << 15, 1 << 15], p).tolist() == [1, 0]
    assert gp.pulse_noise([3, -3], [1 << 15, 1 << 15], p).tolist() == [2, -1]


# -- targets, tolerance, latency -------------------------------------------------------------

def test_msp_targets_round_half_away_from_zero():
    p = TileParams(rows=2, cols=2, code_bits=4, f_factor=2)
    neg, mag = gp.msp_targets(np.array([0, 1, 2, 3, -3, -1, 30, 31, 45, -45]), p)
    assert mag.tolist() == [0, 1, 1, 2, 2, 1, 15, 15, 15, 15]
    assert neg.tolist() == [False] * 4 + [True, True] + [False] * 3 + [True]
    p3 = TileParams(rows=2, cols=2, code_bits=4, f_factor=3)
    assert gp.msp_targets(np.array([4, 5, -5, 1, 2]), p3)[1].tolist() == [1, 2, 2, 0, 1]
    p2 = TileParams(rows=2, cols=2, code_bits=4, devices_per_weight=2)
    assert gp.msp_targets(np.array([15, -15, 7]), p2)[1].tolist() == [15, 15, 7]


def test_lsp_targets_and_weight_tolerance():
    p = TileParams(rows=2, cols=2, code_bits=4, f_factor=2)
    neg, mag = gp.lsp_targets(np.array([45, -45, 5, 0]), np.array([14, 0, 2, 0]),
                              np.array([0, 15, 0, 1]), p)
    assert mag.tolist() == [15, 15, 1, 2] and neg.tolist() == [False, True, False, False]
    assert gp.weight_tolerance(1, p) == 3
    assert gp.weight_tolerance(0, p) == 0
    assert gp.weight_tolerance(2, TileParams(rows=2, cols=2, devices_per_weight=2)) == 2
    gap = TileParams(rows=2, cols=2, code_bits=1, f_factor=7)    # cells miss some integers
    assert gp.weight_tolerance(1, gap) == 8 + 2
    assert gp.latency([[3, 4]], TileParams(rows=2, cols=2)).tolist() == [11]
    assert gp.latency([[3, 0]], TileParams(rows=2, cols=2, devices_per_weight=2)).tolist() == [6]


def test_noiseless_directed_sequence():
    """t = 255 on 8-bit codes, gain 192, tol 0, no noise: g = 0 -> 191 -> 239 -> 251 -> 254
    -> 255 (steps round(0.75 err)); five pulses, then the all-converged check; the LSP pair has
    target 0 and only checks: latency 1 + 1 + 6 + 1 + 1 + 1 = 11."""
    p = TileParams(rows=4, cols=1)
    res = program_row(np.array([255]), 0, ProgramConfig(tol=0, noise_scale=0, max_iter=20),
                      p, trace=True)
    assert res.trace[0][:, 0, 0].tolist() == [0, 191, 239, 251, 254, 255]
    assert res.iterations.tolist() == [5, 0] and res.phase_cycles.tolist() == [6, 1]
    assert res.cycles == 11 and res.converged and res.weights.tolist() == [255]


@pytest.mark.parametrize("name", list(PARAMS))
def test_noiseless_programming_is_exact(name):
    """Without noise and with tol 0 every legal weight is programmed exactly (every integer
    in [-weight_max, weight_max] is representable when F <= 2 code_max + 1)."""
    p = PARAMS[name]
    t = np.arange(-p.weight_max, p.weight_max + 1)
    t = np.resize(t, (-(-t.size // p.cols), p.cols))
    res = program_array(t, ProgramConfig(tol=0, pulse_gain=192, noise_scale=0, max_iter=60),
                        TileParams(rows=t.shape[0], cols=p.cols, code_bits=p.code_bits,
                                   devices_per_weight=p.devices_per_weight,
                                   f_factor=p.f_factor))
    if p.f_factor <= 2 * p.code_max + 1:
        assert (res.weights == t).all() and res.converged.all()
    assert (res.iterations < 60).all()


def test_exhaustion_fails_weights():
    """gain 1 moves nothing (round(err / 256) = 0 for |err| <= 127) and there is no noise:
    both phases run to max_iter and every nonzero weight fails."""
    p = TileParams(rows=2, cols=4, code_bits=6)
    res = program_row(np.array([0, 10, -20, 100]), 1,
                      ProgramConfig(tol=0, pulse_gain=1, noise_scale=0, max_iter=5), p)
    assert res.iterations.tolist() == [5, 5] and res.phase_cycles.tolist() == [5, 5]
    assert res.cycles == 14
    assert res.fail_mask.tolist() == [False, True, True, True] and res.fail_count == 3
    assert not res.converged and (res.codes == 0).all()


def test_defaults_meet_the_published_error():
    """Defaults: mean |w - t| < 3 % of the largest weight (the paper's closed-loop figure) and
    analog yield (|w - t| <= 20 % of max) = 100 %, on 64 random rows of 512 columns."""
    p = TileParams(rows=64, cols=512)
    rng = np.random.default_rng(11)
    t = rng.integers(-p.weight_max, p.weight_max + 1, size=(64, 512))
    res = program_array(t, ProgramConfig(), p)
    stats = gp.weight_error_stats(t, res.weights, p, res.fail_mask)
    print(stats)
    assert stats.mean_abs_error_pct < 3.0
    assert stats.analog_yield == 1.0
    assert stats.fail_fraction < 0.01
    assert ProgramConfig() == ProgramConfig(seed=1, tol=2, pulse_gain=192, noise_scale=16,
                                            max_iter=40)


def test_weight_error_stats():
    p = TileParams(rows=2, cols=2, code_bits=4)                 # weight_max 30
    s = gp.weight_error_stats([0, 0, 0, 0], [0, 3, -6, 7], p)
    assert s.count == 4 and s.max_abs_error == 7
    assert s.mean_abs_error_pct == pytest.approx(100 * 4 / 30)
    assert s.analog_yield == 0.75                               # 5 * 7 > 30
    with pytest.raises(ValueError, match="same shape"):
        gp.weight_error_stats([1, 2], [1], p)


# -- errors -----------------------------------------------------------------------------------

def test_bad_targets_name_the_column():
    p = TileParams(rows=4, cols=3, code_bits=4)                 # weight_max 30
    with pytest.raises(ValueError, match=r"targets\[2\] = 31 is outside \[-30, 30\]"):
        program_row(np.array([0, 30, 31]), 0, ProgramConfig(), p)
    with pytest.raises(ValueError, match=r"targets\[0\] = -31 is outside"):
        program_row(np.array([-31, 0, 0]), 0, ProgramConfig(), p)
    with pytest.raises(ValueError, match=r"target_weights\[1, 0\] = 99"):
        program_array(np.array([[0, 0, 0], [99, 0, 0]]), ProgramConfig(), p)
    with pytest.raises(TypeError, match="integer array, not dtype float64"):
        program_row(np.array([0.0, 1.0, 2.0]), 0, ProgramConfig(), p)
    with pytest.raises(ValueError, match=r"shape \(3,\) or \(rows, 3\), not \(4,\)"):
        program_row(np.zeros(4, dtype=int), 0, ProgramConfig(), p)


@pytest.mark.parametrize("field,value,message", [
    ("tol", 16, r"tol must be in \[0, 15\], not 16"),
    ("pulse_gain", 0, r"pulse_gain must be in \[1, 255\], not 0"),
    ("noise_scale", 256, r"noise_scale must be in \[0, 255\], not 256"),
    ("max_iter", 0, r"max_iter must be in \[1, 255\], not 0"),
    ("max_iter", 256, r"max_iter must be in \[1, 255\]"),
    ("seed", -1, r"seed must be in \[0, 4294967295\], not -1"),
    ("tol", 1.0, "tol must be an integer"),
])
def test_bad_config_names_the_field(field, value, message):
    p = TileParams(rows=4, cols=3, code_bits=4)
    with pytest.raises((ValueError, TypeError), match=message):
        program_row(np.zeros(3, dtype=int), 0, ProgramConfig(**{field: value}), p)


def test_bad_row_and_types():
    p = TileParams(rows=4, cols=3, code_bits=4)
    with pytest.raises(ValueError, match=r"row must be in \[0, 3\], not 4"):
        program_row(np.zeros(3, dtype=int), 4, ProgramConfig(), p)
    with pytest.raises(TypeError, match="params must be a TileParams"):
        program_row(np.zeros(3, dtype=int), 0, ProgramConfig(), None)
    with pytest.raises(TypeError, match="cfg must be a ProgramConfig"):
        program_row(np.zeros(3, dtype=int), 0, {"tol": 1}, p)
    with pytest.raises(ValueError, match=r"row_ids\[1\] = 9 is outside \[0, 3\]"):
        program_array(np.zeros((2, 3), dtype=int), ProgramConfig(), p, row_ids=[0, 9])
    with pytest.raises(ValueError, match="has 5 rows, the tile 4"):
        program_array(np.zeros((5, 3), dtype=int), ProgramConfig(), p)


def test_cli(capsys):
    assert gp.main(["--rows", "16", "--cols", "32", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "mean |error|" in out and "analog yield" in out and "cycles per row" in out
    with pytest.raises(SystemExit):
        gp.main(["--rows", "4", "--cols", "4", "--tol", "999"])
