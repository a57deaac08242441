"""RTL tier: the tile at the edges of every legal parameter range (docs/spec.md section 1),
built and run under Verilator and Icarus, a few random MVMs checked against the golden model.

Each parameter set combines several edges so that the sweep costs a few builds:

- ``edge_min``: 1 row, 1 column, fewer rows than ``eval_rows`` (one partial group) with
  ``eval_rows`` at its maximum 64, 2-bit input and output words, 1-bit codes, 2-PCM cells, the
  narrowest capacitor (``charge_bits`` 2) and a 1-bit gain;
- ``edge_max``: ``rows == eval_rows``, 16-bit input words, 12-bit codes, F = 15, the widest
  capacitor (``charge_bits`` 48) and a 16-bit gain;
- ``edge_out16``: 16-bit output words, one row per evaluation cycle (``eval_rows`` 1).
"""
import pytest

from golden.spec import TileParams
from tb.runner import run_cocotb

pytestmark = pytest.mark.rtl

EDGES = {
    "edge_min": TileParams(rows=1, cols=1, in_bits=2, out_bits=2, code_bits=1,
                           devices_per_weight=2, charge_bits=2, gain_bits=1, gain_frac_bits=0,
                           eval_rows=64),
    "edge_max": TileParams(rows=2, cols=3, in_bits=16, out_bits=8, code_bits=12, f_factor=15,
                           charge_bits=48, gain_bits=16, gain_frac_bits=15, eval_rows=2),
}
OUT16 = TileParams(rows=3, cols=2, in_bits=2, out_bits=16, code_bits=2, charge_bits=24,
                   eval_rows=1)
SIMULATORS = ["verilator", "icarus"]
#: one MVM per (input mode, activation) pair
MVMS = 8


def run(name, params, simulator, seed):
    from hdl.tile import Tile
    run_cocotb(lambda: Tile(params), "tile", "tb.test_tile", simulator, name,
               testcase="random_mvms", extra_env={"TEST_SEED": seed, "TEST_MVMS": MVMS})


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("name", list(EDGES))
def test_edges(name, simulator, seed):
    run(name, EDGES[name], simulator, seed)


# a build failure raises RuntimeError, which this marker does not absorb
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_edge_out_bits_16(simulator, seed):
    """16-bit output words: the reset EN window [0, 65535] and every legal window fit
    EN_WINDOW (lo and span)."""
    run("edge_out16", OUT16, simulator, seed)
