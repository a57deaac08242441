"""Fast tier: the whole tile in amaranth.sim against the golden model, small sizes."""
import numpy as np
import pytest

from golden.regs import OKAY, REGISTERS, RegisterFile
from golden.spec import Activation, InputMode, TileConfig, TileParams
from golden.tile import Tile as GoldenTile
from tb.scoreboard import assert_equal_arrays
from tb.simdrv import run_sim
from tb.stimulus import random_codes, random_inputs


def full_range_config(rng, p, mode, activation):
    """Any legal gain, offset and EN window (wider than tb.stimulus.random_config, which
    keeps outputs mid-range for the long RTL runs)."""
    return TileConfig(
        input_mode=mode, activation=activation,
        ramp_shift=int(rng.integers(0, min(p.ramp_shift_max, 8) + 1)),
        en_lo=-3, en_hi=-3 + int(rng.integers(0, p.out_max + 1)),
        gain=rng.integers(0, 1 << p.gain_bits, size=p.cols),
        offset=rng.integers(-(1 << p.out_bits), 1 << p.out_bits, size=p.cols),
        noise_seed=int(rng.integers(0, 1 << 32)),
        noise_sigma=int(rng.choice([0, rng.integers(1, 64), rng.integers(1, 1 << 16)])))


async def configure(drv, regfile, config):
    for address, data in regfile.load(config):
        assert await drv.csr_write(address, data) == OKAY, hex(address)


PARAM_SETS = [
    TileParams(rows=4, cols=3, in_bits=4, out_bits=4, code_bits=3, charge_bits=10),
    TileParams(rows=5, cols=4, in_bits=3, out_bits=5, code_bits=4, devices_per_weight=2,
               charge_bits=12, gain_bits=6, gain_frac_bits=4),
    TileParams(rows=3, cols=2, in_bits=4, out_bits=3, code_bits=2, f_factor=3, charge_bits=8,
               eval_rows=1),        # row-serial evaluation
]


@pytest.mark.parametrize("params", PARAM_SETS, ids=lambda p: f"{p.rows}x{p.cols}d{p.devices_per_weight}")
def test_random_mvms_every_mode(params, seed):
    rng = np.random.default_rng(seed)
    golden = GoldenTile(params, random_codes(rng, params))
    jobs = []
    for mode in InputMode:
        for act in Activation:
            cfg = full_range_config(rng, params, mode, act)
            jobs.append((cfg, random_inputs(rng, params, mode, 3)))

    async def tb(drv, ctx, dut):
        regfile = RegisterFile(params)
        await drv.program(golden.codes)
        done = 0
        for cfg, xs in jobs:
            await configure(drv, regfile, cfg)
            expected = golden.run(xs, cfg, mvm_index=done)
            done += len(xs)
            for i, x in enumerate(xs):
                y, latency = await drv.mvm(x, output_delay=int(rng.integers(0, 3)))
                assert_equal_arrays(expected.y[i], y, f"y ({cfg.input_mode.name}, "
                                    f"{cfg.activation.name}, vector {i})", seed)
                assert latency == expected.timing.latency, (latency, expected.timing)
                data, _ = await drv.csr_read(REGISTERS["LAST_LATENCY"].address)
                assert data == latency

    run_sim(params, tb)


@pytest.mark.parametrize("params", PARAM_SETS, ids=lambda p: f"{p.rows}x{p.cols}d{p.devices_per_weight}")
def test_closed_loop_programming(params, seed):
    """Every row programmed through the target stream (random legal configurations, noise
    on): cycles, PROG_* status and fail masks per row, then MVMs on the programmed codes."""
    from golden.program import ProgramConfig
    from golden.regs import fail_mask_address, fail_mask_words
    rng = np.random.default_rng(seed)
    golden = GoldenTile(params)
    wmax = params.weight_max
    jobs = []
    for row in range(params.rows):
        cfg = ProgramConfig(seed=int(rng.integers(0, 1 << 32)),
                            tol=int(rng.integers(0, min(params.code_max, 2) + 1)),
                            pulse_gain=int(rng.integers(1, 256)),
                            noise_scale=int(rng.integers(0, 256)),
                            max_iter=int(rng.integers(1, 20)))
        jobs.append((row, cfg, rng.integers(-wmax, wmax + 1, size=params.cols)))
    xs = random_inputs(rng, params, InputMode.SIGNED, 4)
    mvm_cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY)

    async def tb(drv, ctx, dut):
        regfile = RegisterFile(params)
        names = ["PROG_STATUS", "PROG_ITER", "PROG_FAILS", "PROG_ROWS", "ERROR"]
        addresses = [REGISTERS[n].address for n in names] + \
            [fail_mask_address(k) for k in range(fail_mask_words(params))]
        for row, cfg, targets in jobs:
            for address, data in regfile.load_program(cfg):
                assert await drv.csr_write(address, data) == OKAY
            expected = golden.program_targets(row, targets, cfg)
            cycles = await drv.program_targets(row, targets)
            assert cycles == expected.cycles + 1, (row, cycles, expected.cycles)
            regfile.programmed(expected)
            for address in addresses:
                got, _ = await drv.csr_read(address)
                want, _ = regfile.read(address)
                assert got == want, f"row {row} {cfg}: register {address:#x} reads {got:#x}, " \
                                    f"expected {want:#x} (seed {seed})"
        await configure(drv, regfile, mvm_cfg)
        expected = golden.run(xs, mvm_cfg)
        for i, x in enumerate(xs):
            y, _ = await drv.mvm(x)
            assert_equal_arrays(expected.y[i], y, f"MVM {i} after closed-loop programming", seed)

    run_sim(params, tb)
