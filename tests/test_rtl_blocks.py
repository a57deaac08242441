"""RTL tier of the blocks: ILP, OLP, crossbar and ramp converter, each emitted to Verilog and
run under Verilator and Icarus via cocotb (tb/test_<block>.py) against the golden blocks."""
import pytest

from golden.spec import TileParams
from tb.runner import run_cocotb

pytestmark = pytest.mark.rtl


def _ilp(p):
    from hdl.ilp import InputLandingPad
    return InputLandingPad(p)


def _olp(geometry):
    from hdl.olp import OutputLandingPad
    return OutputLandingPad(*geometry)


def _crossbar(p):
    from hdl.crossbar import Crossbar
    return Crossbar(p)


def _ramp(p):
    from hdl.ramp import RampConverter
    return RampConverter(p)


# block (= toplevel and tb.test_<block>) -> (factory, {params key: parameters})
BLOCKS = {
    "ilp": (_ilp, {"r6i4": TileParams(rows=6, in_bits=4),
                   "r3i2": TileParams(rows=3, in_bits=2)}),
    "olp": (_olp, {"l6w4": (6, 4),          # (lanes, word_bits)
                   "l3w2": (3, 2)}),
    "crossbar": (_crossbar, {
        "r5c4": TileParams(rows=5, cols=4, in_bits=3, code_bits=3, charge_bits=7),
        "r8c3d2": TileParams(rows=8, cols=3, in_bits=4, code_bits=4, devices_per_weight=2,
                             charge_bits=10)}),
    "ramp": (_ramp, {
        "c5o4": TileParams(rows=2, cols=5, out_bits=4, charge_bits=10, gain_bits=6,
                           gain_frac_bits=4),
        "c3o3": TileParams(rows=2, cols=3, out_bits=3, charge_bits=16, gain_bits=8,
                           gain_frac_bits=7)}),
}
SIMULATORS = ["verilator", "icarus"]
CASES = [(block, key) for block, (_, sets) in BLOCKS.items() for key in sets]


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("block,key", CASES, ids=[f"{b}-{k}" for b, k in CASES])
def test_block(block, key, simulator, seed):
    factory, sets = BLOCKS[block]
    params = sets[key]
    run_cocotb(lambda: factory(params), block, f"tb.test_{block}", simulator, key,
               extra_env={"TEST_SEED": seed, "TB_MAX_NS": 10_000_000})
