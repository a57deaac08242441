"""cocotb test: cocotbext-axi's AxiLiteMaster against a slave with registered ready signals
(tb.regslave), arranged as the chip testbench arranges it (models on ``tb_clk``, the slave's
outputs sampled by the wrapper: hdl.verilog.write_wrapper(sampled=)). Run by
tests/test_rtl_regslave.py on Verilator and Icarus."""
import os

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from .blockdrv import seed_from_env
from .chipdrv import strobe_bytes
from .regslave import OKAY, READS, REGS, SLVERR, WRITES
from .runner import idle_inputs


@cocotb.test()
async def registered_ready(dut):
    """Random writes (random strobes, some to unmapped addresses) and reads, one at a time and
    in concurrent batches: every response code and read value as a model of the registers
    predicts, and the slave's own counters equal the transactions issued (none lost, none
    doubled).

    ``TEST_NAIVE_CLOCK=1`` runs the models on ``clk`` itself instead, for a wrapper without
    sampled ports: under Verilator 5.006 the first write then never completes (measured)."""
    seed = seed_from_env()
    rng = np.random.default_rng(seed)
    idle_inputs(dut, reset=True)
    clock = dut.tb_clk if os.environ.get("TEST_NAIVE_CLOCK", "0") == "0" else dut.clk
    master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "bus_"), clock, dut.rst)
    for _ in range(3):
        await RisingEdge(clock)
    dut.rst.value = 0
    for _ in range(2):
        await RisingEdge(clock)
    model = [0] * REGS
    issued = {"writes": 0, "reads": 0}

    async def write(index, data, strobe):
        lane, chunk = strobe_bytes(data, strobe)
        result = await master.write(4 * index + lane, chunk)
        issued["writes"] += 1
        expected = OKAY if index < REGS else SLVERR
        assert int(result.resp) == expected, \
            f"seed {seed}: write of register {index}: response {int(result.resp)}, " \
            f"expected {expected}"
        if index < REGS:
            mask = sum(0xFF << (8 * k) for k in range(4) if strobe >> k & 1)
            model[index] = (model[index] & ~mask) | (data & mask)

    async def read(index, expected_data):
        result = await master.read(4 * index, 4)
        issued["reads"] += 1
        got = int.from_bytes(result.data, "little")
        expected = OKAY if index < REGS or index in (WRITES, READS) else SLVERR
        assert int(result.resp) == expected and got == expected_data, \
            f"seed {seed}: read of register {index}: ({got:#x}, response " \
            f"{int(result.resp)}), expected ({expected_data:#x}, {expected})"

    def contiguous_strobe():
        lo = int(rng.integers(0, 4))
        hi = int(rng.integers(lo, 4))
        return sum(1 << k for k in range(lo, hi + 1))

    for _ in range(int(rng.integers(150, 200))):
        if rng.random() < 0.5:
            index = int(rng.integers(0, REGS + 4))
            if index in (WRITES, READS):
                index = REGS + 2
            await write(index, int(rng.integers(0, 1 << 32)), contiguous_strobe())
        else:
            index = int(rng.integers(0, REGS))
            await read(index, model[index])
        if rng.random() < 0.2:      # a batch in flight at once: distinct registers
            indices = rng.permutation(REGS)[:int(rng.integers(2, REGS))]
            values = [int(v) for v in rng.integers(0, 1 << 32, size=len(indices))]
            await cocotb.triggers.Combine(*(cocotb.start_soon(write(int(k), v, 0xF))
                                            for k, v in zip(indices, values)))
            await cocotb.triggers.Combine(*(cocotb.start_soon(read(int(k), model[int(k)]))
                                            for k in indices))
    writes, reads = issued["writes"], issued["reads"]
    await read(WRITES, writes)
    await read(READS, reads + 1)        # this read counts itself: it is carried out first
    cocotb.log.info(f"seed {seed}: {writes} writes and {reads + 2} reads, every one answered "
                    f"as the model predicts")
