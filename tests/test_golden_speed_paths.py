"""The fast paths of golden.noise and golden.Tile.mvm with read noise on, held equal to
straightforward slow references: the noise of one column by the documented scalar formula
(docs/spec.md section 4), the MVM by Python-integer arithmetic in the order of sections 4-5."""
import dataclasses
import pickle
import threading

import numpy as np
import pytest

from golden import Tile, TileConfig, TileParams, crossbar
from golden import tile as tile_module
from golden.noise import MVM_INDEX_MAX, noise_rows, read_noise, sequential_keys
from golden.spec import Activation, InputMode

MASK32 = 0xFFFFFFFF


def mix32_ref(x: int) -> int:
    x &= MASK32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK32
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK32
    return x ^ (x >> 16)


def noise_ref(seed: int, sigma: int, n: int, c: int) -> int:
    """Read noise of column c of MVM n, one scalar at a time."""
    key = mix32_ref(seed ^ mix32_ref(n & MASK32))
    u = mix32_ref(key + c * 0x9E3779B9)
    total = sum((u >> s) & 255 for s in (0, 8, 16, 24)) - 510
    return (total * sigma) >> 8


def noise_ref_rows(seed, sigma, indices, cols) -> np.ndarray:
    return np.array([[noise_ref(seed, sigma, int(n), c) for c in range(cols)] for n in indices],
                    dtype=np.int64).reshape(len(indices), cols)


def mvm_ref(tile: Tile, x, config: TileConfig, first: int) -> np.ndarray:
    """Output words by Python integers: charge, noise, clamp, gain, round half up, offset, EN."""
    p = tile.params
    cfg = config.resolved(p)
    xs = np.atleast_2d(np.asarray(x)).astype(object)
    q = xs @ tile.weights.astype(object)
    if cfg.noise_sigma:
        q = q + noise_ref_rows(cfg.noise_seed, cfg.noise_sigma,
                               range(first, first + len(xs)), p.cols).astype(object)
    cmax = p.charge_max
    s = cfg.ramp_shift + p.gain_frac_bits
    lo, hi = p.activation_window(cfg.activation, (cfg.en_lo, cfg.en_hi))
    y = np.empty(q.shape, dtype=np.int64)
    for i in range(q.shape[0]):
        for c in range(q.shape[1]):
            qs = max(-cmax, min(cmax, q[i, c]))
            prod = qs * int(cfg.gain[c])
            z = ((prod + (1 << (s - 1))) >> s if s else prod) + int(cfg.offset[c])
            y[i, c] = max(lo, min(hi, z)) - lo
    return y if np.ndim(x) == 2 else y[0]


def random_noisy_config(rng, p: TileParams) -> TileConfig:
    mode = InputMode(int(rng.integers(0, 2)))
    activation = Activation(int(rng.integers(0, 3)))
    return TileConfig(
        input_mode=mode, activation=activation,
        ramp_shift=int(rng.integers(0, p.ramp_shift_max + 1)),
        gain=rng.integers(0, 1 << p.gain_bits, size=p.cols),
        offset=rng.integers(-(1 << p.out_bits), 1 << p.out_bits, size=p.cols),
        noise_seed=int(rng.integers(0, 1 << 32)),
        noise_sigma=int(rng.choice([1, 255, 256, 4097, 65535, int(rng.integers(1, 65536))])))


def random_words(rng, p: TileParams, mode: InputMode, n: int) -> np.ndarray:
    lo, hi = p.input_range(mode)
    return rng.integers(lo, hi + 1, size=(n, p.rows))


#: (params, which conversion path the float charge path takes)
PATHS = {
    "float_one_clip": TileParams(rows=24, cols=9, in_bits=6, out_bits=6, code_bits=5,
                                 charge_bits=14),
    "float_two_clips": TileParams(rows=64, cols=4, in_bits=16, code_bits=12, f_factor=15,
                                  charge_bits=24, gain_bits=16, gain_frac_bits=8),
    "float_charge_int_conversion": TileParams(rows=5, cols=3, in_bits=16, out_bits=16,
                                              code_bits=12, f_factor=15, charge_bits=48,
                                              gain_bits=16, gain_frac_bits=15),
}


def test_read_noise_matches_the_scalar_formula():
    rng = np.random.default_rng(11)
    edges = [0, 1, MASK32 - 1, MASK32, MASK32 + 1, 3 << 32, MVM_INDEX_MAX]
    for trial in range(40):
        seed = int(rng.choice([0, MASK32, int(rng.integers(0, 1 << 32))]))
        sigma = int(rng.choice([0, 1, 255, 65535, int(rng.integers(0, 65536))]))
        cols = int(rng.choice([1, 2, 7, 33]))
        shape = [(), (1,), (int(rng.integers(0, 5)),), (2, 3)][trial % 4]
        index = rng.integers(0, MVM_INDEX_MAX, size=shape, dtype=np.int64, endpoint=True)
        if shape and index.size:
            index.flat[0] = edges[trial % len(edges)]
        got = read_noise(seed, sigma, index if shape else int(index), cols)
        assert got.dtype == np.int64 and got.shape == tuple(shape) + (cols,)
        want = noise_ref_rows(seed, sigma, index.reshape(-1), cols).reshape(got.shape)
        assert np.array_equal(got, want), (seed, sigma, cols, shape)


