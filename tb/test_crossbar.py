"""cocotb tests of hdl.crossbar.Crossbar against golden.crossbar.integrate (coroutines only;
run by tests/test_rtl_blocks.py)."""
import os

import cocotb
import numpy as np

from .blockdrv import run_scenario, seed_from_env
from .blocks import CrossbarScenario
from .runner import params_from_env


@cocotb.test()
async def random_mvms(dut):
    """Rows written via prog among bad rows, probe read-back, random windows with writes
    between and during them: charge, cap_sat, evaluating, done, prog.ready, bad_row."""
    seed, p = seed_from_env(), params_from_env()
    scenario = CrossbarScenario(p, np.random.default_rng(seed),
                                mvms=int(os.environ.get("TEST_MVMS", "32")))
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())


@cocotb.test()
async def lane_overrange(dut):
    """Windows longer than 2^in_bits - 1 ticks with lanes held past it."""
    seed, p = seed_from_env(), params_from_env()
    scenario = CrossbarScenario(p, np.random.default_rng(seed), mvms=16, probes=False,
                                overrange=1.0)
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())
