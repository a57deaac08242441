"""Fault injection on the tile (docs/faults.md), checked against the golden model (any driver:
``tb.simdrv.SimTileDriver`` for amaranth.sim, ``tb.cocotbdrv.TileTB`` for Verilator and Icarus).

Random stuck devices, one dead lane and one dead column are written through the FAULT_*
registers (and read back row by row); then host row writes (which keep the stuck codes) and
MVMs with read noise, closed-loop programming of some rows (cycles, PROG_* status, fail masks),
MVMs on the result, and calibration (REFERENCE, COMPENSATE per column and global: every GAIN,
CAL_SKIPPED, CAL_DEAD, CAL_DEAD_MASK, ERROR, cycles) must equal the golden tile holding the
same ``golden.faults.FaultMap``.
"""
import numpy as np

from golden.calibration import CalOp, CalScope, Calibrator, pack_cal_cmd
from golden.faults import FaultMap
from golden.program import ProgramConfig
from golden.regs import (OKAY, REGISTERS, RegisterFile, fail_mask_address, fail_mask_words,
                         gain_address)
from golden.spec import Activation, ErrorBit, InputMode, TileConfig
from golden.tile import Tile as GoldenTile
from .scoreboard import assert_equal_arrays
from .stimulus import random_codes, random_inputs

__all__ = ["run_fault_scenario"]


def random_full_config(rng, p, mode, activation):
    """Any legal gain, offset and EN window, read noise on or off (as tests/test_sim_tile)."""
    return TileConfig(
        input_mode=mode, activation=activation,
        ramp_shift=int(rng.integers(0, min(p.ramp_shift_max, 8) + 1)),
        en_lo=-3, en_hi=-3 + int(rng.integers(0, p.out_max + 1)),
        gain=rng.integers(0, 1 << p.gain_bits, size=p.cols),
        offset=rng.integers(-(1 << p.out_bits), 1 << p.out_bits, size=p.cols),
        noise_seed=int(rng.integers(0, 1 << 32)),
        noise_sigma=int(rng.choice([0, rng.integers(1, 64), rng.integers(1, 1 << 16)])))


async def write_all(drv, writes, what):
    for address, data in writes:
        assert await drv.csr_write(address, data) == OKAY, f"{what}: {address:#x} <- {data:#x}"


async def check_registers(drv, regs, addresses, what):
    for address in addresses:
        got, resp = await drv.csr_read(address)
        want, want_resp = regs.read(address)
        assert (got, resp) == (want, want_resp), \
            f"{what}: register {address:#x} reads {got:#x}, expected {want:#x}"


def mvm_flags(regs, expected):
    """Mirror the sticky MVM events of a batch in the register model."""
    if expected.cap_sat.any():
        regs.error |= 1 << ErrorBit.CAP_SAT
    if expected.out_sat.any():
        regs.error |= 1 << ErrorBit.OUT_SAT


def fault_config(cfg, faults):
    cfg.dead_lanes, cfg.dead_cols = faults.dead_lanes.copy(), faults.dead_cols.copy()
    return cfg


