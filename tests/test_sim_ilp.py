# amaranth: UnusedElaboratable=no
"""Fast tier: hdl.ilp.InputLandingPad in amaranth.sim against golden.ilp, tick by tick."""
import numpy as np
import pytest

from golden.spec import TileParams
from hdl.ilp import InputLandingPad
from tb.blocks import IlpScenario, ilp_corner_plan
from tb.blocksim import run_scenario

PARAM_SETS = {
    "r6i4": TileParams(rows=6, in_bits=4),
    "r3i2": TileParams(rows=3, in_bits=2),
    "r9i5": TileParams(rows=9, in_bits=5),
    "r1i3": TileParams(rows=1, in_bits=3),
}


def run(p, scenario, seed):
    scenario.check(run_scenario(InputLandingPad(p), scenario), seed)
    print(scenario.summary())


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_random_vectors(name, seed):
    """Random words in both modes (the mode changes from vector to vector and is random while
    a window is open), half offered back to back, the rest after random idle cycles: lane
    waveform (pulse and sign per tick), window length and i.ready per cycle."""
    p = PARAM_SETS[name]
    run(p, IlpScenario(p, np.random.default_rng(seed), vectors=160), seed)


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_back_to_back_corners(name, seed):
    """``valid`` held high throughout: zero, full scale of both signs, alternating extremes
    and single lanes, in each mode, then with the mode flipping between vectors."""
    p = PARAM_SETS[name]
    run(p, IlpScenario(p, np.random.default_rng(seed), words=ilp_corner_plan(p),
                       back_to_back=1.0), seed)


def test_rejects_bad_params():
    with pytest.raises(TypeError, match="params must be a TileParams, not 4"):
        InputLandingPad(4)
    with pytest.raises(TypeError, match="load_domain must be a domain name, not ''"):
        InputLandingPad(TileParams(rows=2, cols=2), load_domain="")
