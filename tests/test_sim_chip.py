# amaranth: UnusedElaboratable=no
"""Fast tier: the chip (tiles, mesh, pairs, host interface) in amaranth.sim against the golden
chip model, every output word and every cycle (scenarios in tb/chip_scenarios.py, shared with
the cocotb tier)."""
import numpy as np
import pytest

from golden.spec import InputMode
from tb import chip_scenarios as sc
from tb.chipsim import run_chip_sim
from golden.chip.params import PROG_BUS_MAX, ChipParams
from tests.test_sim_chip_mesh import GRIDS, TILE

#: The smallest chip: one row of two tiles, one pair.
GRID_1X2 = ChipParams(tile=TILE, grid_rows=1, grid_cols=2, empty=(), group_lanes=4,
                      pair_rows=(0,))


@pytest.mark.parametrize("mode", list(InputMode))
def test_chain_of_two_tiles(mode, seed):
    """ILP 0 -> tile 0 -> tile 3 -> OLP 0 on a 2 x 2 chip, several beats back to back."""
    async def bench(drv, ctx, dut):
        await sc.chained_pass(drv, GRIDS["2x2"], seed, mode)
    run_chip_sim(GRIDS["2x2"], bench)


def test_routing_scenarios(seed):
    """Multicast, concatenation, a wrap, two pairs in flight; a refused routing of every
    illegal class keeps the active one."""
    async def bench(drv, ctx, dut):
        await sc.routing_scenarios(drv, GRIDS["2x2"], seed)
    run_chip_sim(GRIDS["2x2"], bench)


def test_reset_mid_pass_and_tile_windows(seed):
    """BAD_DEST, tile registers through their windows, reset in the middle of a chained
    pass."""
    async def bench(drv, ctx, dut):
        await sc.reset_mid_pass(drv, GRIDS["2x3e"], seed)
    run_chip_sim(GRIDS["2x3e"], bench)


def test_one_by_two(seed):
    """The smallest chip, 1 x 2: ILP 0 -> tile 0 -> tile 1 -> OLP 0, several beats."""
    async def bench(drv, ctx, dut):
        await sc.chained_pass(drv, GRID_1X2, seed, InputMode.SIGNED, chain=[0, 1])
    run_chip_sim(GRID_1X2, bench)


def test_chain_of_three(seed):
    """ILP 0 -> three tiles -> OLP 0 on the 2 x 3 chip with an empty position (one pair)."""
    async def bench(drv, ctx, dut):
        chain = sc.legal_chain(GRIDS["2x3e"], 3)
        assert len(set(chain)) == 3
        await sc.chained_pass(drv, GRIDS["2x3e"], seed, InputMode.UNSIGNED, chain=chain)
    run_chip_sim(GRIDS["2x3e"], bench)


@pytest.mark.parametrize("name", list(GRIDS))
def test_random_routes(name, seed):
    """Random legal routings (chains, multicast, concatenation, random drive sides) with idle
    gaps and back-pressure, every word and cycle against the golden chip."""
    async def bench(drv, ctx, dut):
        await sc.random_routes(drv, GRIDS[name], seed, routings=8, pause_in=0.2,
                               pause_out=0.3)
    run_chip_sim(GRIDS[name], bench)


def test_idle_and_back_pressure(seed):
    """Beats held back and the host not ready: handshakes and outputs where the golden chip
    puts them given the gaps and stalls, and the stalls delay the outputs."""
    async def bench(drv, ctx, dut):
        await sc.traffic(drv, GRIDS["2x2"], seed)
    run_chip_sim(GRIDS["2x2"], bench)


def test_plan_pass(seed):
    """A two-layer network mapped by ``mapper.plan`` onto the 1 x 2 chip: the plan's host
    sequence (closed-loop programming of every target row through the programming stream,
    register writes, the routing commit), then its inputs; every word and cycle against the
    golden chip that ran the same sequence."""
    from tb.test_chip import _random_plan
    plan, x = _random_plan(GRID_1X2, seed)

    async def bench(drv, ctx, dut):
        await sc.plan_pass(drv, plan, x, seed=seed)
    run_chip_sim(GRID_1X2, bench)


def test_split_plan_pass(seed):
    """A layer split over its inputs (two tiles fed by two ILPs, partial sums through two OLPs,
    added on the host with the bias and the ReLU), then a second layer on a tile of its own,
    on a 3 x 2 chip with three pairs: both segments' beats interleaved on the input stream;
    every word and cycle against the golden chip."""
    from golden.chip.params import PROG_BUS_MAX, ChipParams
    from tb.test_chip import _random_plan
    p = ChipParams(tile=TILE, grid_rows=3, grid_cols=2, empty=(), group_lanes=4,
                   pair_rows=(0, 1, 2))
    plan, x = _random_plan(p, seed)
    assert [len(s.inputs) for s in plan.segments] == [2, 1] and plan.segments[0].partial

    async def bench(drv, ctx, dut):
        _, _, y = await sc.plan_pass(drv, plan, x, seed=seed)
        np.testing.assert_array_equal(y, plan.infer(plan.golden_chip(), x)[0])
    run_chip_sim(p, bench)


@pytest.mark.parametrize("bus", [1, 7, 112, PROG_BUS_MAX])
def test_programming_bus(bus, seed):
    """A programming bus of 1, 7, 112 and 4096 wires (a row write of the 8 x 8 tile is 112
    bits, a target row 56): back-to-back row writes, to one tile and alternating between two, are taken
    one every ``prog_chunks + 1`` cycles; then a chained pass programmed over that bus and a
    plan programmed row by row in closed loop (on a fresh chip), every word and cycle against
    the golden chip."""
    from dataclasses import replace

    from tb.pack import pack_row_write
    from tb.test_chip import _random_plan
    p = replace(GRID_1X2, prog_bus_bits=bus)
    rng = np.random.default_rng(seed)
    t = p.tile
    codes = rng.integers(0, 1 << t.code_bits, (t.rows, t.cols, len(t.cell_fields)))
    beats = [(0, row) for row in range(t.rows)] + [(row % 2, row) for row in range(t.rows)]
    plan, x = _random_plan(p, seed)

    async def bench(drv, ctx, dut):
        ps = dut.p_axis
        cycle, taken = 0, []
        ctx.set(ps.tvalid, 1)
        ctx.set(ps.tuser, 0)
        for tile, row in beats:
            ctx.set(ps.tdata, pack_row_write(t, row, codes[row]))
            ctx.set(ps.tdest, tile)
            while True:
                ready = ctx.get(ps.tready)
                await ctx.tick()
                cycle += 1
                if ready:
                    taken.append(cycle)
                    break
        ctx.set(ps.tvalid, 0)
        await drv.wait_idle()
        assert list(np.diff(taken)) == [p.prog_chunks(False) + 1] * (len(beats) - 1), taken
        await sc.chained_pass(drv, p, seed, InputMode.SIGNED, chain=[0, 1])

    async def closed_loop(drv, ctx, dut):
        await sc.plan_pass(drv, plan, x, seed=seed)
    run_chip_sim(p, bench)
    run_chip_sim(p, closed_loop)
