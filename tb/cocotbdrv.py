"""cocotb driver of the tile: whole vectors per event, the clock runs in HDL.

Python wakes a few times per MVM (handshakes and ``y.valid``), never once per cycle, so a
Verilator simulation runs at the speed of the compiled model (docs: TOOLCHAIN.md).
"""
import json
import os

import numpy as np
import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from golden.regs import RegisterFile
from golden.spec import TileParams
from .pack import pack_row_write, pack_words, unpack_words

__all__ = ["TileTB", "params_from_env", "CLOCK_PERIOD_NS"]

CLOCK_PERIOD_NS = 10   # the wrapper's `always #5 clk = ~clk`


def params_from_env() -> TileParams:
    return TileParams(**json.loads(os.environ.get("TILE_PARAMS", "{}")))


class TileTB:
    """Clock-free testbench of ``hdl.tile.Tile`` (the HDL wrapper generates ``clk``)."""

    def __init__(self, dut, params: TileParams | None = None):
        self.dut = dut
        self.p = params or params_from_env()
        self.regs = RegisterFile(self.p)     # golden model of the register contents
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "csr_"), dut.clk, dut.rst)
        dut.x__valid.value = 0
        dut.y__ready.value = 0
        dut.prog__valid.value = 0
        dut.lanes_in__window.value = 0
        dut.lanes_in__pulse.value = 0
        dut.lanes_in__sign.value = 0

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> int:
        return get_sim_time("ns") // CLOCK_PERIOD_NS

    async def cycles(self, n: int):
        """Let n clock cycles pass with one event (no per-cycle Python)."""
        if n > 0:
            await Timer(n * CLOCK_PERIOD_NS, "ns")

    async def reset(self, cycles: int = 2):
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 1
        await self.cycles(cycles)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0
        self.regs.reset()

    async def _handshake(self, ready):
        """Wait for the clock edge that completes a valid/ready transfer (valid already high)."""
        while True:
            await ReadOnly()
            if ready.value:
                break
            await RisingEdge(ready)
        await RisingEdge(self.dut.clk)

    # -- registers ----------------------------------------------------------------------------
    async def csr_write(self, address: int, data: int) -> int:
        resp = await self.axil.write(address, int(data & 0xFFFFFFFF).to_bytes(4, "little"))
        return int(resp.resp)

    async def csr_write_bytes(self, address: int, data: bytes) -> int:
        resp = await self.axil.write(address, data)
        return int(resp.resp)

    async def csr_read(self, address: int) -> tuple[int, int]:
        resp = await self.axil.read(address, 4)
        return int.from_bytes(resp.data, "little"), int(resp.resp)

    async def configure(self, config) -> None:
        """Load a TileConfig, writing only the registers that change."""
        for address, data in self.regs.load(config):
            resp = await self.csr_write(address, data)
            assert resp == 0, f"CSR write {address:#x} <- {data:#x} answered {resp}"

    # -- conductance codes --------------------------------------------------------------------
    async def program_row(self, row: int, codes_row) -> None:
        dut = self.dut
        dut.prog__payload.value = pack_row_write(self.p, row, codes_row)
        dut.prog__valid.value = 1
        await self._handshake(dut.prog__ready)
        dut.prog__valid.value = 0

    async def program(self, codes) -> None:
        for row in range(self.p.rows):
            await self.program_row(row, codes[row])

    # -- MVMs ---------------------------------------------------------------------------------
    async def send(self, words) -> int:
        """Offer one input vector; return the cycle number of its handshake."""
        dut = self.dut
        dut.x__payload.value = pack_words(words, self.p.in_bits)
        dut.x__valid.value = 1
        await self._handshake(dut.x__ready)
        start = self.now() - 1          # the handshake happened in the cycle before this edge
        dut.x__valid.value = 0
        return start

    async def receive(self, ready_delay: int = 0):
        """Wait for y.valid, hold ready low for ``ready_delay`` cycles; return (y, cycle)."""
        dut = self.dut
        await ReadOnly()
        if not dut.y__valid.value:
            await RisingEdge(dut.y__valid)
        first = self.now()
        if ready_delay:
            await self.cycles(ready_delay)
        await ReadOnly()
        assert dut.y__valid.value, "y.valid dropped before the transfer"
        y = unpack_words(dut.y__payload.value.integer, self.p.cols, self.p.out_bits)
        await FallingEdge(dut.clk)
        dut.y__ready.value = 1
        await RisingEdge(dut.clk)
        dut.y__ready.value = 0
        return y, first

    async def mvm(self, words, input_delay: int = 0, ready_delay: int = 0):
        """One MVM: returns (y, latency in cycles from the input handshake to y.valid)."""
        await self.cycles(input_delay)
        start = await self.send(words)
        y, first = await self.receive(ready_delay)
        return y, first - start
