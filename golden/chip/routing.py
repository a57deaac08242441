"""The mesh's switch configuration as plain data, route builders, legality and route resolution
(docs/chip.md sections 2 and 3).

A :class:`Routing` holds every switch bit of the mesh:

- ``node[r, c, g, i]``: switch ``NODE_SWITCHES[i]`` of position (r, c), lane group g;
- ``edge_w[r, g, i]``: switch ``EDGE_W_SWITCHES[i]`` at the west edge of grid row r;
- ``edge_s[c, g]``: ``wrap_v`` at the south edge of grid column c.

The same bits, in the same order, are the chip's ``NODE``, ``EDGE_W`` and ``EDGE_S`` registers
(``golden.chip.regs``). :func:`check` applies the legality rules of section 3 (what a
``ROUTE_CMD`` commit computes), :func:`resolve` names the source that drives every tile input
group and OLP group, and the ``connect*`` builders enable the switches of routes by name.

Graph of the loop check and of reach: nodes are the segment groups ``H(r, c, g)`` (c = 0..
grid_cols) and ``V(r, c, g)`` (r = 0..grid_rows), the tiles, the ILPs and the OLPs; every
enabled switch is an edge (a ``take`` from a segment to a tile, a ``drive`` from a tile to a
segment, ``ilp_drive`` from an ILP, ``olp_take`` to an OLP).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, NamedTuple

import numpy as np

from ..spec import InputSource, _check_int
from .params import ChipParams

__all__ = [
    "NODE_SWITCHES", "EDGE_W_SWITCHES", "EDGE_S_SWITCHES", "SWITCHES", "ROUTE_CLASSES",
    "Switch", "Endpoint", "ilp", "tile", "olp", "Feed", "Sources", "Reach", "CheckResult",
    "Routing", "RoutingError", "path", "check", "resolve", "switch_exists", "JSON_FORMAT",
    "random_routing",
]

#: Switches of one position and lane group, in register bit order (docs/chip.md section 2).
NODE_SWITCHES = ("pass_e", "turn_e", "drive_e", "pass_n", "turn_n", "drive_n", "take_w", "take_s")
#: Switches at the west edge of a grid row, in register bit order.
EDGE_W_SWITCHES = ("ilp_drive", "wrap_h", "olp_take")
#: Switches at the south edge of a grid column.
EDGE_S_SWITCHES = ("wrap_v",)
SWITCHES = NODE_SWITCHES + EDGE_W_SWITCHES + EDGE_S_SWITCHES

#: Legality classes of a commit, in ``CHIP_ERROR`` / ``ROUTE_STATUS`` bit order.
ROUTE_CLASSES = ("conflict", "loop", "not_lanes", "dead_end")

JSON_FORMAT = "pcm-chip-routing"
JSON_VERSION = 1


class Switch(NamedTuple):
    """One switch bit: ``name`` and where it is.

    Node switches have ``row`` and ``col``; ``ilp_drive``/``wrap_h``/``olp_take`` have ``row``
    (``col`` is None); ``wrap_v`` has ``col`` (``row`` is None). ``group`` is the lane group
    (None in a group-agnostic path step).
    """
    name: str
    row: int | None
    col: int | None
    group: int | None = None

    def __str__(self):
        g = "" if self.group is None else f" group {self.group}"
        if self.name in NODE_SWITCHES:
            return f"{self.name} at ({self.row}, {self.col}){g}"
        if self.name in EDGE_W_SWITCHES:
            return f"{self.name} of row {self.row}{g}"
        return f"{self.name} of column {self.col}{g}"

    def at(self, group: int) -> "Switch":
        return self._replace(group=group)


@dataclass(frozen=True, order=True)
class Endpoint:
    """A source or destination of a route: ``ILP k``, ``tile t`` or ``OLP k``."""
    kind: str
    index: int

    def __post_init__(self):
        if self.kind not in ("ilp", "tile", "olp"):
            raise ValueError(f"endpoint kind must be 'ilp', 'tile' or 'olp', not {self.kind!r}")
        _check_int(f"{self.kind} index", self.index, 0, (1 << 16) - 1)

    def __str__(self):
        return f"{'tile' if self.kind == 'tile' else self.kind.upper()} {self.index}"


def ilp(k: int) -> Endpoint:
    """The ILP of pair k (a route source)."""
    return Endpoint("ilp", k)


def tile(t: int) -> Endpoint:
    """Tile t (a route source through its drivers, a destination through its takes)."""
    return Endpoint("tile", t)


def olp(k: int) -> Endpoint:
    """The OLP of pair k (a route destination)."""
    return Endpoint("olp", k)


@dataclass(frozen=True)
class Feed:
    """What drives one destination group: ``source``'s output group (the same group), arriving
    ``wraps`` cycles late (one per wrap register on the way, docs/chip.md section 2)."""
    source: Endpoint
    wraps: int

    def __str__(self):
        late = f", {self.wraps} wrap{'s' if self.wraps != 1 else ''}" if self.wraps else ""
        return f"{self.source}{late}"


@dataclass(frozen=True)
class Sources:
    """Resolved routes: the feed of every tile input group and OLP group (None: undriven).

    ``tile_inputs[t][g]`` and ``olp_inputs[k][g]`` are ``Feed`` or None.
    """
    tile_inputs: tuple
    olp_inputs: tuple

    def feeds(self):
        """Every driven destination group: ``(destination, group, feed)``."""
        for kind, table in (("tile", self.tile_inputs), ("olp", self.olp_inputs)):
            for i, row in enumerate(table):
                for g, f in enumerate(row):
                    if f is not None:
                        yield Endpoint(kind, i), g, f

    def readers(self, source: Endpoint) -> list:
        """The destination groups ``source`` feeds: ``[(destination, group, wraps)]``."""
        return [(d, g, f.wraps) for d, g, f in self.feeds() if f.source == source]


@dataclass(frozen=True)
class Reach:
    """What ILP k reaches along enabled edges (through tiles too): tile and OLP indices."""
    tiles: frozenset
    olps: frozenset


@dataclass(frozen=True)
class CheckResult:
    """The verdict of :func:`check` (what a commit computes).

    ``conflict``, ``loop``, ``not_lanes``, ``dead_end``: one human-readable reason per broken
    instance of the rule (empty: the rule holds). ``bad_value``: enabled switches that cannot
    exist (a drive/take at an empty position, ``ilp_drive``/``olp_take`` at a row without a
    pair); the registers refuse them at the write, so a commit never sees one. ``reach[k]``:
    pair k's reach. ``cycles``: cycles the commit's check takes (``ChipParams.check_cycles``).
    ``rounds``: settle rounds after which nothing changed (at most ``graph_nodes``).
    ``sources``: the resolved routes, None when there is a conflict or a loop.
    """
    conflict: tuple
    loop: tuple
    not_lanes: tuple
    dead_end: tuple
    bad_value: tuple
    reach: tuple
    cycles: int
    rounds: int
    sources: Sources | None

    @property
    def broken(self) -> tuple:
        """The broken legality classes, in ``ROUTE_CLASSES`` order."""
        return tuple(c for c in ROUTE_CLASSES if getattr(self, c))

    @property
    def ok(self) -> bool:
        """Every rule holds and no switch is a bad value: the routing may be committed."""
        return not self.broken and not self.bad_value

    def reasons(self) -> list:
        """Every reason, prefixed with its class."""
        return [f"{c}: {r}" for c in ROUTE_CLASSES + ("bad_value",) for r in getattr(self, c)]


class RoutingError(ValueError):
    """An illegal routing; ``result`` is the :class:`CheckResult`."""

    def __init__(self, result: CheckResult):
        self.result = result
        super().__init__("illegal routing: " + "; ".join(result.reasons()))


# -- segments and positions ------------------------------------------------------------------

def _seg_name(seg) -> str:
    kind, r, c, g = seg
    return f"{kind}({r}, {c}) group {g}"


def _tile_name(p: ChipParams, t: int) -> str:
    return f"tile {t} at {p.positions[t]}"


def switch_exists(params: ChipParams, switch: Switch) -> str | None:
    """Why ``switch`` cannot be enabled on this chip (a register write of it is BAD_VALUE), or
    None. Passes, turns and wraps exist everywhere; drives and takes only at tile positions,
    ``ilp_drive``/``olp_take`` only at rows with a pair."""
    n = switch.name
    if n in ("drive_e", "drive_n", "take_w", "take_s"):
        if params.tile_at(switch.row, switch.col) is None:
            return f"{switch}: position ({switch.row}, {switch.col}) has no tile"
    elif n in ("ilp_drive", "olp_take"):
        if params.pair_at(switch.row) is None:
            return f"{switch}: row {switch.row} has no ILP/OLP pair"
    return None


def _check_switch(params: ChipParams, s: Switch) -> Switch:
    if s.name not in SWITCHES:
        raise ValueError(f"switch name must be one of {SWITCHES}, not {s.name!r}")
    if s.name in NODE_SWITCHES or s.name in EDGE_W_SWITCHES:
        _check_int("row", s.row, 0, params.grid_rows - 1)
    if s.name in NODE_SWITCHES or s.name in EDGE_S_SWITCHES:
        _check_int("col", s.col, 0, params.grid_cols - 1)
    if s.name in EDGE_W_SWITCHES and s.col is not None:
        raise ValueError(f"{s.name} is a west-edge switch: col must be None, not {s.col!r}")
    if s.name in EDGE_S_SWITCHES and s.row is not None:
        raise ValueError(f"{s.name} is a south-edge switch: row must be None, not {s.row!r}")
    _check_int("group", s.group, 0, params.groups - 1)
    return s


def _groups(params: ChipParams, groups) -> list:
    if groups is None:
        return list(range(params.groups))
    if not isinstance(groups, bool) and isinstance(groups, (int, np.integer)):
        groups = [groups]
    out = []
    for g in groups:
        _check_int("group", g, 0, params.groups - 1)
        out.append(int(g))
    if not out:
        raise ValueError("groups must name at least one lane group, not an empty list")
    return out


# -- the switch set --------------------------------------------------------------------------

class Routing:
    """Every switch bit of the mesh (plain data) for one ``ChipParams``.

    ``node`` ``(grid_rows, grid_cols, groups, 8)``, ``edge_w`` ``(grid_rows, groups, 3)`` and
    ``edge_s`` ``(grid_cols, groups)`` are ``bool`` arrays in the switch orders of
    ``NODE_SWITCHES``, ``EDGE_W_SWITCHES``. The route builders (``connect*``, ``multicast``,
    ``concatenate``, ``chain``) enable switches and return what they enabled; they never
    disable one, so routes add up.
    """

    def __init__(self, params: ChipParams, node=None, edge_w=None, edge_s=None):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        self.params = params
        p = params
        shapes = {"node": (p.grid_rows, p.grid_cols, p.groups, len(NODE_SWITCHES)),
                  "edge_w": (p.grid_rows, p.groups, len(EDGE_W_SWITCHES)),
                  "edge_s": (p.grid_cols, p.groups)}
        for name, value in (("node", node), ("edge_w", edge_w), ("edge_s", edge_s)):
            if value is None:
                arr = np.zeros(shapes[name], dtype=bool)
            else:
                arr = np.asarray(value)
                if arr.shape != shapes[name]:
                    raise ValueError(f"{name} must have shape {shapes[name]}, not {arr.shape}")
                if arr.dtype != np.bool_:
                    if arr.dtype.kind not in "iu" or (arr.size and not np.isin(arr, (0, 1)).all()):
                        raise TypeError(f"{name} must be a bool array (or of 0/1), not "
                                        f"{arr.dtype}")
                arr = arr.astype(bool)      # a copy: the caller's array is not shared
            setattr(self, name, arr)

    @classmethod
    def empty(cls, params: ChipParams) -> "Routing":
        """Every switch off (the reset state of the registers)."""
        return cls(params)

    def copy(self) -> "Routing":
        return Routing(self.params, self.node, self.edge_w, self.edge_s)

    def __eq__(self, other):
        if not isinstance(other, Routing):
            return NotImplemented
        return (self.params == other.params and np.array_equal(self.node, other.node)
                and np.array_equal(self.edge_w, other.edge_w)
                and np.array_equal(self.edge_s, other.edge_s))

    __hash__ = None

    def __or__(self, other: "Routing") -> "Routing":
        """The union of two switch sets (both routes' switches enabled)."""
        if not isinstance(other, Routing) or other.params != self.params:
            raise ValueError("can only combine routings of the same ChipParams")
        return Routing(self.params, self.node | other.node, self.edge_w | other.edge_w,
                       self.edge_s | other.edge_s)

    def __repr__(self):
        return f"Routing({len(self.switches())} switches enabled)"

    # -- single switches ----------------------------------------------------------------------
    def _slot(self, s: Switch):
        if s.name in NODE_SWITCHES:
            return self.node, (s.row, s.col, s.group, NODE_SWITCHES.index(s.name))
        if s.name in EDGE_W_SWITCHES:
            return self.edge_w, (s.row, s.group, EDGE_W_SWITCHES.index(s.name))
        return self.edge_s, (s.col, s.group)

    def __getitem__(self, switch: Switch) -> bool:
        s = _check_switch(self.params, Switch(*switch))
        arr, idx = self._slot(s)
        return bool(arr[idx])

    def set(self, switch: Switch, on: bool = True) -> None:
        """Enable (or disable) one switch; a switch that cannot exist (see
        :func:`switch_exists`) raises ``ValueError``."""
        s = _check_switch(self.params, Switch(*switch))
        if on:
            why = switch_exists(self.params, s)
            if why is not None:
                raise ValueError(f"cannot enable {why}")
        arr, idx = self._slot(s)
        arr[idx] = bool(on)

    def switches(self) -> list:
        """Every enabled switch (node switches, then the west and south edges)."""
        out = [Switch(NODE_SWITCHES[i], int(r), int(c), int(g))
               for r, c, g, i in np.argwhere(self.node)]
        out += [Switch(EDGE_W_SWITCHES[i], int(r), None, int(g))
                for r, g, i in np.argwhere(self.edge_w)]
        out += [Switch("wrap_v", None, int(c), int(g)) for c, g in np.argwhere(self.edge_s)]
        return out

    # -- route builders -----------------------------------------------------------------------
    def _enable_path(self, steps, groups) -> list:
        enabled = []
        for g in _groups(self.params, groups):
            for step in steps:
                s = step.at(g)
                self.set(s)
                enabled.append(s)
        return enabled

    def connect(self, source: Endpoint, dest: Endpoint, groups=None, *, drive=None) -> list:
        """Enable the switches of the route ``source`` -> ``dest`` (see :func:`path`) for
        ``groups`` (None: every group); returns the switches enabled."""
        return self._enable_path(path(self.params, source, dest, drive=drive), groups)

    def connect_ilp_to_tile(self, pair: int, tile_index: int, groups=None) -> list:
        return self.connect(ilp(pair), tile(tile_index), groups)

    def connect_tile_to_tile(self, src: int, dst: int, groups=None, *, drive=None) -> list:
        return self.connect(tile(src), tile(dst), groups, drive=drive)

    def connect_tile_to_olp(self, tile_index: int, pair: int, groups=None, *, drive=None) -> list:
        return self.connect(tile(tile_index), olp(pair), groups, drive=drive)

    def connect_ilp_to_olp(self, pair: int, groups=None) -> list:
        """ILP k straight to OLP k (the words come back as they went in, counted by the OLP)."""
        return self.connect(ilp(pair), olp(pair), groups)

    def multicast(self, source: Endpoint, dests: Iterable[Endpoint], groups=None, *,
                  drive=None) -> list:
        """One source to several destinations: the union of the single routes, which share
        the segments they have in common. (Single-turn routes from one source never drive one
        segment by two switches: the row-bus routes leave the row only by turning north at
        their destination's column, the column-bus routes leave the column only by turning
        east at their destination's row, and by default a tile takes the column bus only for
        a destination in its own column, which no row-bus route enters, or for an OLP of
        another row, whose row no row-bus route of that tile reaches.)"""
        dests = list(dests)
        if not dests:
            raise ValueError("dests must name at least one destination")
        steps = []
        for d in dests:
            for s in path(self.params, source, d, drive=drive):
                if s not in steps:
                    steps.append(s)
        return self._enable_path(steps, groups)

    def concatenate(self, dest: Endpoint, parts) -> list:
        """Several sources onto one destination, each on its own lane groups:
        ``parts = [(source, groups), ...]`` or ``(source, groups, drive)`` (e.g. the two
        256-lane halves of one tile's rows from two producing tiles)."""
        enabled = []
        seen = set()
        for part in parts:
            source, groups, drive = (tuple(part) + (None,))[:3]
            gs = _groups(self.params, groups)
            if seen & set(gs):
                raise ValueError(f"groups {sorted(seen & set(gs))} of {dest} are given twice")
            seen |= set(gs)
            enabled += self.connect(source, dest, gs, drive=drive)
        return enabled

    def chain(self, pair: int, tiles: Iterable[int], olp_pair: int | None = None,
              groups=None) -> list:
        """ILP ``pair`` -> ``tiles[0]`` -> ``tiles[1]`` -> ... and, with ``olp_pair``, the last
        tile -> that OLP; every hop on ``groups``."""
        tiles = list(tiles)
        if not tiles:
            raise ValueError("tiles must name at least one tile")
        enabled = self.connect(ilp(pair), tile(tiles[0]), groups)
        for a, b in zip(tiles, tiles[1:]):
            enabled += self.connect(tile(a), tile(b), groups)
        if olp_pair is not None:
            enabled += self.connect(tile(tiles[-1]), olp(olp_pair), groups)
        return enabled

    # -- serialization ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        p = self.params
        return {"format": JSON_FORMAT, "version": JSON_VERSION, "grid_rows": p.grid_rows,
                "grid_cols": p.grid_cols, "groups": p.groups,
                "switches": [{"switch": s.name, "row": s.row, "col": s.col, "group": s.group}
                             for s in self.switches()]}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict, params: ChipParams) -> "Routing":
        if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
            raise ValueError(f"not a routing: format must be {JSON_FORMAT!r}")
        if data.get("version") != JSON_VERSION:
            raise ValueError(f"routing version must be {JSON_VERSION}, not "
                             f"{data.get('version')!r}")
        for key in ("grid_rows", "grid_cols", "groups"):
            if data.get(key) != getattr(params, key):
                raise ValueError(f"routing {key} = {data.get(key)!r} does not match the "
                                 f"chip's {getattr(params, key)}")
        r = cls(params)
        for i, item in enumerate(data.get("switches", ())):
            try:
                s = Switch(item["switch"], item["row"], item["col"], item["group"])
            except (KeyError, TypeError):
                raise ValueError(f"switches[{i}] must have switch, row, col and group, not "
                                 f"{item!r}") from None
            r.set(s)
        return r

    @classmethod
    def from_json(cls, text: str, params: ChipParams) -> "Routing":
        return cls.from_dict(json.loads(text), params)


