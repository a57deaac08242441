"""The legality check of a routing commit (docs/chip.md section 3), sequential.

On ``start`` the staged switches and the tiles' LANES flags are sampled. The first cycle
computes the per-segment rules (conflict, dead end, not LANES) and the loop check's initial
settled set; then one settle round runs per cycle, ``graph_nodes`` of them, and with them the
propagation of "reached from ILP k" that gives every pair's reach; on the last cycle (``done``)
the verdict and the reaches are valid. ``busy`` lasts ``ChipParams.check_cycles`` cycles.
The graph (nodes and possible edges) is ``golden.chip.routing``'s, numbered the same way.
"""
from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.chip.params import ChipParams
from .mesh import switch_bits, switch_index

__all__ = ["RouteCheck", "check_graph"]


def check_graph(p: ChipParams):
    """Nodes and every possible edge of the check's graph: ``(nodes, edges, kinds)`` with
    ``edges`` a list of ``(src, dst, switch bit, group)`` and ``kinds[n]`` one of "H", "V",
    "T", "I", "O". Numbering as ``golden.chip.routing._Graph``."""
    R, C, G = p.grid_rows, p.grid_cols, p.groups
    h0 = 0
    v0 = h0 + R * (C + 1) * G
    t0 = v0 + (R + 1) * C * G
    i0 = t0 + p.tiles
    o0 = i0 + p.pairs
    n = o0 + p.pairs
    assert n == p.graph_nodes

    def H(r, c, g):
        return h0 + (r * (C + 1) + c) * G + g

    def V(r, c, g):
        return v0 + (r * C + c) * G + g

    kinds = ["H"] * (v0 - h0) + ["V"] * (t0 - v0) + ["T"] * p.tiles + ["I"] * p.pairs + \
        ["O"] * p.pairs
    edges = []
    for r in range(R):
        for c in range(C):
            t = p.tile_at(r, c)
            for g in range(G):
                def s(name):
                    return switch_index(p, name, r=r, c=c, g=g)
                edges += [(H(r, c, g), H(r, c + 1, g), s("pass_e"), g),
                          (V(r, c, g), H(r, c + 1, g), s("turn_e"), g),
                          (V(r, c, g), V(r + 1, c, g), s("pass_n"), g),
                          (H(r, c, g), V(r + 1, c, g), s("turn_n"), g)]
                if t is not None:
                    edges += [(t0 + t, H(r, c + 1, g), s("drive_e"), g),
                              (t0 + t, V(r + 1, c, g), s("drive_n"), g),
                              (H(r, c, g), t0 + t, s("take_w"), g),
                              (V(r, c, g), t0 + t, s("take_s"), g)]
        k = p.pair_at(r)
        for g in range(G):
            edges.append((H(r, C, g), H(r, 0, g), switch_index(p, "wrap_h", r=r, g=g), g))
            if k is not None:
                edges += [(i0 + k, H(r, 0, g), switch_index(p, "ilp_drive", r=r, g=g), g),
                          (H(r, C, g), o0 + k, switch_index(p, "olp_take", r=r, g=g), g)]
    for c in range(C):
        for g in range(G):
            edges.append((V(R, c, g), V(0, c, g), switch_index(p, "wrap_v", c=c, g=g), g))
    return n, edges, kinds, (t0, i0, o0)


