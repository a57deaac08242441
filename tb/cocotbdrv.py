"""cocotb driver of the tile: whole vectors per event, the clock runs in HDL.

Python wakes a few times per MVM (handshakes and ``y.valid``), never once per cycle, so a
Verilator simulation runs at the speed of the compiled model (docs: TOOLCHAIN.md).
"""
import numpy as np
import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, Timer, with_timeout
from cocotb.utils import get_sim_time

from golden.regs import RegisterFile
from golden.spec import TileParams, check_params
from hdl.verilog import CLOCK_PERIOD_NS
from .pack import csr_request, pack_row_write, pack_targets, pack_words, unpack_words
from .runner import idle_inputs, params_from_env

__all__ = ["TileTB"]


class TileTB:
    """Clock-free testbench of ``hdl.tile.Tile`` (the HDL wrapper generates ``clk``)."""

    def __init__(self, dut, params: TileParams | None = None):
        self.dut = dut
        self.p = check_params(params_from_env() if params is None else params)
        self.regs = RegisterFile(self.p)     # golden model of the register contents
        p = self.p
        # no wait in a healthy tile comes near this: a hang fails instead of running forever
        self.timeout_cycles = 4 * (p.rows + (2 << p.in_bits) + (2 << p.out_bits) + 64)
        idle_inputs(dut, reset=False)

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> int:
        return int(get_sim_time("ns")) // CLOCK_PERIOD_NS

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

    async def _within(self, trigger, what: str, cycles: int | None = None):
        cycles = self.timeout_cycles if cycles is None else cycles
        try:
            return await with_timeout(trigger, cycles * CLOCK_PERIOD_NS, "ns")
        except cocotb.result.SimTimeoutError:
            raise AssertionError(f"waited {cycles} cycles for {what}") from None

    async def _handshake(self, ready):
        """Wait for the clock edge that completes a valid/ready transfer (valid already high)."""
        while True:
            await ReadOnly()
            if ready.value:
                break
            await self._within(RisingEdge(ready), f"{ready._name} to rise")
        await RisingEdge(self.dut.clk)

    # -- registers ----------------------------------------------------------------------------
    # AXI4-Lite manager. cocotbext-axi's AxiLiteMaster drives this port correctly under Icarus,
    # but under Verilator 5.006 with the HDL clock its valid writes never reached the model
    # here, so the testbench drives the five channels itself: address and data together, then
    # the response, one transaction at a time.
    async def csr_write(self, address: int, data: int, strobe: int = 0xF) -> int:
        """Write one 32-bit register (``data`` unsigned, as on the bus); return the AXI
        response (0 OKAY, 2 SLVERR)."""
        address, data, strobe = csr_request(address, data, strobe)
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.csr__awaddr.value = address
        dut.csr__awprot.value = 0
        dut.csr__wdata.value = data
        dut.csr__wstrb.value = strobe
        dut.csr__awvalid.value = 1
        dut.csr__wvalid.value = 1
        await self._handshake(dut.csr__awready)
        dut.csr__awvalid.value = 0
        dut.csr__wvalid.value = 0
        dut.csr__bready.value = 1
        await self._handshake(dut.csr__bvalid)
        resp = int(dut.csr__bresp.value)
        dut.csr__bready.value = 0
        return resp

    async def csr_write_bytes(self, address: int, data: bytes) -> int:
        """A narrow write: ``data`` at byte ``address`` with the matching byte strobes."""
        address, _, _ = csr_request(address)
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise TypeError(f"data must be 1 to 4 bytes, not {data!r}")
        lane = address & 3
        if lane + len(data) > 4:
            raise ValueError(f"{len(data)} bytes at {address:#x} cross a 32-bit word")
        value = int.from_bytes(data, "little") << (8 * lane)
        strobe = ((1 << len(data)) - 1) << lane
        return await self.csr_write(address & ~3, value, strobe)

    async def csr_read(self, address: int) -> tuple[int, int]:
        """Read one 32-bit register; return (data, AXI response)."""
        address, _, _ = csr_request(address)
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.csr__araddr.value = address
        dut.csr__arprot.value = 0
        dut.csr__arvalid.value = 1
        await self._handshake(dut.csr__arready)
        dut.csr__arvalid.value = 0
        dut.csr__rready.value = 1
        await ReadOnly()
        if not dut.csr__rvalid.value:
            await self._within(RisingEdge(dut.csr__rvalid), "rvalid")
            await ReadOnly()
        data, resp = int(dut.csr__rdata.value), int(dut.csr__rresp.value)
        await RisingEdge(dut.clk)
        dut.csr__rready.value = 0
        return data, resp

    async def configure(self, config) -> None:
        """Load a TileConfig, writing only the registers that change."""
        for address, data in self.regs.load(config):
            resp = await self.csr_write(address, data)
            assert resp == 0, f"CSR write {address:#x} <- {data:#x} answered {resp}"

    # -- calibration ---------------------------------------------------------------------------
    async def calibrate(self, cmd: int) -> tuple[int, int]:
        """Write ``CAL_CMD``; return (AXI response, cycles ``busy`` was high for the command)."""
        from golden.regs import REGISTERS
        dut = self.dut
        edges = {}

        async def watch():
            await RisingEdge(dut.busy)
            edges["rise"] = self.now()
            await FallingEdge(dut.busy)
            edges["fall"] = self.now()

        watcher = cocotb.start_soon(watch())
        resp = await self.csr_write(REGISTERS["CAL_CMD"].address, cmd)
        if resp != 0:
            await self.cycles(4)
            watcher.kill()
            return resp, 0 if "rise" not in edges else -1
        p = self.p
        limit = p.rows + (2 << p.in_bits) + 4 + p.cols * (p.gain_bits + 6) + 64
        await self._within(watcher, "the calibration to finish", cycles=limit)
        return resp, edges["fall"] - edges["rise"]

    async def wait_idle(self) -> None:
        await ReadOnly()
        if self.dut.busy.value:
            await self._within(FallingEdge(self.dut.busy), "busy to fall",
                               cycles=self.timeout_cycles + self.p.cols * (self.p.gain_bits + 6))
        await RisingEdge(self.dut.clk)

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

    async def program_targets(self, row: int, targets) -> int:
        """Closed-loop programming of one row through the ``target`` stream; returns the
        cycles from the command's handshake until ``prog_busy`` falls."""
        dut = self.dut
        dut.target__payload.value = pack_targets(self.p, row, targets)
        dut.target__valid.value = 1
        await self._handshake(dut.target__ready)
        start = self.now() - 1
        dut.target__valid.value = 0
        await ReadOnly()
        if dut.prog_busy.value:
            await self._within(FallingEdge(dut.prog_busy), "prog_busy to fall",
                               cycles=self.timeout_cycles + 4 * 600)
        return self.now() - start

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
            await self._within(RisingEdge(dut.y__valid), "y.valid")
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