# -- paths -----------------------------------------------------------------------------------

def _east(p: ChipParams, r: int, c_from: int, c_to: int) -> list:
    """Steps from segment H(r, c_from) to H(r, c_to), wrapping at the east end if needed."""
    C = p.grid_cols
    if c_to >= c_from:
        return [Switch("pass_e", r, c) for c in range(c_from, c_to)]
    return ([Switch("pass_e", r, c) for c in range(c_from, C)] + [Switch("wrap_h", r, None)]
            + [Switch("pass_e", r, c) for c in range(0, c_to)])


def _north(p: ChipParams, c: int, r_from: int, r_to: int) -> list:
    """Steps from segment V(r_from, c) to V(r_to, c), wrapping at the north end if needed."""
    R = p.grid_rows
    if r_to >= r_from:
        return [Switch("pass_n", r, c) for r in range(r_from, r_to)]
    return ([Switch("pass_n", r, c) for r in range(r_from, R)] + [Switch("wrap_v", None, c)]
            + [Switch("pass_n", r, c) for r in range(0, r_to)])


def _path_from(p: ChipParams, bus: str, r: int, c: int, dest: Endpoint) -> list | None:
    """Single-turn steps from segment ``bus(r, c)`` to ``dest``, or None if none exists."""
    if dest.kind == "tile":
        r2, c2 = p.positions[dest.index]
        if bus == "H":
            if r == r2:
                return _east(p, r, c, c2) + [Switch("take_w", r2, c2)]
            return (_east(p, r, c, c2) + [Switch("turn_n", r, c2)]
                    + _north(p, c2, r + 1, r2) + [Switch("take_s", r2, c2)])
        if c == c2:
            return _north(p, c, r, r2) + [Switch("take_s", r2, c2)]
        return (_north(p, c, r, r2) + [Switch("turn_e", r2, c)]
                + _east(p, r2, c + 1, c2) + [Switch("take_w", r2, c2)])
    r2 = p.pair_rows[dest.index]
    if bus == "H":
        if r != r2:
            return None
        return _east(p, r, c, p.grid_cols) + [Switch("olp_take", r2, None)]
    return (_north(p, c, r, r2) + [Switch("turn_e", r2, c)]
            + _east(p, r2, c + 1, p.grid_cols) + [Switch("olp_take", r2, None)])


