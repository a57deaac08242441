"""amaranth.sim driver of the chip (``hdl.chip.chip.Chip``): registers, programming, passes.

Follows the driver protocol of the tile's drivers (``tb.simdrv``): ``csr_write``,
``csr_read``, ``program`` and ``configure`` over the chip's own bus, plus ``stream`` for
input beats, which returns every handshake and every output with its cycle.
"""
import numpy as np

from golden.chip import regs as gregs
from golden.chip.params import ChipParams
from golden.chip.routing import Routing
from . import coverage
from .pack import pack_row_write, pack_targets, pack_words, unpack_words
from .protocol import Traffic, check_pauses
from .simdrv import SimTileDriver, simulate

__all__ = ["SimChipDriver", "run_chip_sim"]


class _Bus:
    def __init__(self, csr):
        self.csr = csr


class SimChipDriver:
    """Drives a ``Chip`` from an amaranth.sim async testbench; ``regs`` is the golden model of
    its registers (kept in step with every write made through :meth:`configure`,
    :meth:`route` and :meth:`set_pair_modes`)."""

    def __init__(self, ctx, dut, params: ChipParams, rst=None):
        self.ctx, self.dut, self.p, self.rst = ctx, dut, params, rst
        self.bus = SimTileDriver(ctx, _Bus(dut.csr), params.tile)
        self.regs = gregs.ChipRegisterFile(params)
        ctx.set(dut.m_axis.tready, 1)

    async def reset(self, cycles: int = 2) -> None:
        """Hold the chip's reset for ``cycles`` cycles; the golden registers reset too (the
        tiles' codes are non-volatile and stay)."""
        if self.rst is None:
            raise RuntimeError("this driver was made without the reset signal")
        for port in (self.dut.s_axis.tvalid, self.dut.p_axis.tvalid, self.dut.csr.awvalid,
                     self.dut.csr.wvalid, self.dut.csr.arvalid):
            self.ctx.set(port, 0)
        self.ctx.set(self.rst, 1)
        for _ in range(cycles):
            await self.ctx.tick()
        self.ctx.set(self.rst, 0)
        self.regs.reset()

    async def csr_write(self, address: int, data: int, strobe: int = 0xF) -> int:
        resp = await self.bus.csr_write(address, data, strobe)
        coverage.sample_chip_write(self.p, address, data, resp)
        return resp

    async def csr_read(self, address: int) -> tuple[int, int]:
        return await self.bus.csr_read(address)

    async def _writes(self, writes):
        for address, data in writes:
            resp = await self.csr_write(address, data)
            assert resp == gregs.OKAY, f"write {address:#x} <- {data:#x}: response {resp}"

    async def program(self, tile: int, codes) -> None:
        """Row writes of a tile's codes through the programming stream."""
        ctx, ps, t = self.ctx, self.dut.p_axis, self.p.tile
        for row in range(t.rows):
            ctx.set(ps.tdata, pack_row_write(t, row, codes[row]))
            ctx.set(ps.tdest, tile)
            ctx.set(ps.tuser, 0)
            ctx.set(ps.tvalid, 1)
            await ctx.tick().until(ps.tready)
        ctx.set(ps.tvalid, 0)
        while ctx.get(self.dut.busy):
            await ctx.tick()
        for _ in range(4):              # the held beat reaches its tile
            await ctx.tick()

    async def program_targets(self, tile: int, row: int, targets) -> None:
        """One closed-loop target row through the programming stream (``TUSER`` = 1)."""
        ctx, ps = self.ctx, self.dut.p_axis
        ctx.set(ps.tdata, pack_targets(self.p.tile, row, targets))
        ctx.set(ps.tdest, tile)
        ctx.set(ps.tuser, 1)
        ctx.set(ps.tvalid, 1)
        await ctx.tick().until(ps.tready)
        ctx.set(ps.tvalid, 0)

    async def wait_idle(self) -> None:
        """Wait until every tile is idle (the held programming beat included)."""
        for _ in range(4):
            await self.ctx.tick()
        while self.ctx.get(self.dut.busy):
            await self.ctx.tick()

    async def configure(self, tile: int, config) -> None:
        await self._writes(self.regs.load_tile(tile, config))

    async def set_pair_modes(self, modes) -> None:
        await self._writes(self.regs.load_pair_modes(modes))

    async def route(self, routing: Routing) -> int:
        """Stage and commit ``routing``; wait for the check; return ROUTE_STATUS."""
        await self._writes(self.regs.stage(routing))
        status = self.regs.map["ROUTE_STATUS"].offset
        assert await self.csr_write(self.regs.map["ROUTE_CMD"].offset, 1) == gregs.OKAY
        while True:
            value, _ = await self.csr_read(status)
            if not value & 1:
                break
        self.regs.write(self.regs.map["ROUTE_CMD"].offset, 1)
        self.regs.advance(self.p.check_cycles)
        coverage.sample_route(routing, value)
        return value

    async def stream(self, beats, *, stop_after: int | None = None, pause_in: float = 0.0,
                     pause_out: float = 0.0, seed: int = 0, limit: int = 100000) -> Traffic:
        """Offer ``beats`` [(pair, words)] on the input stream (the first on cycle 0), each later
        beat held back with chance ``pause_in`` on every cycle it could be offered, the host
        not ready with chance ``pause_out`` on every cycle; run until the chip is idle (or
        until cycle ``stop_after``)."""
        ctx, dut, p = self.ctx, self.dut, self.p
        s, o = dut.s_axis, dut.m_axis
        t = p.tile
        check_pauses(pause_in, pause_out)
        rng = np.random.default_rng(seed)
        handshakes, outputs, gaps, stalls = [], [], [], []
        i, cycle, offered, gap = 0, 0, False, 0

        def offer(i):
            pair, words = beats[i]
            ctx.set(s.tdata, pack_words(words, t.in_bits))
            ctx.set(s.tdest, pair)
            ctx.set(s.tvalid, 1)

        if beats:
            offer(0)
            offered = True
            gaps.append(0)
        try:
            while cycle < limit:
                ready = not (pause_out and rng.random() < pause_out)
                ctx.set(o.tready, ready)
                if not ready:
                    stalls.append(cycle)
                if stop_after is not None and cycle == stop_after:
                    ctx.set(s.tvalid, 0)
                    return Traffic(handshakes, outputs, gaps, stalls)
                if offered and ctx.get(s.tready):
                    handshakes.append(cycle)
                    i += 1
                    offered, gap = False, 0
                if ready and ctx.get(o.tvalid):
                    outputs.append((cycle, int(ctx.get(o.tid)),
                                    unpack_words(ctx.get(o.tdata), p.lanes, t.out_bits)))
                await ctx.tick()
                cycle += 1
                if i < len(beats) and not offered:
                    if pause_in and rng.random() < pause_in:
                        gap += 1
                        ctx.set(s.tvalid, 0)
                    else:
                        offer(i)
                        offered = True
                        gaps.append(gap)
                elif i >= len(beats):
                    ctx.set(s.tvalid, 0)
                    if not ctx.get(dut.busy):
                        return Traffic(handshakes, outputs, gaps, stalls)
        finally:
            ctx.set(o.tready, 1)
        raise AssertionError(f"the chip was still busy after {limit} cycles")


def run_chip_sim(params: ChipParams, testbench, vcd: str | None = None):
    """Simulate a fresh ``Chip(params)`` with ``await testbench(driver, ctx, dut)``."""
    from hdl.chip.chip import Chip
    from hdl.verilog import reset_domain_fragment

    dut = Chip(params)
    fragment, ports = reset_domain_fragment(dut)

    async def bench(ctx):
        await testbench(SimChipDriver(ctx, dut, params, rst=ports["rst"][0]), ctx, dut)

    simulate(fragment, bench, vcd, [coverage.stream_monitor(coverage.chip_streams(dut))])
