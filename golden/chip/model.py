"""The chip: golden tiles on the mesh, with the functional result and the cycle of every event
of a pass (docs/chip.md section 4).

:class:`Chip` holds the tiles (``golden.tile.Tile``, created with zero codes on first use),
each tile's ``TileConfig``, each pair's input mode and the active :class:`Routing`.
:meth:`Chip.run_stream` plays a sequence of input beats offered back to back on the input
stream and returns every ILP handshake, every tile MVM (its phases, its emission window and its
numbers) and every OLP output with its cycle; :meth:`Chip.run` is one beat and
:meth:`Chip.run_batch` many vectors of one pair, vectorized.

How a pass is computed. The timing does not depend on the data (every window has a fixed
length), so a discrete-event simulation of the windows comes first:

- ILP k's handshake on cycle t0 puts its window on the mesh on cycles [t0 + 1, t0 + D + 1]; a
  tile's MVM puts its emission window (its EMIT phase) on the mesh;
- a destination (a tile's input, an OLP) sees each of its taken groups' windows ``wraps + 1``
  cycles later (the wrap registers on the way, its landing register); its window is the OR of
  them, cut into maximal intervals of consecutive high cycles;
- a tile admits an interval that opens while it is IDLE: INTEGRATE lasts the interval, then
  EVALUATE, CONVERT, EMIT and OUTPUT follow (``golden.timing.mvm_timing`` with
  ``integrate_ticks`` = the interval's length); an interval that opens while it is busy is a
  ``LANE_COLLISION`` and is ignored as a whole;
- an OLP's words are valid on the cycle after its interval closes; each cycle on which the host
  is ready the output stream takes the valid OLP of the lowest pair index; an OLP is idle again
  on the cycle after its words were taken;
- the head beat of the input stream is taken on the first cycle on or after its offer on which
  its ILP is idle and every tile and OLP of its reach is idle; the next beat is offered on the
  following cycle (or, with ``gaps``, that many cycles later).

Then every MVM is evaluated in the order its window closed: each lane counts the high ticks of
every pulse inside the admitted interval (saturating at ``2^in_bits - 1``: ``LANE_OVERRANGE``),
its polarity is the one of its last high tick, lanes of untaken groups count 0, and
``golden.crossbar.integrate`` (read noise keyed by the tile's ``MVM_COUNT``) and
``golden.ramp.Conversion`` give the charges and the output words, as in ``golden.tile``.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import crossbar, ilp as gilp
from ..noise import read_noise
from ..ramp import Conversion
from ..spec import ErrorBit, InputMode, InputSource, Phase, TileConfig, _check_int
from ..tile import Tile
from ..timing import Timing, mvm_timing
from .params import ChipParams
from .regs import ChipErrorBit
from .routing import CheckResult, Endpoint, Reach, Routing, RoutingError, check

__all__ = ["Chip", "Window", "IlpEvent", "Arrival", "TileRun", "Collision", "OlpOutput", "BadDest",
           "StreamResult", "BatchResult"]

MASK32 = (1 << 32) - 1
_OPEN = 1 << 62         # busy_until of a tile whose admitted window is still open


class Window(NamedTuple):
    """Cycles ``first`` .. ``last`` (inclusive)."""
    first: int
    last: int

    @property
    def cycles(self) -> int:
        return self.last - self.first + 1

    def shifted(self, by: int) -> "Window":
        return Window(self.first + by, self.last + by)


@dataclass(frozen=True)
class IlpEvent:
    """An input beat taken by ILP ``pair``: offered on ``offered``, handshake on ``cycle``, its
    pulse window on the mesh on ``window`` (D + 1 cycles from the cycle after the handshake)."""
    beat: int
    pair: int
    offered: int
    cycle: int
    window: Window


@dataclass(frozen=True)
class Arrival:
    """One window a destination counted: lane group ``group`` from ``source`` (ILP k or tile
    t), from input beats ``beats``, landed on ``landed``."""
    group: int
    source: Endpoint
    beats: tuple
    landed: Window


@dataclass(eq=False)
class TileRun:
    """One MVM of a tile in the chip.

    ``window`` is the landed window the tile integrated (its INTEGRATE phase); ``phases`` maps
    INTEGRATE, EVALUATE, CONVERT, EMIT and OUTPUT to their cycles; ``emission`` is the window
    the tile drives onto the mesh (its EMIT phase); ``timing`` is
    ``golden.timing.mvm_timing(..., integrate_ticks=window.cycles)`` (``timing.latency`` is the
    tile's LAST_LATENCY). ``mvm_index``: the tile's MVM_COUNT that keyed the read noise.
    The arrays have the leading batch shape of the run (none for a stream, ``(B,)`` for a
    batch): ``durations`` and ``signs`` the counted lanes, ``charge``, ``charge_sat``, ``z``,
    ``y`` as in ``golden.tile.MvmResult``; ``cap_sat``, ``out_sat``, ``lane_overrange`` per
    vector.
    """
    tile: int
    ordinal: int
    window: Window
    phases: dict
    emission: Window
    timing: Timing
    arrivals: tuple
    beats: tuple
    mvm_index: object = None
    durations: np.ndarray | None = None
    signs: np.ndarray | None = None
    charge: np.ndarray | None = None
    charge_sat: np.ndarray | None = None
    z: np.ndarray | None = None
    y: np.ndarray | None = None
    cap_sat: object = None
    out_sat: object = None
    lane_overrange: object = None


@dataclass(frozen=True)
class Collision:
    """A window that opened on tile ``tile`` while it was busy (``LANE_COLLISION``): ignored."""
    tile: int
    window: Window
    arrivals: tuple


@dataclass(eq=False)
class OlpOutput:
    """Words of OLP ``pair``: counted over ``window`` (landed), valid from ``valid``, taken by
    the output stream on ``cycle`` (TID = ``pair``). ``lost``: overwritten by a later window
    of the same OLP before the stream took them (``cycle`` is then None)."""
    pair: int
    window: Window
    valid: int
    arrivals: tuple
    beats: tuple
    cycle: int | None = None
    lost: bool = False
    words: np.ndarray | None = None
    overrange: object = None


@dataclass(frozen=True)
class BadDest:
    """A beat for a pair that does not exist: consumed on ``cycle``, ``BAD_DEST``."""
    beat: int
    pair: int
    cycle: int


@dataclass(eq=False)
class StreamResult:
    """Everything a sequence of beats did, cycles counted from the first beat's offer (0).

    ``ilp``: the handshakes in beat order; ``runs``: every tile MVM in the order its window
    closed; ``outputs``: every OLP output in the order the output stream took it; ``lost``:
    OLP words overwritten before being taken; ``collisions``; ``bad_dest``; ``tile_errors``
    (tile -> ``ErrorBit`` mask) and ``chip_error`` (``ChipErrorBit`` mask) raised by these
    beats; ``cycles``: the cycle after the last event (every block idle again).
    """
    ilp: list
    runs: list
    outputs: list
    lost: list
    collisions: list
    bad_dest: list
    tile_errors: dict
    chip_error: int
    cycles: int

    def words(self, pair: int) -> np.ndarray:
        """OLP ``pair``'s outputs in the order they were taken: ``(n, *batch, lanes)``."""
        out = [o.words for o in self.outputs if o.pair == pair]
        if not out:
            raise KeyError(f"OLP {pair} produced no output")
        return np.stack(out)

    def tile_runs(self, tile: int) -> list:
        return [r for r in self.runs if r.tile == tile]


@dataclass(eq=False)
class BatchResult:
    """Vectors ``xs`` of one pair offered back to back.

    ``first`` is the first pass (its events and cycles; its arrays hold the whole batch: every
    vector's pass has the same events, ``period`` cycles after the previous one's).
    ``handshakes[i]`` is vector i's handshake cycle.
    """
    first: StreamResult
    period: int
    handshakes: np.ndarray

    def words(self, pair: int, n: int = 0) -> np.ndarray:
        """The n-th output of OLP ``pair`` in every pass: ``(B, lanes)``."""
        outs = [o for o in self.first.outputs if o.pair == pair]
        if len(outs) <= n:
            raise KeyError(f"OLP {pair} has {len(outs)} output(s) per pass, not {n + 1}")
        return outs[n].words

    def output_cycles(self, pair: int, n: int = 0) -> np.ndarray:
        outs = [o for o in self.first.outputs if o.pair == pair]
        if len(outs) <= n:
            raise KeyError(f"OLP {pair} has {len(outs)} output(s) per pass, not {n + 1}")
        return outs[n].cycle + self.handshakes - self.handshakes[0]


# -- the event simulation --------------------------------------------------------------------

_LAND, _CLOSE, _ARB, _ADMIT = range(4)


class _Source:
    """A window on the mesh: ``endpoint``'s output, cycles ``first``..``last``."""
    __slots__ = ("endpoint", "first", "last", "ref", "beats")

    def __init__(self, endpoint, first, last, ref, beats):
        self.endpoint, self.first, self.last, self.ref, self.beats = (
            endpoint, first, last, ref, beats)


class _Dest:
    __slots__ = ("endpoint", "open", "first", "last", "members", "admitted", "busy_until",
                 "pending", "holding_until", "runs")

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.open = False
        self.first = self.last = -1
        self.members = []
        self.admitted = False
        self.busy_until = -1        # tiles: last busy cycle (_OPEN while integrating)
        self.pending = None         # OLPs: the OlpOutput waiting for the stream
        self.holding_until = -1     # OLPs: the cycle its last words were taken
        self.runs = 0


class _Schedule:
    """The windows of a sequence of beats: who integrates what, when (no data)."""

    def __init__(self, chip: "Chip", pairs: list, gaps=None, stalls=frozenset()):
        self.chip = chip
        self.gaps = list(gaps) if gaps is not None else [0] * len(pairs)
        self.stalls = stalls
        p = chip.params
        tp = p.tile
        self.E = tp.evaluate_cycles
        self.O = tp.out_max
        sources = chip.check_result.sources
        self.readers = {}
        for dest, g, feed in sources.feeds():
            self.readers.setdefault(feed.source, []).append((dest, g, feed.wraps))
        self.dests = {}
        for t in range(p.tiles):
            self.dests[Endpoint("tile", t)] = _Dest(Endpoint("tile", t))
        for k in range(p.pairs):
            self.dests[Endpoint("olp", k)] = _Dest(Endpoint("olp", k))
        self.reach = chip.check_result.reach
        self.ilp_until = [-1] * p.pairs
        self.heap = []
        self.seq = 0
        self.ilp, self.runs, self.outputs, self.lost = [], [], [], []
        self.collisions, self.bad_dest = [], []
        self.last_arb = None
        self.last_cycle = 0
        self._simulate(pairs)

    def _push(self, t, kind, data):
        heapq.heappush(self.heap, (t, kind, self.seq, data))
        self.seq += 1

    def _emit(self, src: _Source):
        for dest, g, wraps in self.readers.get(src.endpoint, ()):
            self._push(src.first + wraps + 1, _LAND, (self.dests[dest], g, src))

    def _simulate(self, pairs):
        self.pairs = pairs
        self.offered = self.gaps[0] if pairs else 0    # the cycle the head beat was offered on
        if pairs:
            self._push(self.offered, _ADMIT, 0)
        while self.heap:
            t, kind, _, data = heapq.heappop(self.heap)
            self.last_cycle = max(self.last_cycle, t)
            if kind == _LAND:
                self._land(t, *data)
            elif kind == _CLOSE:
                self._close(t, data)
            elif kind == _ARB:
                self._arbitrate(t)
            else:
                self._admit(t, data)

    def _admit(self, t, beat):
        """The head beat ``beat`` on cycle t: taken, consumed (no such pair) or held."""
        p = self.chip.params
        pair = self.pairs[beat]
        if pair >= p.pairs:
            self.bad_dest.append(BadDest(beat, pair, t))
        else:
            retry = self._blocked(pair, t)
            if retry is not None:
                self._push(retry, _ADMIT, beat)
                return
            D = p.tile.input_duration_max(self.chip.pair_mode(pair))
            self.ilp.append(IlpEvent(beat, pair, self.offered, t, Window(t + 1, t + D + 1)))
            self.ilp_until[pair] = t + D + 1
            self._emit(_Source(Endpoint("ilp", pair), t + 1, t + D + 1, ("beat", beat), (beat,)))
        if beat + 1 < len(self.pairs):
            self.offered = t + 1 + self.gaps[beat + 1]
            self._push(self.offered, _ADMIT, beat + 1)

    def _land(self, t, dest: _Dest, g, src: _Source):
        first, last = t, t + src.last - src.first
        member = Arrival(g, src.endpoint, src.beats, Window(first, last))
        if dest.open and first <= dest.last + 1:
            dest.members.append((member, src))
            if last > dest.last:
                dest.last = last
                self._push(last + 1, _CLOSE, dest)
            return
        assert not dest.open, "a window landed after its destination's close was missed"
        dest.open = True
        dest.first, dest.last = first, last
        dest.members = [(member, src)]
        self._push(last + 1, _CLOSE, dest)
        if dest.endpoint.kind == "tile":
            dest.admitted = first > dest.busy_until
            if dest.admitted:
                dest.busy_until = _OPEN

    def _close(self, t, dest: _Dest):
        if not dest.open or dest.last + 1 != t:
            return                  # stale: the window was extended
        dest.open = False
        window = Window(dest.first, dest.last)
        arrivals = tuple(m for m, _ in dest.members)
        beats = tuple(sorted({b for m in arrivals for b in m.beats}))
        if dest.endpoint.kind == "olp":
            out = OlpOutput(dest.endpoint.index, window, t, arrivals, beats)
            out._sources = [s for _, s in dest.members]
            if dest.pending is not None:
                dest.pending.lost = True
                self.lost.append(dest.pending)
            dest.pending = out
            self._push(t, _ARB, None)
            return
        t_idx = dest.endpoint.index
        if not dest.admitted:
            self.collisions.append(Collision(t_idx, window, arrivals))
            return
        cfg = self.chip.config(t_idx)
        timing = mvm_timing(self.chip.params.tile, cfg, integrate_ticks=window.cycles)
        phases, start = {}, window.first
        for ph in (Phase.INTEGRATE, Phase.EVALUATE, Phase.CONVERT, Phase.EMIT, Phase.OUTPUT):
            phases[ph] = Window(start, start + timing.cycles[ph] - 1)
            start += timing.cycles[ph]
        assert phases[Phase.EVALUATE].first == t
        run = TileRun(t_idx, dest.runs, window, phases, phases[Phase.EMIT], timing, arrivals,
                      beats)
        run._sources = [s for _, s in dest.members]
        dest.runs += 1
        dest.busy_until = phases[Phase.OUTPUT].last
        self.runs.append(run)
        self.last_cycle = max(self.last_cycle, dest.busy_until)
        em = phases[Phase.EMIT]
        self._emit(_Source(dest.endpoint, em.first, em.last, ("run", run), beats))

    def _arbitrate(self, t):
        if self.last_arb == t:
            return
        self.last_arb = t
        waiting = [d for d in self.dests.values() if d.pending is not None]
        if not waiting:
            return
        if t in self.stalls:        # the host is not ready: the words wait
            self._push(t + 1, _ARB, None)
            return
        first = min(waiting, key=lambda d: d.endpoint.index)
        out = first.pending
        out.cycle = t
        first.pending = None
        first.holding_until = t
        self.outputs.append(out)
        if len(waiting) > 1:
            self._push(t + 1, _ARB, None)

    def _blocked(self, pair: int, t: int) -> int | None:
        """None if ILP ``pair`` may take a vector on cycle t, else a cycle to try again (no
        earlier cycle can be admissible)."""
        lb = t
        if self.ilp_until[pair] >= t:
            lb = max(lb, self.ilp_until[pair] + 1)
        reach: Reach = self.reach[pair]
        for i in reach.tiles:
            d = self.dests[Endpoint("tile", i)]
            if d.open and d.admitted:
                # busy at least until the OUTPUT of the window as known so far
                lb = max(lb, d.last + self.E + self.O + 4)
            elif d.busy_until >= t:
                lb = max(lb, d.busy_until + 1)
        for k in reach.olps:
            d = self.dests[Endpoint("olp", k)]
            if d.open:
                lb = max(lb, d.last + 2)
            if d.pending is not None:
                lb = max(lb, t + 1)
            if d.holding_until >= t:
                lb = max(lb, d.holding_until + 1)
        return None if lb == t else lb


# -- the chip --------------------------------------------------------------------------------

#: Longest idle gap before a beat, and last stalled cycle, that a stream may ask for.
TRAFFIC_CYCLES_MAX = (1 << 24) - 1


def _check_traffic(n: int, gaps, stalls):
    """``gaps`` (None or one count per beat) and ``stalls`` (cycles) checked and normalized."""
    if gaps is None:
        gaps = [0] * n
    else:
        gaps = list(gaps)
        if len(gaps) != n:
            raise ValueError(f"gaps must have one entry per beat ({n}), not {len(gaps)}")
        for i, g in enumerate(gaps):
            _check_int(f"gaps[{i}]", g, 0, TRAFFIC_CYCLES_MAX)
        gaps = [int(g) for g in gaps]
    if isinstance(stalls, (str, bytes)) or not hasattr(stalls, "__iter__"):
        raise TypeError(f"stalls must be a collection of cycles, not {stalls!r}")
    stalls = list(stalls)
    for i, c in enumerate(stalls):
        _check_int(f"stalls[{i}]", c, 0, TRAFFIC_CYCLES_MAX)
    return gaps, frozenset(int(c) for c in stalls)


def _as_config(config, params) -> TileConfig:
    if not isinstance(config, TileConfig):
        raise TypeError(f"config must be a TileConfig, not {config!r}")
    config.resolved(params)         # validates
    return config


class Chip:
    """Golden model of the chip (docs/chip.md).

    ``tiles``: optional sequence of ``golden.tile.Tile`` (``params.tile``), one per tile, or
    None entries (a tile is created with zero codes on first use); ``configs``: one
    ``TileConfig`` per tile (default: the reset configuration with ``input_source`` LANES);
    ``pair_modes``: one ``InputMode`` per pair (default UNSIGNED); ``routing``: the active
    routing (default: every switch off). The routing must be legal (:meth:`set_routing`).
    ``mvm_count[t]`` is tile t's MVM_COUNT (it keys the read noise); ``tile_errors[t]`` its
    sticky ERROR events of the mesh (CAP_SAT, OUT_SAT, LANE_OVERRANGE, LANE_COLLISION) and
    ``chip_error`` the chip's (BAD_DEST, OLP_OVERRANGE).
    """

    def __init__(self, params: ChipParams | None = None, *, tiles=None, configs=None,
                 pair_modes=None, routing: Routing | None = None):
        p = ChipParams() if params is None else params
        if not isinstance(p, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {p!r}")
        self.params = p
        self._tiles = [None] * p.tiles
        if tiles is not None:
            tiles = list(tiles)
            if len(tiles) != p.tiles:
                raise ValueError(f"tiles must have one entry per tile ({p.tiles}), not "
                                 f"{len(tiles)}")
            for t, obj in enumerate(tiles):
                if obj is None:
                    continue
                if not isinstance(obj, Tile) or obj.params != p.tile:
                    raise TypeError(f"tiles[{t}] must be a golden Tile of params.tile, not "
                                    f"{obj!r}")
                self._tiles[t] = obj
        if configs is None:
            self._configs = [TileConfig(input_source=InputSource.LANES) for _ in range(p.tiles)]
        else:
            configs = list(configs)
            if len(configs) != p.tiles:
                raise ValueError(f"configs must have one entry per tile ({p.tiles}), not "
                                 f"{len(configs)}")
            self._configs = [_as_config(c, p.tile) for c in configs]
        self._pair_modes = [InputMode.UNSIGNED] * p.pairs
        if pair_modes is not None:
            modes = list(pair_modes)
            if len(modes) != p.pairs:
                raise ValueError(f"pair_modes must have one entry per pair ({p.pairs}), not "
                                 f"{len(modes)}")
            for k, m in enumerate(modes):
                self.set_pair_mode(k, m)
        self.mvm_count = np.zeros(p.tiles, dtype=np.int64)
        self.tile_errors = np.zeros(p.tiles, dtype=np.int64)
        self.chip_error = 0
        self._routing = Routing.empty(p)
        self._check = check(self._routing, lanes_mode=self.lanes_mode())
        if routing is not None:
            self.set_routing(routing)

    @classmethod
    def from_registers(cls, regs, tiles=None) -> "Chip":
        """A chip whose configuration is that of a ``ChipRegisterFile``: its tiles' config
        registers, its PAIR_CTRL and its active routing."""
        from .regs import ChipRegisterFile
        if not isinstance(regs, ChipRegisterFile):
            raise TypeError(f"regs must be a ChipRegisterFile, not {regs!r}")
        chip = cls(regs.p, tiles=tiles, configs=regs.tile_configs(),
                   pair_modes=regs.pair_modes())
        chip.set_routing(regs.active)
        return chip

    # -- configuration ------------------------------------------------------------------------
    def tile(self, t: int) -> Tile:
        """Tile t's golden ``Tile`` (created with zero codes on first use)."""
        _check_int("tile", t, 0, self.params.tiles - 1)
        if self._tiles[t] is None:
            self._tiles[t] = Tile(self.params.tile)
        return self._tiles[t]

    def program(self, t: int, codes) -> None:
        """Write tile t's conductance codes ``(rows, cols, devices_per_weight)``."""
        self.tile(t).program(codes)

    def config(self, t: int) -> TileConfig:
        _check_int("tile", t, 0, self.params.tiles - 1)
        return self._configs[t]

    def configure(self, t: int, config: TileConfig) -> None:
        """Set tile t's configuration; taking it off LANES while the routing feeds it raises
        ``RoutingError`` (ROUTE_NOT_LANES)."""
        _check_int("tile", t, 0, self.params.tiles - 1)
        config = _as_config(config, self.params.tile)
        old = self._configs[t]
        self._configs[t] = config
        try:
            self._recheck()
        except RoutingError:
            self._configs[t] = old
            raise

    def lanes_mode(self) -> list:
        return [c.input_source == InputSource.LANES for c in self._configs]

    def pair_mode(self, k: int) -> InputMode:
        _check_int("pair", k, 0, self.params.pairs - 1)
        return self._pair_modes[k]

    def set_pair_mode(self, k: int, mode) -> None:
        _check_int("pair", k, 0, self.params.pairs - 1)
        if isinstance(mode, bool) or mode not in (0, 1):
            raise ValueError(f"pair_modes[{k}] must be an InputMode (UNSIGNED 0, SIGNED 1), "
                             f"not {mode!r}")
        self._pair_modes[k] = InputMode(mode)

    @property
    def routing(self) -> Routing:
        """A copy of the active routing."""
        return self._routing.copy()

    @property
    def check_result(self) -> CheckResult:
        """The check of the active routing (reach, resolved sources)."""
        return self._check

    def set_routing(self, routing: Routing) -> None:
        """Make ``routing`` the active routing; an illegal one raises ``RoutingError`` naming
        every broken rule and keeps the active routing."""
        if not isinstance(routing, Routing):
            raise TypeError(f"routing must be a Routing, not {routing!r}")
        if routing.params != self.params:
            raise ValueError("routing was built for other ChipParams than the chip's")
        result = check(routing, lanes_mode=self.lanes_mode())
        if not result.ok:
            raise RoutingError(result)
        self._routing = routing.copy()
        self._check = result

    def _recheck(self):
        result = check(self._routing, lanes_mode=self.lanes_mode())
        if not result.ok:
            raise RoutingError(result)
        self._check = result

    def reach(self, k: int) -> Reach:
        _check_int("pair", k, 0, self.params.pairs - 1)
        return self._check.reach[k]

    @property
    def tdest_bits(self) -> int:
        """Width of the input stream's TDEST (``ChipParams.tdest_bits``)."""
        return self.params.tdest_bits

    # -- passes -------------------------------------------------------------------------------
    def _check_beat(self, i, pair, x, batch: bool):
        p = self.params
        _check_int(f"beats[{i}] pair" if i is not None else "pair", pair, 0,
                   (1 << self.tdest_bits) - 1)
        arr = np.asarray(x)
        name = "x" if i is None else f"beats[{i}] x"
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array, not dtype {arr.dtype}")
        want = 2 if batch else 1
        if arr.ndim != want or arr.shape[-1] != p.lanes:
            shape = f"(batch, {p.lanes})" if batch else f"({p.lanes},)"
            raise ValueError(f"{name} must have shape {shape}, not {arr.shape}")
        if pair < p.pairs:
            gilp.check_words(arr, self._pair_modes[pair], p.tile, name=name)
        return arr.astype(np.int64)

    def schedule(self, pairs, *, gaps=None, stalls=()) -> StreamResult:
        """The events and cycles of beats for ``pairs`` (pair indices; ``gaps`` and ``stalls``
        as in :meth:`run_stream`) without data: a :class:`StreamResult` whose arrays are
        None."""
        pairs = [int(k) for k in pairs]
        for i, k in enumerate(pairs):
            _check_int(f"pairs[{i}]", k, 0, (1 << self.tdest_bits) - 1)
        gaps, stalls = _check_traffic(len(pairs), gaps, stalls)
        return self._result(_Schedule(self, pairs, gaps, stalls))

    def run(self, pair: int, x) -> StreamResult:
        """One input beat ``x`` (``lanes`` words in pair ``pair``'s input mode) on an idle
        chip: every event of the pass and every OLP output it produced."""
        x = self._check_beat(None, pair, x, batch=False)
        return self._run([pair], [x[None]], squeeze=True)

    def run_stream(self, beats, *, gaps=None, stalls=()) -> StreamResult:
        """Beats ``[(pair, x), ...]`` on the input stream of an idle chip. Beat i is offered
        ``gaps[i]`` cycles after the cycle it could be offered on (cycle 0 for the first beat,
        else the cycle after the previous beat was taken); no ``gaps``: back to back. The host
        is ready for output words on every cycle except those in ``stalls`` (cycles counted
        from 0; words wait in their OLP, and an ILP whose reach holds waiting words takes no
        vector). A beat for a pair that does not exist (but fits TDEST) is consumed in one
        cycle and sets ``BAD_DEST``."""
        beats = list(beats)
        pairs, xs = [], []
        for i, beat in enumerate(beats):
            try:
                pair, x = beat
            except (TypeError, ValueError):
                raise TypeError(f"beats[{i}] must be a (pair, x) pair, not {beat!r}") from None
            xs.append(self._check_beat(i, pair, x, batch=False)[None])
            pairs.append(int(pair))
        gaps, stalls = _check_traffic(len(pairs), gaps, stalls)
        return self._evaluate(_Schedule(self, pairs, gaps, stalls), xs, squeeze=True,
                              stride=None, batch=1)

    def run_batch(self, pair: int, xs) -> BatchResult:
        """Vectors ``xs`` ``(B, lanes)`` of pair ``pair`` offered back to back: the same as
        :meth:`run_stream` of ``[(pair, x) for x in xs]``, computed with one matrix product per
        MVM of the pass."""
        _check_int("pair", pair, 0, self.params.pairs - 1)
        xs = self._check_beat(None, pair, xs, batch=True)
        B = xs.shape[0]
        two = _Schedule(self, [pair, pair])
        period = two.ilp[1].cycle - two.ilp[0].cycle
        sched = _Schedule(self, [pair])
        per_pass = {}
        for run in sched.runs:
            per_pass[run.tile] = per_pass.get(run.tile, 0) + 1
        first = self._evaluate(sched, [xs], squeeze=False, stride=per_pass, batch=B)
        for t, n in per_pass.items():
            self.mvm_count[t] += (B - 1) * n
        return BatchResult(first, period, first.ilp[0].cycle + period * np.arange(B))

    def _run(self, pairs, xs, squeeze):
        sched = _Schedule(self, pairs)
        return self._evaluate(sched, xs, squeeze=squeeze, stride=None, batch=1)

    def _result(self, sched: _Schedule) -> StreamResult:
        tile_errors = {}
        for c in sched.collisions:
            tile_errors[c.tile] = tile_errors.get(c.tile, 0) | 1 << ErrorBit.LANE_COLLISION
        chip_error = (1 << ChipErrorBit.BAD_DEST) if sched.bad_dest else 0
        end = sched.last_cycle + 1
        for out in sched.outputs:
            end = max(end, out.cycle + 1)
        for out in sched.outputs + sched.lost:
            out.__dict__.pop("_sources", None)
        for run in sched.runs:
            run.__dict__.pop("_sources", None)
        return StreamResult(sched.ilp, sched.runs, sched.outputs, sched.lost, sched.collisions,
                            sched.bad_dest, tile_errors, chip_error, end)

    def _evaluate(self, sched: _Schedule, xs, *, squeeze, stride, batch) -> StreamResult:
        """The numbers of every MVM and OLP output of a schedule. ``xs[beat]``: ``(batch,
        lanes)``. ``stride``: per tile, MVMs per pass (a batch: vector i's MVM j of tile t has
        index mvm_count + i * stride[t] + j)."""
        p = self.params
        tp = p.tile
        payload = {}
        for ev in sched.ilp:
            d, s = gilp.encode(xs[ev.beat], self._pair_modes[ev.pair], tp)
            payload[("beat", ev.beat)] = (d, s)
        weights = {}
        dmax = tp.duration_max
        errors = {}
        for run in sched.runs:
            t = run.tile
            d, s = self._gather(run._sources, run.arrivals, batch, payload)
            overrange = np.any(d > dmax, axis=-1)
            d = np.minimum(d, dmax)
            if t not in weights:
                w = self.tile(t).weights
                weights[t] = (w, w.astype(np.float64) if crossbar.float_path_exact(tp) else None)
            w, wf = weights[t]
            cfg = self._configs[t].resolved(tp)
            base = int(self.mvm_count[t]) + run.ordinal
            index = base + (np.arange(batch) * (stride[t] if stride else 1))
            index &= MASK32
            noise = (read_noise(cfg.noise_seed, cfg.noise_sigma, index, tp.cols)
                     if cfg.noise_sigma else None)
            charge, charge_sat, cap_sat = crossbar.integrate(d, s, w, tp, weights_f64=wf,
                                                             noise=noise)
            conv = Conversion.of(cfg, tp)
            z = conv.z(charge_sat)
            y = conv.y(z)
            out_sat = np.any(z > conv.hi, axis=-1)
            payload[("run", id(run))] = (y, np.ones_like(y))
            flags = 0
            for bit, hit in ((ErrorBit.CAP_SAT, cap_sat), (ErrorBit.OUT_SAT, out_sat),
                             (ErrorBit.LANE_OVERRANGE, overrange)):
                if np.any(hit):
                    flags |= 1 << bit
            errors[t] = errors.get(t, 0) | flags
            one = (lambda a: a[0]) if squeeze else (lambda a: a)
            run.mvm_index = int(index[0]) if squeeze else index
            run.durations, run.signs = one(d), one(s)
            run.charge, run.charge_sat, run.z, run.y = (one(charge), one(charge_sat), one(z),
                                                        one(y))
            run.cap_sat, run.out_sat, run.lane_overrange = (one(cap_sat), one(out_sat),
                                                            one(overrange))
        chip_flags = 0
        for out in sched.outputs + sched.lost:
            d, _ = self._gather(out._sources, out.arrivals, batch, payload)
            over = np.any(d > tp.out_max, axis=-1)
            words = np.minimum(d, tp.out_max)
            if np.any(over):
                chip_flags |= 1 << ChipErrorBit.OLP_OVERRANGE
            out.words = words[0] if squeeze else words
            out.overrange = over[0] if squeeze else over
        result = self._result(sched)
        for t, f in errors.items():
            if f:
                result.tile_errors[t] = result.tile_errors.get(t, 0) | f
        result.chip_error |= chip_flags
        for t, f in result.tile_errors.items():
            self.tile_errors[t] |= f
        self.chip_error |= result.chip_error
        for run in sched.runs:
            self.mvm_count[run.tile] += 1
        return result

    def _gather(self, sources, arrivals, batch, payload):
        """Counted durations and polarities ``(batch, lanes)`` of the windows of one interval:
        each lane adds the high ticks of its pulses, its polarity is its last pulse's."""
        p = self.params
        d = np.zeros((batch, p.lanes), dtype=np.int64)
        s = np.ones((batch, p.lanes), dtype=np.int64)
        order = sorted(range(len(arrivals)), key=lambda i: arrivals[i].landed.first)
        for i in order:
            feed, src = arrivals[i], sources[i]
            ref = src.ref
            key = ("run", id(ref[1])) if ref[0] == "run" else ref
            sd, ss = payload[key]
            sl = p.group_slice(feed.group)
            part = sd[:, sl]
            d[:, sl] += part
            s[:, sl] = np.where(part > 0, ss[:, sl], s[:, sl])
        return d, s
