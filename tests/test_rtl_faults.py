"""RTL tier: fault injection (docs/faults.md) on the tile emitted to Verilog, under Verilator
via cocotb (``tb.fault_scenario``, the scenario of tests/test_sim_faults.py)."""
import pytest

from test_rtl_tile import SMALL, run

pytestmark = pytest.mark.rtl


def test_faults_verilator(seed):
    run("t8x6", SMALL["t8x6"], "verilator", ["faults"], seed)
