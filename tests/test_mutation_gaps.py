"""Fast tier: behaviour the mutation run (scripts/mutate.py, `make mutate`) found unchecked,
each test against the golden model or the spec's contract. A class per block: ``Test<Block>``
is added to that block's kill set (scripts/mutate.py ``KILL_SETS``)."""
import numpy as np

from golden.calibration import CalOp, pack_cal_cmd
from golden.regs import OKAY, REGISTERS
from golden.spec import Activation, ErrorBit, InputMode, InputSource, Phase, TileConfig, TileParams
from golden.tile import Tile as GoldenTile
from golden.timing import mvm_timing
from tb.pack import pack_words, unpack_words
from tb.scoreboard import assert_equal_arrays
from tb.simdrv import run_sim

P = TileParams(rows=4, cols=3, in_bits=4, out_bits=4, code_bits=3, charge_bits=10)
ERROR = REGISTERS["ERROR"].address
MVM_COUNT = REGISTERS["MVM_COUNT"].address


def _codes(p, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, p.devices_per_weight))


async def _lanes_window(ctx, dut, durations, ticks):
    """An external window of ``ticks`` ticks, lane i high for its first durations[i] ticks."""
    for t in range(ticks):
        ctx.set(dut.lanes_in.window, 1)
        ctx.set(dut.lanes_in.pulse, sum(1 << i for i, d in enumerate(durations) if d > t))
        await ctx.tick()
    ctx.set(dut.lanes_in.window, 0)
    ctx.set(dut.lanes_in.pulse, 0)


def _phase(ctx, dut):
    value = ctx.get(dut.phase)
    return Phase(getattr(value, "value", value))


def _expected_phases(timing, held):
    """The phase on every cycle from the input handshake to the cycle y is accepted."""
    out = []
    for phase in (Phase.IDLE, Phase.INTEGRATE, Phase.EVALUATE, Phase.CONVERT, Phase.EMIT):
        out += [phase] * timing.cycles[phase]
    return out + [Phase.OUTPUT] * (timing.cycles[Phase.OUTPUT] + held)


