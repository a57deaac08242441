"""Drift calibration on the tile, checked against ``golden.calibration`` (any driver).

The driver needs ``csr_write``, ``csr_read``, ``program``, ``mvm`` and
``calibrate(cmd) -> (AXI response, busy cycles)`` (``tb.simdrv.SimTileDriver`` for amaranth.sim,
``tb.cocotbdrv.TileTB`` for Verilator and Icarus) and ``wait_idle()``.

What it checks, in order:

1. bad commands: ``COMPENSATE`` before any ``REFERENCE``, reserved ``CAL_CMD`` bits and a too
   wide ``CAL_INPUT`` answer SLVERR with ``BAD_VALUE`` and start nothing;
2. ``REFERENCE`` on random codes (some columns all zero) with a random configuration (read
   noise on or off): busy cycles, ``CAL_STATUS``, ``MVM_COUNT``, every ``GAIN[c]`` unchanged;
   ``GAIN`` and ``CAL_CMD`` writes while it runs answer ``BUSY_WRITE``;
3. "drift": every column's codes scaled by a random factor in [0.3, 1] (one column to zero),
   then ``COMPENSATE`` per column and globally: busy cycles, every ``GAIN[c]``,
   ``CAL_SKIPPED``, ``CAL_CLIPPED``, ``ERROR``;
4. MVMs with the compensated gains (read noise keyed by ``MVM_COUNT``, which calibration reads
   advance).
"""
import numpy as np

from golden.calibration import CalOp, CalScope, Calibrator, pack_cal_cmd
from golden.regs import OKAY, SLVERR, REGISTERS, RegisterFile, gain_address
from golden.spec import Activation, ErrorBit, InputMode
from golden.tile import Tile as GoldenTile
from . import coverage
from .scoreboard import assert_equal_arrays
from .stimulus import fitted_ramp_shift, random_codes, random_config, random_inputs

__all__ = ["run_calibration_scenario", "aged_codes", "codes_for_reads",
           "run_compensation_cases"]

_ERROR = REGISTERS["ERROR"].address


def aged_codes(rng, codes, p):
    """Every column's codes scaled by its own factor in [0.3, 1] (floor); column 0 to zero."""
    factor = rng.uniform(0.3, 1.0, size=p.cols)
    factor[0] = 0.0
    return np.floor(codes * factor[None, :, None]).astype(np.int64)


async def _expect(drv, address, expected, what):
    got, resp = await drv.csr_read(address)
    assert resp == OKAY and got == expected, f"{what}: reads {got:#x}, expected {expected:#x}"


async def _check_registers(drv, regs: RegisterFile, what: str):
    p = regs.p
    for name in ("CAL_STATUS", "CAL_SKIPPED", "CAL_CLIPPED", "CAL_CMD", "CAL_INPUT",
                 "MVM_COUNT", "ERROR"):
        address = REGISTERS[name].address
        await _expect(drv, address, regs.read(address)[0], f"{what}: {name}")
    gains = []
    for c in range(p.cols):
        data, resp = await drv.csr_read(gain_address(c))
        assert resp == OKAY
        gains.append(data)
    assert_equal_arrays(regs.gain, gains, f"{what}: GAIN")


async def _clear_errors(drv, regs: RegisterFile):
    assert await drv.csr_write(_ERROR, (1 << 32) - 1) == OKAY
    regs.error = 0


async def _command(drv, regs, calib, golden_codes, op, scope, what, log):
    cmd = pack_cal_cmd(op, scope)
    assert regs.write(REGISTERS["CAL_CMD"].address, cmd) == OKAY
    cfg = regs.config()
    expected = calib.run(op, scope, golden_codes, cfg, regs.cal_input_word(), regs.mvm_count)
    resp, cycles = await drv.calibrate(cmd)
    assert resp == OKAY, f"{what}: CAL_CMD answered {resp}"
    assert cycles == expected.cycles, \
        f"{what}: busy for {cycles} cycles, golden {expected.cycles}"
    regs.calibrated(expected)
    await _check_registers(drv, regs, what)
    coverage.sample_calibration(expected)
    log(f"{what}: {cycles} cycles, skipped {expected.skipped}, clipped {expected.clipped}, "
        f"gains {int(expected.gain.min())}..{int(expected.gain.max())}")
    return expected


