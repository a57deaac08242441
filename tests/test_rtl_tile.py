"""RTL tier: the tile top, emitted to Verilog, under Verilator and Icarus via cocotb."""
import dataclasses
import os

import pytest

from golden.spec import TileParams
from tb.runner import run_cocotb

pytestmark = pytest.mark.rtl

SMALL = {
    "t8x6": TileParams(rows=8, cols=6, in_bits=4, out_bits=4, code_bits=3, charge_bits=12),
    "t16x16d2": TileParams(rows=16, cols=16, devices_per_weight=2, code_bits=4, charge_bits=16,
                           gain_bits=6, gain_frac_bits=5),
    "t12x10f3": TileParams(rows=12, cols=10, in_bits=5, out_bits=6, code_bits=4, f_factor=3,
                           charge_bits=14, eval_rows=8),     # a partial last row group
}
FULL = TileParams()


def key(name, p):
    return name


def run(name, params, simulator, testcase, seed, **env):
    from hdl.tile import Tile
    run_cocotb(lambda: Tile(params), "tile", "tb.test_tile", simulator, key(name, params),
               testcase=testcase, extra_env={"TEST_SEED": seed, **env})


SIMULATORS = ["verilator", "icarus"]
DIRECTED = ["directed_corners", "rounding_ties", "phase_timing", "reset_mid_mvm",
            "closed_loop_programming", "calibration",
            "illegal_configuration"]


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("name", list(SMALL))
def test_directed(name, simulator, seed):
    run(name, SMALL[name], simulator, DIRECTED, seed)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_separately_emitted_blocks(simulator, seed):
    """The 8 x 6 tile emitted as a wide tile is (``hdl.verilog.emit(separate=True)``: the
    programmer, crossbar and ramp converted in processes of their own, instantiated by module
    name): the directed scenarios, every word, cycle and register against the golden model."""
    from hdl.tile import SEPARATE_BLOCKS, Tile
    params = SMALL["t8x6"]

    def separate():
        tile = Tile(params)
        tile.emit_separately = True
        return tile
    run_cocotb(separate, "tile", "tb.test_tile", simulator, "t8x6sep", testcase=DIRECTED,
               extra_env={"TEST_SEED": seed})
    from tb.runner import BUILD_ROOT
    text = next((BUILD_ROOT / "emit").glob("tile_t8x6sep*/tile.v")).read_text()
    for block in SEPARATE_BLOCKS:
        assert f"module tile_{block}(" in text and f"tile_{block} {block} (" in text, block


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("name", list(SMALL))
def test_random_volume(name, simulator, seed):
    """>= 10,000 random MVMs per simulator across the small parameter sets, 20 % of them with
    random idle cycles before the input and back-pressure on the output. Each simulator's
    10,000 are shared out by its speed at each size (Icarus's cost grows with the columns,
    Verilator's hardly); RTL_MVMS=n runs n on every set instead."""
    count = int(os.environ.get("RTL_MVMS", "0")) or VOLUME[simulator][name]
    run(name, SMALL[name], simulator, "random_mvms", seed, TEST_MVMS=count, TEST_STALL=0.2)


#: Random MVMs per parameter set and simulator: 10,000 per simulator
VOLUME = {
    "verilator": {"t8x6": 3400, "t12x10f3": 3300, "t16x16d2": 3300},
    "icarus": {"t8x6": 5800, "t12x10f3": 3000, "t16x16d2": 1200},
}
assert all(sum(v.values()) >= 10_000 and set(v) == set(SMALL) for v in VOLUME.values())


@pytest.mark.fullsize
def test_full_size_verilator(seed):
    """The chip's 512 x 512 tile: >= 100 random MVMs, the phase timing, closed-loop
    programming of two rows (status registers, cycles, then MVMs) and drift calibration, in
    Verilator."""
    count = int(os.environ.get("FULL_MVMS", "120"))
    run("full", FULL, "verilator", ["random_mvms", "phase_timing", "closed_loop_programming",
                                    "calibration"],
        seed, TEST_MVMS=count, TEST_PROG_ROWS=int(os.environ.get("FULL_PROG_ROWS", "2")))
