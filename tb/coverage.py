"""Functional coverage of the tile and the chip (cocotb-coverage).

The model is data: :data:`BINS` names every cover point and its bins. The points are
cocotb-coverage ``CoverPoint`` / ``CoverCross`` decorators on the sampling helpers below, which
take what the scenarios and drivers already have (a golden ``MvmResult`` with its
configuration, a ``RowResult``, a ``CalResult``, a word read from ``ERROR``, the response to a
register write, a routing and the ``ROUTE_STATUS`` that the RTL returned for it, the phase at a
reset, the handshakes of a stream). cocotb-coverage needs no simulator, so the same helpers
sample in amaranth.sim tests and in cocotb tests.

What a bin means:

- ``tile.input_mode`` x ``tile.activation`` x ``tile.devices``: one MVM in that input mode,
  activation and device mode (2-PCM or 4-PCM), sampled per vector.
- ``tile.cap_sat``: some column's charge above +charge_max (``positive``) or below -charge_max
  (``negative``) before the capacitor clamp.
- ``tile.out_sat``: some column's pre-activation value z above the EN window's hi (``high``,
  the ``OUT_SAT`` event) or below its lo (``low``, the output clamps to 0).
- ``tile.rounding_tie``: some column's product P = Qs * gain exactly half-way between two
  output codes (P mod 2^s = 2^(s-1), s >= 1), with P > 0 (``positive``) or P < 0
  (``negative``).
- ``tile.lanes``: exactly one nonzero input word (``one``), every input word nonzero (``all``).
- ``streams.idle`` / ``streams.back_pressure``, per stream: ``valid`` low on some cycle between
  two transfers (idle); ``valid`` high while ``ready`` is low (back-pressure). Seen by a monitor
  on every cycle (:func:`stream_monitor`).
- ``tile.reset_phase``: ``rst`` raised while ``STATUS.phase`` is that phase.
- ``tile.register_illegal``: a write of an illegal value (reserved bits set, a field outside its
  range or enum) to that register answered SLVERR; ``CAL_CMD rule`` is a COMPENSATE refused
  because no REFERENCE completed since reset. Registers where every word is legal
  (``NOISE_SEED``, ``PROG_SEED``) have no bin.
- ``tile.error_bit``: the bit read set in ``ERROR``.
- ``tile.programming``: a closed-loop row that ``converged``, that ``failed`` (some weight
  outside the tolerance), that was ``retried`` (a device pair needed more than one
  program-and-verify iteration: its first verify failed and it was pulsed again).
- ``tile.calibration``: a COMPENSATE with ``skipped`` columns, with ``clipped`` columns.
- ``chip.route``: an applied routing with ``multicast`` (one source group feeds two or more
  destinations) or ``concatenation`` (one destination takes groups from two or more sources);
  a commit refused for each class (``conflict``, ``loop``, ``not_lanes``, ``dead_end``); a
  switch that cannot exist refused at the write (``impossible_switch``).

:func:`report` turns the hits into per-bin counts and the total, writes
``build/coverage/<run>.json`` and merges several runs' files; ``python -m tb.coverage`` prints
the merged report of ``build/coverage/*.json`` (or of the files named).
"""
from __future__ import annotations

import glob
import json
import os
import sys

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db, coverage_section

from golden.calibration import CalOp
from golden.chip.regs import CHIP_MAP, decode_address
from golden.chip.routing import Switch, check, switch_exists
from golden.regs import OKAY, REGISTERS, SLVERR, TILE_MAP
from golden.spec import Activation, ErrorBit, InputMode, Phase, TileParams

__all__ = ["BINS", "STREAMS", "sample_mvm", "sample_stream", "sample_reset",
           "sample_register_write", "sample_register_read", "sample_error", "sample_programming", "sample_calibration",
           "sample_route", "sample_chip_write", "stream_monitor", "tile_streams",
           "chip_streams", "reset", "collect", "report", "merge", "format_report",
           "COVERAGE_DIR"]