class TestController:
    """hdl.controller.LocalController through the tile: admission only in IDLE, the phase
    sequence of golden.timing, external windows admitted, ignored or colliding."""

    def test_host_vector_waits_for_idle(self):
        """A vector offered from the handshake of the previous one on (through every phase,
        with y held 5 cycles) and during a calibration is taken only once the tile is idle:
        x.ready is low on every busy cycle, the phases follow golden.timing cycle by cycle,
        both MVMs give the golden words and latency."""
        p = P
        golden = GoldenTile(p, _codes(p, 1))
        cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY,
                         ramp_shift=2)
        rng = np.random.default_rng(2)
        xs = rng.integers(*p.input_range(InputMode.SIGNED), endpoint=True, size=(3, p.rows))
        expected = golden.run(xs, cfg)
        held = 5

        async def bench(drv, ctx, dut):
            await drv.program(golden.codes)
            await drv.configure(cfg)
            ctx.set(dut.x.payload.as_value(), pack_words(xs[0], p.in_bits))
            ctx.set(dut.x.valid, 1)
            await ctx.tick().until(dut.x.ready)
            phases, ys = [Phase.IDLE], []
            ctx.set(dut.x.payload.as_value(), pack_words(xs[1], p.in_bits))  # offered at once
            while True:
                phase, busy, ready, valid = (_phase(ctx, dut), ctx.get(dut.busy),
                                             ctx.get(dut.x.ready), ctx.get(dut.y.valid))
                assert not (busy and ready), f"x.ready high in phase {Phase(phase).name}"
                if ready:
                    break
                phases.append(Phase(phase))
                if valid:
                    if len(phases) - phases.index(Phase.OUTPUT) == held + 1:
                        ys.append(unpack_words(ctx.get(dut.y.payload.as_value()), p.cols,
                                               p.out_bits))
                        ctx.set(dut.y.ready, 1)
                else:
                    ctx.set(dut.y.ready, 0)
                await ctx.tick()
            assert phases == _expected_phases(expected.timing, held)
            assert_equal_arrays(expected.y[0], ys[0], "first MVM")
            ctx.set(dut.y.ready, 0)
            # the second vector is taken on the first idle cycle: its MVM runs as golden
            await ctx.tick()
            ctx.set(dut.x.valid, 0)
            latency = 1
            while not ctx.get(dut.y.valid):
                await ctx.tick()
                latency += 1
            assert latency == expected.timing.latency
            assert_equal_arrays(expected.y[1], unpack_words(ctx.get(dut.y.payload.as_value()),
                                                            p.cols, p.out_bits), "second MVM")
            ctx.set(dut.y.ready, 1)
            await ctx.tick()
            ctx.set(dut.y.ready, 0)
            # a calibration: the vector offered with its command waits for its end
            await drv._write_request(REGISTERS["CAL_CMD"].address,
                                     pack_cal_cmd(CalOp.REFERENCE))
            ctx.set(dut.x.payload.as_value(), pack_words(xs[2], p.in_bits))
            ctx.set(dut.x.valid, 1)
            seen = set()
            while True:
                await ctx.tick()
                if ctx.get(dut.csr.bvalid):
                    ctx.set(dut.csr.bready, 0)
                busy, ready = ctx.get(dut.busy), ctx.get(dut.x.ready)
                seen.add(_phase(ctx, dut))
                assert not (busy and ready), f"x.ready high in phase {seen}"
                if ready:
                    break
            assert Phase.CALIBRATE in seen
            await ctx.tick()
            ctx.set(dut.x.valid, 0)
            ctx.set(dut.y.ready, 1)
            await ctx.tick().until(dut.y.valid)
            assert_equal_arrays(expected.y[2], unpack_words(ctx.get(dut.y.payload.as_value()),
                                                            p.cols, p.out_bits), "after CAL")

        run_sim(p, bench)

    def test_external_windows_admitted_ignored_and_colliding(self):
        """LANES input: a window in IDLE runs one MVM (golden words and latency); windows that
        open while it evaluates and while its y is held are ignored (LANE_COLLISION, no second
        MVM, its words unchanged); the next window in IDLE runs as golden again. In HOST mode
        an external window is ignored altogether (no MVM, no error)."""
        p = P
        golden = GoldenTile(p, _codes(p, 3))
        cfg = TileConfig(input_source=InputSource.LANES, activation=Activation.IDENTITY,
                         ramp_shift=3)
        ticks = 6
        rng = np.random.default_rng(4)
        xs = rng.integers(0, ticks, size=(3, p.rows))   # each lane's duration (unsigned words)
        expected = golden.run(xs, cfg)
        timing = mvm_timing(p, cfg, integrate_ticks=ticks)

        async def bench(drv, ctx, dut):
            await drv.program(golden.codes)
            await drv.configure(TileConfig(activation=Activation.IDENTITY, ramp_shift=3))
            # HOST mode: ignored
            await _lanes_window(ctx, dut, xs[2], ticks)
            for _ in range(timing.latency + 4):
                assert not ctx.get(dut.busy) and not ctx.get(dut.y.valid)
                await ctx.tick()
            assert await drv.csr_read(ERROR) == (0, OKAY)
            assert await drv.csr_read(MVM_COUNT) == (0, OKAY)
            await drv.configure(cfg)
            for k in range(2):
                await _lanes_window(ctx, dut, xs[k], ticks)
                latency = ticks
                if k == 0:              # a window while the array evaluates
                    await ctx.tick()
                    latency += 1
                    assert _phase(ctx, dut) == Phase.EVALUATE
                    await _lanes_window(ctx, dut, xs[2], 3)
                    latency += 3
                while not ctx.get(dut.y.valid):
                    await ctx.tick()
                    latency += 1
                assert latency == timing.latency, (k, latency, timing)
                if k == 0:              # a window while y is held
                    await _lanes_window(ctx, dut, xs[2], 3)
                    await ctx.tick().repeat(2)
                assert_equal_arrays(expected.y[k], unpack_words(
                    ctx.get(dut.y.payload.as_value()), p.cols, p.out_bits), f"window {k}")
                ctx.set(dut.y.ready, 1)
                await ctx.tick()
                ctx.set(dut.y.ready, 0)
                for _ in range(timing.latency + 4):
                    assert not ctx.get(dut.y.valid), f"a second MVM after window {k}"
                    await ctx.tick()
                assert await drv.csr_read(REGISTERS["LAST_LATENCY"].address) == \
                    (timing.latency, OKAY)
                error, _ = await drv.csr_read(ERROR)
                assert error == (1 << ErrorBit.LANE_COLLISION if k == 0 else 0), hex(error)
                if error:
                    await drv.csr_write(ERROR, error)
            assert await drv.csr_read(MVM_COUNT) == (2, OKAY)

        run_sim(p, bench)

    def test_external_window_during_a_calibration_collides(self):
        """LANES input: a window opening during a calibration's conductance read is a
        collision (the tile is busy) and runs no MVM."""
        p = P
        golden = GoldenTile(p, _codes(p, 5))

        async def bench(drv, ctx, dut):
            await drv.program(golden.codes)
            await drv.configure(TileConfig(input_source=InputSource.LANES))
            await drv._write_request(REGISTERS["CAL_CMD"].address,
                                     pack_cal_cmd(CalOp.REFERENCE))
            while _phase(ctx, dut) != Phase.INTEGRATE:
                await ctx.tick()
                if ctx.get(dut.csr.bvalid):
                    ctx.set(dut.csr.bready, 0)
            await _lanes_window(ctx, dut, [1] * p.rows, 2)
            ctx.set(dut.csr.bready, 0)
            await drv.wait_idle()
            for _ in range(40):
                assert not ctx.get(dut.y.valid)
                await ctx.tick()
            error, _ = await drv.csr_read(ERROR)
            assert error == 1 << ErrorBit.LANE_COLLISION, hex(error)
            assert await drv.csr_read(MVM_COUNT) == (1, OKAY)      # the calibration's read

        run_sim(p, bench)

    def test_gated_tile_sees_the_window_after_an_ignored_one(self):
        """The clock-gated tile (the chip's) in LANES mode: a window opening while the tile is
        busy (a collision) and lasting past the end of its MVM is ignored; once it has ended,
        with the tile idle and its clock stopped, the next window is still seen as opening and
        runs the golden MVM (the edge detector settles before the clock stops)."""
        from hdl.tile import Tile
        from hdl.verilog import reset_domain_fragment
        from tb.simdrv import SimTileDriver, simulate

        p = P
        golden = GoldenTile(p, _codes(p, 7))
        cfg = TileConfig(input_source=InputSource.LANES, activation=Activation.IDENTITY,
                         ramp_shift=3)
        ticks = 5
        xs = np.random.default_rng(8).integers(0, ticks, size=(2, p.rows))
        expected = golden.run(xs, cfg)
        timing = mvm_timing(p, cfg, integrate_ticks=ticks)
        dut = Tile(p, clock_gate=True)
        fragment, ports = reset_domain_fragment(dut)

        async def bench(ctx):
            drv = SimTileDriver(ctx, dut, p, rst=ports["rst"][0])
            await drv.program(golden.codes)
            await drv.configure(cfg)
            ctx.set(dut.y.ready, 1)
            for k in range(2):
                await _lanes_window(ctx, dut, xs[k], ticks)
                if k == 0:              # the long colliding window
                    await ctx.tick().repeat(3)
                    ctx.set(dut.lanes_in.window, 1)
                got = None
                for _ in range(timing.latency + 20):
                    if ctx.get(dut.y.valid):
                        got = unpack_words(ctx.get(dut.y.payload.as_value()), p.cols,
                                           p.out_bits)
                    await ctx.tick()
                    if got is not None:
                        break
                assert got is not None, f"no y for window {k}"
                assert_equal_arrays(expected.y[k], got, f"window {k}")
                if k == 0:
                    await drv.wait_idle()
                    await ctx.tick().repeat(3)
                    ctx.set(dut.lanes_in.window, 0)
                    await ctx.tick().repeat(10)
                    assert not ctx.get(dut.active)
            error, _ = await drv.csr_read(ERROR)
            assert error == 1 << ErrorBit.LANE_COLLISION, hex(error)

        simulate(fragment, bench)


