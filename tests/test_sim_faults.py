"""Fast tier: fault injection (docs/faults.md) on the whole tile in amaranth.sim against the
golden model. Random stuck devices, dead lanes and dead columns are written through the
FAULT_* registers; then host row writes, MVMs, closed-loop programming and calibration must
equal the golden tile holding the same FaultMap: every output word, every status register and
fail mask, every cycle count."""
import numpy as np
import pytest

from golden.faults import FaultMap
from golden.regs import REGISTERS, RegisterFile
from golden.spec import Activation, InputMode, TileConfig, TileParams
from golden.tile import Tile as GoldenTile
from tb.fault_scenario import check_registers, run_fault_scenario, write_all
from tb.scoreboard import assert_equal_arrays
from tb.simdrv import run_sim
from tb.stimulus import random_codes, random_inputs

PARAM_SETS = [
    TileParams(rows=8, cols=6, in_bits=4, out_bits=4, code_bits=4, charge_bits=14,
               fault_injection=True),
    TileParams(rows=6, cols=5, in_bits=3, out_bits=5, code_bits=4, devices_per_weight=2,
               charge_bits=12, gain_bits=6, gain_frac_bits=4, eval_rows=2, fault_injection=True),
]
IDS = ["8x6d4", "6x5d2"]


@pytest.mark.parametrize("params", PARAM_SETS, ids=IDS)
def test_faults_through_the_registers(params, seed):
    async def tb(drv, ctx, dut):
        await run_fault_scenario(drv, params, seed)

    run_sim(params, tb)


def test_reset_keeps_the_stuck_devices(seed):
    """rst clears FAULT_ROW, FAULT_LANES and FAULT_COLS but not the fault memory: a row write
    after the reset still stores the stuck codes."""
    p = PARAM_SETS[0]
    rng = np.random.default_rng(seed)
    faults = FaultMap.random(p, 0.3, seed=int(rng.integers(0, 1 << 32)), dead_lanes=2,
                             dead_cols=2)
    codes = random_codes(rng, p)
    cfg = TileConfig(activation=Activation.IDENTITY)
    xs = random_inputs(rng, p, InputMode.UNSIGNED, 3)

    async def tb(drv, ctx, dut):
        regs = RegisterFile(p)
        await write_all(drv, regs.load_faults(faults), "fault injection")
        await drv.reset()
        regs.reset()
        assert regs.faults() == faults.with_periphery()
        await check_registers(drv, regs, [REGISTERS["FAULT_ROW"].address,
                                          regs.map.address("FAULT_COLS", 0),
                                          regs.map.address("FAULT_LANES", 0)], "after reset")
        await drv.program(codes)
        await write_all(drv, regs.load(cfg), "configuration")
        golden = GoldenTile(p, codes, faults=faults.with_periphery())
        expected = golden.run(xs, cfg)
        for i, x in enumerate(xs):
            y, _ = await drv.mvm(x)
            assert_equal_arrays(expected.y[i], y, f"MVM {i} after reset", seed)

    run_sim(p, tb)


def test_no_fault_registers_without_fault_injection(seed):
    """A tile built without fault injection (the chip's) has none of the FAULT_* registers:
    reads and writes of their addresses get SLVERR and ERROR stays as the register model
    says; the rest of the map answers as before."""
    import dataclasses

    from golden.regs import SLVERR, TILE_MAP
    p = dataclasses.replace(PARAM_SETS[0], fault_injection=False)
    rng = np.random.default_rng(seed)
    addresses = [TILE_MAP[name].offset for name in
                 ("FAULT_ROW", "FAULT_MASK", "FAULT_LEVEL", "FAULT_LANES", "FAULT_COLS")]
    addresses += [TILE_MAP["FAULT_MASK"].offset + 4, TILE_MAP["FAULT_LANES"].offset + 4]

    async def tb(drv, ctx, dut):
        regs = RegisterFile(p)
        for address in addresses:
            data = int(rng.integers(0, 1 << 32))
            assert regs.write(address, data) == SLVERR
            assert await drv.csr_write(address, data) == SLVERR, f"write {address:#x}"
        await check_registers(drv, regs, addresses + [REGISTERS["ERROR"].address,
                                                      REGISTERS["CAL_DEAD"].address],
                              "without fault injection")

    run_sim(p, tb)
