# amaranth: UnusedElaboratable=no
"""Fast tier: the clock-gated tile (``Tile(clock_gate=True)``, the chip's tile) is cycle for cycle
the tile without the gate.

Both tiles get the same inputs; every output port of the two is compared on every cycle while
a workload runs that touches every block: row writes and closed-loop programming, random
register writes (legal and illegal) and reads, MVMs in every mode with idle gaps and output
back-pressure, drift calibration, and external windows in LANES mode (admitted and colliding).
The gated tile's clock stops whenever it is idle, so any register that would have changed on
a skipped edge shows up as a difference.
"""
import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from golden.calibration import CalOp, CalScope, pack_cal_cmd
from golden.program import ProgramConfig
from golden.regs import OKAY, REGISTERS, RegisterFile
from golden.spec import Activation, InputMode, InputSource, TileConfig, TileParams
from hdl.tile import Tile
from hdl.verilog import reset_domain_fragment
from tb.simdrv import SimTileDriver
from tb.stimulus import random_codes, random_inputs
from tests.test_sim_csr import interesting_writes

PARAMS = [
    TileParams(rows=4, cols=3, in_bits=4, out_bits=4, code_bits=3, charge_bits=10),
    TileParams(rows=5, cols=4, in_bits=3, out_bits=5, code_bits=4, devices_per_weight=2,
               charge_bits=12, gain_bits=6, gain_frac_bits=4, eval_rows=2),
]


class TwinTiles(wiring.Component):
    """A tile without the gate (the ports of this component) and a gated copy fed the same
    inputs; ``differ`` is high on a cycle where some output of the two differs."""

    def __init__(self, params):
        self.params = params
        self.ref = Tile(params)
        self.gated = Tile(params, clock_gate=True)
        super().__init__(dict(self.ref.signature.members))

    @property
    def outputs(self):
        pairs = []
        for path, member, value in self.ref.signature.flatten(self.ref):
            if member.flow == wiring.Out and path != ("active",):
                other = self.gated
                for part in path:
                    other = other[part] if isinstance(part, int) else getattr(other, part)
                pairs.append((".".join(map(str, path)), value, other))
        return pairs

    def elaborate(self, platform):
        m = Module()
        m.submodules.ref = self.ref
        m.submodules.gated = self.gated
        for (path, member, mine), (_, _, ref), (_, _, gated) in zip(
                self.signature.flatten(self), self.ref.signature.flatten(self.ref),
                self.gated.signature.flatten(self.gated)):
            if member.flow == wiring.In:
                m.d.comb += [ref.eq(mine), gated.eq(mine)]
            else:
                m.d.comb += mine.eq(ref)
        return m


async def idle(ctx, cycles):
    for _ in range(cycles):
        await ctx.tick()


async def lanes_window(ctx, dut, rng, p, ticks):
    """An external window of ``ticks`` cycles with random pulses that end inside it."""
    durations = rng.integers(0, ticks, size=p.rows)
    signs = int(rng.integers(0, 1 << p.rows))
    ctx.set(dut.lanes_in.sign, signs)
    for t in range(ticks):
        ctx.set(dut.lanes_in.window, 1)
        ctx.set(dut.lanes_in.pulse, sum(1 << i for i, d in enumerate(durations) if d > t))
        await ctx.tick()
    ctx.set(dut.lanes_in.window, 0)
    ctx.set(dut.lanes_in.pulse, 0)
    ctx.set(dut.lanes_in.sign, 0)


@pytest.mark.parametrize("p", PARAMS, ids=["4x3", "5x4d2"])
def test_gated_tile_is_cycle_equivalent(p, seed):
    rng = np.random.default_rng(seed)
    dut = TwinTiles(p)
    fragment, _ = reset_domain_fragment(dut)
    sim = Simulator(fragment)
    sim.add_clock(1e-8)
    cycles = {"n": 0, "gated_idle": 0}
    differences = []

    async def watch(ctx):
        outputs = dut.outputs
        async for _, _, *values in ctx.tick().sample(*(v for _, v, _ in outputs),
                                                      *(g for _, _, g in outputs),
                                                      dut.gated.active):
            *values, active = values
            ref, gated = values[:len(outputs)], values[len(outputs):]
            cycles["n"] += 1
            cycles["gated_idle"] += not active
            for (name, _, _), a, b in zip(outputs, ref, gated):
                if a != b and len(differences) < 5:
                    differences.append((cycles["n"], name, a, b))

    async def bench(ctx):
        drv = SimTileDriver(ctx, dut, p)
        regfile = RegisterFile(p)
        codes = random_codes(rng, p)
        await drv.program(codes)
        await idle(ctx, int(rng.integers(0, 6)))
        # closed-loop programming of two rows
        for row in range(min(2, p.rows)):
            await drv.program_targets(row, rng.integers(-p.weight_max, p.weight_max + 1,
                                                        size=p.cols))
            await idle(ctx, int(rng.integers(0, 4)))
        # register writes, legal and illegal, and reads
        for address, data, strobe in interesting_writes(rng, p, 40):
            await drv.csr_write(address, data, strobe)
            if rng.random() < 0.3:
                await drv.csr_read(address)
            await drv.wait_idle()
        await drv.csr_write(REGISTERS["ERROR"].address, 0xFFFFFFFF)
        # MVMs in every mode with idle gaps and back-pressure
        for mode in InputMode:
            for act in Activation:
                cfg = TileConfig(input_mode=mode, activation=act, ramp_shift=2,
                                 noise_sigma=int(rng.integers(0, 300)),
                                 noise_seed=int(rng.integers(0, 1 << 32)))
                for address, data in regfile.load(cfg):
                    assert await drv.csr_write(address, data) == OKAY
                for x in random_inputs(rng, p, mode, 2):
                    await idle(ctx, int(rng.integers(0, 4)))
                    await drv.mvm(x, output_delay=int(rng.integers(0, 3)))
        # drift calibration: a reference, then both compensations
        for op, scope in ((CalOp.REFERENCE, CalScope.PER_COLUMN),
                          (CalOp.COMPENSATE, CalScope.PER_COLUMN),
                          (CalOp.COMPENSATE, CalScope.GLOBAL)):
            await drv.calibrate(pack_cal_cmd(op, scope))
            await idle(ctx, int(rng.integers(0, 4)))
        # external windows: in HOST mode (ignored), then LANES (admitted, then one colliding)
        await lanes_window(ctx, dut, rng, p, 3)
        for address, data in regfile.load(TileConfig(input_source=InputSource.LANES)):
            assert await drv.csr_write(address, data) == OKAY
        ctx.set(dut.y.ready, 1)
        await lanes_window(ctx, dut, rng, p, 1 << p.in_bits)
        await ctx.tick().repeat(3)
        await lanes_window(ctx, dut, rng, p, 2)         # while busy: a collision
        await drv.wait_idle()
        await lanes_window(ctx, dut, rng, p, 4)
        await drv.wait_idle()
        await ctx.tick().repeat(10)
        for name in ("ERROR", "MVM_COUNT", "LAST_LATENCY", "PROG_ROWS", "CAL_STATUS"):
            await drv.csr_read(REGISTERS[name].address)

    sim.add_testbench(bench)
    sim.add_testbench(watch, background=True)
    sim.run()
    assert not differences, f"seed {seed}: (cycle, port, ungated, gated): {differences}"
    # the gate did stop the clock for a good part of the run
    assert cycles["gated_idle"] > cycles["n"] // 10, cycles
