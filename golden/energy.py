"""Energy and latency of the chip's passes (docs/energy.md), float, golden side.

An :class:`Activity` counts the events of one inference, one tile MVM or a whole stream: active
cell-ticks of the integration, column conversions, ILP and OLP words, lane-hops on the mesh,
MVMs, input beats, clock cycles (and of them the integration cycles), powered tiles and chips,
and the multiply-accumulates of the mapped weights. :func:`energy` turns an activity and an
:class:`EnergyParams` into a :class:`Breakdown`: the energy of every component (J), the total,
TOPS/W (analog ops = 2 x MACs over the energy), the latency (s) and inferences/s.

Where the counts come from:

- :func:`activity_from_stream` reads a ``golden.chip.StreamResult`` (what ``Chip.run`` and
  ``Chip.run_stream`` return): every tile MVM's counted lane durations, the emitted words, the
  ILP handshakes and OLP outputs, the phases of every MVM and the stream's cycles;
  :func:`activity_from_batch` a ``golden.chip.BatchResult``;
- :func:`activity_of_mvm` one tile MVM (or a batch of them) from its lane durations: the
  tile-level operating point;
- :func:`route_hops` the hops of every source's lane groups in a routing (docs/energy.md
  section 2: one hop = one mesh segment a lane group is driven onto).

:func:`calibrate` fits two free parameters to the paper's 20.0 TOPS/W tile peak and 12.4 TOPS/W
chip-sustained figures (Ambrogio et al., Nature 620, 2023); :func:`predict_half_integration`
predicts the operating point at half the integration time, which the paper reports as
15.4 TOPS/W (that figure is compared with, never fitted). ``python -m golden.energy`` prints
both.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

from . import ilp as gilp
from .spec import (InputMode, Phase, TileConfig, TileParams, check_enum, check_int,
                   check_params)
from .timing import mvm_timing

__all__ = [
    "EnergyParams", "Activity", "Breakdown", "Calibration", "Prediction", "COMPONENTS",
    "TILE_PEAK_TOPS_W", "CHIP_SUSTAINED_TOPS_W", "HALF_INTEGRATION_TOPS_W", "FREE_DEFAULT",
    "check_float", "energy", "latency", "activity_of_mvm", "activity_from_stream",
    "activity_from_batch", "route_hops", "tile_peak_activity", "sustained_activity",
    "sustained_chip", "scale_integration", "calibrate", "predict_half_integration", "main",
]

#: The paper's published efficiencies (Ambrogio et al., Nature 620, 2023), TOPS/W.
TILE_PEAK_TOPS_W = 20.0
CHIP_SUSTAINED_TOPS_W = 12.4
#: Reported at half the integration time; used only to judge the prediction, never to fit.
HALF_INTEGRATION_TOPS_W = 15.4

#: Energy components of a :class:`Breakdown`, in order.
COMPONENTS = ("integration", "conversion", "controller", "ilp", "olp", "mesh", "digital",
              "static_tiles", "static_chip")


# -- argument checks ----------------------------------------------------------------------------

def check_float(name: str, value, lo=None, hi=None, *, lo_open: bool = False,
                unit: str = "") -> float:
    """``value`` as a ``float``, checked to be a finite real number (a Python or NumPy int or
    float, not a bool) in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``; either bound may be
    None); the error names ``name``, the value and the legal range (and ``unit``)."""
    lo_txt = "" if lo is None else (f"> {lo:g}" if lo_open else f">= {lo:g}")
    hi_txt = "" if hi is None else f"<= {hi:g}"
    legal = " and ".join(t for t in (lo_txt, hi_txt) if t)
    what = f"a finite number{' ' + legal if legal else ''}{' (' + unit + ')' if unit else ''}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {what}, not {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be {what}, not {value!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name} must be {what}, not {value!r}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be {what}, not {value!r}")
    return v


# -- parameters ---------------------------------------------------------------------------------

#: Units of the parameters (error messages, the printed tables).
_UNITS = {
    "t_tick": "s per clock cycle",
    "t_int": "s per integration cycle",
    "e_cell": "J per active cell and integration tick",
    "e_conv": "J per column conversion",
    "e_ctrl": "J per tile MVM",
    "e_ilp": "J per ILP word",
    "e_olp": "J per OLP word",
    "e_hop": "J per lane-hop",
    "e_beat": "J per input beat",
    "p_tile": "W per powered tile",
    "p_chip": "W per chip (periphery)",
}


@dataclass(frozen=True)
class EnergyParams:
    """Per-event energies, static powers and periods (SI units; docs/energy.md section 4).

    The defaults are the calibrated parameters: ``e_cell`` and ``p_chip`` are what
    :func:`calibrate` fits (rounded to 6 significant digits), the others the stated
    assumptions. All energies and powers are >= 0, the periods > 0.

    t_tick : duration of one clock cycle (= one duration LSB of the pulses), s
    t_int : duration of one integration cycle (a cycle on which a tile integrates), s; equal to
        ``t_tick`` at the nominal operating point, ``t_tick / 2`` at half integration time
    e_cell : integration energy of one active cell (its row's input pulse high) for one
        integration tick of length ``t_int``, J
    e_conv : one column's ramp conversion (comparator over the ramp, EN gating, output
        driver), J
    e_ctrl : the local controller's sequencing of one tile MVM, J
    e_ilp, e_olp : one word through an ILP (latch, down-counter) / OLP (counter, falling-edge
        detector, read-out), J
    e_hop : one lane's pulse (both edges) driven across one mesh segment, J
    e_beat : the digital handling of one input beat (stream handshake, TDEST decode,
        admission), J
    p_tile : static power of a powered tile, W
    p_chip : static power of the chip periphery (host interface, mesh control, clocking,
        biasing), W
    """
    t_tick: float = 1.2e-9
    t_int: float = 1.2e-9
    e_cell: float = 3.41552e-16
    e_conv: float = 5.0e-12
    e_ctrl: float = 5.0e-11
    e_ilp: float = 2.0e-12
    e_olp: float = 2.0e-12
    e_hop: float = 2.0e-13
    e_beat: float = 2.0e-11
    p_tile: float = 1.0e-3
    p_chip: float = 1.45327e-1

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("t_"):
                v = check_float(f.name, value, 0.0, lo_open=True, unit=_UNITS[f.name])
            else:
                v = check_float(f.name, value, 0.0, unit=_UNITS[f.name])
            object.__setattr__(self, f.name, v)

    def replace(self, **changes) -> "EnergyParams":
        """A copy with ``changes`` (checked)."""
        names = {f.name for f in dataclasses.fields(self)}
        for k in changes:
            if k not in names:
                raise TypeError(f"EnergyParams has no parameter {k!r}; parameters are "
                                f"{', '.join(sorted(names))}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _check_energy_params(params) -> EnergyParams:
    if params is None:
        return EnergyParams()
    if not isinstance(params, EnergyParams):
        raise TypeError(f"params must be an EnergyParams, not {params!r}")
    return params


def scale_integration(params: EnergyParams, factor: float) -> EnergyParams:
    """``params`` with the integration tick's period scaled by ``factor`` (0.5: half the
    integration time): ``t_int`` and ``e_cell`` both scale by ``factor`` (a cell draws the
    same current for a shorter tick, so a cell-tick costs proportionally less); nothing else
    changes. The static energies follow the latency, which is shorter by ``(1 - factor)`` of
    the integration cycles' time (docs/energy.md section 6)."""
    params = _check_energy_params(params)
    f = check_float("factor", factor, 0.0, lo_open=True)
    return params.replace(t_int=params.t_int * f, e_cell=params.e_cell * f)