def _wraps(steps) -> int:
    return sum(s.name in ("wrap_h", "wrap_v") for s in steps)


def _check_endpoint(p: ChipParams, e, role: str) -> Endpoint:
    if not isinstance(e, Endpoint):
        raise TypeError(f"{role} must be an Endpoint (golden.chip.routing.ilp/tile/olp), "
                        f"not {e!r}")
    allowed = ("ilp", "tile") if role == "source" else ("tile", "olp")
    if e.kind not in allowed:
        names = " or ".join(a if a == "tile" else a.upper() for a in allowed)
        raise ValueError(f"{role} must be {names}, not {e}")
    top = p.tiles if e.kind == "tile" else p.pairs
    _check_int(f"{role} {e.kind} index", e.index, 0, top - 1)
    return e


def path(params: ChipParams, source: Endpoint, dest: Endpoint, *, drive=None) -> list:
    """The switches (``group`` None) of the route ``source`` -> ``dest`` along the mesh.

    The route follows the buses' directions (east along a row, north along a column), turns at
    most once and uses a wrap where it must pass a bus's end. An ILP starts on ``H(r, 0)`` of
    its row; a tile at (r, c) starts on ``H(r, c+1)`` (``drive='e'``) or ``V(r+1, c)``
    (``drive='n'``); by default the tile takes the start whose route has fewer wraps, then
    fewer switches, east first. A tile is entered by ``take_w`` from the row bus or ``take_s``
    from the column bus, an OLP by ``olp_take`` from the east end of its row. A route that
    would need two turns raises ``ValueError``: from the row bus, an OLP is reachable on that
    row only (so ILP k reaches OLP k alone; a tile reaches another row's OLP through
    ``drive='n'``).
    """
    if not isinstance(params, ChipParams):
        raise TypeError(f"params must be a ChipParams, not {params!r}")
    p = params
    source = _check_endpoint(p, source, "source")
    dest = _check_endpoint(p, dest, "dest")
    if drive not in (None, "e", "n"):
        raise ValueError(f"drive must be None, 'e' or 'n', not {drive!r}")
    if source == dest:
        raise ValueError(f"{source} cannot feed itself (a loop)")
    candidates = []
    if source.kind == "ilp":
        if drive is not None:
            raise ValueError(f"drive applies to a tile source, not to {source}")
        r = p.pair_rows[source.index]
        steps = _path_from(p, "H", r, 0, dest)
        if steps is not None:
            candidates.append([Switch("ilp_drive", r, None)] + steps)
    else:
        r, c = p.positions[source.index]
        for d in (("e", "n") if drive is None else (drive,)):
            steps = (_path_from(p, "H", r, c + 1, dest) if d == "e"
                     else _path_from(p, "V", r + 1, c, dest))
            if steps is not None:
                candidates.append([Switch("drive_" + d, r, c)] + steps)
    if not candidates:
        how = "" if drive is None else f" with drive={drive!r}"
        raise ValueError(f"no route with at most one turn from {source} to {dest}{how} "
                         f"(an OLP is entered from the east end of its own row)")
    return min(candidates, key=lambda s: (_wraps(s), len(s)))


