"""amaranth.sim driver of the tile (the fast tier: no Verilog, no build)."""
import sys

import numpy as np

from golden.spec import TileParams, check_params
from . import coverage
from .pack import CSR_ADDRESS_BITS, csr_request, pack_row_write, pack_targets, pack_words, unpack_words

__all__ = ["SimTileDriver", "run_sim", "simulate"]


class SimTileDriver:
    """Drives a ``hdl.tile.Tile`` from an amaranth.sim async testbench ``ctx``."""

    def __init__(self, ctx, dut, params: TileParams, rst=None):
        self.ctx, self.dut, self.p, self.rst = ctx, dut, check_params(params), rst
        # a whole tile (not a bare register block or a chip's bus): sampled for coverage
        self.tile = dut is not None and hasattr(dut, "busy")
        # the bus's address width (the tile's 16 bits; wider on a chip's bus)
        self.address_bits = len(dut.csr.awaddr) if dut is not None else CSR_ADDRESS_BITS

    async def _write_request(self, address: int, data: int, strobe: int = 0xF) -> None:
        """Address and data handshake of a write (``data`` unsigned, as on the bus);
        ``bready`` is high on return."""
        address, data, strobe = csr_request(address, data, strobe,
                                             address_bits=self.address_bits)
        ctx, bus = self.ctx, self.dut.csr
        ctx.set(bus.awaddr, address)
        ctx.set(bus.wdata, data)
        ctx.set(bus.wstrb, strobe)
        ctx.set(bus.awvalid, 1)
        ctx.set(bus.wvalid, 1)
        await ctx.tick().until(bus.awready)
        ctx.set(bus.awvalid, 0)
        ctx.set(bus.wvalid, 0)
        ctx.set(bus.bready, 1)

    async def csr_write(self, address: int, data: int, strobe: int = 0xF) -> int:
        address, data, strobe = csr_request(address, data, strobe,
                                             address_bits=self.address_bits)
        ctx, bus = self.ctx, self.dut.csr
        busy = self.tile and ctx.get(self.dut.busy)
        await self._write_request(address, data, strobe)
        resp, = await ctx.tick().sample(bus.bresp).until(bus.bvalid)
        ctx.set(bus.bready, 0)
        if self.tile:
            coverage.sample_register_write(self.p, address, data, strobe, resp, busy)
        return resp

    async def csr_read(self, address: int) -> tuple[int, int]:
        address, _, _ = csr_request(address, address_bits=self.address_bits)
        ctx, bus = self.ctx, self.dut.csr
        ctx.set(bus.araddr, address)
        ctx.set(bus.arvalid, 1)
        await ctx.tick().until(bus.arready)
        ctx.set(bus.arvalid, 0)
        ctx.set(bus.rready, 1)
        data, resp = await ctx.tick().sample(bus.rdata, bus.rresp).until(bus.rvalid)
        ctx.set(bus.rready, 0)
        if self.tile:
            coverage.sample_register_read(address, data, resp)
        return data, resp

    async def configure(self, config) -> None:
        """Load a TileConfig, writing only the registers that change (``self.regs`` is the
        golden model of the register contents)."""
        from golden.regs import RegisterFile
        if getattr(self, "regs", None) is None:
            self.regs = RegisterFile(self.p)
        for address, data in self.regs.load(config):
            resp = await self.csr_write(address, data)
            assert resp == 0, f"CSR write {address:#x} <- {data:#x} answered {resp}"

    async def program_row(self, row: int, codes_row) -> None:
        ctx, prog = self.ctx, self.dut.prog
        ctx.set(prog.payload.as_value(), pack_row_write(self.p, row, codes_row))
        ctx.set(prog.valid, 1)
        await ctx.tick().until(prog.ready)
        ctx.set(prog.valid, 0)

    async def program(self, codes) -> None:
        for row in range(self.p.rows):
            await self.program_row(row, codes[row])

    async def mvm(self, words, output_delay: int = 0):
        """Send one input vector; return (y, latency in cycles from handshake to y.valid)."""
        ctx, dut, p = self.ctx, self.dut, self.p
        ctx.set(dut.x.payload.as_value(), pack_words(words, p.in_bits))
        ctx.set(dut.x.valid, 1)
        await ctx.tick().until(dut.x.ready)
        ctx.set(dut.x.valid, 0)
        latency = 1
        while not ctx.get(dut.y.valid):
            await ctx.tick()
            latency += 1
        for _ in range(output_delay):
            await ctx.tick()
        y = unpack_words(ctx.get(dut.y.payload.as_value()), p.cols, p.out_bits)
        ctx.set(dut.y.ready, 1)
        await ctx.tick()
        ctx.set(dut.y.ready, 0)
        return y, latency

    async def program_targets(self, row: int, targets) -> int:
        """Closed-loop programming of one row; cycles from the handshake until ``prog_busy``
        falls."""
        ctx, dut = self.ctx, self.dut
        ctx.set(dut.target.payload.as_value(), pack_targets(self.p, row, targets))
        ctx.set(dut.target.valid, 1)
        await ctx.tick().until(dut.target.ready)
        ctx.set(dut.target.valid, 0)
        cycles = 1
        while ctx.get(dut.prog_busy):
            await ctx.tick()
            cycles += 1
        return cycles


    async def calibrate(self, cmd: int) -> tuple[int, int]:
        """Write ``CAL_CMD``; return (AXI response, cycles ``busy`` was high for the command)."""
        from golden.regs import REGISTERS, OKAY
        ctx, dut, bus = self.ctx, self.dut, self.dut.csr
        was_busy = ctx.get(dut.busy)
        await self._write_request(REGISTERS["CAL_CMD"].address, cmd)
        resp, cycles, seen = None, 0, False
        while True:
            *_, bvalid, bresp, busy = await ctx.tick().sample(bus.bvalid, bus.bresp, dut.busy)
            if bvalid and resp is None:
                resp = int(bresp)
                ctx.set(bus.bready, 0)
                coverage.sample_register_write(self.p, REGISTERS["CAL_CMD"].address, cmd, 0xF,
                                               resp, was_busy)
            if busy:
                cycles, seen = cycles + 1, True
            elif seen or (resp is not None and resp != OKAY):
                return resp, cycles

    async def wait_idle(self) -> None:
        while self.ctx.get(self.dut.busy):
            await self.ctx.tick()

    async def reset(self, cycles: int = 2) -> None:
        """Raise ``rst`` now (it clears the tile at once) and hold it for ``cycles`` cycles
        with every stream and bus input idle; ``self.regs`` resets too. The codes stay."""
        if self.rst is None:
            raise RuntimeError("this driver was made without the reset signal")
        ctx, dut = self.ctx, self.dut
        coverage.sample_reset(ctx.get(dut.phase))
        for port in (dut.x.valid, dut.y.ready, dut.prog.valid, dut.target.valid,
                     dut.csr.awvalid, dut.csr.wvalid, dut.csr.arvalid, dut.csr.bready,
                     dut.csr.rready):
            ctx.set(port, 0)
        ctx.set(self.rst, 1)
        for _ in range(cycles):
            await ctx.tick()
        ctx.set(self.rst, 0)
        if getattr(self, "regs", None) is not None:
            self.regs.reset()


