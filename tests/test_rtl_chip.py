"""RTL tier: the chip (tile emitted once, instantiated per position) under Verilator and
Icarus via cocotb, driven by cocotbext-axi's bus-functional models (tb/chipdrv.py), against
the golden chip: every word and every cycle of the scenarios of tb/chip_scenarios.py."""
import pytest

from tb.chipdrv import SAMPLED_PORTS
from tb.runner import run_cocotb
from tests.test_sim_chip_mesh import GRIDS

pytestmark = [pytest.mark.rtl, pytest.mark.chip_rtl]


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_chip_2x2(simulator, seed):
    from hdl.chip.chip import Chip
    p = GRIDS["2x2"]
    run_cocotb(lambda: Chip(p, tile_module="tile"), "chip", "tb.test_chip", simulator, "c2x2",
               extra_env={"TEST_SEED": seed}, sampled=SAMPLED_PORTS)
