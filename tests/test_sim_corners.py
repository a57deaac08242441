# amaranth: UnusedElaboratable=no
"""Fast tier: directed corners of the tile (and one of the chip's registers) in amaranth.sim
against the golden model: saturation and rounding ties in every mode, activation and device
mode, reset in every phase, every register's illegal values, the lane errors, closed-loop
programming outcomes and streams held while the tile is busy. tests/test_coverage.py runs
these functions with the other scenarios to measure the functional coverage (tb/coverage.py).
"""
import numpy as np
import pytest

from golden.calibration import CalOp, pack_cal_cmd
from golden.program import ProgramConfig
from golden.regs import OKAY, REGISTERS, SLVERR, RegisterFile, TILE_MAP
from golden.spec import (Activation, ErrorBit, InputMode, InputSource, Phase, TileConfig,
                         TileParams)
from golden.tile import Tile as GoldenTile
from tb import coverage
from tb.scoreboard import assert_equal_arrays
from tb.simdrv import run_sim

P4 = TileParams(rows=4, cols=4, in_bits=4, out_bits=4, code_bits=3, charge_bits=8)
P2 = TileParams(rows=4, cols=4, in_bits=3, out_bits=4, code_bits=4, devices_per_weight=2,
                charge_bits=8)
ERROR = REGISTERS["ERROR"].address


def corner_codes(p):
    """Column 0: +weight_max on every row, column 1: -weight_max; column 2: +1 and column 3:
    -1, on row 0 only."""
    codes = np.zeros((p.rows, p.cols, p.devices_per_weight), dtype=np.int64)
    plus = [0, 2] if p.devices_per_weight == 4 else [0]
    minus = [1, 3] if p.devices_per_weight == 4 else [1]
    codes[:, 0, plus] = p.code_max
    codes[:, 1, minus] = p.code_max
    codes[0, 2, plus[-1]] = 1
    codes[0, 3, minus[-1]] = 1
    return codes


def corner_vectors(p, mode):
    """One lane at 1 (ties of both signs at ramp shift 1: charges +-1), every lane at full
    scale (both capacitors saturate, z beyond both ends of every EN window)."""
    one = np.zeros(p.rows, dtype=np.int64)
    one[0] = 1
    return np.stack([one, np.full(p.rows, p.input_range(mode)[1])])


async def read_error(drv, clear=True):
    error, resp = await drv.csr_read(ERROR)
    assert resp == OKAY
    if clear and error:
        assert await drv.csr_write(ERROR, error) == OKAY
    return error


@pytest.mark.parametrize("p", [P4, P2], ids=["4pcm", "2pcm"])
def test_mvm_corners(p):
    """Every input mode x activation in this device mode: capacitor and output saturation
    both ways, rounding ties of both signs, one lane and all lanes; words, latency and the
    CAP_SAT / OUT_SAT flags against the golden tile."""
    golden = GoldenTile(p, corner_codes(p))
    jobs = []
    for mode in InputMode:
        for act in Activation:
            cfg = TileConfig(input_mode=mode, activation=act, ramp_shift=1, en_lo=-2,
                             en_hi=-2 + p.out_max // 2)
            xs = corner_vectors(p, mode)
            jobs.append((cfg, xs, golden.run(xs, cfg)))
    assert all(r.cap_sat.tolist() == [False, True] for _, _, r in jobs)

    async def bench(drv, ctx, dut):
        await drv.program(golden.codes)
        for k, (cfg, xs, expected) in enumerate(jobs):
            await drv.configure(cfg)
            for i, x in enumerate(xs):
                y, latency = await drv.mvm(x, output_delay=i)   # back-pressure on the second
                what = f"{cfg.input_mode.name}/{cfg.activation.name} vector {i}"
                assert_equal_arrays(expected.y[i], y, what)
                assert latency == expected.timing.latency, what
            error = await read_error(drv)
            assert error == (1 << ErrorBit.CAP_SAT | int(expected.out_sat.any())
                             << ErrorBit.OUT_SAT), hex(error)
            coverage.sample_mvm(p, cfg, xs, expected)

    run_sim(p, bench)


def test_reset_in_every_phase():
    """rst raised in IDLE, in each MVM phase, with y held (OUTPUT) and during a calibration:
    the tile is idle at once, its registers are at their reset values and the next MVM is the
    golden one (the codes are non-volatile)."""
    p = P4
    rng = np.random.default_rng(5)
    golden = GoldenTile(p, rng.integers(0, p.code_max + 1,
                                        size=(p.rows, p.cols, p.devices_per_weight)))
    cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY,
                     ramp_shift=2)
    xs = rng.integers(*p.input_range(InputMode.SIGNED), endpoint=True, size=(2, p.rows))
    expected = golden.run(xs, cfg)

    async def wait_phase(ctx, dut, phase):
        for _ in range(200):
            if Phase(ctx.get(dut.phase).value) == phase:
                return
            await ctx.tick()
        raise AssertionError(f"the tile never reached {phase.name}")

    async def bench(drv, ctx, dut):
        await drv.program(golden.codes)
        for phase in Phase:
            await drv.configure(cfg)
            if phase == Phase.CALIBRATE:
                assert await drv.csr_write(REGISTERS["CAL_CMD"].address,
                                           pack_cal_cmd(CalOp.REFERENCE)) == OKAY
            elif phase != Phase.IDLE:
                ctx.set(dut.x.payload.as_value(), 0)
                ctx.set(dut.x.valid, 1)
                await ctx.tick().until(dut.x.ready)
                ctx.set(dut.x.valid, 0)
            await wait_phase(ctx, dut, phase)
            await drv.reset()
            assert Phase(ctx.get(dut.phase).value) == Phase.IDLE and not ctx.get(dut.y.valid)
            for name in ("CTRL", "RAMP_SHIFT", "MVM_COUNT", "CAL_STATUS", "ERROR"):
                address = REGISTERS[name].address
                assert await drv.csr_read(address) == drv.regs.read(address), \
                    f"{name} after a reset in {phase.name}"
            await drv.configure(cfg)
            for i, x in enumerate(xs):
                y, latency = await drv.mvm(x)
                assert_equal_arrays(expected.y[i], y, f"MVM {i} after a reset in {phase.name}")
                assert latency == expected.timing.latency
            await drv.reset()

    run_sim(p, bench)