class TestCsr:
    """hdl.csr.TileRegisters: a read of an unmapped address answers SLVERR and sets
    ERROR.bad_address (golden.regs.RegisterFile), with no write around it."""

    def test_unmapped_read_sets_bad_address(self):
        from golden.regs import RegisterFile
        p = P
        model = RegisterFile(p)

        from golden.regs import SLVERR
        unmapped = [a for a in (0x3FFC, 0xFFFC, 0x8000) if RegisterFile(p).read(a)[1] == SLVERR]
        assert unmapped

        async def bench(drv, ctx, dut):
            for address in unmapped:
                assert await drv.csr_read(address) == model.read(address)
                assert await drv.csr_read(ERROR) == model.read(ERROR)
                assert model.read(ERROR)[0] >> ErrorBit.BAD_ADDRESS & 1
                assert await drv.csr_write(ERROR, 0xFF) == model.write(ERROR, 0xFF)

        run_sim(p, bench)

    def test_fail_mask_words_beyond_32_columns(self):
        """PROG_FAIL_MASK of a 40-column tile is two words: a row programmed with one
        iteration and a tolerance of 0 fails columns on both sides of column 32, and every
        word reads as golden.regs.RegisterFile says (the word split, the word index)."""
        from golden.program import ProgramConfig
        from golden.regs import RegisterFile, fail_mask_address, fail_mask_words
        p = TileParams(rows=2, cols=40, in_bits=4, out_bits=4, code_bits=3, charge_bits=10)
        assert fail_mask_words(p) == 2
        cfg = ProgramConfig(seed=11, tol=0, pulse_gain=200, noise_scale=255, max_iter=1)
        for draw in range(50):      # the first draw whose masks make every word's bit count
            rng = np.random.default_rng(draw)
            golden = GoldenTile(p)
            jobs = []
            for row in range(p.rows):
                targets = rng.integers(-p.weight_max, p.weight_max + 1, size=p.cols)
                jobs.append((row, targets, golden.program_targets(row, targets, cfg)))
            masks = [np.asarray(e.fail_mask, dtype=bool) for _, _, e in jobs]
            # the last bit of each word (columns 31 and 39) fails in some row, and the two rows
            # differ on both sides of 32
            differ = masks[0] != masks[1]
            if masks[0][31] != masks[1][31] and (masks[0][39] or masks[1][39]) and \
                    differ[:32].any() and differ[32:].any():
                break
        else:
            raise AssertionError("no draw failed the edge columns")
        model = RegisterFile(p)

        async def bench(drv, ctx, dut):
            for address, data in model.load_program(cfg):
                assert await drv.csr_write(address, data) == OKAY
            for row, targets, expected in jobs:
                await drv.program_targets(row, targets)
                model.programmed(expected)
                for k in range(fail_mask_words(p)):
                    address = fail_mask_address(k)
                    assert await drv.csr_read(address) == model.read(address), (row, k)

        run_sim(p, bench)

    def test_dead_column_mask_words_beyond_32_columns(self):
        """CAL_DEAD_MASK of a 40-column tile is two words: a REFERENCE on codes whose columns
        0, 31, 32 and 39 read 0 sets exactly those bits, read word by word (and CAL_DEAD,
        ERROR) as golden.regs.RegisterFile says."""
        from golden.calibration import CalScope, Calibrator
        from golden.regs import RegisterFile
        from tb.calibration_scenario import codes_for_reads
        p = TileParams(rows=2, cols=40, in_bits=4, out_bits=4, code_bits=3, charge_bits=10)
        dead = [0, 31, 32, 39]
        reads = [0 if c in dead else 1 + c % 5 for c in range(p.cols)]
        codes = codes_for_reads(p, reads)
        model = RegisterFile(p)
        cmd = pack_cal_cmd(CalOp.REFERENCE, CalScope.PER_COLUMN)
        assert model.write(REGISTERS["CAL_CMD"].address, cmd) == OKAY
        expected = Calibrator(p).run(CalOp.REFERENCE, CalScope.PER_COLUMN, codes,
                                     model.config(), model.cal_input_word(), model.mvm_count)
        assert list(np.flatnonzero(expected.dead)) == dead
        model.calibrated(expected)
        base = model.map.address("CAL_DEAD_MASK", 0)
        addresses = [base, base + 4, REGISTERS["CAL_DEAD"].address, ERROR]

        async def bench(drv, ctx, dut):
            await drv.program(codes)
            resp, _ = await drv.calibrate(cmd)
            assert resp == OKAY
            for address in addresses:
                assert await drv.csr_read(address) == model.read(address), hex(address)

        run_sim(p, bench)