# -- activity -----------------------------------------------------------------------------------

_ACTIVITY_DOC = {
    "cell_ticks": "active cell-ticks: sum over MVMs of sum_rows(duration) x columns in use",
    "conversions": "column conversions: sum over MVMs of the columns in use",
    "ilp_words": "words converted by ILPs into pulses",
    "olp_words": "words counted by OLPs and delivered on the output stream",
    "lane_hops": "pulses x mesh segments: every lane pulse counts once per segment it crosses",
    "mvms": "tile MVMs",
    "beats": "input beats taken by an ILP (digital handling per pass)",
    "inferences": "inferences (for inferences/s; no energy of its own)",
    "cycles": "clock cycles from the first offer until every block is idle again",
    "integrate_cycles": "of the cycles, those on which at least one tile integrates",
    "powered_tiles": "tiles powered for the whole latency",
    "chips": "chips whose periphery is powered for the whole latency",
    "macs": "multiply-accumulates of the mapped weights in use (ops = 2 x macs)",
}


@dataclass(frozen=True)
class Activity:
    """Event counts of one inference, one tile MVM or a whole stream (docs/energy.md
    section 2). Every count is a non-negative integer; ``integrate_cycles <= cycles``.

    cell_ticks : active cell-ticks (a cell is active on a tick when its row's pulse is high):
        sum over the MVMs of sum_rows(duration_row) x columns in use
    conversions : column conversions: sum over the MVMs of the columns in use
    ilp_words, olp_words : words through the ILPs / OLPs
    lane_hops : lane pulses x mesh segments crossed (:func:`route_hops`)
    mvms : tile MVMs
    beats : input beats taken (the digital work of a pass)
    inferences : what inferences/s counts (no energy of its own)
    cycles : clock cycles of the activity (the latency in cycles)
    integrate_cycles : the cycles on which at least one tile integrates (their period is
        ``EnergyParams.t_int``, the other cycles' ``t_tick``)
    powered_tiles : tiles powered during the whole latency (static power)
    chips : chips whose periphery is powered during the whole latency (0 for tile-level
        figures)
    macs : multiply-accumulates of the mapped weights in use; ``ops = 2 * macs``
    """
    cell_ticks: int = 0
    conversions: int = 0
    ilp_words: int = 0
    olp_words: int = 0
    lane_hops: int = 0
    mvms: int = 0
    beats: int = 0
    inferences: int = 0
    cycles: int = 0
    integrate_cycles: int = 0
    powered_tiles: int = 0
    chips: int = 0
    macs: int = 0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name,
                               check_int(f"Activity.{f.name}", getattr(self, f.name), 0))
        if self.integrate_cycles > self.cycles:
            raise ValueError(f"Activity.integrate_cycles must be in [0, cycles = {self.cycles}], "
                             f"not {self.integrate_cycles}")

    @property
    def ops(self) -> int:
        """Analog operations: 2 x MACs (a multiply and an add per mapped weight in use)."""
        return 2 * self.macs

    def replace(self, **changes) -> "Activity":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _check_activity(activity) -> Activity:
    if not isinstance(activity, Activity):
        raise TypeError(f"activity must be an Activity, not {activity!r}")
    return activity


