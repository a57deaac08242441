# amaranth: UnusedElaboratable=no
"""Fast tier: the chip's mesh and its routing check in amaranth.sim against golden.chip."""
import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.chip.params import ChipParams
from golden.chip.routing import Routing, check, ilp, resolve, tile
from golden.spec import TileParams
from hdl.chip.mesh import Mesh, routing_bits, switch_bits
from hdl.chip.route_check import RouteCheck

TILE = TileParams(rows=8, cols=8, in_bits=4, out_bits=4, code_bits=3, charge_bits=12)
GRIDS = {
    "2x2": ChipParams(tile=TILE, grid_rows=2, grid_cols=2, empty=(), group_lanes=4,
                      pair_rows=(0, 1)),
    "2x3e": ChipParams(tile=TILE, grid_rows=2, grid_cols=3, empty=((1, 2),), group_lanes=2,
                       pair_rows=(1,)),
}


def random_routing(rng, p, density):
    """Random switch bits, none of them at a place where the switch cannot exist."""
    node = rng.random((p.grid_rows, p.grid_cols, p.groups, 8)) < density
    for r, c in p.empty:
        node[r, c, :, [2, 5, 6, 7]] = False          # drive_e, drive_n, take_w, take_s
    edge_w = rng.random((p.grid_rows, p.groups, 3)) < density
    for r in range(p.grid_rows):
        if p.pair_at(r) is None:
            edge_w[r, :, [0, 2]] = False             # ilp_drive, olp_take
    edge_s = rng.random((p.grid_cols, p.groups)) < density
    return Routing(p, node, edge_w, edge_s)


@pytest.mark.parametrize("name", list(GRIDS))
def test_route_check_matches_golden(name, seed):
    """Random switch sets (legal and illegal, of every class): the RTL check's verdict, every
    pair's reach and its duration equal golden.chip.routing.check."""
    p = GRIDS[name]
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(60):
        routing = random_routing(rng, p, float(rng.choice([0.05, 0.1, 0.2, 0.4])))
        lanes = rng.random(p.tiles) < 0.8
        cases.append((routing, lanes, check(routing, lanes_mode=list(lanes))))
    # a few legal routings built by name
    legal = Routing.empty(p)
    legal.chain(0, [0, p.tiles - 1], olp_pair=0)
    cases.append((legal, np.ones(p.tiles, bool), check(legal)))
    classes = {c for _, _, r in cases for c in r.broken}
    assert classes == {"conflict", "loop", "not_lanes", "dead_end"}, classes
    dut = RouteCheck(p)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        for i, (routing, lanes, want) in enumerate(cases):
            ctx.set(dut.switches, routing_bits(routing))
            ctx.set(dut.lanes_mode, sum(int(b) << t for t, b in enumerate(lanes)))
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            busy = 0
            while not ctx.get(dut.done):
                assert ctx.get(dut.busy)
                await ctx.tick()
                busy += 1
            got = {c: bool(ctx.get(getattr(dut, c)))
                   for c in ("conflict", "loop", "not_lanes", "dead_end")}
            assert got == {c: bool(getattr(want, c)) for c in got}, (i, got, want.reasons())
            for k in range(p.pairs):
                tiles = {t for t in range(p.tiles) if ctx.get(dut.reach_tiles[k]) >> t & 1}
                olps = {j for j in range(p.pairs) if ctx.get(dut.reach_olps[k]) >> j & 1}
                assert (tiles, olps) == (set(want.reach[k].tiles), set(want.reach[k].olps)), i
            assert busy + 1 == p.check_cycles
            await ctx.tick()
            assert not ctx.get(dut.busy)

    sim.add_testbench(bench)
    sim.run()


def _group(value, g, gl):
    """(pulse, sign, window) of group g of a lane bundle's (pulse, sign, window) ints."""
    pulse, sign, window = value
    mask = (1 << gl) - 1
    return (pulse >> (g * gl) & mask, sign >> (g * gl) & mask, window)


@pytest.mark.parametrize("name", list(GRIDS))
def test_mesh_carries_resolved_routes(name, seed):
    """Legal routings with multicast, concatenation and wraps: every tile input group and OLP
    group carries its resolved source's group, as many cycles late as it passes wraps."""
    p = GRIDS[name]
    rng = np.random.default_rng(seed)
    routings = []
    r = Routing.empty(p)
    r.chain(0, [0, p.tiles - 1], olp_pair=0)
    routings.append(r)
    r = Routing.empty(p)
    r.multicast(ilp(0), [tile(t) for t in range(p.tiles)])
    routings.append(r)
    r = Routing.empty(p)
    if p.groups >= 2:
        r.concatenate(tile(p.tiles - 1), [(ilp(0), [0]), (tile(0), [1])])
        routings.append(r)
    r = Routing.empty(p)
    r.connect(tile(p.tiles - 1), tile(0))          # through the wraps
    routings.append(r)
    dut = Mesh(p)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    L, GL = p.lanes, p.group_lanes

    async def bench(ctx):
        for routing in routings:
            sources = resolve(routing)
            assert any(f.wraps for _, _, f in sources.feeds()) or routing is not routings[-1]
            ctx.set(dut.switches, routing_bits(routing))
            history = []
            for cycle in range(6):
                values = {}
                for kind, ports in (("ilp", dut.ilp), ("tile", dut.tile_out)):
                    for i, lanes in enumerate(ports):
                        v = (int(rng.integers(0, 1 << L)), int(rng.integers(0, 1 << L)),
                             int(rng.integers(0, 2)))
                        ctx.set(lanes.pulse, v[0])
                        ctx.set(lanes.sign, v[1])
                        ctx.set(lanes.window, v[2])
                        values[(kind, i)] = v
                history.append(values)
                for kind, ports, table in (("tile", dut.tile_in, sources.tile_inputs),
                                           ("olp", dut.olp, sources.olp_inputs)):
                    for i, lanes in enumerate(ports):
                        got = (ctx.get(lanes.pulse), ctx.get(lanes.sign), ctx.get(lanes.window))
                        windows = 0
                        for g, feed in enumerate(table[i]):
                            if feed is None:
                                assert _group(got, g, GL)[:2] == (0, 0), (kind, i, g)
                                continue
                            if feed.wraps > cycle:
                                continue        # the wrap registers still hold their reset
                            src = history[cycle - feed.wraps][(feed.source.kind,
                                                               feed.source.index)]
                            assert _group(got, g, GL)[:2] == _group(src, g, GL)[:2], \
                                (kind, i, g, feed, cycle)
                            windows |= src[2]
                        if all(f is None or f.wraps <= cycle for f in table[i]):
                            assert got[2] == windows, (kind, i, cycle)
                await ctx.tick()

    sim.add_testbench(bench)
    sim.run()


def test_switch_vector_width():
    p = GRIDS["2x2"]
    assert switch_bits(p) == p.node_registers * 8 + p.edge_w_registers * 3 + \
        p.edge_s_registers
    with pytest.raises(TypeError, match="params must be a ChipParams"):
        Mesh(TILE)