async def run_calibration_scenario(drv, p, seed: int, log=print, mvms: int = 4):
    rng = np.random.default_rng(seed)
    regs = RegisterFile(p)
    calib = Calibrator(p)
    codes = random_codes(rng, p)
    codes[:, int(rng.integers(0, p.cols))] = 0          # a column with no conductance at all
    golden = GoldenTile(p, codes)
    await drv.program(codes)

    # 1. bad commands
    for address, data, what in (
            (REGISTERS["CAL_CMD"].address, pack_cal_cmd(CalOp.COMPENSATE), "COMPENSATE first"),
            (REGISTERS["CAL_CMD"].address, 1 << 2, "reserved CAL_CMD bit"),
            (REGISTERS["CAL_INPUT"].address, 1 << p.in_bits, "CAL_INPUT too wide")):
        expected = regs.write(address, data)
        assert expected == SLVERR
        resp, cycles = await drv.calibrate(data) if address == REGISTERS["CAL_CMD"].address \
            else (await drv.csr_write(address, data), 0)
        assert resp == SLVERR and cycles == 0, f"{what}: answered {resp}, busy {cycles} cycles"
    await _check_registers(drv, regs, "after bad commands")
    assert regs.error == 1 << ErrorBit.BAD_VALUE
    await _clear_errors(drv, regs)

    # 2. reference, with a configuration of random gains (and noise in half the cases)
    mode = InputMode(int(rng.integers(0, 2)))
    xs = random_inputs(rng, p, mode, mvms)
    cfg = random_config(rng, p, mode, Activation.IDENTITY, fitted_ramp_shift(golden, xs, mode))
    if rng.random() < 0.5:
        cfg.noise_sigma = int(rng.integers(1, 64))
    for address, data in regs.load(cfg):
        assert await drv.csr_write(address, data) == OKAY
    if rng.random() < 0.5:          # a CAL_INPUT of its own, else the reset value
        lo, hi = p.input_range(mode)
        word = int(rng.integers(max(1, lo), hi + 1)) & ((1 << p.in_bits) - 1)
        assert regs.write(REGISTERS["CAL_INPUT"].address, word) == OKAY
        assert await drv.csr_write(REGISTERS["CAL_INPUT"].address, word) == OKAY
    await _command(drv, regs, calib, golden.codes, CalOp.REFERENCE, CalScope.PER_COLUMN,
                   f"REFERENCE ({mode.name}, CAL_INPUT {regs.cal_input}, noise "
                   f"{cfg.noise_sigma}, seed {seed})", log)

    # writes while a calibration runs are refused
    cmd = pack_cal_cmd(CalOp.REFERENCE)
    assert await drv.csr_write(REGISTERS["CAL_CMD"].address, cmd) == OKAY
    assert await drv.csr_write(gain_address(0), 1) == SLVERR
    assert await drv.csr_write(REGISTERS["CAL_CMD"].address, cmd) == SLVERR
    await drv.wait_idle()
    assert regs.write(REGISTERS["CAL_CMD"].address, cmd) == OKAY
    again = calib.run(CalOp.REFERENCE, CalScope.PER_COLUMN, golden.codes, regs.config(),
                      regs.cal_input_word(), regs.mvm_count)
    regs.calibrated(again)
    regs.error |= 1 << ErrorBit.BUSY_WRITE
    await _check_registers(drv, regs, f"REFERENCE with writes while busy (seed {seed})")
    await _clear_errors(drv, regs)

    # 3. drift, then compensation per column and global
    aged = aged_codes(rng, codes, p)
    golden.program(aged)
    await drv.program(aged)
    for scope in (CalScope.PER_COLUMN, CalScope.GLOBAL):
        await _command(drv, regs, calib, golden.codes, CalOp.COMPENSATE, scope,
                       f"COMPENSATE {scope.name} (seed {seed})", log)
        await _clear_errors(drv, regs)

    # 4. MVMs with the compensated gains
    cfg = regs.config()
    expected = golden.run(xs, cfg, mvm_index=regs.mvm_count)
    for i, x in enumerate(xs):
        y, latency = await drv.mvm(x)
        assert_equal_arrays(expected.y[i], y, f"MVM {i} after compensation", seed)
        assert latency == expected.timing.latency
    regs.mvm_count += len(xs)
    await _expect(drv, REGISTERS["MVM_COUNT"].address, regs.mvm_count, "MVM_COUNT at the end")


