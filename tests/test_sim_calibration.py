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


def test_tiny_capacitor_resets_cal_input_to_zero():
    """A tile whose capacitor cannot hold one conductance read at word 1 resets CAL_INPUT to 0
    (docs/spec.md section 10): the read integrates nothing and saturates nothing, and a
    COMPENSATE keeps every reference gain, counting every column as skipped."""
    import numpy as np
    from golden.calibration import CalOp, CalScope, calibration_cycles, pack_cal_cmd
    from golden.regs import OKAY, REGISTERS, gain_address
    from golden.spec import ErrorBit, TileConfig, TileParams

    p = TileParams(rows=2, cols=3, in_bits=4, out_bits=4, code_bits=3, f_factor=3,
                   charge_bits=6)      # 2 * 2 * 28 > 31
    assert p.cal_input_default == 0
    codes = np.full((p.rows, p.cols, p.devices_per_weight), p.code_max)

    async def tb(drv, ctx, dut):
        assert await drv.csr_read(REGISTERS["CAL_INPUT"].address) == (0, OKAY)
        await drv.program(codes)
        assert await drv.csr_write(gain_address(1), 100) == OKAY
        assert await drv.calibrate(pack_cal_cmd(CalOp.REFERENCE)) == \
            (OKAY, calibration_cycles(p, TileConfig(), CalOp.REFERENCE))
        await drv.program(codes // 2)
        assert (await drv.calibrate(pack_cal_cmd(CalOp.COMPENSATE, CalScope.PER_COLUMN)))[0] \
            == OKAY
        assert await drv.csr_read(REGISTERS["CAL_SKIPPED"].address) == (p.cols, OKAY)
        gains = [(await drv.csr_read(gain_address(c)))[0] for c in range(p.cols)]
        assert gains == [p.gain_one, 100, p.gain_one]
        error, _ = await drv.csr_read(REGISTERS["ERROR"].address)
        assert not error >> ErrorBit.CAP_SAT & 1, hex(error)

    run_sim(p, tb)
