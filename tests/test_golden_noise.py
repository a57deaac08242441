"""golden.noise: the deterministic read noise of the MVM, and its path through golden.Tile."""
import numpy as np
import pytest

from golden import Tile, TileConfig, TileParams
from golden.noise import NOISE_MAX_SIGMA, noise_keys, noise_max, noise_sd, read_noise
from golden.rng import irwin_hall, mix32
from golden.regs import OKAY, REGISTERS, SLVERR, RegisterFile
from golden.spec import ErrorBit


def test_formula_by_hand():
    """One column of one MVM computed step by step from the documented formula."""
    seed, sigma, n, c = 0x1234ABCD, 777, 41, 5
    key = mix32(seed ^ mix32(n))
    u = mix32((key + c * 0x9E3779B9) & 0xFFFFFFFF)
    total = sum((u >> s) & 255 for s in (0, 8, 16, 24)) - 510
    assert read_noise(seed, sigma, n, 8)[c] == (total * sigma) >> 8
    assert int(noise_keys(seed, np.array([n]))[0]) == key


def test_statistics():
    """Mean -1/2 (the floor) and sd sigma * 147.8 / 256 over 1M draws; tolerances: 5 standard
    errors on the mean, 0.5 % on the sd (a 2 % error in the scale fails)."""
    sigma = 1000
    x = read_noise(7, sigma, np.arange(2000), 500).astype(np.float64)
    sd = noise_sd(sigma)
    assert abs(x.mean() + 0.5) < 5 * sd / np.sqrt(x.size)
    assert abs(x.std() / sd - 1) < 0.005
    assert x.min() >= -noise_max(sigma) and x.max() <= noise_max(sigma)
    # columns and MVMs are uncorrelated
    assert abs(np.corrcoef(x[:, 0], x[:, 1])[0, 1]) < 0.1
    assert abs(np.corrcoef(x[:-1, 3], x[1:, 3])[0, 1]) < 0.1


def test_deterministic_and_keyed():
    a = read_noise(3, 500, np.arange(10), 16)
    assert np.array_equal(a, read_noise(3, 500, np.arange(10), 16))
    assert not np.array_equal(a, read_noise(4, 500, np.arange(10), 16))
    assert not np.array_equal(a, read_noise(3, 500, np.arange(1, 11), 16))
    assert np.array_equal(a[4], read_noise(3, 500, 4, 16))
    assert not read_noise(3, 0, np.arange(10), 16).any()


def test_irwin_hall_range():
    u = np.array([0, 0xFFFFFFFF, 0x01020304], dtype=np.uint32)
    assert irwin_hall(u).tolist() == [-510, 510, 10 - 510]


def test_bound_covers_the_largest_noise():
    p = TileParams()
    assert p.read_noise_max == noise_max(NOISE_MAX_SIGMA)
    assert p.accumulator_bits >= (p.accumulator_max + p.read_noise_max).bit_length() + 1


@pytest.mark.parametrize("params", [TileParams(rows=32, cols=24),
                                    TileParams(rows=6, cols=5, in_bits=4, charge_bits=9)])
def test_tile_paths_agree_with_noise(params):
    """run, batched mvm and single-vector mvm give the same words with noise on; noise moves
    the outputs; vector i of a batch uses MVM index mvm_index + i."""
    rng = np.random.default_rng(5)
    tile = Tile(params, rng.integers(0, params.code_max + 1,
                                     size=(params.rows, params.cols, params.devices_per_weight)))
    x = rng.integers(0, params.duration_max + 1, size=(9, params.rows))
    cfg = TileConfig(ramp_shift=4, noise_seed=99, noise_sigma=3000)
    y = tile.run(x, cfg, mvm_index=11).y
    assert np.array_equal(y, tile.mvm(x, cfg, mvm_index=11))
    for i in range(len(x)):
        assert np.array_equal(y[i], tile.mvm(x[i], cfg, mvm_index=11 + i))
        assert np.array_equal(y[i], tile.run(x[i], cfg, mvm_index=11 + i).y)
    quiet = TileConfig(ramp_shift=4)
    assert (tile.mvm(x, quiet) != y).any()
    r = tile.run(x, cfg, mvm_index=11)
    clean = tile.run(x, quiet)
    assert np.array_equal(r.charge - clean.charge,
                          read_noise(99, 3000, 11 + np.arange(len(x)), params.cols))


def test_bad_noise_configuration():
    p = TileParams(rows=4, cols=3)
    tile = Tile(p)
    x = np.zeros(4, dtype=np.int64)
    with pytest.raises(ValueError, match="noise_sigma"):
        tile.mvm(x, TileConfig(noise_sigma=1 << 16))
    with pytest.raises(ValueError, match="noise_seed"):
        tile.mvm(x, TileConfig(noise_seed=-1))
    with pytest.raises(TypeError, match="noise_sigma"):
        tile.mvm(x, TileConfig(noise_sigma=1.5))
    with pytest.raises(ValueError, match="mvm_index"):
        tile.mvm(x, TileConfig(noise_sigma=5), mvm_index=-1)
    with pytest.raises(TypeError, match="mvm_index"):
        tile.run(x, TileConfig(), mvm_index="3")
    with pytest.raises(ValueError, match="noise sigma"):
        read_noise(1, 1 << 16, 0, 4)
    with pytest.raises(ValueError, match="noise seed"):
        read_noise(1 << 32, 1, 0, 4)


def test_registers():
    p = TileParams(rows=4, cols=3)
    regs = RegisterFile(p)
    seed_addr = REGISTERS["NOISE_SEED"].address
    sigma_addr = REGISTERS["NOISE_SIGMA"].address
    assert regs.write(seed_addr, 0xFFFFFFFF) == OKAY
    assert regs.write(sigma_addr, 0xFFFF) == OKAY
    assert regs.write(sigma_addr, 0x10000) == SLVERR
    assert regs.error == 1 << ErrorBit.BAD_VALUE
    assert regs.read(sigma_addr) == (0xFFFF, OKAY)
    assert regs.write(sigma_addr, 5, busy=True) == SLVERR
    cfg = regs.config()
    assert (cfg.noise_seed, cfg.noise_sigma) == (0xFFFFFFFF, 0xFFFF)
    fresh = RegisterFile(p)
    writes = fresh.load(cfg)
    assert (seed_addr, 0xFFFFFFFF) in writes and (sigma_addr, 0xFFFF) in writes
