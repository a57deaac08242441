"""cocotb tests of the tile top against the golden model (coroutines only; run by tests/)."""
import json
import os
import time

import numpy as np
import cocotb
from cocotb.triggers import Edge, FallingEdge, ReadOnly, RisingEdge

from golden.regs import (GAIN_BASE, OFFSET_BASE, OKAY, REGISTERS, SLVERR, pack_ctrl,
                         pack_en_window)
from golden.spec import Activation, ErrorBit, InputMode, Phase, TileConfig
from golden.tile import Tile as GoldenTile
from .cocotbdrv import TileTB
from .scoreboard import assert_equal_arrays
from .stimulus import fitted_ramp_shift, random_codes, random_config, random_inputs

ERROR = REGISTERS["ERROR"].address


def _seed():
    seed = int(os.environ.get("TEST_SEED", "1"))
    cocotb.log.info(f"seed {seed}")
    return seed


async def _start(dut, codes=None, seed=0):
    tb = TileTB(dut)
    await tb.reset()
    golden = GoldenTile(tb.p)
    if codes is None:
        codes = random_codes(np.random.default_rng(seed), tb.p)
    golden.program(codes)
    await tb.program(codes)
    return tb, golden


async def _check_flags(tb, cap_sat: bool, out_sat: bool, what: str):
    error, _ = await tb.csr_read(ERROR)
    got = (bool(error >> ErrorBit.CAP_SAT & 1), bool(error >> ErrorBit.OUT_SAT & 1))
    assert got == (cap_sat, out_sat), f"{what}: CAP_SAT/OUT_SAT {got}, expected {(cap_sat, out_sat)}"
    assert await tb.csr_write(ERROR, 0xFF) == OKAY