def _any(values):
    values = list(values)
    if not values:
        return Const(0)
    while len(values) > 1:
        values = [values[i] | values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


def _all(values):
    values = list(values)
    if not values:
        return Const(1)
    while len(values) > 1:
        values = [values[i] & values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


class RouteCheck(wiring.Component):
    """Members
    -------
    switches : In(switch_bits(params))
        The staged switches (sampled on ``start``).
    lanes_mode : In(tiles)
        Bit t: tile t's ``CTRL.input_source`` is LANES (sampled on ``start``).
    start : In(1)
        Begin a check (ignored while ``busy``).
    busy : Out(1)
        A check runs (``check_cycles`` cycles from the cycle after ``start``).
    done : Out(1)
        The last cycle of a check: the outputs below are valid.
    conflict, loop, not_lanes, dead_end : Out(1)
        The rules the sampled routing breaks.
    reach_tiles : Out(tiles).array(pairs)
        Bit t: tile t is in reach(k).
    reach_olps : Out(pairs).array(pairs)
        Bit j: OLP j is in reach(k).
    switched : Out(switch_bits(params))
        The sampled switches (what becomes active when the verdict allows it).
    """

    def __init__(self, params: ChipParams):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "switches": In(switch_bits(p)),
            "lanes_mode": In(p.tiles),
            "start": In(1),
            "busy": Out(1),
            "done": Out(1),
            "conflict": Out(1),
            "loop": Out(1),
            "not_lanes": Out(1),
            "dead_end": Out(1),
            "reach_tiles": Out(p.tiles).array(p.pairs),
            "reach_olps": Out(p.pairs).array(p.pairs),
            "switched": Out(switch_bits(p)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        n, edges, kinds, (t0, i0, o0) = check_graph(p)
        snap = Signal(switch_bits(p))
        lanes = Signal(p.tiles)
        count = Signal(range(p.check_cycles + 1))
        first = Signal()
        m.d.comb += [self.busy.eq(count != 0), first.eq(count == p.check_cycles),
                     self.done.eq(count == 1), self.switched.eq(snap)]
        with m.If(self.start & (count == 0)):
            m.d.sync += [snap.eq(self.switches), lanes.eq(self.lanes_mode),
                         count.eq(p.check_cycles)]
        with m.Elif(count != 0):
            m.d.sync += count.eq(count - 1)

        into = [[] for _ in range(n)]       # enabled in-edges: (src, enable)
        out_of = [[] for _ in range(n)]
        for src, dst, bit, g in edges:
            into[dst].append((src, snap[bit], g))
            out_of[src].append(snap[bit])

        # per-segment rules, registered on the first cycle
        conflict, dead_end, not_lanes = Signal(), Signal(), Signal()
        conflicts, dead, wrong = [], [], []
        for node in range(n):
            ins = into[node]
            if kinds[node] in "HV":
                pairs = [a & b for i, (_, a, _) in enumerate(ins) for (_, b, _) in ins[i + 1:]]
                conflicts += pairs
                dead.append(_any(e for _, e, _ in ins) & ~_any(out_of[node]))
            elif kinds[node] == "T":
                for g in range(p.groups):
                    takes = [e for _, e, gg in ins if gg == g]
                    conflicts += [a & b for i, a in enumerate(takes) for b in takes[i + 1:]]
                wrong.append(_any(e for _, e, _ in ins) & ~lanes[node - t0])
        with m.If(first):
            m.d.sync += [conflict.eq(_any(conflicts)), dead_end.eq(_any(dead)),
                         not_lanes.eq(_any(wrong))]

        # the settle rounds and the reach propagation
        settled = Signal(n)
        reached = [Signal(n, name=f"reached_{k}") for k in range(p.pairs)]
        with m.If(first):
            m.d.sync += settled.eq(Cat(~_any(e for _, e, _ in into[node]) for node in range(n)))
            for k in range(p.pairs):
                m.d.sync += reached[k].eq(1 << (i0 + k))
        with m.Elif(count != 0):
            m.d.sync += settled.eq(Cat(_all(~e | settled[src] for src, e, _ in into[node])
                                       for node in range(n)))
            for k in range(p.pairs):
                m.d.sync += reached[k].eq(Cat(
                    Const(1) if node == i0 + k else _any(e & reached[k][src]
                                                         for src, e, _ in into[node])
                    for node in range(n)))
        m.d.comb += [
            self.conflict.eq(conflict), self.dead_end.eq(dead_end),
            self.not_lanes.eq(not_lanes), self.loop.eq(~_all(settled[i] for i in range(n))),
        ]
        for k in range(p.pairs):
            m.d.comb += [self.reach_tiles[k].eq(reached[k][t0:t0 + p.tiles]),
                         self.reach_olps[k].eq(reached[k][o0:o0 + p.pairs])]
        return m
