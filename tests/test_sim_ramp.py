# amaranth: UnusedElaboratable=no
"""Fast tier: hdl.ramp.RampConverter in amaranth.sim against golden.ramp.convert."""
import numpy as np
import pytest

from golden.spec import TileParams
from hdl.ramp import RampConverter
from tb.blocks import RampScenario
from tb.blocksim import run_scenario

PARAM_SETS = {
    "c5o4": TileParams(rows=2, cols=5, out_bits=4, charge_bits=10, gain_bits=6,
                       gain_frac_bits=4),
    "c3o3": TileParams(rows=2, cols=3, out_bits=3, charge_bits=16, gain_bits=8,
                       gain_frac_bits=7),
    "c4o5g0": TileParams(rows=2, cols=4, out_bits=5, charge_bits=8, gain_bits=4,
                         gain_frac_bits=0),
    "c2o2gall": TileParams(rows=2, cols=2, out_bits=2, charge_bits=6, gain_bits=3,
                           gain_frac_bits=2),
}


def run(p, scenario, seed):
    scenario.check(run_scenario(RampConverter(p), scenario), seed)
    print(scenario.summary())


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_random_conversions(name, seed):
    """Random charges, gains, offsets, ramp shifts, activations and EN windows: pulse
    durations, out_sat and the out_max + 1 tick emit window."""
    p = PARAM_SETS[name]
    run(p, RampScenario(p, np.random.default_rng(seed), conversions=150), seed)


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_rounding_ties_and_extremes(name, seed):
    """Charges exactly half-way between two output codes at every ramp shift (round half up,
    toward +inf, for both signs), and +-charge_max and 0 at the extreme gains and offsets."""
    p = PARAM_SETS[name]
    scenario = RampScenario(p, np.random.default_rng(seed), conversions=0)
    assert scenario.add_ties_and_extremes() > 0, "no rounding tie in this parameter set"
    run(p, scenario, seed)


def test_rejects_bad_params():
    with pytest.raises(TypeError, match="params must be a TileParams, not 'p'"):
        RampConverter("p")