# -- energy -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Breakdown:
    """Energy of an :class:`Activity` under :class:`EnergyParams`.

    ``components``: read-only mapping ``COMPONENTS`` name -> J; ``ops``: analog ops
    (2 x MACs); ``latency``: s; ``inferences``: the activity's inferences.
    """
    components: Mapping[str, float]
    ops: int
    latency: float
    inferences: int

    @property
    def total(self) -> float:
        """Total energy, J."""
        return float(sum(self.components.values()))

    @property
    def tops_per_w(self) -> float:
        """Analog ops per joule / 1e12 (TOPS/W = ops / (energy x 1e12)); 0 without ops, inf
        with ops and no energy."""
        if self.ops == 0:
            return 0.0
        return math.inf if self.total == 0 else self.ops / self.total / 1e12

    @property
    def inferences_per_s(self) -> float:
        """Inferences / latency (0 without inferences or without latency)."""
        if self.inferences == 0 or self.latency == 0:
            return 0.0
        return self.inferences / self.latency

    @property
    def energy_per_inference(self) -> float:
        """Total / inferences, J (nan without inferences)."""
        return self.total / self.inferences if self.inferences else math.nan

    def table(self, title: str = "") -> str:
        """The breakdown as a text table (nJ and share per component, then the totals)."""
        tot = self.total
        lines = [title] if title else []
        lines.append(f"{'component':<14}{'energy (nJ)':>14}{'share':>9}")
        for name, e in self.components.items():
            share = 100.0 * e / tot if tot else 0.0
            lines.append(f"{name:<14}{e * 1e9:>14.4f}{share:>8.2f}%")
        lines.append(f"{'total':<14}{tot * 1e9:>14.4f}{100.0 if tot else 0.0:>8.2f}%")
        lines.append(f"ops {self.ops:,}  TOPS/W {self.tops_per_w:.4f}  latency "
                     f"{self.latency * 1e9:.2f} ns  inferences/s {self.inferences_per_s:,.0f}")
        return "\n".join(lines)


def latency(activity: Activity, params: EnergyParams | None = None) -> float:
    """Latency of ``activity`` in s: ``integrate_cycles * t_int + (cycles - integrate_cycles)
    * t_tick``."""
    a = _check_activity(activity)
    p = _check_energy_params(params)
    return a.integrate_cycles * p.t_int + (a.cycles - a.integrate_cycles) * p.t_tick


def energy(activity: Activity, params: EnergyParams | None = None) -> Breakdown:
    """Energy of ``activity`` per component (J), with TOPS/W, latency and inferences/s
    (docs/energy.md section 3). ``params`` None: the calibrated defaults (``EnergyParams()``).
    """
    a = _check_activity(activity)
    p = _check_energy_params(params)
    t = latency(a, p)
    comps = {
        "integration": p.e_cell * a.cell_ticks,
        "conversion": p.e_conv * a.conversions,
        "controller": p.e_ctrl * a.mvms,
        "ilp": p.e_ilp * a.ilp_words,
        "olp": p.e_olp * a.olp_words,
        "mesh": p.e_hop * a.lane_hops,
        "digital": p.e_beat * a.beats,
        "static_tiles": p.p_tile * a.powered_tiles * t,
        "static_chip": p.p_chip * a.chips * t,
    }
    assert tuple(comps) == COMPONENTS
    return Breakdown(MappingProxyType({k: float(v) for k, v in comps.items()}), a.ops, t,
                     a.inferences)


# -- activity of one tile MVM -------------------------------------------------------------------

