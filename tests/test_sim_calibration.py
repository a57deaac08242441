"""Fast tier: drift calibration on the whole tile in amaranth.sim against golden.calibration."""
import pytest

from tb.calibration_scenario import run_calibration_scenario
from tb.simdrv import run_sim
from test_sim_tile import PARAM_SETS


@pytest.mark.parametrize("params", PARAM_SETS,
                         ids=lambda p: f"{p.rows}x{p.cols}d{p.devices_per_weight}")
def test_calibration(params, seed):
    async def tb(drv, ctx, dut):
        await run_calibration_scenario(drv, params, seed)

    run_sim(params, tb)