async def run_fault_scenario(drv, p, seed: int, log=print):
    rng = np.random.default_rng(seed)
    faults = FaultMap.random(p, float(rng.uniform(0.1, 0.3)), seed=int(rng.integers(0, 1 << 32)),
                             full_fraction=float(rng.uniform(0.3, 0.7)), dead_lanes=1,
                             dead_cols=1)
    golden = GoldenTile(p, faults=faults)
    log(f"faults: {faults!r} (seed {seed})")
    codes = random_codes(rng, p)
    mvm_jobs = []
    for mode in InputMode:
        cfg = fault_config(random_full_config(rng, p, mode, Activation.IDENTITY), faults)
        mvm_jobs.append((cfg, random_inputs(rng, p, mode, 3)))
    prog_jobs = []
    for row in rng.permutation(p.rows)[:4]:
        cfg = ProgramConfig(seed=int(rng.integers(0, 1 << 32)), tol=int(rng.integers(0, 3)),
                            pulse_gain=int(rng.integers(100, 256)),
                            noise_scale=int(rng.choice([0, 16, 64])),
                            max_iter=int(rng.integers(1, 20)))
        prog_jobs.append((int(row), cfg,
                          rng.integers(-p.weight_max, p.weight_max + 1, size=p.cols)))

    regs = RegisterFile(p)
    await write_all(drv, regs.load_faults(faults), "fault injection")
    assert regs.faults() == faults
    # read-back of the fault memory, row by row
    fault_words = [regs.map.address(name, i) for name in ("FAULT_MASK", "FAULT_LEVEL")
                   for i in range(regs.map["FAULT_MASK"].count)]
    for row in range(p.rows):
        assert regs.write(REGISTERS["FAULT_ROW"].address, row) == OKAY
        assert await drv.csr_write(REGISTERS["FAULT_ROW"].address, row) == OKAY
        await check_registers(drv, regs, fault_words, f"row {row} faults (seed {seed})")

    # host row writes keep the stuck codes; MVMs with dead lanes and columns and noise
    golden.program(codes)
    await drv.program(codes)
    done = 0
    for cfg, xs in mvm_jobs:
        await write_all(drv, regs.load(cfg), "configuration")
        expected = golden.run(xs, regs.config(), mvm_index=done)
        done += len(xs)
        for i, x in enumerate(xs):
            y, latency = await drv.mvm(x)
            assert_equal_arrays(expected.y[i], y, f"y ({cfg.input_mode.name}, vector {i})",
                                seed)
            assert latency == expected.timing.latency
        mvm_flags(regs, expected)
    regs.mvm_count = done
    await check_registers(drv, regs, [REGISTERS["ERROR"].address, REGISTERS["MVM_COUNT"]
                                      .address], f"after the MVMs (seed {seed})")

    # closed-loop programming: stuck devices do not move, the fail mask reports it
    status = [REGISTERS[n].address for n in ("PROG_STATUS", "PROG_ITER", "PROG_FAILS",
                                             "PROG_ROWS")] + \
        [fail_mask_address(k) for k in range(fail_mask_words(p))]
    for row, cfg, targets in prog_jobs:
        await write_all(drv, regs.load_program(cfg), "PROG_*")
        expected = golden.program_targets(row, targets, cfg)
        cycles = await drv.program_targets(row, targets)
        assert cycles == expected.cycles + 1, (row, cycles, expected.cycles, seed)
        regs.programmed(expected)
        await check_registers(drv, regs, status, f"row {row} {cfg} (seed {seed})")
    cfg = regs.config()
    xs = random_inputs(rng, p, cfg.input_mode, 3)
    expected = golden.run(xs, cfg, mvm_index=regs.mvm_count)
    for i, x in enumerate(xs):
        y, _ = await drv.mvm(x)
        assert_equal_arrays(expected.y[i], y, f"MVM {i} after closed-loop programming", seed)
    regs.mvm_count += len(xs)
    mvm_flags(regs, expected)

    # calibration: the dead column reads 0, is reported and keeps its reference gain
    calib = Calibrator(p)
    cal_regs = [REGISTERS[n].address for n in ("CAL_STATUS", "CAL_SKIPPED", "CAL_CLIPPED",
                                               "CAL_DEAD", "MVM_COUNT", "ERROR")] + \
        [regs.map.address("CAL_DEAD_MASK", k)
         for k in range(regs.map["CAL_DEAD_MASK"].count)] + \
        [gain_address(c) for c in range(p.cols)]
    gains = TileConfig(**{**regs.config().__dict__,
                          "gain": rng.integers(p.gain_one // 2, p.gain_one + 1,
                                               size=p.cols)})
    await write_all(drv, regs.load(gains), "gains")
    aged = None
    for op, scope in ((CalOp.REFERENCE, CalScope.PER_COLUMN),
                      (CalOp.COMPENSATE, CalScope.PER_COLUMN),
                      (CalOp.COMPENSATE, CalScope.GLOBAL)):
        if op == CalOp.COMPENSATE and aged is None:
            aged = np.floor(golden.codes * rng.uniform(0.5, 1.0, size=p.cols)[None, :, None]
                            ).astype(np.int64)
            golden.program(aged)
            await drv.program(aged)
        cmd = pack_cal_cmd(op, scope)
        assert regs.write(REGISTERS["CAL_CMD"].address, cmd) == OKAY
        expected = calib.run(op, scope, golden.codes, regs.config(), regs.cal_input_word(),
                             regs.mvm_count)
        resp, cycles = await drv.calibrate(cmd)
        assert (resp, cycles) == (OKAY, expected.cycles)
        assert expected.dead[faults.dead_cols].all()
        regs.calibrated(expected)
        await check_registers(drv, regs, cal_regs, f"{op.name} {scope.name} (seed {seed})")
    xs = random_inputs(rng, p, regs.config().input_mode, 2)
    expected = golden.run(xs, regs.config(), mvm_index=regs.mvm_count)
    for i, x in enumerate(xs):
        y, _ = await drv.mvm(x)
        assert_equal_arrays(expected.y[i], y, f"MVM {i} after calibration", seed)