def activity_of_mvm(params: TileParams, durations, *, cols: int | None = None,
                    macs: int | None = None, mode=InputMode.UNSIGNED,
                    powered_tiles: int = 1) -> Activity:
    """The activity of tile MVMs run on their own (the tile-level operating point).

    ``durations``: the counted lane durations, ``(rows,)`` for one MVM or ``(batch, rows)``,
    integers in ``[0, params.duration_max]``. ``cols``: columns in use (default all);
    ``macs``: MACs per MVM (default ``rows * cols``, every cell of those columns mapped).
    ``mode``: the input mode that sets the INTEGRATE window (D + 1 cycles). The cycles are
    those of back-to-back MVMs of a host-fed tile (``golden.timing.mvm_timing``'s ``period``
    per MVM); ``powered_tiles`` (default 1: the tile's own static power) and no chip
    periphery, no ILP/OLP words, no mesh and no input beats (tile-level energies only).
    """
    check_params(params)
    mode = check_enum("mode", mode, InputMode)
    d = np.asarray(durations)
    if d.dtype.kind not in "iu":
        raise TypeError(f"durations must be an integer array, not dtype {d.dtype}")
    if d.ndim not in (1, 2) or d.shape[-1] != params.rows:
        raise ValueError(f"durations must have shape ({params.rows},) or (batch, "
                         f"{params.rows}), not {d.shape}")
    if d.size and (int(d.min()) < 0 or int(d.max()) > params.duration_max):
        flat = int(np.flatnonzero(((d < 0) | (d > params.duration_max)).ravel())[0])
        idx = ", ".join(str(int(i)) for i in np.unravel_index(flat, d.shape))
        raise ValueError(f"durations[{idx}] = {int(d.ravel()[flat])} is outside "
                         f"[0, {params.duration_max}]")
    cols = params.cols if cols is None else check_int("cols", cols, 0, params.cols)
    macs = params.rows * cols if macs is None else check_int("macs", macs, 0,
                                                             params.rows * cols)
    powered_tiles = check_int("powered_tiles", powered_tiles, 0)
    n = 1 if d.ndim == 1 else d.shape[0]
    timing = mvm_timing(params, TileConfig(input_mode=mode))
    return Activity(
        cell_ticks=int(d.astype(np.int64).sum()) * cols,
        conversions=n * cols,
        mvms=n,
        inferences=n,
        cycles=n * timing.period,
        integrate_cycles=n * timing.cycles[Phase.INTEGRATE],
        powered_tiles=powered_tiles,
        macs=n * macs,
    )


# -- hops of a routing --------------------------------------------------------------------------

def _driver_of(p, s):
    """(segment driven, its source node) of a switch, or None for a take. Segments are
    ``("H", r, c, g)``/``("V", r, c, g)``; source nodes a segment, ``("tile", t)`` or
    ``("ilp", k)`` (docs/chip.md section 2's switch table)."""
    n, r, c, g = s.name, s.row, s.col, s.group
    if n == "pass_e":
        return ("H", r, c + 1, g), ("H", r, c, g)
    if n == "turn_e":
        return ("H", r, c + 1, g), ("V", r, c, g)
    if n == "drive_e":
        return ("H", r, c + 1, g), ("tile", p.tile_at(r, c))
    if n == "pass_n":
        return ("V", r + 1, c, g), ("V", r, c, g)
    if n == "turn_n":
        return ("V", r + 1, c, g), ("H", r, c, g)
    if n == "drive_n":
        return ("V", r + 1, c, g), ("tile", p.tile_at(r, c))
    if n == "ilp_drive":
        return ("H", r, 0, g), ("ilp", p.pair_at(r))
    if n == "wrap_h":
        return ("H", r, 0, g), ("H", r, p.grid_cols, g)
    if n == "wrap_v":
        return ("V", 0, c, g), ("V", p.grid_rows, c, g)
    return None                         # take_w, take_s, olp_take


def route_hops(routing) -> dict:
    """Hops per source lane group of a legal routing: ``{(kind, index, group): hops}`` with
    ``kind`` ``"ilp"`` or ``"tile"``.

    One hop is one mesh segment group the source's group is driven onto: the segment an ILP
    (``ilp_drive``) or a tile (``drive_e``/``drive_n``) drives, and every further segment
    entered through a pass, a turn or a wrap (a wrap register counts as the segment it
    drives). Takes (``take_w``, ``take_s``, ``olp_take``) enter a receiver, not a segment. A
    route of ``golden.chip.routing.path`` with n switches therefore has n - 1 hops; routes of
    one source that share segments (multicast) count the shared segments once, as the pulse
    crosses them once. Sources with no driven segment are absent.
    """
    from .chip.routing import Routing, check
    if not isinstance(routing, Routing):
        raise TypeError(f"routing must be a golden.chip.Routing, not {routing!r}")
    result = check(routing)
    if result.conflict or result.loop:
        raise ValueError("routing must be free of conflicts and loops to count hops: "
                         + "; ".join(result.reasons()))
    p = routing.params
    driver = {}
    for s in routing.switches():
        d = _driver_of(p, s)
        if d is not None:
            driver[d[0]] = d[1]
    hops: dict = {}
    for seg in driver:
        node = seg
        while node in driver:
            node = driver[node]
        key = (node[0], int(node[1]), seg[3])
        hops[key] = hops.get(key, 0) + 1
    return hops


# -- activity of the golden chip ------------------------------------------------------------------

def _mapped_masks(chip, tiles, mapped) -> dict:
    """Per tile: the bool mask (rows, cols) of mapped cells in use."""
    p = chip.params
    tp = p.tile
    out = {}
    if mapped is not None:
        if not isinstance(mapped, Mapping):
            raise TypeError(f"mapped must be a mapping tile -> bool array ({tp.rows}, "
                            f"{tp.cols}), not {mapped!r}")
        for t, m in mapped.items():
            check_int("mapped tile", t, 0, p.tiles - 1)
            arr = np.asarray(m)
            if arr.dtype != np.bool_:
                raise TypeError(f"mapped[{t}] must be a bool array, not dtype {arr.dtype}")
            if arr.shape != (tp.rows, tp.cols):
                raise ValueError(f"mapped[{t}] must have shape ({tp.rows}, {tp.cols}), not "
                                 f"{arr.shape}")
            out[int(t)] = arr
    sources = chip.check_result.sources
    for t in tiles:
        if t in out:
            continue
        mask = np.any(chip.tile(t).codes != 0, axis=-1)
        fed = np.zeros(tp.rows, dtype=bool)
        for g, feed in enumerate(sources.tile_inputs[t]):
            if feed is not None:
                fed[p.group_slice(g)] = True
        out[t] = mask & fed[:, None]
    return out


