# amaranth: UnusedElaboratable=no
"""Fast tier: the chip's window-0 registers in amaranth.sim against golden.chip.regs."""
import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.chip import regs as gregs
from golden.chip.routing import Routing
from hdl.chip.mesh import routing_bits
from hdl.chip.regs import ChipRegisters
from tb.simdrv import SimTileDriver
from tests.test_sim_chip_mesh import GRIDS, random_routing


def interesting(rng, p, rmap, n):
    """Writes over every register of window 0, legal and illegal values."""
    addresses = [r.offset + 4 * int(rng.integers(0, (r.count or 1) + 1)) for r in rmap]
    addresses += [0x1C, 0x0FFC, 0x3FFC, 0x0002]
    out = []
    for _ in range(n):
        address = int(rng.choice(addresses))
        data = int(rng.choice([0, 1, 3, 0xFF, 0xFFFFFFFF, int(rng.integers(0, 256)),
                               int(rng.integers(0, 1 << 32))]))
        strobe = 0xF if rng.random() < 0.95 else int(rng.integers(0, 15))
        out.append((address, data, strobe))
    return out


@pytest.mark.parametrize("name", list(GRIDS))
def test_chip_registers_match_golden(name, seed):
    p = GRIDS[name]
    rng = np.random.default_rng(seed)
    model = gregs.ChipRegisterFile(p)
    rmap = model.map
    dut = ChipRegisters(p)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    readable = [r.offset + 4 * i for r in rmap for i in range(r.count or 1)]
    lanes = [bool(b) for b in rng.random(p.tiles) < 0.8]
    for t, on in enumerate(lanes):
        model.tiles[t].values["input_source"] = int(on)

    async def tb(ctx):
        drv = SimTileDriver(ctx, type("D", (), {"csr": dut.bus})(), p.tile)
        ctx.set(dut.lanes_mode, sum(int(b) << t for t, b in enumerate(lanes)))
        steps = interesting(rng, p, rmap, 120)
        # and whole routings, staged and committed
        for _ in range(6):
            routing = random_routing(rng, p, float(rng.choice([0.03, 0.1])))
            if rng.random() < 0.5:
                routing = Routing.empty(p)
                routing.chain(0, [0, p.tiles - 1], olp_pair=0)
            steps.append(("stage", routing))
        order = rng.permutation(len(steps))
        for i in order:
            step = steps[i]
            busy_pairs = int(rng.integers(0, 1 << p.pairs)) if rng.random() < 0.2 else 0
            holding = int(rng.integers(0, 1 << p.pairs))
            ctx.set(dut.busy_pairs, busy_pairs)
            ctx.set(dut.holding, holding)
            bp = [k for k in range(p.pairs) if busy_pairs >> k & 1]
            if step[0] == "stage":
                writes = model.stage(step[1])
                for address, data in writes:
                    assert await drv.csr_write(address, data) == gregs.OKAY
                writes = [(rmap["ROUTE_CMD"].offset, 1, 0xF)]
            else:
                writes = [step]
            for address, data, strobe in writes:
                want = model.write(address, data, strobe, busy_pairs=bp)
                got = await drv.csr_write(address, data, strobe)
                assert got == want, (hex(address), hex(data), strobe, got, want)
                if model.check_busy:            # let the check finish in both
                    while (await drv.csr_read(rmap["ROUTE_STATUS"].offset))[0] & 1:
                        pass
                    model.advance(p.check_cycles)
            if rng.random() < 0.3:
                hk = [k for k in range(p.pairs) if holding >> k & 1]
                for a in readable + [0x1C, 0x3FFC]:
                    want = model.read(a, busy_pairs=bp, holding=hk)
                    got = await drv.csr_read(a)
                    assert got == want, (hex(a), got, want)
                ctx.set(dut.busy_pairs, 0)
                await drv.csr_write(rmap["CHIP_ERROR"].offset, 0xFFFFFFFF)
                model.write(rmap["CHIP_ERROR"].offset, 0xFFFFFFFF)
            # the active routing and its reach
            assert ctx.get(dut.switches) == routing_bits(model.active)
            for k in range(p.pairs):
                reach = model.reach(k)
                assert ctx.get(dut.reach_tiles[k]) == sum(1 << t for t in reach.tiles)
                assert ctx.get(dut.reach_olps[k]) == sum(1 << j for j in reach.olps)
            assert ctx.get(dut.pair_mode) == sum(int(m) << k
                                                 for k, m in enumerate(model.pair_mode))

    sim.add_testbench(tb)
    sim.run()