ROOT = "pcm"
#: Where runs write their reports (the repository's build/coverage).
COVERAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "build", "coverage")

#: Streams with a monitor: the tile's four and the chip's three host streams.
STREAMS = ("tile.x", "tile.y", "tile.prog", "tile.target",
           "chip.input", "chip.output", "chip.programming")


def _illegal_registers() -> list:
    """Writable registers (of the default parameter set) that have illegal words."""
    rmap = TILE_MAP.resolve(TileParams())
    out = []
    for r in rmap:
        if r.access != "RW":
            continue
        narrow = any(f.enum is not None and len(f.enum) < 1 << f.width or
                     (f.lo, f.hi) != ((-(1 << f.width - 1), (1 << f.width - 1) - 1)
                                      if f.signed else (0, (1 << f.width) - 1))
                     for f in r.fields)
        if r.reserved_mask or narrow:
            out.append(r.name)
    return out


#: Every cover point and its bins (cross bins follow from their points).
BINS = {
    "tile.input_mode": [m.name for m in InputMode],
    "tile.activation": [a.name for a in Activation],
    "tile.devices": ["2-PCM", "4-PCM"],
    "tile.cap_sat": ["positive", "negative"],
    "tile.out_sat": ["high", "low"],
    "tile.rounding_tie": ["positive", "negative"],
    "tile.lanes": ["one", "all"],
    "streams.idle": list(STREAMS),
    "streams.back_pressure": list(STREAMS),
    "tile.reset_phase": [ph.name for ph in Phase],
    "tile.register_illegal": _illegal_registers() + ["CAL_CMD rule"],
    "tile.error_bit": [b.name for b in ErrorBit],
    "tile.programming": ["converged", "failed", "retried"],
    "tile.calibration": ["skipped", "clipped"],
    "chip.route": ["multicast", "concatenation", "conflict", "loop", "not_lanes", "dead_end",
                   "impossible_switch"],
}
#: Cross points: name -> the points crossed.
CROSSES = {"tile.mode_activation_devices": ["tile.input_mode", "tile.activation",
                                            "tile.devices"]}


def _point(name, xf, rel=None, inj=False):
    return CoverPoint(f"{ROOT}.{name}", xf=xf, rel=rel, bins=BINS[name], inj=inj)


# -- MVMs --------------------------------------------------------------------------------------

def _has(flag):
    return lambda facts, label: label in facts[flag]


@coverage_section(
    _point("tile.input_mode", lambda mode, act, devices, facts: mode, inj=True),
    _point("tile.activation", lambda mode, act, devices, facts: act, inj=True),
    _point("tile.devices", lambda mode, act, devices, facts: devices, inj=True),
    CoverCross(f"{ROOT}.tile.mode_activation_devices",
               items=[f"{ROOT}.{n}" for n in CROSSES["tile.mode_activation_devices"]]),
    _point("tile.cap_sat", lambda mode, act, devices, facts: facts, _has("cap_sat")),
    _point("tile.out_sat", lambda mode, act, devices, facts: facts, _has("out_sat")),
    _point("tile.rounding_tie", lambda mode, act, devices, facts: facts, _has("tie")),
    _point("tile.lanes", lambda mode, act, devices, facts: facts, _has("lanes")),
)
def _sample_vector(mode, act, devices, facts):
    pass