def illegal_words(reg):
    """Illegal words of a resolved register: a reserved bit set, each field one past its
    range at either end, an undefined enum value."""
    base = reg.reset_word()
    words = []
    if reg.reserved_mask:
        words.append(base | (reg.reserved_mask & -reg.reserved_mask))
    for f in reg.fields:
        rest = base & ~f.mask
        if f.enum is not None:
            values = [v for v in range(1 << f.width) if v not in {int(e) for e in f.enum}]
        else:
            lo_w, hi_w = ((-(1 << f.width - 1), (1 << f.width - 1) - 1) if f.signed
                          else (0, (1 << f.width) - 1))
            values = [v for v in (f.lo - 1, f.hi + 1) if lo_w <= v <= hi_w]
        words += [rest | f.insert(v) for v in values[:2]]
    return words


def test_every_register_refuses_its_illegal_values():
    """For every writable register, illegal words (reserved bits, out of range at both ends,
    undefined enum values) and a COMPENSATE before any REFERENCE: SLVERR, BAD_VALUE alone,
    nothing changed. Then an unmapped write (BAD_ADDRESS) and a row write beyond the array
    (BAD_ROW)."""
    p = P4
    regs = TILE_MAP.resolve(p)
    names = [n for n in coverage.BINS["tile.register_illegal"] if n in
             {r.name for r in regs}]
    cases = []
    for name in names:
        reg = regs[name]
        words = illegal_words(reg)
        assert words, name
        cases += [(name, reg.offset, w) for w in words]

    async def bench(drv, ctx, dut):
        model = RegisterFile(p)
        for name, address, word in cases:
            assert model.write(address, word) == SLVERR, (name, hex(word))
            assert await drv.csr_write(address, word) == SLVERR, (name, hex(word))
            assert await read_error(drv) == 1 << ErrorBit.BAD_VALUE, (name, hex(word))
            model.error = 0
            assert await drv.csr_read(address) == model.read(address), name
        resp, cycles = await drv.calibrate(pack_cal_cmd(CalOp.COMPENSATE))
        assert (resp, cycles) == (SLVERR, 0)
        assert await read_error(drv) == 1 << ErrorBit.BAD_VALUE
        assert await drv.csr_write(REGISTERS["ID"].address, 0) == SLVERR
        assert await read_error(drv) == 1 << ErrorBit.BAD_ADDRESS
        await drv.program_row(p.rows, np.zeros((p.cols, p.devices_per_weight), np.int64))
        assert await read_error(drv) == 1 << ErrorBit.BAD_ROW

    run_sim(p, bench)


