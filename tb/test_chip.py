"""cocotb tests of the chip (coroutines only; run by tests/test_rtl_chip.py): the scenarios of
tb/chip_scenarios.py through cocotbext-axi's bus-functional models (tb/chipdrv.py)."""
import os

import cocotb

from golden.spec import InputMode
from . import chip_scenarios as sc
from .chipdrv import ChipTB


def _seed() -> int:
    return int(os.environ.get("TEST_SEED", "1"))


async def _start(dut) -> ChipTB:
    tb = ChipTB(dut)
    await tb.reset()
    return tb


@cocotb.test()
async def chained_pass(dut):
    """ILP 0 -> two tiles -> OLP 0, both input modes, every word and cycle."""
    tb = await _start(dut)
    for mode in InputMode:
        # each scenario compares against a fresh golden chip: reset the RTL chip's registers
        # (the tiles' MVM counts key the read noise)
        await tb.reset()
        await sc.chained_pass(tb, tb.p, _seed() + int(mode), mode)


@cocotb.test()
async def routing_scenarios(dut):
    """Multicast, concatenation, a wrap, two pairs; a refused routing of every class."""
    tb = await _start(dut)
    await sc.routing_scenarios(tb, tb.p, _seed())
