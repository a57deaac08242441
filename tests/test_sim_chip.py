# amaranth: UnusedElaboratable=no
"""Fast tier: the chip (tiles, mesh, pairs, host interface) in amaranth.sim against the golden
chip model, every output word and every cycle (scenarios in tb/chip_scenarios.py, shared with
the cocotb tier)."""
import pytest

from golden.spec import InputMode
from tb import chip_scenarios as sc
from tb.chipsim import run_chip_sim
from tests.test_sim_chip_mesh import GRIDS


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
