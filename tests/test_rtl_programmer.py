"""RTL tier of the row programmer: hdl.programmer.RowProgrammer emitted to Verilog and run under
Verilator and Icarus via cocotb (tb/test_programmer.py) against golden.program, zero
mismatches; and once at the chip's 512 columns under Verilator."""
import pytest

from golden.spec import TileParams
from tb.runner import run_cocotb

pytestmark = pytest.mark.rtl

SMALL = {
    "c4b4": TileParams(rows=4, cols=4, code_bits=4),
    "c5b5d2": TileParams(rows=4, cols=5, code_bits=5, devices_per_weight=2),
    "c3b6f2": TileParams(rows=4, cols=3, code_bits=6, f_factor=2),
}
SIMULATORS = ["verilator", "icarus"]


def run(key, params, simulator, seed, testcase, **env):
    from hdl.programmer import RowProgrammer
    run_cocotb(lambda: RowProgrammer(params), "programmer", "tb.test_programmer", simulator,
               key, testcase=testcase,
               extra_env={"TEST_SEED": seed, "TB_MAX_NS": 100_000_000, **env})


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("key", list(SMALL))
def test_programmer(key, simulator, seed):
    """200 random rows per parameter set and simulator (random configurations, bad targets,
    back-pressure), every output every cycle, including every device's code after every
    iteration; then rows at the default configuration."""
    run(key, SMALL[key], simulator, seed, ["random_rows", "default_config_rows"])


@pytest.mark.fullsize
@pytest.mark.fullonly
def test_programmer_full_width_verilator(seed):
    """The chip's geometry (512 columns, 8-bit codes, 4-PCM, F = 1): 3 rows programmed at the
    default configuration (noise on), result codes, fail mask, status, phase, iteration and
    cycle counts exact; then the simulation speed idle and programming (logged). The first run
    emits and builds (1 to 2 minutes each) the 512-column block. Only in ``make test-full``:
    ``tests/test_rtl_tile.py::test_full_size_verilator`` programs rows of the same 512-column
    block inside the tile (cycles, status registers and fail-mask words exact), and this build
    cost the default suite about 4 minutes of a worker."""
    run("full", TileParams(), "verilator", seed, ["default_config_rows", "simulation_speed"],
        TEST_TRACE_CODES=0, TEST_DEFAULT_ROWS=3)