def _union_cycles(windows) -> int:
    """Cycles covered by a set of inclusive windows."""
    total, end = 0, None
    for first, last in sorted(windows):
        if end is not None and first <= end:
            if last > end:
                total += last - end
                end = last
        else:
            total += last - first + 1
            end = last
    return total


def _pulses_per_group(d: np.ndarray, p) -> np.ndarray:
    """Lanes with a pulse (duration > 0) per lane group, summed over any batch axis."""
    nz = (np.asarray(d) > 0).reshape(-1, p.lanes)
    return nz.reshape(nz.shape[0], p.groups, p.group_lanes).sum(axis=(0, 2))


def _check_chip(chip):
    from .chip import Chip
    if not isinstance(chip, Chip):
        raise TypeError(f"chip must be a golden.chip.Chip, not {chip!r}")
    return chip


def _check_result(chip, result):
    from .chip import StreamResult
    if not isinstance(result, StreamResult):
        raise TypeError(f"result must be a golden.chip.StreamResult, not {result!r}")
    for run in result.runs:
        if run.tile >= chip.params.tiles or run.durations is None:
            raise ValueError("result must be a StreamResult of this chip's run, run_stream or "
                             "run_batch (with data; Chip.schedule has none)")
    return result


def _ilp_durations(chip, result, beats, batch):
    """Per ILP event: its lane durations ``(batch, lanes)``, or None for unknown words."""
    p = chip.params
    if beats is None:
        return [None] * len(result.ilp)
    if isinstance(beats, (str, bytes)) or not hasattr(beats, "__len__"):
        raise TypeError(f"beats must be the sequence of (pair, x) given to the run, not "
                        f"{beats!r}")
    out = []
    for ev in result.ilp:
        if ev.beat >= len(beats):
            raise ValueError(f"beats has {len(beats)} entries, but the result took beat "
                             f"{ev.beat}")
        try:
            pair, x = beats[ev.beat]
        except (TypeError, ValueError):
            raise TypeError(f"beats[{ev.beat}] must be a (pair, x) pair, not "
                            f"{beats[ev.beat]!r}") from None
        if pair != ev.pair:
            raise ValueError(f"beats[{ev.beat}] is for pair {pair}, but the result's beat "
                             f"{ev.beat} was taken by ILP {ev.pair}")
        arr = np.asarray(x)
        if arr.shape[-1:] != (p.lanes,) or (arr.ndim == 2 and arr.shape[0] != batch) \
                or arr.ndim not in (1, 2):
            want = f"({p.lanes},)" if batch == 1 else f"({batch}, {p.lanes})"
            raise ValueError(f"beats[{ev.beat}] x must have shape {want}, not {arr.shape}")
        d, _ = gilp.encode(arr, chip.pair_mode(ev.pair), p.tile)
        out.append(d)
    return out


def _count(chip, result, beats, *, batch, mapped, powered_tiles) -> dict:
    """The counts of one StreamResult (the first pass of a batch: arrays with batch rows)."""
    p = chip.params
    tiles = sorted({run.tile for run in result.runs})
    masks = _mapped_masks(chip, tiles, mapped)
    cols_in_use = {t: int(np.any(m, axis=0).sum()) for t, m in masks.items()}
    macs_per = {t: int(m.sum()) for t, m in masks.items()}
    hops = route_hops(chip.routing)
    hop_vec = {}                        # (kind, index) -> hops per group
    for (kind, idx, g), n in hops.items():
        hop_vec.setdefault((kind, idx), np.zeros(p.groups, dtype=np.int64))[g] = n

    cell_ticks = conversions = macs = lane_hops = 0
    for run in result.runs:
        d = np.asarray(run.durations, dtype=np.int64)
        cell_ticks += int(d.sum()) * cols_in_use[run.tile]
        conversions += batch * cols_in_use[run.tile]
        macs += batch * macs_per[run.tile]
        hv = hop_vec.get(("tile", run.tile))
        if hv is not None:
            lane_hops += int(_pulses_per_group(run.y, p) @ hv)
    for ev, d in zip(result.ilp, _ilp_durations(chip, result, beats, batch)):
        hv = hop_vec.get(("ilp", ev.pair))
        if hv is None:
            continue
        if d is None:       # words unknown: every lane counted as a pulse (an upper bound)
            lane_hops += batch * p.group_lanes * int(hv.sum())
        else:
            lane_hops += int(_pulses_per_group(d, p) @ hv)
    integrate = _union_cycles([tuple(run.phases[Phase.INTEGRATE]) for run in result.runs])
    powered = (len(tiles) if powered_tiles is None
               else check_int("powered_tiles", powered_tiles, 0, p.tiles))
    return dict(cell_ticks=cell_ticks, conversions=conversions, macs=macs, lane_hops=lane_hops,
                ilp_words=batch * p.lanes * len(result.ilp),
                olp_words=batch * p.lanes * (len(result.outputs) + len(result.lost)),
                mvms=batch * len(result.runs), beats=batch * len(result.ilp),
                inferences=batch * len(result.ilp), integrate_cycles=integrate,
                powered_tiles=powered, chips=1)


