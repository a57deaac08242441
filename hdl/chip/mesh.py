"""The chip's circuit-switched pulse mesh (docs/chip.md section 2).

Combinational switches copy lane groups between segments; the two wrap segments of every row
and column are register stages, so no switch setting closes a combinational ring. The switch
bits come in as the active routing (``golden.chip.routing.Routing`` order); the legality of a
routing is checked before it becomes active (``hdl.chip.route_check``), so in operation every
segment group has at most one enabled driver and the OR below is a selection.
"""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.chip.params import ChipParams
from golden.chip.routing import EDGE_S_SWITCHES, EDGE_W_SWITCHES, NODE_SWITCHES
from ..types import PulseLanesSignature

__all__ = ["Mesh", "switch_bits", "switch_index", "routing_bits"]


def switch_bits(p: ChipParams) -> int:
    """Width of the flat switch vector: the NODE, then the EDGE_W, then the EDGE_S registers'
    bits, each register's fields in order at ``index * fields`` (the registers' own order)."""
    return (p.node_registers * len(NODE_SWITCHES) + p.edge_w_registers * len(EDGE_W_SWITCHES)
            + p.edge_s_registers * len(EDGE_S_SWITCHES))


def switch_index(p: ChipParams, name: str, r=None, c=None, g=0) -> int:
    """Position of one switch in the flat switch vector (see :func:`switch_bits`)."""
    G = p.groups
    if name in NODE_SWITCHES:
        return ((r * p.grid_cols + c) * G + g) * len(NODE_SWITCHES) + NODE_SWITCHES.index(name)
    if name in EDGE_W_SWITCHES:
        return p.node_registers * len(NODE_SWITCHES) + \
            (r * G + g) * len(EDGE_W_SWITCHES) + EDGE_W_SWITCHES.index(name)
    return p.node_registers * len(NODE_SWITCHES) + \
        p.edge_w_registers * len(EDGE_W_SWITCHES) + \
        (c * G + g) * len(EDGE_S_SWITCHES) + EDGE_S_SWITCHES.index(name)


def routing_bits(routing) -> int:
    """A golden ``Routing`` as the flat switch vector (an int)."""
    p = routing.params
    value = 0
    for s in routing.switches():
        value |= 1 << switch_index(p, s.name, r=s.row, c=s.col, g=s.group)
    return value


class Mesh(wiring.Component):
    """Switches and segments of the mesh.

    Members
    -------
    switches : In(switch_bits(params))
        The active routing, flat (see :func:`switch_bits`).
    tile_out : In(PulseLanesSignature(lanes)).array(tiles)
        Each tile's output lanes.
    tile_in : Out(PulseLanesSignature(lanes)).array(tiles)
        Each tile's input lanes: the groups it takes (others low); ``window`` is the OR of the
        taken groups' windows.
    ilp : In(PulseLanesSignature(lanes)).array(pairs)
        Each ILP's lanes.
    olp : Out(PulseLanesSignature(lanes)).array(pairs)
        Each OLP's lanes, as ``tile_in``.
    """

    def __init__(self, params: ChipParams):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        self.params = p = params
        lanes = PulseLanesSignature(p.lanes)
        super().__init__({
            "switches": In(switch_bits(p)),
            "tile_out": In(lanes).array(p.tiles),
            "tile_in": Out(lanes).array(p.tiles),
            "ilp": In(lanes).array(p.pairs),
            "olp": Out(lanes).array(p.pairs),
        })

    def _switch(self, name, r=None, c=None, g=0):
        """The bit of one switch in ``switches``."""
        return self.switches[switch_index(self.params, name, r=r, c=c, g=g)]

    def elaborate(self, platform):
        m = Module()
        p = self.params
        R, C, G, GL = p.grid_rows, p.grid_cols, p.groups, p.group_lanes
        width = 2 * GL + 1          # one group: pulse, sign, window

        def group_of(lanes, g):
            sl = slice(g * GL, (g + 1) * GL)
            return Cat(lanes.pulse[sl], lanes.sign[sl], lanes.window)

        def gated(enable, value):
            return Mux(enable, value, 0)

        def either(*terms):
            out = terms[0]
            for t in terms[1:]:
                out = out | t
            return out

        H = [[[Signal(width, name=f"h_{r}_{c}_{g}") for g in range(G)] for c in range(C + 1)]
             for r in range(R)]
        V = [[[Signal(width, name=f"v_{r}_{c}_{g}") for g in range(G)] for c in range(C)]
             for r in range(R + 1)]
        tile_out = {p.positions[k]: self.tile_out[k] for k in range(p.tiles)}

        # wrap registers: the east end of a row and the north end of a column, one cycle later
        for r in range(R):
            for g in range(G):
                wrap = Signal(width, name=f"wrap_h_{r}_{g}")
                m.d.sync += wrap.eq(H[r][C][g])
                pair = p.pair_at(r)
                terms = [gated(self._switch("wrap_h", r=r, g=g), wrap)]
                if pair is not None:
                    terms.append(gated(self._switch("ilp_drive", r=r, g=g),
                                       group_of(self.ilp[pair], g)))
                m.d.comb += H[r][0][g].eq(either(*terms))
        for c in range(C):
            for g in range(G):
                wrap = Signal(width, name=f"wrap_v_{c}_{g}")
                m.d.sync += wrap.eq(V[R][c][g])
                m.d.comb += V[0][c][g].eq(gated(self._switch("wrap_v", c=c, g=g), wrap))

        # the switches of every position
        for r in range(R):
            for c in range(C):
                out = tile_out.get((r, c))
                for g in range(G):
                    s = lambda name: self._switch(name, r=r, c=c, g=g)   # noqa: E731
                    east = [gated(s("pass_e"), H[r][c][g]), gated(s("turn_e"), V[r][c][g])]
                    north = [gated(s("pass_n"), V[r][c][g]), gated(s("turn_n"), H[r][c][g])]
                    if out is not None:
                        east.append(gated(s("drive_e"), group_of(out, g)))
                        north.append(gated(s("drive_n"), group_of(out, g)))
                    m.d.comb += [H[r][c + 1][g].eq(either(*east)),
                                 V[r + 1][c][g].eq(either(*north))]

        def land(lanes, groups):
            """Drive a lane bundle from its taken groups (window: OR of theirs)."""
            m.d.comb += [
                lanes.pulse.eq(Cat(*(grp[:GL] for grp in groups))),
                lanes.sign.eq(Cat(*(grp[GL:2 * GL] for grp in groups))),
                lanes.window.eq(either(*(grp[2 * GL] for grp in groups))),
            ]

        for k, (r, c) in enumerate(p.positions):
            land(self.tile_in[k], [
                either(gated(self._switch("take_w", r=r, c=c, g=g), H[r][c][g]),
                       gated(self._switch("take_s", r=r, c=c, g=g), V[r][c][g]))
                for g in range(G)])
        for k, r in enumerate(p.pair_rows):
            land(self.olp[k], [gated(self._switch("olp_take", r=r, g=g), H[r][C][g])
                               for g in range(G)])
        return m
