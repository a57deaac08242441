"""RTL tier: fault injection (docs/faults.md) on the tile emitted to Verilog, under Verilator
and Icarus via cocotb (``tb.fault_scenario``, the scenario of tests/test_sim_faults.py), on a
small tile built with the fault-injection hardware (``TileParams.fault_injection``)."""
import dataclasses

import pytest

from test_rtl_tile import SMALL, run

pytestmark = pytest.mark.rtl

FAULTY = dataclasses.replace(SMALL["t8x6"], fault_injection=True)


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_faults(simulator, seed):
    run("t8x6fi", FAULTY, simulator, ["faults"], seed)
