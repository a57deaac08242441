"""cocotb driver of the chip: cocotbext-axi's bus-functional models on every host port.

The wrapper (``hdl.verilog.write_wrapper`` with ``sampled=``) registers the chip's outputs of
the AXI ports at the rising edge of ``clk`` and adds ``tb_clk``, the inverse clock; the models
run on ``tb_clk``. They then see every handshake as the chip saw it, in Verilator as in Icarus,
whatever the chip's ready timing (registered or combinational). A monitor on the same clock
records the cycle of every input and output transfer for the comparison with the golden chip.
"""
from __future__ import annotations

import json
import logging
import os

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge, Timer, with_timeout
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from golden.chip import regs as gregs
from golden.chip.params import ChipParams
from golden.spec import TileParams
from hdl.verilog import CLOCK_PERIOD_NS
from .pack import pack_row_write, pack_targets, pack_words, unpack_words
from .protocol import Traffic, check_pauses
from .runner import idle_inputs

__all__ = ["ChipTB", "chip_params_from_env", "SAMPLED_PORTS", "strobe_bytes"]

def strobe_bytes(data: int, strobe: int) -> tuple[int, bytes]:
    """A 32-bit write with a contiguous ``strobe`` as AxiLiteMaster takes it: the first
    strobed byte lane (added to the word address) and the strobed bytes of ``data``."""
    lane = (strobe & -strobe).bit_length() - 1
    width = bin(strobe).count("1")
    return lane, (int(data) >> (8 * lane)).to_bytes(4, "little")[:width]


#: Signature members of the chip driven by bus-functional models (sampled by the wrapper).
SAMPLED_PORTS = ("csr", "s_axis", "m_axis", "p_axis")


def chip_params_from_env() -> ChipParams:
    data = json.loads(os.environ["TILE_PARAMS"])
    tile = TileParams(**data.pop("tile"))
    return ChipParams(tile=tile, **{k: (tuple(tuple(x) if isinstance(x, list) else x
                                                   for x in v) if isinstance(v, list) else v)
                                    for k, v in data.items()})