@pytest.mark.parametrize("first, count", [(0, 1), (5, 0), (MASK32 - 2, 7), (123, 40),
                                          (MVM_INDEX_MAX, 1), (MVM_INDEX_MAX - 3, 4)])
def test_sequential_noise_rows_match_the_scalar_formula(first, count):
    seed, sigma, cols = 0xDEADBEEF, 3001, 13
    rows = noise_rows(sequential_keys(seed, first, count), sigma, cols)
    assert rows.shape == (count, cols) and rows.dtype == np.int32
    assert np.array_equal(rows, noise_ref_rows(seed, sigma, range(first, first + count), cols))
    out = np.empty((count, cols), dtype=np.int32)
    tmp = np.empty((count, cols), dtype=np.uint32)
    assert noise_rows(sequential_keys(seed, first, count), sigma, cols, out=out, tmp=tmp) is out
    assert np.array_equal(out, rows)


def check_tile_paths(tile: Tile, rng, monkeypatch, trials: int = 6):
    p = tile.params
    monkeypatch.setattr(tile_module, "_NOISE_AHEAD", 4)
    for _ in range(trials):
        cfg = random_noisy_config(rng, p)
        mode = InputMode(cfg.input_mode)
        first = int(rng.choice([0, MASK32 - 5, int(rng.integers(0, 1 << 40))]))
        # batches across block and chunk boundaries
        for n, block, chunk in ((1, 3, 8), (7, 3, 8), (23, 3, 8), (23, 64, 1 << 20),
                                (0, 3, 8)):
            tile._block, tile._chunk = block, chunk
            x = random_words(rng, p, mode, n)
            want = mvm_ref(tile, x, cfg, first)
            assert np.array_equal(tile.mvm(x, cfg, mvm_index=first), want)
            assert np.array_equal(tile.run(x, cfg, mvm_index=first).y, want)
        # single vectors: sequential across noise blocks, a step back, a jump, a new seed
        xs = random_words(rng, p, mode, 11)
        want = mvm_ref(tile, xs, cfg, first)
        for i in range(len(xs)):
            y = tile.mvm(xs[i], cfg, mvm_index=first + i)
            assert np.array_equal(y, want[i]), i
            y[:] = -1                               # the result is the caller's own array
        assert np.array_equal(tile.mvm(xs[2], cfg, mvm_index=first + 2), want[2])
        assert np.array_equal(tile.mvm(xs[9], cfg, first + 9), want[9])
        other = dataclasses.replace(cfg, noise_seed=cfg.noise_seed ^ 1)
        assert np.array_equal(tile.mvm(xs[10], other, first + 10),
                              mvm_ref(tile, xs[10], other, first + 10))
        assert np.array_equal(tile.mvm(xs[8], cfg, first + 8), want[8])
        # noise drawn ahead, then used by a configuration with other gains and offsets
        regain = dataclasses.replace(cfg, gain=rng.permutation(cfg.gain),
                                     offset=rng.permutation(cfg.offset))
        for i, conf in ((0, cfg), (1, cfg), (2, regain), (3, cfg), (4, regain)):
            assert np.array_equal(tile.mvm(xs[i], conf, first + i),
                                  mvm_ref(tile, xs[i], conf, first + i)), i
        # the end of the MVM index range: the block drawn ahead is cut there
        last = random_words(rng, p, mode, 3)
        want_last = mvm_ref(tile, last, cfg, MVM_INDEX_MAX - 2)
        for i in range(3):
            assert np.array_equal(tile.mvm(last[i], cfg, MVM_INDEX_MAX - 2 + i), want_last[i])
        assert np.array_equal(tile.mvm(last, cfg, MVM_INDEX_MAX - 2), want_last)


@pytest.mark.parametrize("name", list(PATHS))
def test_mvm_with_noise_equals_the_reference(name, monkeypatch):
    p = PATHS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    tile = Tile(p, rng.integers(0, p.code_max + 1,
                                size=(p.rows, p.cols, p.devices_per_weight)))
    conv = tile._derived(TileConfig(gain=np.full(p.cols, (1 << p.gain_bits) - 1),
                                    ramp_shift=p.ramp_shift_max)).conv
    assert tile._float_charge
    assert (conv.float_exact, conv.raw_float_exact) == {
        "float_one_clip": (True, True), "float_two_clips": (True, False),
        "float_charge_int_conversion": (False, False)}[name]
    check_tile_paths(tile, rng, monkeypatch)


