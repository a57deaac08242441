"""Seeded random stimulus shared by the amaranth.sim and cocotb tiers."""
import numpy as np

from golden.spec import (EN_LO_BITS, Activation, InputMode, TileConfig, TileParams, check_enum,
                         check_int, check_params)

__all__ = ["random_codes", "random_inputs", "random_config", "fitted_ramp_shift"]


def random_codes(rng, p: TileParams) -> np.ndarray:
    check_params(p, "p")
    return rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, p.devices_per_weight))


def random_inputs(rng, p: TileParams, mode: InputMode, n: int) -> np.ndarray:
    check_params(p, "p")
    n = check_int("n", n, 0)
    lo, hi = p.input_range(mode)
    return rng.integers(lo, hi + 1, size=(n, p.rows))


def fitted_ramp_shift(golden, xs, mode: InputMode) -> int:
    """A ramp slope that puts the typical |charge| of ``xs`` near a quarter of full scale,
    so random tests exercise the whole output range rather than saturation only."""
    p = golden.params
    charge = golden.run(xs, TileConfig(input_mode=mode)).charge_sat
    typical = float(np.percentile(np.abs(charge), 75)) if charge.size else 0.0
    if typical < 1:
        return 0
    return int(np.clip(np.ceil(np.log2(typical / max(1, p.out_max / 4))), 0, p.ramp_shift_max))


def random_config(rng, p: TileParams, mode: InputMode, activation: Activation,
                  ramp_shift: int) -> TileConfig:
    check_params(p, "p")
    mode = check_enum("mode", mode, InputMode)
    activation = check_enum("activation", activation, Activation)
    ramp_shift = check_int("ramp_shift", ramp_shift, 0, p.ramp_shift_max)
    width = int(rng.integers(0, p.out_max + 1))
    # EN_WINDOW's lower edge is a 16-bit signed field (golden.spec.EN_LO_BITS)
    lo_limit = min(p.out_max, (1 << (EN_LO_BITS - 1)) - 1)
    lo = int(rng.integers(-lo_limit, lo_limit + 1))
    gain_spread = max(1, p.gain_one // 4)
    # read noise in half the configurations, up to about one output LSB (2^ramp_shift charge
    # units at gain 1.0) of standard deviation
    sigma = 0 if rng.random() < 0.5 else int(min(65535, rng.integers(1, (2 << ramp_shift) + 1)))
    return TileConfig(
        noise_seed=int(rng.integers(0, 1 << 32)), noise_sigma=sigma,
        input_mode=mode, activation=activation, ramp_shift=ramp_shift,
        en_lo=lo, en_hi=lo + width,
        gain=np.clip(p.gain_one + rng.integers(-gain_spread, gain_spread + 1, size=p.cols),
                     0, (1 << p.gain_bits) - 1),
        offset=rng.integers(-(p.out_max // 4) - 1, p.out_max // 4 + 1, size=p.cols))
