# amaranth: UnusedElaboratable=no
"""Fast tier: hdl.crossbar.Crossbar in amaranth.sim against golden.crossbar.integrate."""
import numpy as np
import pytest

from golden.spec import TileParams
from hdl.crossbar import Crossbar
from tb.blocks import CrossbarScenario
from tb.blocksim import run_scenario

PARAM_SETS = {
    "r5c4": TileParams(rows=5, cols=4, in_bits=3, code_bits=3, charge_bits=7),
    "r8c3d2": TileParams(rows=8, cols=3, in_bits=4, code_bits=4, devices_per_weight=2,
                         charge_bits=10),
    "r3c6f3": TileParams(rows=3, cols=6, in_bits=2, code_bits=2, f_factor=3, charge_bits=6),
    "r1c2": TileParams(rows=1, cols=2, in_bits=3, code_bits=2, charge_bits=5),
}


def run(p, scenario, seed):
    scenario.check(run_scenario(Crossbar(p), scenario), seed)
    print(scenario.summary())


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_random_mvms(name, seed):
    """Every row written through prog in random order among writes to rows >= rows (bad_row,
    nothing written: probe windows read every row back), then random windows with row writes
    between them and offered while busy; charge, cap_sat, evaluating, done, prog.ready,
    engaged and bad_row cycle by cycle."""
    p = PARAM_SETS[name]
    run(p, CrossbarScenario(p, np.random.default_rng(seed), mvms=80), seed)


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_lane_overrange(name, seed):
    """Every window is longer than 2^in_bits - 1 ticks and some lanes stay high past it: their
    count saturates and overrange rises on the first tick beyond the limit."""
    p = PARAM_SETS[name]
    run(p, CrossbarScenario(p, np.random.default_rng(seed), mvms=40, probes=False,
                            overrange=1.0), seed)


def test_rejects_bad_params():
    with pytest.raises(TypeError, match="params must be a TileParams, not None"):
        Crossbar(None)
    with pytest.raises(TypeError, match="mac_domain must be a domain name, not 3"):
        Crossbar(TileParams(rows=2, cols=2), mac_domain=3)
    with pytest.raises(TypeError, match="count_domain must be a domain name, not ''"):
        Crossbar(TileParams(rows=2, cols=2), count_domain="")
    with pytest.raises(TypeError, match="sample_domain must be a domain name, not None"):
        Crossbar(TileParams(rows=2, cols=2), sample_domain=None)
