"""RTL tier: the chip (tile emitted once, instantiated per position) under Verilator and
Icarus via cocotb, driven by cocotbext-axi, against the golden chip.

Marked ``chip_rtl`` and left out of the default run (``pytest -m chip_rtl`` runs it): the
routing scenarios pass in Verilator with every word and cycle equal to golden.chip, but the
chained pass does not yet (seed 4031543003: one word of eight differs in Verilator, seven in
Icarus, while the same scenario and seed pass in amaranth.sim, tests/test_sim_chip.py; with the
read noise off both scenarios pass in Verilator)."""
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