@cocotb.test()
async def random_mvms(dut):
    """Seeded random MVMs over every input mode and activation; values, latency and flags.

    ``TEST_MVMS`` sets the count, ``TEST_STALL`` the fraction of MVMs with random idle cycles
    and back-pressure, ``TEST_GROUPS`` how many (mode, activation) pairs to visit.
    With ``TEST_SUMMARY=<path>`` it writes the run's figures (MVMs, mismatching words and
    latencies with the first of each, cycles per MVM, simulated cycles per second, the error
    that ended the run early if any) there as JSON, for the demo and the benchmark; the file is
    written however the run ends. ``TEST_CORRUPT_EXPECTED=<n>`` changes the expected word of
    column 0 of MVM n, so that the reporting of a mismatch can be tested.
    """
    seed = _seed()
    rng = np.random.default_rng(seed)
    count = int(os.environ.get("TEST_MVMS", "64"))
    stall = float(os.environ.get("TEST_STALL", "0"))   # fraction of MVMs with idle/back-pressure
    corrupt = os.environ.get("TEST_CORRUPT_EXPECTED")
    corrupt = None if corrupt in (None, "") else int(corrupt)
    tb, golden = await _start(dut, seed=seed)
    p = tb.p
    groups = [(mode, act) for mode in InputMode for act in Activation]
    groups = groups[:int(os.environ.get("TEST_GROUPS", len(groups)))]
    # TEST_PLAIN_CONFIG=1 keeps gain 1.0 and offset 0: no per-column register writes, for
    # measuring speed on a slow simulator at full size
    plain = os.environ.get("TEST_PLAIN_CONFIG", "0") not in ("", "0")
    per_group = max(1, count // len(groups))
    done = mismatches = latency_mismatches = 0
    first_mismatch = first_latency = None
    latency_cycles = None
    mvm_cycles = 0
    mvm_seconds = 0.0
    error = None
    try:
        for g, (mode, act) in enumerate(groups):
            n = per_group if g < len(groups) - 1 else max(1, count - done)
            xs = random_inputs(rng, p, mode, n)
            cfg = random_config(rng, p, mode, act, fitted_ramp_shift(golden, xs, mode))
            if plain:
                cfg.gain = cfg.offset = None
            await tb.configure(cfg)
            expected = golden.run(xs, cfg, mvm_index=done)     # MVM_COUNT keys the read noise
            if corrupt is not None and done <= corrupt < done + n:
                k = corrupt - done
                expected.y[k, 0] = (expected.y[k, 0] + 1) % (p.out_max + 1)
            latency_cycles = expected.timing.latency
            for i, x in enumerate(xs):
                delays = (0, 0)
                if stall and rng.random() < stall:
                    delays = tuple(int(d) for d in rng.integers(0, 2 * p.out_max, size=2))
                t0, c0 = time.perf_counter(), tb.now()
                y, latency = await tb.mvm(x, *delays)
                mvm_seconds += time.perf_counter() - t0
                mvm_cycles += tb.now() - c0
                bad = np.flatnonzero(expected.y[i] != y)
                if len(bad):
                    mismatches += len(bad)
                    if first_mismatch is None:
                        c = int(bad[0])
                        first_mismatch = {"mvm": done + i, "column": c,
                                          "expected": int(expected.y[i][c]), "got": int(y[c]),
                                          "mode": mode.name, "activation": act.name}
                if latency != expected.timing.latency:
                    latency_mismatches += 1
                    if first_latency is None:
                        first_latency = {"mvm": done + i, "expected": expected.timing.latency,
                                         "got": int(latency)}
            done += n
            await _check_flags(tb, bool(expected.cap_sat.any()), bool(expected.out_sat.any()),
                               f"{mode.name}/{act.name}")
        count_reg, _ = await tb.csr_read(REGISTERS["MVM_COUNT"].address)
        assert count_reg == done, f"MVM_COUNT reads {count_reg}, {done} MVMs ran"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        summary = {
            "rows": p.rows, "cols": p.cols, "mvms": done, "mismatches": mismatches,
            "first_mismatch": first_mismatch, "latency_mismatches": latency_mismatches,
            "first_latency_mismatch": first_latency, "latency_cycles": latency_cycles,
            "cycles_per_mvm": mvm_cycles / done if done else 0.0,
            "mvm_per_second": done / mvm_seconds if mvm_seconds else 0.0,
            "cycles_per_second": mvm_cycles / mvm_seconds if mvm_seconds else 0.0,
            "seed": seed, "stall_fraction": stall, "error": error,
        }
        if os.environ.get("TEST_SUMMARY"):
            with open(os.environ["TEST_SUMMARY"], "w") as f:
                json.dump(summary, f)

    def where(m):
        return (f"y[{m['mvm']}][{m['column']}] ({m['mode']}, {m['activation']}): expected "
                f"{m['expected']}, got {m['got']} (seed {seed})")
    assert mismatches == 0, f"{mismatches} output words differ; first: {where(first_mismatch)}"
    assert latency_mismatches == 0, (
        f"{latency_mismatches} latencies differ; first: MVM {first_latency['mvm']}: "
        f"{first_latency['got']} cycles, golden {first_latency['expected']} (seed {seed})")
    cocotb.log.info(f"{done} MVMs, 0 mismatches, {summary['cycles_per_mvm']:.0f} cycles per MVM, "
                    f"{summary['mvm_per_second']:.1f} MVM/s")


@cocotb.test()
async def directed_corners(dut):
    """Zero, full scale of both signs, saturation both ways, ties, one lane, all lanes."""
    tb = TileTB(dut)
    p = tb.p
    await tb.reset()
    golden = GoldenTile(p)
    full_pos = np.full((p.rows, p.cols, p.devices_per_weight), 0)
    full_pos[..., 0] = p.code_max               # every weight +F*code_max (G+ only)
    if p.devices_per_weight == 4:
        full_pos[..., 2] = p.code_max           # and g+
    full_neg = full_pos[..., [1, 0, 3, 2][:p.devices_per_weight]]   # swap + and - devices
    rng = np.random.default_rng(7)
    mixed = random_codes(rng, p)
    cases = []
    for codes_name, codes in (("w=+max", full_pos), ("w=-max", full_neg), ("mixed", mixed)):
        for mode in InputMode:
            lo, hi = p.input_range(mode)
            one_lane = np.zeros(p.rows, dtype=np.int64)
            one_lane[p.rows // 2] = hi
            alternating = np.where(np.arange(p.rows) % 2 == 0, hi, lo)
            vectors = {
                "zero": np.zeros(p.rows, dtype=np.int64),
                "full+": np.full(p.rows, hi), "full-": np.full(p.rows, lo),
                "one lane": one_lane, "alternating signs": alternating,
                "ones": np.ones(p.rows, dtype=np.int64),
            }
            for act in Activation:
                for shift in (0, p.ramp_shift_max // 2, p.ramp_shift_max):
                    cases.append((codes_name, codes, mode, act, shift, vectors))
    current = None
    for codes_name, codes, mode, act, shift, vectors in cases:
        if current is not codes:
            golden.program(codes)
            await tb.program(codes)
            current = codes
        cfg = TileConfig(input_mode=mode, activation=act, ramp_shift=shift,
                         en_lo=-2, en_hi=-2 + p.out_max // 2)
        await tb.configure(cfg)
        names = list(vectors)
        xs = np.stack([vectors[k] for k in names])
        expected = golden.run(xs, cfg)
        for i, name in enumerate(names):
            y, latency = await tb.mvm(xs[i])
            assert_equal_arrays(expected.y[i], y,
                                f"{name} on {codes_name}, {mode.name}, {act.name}, shift {shift}")
            assert latency == expected.timing.latency
        await _check_flags(tb, bool(expected.cap_sat.any()), bool(expected.out_sat.any()),
                           f"{codes_name}/{mode.name}/{act.name}/shift {shift}")


@cocotb.test()
async def rounding_ties(dut):
    """Charges that land exactly half-way between two output codes round up (toward +inf)."""
    tb = TileTB(dut)
    p = tb.p
    await tb.reset()
    codes = np.zeros((p.rows, p.cols, p.devices_per_weight), dtype=np.int64)
    # column c: weight +-(c % code_max + 1) on row 0 only
    mag = np.arange(p.cols) % p.code_max + 1
    codes[0, :, 0] = np.where(np.arange(p.cols) % 2 == 0, mag, 0)
    codes[0, :, 1] = np.where(np.arange(p.cols) % 2 == 1, mag, 0)
    golden = GoldenTile(p, codes)
    await tb.program(codes)
    ties = 0
    for shift in range(1, min(p.ramp_shift_max, 4) + 1):
        for act in (Activation.IDENTITY, Activation.RELU):
            cfg = TileConfig(input_mode=InputMode.UNSIGNED, activation=act, ramp_shift=shift)
            await tb.configure(cfg)
            for d in (1, 3, (1 << shift) - 1, 1 << (shift - 1)):
                x = np.zeros(p.rows, dtype=np.int64)
                x[0] = min(d, p.input_range(InputMode.UNSIGNED)[1])
                expected = golden.run(x, cfg)
                q = expected.charge_sat * (1 << p.gain_frac_bits)
                ties += int(np.sum(q % (1 << (shift + p.gain_frac_bits))
                                   == 1 << (shift + p.gain_frac_bits - 1)))
                y, _ = await tb.mvm(x)
                assert_equal_arrays(expected.y, y, f"tie test shift {shift} x0={x[0]}")
    assert ties > 0, "the stimulus produced no rounding tie"
    cocotb.log.info(f"{ties} ties checked")


@cocotb.test()
async def phase_timing(dut):
    """Every phase lasts as many cycles as golden.timing predicts (STATUS.phase port)."""
    seed = _seed()
    rng = np.random.default_rng(seed)
    tb, golden = await _start(dut, seed=seed)
    p = tb.p
    for mode in InputMode:
        cfg = TileConfig(input_mode=mode)
        await tb.configure(cfg)
        timing = golden.run(random_inputs(rng, p, mode, 1), cfg).timing
        dut.x__payload.value = 0
        dut.x__valid.value = 1
        await tb._handshake(dut.x__ready)
        dut.x__valid.value = 0
        await ReadOnly()
        phase = Phase(int(dut.phase.value))
        assert phase == Phase.INTEGRATE, f"phase after the input handshake: {phase.name}"
        seen = []
        last = tb.now()
        while True:
            await Edge(dut.phase)
            await ReadOnly()
            now = tb.now()
            new = Phase(int(dut.phase.value))
            seen.append((phase, now - last))
            last, phase = now, new
            if new == Phase.OUTPUT:
                break
        await FallingEdge(dut.clk)
        dut.y__ready.value = 1
        await RisingEdge(dut.clk)
        dut.y__ready.value = 0
        await ReadOnly()
        seen.append((Phase.OUTPUT, 1))
        assert Phase(int(dut.phase.value)) == Phase.IDLE
        expected = [(ph, n) for ph, n in timing.cycles.items() if ph != Phase.IDLE]
        assert seen == expected, f"{mode.name}: phases {seen}, golden {expected}"

    # a calibration command's phases (golden.calibration.calibration_phases)
    from golden.calibration import CalOp, CalScope, calibration_phases, pack_cal_cmd
    from golden.regs import REGISTERS as REGS
    for op, scope in ((CalOp.REFERENCE, CalScope.PER_COLUMN),
                      (CalOp.COMPENSATE, CalScope.GLOBAL)):
        cfg = TileConfig(input_mode=InputMode.SIGNED)
        await tb.configure(cfg)
        seen = []

        async def watch():
            await RisingEdge(dut.busy)
            await ReadOnly()
            phase, last = Phase(int(dut.phase.value)), tb.now()
            while True:
                await Edge(dut.phase)
                await ReadOnly()
                now, new = tb.now(), Phase(int(dut.phase.value))
                seen.append((phase, now - last))
                last, phase = now, new
                if new == Phase.IDLE:
                    return

        watcher = cocotb.start_soon(watch())
        assert await tb.csr_write(REGS["CAL_CMD"].address, pack_cal_cmd(op, scope)) == OKAY
        await watcher
        expected = calibration_phases(p, cfg, op, scope)
        assert seen == expected, f"{op.name} {scope.name}: phases {seen}, golden {expected}"


@cocotb.test()
async def reset_mid_mvm(dut):
    """Reset during integration, evaluation and emission: no output, codes kept, next MVM right."""
    seed = _seed()
    rng = np.random.default_rng(seed)
    tb, golden = await _start(dut, seed=seed)
    p = tb.p
    cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY,
                     ramp_shift=p.ramp_shift_max // 3)
    timing = golden.run(np.zeros(p.rows, dtype=np.int64), cfg).timing
    for when in (2, timing.cycles[Phase.INTEGRATE] + 3, timing.latency - 3):
        await tb.configure(cfg)
        x = random_inputs(rng, p, InputMode.SIGNED, 1)[0]
        await tb.send(x)
        await tb.cycles(when)
        await FallingEdge(dut.clk)
        dut.rst.value = 1
        await ReadOnly()
        assert not dut.y__valid.value
        await tb.cycles(2)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        tb.regs.reset()
        await ReadOnly()
        assert Phase(int(dut.phase.value)) == Phase.IDLE and not dut.y__valid.value
        await tb.configure(cfg)
        x = random_inputs(rng, p, InputMode.SIGNED, 1)[0]
        y, latency = await tb.mvm(x)
        assert_equal_arrays(golden.run(x, cfg).y, y, f"MVM after reset at cycle {when}", seed)
        assert latency == timing.latency


@cocotb.test()
async def illegal_configuration(dut):
    """Illegal register values raise an error flag, answer SLVERR and change nothing."""
    seed = _seed()
    rng = np.random.default_rng(seed)
    tb, golden = await _start(dut, seed=seed)
    p = tb.p
    cfg = TileConfig(activation=Activation.IDENTITY, ramp_shift=p.ramp_shift_max // 2)
    await tb.configure(cfg)
    x = random_inputs(rng, p, InputMode.UNSIGNED, 1)[0]
    reference = golden.run(x, cfg).y
    bad = [
        (REGISTERS["CTRL"].address, pack_ctrl(0, 0, 5), ErrorBit.BAD_VALUE),
        (REGISTERS["CTRL"].address, 1 << 7, ErrorBit.BAD_VALUE),
        (REGISTERS["RAMP_SHIFT"].address, p.ramp_shift_max + 1, ErrorBit.BAD_VALUE),
        # a span above out_max (every EN_WINDOW word is legal when out_max is 0xFFFF)
        *([] if p.out_max == 0xFFFF else [
            (REGISTERS["EN_WINDOW"].address, pack_en_window(-4, p.out_max - 3),
             ErrorBit.BAD_VALUE)]),
        (GAIN_BASE, 1 << p.gain_bits, ErrorBit.BAD_VALUE),
        (OFFSET_BASE + 4 * (p.cols - 1), 1 << p.out_bits, ErrorBit.BAD_VALUE),
        (REGISTERS["ID"].address, 0, ErrorBit.BAD_ADDRESS),
        (GAIN_BASE + 4 * p.cols, 1, ErrorBit.BAD_ADDRESS),
        (0x0002, 0, ErrorBit.BAD_ADDRESS),
    ]
    for address, data, bit in bad:
        expected_resp = tb.regs.write(address, data)
        assert expected_resp == SLVERR
        resp = await tb.csr_write(address, data)
        assert resp == SLVERR, f"write {address:#x} <- {data:#x}: response {resp}"
        error, _ = await tb.csr_read(ERROR)
        assert error == 1 << bit, f"write {address:#x} <- {data:#x}: ERROR {error:#x}"
        assert await tb.csr_write(ERROR, error) == OKAY
        tb.regs.write(ERROR, error)
    assert await tb.csr_write_bytes(REGISTERS["CTRL"].address + 1, b"\x01") == SLVERR
    error, _ = await tb.csr_read(ERROR)
    assert error == 1 << ErrorBit.BAD_ADDRESS
    await tb.csr_write(ERROR, 0xFF)
    for name in ("CTRL", "RAMP_SHIFT", "EN_WINDOW"):
        got, _ = await tb.csr_read(REGISTERS[name].address)
        assert got == tb.regs.read(REGISTERS[name].address)[0], name
    y, _ = await tb.mvm(x)
    assert_equal_arrays(reference, y, "MVM after rejected writes")
    # a row write beyond the array writes nothing and flags BAD_ROW (the MVM above may have
    # set OUT_SAT or CAP_SAT: clear them first)
    if p.rows < 1 << 16:
        assert await tb.csr_write(ERROR, 0xFF) == OKAY
        await tb.program_row(p.rows, np.full((p.cols, p.devices_per_weight), p.code_max))
        error, _ = await tb.csr_read(ERROR)
        assert error == 1 << ErrorBit.BAD_ROW, hex(error)
        y, _ = await tb.mvm(x)
        assert_equal_arrays(reference, y, "MVM after an out-of-range row write")


def _program_configs(rng, p):
    """Programming configurations: the reset values, random legal ones, and a harsh one
    (no tolerance, strong noise, one or two pulses) that leaves failed weights."""
    from golden.program import ProgramConfig
    yield ProgramConfig()
    while True:
        if rng.random() < 0.25:
            yield ProgramConfig(seed=int(rng.integers(0, 1 << 32)), tol=0,
                                pulse_gain=int(rng.integers(1, 256)), noise_scale=255,
                                max_iter=int(rng.integers(1, 3)))
        else:
            yield ProgramConfig(seed=int(rng.integers(0, 1 << 32)),
                                tol=int(rng.integers(0, min(p.code_max, 4) + 1)),
                                pulse_gain=int(rng.integers(64, 256)),
                                noise_scale=int(rng.integers(0, 64)),
                                max_iter=int(rng.integers(1, 64)))


async def _check_program_status(tb, what: str):
    """Every programming status register and fail-mask word against the register model."""
    from golden.regs import fail_mask_address, fail_mask_words
    p = tb.p
    addresses = [(REGISTERS[name].address, name) for name in
                 ("PROG_STATUS", "PROG_ITER", "PROG_FAILS", "PROG_ROWS", "ERROR")]
    addresses += [(fail_mask_address(k), f"PROG_FAIL_MASK[{k}]")
                  for k in range(fail_mask_words(p))]
    for address, name in addresses:
        got, resp = await tb.csr_read(address)
        expected, _ = tb.regs.read(address)
        assert resp == OKAY and got == expected, \
            f"{what}: {name} reads {got:#x}, expected {expected:#x}"


@cocotb.test()
async def closed_loop_programming(dut):
    """Rows programmed through the ``target`` stream by program-and-verify against the
    behavioral PCM devices: cycles, every status register and fail-mask word after each row,
    bad targets and bad rows (nothing written), then MVMs on the programmed codes, all against
    ``golden.program`` and the golden tile. ``TEST_PROG_ROWS`` limits the rows programmed."""
    from golden.program import ProgramConfig
    seed = _seed()
    rng = np.random.default_rng(seed)
    tb, golden = await _start(dut, seed=seed)
    p = tb.p
    count = min(p.rows, int(os.environ.get("TEST_PROG_ROWS", str(p.rows))))
    configs = _program_configs(rng, p)
    wmax = p.weight_max
    failed = 0
    for k, row in enumerate(rng.permutation(p.rows)[:count]):
        cfg = next(configs)
        for address, data in tb.regs.load_program(cfg):
            assert await tb.csr_write(address, data) == OKAY
        kind = k % 4
        if kind == 0:
            targets = rng.integers(-wmax, wmax + 1, size=p.cols)
        elif kind == 1:     # extremes and zero
            targets = rng.choice([-wmax, 0, wmax], size=p.cols)
        else:               # typical trained weights: mostly small
            targets = np.clip(np.round(rng.normal(0, wmax / 6, size=p.cols)), -wmax, wmax)
        targets = targets.astype(np.int64)
        expected = golden.program_targets(int(row), targets, cfg)
        cycles = await tb.program_targets(int(row), targets)
        assert cycles == expected.cycles + 1, \
            f"row {row}: programming took {cycles} cycles, golden {expected.cycles} + 1"
        tb.regs.programmed(expected)
        failed += expected.fail_count
        await _check_program_status(tb, f"row {row} ({cfg}), seed {seed}")

    # an illegal target: nothing is programmed, BAD_TARGET
    before = golden.codes
    bad = rng.integers(-wmax, wmax + 1, size=p.cols)
    top = 1 << (p.target_bits - 1)     # the field holds [-top, top - 1]
    bad[int(rng.integers(0, p.cols))] = rng.choice([v for v in (-wmax - 1, wmax + 1)
                                                    if -top <= v < top])
    await tb.program_targets(0, bad)
    tb.regs.programmed(None)
    await _check_program_status(tb, f"bad target, seed {seed}")
    # a row index beyond the array: programmed (with a tolerance that cannot fail), then
    # dropped by the array with BAD_ROW
    for address, data in tb.regs.load_program(ProgramConfig(tol=p.code_max, noise_scale=0)):
        assert await tb.csr_write(address, data) == OKAY
    await tb.program_targets(p.rows, rng.integers(-wmax, wmax + 1, size=p.cols))
    got, _ = await tb.csr_read(ERROR)
    assert got >> ErrorBit.BAD_ROW & 1, f"no BAD_ROW after a row index {p.rows}: {got:#x}"
    assert got >> ErrorBit.BAD_TARGET & 1 and (got >> ErrorBit.PROG_FAIL & 1) == (failed > 0)
    assert await tb.csr_write(ERROR, got) == OKAY
    tb.regs.error = 0
    assert np.array_equal(before, golden.codes)

    # the programmed codes, seen through MVMs
    mode = InputMode.SIGNED
    xs = random_inputs(rng, p, mode, 8)
    cfg = TileConfig(input_mode=mode, activation=Activation.IDENTITY,
                     ramp_shift=fitted_ramp_shift(golden, xs, mode))
    await tb.configure(cfg)
    expected = golden.run(xs, cfg)
    for i, x in enumerate(xs):
        y, _ = await tb.mvm(x)
        assert_equal_arrays(expected.y[i], y, f"MVM {i} on closed-loop programmed rows", seed)
    cocotb.log.info(f"{count} rows programmed closed-loop, {failed} failed weights, "
                    f"0 mismatches")


@cocotb.test()
async def calibration(dut):
    """Drift calibration on the tile (``tb.calibration_scenario``): bad commands, REFERENCE,
    writes while busy, COMPENSATE per column and global after scaling every column's codes,
    then MVMs with the new gains; every GAIN register, status and cycle count against
    ``golden.calibration``."""
    from .calibration_scenario import run_calibration_scenario
    seed = _seed()
    tb = TileTB(dut)
    await tb.reset()
    await run_calibration_scenario(tb, tb.p, seed, log=cocotb.log.info)


@cocotb.test()
async def faults(dut):
    """Fault injection (``tb.fault_scenario``): random stuck devices, a dead lane and a dead
    column through the FAULT_* registers, then row writes, MVMs, closed-loop programming and
    calibration against the golden tile holding the same fault map."""
    from .fault_scenario import run_fault_scenario
    seed = _seed()
    tb = TileTB(dut)
    await tb.reset()
    await run_fault_scenario(tb, tb.p, seed, log=cocotb.log.info)