def test_int64_charge_path_with_noise_equals_the_reference(monkeypatch):
    p = PATHS["float_one_clip"]
    rng = np.random.default_rng(3)
    monkeypatch.setattr(crossbar, "FLOAT64_EXACT_LIMIT", 0)
    tile = Tile(p, rng.integers(0, p.code_max + 1,
                                size=(p.rows, p.cols, p.devices_per_weight)))
    assert not tile._float_charge
    check_tile_paths(tile, rng, monkeypatch, trials=3)


def test_full_size_tile_with_noise_equals_the_reference():
    """The 512 x 512 tile (one clip, blocks of the default size) on a few columns' worth of
    reference: the whole batch against Tile.run, some vectors against the scalar reference."""
    p = TileParams()
    rng = np.random.default_rng(7)
    tile = Tile(p, rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, p.devices_per_weight)))
    cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.HARD_SIGMOID,
                     ramp_shift=12, gain=rng.integers(64, 256, size=p.cols),
                     offset=rng.integers(-8, 8, size=p.cols), noise_seed=0x5EED,
                     noise_sigma=8191)
    x = random_words(rng, p, InputMode.SIGNED, 300)
    first = MASK32 - 100                          # the batch wraps MVM_COUNT
    y = tile.mvm(x, cfg, mvm_index=first)
    assert np.array_equal(y, tile.run(x, cfg, mvm_index=first).y)
    for i in (0, 100, 101, 299):
        assert np.array_equal(y[i], mvm_ref(tile, x[i], cfg, first + i))
        assert np.array_equal(tile.mvm(x[i], cfg, mvm_index=first + i), y[i])
    for i in range(150, 300):                     # sequential single vectors
        assert np.array_equal(tile.mvm(x[i], cfg, mvm_index=first + i), y[i])


def test_pickled_tile_keeps_its_noise():
    p = PATHS["float_one_clip"]
    rng = np.random.default_rng(9)
    tile = Tile(p, rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, p.devices_per_weight)))
    cfg = TileConfig(ramp_shift=2, noise_seed=77, noise_sigma=900)
    x = random_words(rng, p, InputMode.UNSIGNED, 5)
    for i in range(3):
        tile.mvm(x[i], cfg, mvm_index=i)        # leaves noise drawn ahead in the scratch
    copy = pickle.loads(pickle.dumps(tile))
    want = mvm_ref(tile, x, cfg, 3)
    assert np.array_equal(copy.mvm(x, cfg, mvm_index=3), want)
    assert np.array_equal(copy.mvm(x[1], cfg, mvm_index=4), want[1])


def test_threads_keep_their_own_noise():
    p = PATHS["float_one_clip"]
    rng = np.random.default_rng(5)
    tile = Tile(p, rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, p.devices_per_weight)))
    cfgs = [TileConfig(ramp_shift=3, noise_seed=s, noise_sigma=2000) for s in (1, 2, 3)]
    x = random_words(rng, p, InputMode.UNSIGNED, 150)
    want = [tile.run(x, c, mvm_index=40).y for c in cfgs]
    bad = []

    def worker(k):
        for i in range(len(x)):
            if not np.array_equal(tile.mvm(x[i], cfgs[k], mvm_index=40 + i), want[k][i]):
                bad.append((k, i))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_bad_words_and_indices_keep_their_errors():
    p = PATHS["float_one_clip"]
    tile = Tile(p)
    tile._block = 4
    cfg = TileConfig(noise_sigma=100)
    x = np.zeros((20, p.rows), dtype=np.int64)
    x[13, 5] = p.duration_max + 1
    with pytest.raises(ValueError, match=r"x\[13, 5\] = 64 is outside \[0, 63\]"):
        tile.mvm(x, cfg)
    with pytest.raises(ValueError, match=r"x\[13, 5\]"):       # the word is reported first
        tile.mvm(x, cfg, mvm_index=-1)
    x[13, 5] = 0
    with pytest.raises(ValueError, match="mvm_index"):
        tile.mvm(x, cfg, mvm_index=-1)
    with pytest.raises(ValueError, match="the last vector of the batch"):
        tile.mvm(x, cfg, mvm_index=MVM_INDEX_MAX - 18)
    with pytest.raises(TypeError, match="mvm_index"):
        tile.mvm(x[0], cfg, mvm_index=True)
    with pytest.raises(TypeError, match="mvm_index"):
        tile.mvm(x, cfg, mvm_index=2.0)
    with pytest.raises(ValueError, match="mvm_index"):
        tile.mvm(x[:0], cfg, mvm_index=MVM_INDEX_MAX + 1)
    assert tile.mvm(x[:0], cfg, mvm_index=MVM_INDEX_MAX).shape == (0, p.cols)
    assert np.array_equal(tile.mvm(x, cfg, mvm_index=np.int64(MVM_INDEX_MAX - 19)),
                          tile.run(x, cfg, mvm_index=MVM_INDEX_MAX - 19).y)
