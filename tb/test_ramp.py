"""cocotb tests of hdl.ramp.RampConverter against golden.ramp.convert (coroutines only; run by
tests/test_rtl_blocks.py)."""
import os

import cocotb
import numpy as np

from .blockdrv import run_scenario, seed_from_env
from .blocks import RampScenario
from .runner import params_from_env


@cocotb.test()
async def random_conversions(dut):
    """Random charges, gains, offsets, shifts, activations and EN windows: pulse durations,
    out_sat and the emit window."""
    seed, p = seed_from_env(), params_from_env()
    scenario = RampScenario(p, np.random.default_rng(seed),
                            conversions=int(os.environ.get("TEST_CONVERSIONS", "48")))
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())


@cocotb.test()
async def rounding_ties_and_extremes(dut):
    """Half-way charges at every shift, +-charge_max at extreme gains and offsets."""
    seed, p = seed_from_env(), params_from_env()
    scenario = RampScenario(p, np.random.default_rng(seed), conversions=0)
    assert scenario.add_ties_and_extremes() > 0, "no rounding tie in this parameter set"
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())