def activity_from_stream(chip, result, beats=None, *, mapped=None,
                         powered_tiles: int | None = None) -> Activity:
    """The activity of a ``golden.chip.StreamResult`` of ``chip`` (from ``chip.run`` or
    ``chip.run_stream``; ``chip``'s active routing and tile codes must be those of the run).

    - cell-ticks: per MVM, the sum of its counted lane durations (``TileRun.durations``) x
      the tile's columns in use; conversions: per MVM, the columns in use; MACs: per MVM, the
      mapped cells in use;
    - mapped cells in use: ``mapped[t]`` (a bool mask ``(rows, cols)``) if given, else the
      cells of tile t with a nonzero conductance code in a row whose lane group the routing
      feeds; columns in use: the columns with a mapped cell in use;
    - ILP words: ``lanes`` per taken beat; OLP words: ``lanes`` per OLP output (taken or
      lost); input beats and inferences: the taken beats;
    - lane-hops: per source window, the lanes with a pulse in each lane group x the group's
      hops (:func:`route_hops` of ``chip.routing``); a tile's pulses are its output words
      ``y``, an ILP's the durations of ``beats`` (the ``[(pair, x), ...]`` given to the run;
      ``[(pair, x)]`` for ``chip.run(pair, x)``). Without ``beats`` every lane of an ILP's
      driven groups counts as a pulse (an upper bound);
    - cycles: ``result.cycles``; integration cycles: the cycles covered by the MVMs'
      INTEGRATE phases;
    - powered tiles: the tiles that ran an MVM (the others power-gated), unless
      ``powered_tiles`` is given; one chip.
    """
    chip = _check_chip(chip)
    result = _check_result(chip, result)
    counts = _count(chip, result, beats, batch=1, mapped=mapped, powered_tiles=powered_tiles)
    return Activity(cycles=result.cycles, **counts)


def activity_from_batch(chip, batch, xs=None, *, mapped=None,
                        powered_tiles: int | None = None) -> Activity:
    """The activity of a ``golden.chip.BatchResult`` (``chip.run_batch(pair, xs)``): every
    pass has the first pass's events, so the counts are those of :func:`activity_from_stream`
    over the batch's arrays; cycles ``batch.first.cycles + (B - 1) * batch.period`` (the last
    pass ends as the first did, ``(B - 1) * period`` later) and integration cycles B times
    one pass's (passes of one pair do not overlap). ``xs``: the vectors given to
    ``run_batch`` (for the ILP's lane-hops, as ``beats`` in :func:`activity_from_stream`)."""
    from .chip import BatchResult
    chip = _check_chip(chip)
    if not isinstance(batch, BatchResult):
        raise TypeError(f"batch must be a golden.chip.BatchResult, not {batch!r}")
    first = _check_result(chip, batch.first)
    B = int(len(batch.handshakes))
    beats = None
    if xs is not None:
        if not first.ilp:
            raise ValueError("batch took no beat")
        beats = [(first.ilp[0].pair, xs)]
    counts = _count(chip, first, beats, batch=B, mapped=mapped, powered_tiles=powered_tiles)
    counts["integrate_cycles"] *= B
    return Activity(cycles=first.cycles + (B - 1) * int(batch.period), **counts)


# -- calibration workloads ----------------------------------------------------------------------

def tile_peak_activity(params: TileParams | None = None) -> Activity:
    """The tile peak: one full ``rows x cols`` MVM at full input activity (every row's
    duration at ``2^in_bits - 1``, UNSIGNED) on one tile, with the tile's own static power over
    its MVM period and nothing of the chip (docs/energy.md section 5)."""
    tp = TileParams() if params is None else params
    check_params(tp)
    return activity_of_mvm(tp, np.full(tp.rows, tp.duration_max, dtype=np.int64))


