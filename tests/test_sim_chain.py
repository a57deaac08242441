"""Two tiles chained by their pulse lanes (the mesh ports), in amaranth.sim.

Tile A's output window drives tile B's ``lanes_in``; B integrates A's ReLU outputs without any
digitization and the host reads both ``y`` streams. Golden: B's MVM of A's output words.
"""
import numpy as np
from amaranth.hdl import Module
from amaranth.sim import Simulator

from golden.regs import REGISTERS, RegisterFile
from golden.spec import Activation, ErrorBit, InputMode, InputSource, TileConfig, TileParams
from golden.tile import Tile as GoldenTile
from golden.timing import mvm_timing
from hdl.tile import Tile
from tb.scoreboard import assert_equal_arrays
from tb.simdrv import SimTileDriver
from tb.stimulus import fitted_ramp_shift, random_codes, random_inputs

A = TileParams(rows=6, cols=4, in_bits=4, out_bits=4, code_bits=3, charge_bits=12)
B = TileParams(rows=4, cols=3, in_bits=4, out_bits=5, code_bits=3, charge_bits=12)


def test_tile_to_tile_over_lanes(seed):
    rng = np.random.default_rng(seed)
    gold_a = GoldenTile(A, random_codes(rng, A))
    gold_b = GoldenTile(B, random_codes(rng, B))
    xs = random_inputs(rng, A, InputMode.SIGNED, 6)
    cfg_a = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.RELU,
                       ramp_shift=fitted_ramp_shift(gold_a, xs, InputMode.SIGNED))
    ya = gold_a.mvm(xs, cfg_a)
    cfg_b = TileConfig(input_mode=InputMode.UNSIGNED, input_source=InputSource.LANES,
                       activation=Activation.IDENTITY,
                       ramp_shift=fitted_ramp_shift(gold_b, ya, InputMode.UNSIGNED))
    yb = gold_b.mvm(ya, cfg_b)
    # B integrates over A's emit window: out_max(A) + 1 ticks
    timing_b = mvm_timing(B, cfg_b, integrate_ticks=A.out_max + 1)

    m = Module()
    m.submodules.a = tile_a = Tile(A)
    m.submodules.b = tile_b = Tile(B)
    m.d.comb += [
        tile_b.lanes_in.pulse.eq(tile_a.lanes_out.pulse),
        tile_b.lanes_in.sign.eq(tile_a.lanes_out.sign),
        tile_b.lanes_in.window.eq(tile_a.lanes_out.window),
    ]
    sim = Simulator(m)
    sim.add_clock(1e-8)
    got_b, latencies = [], []

    async def bench(ctx):
        da, db = SimTileDriver(ctx, tile_a, A), SimTileDriver(ctx, tile_b, B)
        await da.program(gold_a.codes)
        await db.program(gold_b.codes)
        for drv, params, cfg in ((da, A, cfg_a), (db, B, cfg_b)):
            for address, data in RegisterFile(params).load(cfg):
                assert await drv.csr_write(address, data) == 0
        ctx.set(tile_b.y.ready, 1)
        for i, x in enumerate(xs):
            # A's MVM; B starts on A's emit window by itself, its y shows up after A's
            y, _ = await da.mvm(x)
            assert_equal_arrays(ya[i], y, f"tile A y[{i}]", seed)
            cycles = 0
            while not ctx.get(tile_b.y.valid):
                await ctx.tick()
                cycles += 1
            got_b.append(db_words(ctx, tile_b))
            await ctx.tick()
        count, _ = await db.csr_read(REGISTERS["MVM_COUNT"].address)
        assert count == len(xs)
        latency, _ = await db.csr_read(REGISTERS["LAST_LATENCY"].address)
        latencies.append(latency)
        error, _ = await db.csr_read(REGISTERS["ERROR"].address)
        assert not error >> ErrorBit.LANE_COLLISION & 1

    def db_words(ctx, dut):
        from tb.pack import unpack_words
        return unpack_words(ctx.get(dut.y.payload.as_value()), B.cols, B.out_bits)

    sim.add_testbench(bench)
    sim.run()
    assert_equal_arrays(yb, np.array(got_b), "tile B y (chained)", seed)
    # the latency counter starts one cycle before the external window, like a handshake
    assert latencies == [timing_b.latency]


def test_window_while_busy_is_a_collision():
    p = B
    dut = Tile(p)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        drv = SimTileDriver(ctx, dut, p)
        for address, data in RegisterFile(p).load(TileConfig(input_source=InputSource.LANES)):
            await drv.csr_write(address, data)
        for _ in range(2):              # a 3-tick window, then one opening while busy
            ctx.set(dut.lanes_in.window, 1)
            ctx.set(dut.lanes_in.pulse, 0b0101)
            await ctx.tick().repeat(3)
            ctx.set(dut.lanes_in.window, 0)
            ctx.set(dut.lanes_in.pulse, 0)
            await ctx.tick()
        error, _ = await drv.csr_read(REGISTERS["ERROR"].address)
        assert error == 1 << ErrorBit.LANE_COLLISION

    sim.add_testbench(bench)
    sim.run()
