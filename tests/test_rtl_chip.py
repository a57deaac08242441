"""RTL tier: the chip (tile emitted once, instantiated per position) under Verilator and
Icarus via cocotb, driven by cocotbext-axi's bus-functional models (tb/chipdrv.py), against
the golden chip: every word and every cycle of the scenarios of tb/chip_scenarios.py."""
import pytest

from tb.chipdrv import SAMPLED_PORTS
from tb.runner import run_cocotb
from tests.test_sim_chip import GRID_1X2
from tests.test_sim_chip_mesh import GRIDS

pytestmark = [pytest.mark.rtl, pytest.mark.chip_rtl]


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_chip_2x2(simulator, seed):
    from hdl.chip.chip import TILE_MODULE, Chip
    p = GRIDS["2x2"]
    run_cocotb(lambda: Chip(p, tile_module=TILE_MODULE), "chip", "tb.test_chip", simulator, "c2x2",
               testcase=["chained_pass", "routing_scenarios", "random_routes",
                         "idle_and_back_pressure", "reset_mid_pass", "plan_pass"],
               extra_env={"TEST_SEED": seed}, sampled=SAMPLED_PORTS)


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_chip_1x2_and_2x3(simulator, seed):
    """The smallest chip (1 x 2: a chained pass, random routes, a network's plan with
    closed-loop programming through the programming stream) and a 2 x 3 chip with an
    empty position and one pair (a chain of three tiles, BAD_DEST, reset in the middle of a
    chained pass, random routes), its tiles behind the shell of hierarchical builds
    (``hdl.chip.chip.TileShell``; Verilator builds it as one hierarchical block). The two
    chips have the edges of the programming bus: 1 wire (a row write in 112 chunks) and 4096
    wires."""
    from dataclasses import replace

    from golden.chip.params import PROG_BUS_MAX
    from hdl.chip.chip import TILE_MODULE, Chip
    for key, p, hier, tests in (
            ("c1x2", replace(GRID_1X2, prog_bus_bits=1), False,
             ["chained_pass", "random_routes", "plan_pass"]),
            ("c2x3eh", replace(GRIDS["2x3e"], prog_bus_bits=PROG_BUS_MAX), True,
             ["chain_of_three", "reset_mid_pass", "random_routes"])):
        run_cocotb(lambda: Chip(p, tile_module=TILE_MODULE, hierarchical=hier), "chip",
                   "tb.test_chip", simulator, key, testcase=tests,
                   extra_env={"TEST_SEED": seed, "CHIP_ROUTINGS": 4}, sampled=SAMPLED_PORTS)


@pytest.mark.fullsize
@pytest.mark.chipfull
def test_chip_chain_full_size_verilator(seed):
    """Two 512 x 512 tiles chained through the mesh of a 1 x 2 chip, in Verilator: the first
    tile's ReLU outputs drive the second's rows as pulses; every word and cycle of the pass
    against the golden chip. The tile is one hierarchical block (half the flat build's 332 s
    here)."""
    from golden.chip.params import ChipParams
    from golden.spec import TileParams
    from hdl.chip.chip import TILE_MODULE, Chip
    p = ChipParams(tile=TileParams(), grid_rows=1, grid_cols=2, empty=(), group_lanes=256,
                   pair_rows=(0,))
    run_cocotb(lambda: Chip(p, tile_module=TILE_MODULE, hierarchical=True), "chip", "tb.test_chip",
               "verilator", "c1x2fullh", testcase="routed_pass",
               extra_env={"TEST_SEED": seed, "CHIP_ROUTED": "1", "CHIP_CHAIN": "0,1"},
               sampled=SAMPLED_PORTS)