def test_lane_errors():
    """LANES input: a lane high longer than 2^in_bits - 1 ticks counts 2^in_bits - 1 and sets
    LANE_OVERRANGE (the words are the golden ones of that count); a window opening while the
    tile is busy is ignored and sets LANE_COLLISION."""
    p = P4
    rng = np.random.default_rng(3)
    golden = GoldenTile(p, rng.integers(0, p.code_max + 1,
                                        size=(p.rows, p.cols, p.devices_per_weight)))
    cfg = TileConfig(input_source=InputSource.LANES, activation=Activation.IDENTITY,
                     ramp_shift=4)
    x = np.zeros(p.rows, dtype=np.int64)
    x[1] = (1 << p.in_bits) - 1            # what the overlong lane counts
    expected = golden.run(x, cfg)

    async def window(ctx, dut, ticks, pulse):
        ctx.set(dut.lanes_in.window, 1)
        ctx.set(dut.lanes_in.pulse, pulse)
        await ctx.tick().repeat(ticks)
        ctx.set(dut.lanes_in.window, 0)
        ctx.set(dut.lanes_in.pulse, 0)
        await ctx.tick()

    async def bench(drv, ctx, dut):
        await drv.program(golden.codes)
        await drv.configure(cfg)
        await window(ctx, dut, (1 << p.in_bits) + 4, 0b0010)    # lane 1 high all along
        ctx.set(dut.y.ready, 1)
        await ctx.tick().until(dut.y.valid)
        from tb.pack import unpack_words
        assert_equal_arrays(expected.y, unpack_words(ctx.get(dut.y.payload.as_value()),
                                                     p.cols, p.out_bits), "overrange lane")
        ctx.set(dut.y.ready, 0)
        assert await read_error(drv) == 1 << ErrorBit.LANE_OVERRANGE
        for _ in range(2):          # a 3-tick window, then one opening while busy
            await window(ctx, dut, 3, 0b0101)
        assert await read_error(drv) == 1 << ErrorBit.LANE_COLLISION

    run_sim(p, bench)


def test_closed_loop_outcomes():
    """Closed-loop rows that converge (noise off), that fail (tolerance 0, strong noise, one
    pulse), a command offered while the programmer runs (it waits), a row with an illegal
    target (BAD_TARGET) and the failed row's PROG_FAIL; cycles and status registers against
    golden.program."""
    p = P4
    rng = np.random.default_rng(11)
    wmax = p.weight_max
    jobs = [(0, ProgramConfig(noise_scale=0, tol=0), rng.integers(-wmax, wmax + 1, p.cols)),
            (1, ProgramConfig(seed=7, tol=0, pulse_gain=255, noise_scale=255, max_iter=1),
             rng.integers(-wmax, wmax + 1, p.cols)),
            (2, ProgramConfig(), rng.integers(-wmax, wmax + 1, p.cols))]
    golden = GoldenTile(p)
    results = []

    async def bench(drv, ctx, dut):
        model = RegisterFile(p)
        names = ["PROG_STATUS", "PROG_ITER", "PROG_FAILS", "PROG_ROWS"]
        for row, cfg, targets in jobs:
            for address, data in model.load_program(cfg):
                assert await drv.csr_write(address, data) == OKAY
            expected = golden.program_targets(row, targets, cfg)
            cycles = await drv.program_targets(row, targets)
            assert cycles == expected.cycles + 1, (row, cycles, expected.cycles)
            model.programmed(expected)
            for name in names:
                address = REGISTERS[name].address
                assert await drv.csr_read(address) == model.read(address), (row, name)
            results.append(expected)
            coverage.sample_programming(expected)
        # a command offered while the programmer runs waits for it (target back-pressure)
        from tb.pack import pack_targets
        row, cfg, targets = jobs[0]
        for address, data in model.load_program(cfg):
            assert await drv.csr_write(address, data) == OKAY
        ctx.set(dut.target.payload.as_value(), pack_targets(p, row, targets))
        ctx.set(dut.target.valid, 1)
        await ctx.tick().until(dut.target.ready)
        ctx.set(dut.target.payload.as_value(), pack_targets(p, row + 1, targets))
        await ctx.tick()
        assert ctx.get(dut.prog_busy) and not ctx.get(dut.target.ready)
        await ctx.tick().until(dut.target.ready)
        ctx.set(dut.target.valid, 0)
        while ctx.get(dut.prog_busy):
            await ctx.tick()
        for r in (row, row + 1):
            model.programmed(golden.program_targets(r, targets, cfg))
        for name in names:
            address = REGISTERS[name].address
            assert await drv.csr_read(address) == model.read(address), ("back to back", name)
        bad = np.zeros(p.cols, dtype=np.int64)
        bad[0] = wmax + 1
        await drv.program_targets(3, bad)
        model.programmed(None)
        error = await read_error(drv)
        assert error == model.error, (hex(error), hex(model.error))
        assert error >> ErrorBit.BAD_TARGET & 1 and error >> ErrorBit.PROG_FAIL & 1

    run_sim(p, bench)
    assert results[0].converged and results[1].fail_count > 0
    assert max(int(r.iterations.max()) for r in results) > 1