def _to_bytes(value: int, bits: int) -> bytes:
    return int(value).to_bytes(bits // 8, "little")


class ChipTB:
    """The chip's testbench: AXI4-Lite master, input/programming stream sources, output
    stream sink (``pause`` generators for idle cycles and back-pressure), and the golden
    register model ``regs`` kept in step with the writes made through :meth:`configure`,
    :meth:`route` and :meth:`set_pair_modes`."""

    def __init__(self, dut, params: ChipParams | None = None):
        self.dut = dut
        self.p = params or chip_params_from_env()
        idle_inputs(dut, reset=True)
        clock = dut.tb_clk
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "csr_"), clock, dut.rst)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_"), clock, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_"), clock, dut.rst)
        self.prog = AxiStreamSource(AxiStreamBus.from_prefix(dut, "p_axis_"), clock, dut.rst)
        # the models log every frame and access at INFO: at 512 lanes that is megabytes per
        # pass and a measurable part of the run time; errors and warnings still show
        for model in (self.axil.write_if, self.axil.read_if, self.source, self.sink, self.prog):
            model.log.setLevel(logging.WARNING)
        self.regs = gregs.ChipRegisterFile(self.p)
        self.input_cycles: list[int] = []
        self.output_cycles: list[int] = []
        self.offer_cycles: list[int] = []
        self.stall_cycles: list[int] = []
        self._monitor = None

    async def _watch(self):
        """Cycle of every transfer on the input and output streams, as the chip saw them."""
        dut = self.dut
        offered = False
        while True:
            await RisingEdge(dut.tb_clk)
            cycle = int(dut.tb_cycle.value)
            if dut.s_axis__tvalid.value and not offered:
                self.offer_cycles.append(cycle)
                offered = True
            if dut.s_axis__tvalid.value and dut.s_axis__tready.value:
                self.input_cycles.append(cycle)
                offered = False
            if dut.m_axis__tvalid.value and dut.m_axis__tready.value:
                self.output_cycles.append(cycle)
            if not dut.m_axis__tready.value:
                self.stall_cycles.append(cycle)

    async def reset(self, cycles: int = 2) -> None:
        """Hold the reset; the golden register model resets too (the transfer monitor starts
        after the first reset)."""
        self.dut.rst.value = 1
        await Timer(cycles * CLOCK_PERIOD_NS, "ns")
        await RisingEdge(self.dut.tb_clk)
        self.dut.rst.value = 0
        self.regs.reset()
        if self._monitor is None:
            self._monitor = cocotb.start_soon(self._watch())

    # -- registers ----------------------------------------------------------------------------
    async def csr_write(self, address: int, data: int, strobe: int = 0xF) -> int:
        lane, chunk = strobe_bytes(data, strobe)
        result = await self.axil.write(address + lane, chunk)
        return int(result.resp)

    async def csr_read(self, address: int) -> tuple[int, int]:
        result = await self.axil.read(address, 4)
        return int.from_bytes(result.data, "little"), int(result.resp)

    async def _writes(self, writes):
        for address, data in writes:
            resp = await self.csr_write(address, data)
            assert resp == gregs.OKAY, f"write {address:#x} <- {data:#x}: response {resp}"

    async def configure(self, tile: int, config) -> None:
        await self._writes(self.regs.load_tile(tile, config))

    async def set_pair_modes(self, modes) -> None:
        await self._writes(self.regs.load_pair_modes(modes))

    async def route(self, routing) -> int:
        """Stage and commit ``routing``; wait for the check; return ROUTE_STATUS."""
        await self._writes(self.regs.stage(routing))
        assert await self.csr_write(self.regs.map["ROUTE_CMD"].offset, 1) == gregs.OKAY
        while True:
            value, _ = await self.csr_read(self.regs.map["ROUTE_STATUS"].offset)
            if not value & 1:
                break
        self.regs.write(self.regs.map["ROUTE_CMD"].offset, 1)
        self.regs.advance(self.p.check_cycles)
        return value

    # -- programming ----------------------------------------------------------------------------
    async def program(self, tile: int, codes) -> None:
        bits = len(self.dut.p_axis__tdata)
        t = self.p.tile
        for row in range(t.rows):
            await self.prog.send(AxiStreamFrame(_to_bytes(pack_row_write(t, row, codes[row]),
                                                          bits), tdest=tile, tuser=0))
        await self.prog.wait()
        await self.wait_idle()

    async def program_targets(self, tile: int, row: int, targets) -> None:
        bits = len(self.dut.p_axis__tdata)
        await self.prog.send(AxiStreamFrame(_to_bytes(pack_targets(self.p.tile, row, targets),
                                                      bits), tdest=tile, tuser=1))
        await self.prog.wait()

    async def wait_idle(self, limit_cycles: int = 1 << 20) -> None:
        for _ in range(4):
            await RisingEdge(self.dut.tb_clk)
        waited = 0
        while self.dut.busy.value:
            await RisingEdge(self.dut.tb_clk)
            waited += 1
            assert waited < limit_cycles, f"the chip stayed busy for {limit_cycles} cycles"

    # -- passes ---------------------------------------------------------------------------------
    async def stream(self, beats, *, stop_after: int | None = None, pause_in: float = 0.0,
                     pause_out: float = 0.0, seed: int = 0,
                     timeout_cycles: int = 1 << 20) -> Traffic:
        """Send ``[(pair, words)]`` and collect the outputs until the chip is idle (or until
        cycle ``stop_after``): the source's and the sink's pause generators hold beats back
        and withhold TREADY with chance ``pause_in`` / ``pause_out`` per cycle (drawn from
        ``seed``); the monitor records every transfer, offer and stall, cycles counted from the
        first beat's offer (0)."""
        p, t = self.p, self.p.tile
        check_pauses(pause_in, pause_out)
        rng = np.random.default_rng(seed)
        bits_in = len(self.dut.s_axis__tdata)
        first_in, first_out, first_offer, first_stall = (
            len(self.input_cycles), len(self.output_cycles), len(self.offer_cycles),
            len(self.stall_cycles))
        if pause_in:
            self.source.set_pause_generator(iter(lambda: bool(rng.random() < pause_in), None))
        if pause_out:
            self.sink.set_pause_generator(iter(lambda: bool(rng.random() < pause_out), None))
        try:
            for pair, words in beats:
                await self.source.send(AxiStreamFrame(_to_bytes(pack_words(words, t.in_bits),
                                                                bits_in), tdest=pair))
            if stop_after is None:
                await self.source.wait()
                await self.wait_idle(timeout_cycles)
            else:
                while len(self.offer_cycles) == first_offer:
                    await RisingEdge(self.dut.tb_clk)
                end = self.offer_cycles[first_offer] + stop_after
                while int(self.dut.tb_cycle.value) < end:
                    await RisingEdge(self.dut.tb_clk)
        finally:
            for model in (self.source, self.sink):
                model.clear_pause_generator()
                model.pause = False
        start = self.offer_cycles[first_offer] if beats else 0
        handshakes = [c - start for c in self.input_cycles[first_in:]]
        offers = [c - start for c in self.offer_cycles[first_offer:]]
        gaps = [0] + [offers[i] - handshakes[i - 1] - 1 for i in range(1, len(offers))]
        stalls = [c - start for c in self.stall_cycles[first_stall:] if c >= start]
        cycles = [c - start for c in self.output_cycles[first_out:]]
        outputs = []
        for cycle in cycles:
            frame = await with_timeout(self.sink.recv(), 16 * CLOCK_PERIOD_NS, "ns")
            tid = frame.tid[0] if isinstance(frame.tid, list) else frame.tid
            words = unpack_words(int.from_bytes(bytes(frame.tdata), "little"), p.lanes,
                                 t.out_bits)
            outputs.append((cycle, int(tid), words))
        if stop_after is None:
            assert self.sink.empty(), \
                "the output stream delivered frames the monitor did not see"
        return Traffic(handshakes, outputs, gaps[:len(beats)], stalls)
