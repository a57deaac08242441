# amaranth: UnusedElaboratable=no
"""Fast tier: the register file in amaranth.sim against golden.regs.RegisterFile."""
import numpy as np
import pytest

from golden.calibration import Calibrator
from golden.regs import (GAIN_BASE, OFFSET_BASE, OKAY, REGISTERS, SLVERR, RegisterFile,
                         pack_ctrl, pack_en_window)
from golden.spec import Activation, ErrorBit, TileParams
from tb.simdrv import run_sim

PARAMS = TileParams(rows=3, cols=5, in_bits=4, out_bits=4, code_bits=3, charge_bits=10)
ERROR = REGISTERS["ERROR"].address


def interesting_writes(rng, p, n):
    """Addresses and values that hit every register, legal and illegal."""
    addresses = [r.address for r in REGISTERS.values()] + [
        GAIN_BASE, GAIN_BASE + 4 * (p.cols - 1), GAIN_BASE + 4 * p.cols,
        OFFSET_BASE, OFFSET_BASE + 4 * (p.cols - 1), OFFSET_BASE + 4 * p.cols,
        0x2C, 0x3FFC, 0x4002, 0xFFFC]
    values = [0, 1, 0xFFFFFFFF, p.ramp_shift_max, p.ramp_shift_max + 1,
              pack_ctrl(1, 0, Activation.WINDOW), pack_ctrl(0, 0, 4), 1 << 5,
              pack_en_window(-3, -3 + p.out_max), pack_en_window(-3, -2 + p.out_max),
              5 | (p.out_max + 1) << 16, 0xFFFF0000 | (-(1 << 15) & 0xFFFF),
              (1 << p.gain_bits) - 1, 1 << p.gain_bits,
              (1 << p.out_bits) - 1, 1 << p.out_bits, (-(1 << p.out_bits)) & 0xFFFFFFFF,
              (-(1 << p.out_bits) - 1) & 0xFFFFFFFF]
    out = []
    for _ in range(n):
        out.append((int(rng.choice(addresses)), int(rng.choice(values)),
                    0xF if rng.random() < 0.9 else int(rng.integers(0, 15))))
    return out


def test_registers_match_golden(seed):
    rng = np.random.default_rng(seed)
    model = RegisterFile(PARAMS)
    calibrator = Calibrator(PARAMS)                 # the array holds its reset codes: zeros
    codes = np.zeros((PARAMS.rows, PARAMS.cols, PARAMS.devices_per_weight), dtype=np.int64)
    writes = interesting_writes(rng, PARAMS, 300)
    readable = [r.address for r in REGISTERS.values()] + [
        GAIN_BASE + 4 * c for c in range(PARAMS.cols)] + [
        OFFSET_BASE + 4 * c for c in range(PARAMS.cols)] + [0x2C, GAIN_BASE + 4 * PARAMS.cols]

    async def tb(drv, ctx, dut):
        for i, (address, data, strobe) in enumerate(writes):
            expected = model.write(address, data, strobe)
            resp = await drv.csr_write(address, data, strobe)
            assert resp == expected, (i, hex(address), hex(data), strobe, resp, expected)
            if model.cal_started is not None:       # a legal CAL_CMD: let it run, mirror it
                op, scope = model.cal_started
                await drv.wait_idle()
                model.calibrated(calibrator.run(op, scope, codes, model.config(),
                                                model.cal_input_word(), model.mvm_count))
            if i % 10 == 0:
                for a in readable:
                    want, want_resp = model.read(a)
                    got, got_resp = await drv.csr_read(a)
                    assert (got, got_resp) == (want, want_resp), (i, hex(a), got, want)
                # clear everything so the next round checks fresh flags
                assert await drv.csr_write(ERROR, 0xFF) == OKAY
                model.write(ERROR, 0xFF)

    run_sim(PARAMS, tb)


def test_config_write_while_busy_is_rejected():
    p = PARAMS

    async def tb(drv, ctx, dut):
        ctx.set(dut.x.payload.as_value(), 0)
        ctx.set(dut.x.valid, 1)
        await ctx.tick().until(dut.x.ready)
        ctx.set(dut.x.valid, 0)
        assert ctx.get(dut.busy)
        for name in ("CTRL", "RAMP_SHIFT", "EN_WINDOW"):
            assert await drv.csr_write(REGISTERS[name].address, 1) == SLVERR
        assert await drv.csr_write(GAIN_BASE, 3) == SLVERR
        err, _ = await drv.csr_read(ERROR)
        assert err == 1 << ErrorBit.BUSY_WRITE
        for name, reset in (("CTRL", 0), ("RAMP_SHIFT", 0),
                            ("EN_WINDOW", pack_en_window(0, p.out_max))):
            assert (await drv.csr_read(REGISTERS[name].address))[0] == reset
        assert (await drv.csr_read(GAIN_BASE))[0] == p.gain_one

    run_sim(p, tb)


def test_registers_reject_a_bad_cfg_domain():
    from hdl.csr import TileRegisters
    with pytest.raises(TypeError, match="cfg_domain must be a domain name, not None"):
        TileRegisters(TileParams(rows=2, cols=2), cfg_domain=None)