class TestCrossbar:
    """hdl.crossbar.Crossbar at F = 2 (the other sets have F = 1 and 3): random MVMs against
    golden.crossbar.integrate."""

    def test_f_factor_two(self):
        from hdl.crossbar import Crossbar
        from tb.blocks import CrossbarScenario
        from tb.blocksim import run_scenario
        p = TileParams(rows=5, cols=3, in_bits=3, code_bits=3, f_factor=2, charge_bits=8)
        scenario = CrossbarScenario(p, np.random.default_rng(11), mvms=12)
        scenario.check(run_scenario(Crossbar(p), scenario), 11)


class TestCalibration:
    """hdl.calibration.Calibrator: COMPENSATE at the corners the random scenario rarely
    reaches (tb.calibration_scenario.run_compensation_cases): reads of 0 and at +-charge_max
    in every pairing with both signs of CAL_INPUT, sign changes between REFERENCE and
    COMPENSATE, global sums of 1, and ties of the gain division with odd gains (half up)."""

    P = TileParams(rows=4, cols=9, in_bits=4, out_bits=4, code_bits=3, charge_bits=6)

    def test_corner_reads_and_ties(self):
        from golden.calibration import CalScope
        from tb.calibration_scenario import codes_for_reads, run_compensation_cases
        p = self.P
        sat = 40                                 # beyond charge_max = 31: the read clamps
        assert p.charge_max == 31 and codes_for_reads(p, [sat] * p.cols).any()
        reference = [0, 0, 0, 1, 1, 1, sat, sat, sat]
        current = [0, 2, sat, 0, 2, sat, 0, 2, sat]
        odd = [3] * p.cols
        runs = [(reference, current, ri, ci, odd) for ri, ci in ((1, 1), (-1, -1), (1, -1),
                                                                 (-1, 1))]
        runs += [
            ([1] + [0] * 8, [0] * 8 + [1], 1, 1, [5] * p.cols),     # global sums of 1
            ([2, 1] + [0] * 7, [1, 1] + [0] * 7, -1, -1, odd),      # 3 * 3 / 2: a global tie
            ([3, 1, 5, 7, 2, 9, 4, 6, 1], [2, 2, 2, 2, 4, 6, 8, 4, 2], 1, 1,
             [1, 3, 5, 7, 9, 11, 13, 15, 17]),                      # per-column ties
        ]
        results = []

        async def bench(drv, ctx, dut):
            results.extend(await run_compensation_cases(drv, p, runs, log=lambda *_: None))

        run_sim(p, bench)
        # what the runs are for, on the golden side: the corners were reached
        comp = [(scope, r) for op, scope, r in results if op == CalOp.COMPENSATE]
        assert len(comp) == 2 * len(runs)
        per_col = [r for scope, r in comp if scope == CalScope.PER_COLUMN]
        assert all(r.skipped > 0 for r in per_col[:4])          # zeros, saturation, signs
        assert any(r.skipped == 0 for scope, r in comp if scope == CalScope.GLOBAL)
