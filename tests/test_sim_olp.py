# amaranth: UnusedElaboratable=no
"""Fast tier: hdl.olp.OutputLandingPad in amaranth.sim against golden.olp.capture."""
import numpy as np
import pytest

from hdl.olp import OutputLandingPad
from tb.blocks import OlpScenario
from tb.blocksim import run_scenario

# (lanes, word_bits)
PARAM_SETS = {"l6w4": (6, 4), "l3w2": (3, 2), "l9w3": (9, 3), "l1w5": (1, 5)}


def run(lanes, word_bits, scenario, seed):
    scenario.check(run_scenario(OutputLandingPad(lanes, word_bits), scenario), seed)
    print(scenario.summary())


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_random_windows(name, seed):
    """Windows shorter than, equal to and longer than out_max + 1 ticks (counts past out_max
    saturate and flag overrange); lanes with no pulse, one pulse anywhere and several pulses
    (the word is the count at the last falling edge, i.e. the total); random bits outside
    windows; back-pressure on half of the windows: o.valid from the first cycle after the
    window until accepted, payload unchanged meanwhile. Every lane is low on the last tick."""
    lanes, word_bits = PARAM_SETS[name]
    run(lanes, word_bits,
        OlpScenario(lanes, word_bits, np.random.default_rng(seed), windows=120, cut=False), seed)


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_back_pressure(name, seed):
    """Every window's words are held back for 1-5 cycles; some windows open on the very cycle
    the previous words are accepted."""
    lanes, word_bits = PARAM_SETS[name]
    run(lanes, word_bits, OlpScenario(lanes, word_bits, np.random.default_rng(seed),
                                      windows=80, cut=False, stall=1.0), seed)


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_cut_pulses_saturate(name, seed):
    """As test_random_windows, plus lanes still high on the window's last tick (overrange)."""
    lanes, word_bits = PARAM_SETS[name]
    run(lanes, word_bits,
        OlpScenario(lanes, word_bits, np.random.default_rng(seed), windows=120, cut=True), seed)


def test_rejects_bad_params():
    with pytest.raises(TypeError, match="Lane count must be a positive integer, not 0"):
        OutputLandingPad(0, 4)
    with pytest.raises(TypeError, match="Word width must be a positive integer, not 'x'"):
        OutputLandingPad(3, "x")
