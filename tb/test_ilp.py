"""cocotb tests of hdl.ilp.InputLandingPad against golden.ilp (coroutines only; run by
tests/test_rtl_blocks.py). The scenarios and checks are tb.blocks', shared with the
amaranth.sim tier."""
import os

import cocotb
import numpy as np

from .blockdrv import run_scenario, seed_from_env
from .blocks import IlpScenario, ilp_corner_plan
from .runner import params_from_env


@cocotb.test()
async def random_vectors(dut):
    """Random words in both modes, back to back or after idle cycles: waveform per tick,
    window length, i.ready."""
    seed, p = seed_from_env(), params_from_env()
    scenario = IlpScenario(p, np.random.default_rng(seed),
                           vectors=int(os.environ.get("TEST_VECTORS", "64")))
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())


@cocotb.test()
async def back_to_back_corners(dut):
    """Zero, full scale, alternating extremes and single lanes with valid held high."""
    seed, p = seed_from_env(), params_from_env()
    scenario = IlpScenario(p, np.random.default_rng(seed), words=ilp_corner_plan(p),
                           back_to_back=1.0)
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())