def sustained_chip(params=None, beats_per_pair: int = 2):
    """The chip-sustained workload (docs/energy.md section 5): ``(chip, beats)``.

    Every tile of ``params`` (default ``golden.chip.ChipParams()``: 34 tiles of 512 x 512, six
    pairs) holds weight +1 in every cell (G+ code 1, the other codes 0) and converts with
    ``RAMP_SHIFT`` chosen so that a full-activity input gives output words at ``out_max``
    (ReLU): every hidden vector is again at full activity. Pair k's ILP feeds the chain of
    the tiles of its grid row, west to east, which ends at OLP k. The beats: ``beats_per_pair``
    rounds of one vector of ``D`` on every lane per pair, interleaved, back to back."""
    from .chip import Chip, ChipParams, Routing
    from .spec import InputSource
    p = ChipParams() if params is None else params
    if not isinstance(p, ChipParams):
        raise TypeError(f"params must be a golden.chip.ChipParams, not {p!r}")
    n = check_int("beats_per_pair", beats_per_pair, 1, 64)
    tp = p.tile
    codes = np.zeros((tp.rows, tp.cols, tp.devices_per_weight), dtype=np.int64)
    codes[..., 0] = 1
    full = tp.rows * tp.duration_max
    shift = max(0, (full // tp.out_max).bit_length() - 1)       # 2^shift <= full / out_max
    chip = Chip(p)
    cfg = TileConfig(input_source=InputSource.LANES, ramp_shift=min(shift, tp.ramp_shift_max))
    routing = Routing(p)
    for k, row in enumerate(p.pair_rows):
        tiles = [t for c in range(p.grid_cols) if (t := p.tile_at(row, c)) is not None]
        if not tiles:
            continue
        for t in tiles:
            chip.program(t, codes)
            chip.configure(t, cfg)
        routing.chain(k, tiles, olp_pair=k)
    chip.set_routing(routing)
    x = np.full(p.lanes, tp.duration_max, dtype=np.int64)
    beats = [(k, x) for _ in range(n) for k in range(p.pairs)
             if any(p.tile_at(p.pair_rows[k], c) is not None for c in range(p.grid_cols))]
    return chip, beats


@functools.lru_cache(maxsize=4)
def _sustained(params, beats_per_pair) -> Activity:
    chip, beats = sustained_chip(params, beats_per_pair)
    result = chip.run_stream(beats)
    return activity_from_stream(chip, result, beats)


def sustained_activity(params=None, beats_per_pair: int = 2) -> Activity:
    """The activity of :func:`sustained_chip`'s workload run through the golden chip model
    (cached per ``params`` and ``beats_per_pair``)."""
    from .chip import ChipParams
    p = ChipParams() if params is None else params
    if not isinstance(p, ChipParams):
        raise TypeError(f"params must be a golden.chip.ChipParams, not {p!r}")
    return _sustained(p, check_int("beats_per_pair", beats_per_pair, 1, 64))


# -- calibration --------------------------------------------------------------------------------

#: The parameters :func:`calibrate` fits by default: the integration energy (from the tile
#: peak) and the chip periphery's static power (from the chip-sustained point).
FREE_DEFAULT = ("e_cell", "p_chip")

_FITTABLE = ("e_cell", "e_conv", "e_ctrl", "e_ilp", "e_olp", "e_hop", "e_beat", "p_tile",
             "p_chip")


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` returns.

    ``params``: the calibrated parameters; ``free``: the fitted names; ``targets``,
    ``reproduced``: TOPS/W of the two points (``"tile_peak"``, ``"chip_sustained"``);
    ``residuals``: relative errors ``reproduced / target - 1``; ``breakdowns``: the
    :class:`Breakdown` of each point; ``activities``: their :class:`Activity`.
    """
    params: EnergyParams
    free: tuple
    targets: Mapping[str, float]
    reproduced: Mapping[str, float]
    residuals: Mapping[str, float]
    breakdowns: Mapping[str, Breakdown]
    activities: Mapping[str, Activity]


def _linear_terms(a: Activity, p: EnergyParams) -> dict:
    """d(total energy)/d(parameter) for the energies and powers (the energy is linear in
    them at fixed periods)."""
    t = latency(a, p)
    return {"e_cell": a.cell_ticks, "e_conv": a.conversions, "e_ctrl": a.mvms,
            "e_ilp": a.ilp_words, "e_olp": a.olp_words, "e_hop": a.lane_hops,
            "e_beat": a.beats, "p_tile": a.powered_tiles * t, "p_chip": a.chips * t}


def calibrate(base: EnergyParams | None = None, *, free=FREE_DEFAULT,
              tile_peak: float = TILE_PEAK_TOPS_W,
              chip_sustained: float = CHIP_SUSTAINED_TOPS_W,
              tile_activity: Activity | None = None,
              sustained: Activity | None = None) -> Calibration:
    """Fit the two parameters ``free`` so that the tile-peak workload
    (:func:`tile_peak_activity`) reaches ``tile_peak`` TOPS/W and the chip-sustained workload
    (:func:`sustained_activity`) ``chip_sustained`` TOPS/W; every other parameter keeps its
    value in ``base`` (default ``EnergyParams()``: the stated assumptions; the values of the
    free parameters in ``base`` are ignored).

    The energy is linear in every energy and power at fixed periods, so the fit is the exact
    solution of two linear equations ``E_point(params) = ops_point / (TOPS/W_point x 1e12)``.
    A singular system (both points equally sensitive to the free parameters) or a negative
    fitted value (the assumptions alone already exceed a point's energy) raises
    ``ValueError``."""
    base = _check_energy_params(base)
    if isinstance(free, str) or not hasattr(free, "__iter__"):
        raise TypeError(f"free must be a pair of parameter names, not {free!r}")
    free = tuple(free)
    if len(free) != 2 or len(set(free)) != 2 or any(f not in _FITTABLE for f in free):
        raise ValueError(f"free must be two distinct names of {', '.join(_FITTABLE)}, not "
                         f"{free!r}")
    targets = {"tile_peak": check_float("tile_peak", tile_peak, 0.0, lo_open=True,
                                        unit="TOPS/W"),
               "chip_sustained": check_float("chip_sustained", chip_sustained, 0.0,
                                             lo_open=True, unit="TOPS/W")}
    acts = {"tile_peak": tile_peak_activity() if tile_activity is None
            else _check_activity(tile_activity),
            "chip_sustained": sustained_activity() if sustained is None
            else _check_activity(sustained)}
    for name, a in acts.items():
        if a.ops == 0:
            raise ValueError(f"the {name} activity has no ops; it cannot set a TOPS/W")
    zero = base.replace(**{f: 0.0 for f in free})
    A = np.zeros((2, 2))
    b = np.zeros(2)
    for i, name in enumerate(("tile_peak", "chip_sustained")):
        a = acts[name]
        terms = _linear_terms(a, zero)
        A[i] = [terms[f] for f in free]
        b[i] = a.ops / (targets[name] * 1e12) - energy(a, zero).total
    scale = np.abs(A).max(axis=0)
    if not np.all(scale > 0) or np.linalg.cond(A / scale) > 1e12:
        raise ValueError(f"the two points do not determine {free}: both depend on them in the "
                         f"same proportion")
    x = np.linalg.solve(A / scale, b) / scale
    for f, v in zip(free, x):
        if v < 0:
            raise ValueError(f"calibration gives {f} = {v:.6g} < 0: the fixed parameters alone "
                             f"already exceed a calibration point's energy")
    params = base.replace(**{f: float(v) for f, v in zip(free, x)})
    bds = {name: energy(a, params) for name, a in acts.items()}
    reproduced = {name: bd.tops_per_w for name, bd in bds.items()}
    residuals = {name: reproduced[name] / targets[name] - 1.0 for name in targets}
    return Calibration(params, free, MappingProxyType(targets), MappingProxyType(reproduced),
                       MappingProxyType(residuals), MappingProxyType(bds),
                       MappingProxyType(acts))


@dataclass(frozen=True)
class Prediction:
    """The half-integration operating point: ``predicted`` TOPS/W of the sustained workload
    with ``scale_integration(params, 0.5)``, the paper's ``reported`` figure and
    ``relative_error = predicted / reported - 1``; ``nominal`` and ``half`` the two
    breakdowns."""
    predicted: float
    reported: float
    relative_error: float
    nominal: Breakdown
    half: Breakdown


def predict_half_integration(params: EnergyParams | None = None,
                             activity: Activity | None = None) -> Prediction:
    """TOPS/W of ``activity`` (default: the chip-sustained workload) at half the integration
    time, compared with the paper's 15.4 TOPS/W (a prediction: nothing is fitted here)."""
    params = _check_energy_params(params)
    a = sustained_activity() if activity is None else _check_activity(activity)
    nominal = energy(a, params)
    half = energy(a, scale_integration(params, 0.5))
    pred = half.tops_per_w
    return Prediction(pred, HALF_INTEGRATION_TOPS_W, pred / HALF_INTEGRATION_TOPS_W - 1.0,
                      nominal, half)


# -- command line -------------------------------------------------------------------------------

def _report(cal: Calibration, pred: Prediction) -> str:
    p = cal.params
    lines = ["Energy model calibration (docs/energy.md)", ""]
    lines.append(f"{'parameter':<8}{'value':>14}  unit")
    for f in dataclasses.fields(p):
        mark = "  (fitted)" if f.name in cal.free else ""
        lines.append(f"{f.name:<8}{getattr(p, f.name):>14.6g}  {_UNITS[f.name]}{mark}")
    lines.append("")
    lines.append(f"{'point':<16}{'target':>10}{'model':>14}{'residual':>12}")
    for name in ("tile_peak", "chip_sustained"):
        lines.append(f"{name:<16}{cal.targets[name]:>10.3f}{cal.reproduced[name]:>14.9f}"
                     f"{cal.residuals[name]:>12.2e}")
    lines.append("")
    nom, half = pred.nominal, pred.half
    lines.append("Prediction (not fitted): chip-sustained workload at half the integration "
                 "time")
    lines.append(f"  integration energy {nom.components['integration'] * 1e9:.2f} -> "
                 f"{half.components['integration'] * 1e9:.2f} nJ, latency "
                 f"{nom.latency * 1e9:.1f} -> {half.latency * 1e9:.1f} ns, total "
                 f"{nom.total * 1e9:.2f} -> {half.total * 1e9:.2f} nJ")
    lines.append(f"  predicted {pred.predicted:.3f} TOPS/W vs reported {pred.reported:.1f} "
                 f"TOPS/W: relative error {pred.relative_error:+.2%}")
    share = nom.components["integration"] / nom.total
    lines.append(f"  (integration share of the sustained energy {share:.1%}; the latency "
                 f"shrinks by {1 - half.latency / nom.latency:.1%})")
    lines.append("")
    lines.append(cal.breakdowns["tile_peak"].table(
        "Tile peak: one 512 x 512 MVM at full input activity (tile-level energies)"))
    lines.append("")
    lines.append(cal.breakdowns["chip_sustained"].table(
        "Chip-sustained workload (all tiles chained per row, mesh, ILP/OLP, static)"))
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m golden.energy``: the calibration, the half-integration prediction and the
    breakdowns of the two calibration points."""
    ap = argparse.ArgumentParser(prog="python -m golden.energy", description=main.__doc__)
    ap.parse_args(argv)
    cal = calibrate()
    print(_report(cal, predict_half_integration(cal.params)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