def sample_mvm(params: TileParams, config, xs, result) -> None:
    """Sample every vector of a golden MVM: ``xs`` the input words (rows,) or (n, rows),
    ``result`` the ``golden.tile.Tile.run`` of them under ``config``."""
    p = params
    cfg = config.resolved(p)
    xs = np.atleast_2d(np.asarray(xs, dtype=np.int64))
    charge = np.atleast_2d(result.charge)
    z = np.atleast_2d(result.z)
    qs = np.atleast_2d(result.charge_sat)
    lo, hi = p.activation_window(cfg.activation, (cfg.en_lo, cfg.en_hi))
    s = cfg.ramp_shift + p.gain_frac_bits
    product = qs * np.asarray(cfg.gain, dtype=np.int64)
    mode = InputMode(cfg.input_mode).name
    act = Activation(cfg.activation).name
    devices = f"{p.devices_per_weight}-PCM"
    for i in range(xs.shape[0]):
        nonzero = int(np.count_nonzero(xs[i]))
        facts = {
            "cap_sat": {k for k, on in (("positive", (charge[i] > p.charge_max).any()),
                                        ("negative", (charge[i] < -p.charge_max).any())) if on},
            "out_sat": {k for k, on in (("high", (z[i] > hi).any()),
                                        ("low", (z[i] < lo).any())) if on},
            "tie": set() if s < 1 else {
                k for k, on in (("positive", ((product[i] > 0) & (product[i] % (1 << s)
                                                                  == 1 << (s - 1))).any()),
                                ("negative", ((product[i] < 0) & (product[i] % (1 << s)
                                                                  == 1 << (s - 1))).any()))
                if on},
            "lanes": ({"one"} if nonzero == 1 else set()) | ({"all"} if nonzero == p.rows
                                                              else set()),
        }
        _sample_vector(mode, act, devices, facts)


# -- streams -----------------------------------------------------------------------------------

@coverage_section(
    _point("streams.idle", lambda stream, event: stream if event == "idle" else None, inj=True),
    _point("streams.back_pressure",
           lambda stream, event: stream if event == "back_pressure" else None, inj=True),
)
def sample_stream(stream: str, event: str) -> None:
    """One stream event: ``event`` is ``"idle"`` or ``"back_pressure"``."""


def tile_streams(dut) -> dict:
    """The tile's streams as ``{name: (valid, ready)}``."""
    return {"tile.x": (dut.x.valid, dut.x.ready), "tile.y": (dut.y.valid, dut.y.ready),
            "tile.prog": (dut.prog.valid, dut.prog.ready),
            "tile.target": (dut.target.valid, dut.target.ready)}


def chip_streams(dut) -> dict:
    """The chip's host streams as ``{name: (valid, ready)}``."""
    return {"chip.input": (dut.s_axis.tvalid, dut.s_axis.tready),
            "chip.output": (dut.m_axis.tvalid, dut.m_axis.tready),
            "chip.programming": (dut.p_axis.tvalid, dut.p_axis.tready)}


def stream_monitor(streams: dict):
    """An amaranth.sim process (``Simulator.add_process``) that watches ``valid`` and
    ``ready`` of every stream on every cycle: an idle event when a transfer follows a cycle of
    ``valid`` low after an earlier transfer, a back-pressure event when ``valid`` is high and
    ``ready`` low (once per stretch of such cycles)."""
    names = list(streams)
    signals = [s for name in names for s in streams[name]]

    async def process(ctx):
        transferred = dict.fromkeys(names, False)    # a transfer happened before
        gap = dict.fromkeys(names, False)            # valid was low since that transfer
        stalled = dict.fromkeys(names, False)        # the previous cycle was back-pressure
        async for _, _, *values in ctx.tick().sample(*signals):
            for k, name in enumerate(names):
                valid, ready = values[2 * k], values[2 * k + 1]
                if valid and ready:
                    if gap[name]:
                        sample_stream(name, "idle")
                    transferred[name], gap[name] = True, False
                elif not valid and transferred[name]:
                    gap[name] = True
                bp = bool(valid and not ready)
                if bp and not stalled[name]:
                    sample_stream(name, "back_pressure")
                stalled[name] = bp

    return process


# -- reset, registers, errors ------------------------------------------------------------------

@_point("tile.reset_phase", lambda phase: Phase(getattr(phase, "value", phase)).name, inj=True)
def sample_reset(phase) -> None:
    """``rst`` raised while the tile's phase was ``phase`` (a ``Phase`` or its value)."""