def _step_target(p: ChipParams, s: Switch):
    """The segment (kind, r, c) a path step drives, or None for a take."""
    n = s.name
    if n in ("pass_e", "turn_e", "drive_e"):
        return ("H", s.row, s.col + 1)
    if n in ("pass_n", "turn_n", "drive_n"):
        return ("V", s.row + 1, s.col)
    if n in ("ilp_drive", "wrap_h"):
        return ("H", s.row, 0)
    if n == "wrap_v":
        return ("V", 0, s.col)
    return None


# -- the graph of the enabled switches -------------------------------------------------------

class _Graph:
    """Nodes and enabled edges of a routing (docs/chip.md section 3)."""

    def __init__(self, routing: Routing):
        p = self.p = routing.params
        R, C, G = p.grid_rows, p.grid_cols, p.groups
        self.h0 = 0
        self.v0 = self.h0 + R * (C + 1) * G
        self.t0 = self.v0 + (R + 1) * C * G
        self.i0 = self.t0 + p.tiles
        self.o0 = self.i0 + p.pairs
        self.n = self.o0 + p.pairs
        assert self.n == p.graph_nodes
        # enabled edges: (src node, dst node, switch, dest group or None)
        self.edges = []
        for s in routing.switches():
            src, dst = self._ends(s)
            self.edges.append((src, dst, s))

    def H(self, r, c, g):
        return self.h0 + (r * (self.p.grid_cols + 1) + c) * self.p.groups + g

    def V(self, r, c, g):
        return self.v0 + (r * self.p.grid_cols + c) * self.p.groups + g

    def T(self, r, c):
        return self.t0 + self.p.tile_at(r, c)

    def name(self, node: int) -> str:
        p = self.p
        G = p.groups
        if node < self.v0:
            q, g = divmod(node - self.h0, G)
            r, c = divmod(q, p.grid_cols + 1)
            return _seg_name(("H", r, c, g))
        if node < self.t0:
            q, g = divmod(node - self.v0, G)
            r, c = divmod(q, p.grid_cols)
            return _seg_name(("V", r, c, g))
        if node < self.i0:
            return _tile_name(p, node - self.t0)
        if node < self.o0:
            return f"ILP {node - self.i0}"
        return f"OLP {node - self.o0}"

    def is_segment(self, node: int) -> bool:
        return node < self.t0

    def _ends(self, s: Switch):
        p, g = self.p, s.group
        n, r, c = s.name, s.row, s.col
        if n == "pass_e":
            return self.H(r, c, g), self.H(r, c + 1, g)
        if n == "turn_e":
            return self.V(r, c, g), self.H(r, c + 1, g)
        if n == "drive_e":
            return self._tile_node(r, c), self.H(r, c + 1, g)
        if n == "pass_n":
            return self.V(r, c, g), self.V(r + 1, c, g)
        if n == "turn_n":
            return self.H(r, c, g), self.V(r + 1, c, g)
        if n == "drive_n":
            return self._tile_node(r, c), self.V(r + 1, c, g)
        if n == "take_w":
            return self.H(r, c, g), self._tile_node(r, c)
        if n == "take_s":
            return self.V(r, c, g), self._tile_node(r, c)
        if n == "ilp_drive":
            return self._pair_node(self.i0, r), self.H(r, 0, g)
        if n == "wrap_h":
            return self.H(r, p.grid_cols, g), self.H(r, 0, g)
        if n == "olp_take":
            return self.H(r, p.grid_cols, g), self._pair_node(self.o0, r)
        return self.V(p.grid_rows, c, g), self.V(0, c, g)        # wrap_v

    def _tile_node(self, r, c):
        t = self.p.tile_at(r, c)
        return None if t is None else self.t0 + t

    def _pair_node(self, base, r):
        k = self.p.pair_at(r)
        return None if k is None else base + k