def codes_for_reads(p, reads) -> np.ndarray:
    """Codes whose conductance read with a CAL_INPUT of duration 1 gives ``reads[c]`` per
    column before the sign of the input (``golden.calibration.conductance_weights``: every
    device adds its code; F times for the MSP pair): devices filled in order, row 0 first. A
    read beyond what the column can hold is refused."""
    codes = np.zeros((p.rows, p.cols, p.devices_per_weight), dtype=np.int64)
    scale = [p.f_factor] * 2 + [1] * (p.devices_per_weight - 2)
    for c, total in enumerate(reads):
        left = int(total)
        for r in range(p.rows):
            for d in range(p.devices_per_weight - 1, -1, -1):      # the LSP pair first
                k = min(left // scale[d], p.code_max)
                codes[r, c, d] = k
                left -= k * scale[d]
        if left:
            raise ValueError(f"reads[{c}] = {total} is beyond the column's conductance")
    return codes


async def run_compensation_cases(drv, p, runs, log=print):
    """Directed REFERENCE / COMPENSATE pairs with chosen conductance reads, for the corners a
    random scenario rarely reaches: reads of 0 and at +-charge_max, sign changes, tiny global
    sums and ties of the gain division (odd gains).

    ``runs``: ``(reference, current, ref_input, cur_input, gains)`` each: per-column reads
    before the input's sign (:func:`codes_for_reads`), the CAL_INPUT words (SIGNED mode, so
    -1 reads negative) of the two commands, and the GAIN registers before the REFERENCE. Every
    command is checked as in :func:`run_calibration_scenario` (cycles, every GAIN,
    CAL_SKIPPED, CAL_CLIPPED, ERROR); returns ``(op, scope, golden CalResult)`` of each."""
    from golden.spec import TileConfig
    mask = (1 << p.in_bits) - 1
    results = []
    for k, (reference, current, ref_input, cur_input, gains) in enumerate(runs):
        regs = RegisterFile(p)
        calib = Calibrator(p)
        await drv.reset()
        ref_codes, cur_codes = codes_for_reads(p, reference), codes_for_reads(p, current)
        golden = GoldenTile(p, ref_codes)
        await drv.program(ref_codes)
        cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY,
                         gain=np.asarray(gains, dtype=np.int64))
        for address, data in regs.load(cfg):
            assert await drv.csr_write(address, data) == OKAY
        for op, codes, word in ((CalOp.REFERENCE, None, ref_input),
                                (CalOp.COMPENSATE, cur_codes, cur_input)):
            if codes is not None:
                golden.program(codes)
                await drv.program(codes)
            address = REGISTERS["CAL_INPUT"].address
            assert regs.write(address, word & mask) == OKAY
            assert await drv.csr_write(address, word & mask) == OKAY
            scopes = (CalScope.PER_COLUMN,) if op == CalOp.REFERENCE else \
                (CalScope.PER_COLUMN, CalScope.GLOBAL)
            for scope in scopes:
                reads = list(reference if codes is None else current)
                results.append((op, scope, await _command(
                    drv, regs, calib, golden.codes, op, scope,
                    f"run {k}: {op.name} {scope.name}, reads {reads}, input {word}", log)))
                await _clear_errors(drv, regs)
    return results