@_point("tile.register_illegal", lambda name: name, inj=True)
def _sample_illegal(name):
    pass


_TILE_MAPS: dict = {}


def _tile_map(params):
    if params not in _TILE_MAPS:
        _TILE_MAPS[params] = TILE_MAP.resolve(params)
    return _TILE_MAPS[params]


def sample_register_write(params: TileParams, address: int, data: int, strobe: int, resp: int,
                          busy: bool) -> None:
    """A register write to a tile and its response; ``busy`` the tile's ``busy`` when the
    write was requested. Samples the register when an illegal value was refused."""
    if resp != SLVERR or strobe != 0xF:
        return
    decoded = _tile_map(params).decode(address)
    if decoded is None:
        return
    reg, _ = decoded
    if reg.access != "RW" or (reg.config and busy):
        return
    if reg.check(data) is not None:
        _sample_illegal(reg.name)
    elif reg.rule == "reference_held" and reg.unpack(data)["cal_op"] == CalOp.COMPENSATE:
        _sample_illegal("CAL_CMD rule")


@_point("tile.error_bit", lambda word: word, lambda word, name: bool(word >> ErrorBit[name] & 1))
def sample_error(word: int) -> None:
    """A word read from the tile's ``ERROR`` register."""


ERROR_ADDRESS = REGISTERS["ERROR"].address


def sample_register_read(address: int, data: int, resp: int) -> None:
    """A tile register read: samples the bits of ``ERROR``."""
    if address == ERROR_ADDRESS and resp == OKAY:
        sample_error(int(data))


# -- programming, calibration ------------------------------------------------------------------

@_point("tile.programming", lambda result: result,
        lambda r, label: (r.converged if label == "converged" else
                          r.fail_count > 0 if label == "failed" else
                          int(np.max(r.iterations)) > 1))
def sample_programming(result) -> None:
    """A closed-loop row's golden ``RowResult`` (after the RTL was checked against it)."""


@_point("tile.calibration", lambda result: result,
        lambda r, label: (r.skipped if label == "skipped" else r.clipped) > 0)
def sample_calibration(result) -> None:
    """A calibration command's golden ``CalResult`` (after the RTL was checked against it)."""


# -- the chip ----------------------------------------------------------------------------------

@_point("chip.route", lambda kinds: kinds, lambda kinds, label: label in kinds)
def _sample_route(kinds):
    pass


def sample_route(routing, status: int) -> None:
    """A committed routing and the ``ROUTE_STATUS`` the RTL returned for it: an applied one
    is sampled for multicast and concatenation (from its resolved feeds), a refused one for
    the classes the RTL's status names."""
    verdict = status >> 1 & 3
    kinds = set()
    if verdict == 2:                                    # REFUSED
        for bit, name in enumerate(("conflict", "loop", "not_lanes", "dead_end")):
            if status >> (3 + bit) & 1:
                kinds.add(name)
    elif verdict == 1:                                  # APPLIED
        sources = check(routing).sources
        if sources is not None:
            dests: dict = {}
            for kind, rows in (("tile", sources.tile_inputs), ("olp", sources.olp_inputs)):
                for index, feeds in enumerate(rows):
                    used = {(f.source, g) for g, f in enumerate(feeds) if f is not None}
                    if len({src for src, _ in used}) > 1:
                        kinds.add("concatenation")
                    for key in used:
                        dests.setdefault(key, set()).add((kind, index))
            if any(len(d) > 1 for d in dests.values()):
                kinds.add("multicast")
    _sample_route(kinds)


_CHIP_MAPS: dict = {}


