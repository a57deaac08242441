"""RTL tier: cocotbext-axi's AxiLiteMaster, arranged as the chip testbench arranges it, against
an AXI4-Lite slave whose ready signals are registered (tb/regslave.py), on Verilator and Icarus:
with the clock generated in HDL, a model sampling at ``RisingEdge(clk)`` misreads handshakes of
such a slave under Verilator (cocotb#4469); on the wrapper's inverted clock with sampled outputs
every transaction must be answered as a register model predicts."""
import pytest

from tb.runner import run_cocotb

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_registered_ready_slave(simulator, seed):
    from tb.regslave import RegisteredReadySlave
    run_cocotb(RegisteredReadySlave, "regslave", "tb.test_regslave", simulator, "axil",
               extra_env={"TEST_SEED": seed}, sampled=("bus",))
