"""cocotb tests of hdl.olp.OutputLandingPad against golden.olp.capture (coroutines only; run
by tests/test_rtl_blocks.py). The block has no TileParams: lanes and word width come from
the wrapper's port widths."""
import os

import cocotb
import numpy as np

from .blockdrv import run_scenario, seed_from_env
from .blocks import OlpScenario
from .runner import ports_from_env


def _geometry():
    widths = {port.name: port.width for port in ports_from_env()}
    lanes = widths["lanes__pulse"]
    return lanes, widths["o__payload"] // lanes


async def _run(dut, **options):
    seed = seed_from_env()
    lanes, word_bits = _geometry()
    scenario = OlpScenario(lanes, word_bits, np.random.default_rng(seed), **options)
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())


@cocotb.test()
async def random_windows(dut):
    """Short, full and long windows, several pulses per lane, back-pressure on half of them;
    every lane low on the last tick."""
    await _run(dut, windows=int(os.environ.get("TEST_WINDOWS", "48")), cut=False)


@cocotb.test()
async def back_pressure(dut):
    """Every window's words held back 1-5 cycles: o.valid and payload stable until accepted."""
    await _run(dut, windows=32, cut=False, stall=1.0)


@cocotb.test()
async def cut_pulses_saturate(dut):
    """Lanes still high on the window's last tick saturate at out_max (docs/spec.md section 6)."""
    await _run(dut, windows=48, cut=True)