def _settle(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, int]:
    """The loop check's settle rounds: (settled, rounds until nothing changed)."""
    settled = np.ones(n, dtype=bool)
    settled[dst] = False            # nodes with an enabled in-edge start unsettled
    rounds = 0
    for _ in range(n):
        blocked = np.zeros(n, dtype=bool)
        blocked[dst[~settled[src]]] = True
        new = ~blocked
        if np.array_equal(new, settled):
            break
        settled = new
        rounds += 1
    return settled, rounds


def _sccs(nodes: set, succ: dict) -> list:
    """Strongly connected components of the subgraph on ``nodes`` (iterative Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(succ.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            n, it = work[-1]
            advanced = False
            for m in it:
                if m not in index:
                    index[m] = low[m] = counter
                    counter += 1
                    stack.append(m)
                    on_stack.add(m)
                    work.append((m, iter(sorted(succ.get(m, ())))))
                    advanced = True
                    break
                if m in on_stack:
                    low[n] = min(low[n], index[m])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[n])
            if low[n] == index[n]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == n:
                        break
                out.append(comp)
    return out


def _cycles(edges, unsettled: set) -> list:
    """One cycle (a node list) per strongly connected group of the unsettled nodes (the nodes
    downstream of a cycle are unsettled too, but lie on none)."""
    succ: dict = {}
    for a, b, s in edges:
        if a in unsettled and b in unsettled:
            succ.setdefault(a, []).append(b)
    cycles = []
    for comp in _sccs(unsettled, succ):
        members = set(comp)
        if len(comp) == 1 and comp[0] not in succ.get(comp[0], ()):
            continue
        start = min(comp)
        # shortest cycle through ``start`` inside the component: breadth-first back to it
        parent = {start: None}
        frontier, found = [start], None
        while found is None:
            nxt = []
            for n in frontier:
                for m in sorted(succ.get(n, ())):
                    if m == start and found is None:
                        found = n
                    elif m in members and m not in parent:
                        parent[m] = n
                        nxt.append(m)
            frontier = nxt
        cyc = []
        n = found
        while n is not None:
            cyc.append(n)
            n = parent[n]
        cycles.append(cyc[::-1])
    return sorted(cycles)


def _cycle_reason(graph, edges, cyc) -> str:
    return "cycle " + " -> ".join(graph.name(n) for n in cyc + cyc[:1])


def _lanes_mode(params: ChipParams, lanes_mode) -> list:
    if lanes_mode is None:
        return [True] * params.tiles
    modes = list(lanes_mode)
    if len(modes) != params.tiles:
        raise ValueError(f"lanes_mode must have one entry per tile ({params.tiles}), not "
                         f"{len(modes)}")
    out = []
    for t, m in enumerate(modes):
        if isinstance(m, InputSource):
            out.append(m == InputSource.LANES)
        elif isinstance(m, (bool, np.bool_)):
            out.append(bool(m))
        else:
            raise TypeError(f"lanes_mode[{t}] must be a bool or an InputSource, not {m!r}")
    return out


def check(routing: Routing, params: ChipParams | None = None, lanes_mode=None) -> CheckResult:
    """The legality rules of docs/chip.md section 3 (what a ``ROUTE_CMD`` commit computes).

    ``lanes_mode[t]``: whether tile t's ``CTRL.input_source`` is LANES (a bool or an
    ``InputSource`` per tile; None: every tile is). Returns a :class:`CheckResult`.
    """
    if not isinstance(routing, Routing):
        raise TypeError(f"routing must be a Routing, not {routing!r}")
    p = routing.params if params is None else params
    if p != routing.params:
        raise ValueError("routing was built for other ChipParams than params")
    lanes = _lanes_mode(p, lanes_mode)
    graph = _Graph(routing)
    bad_value = tuple(why for s in routing.switches()
                      if (why := switch_exists(p, s)) is not None)
    edges = [(a, b, s) for a, b, s in graph.edges if a is not None and b is not None]

    # conflicts: more than one driver of a segment group or a tile input group
    drivers: dict = {}
    for a, b, s in edges:
        if graph.is_segment(b):
            drivers.setdefault((b, None), []).append(s)
        elif graph.t0 <= b < graph.i0:
            drivers.setdefault((b, s.group), []).append(s)
    conflict = []
    for (node, g), ss in sorted(drivers.items()):
        if len(ss) > 1:
            what = graph.name(node) + ("" if g is None else f" input group {g}")
            conflict.append(f"{what} has {len(ss)} drivers: {', '.join(map(str, ss))}")

    # dead ends: a driven segment group that no enabled switch reads
    read = {a for a, b, s in edges}
    dead_end = [f"{graph.name(node)} is driven ({', '.join(map(str, ss))}) and read by nothing"
                for (node, g), ss in sorted(drivers.items())
                if g is None and node not in read]

    # a take into a tile whose input source is not LANES
    not_lanes = []
    for a, b, s in edges:
        if s.name in ("take_w", "take_s") and not lanes[b - graph.t0]:
            not_lanes.append(f"{_tile_name(p, b - graph.t0)} takes group {s.group} ({s}) but "
                             f"its CTRL.input_source is not LANES")

    # loops: the settle rounds
    src = np.array([a for a, b, s in edges], dtype=np.int64)
    dst = np.array([b for a, b, s in edges], dtype=np.int64)
    settled, rounds = _settle(graph.n, src, dst)
    loop = [_cycle_reason(graph, edges, cyc) for cyc in
            _cycles(edges, set(np.flatnonzero(~settled).tolist()))]

    reach = _reach(graph, edges)
    sources = None if (conflict or loop) else _resolve(graph, edges)
    return CheckResult(conflict=tuple(conflict), loop=tuple(loop), not_lanes=tuple(not_lanes),
                       dead_end=tuple(dead_end), bad_value=bad_value, reach=reach,
                       cycles=p.check_cycles, rounds=rounds, sources=sources)


def _reach(graph: _Graph, edges) -> tuple:
    succ: dict = {}
    for a, b, s in edges:
        succ.setdefault(a, []).append(b)
    out = []
    for k in range(graph.p.pairs):
        start = graph.i0 + k
        seen = {start}
        frontier = [start]
        while frontier:
            n = frontier.pop()
            for m in succ.get(n, ()):
                if m not in seen:
                    seen.add(m)
                    frontier.append(m)
        out.append(Reach(
            tiles=frozenset(n - graph.t0 for n in seen if graph.t0 <= n < graph.i0),
            olps=frozenset(n - graph.o0 for n in seen if graph.o0 <= n < graph.n)))
    return tuple(out)


def _resolve(graph: _Graph, edges) -> Sources:
    """Trace every tile input group and OLP group back to its source (no conflicts, no loops:
    every node has at most one driver per group and the trace ends)."""
    p = graph.p
    driver = {}                 # segment node -> (source node, switch)
    take = {}                   # (tile node or OLP node, group) -> (segment node, switch)
    for a, b, s in edges:
        if graph.is_segment(b):
            driver[b] = (a, s)
        else:
            take[(b, s.group)] = (a, s)

    def feed(seg: int) -> Feed | None:
        wraps = 0
        node = seg
        while True:
            if node not in driver:
                return None
            a, s = driver[node]
            wraps += s.name in ("wrap_h", "wrap_v")
            if graph.is_segment(a):
                node = a
                continue
            if graph.t0 <= a < graph.i0:
                return Feed(Endpoint("tile", a - graph.t0), wraps)
            return Feed(Endpoint("ilp", a - graph.i0), wraps)

    tile_inputs = []
    for t in range(p.tiles):
        row = []
        for g in range(p.groups):
            hit = take.get((graph.t0 + t, g))
            row.append(None if hit is None else feed(hit[0]))
        tile_inputs.append(tuple(row))
    olp_inputs = []
    for k in range(p.pairs):
        row = []
        for g in range(p.groups):
            hit = take.get((graph.o0 + k, g))
            row.append(None if hit is None else feed(hit[0]))
        olp_inputs.append(tuple(row))
    return Sources(tuple(tile_inputs), tuple(olp_inputs))


def resolve(routing: Routing, lanes_mode=None) -> Sources:
    """The feeds of every tile input group and OLP group of a legal routing; an illegal one
    raises :class:`RoutingError` naming every broken rule."""
    result = check(routing, lanes_mode=lanes_mode)
    if not result.ok:
        raise RoutingError(result)
    return result.sources


def random_routing(rng, params: ChipParams, lanes_tiles=None, *, attempts: int = 1000):
    """A random legal routing of ``params``' chip for tests and benches: for a random set of
    pairs, a chain of one to three tiles, a multicast from the ILP (to two tiles, or a tile and
    the pair's own OLP) or two tiles whose outputs are concatenated onto a third (when the
    mesh has at least two lane groups), each ending at a random OLP, hops on random ``drive``
    sides. Only routings that :func:`check` accepts with ``lanes_tiles`` (the tiles in LANES
    mode; default all) and in which every used pair reaches an OLP are returned. Returns
    (routing, description): one "kind: route" per used pair, joined by "; "."""
    if not isinstance(params, ChipParams):
        raise TypeError(f"params must be a ChipParams, not {params!r}")
    p = params
    lanes_tiles = list(range(p.tiles)) if lanes_tiles is None else sorted(set(lanes_tiles))
    for i, t in enumerate(lanes_tiles):
        _check_int(f"lanes_tiles[{i}]", t, 0, p.tiles - 1)
    if not lanes_tiles:
        raise ValueError("lanes_tiles must name at least one tile")
    lanes_mode = [t in lanes_tiles for t in range(p.tiles)]
    kinds = ["chain", "multicast"] + (["concatenation"] if p.groups >= 2 and
                                      len(lanes_tiles) >= 3 else [])

    def drive():
        return [None, "e", "n"][int(rng.integers(0, 3))]

    for _ in range(attempts):
        r = Routing.empty(p)
        used = [int(k) for k in rng.permutation(p.pairs)[:int(rng.integers(1, p.pairs + 1))]]
        what = []
        try:
            for k in used:
                kind = kinds[int(rng.integers(0, len(kinds)))]
                picks = [int(t) for t in rng.permutation(lanes_tiles)]
                out = olp(int(rng.integers(0, p.pairs)))
                if kind == "chain":
                    hops = picks[:int(rng.integers(1, min(3, len(picks)) + 1))]
                    r.connect(ilp(k), tile(hops[0]))
                    for a, b in zip(hops, hops[1:]):
                        r.connect(tile(a), tile(b), drive=drive())
                    r.connect(tile(hops[-1]), out, drive=drive())
                    tiles = " -> ".join(f"tile {t}" for t in hops)
                    what.append(f"chain: ILP {k} -> {tiles} -> {out}")
                elif kind == "multicast":
                    if len(picks) >= 2 and rng.random() < 0.5:
                        a, b = picks[:2]
                        r.multicast(ilp(k), [tile(a), tile(b)])
                        r.connect(tile(a), out, drive=drive())
                        r.connect(tile(b), olp(int(rng.integers(0, p.pairs))), drive=drive())
                        what.append(f"multicast: ILP {k} -> tiles {a}, {b} -> OLPs")
                    else:
                        a = picks[0]
                        r.multicast(ilp(k), [tile(a), olp(k)])
                        r.connect(tile(a), out, drive=drive())
                        what.append(f"multicast: ILP {k} -> tile {a} and OLP {k}, "
                                    f"tile {a} -> {out}")
                else:
                    a, b, c = picks[:3]
                    r.multicast(ilp(k), [tile(a), tile(b)])
                    half = int(rng.integers(1, p.groups))
                    r.concatenate(tile(c), [(tile(a), list(range(half)), drive()),
                                            (tile(b), list(range(half, p.groups)), drive())])
                    r.connect(tile(c), out, drive=drive())
                    what.append(f"concatenation: ILP {k} -> tiles {a}, {b} -> onto tile {c} "
                                f"(groups [0, {half}) and [{half}, {p.groups})) -> {out}")
        except ValueError:
            continue
        result = check(r, lanes_mode=lanes_mode)
        if result.ok and all(result.reach[k].olps for k in used):
            return r, "; ".join(what)
    raise RuntimeError(f"no legal routing found in {attempts} attempts")