def sample_chip_write(params, address: int, data: int, resp: int) -> None:
    """A write on the chip's bus and its response: a switch that cannot exist (a drive or
    take at an empty position, ``ilp_drive``/``olp_take`` at a row without a pair) refused."""
    if resp != SLVERR:
        return
    where = decode_address(params, address)
    if where is None or where[0] != "chip":
        return
    if params not in _CHIP_MAPS:
        _CHIP_MAPS[params] = CHIP_MAP.resolve(params)
    decoded = _CHIP_MAPS[params].decode(where[1])
    if decoded is None:
        return
    reg, index = decoded
    if reg.name not in ("NODE", "EDGE_W") or reg.check(data) is not None:
        return
    p = params
    fields = reg.unpack(data)
    if reg.name == "NODE":
        q, g = divmod(index, p.groups)
        r, c = divmod(q, p.grid_cols)
        switches = [Switch(f.name, r, c, g) for f in reg.fields]
    else:
        r, g = divmod(index, p.groups)
        switches = [Switch(f.name, r, None, g) for f in reg.fields]
    if any(fields[s.name] and switch_exists(p, s) is not None for s in switches):
        _sample_route({"impossible_switch"})


# -- the report --------------------------------------------------------------------------------

def _items():
    names = list(BINS) + list(CROSSES)
    return {name: coverage_db[f"{ROOT}.{name}"] for name in names}


def _label(bin_) -> str:
    return " x ".join(map(str, bin_)) if isinstance(bin_, tuple) else str(bin_)


def reset() -> None:
    """Zero every bin's hits (the start of a run)."""
    for item in _items().values():
        for key in item._hits:
            item._hits[key] = 0
        item._new_hits = []


def collect() -> dict:
    """The hits of this process: ``{point: {bin: hits}}``."""
    return {name: {_label(b): int(h) for b, h in item.detailed_coverage.items()}
            for name, item in _items().items()}


def _summary(points: dict) -> dict:
    total = sum(len(b) for b in points.values())
    covered = sum(1 for b in points.values() for h in b.values() if h > 0)
    missed = [f"{name}: {label}" for name, b in points.items() for label, h in b.items()
              if h == 0]
    return {"bins": total, "covered": covered,
            "percent": round(100.0 * covered / total, 2) if total else 100.0,
            "missed": missed}


def report(run: str, directory: str = COVERAGE_DIR) -> dict:
    """Write this process's hits to ``<directory>/<run>.json``; return the report."""
    points = collect()
    data = {"run": run, "points": points, **_summary(points)}
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{run}.json"), "w") as f:
        json.dump(data, f, indent=1)
    return data


def merge(paths) -> dict:
    """The report of several runs' files: hits added bin by bin."""
    points: dict = {name: {} for name in list(BINS) + list(CROSSES)}
    runs = []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        runs.append(data.get("run", os.path.basename(path)))
        for name, bins in data["points"].items():
            merged = points.setdefault(name, {})
            for label, hits in bins.items():
                merged[label] = merged.get(label, 0) + int(hits)
    return {"run": " + ".join(runs), "points": points, **_summary(points)}


def format_report(data: dict) -> str:
    lines = [f"functional coverage ({data['run']})"]
    for name, bins in data["points"].items():
        lines.append(f"  {name}")
        for label, hits in bins.items():
            lines.append(f"    {label:<40} {hits:>8}{'' if hits else '   MISSED'}")
    lines.append(f"total: {data['covered']} of {data['bins']} bins covered "
                 f"({data['percent']:.1f} %)")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["-h"], ["--help"]):
        print("usage: python -m tb.coverage [RUN.json ...]  (default: build/coverage/*.json)")
        return 0
    paths = argv or sorted(glob.glob(os.path.join(COVERAGE_DIR, "*.json")))
    if not paths:
        print(f"no coverage files in {COVERAGE_DIR}: run pytest tests/test_coverage.py",
              file=sys.stderr)
        return 1
    data = merge(paths)
    print(format_report(data))
    return 0 if not data["missed"] else 1


if __name__ == "__main__":
    sys.exit(main())