def simulate(fragment, bench, vcd: str | None = None, processes=()) -> None:
    """Run an amaranth.sim testbench ``bench`` (an ``async def bench(ctx)``) on ``fragment``
    with a 10 ns clock, writing ``vcd`` when given; ``processes`` run alongside (monitors).

    amaranth.sim compiles each domain's logic to Python source; a memory wider than about a
    thousand bits (a 4096-bit word: the ILP at 512 lanes, a 4096-wire programming bus) becomes
    one expression nested that deep, beyond Python's default recursion limit for compiling."""
    from amaranth.sim import Simulator
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
    sim = Simulator(fragment)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    for process in processes:
        sim.add_process(process)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()


def run_sim(params: TileParams, testbench, vcd: str | None = None):
    """Simulate a fresh ``Tile(params)`` with ``await testbench(driver, ctx, dut)``."""
    from hdl.tile import Tile
    from hdl.verilog import reset_domain_fragment

    dut = Tile(params)
    fragment, ports = reset_domain_fragment(dut)            # the emitted design's domain

    async def bench(ctx):
        await testbench(SimTileDriver(ctx, dut, params, rst=ports["rst"][0]), ctx, dut)

    simulate(fragment, bench, vcd, [coverage.stream_monitor(coverage.tile_streams(dut))])