def test_streams_wait_while_busy():
    """A vector offered during a calibration waits for it (x back-pressure); a row write
    offered during an MVM's integration waits until the array is free (prog back-pressure):
    that MVM sees the old row, the next one the new row."""
    p = P4
    rng = np.random.default_rng(13)
    codes = rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, p.devices_per_weight))
    golden = GoldenTile(p, codes)
    cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY,
                     ramp_shift=3)
    xs = rng.integers(*p.input_range(InputMode.SIGNED), endpoint=True, size=(3, p.rows))
    new_row = np.full((p.cols, p.devices_per_weight), p.code_max)
    before = golden.run(xs[:2], cfg)
    after_codes = codes.copy()
    after_codes[1] = new_row
    after = GoldenTile(p, after_codes).run(xs[2], cfg)

    async def bench(drv, ctx, dut):
        from tb.pack import pack_row_write, pack_words
        await drv.program(codes)
        await drv.configure(cfg)
        assert await drv.csr_write(REGISTERS["CAL_CMD"].address,
                                   pack_cal_cmd(CalOp.REFERENCE)) == OKAY
        assert ctx.get(dut.busy) and not ctx.get(dut.x.ready)
        y, latency = await drv.mvm(xs[0])
        assert_equal_arrays(before.y[0], y, "MVM offered during a calibration")
        assert latency == before.timing.latency
        # an MVM, and a row write offered on the cycle after its handshake
        ctx.set(dut.x.payload.as_value(), pack_words(xs[1], p.in_bits))
        ctx.set(dut.x.valid, 1)
        await ctx.tick().until(dut.x.ready)
        ctx.set(dut.x.valid, 0)
        await ctx.tick()
        ctx.set(dut.prog.payload.as_value(), pack_row_write(p, 1, new_row))
        ctx.set(dut.prog.valid, 1)
        assert not ctx.get(dut.prog.ready)
        await ctx.tick().until(dut.prog.ready)
        ctx.set(dut.prog.valid, 0)
        ctx.set(dut.y.ready, 1)
        await ctx.tick().until(dut.y.valid)
        from tb.pack import unpack_words
        assert_equal_arrays(before.y[1], unpack_words(ctx.get(dut.y.payload.as_value()),
                                                      p.cols, p.out_bits), "MVM during a row write")
        ctx.set(dut.y.ready, 0)
        y, _ = await drv.mvm(xs[2])
        assert_equal_arrays(after.y, y, "MVM after the row write")

    run_sim(p, bench)


def test_impossible_switch_is_refused():
    """The chip's registers refuse a drive or take switch at an empty position and an
    ilp_drive at a row without a pair (BAD_VALUE), and take a pass there."""
    from amaranth.sim import Simulator
    from golden.chip import regs as gregs
    from golden.chip.regs import ChipErrorBit, edge_w_index, node_index
    from hdl.chip.regs import ChipRegisters
    from tb.simdrv import SimTileDriver
    from tests.test_sim_chip_mesh import GRIDS

    p = GRIDS["2x3e"]                       # (1, 2) empty, row 0 without a pair
    (er, ec), = p.empty
    free_row = next(r for r in range(p.grid_rows) if p.pair_at(r) is None)
    model = gregs.ChipRegisterFile(p)
    rmap = model.map
    node = rmap["NODE"].offset + 4 * node_index(p, er, ec, 0)
    edge = rmap["EDGE_W"].offset + 4 * edge_w_index(p, free_row, 0)
    writes = [(node, 1 << 2, SLVERR), (node, 1 << 6, SLVERR), (node, 1 << 0, OKAY),
              (edge, 1 << 0, SLVERR), (edge, 1 << 1, OKAY)]
    dut = ChipRegisters(p)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        drv = SimTileDriver(ctx, type("Bus", (), {"csr": dut.bus})(), p.tile)
        error_address = rmap["CHIP_ERROR"].offset
        for address, data, want in writes:
            assert model.write(address, data) == want
            resp = await drv.csr_write(address, data)
            assert resp == want, (hex(address), hex(data), resp)
            coverage.sample_chip_write(p, address, data, resp)
            error, _ = await drv.csr_read(error_address)
            assert error == (1 << ChipErrorBit.BAD_VALUE if want == SLVERR else 0)
            await drv.csr_write(error_address, error)
            assert await drv.csr_read(address) == model.read(address)

    sim.add_testbench(bench)
    sim.run()
