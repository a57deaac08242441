"""A network mapped onto the chip: the chip plan (docs/mapping.md section 3).

:func:`plan_network` places each layer of a :class:`~mapper.network.Network` on a tile of a
chip (``golden.chip.ChipParams``), chains the tiles ILP -> tile -> ... -> OLP on the mesh (the
hidden layers travel tile to tile as pulse durations, their ReLU applied by the EN window, no
digitization in between) and maps every layer with :func:`mapper.layer.map_layer`: integer
target weights for the closed-loop programmer, the tile's configuration (ramp shift, gain,
offset = bias, EN window, read noise). A hidden layer's output step is the next layer's input
step, so the chain needs no rescaling between tiles.

A :class:`Plan` serializes to JSON and becomes one **host sequence**
(:meth:`Plan.host_sequence`): the register writes (programming registers, tile
configurations, pair modes, staged switches), the closed-loop programming commands (one target
row per command, the programming stream's ``TUSER = 1`` payload) and the routing commit. The
golden chip executes it (:meth:`Plan.golden_chip`, through ``golden.chip.regs`` and
``golden.program``) and the RTL chip executes the same list through its AXI ports
(``tb.chip_scenarios.run_plan``).

Device effects beyond the bit-exact contract (drift and the 1/f read noise of aging, from
``golden.device``) enter only through the conductance codes: :meth:`Plan.aged_codes`; the
tile's own drift calibration (``golden.calibration``, bit-exact with the RTL calibrator)
compensates them: :meth:`Plan.calibrated_configs`.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass

import numpy as np

from golden.calibration import CalOp, CalScope, Calibrator
from golden.chip.model import Chip
from golden.chip.params import ChipParams
from golden.chip.regs import ChipRegisterFile, RouteVerdict, tile_address
from golden.chip.routing import Routing, check, ilp, olp, tile
from golden.device import PCMModel, conductances_to_codes
from golden.program import ProgramConfig, _lsp_targets, _msp_targets, program_array
from golden.regs import OKAY
from golden.spec import Activation, InputMode, InputSource, TileConfig, TileParams, check_int
from golden.tile import Tile

from .layer import LayerMapping, MappingError, _out_range, _real, map_layer
from .network import Dense, Network, _float_array, activate

__all__ = ["Plan", "plan_network", "PLAN_FORMAT", "PLAN_VERSION", "SEARCH_LIMIT"]

PLAN_FORMAT = "pcm-chip-plan"
PLAN_VERSION = 1
#: Tile orders tried when looking for a legal chain.
SEARCH_LIMIT = 20000


def _chip_to_dict(p: ChipParams) -> dict:
    return {"tile": dataclasses.asdict(p.tile), "grid_rows": p.grid_rows,
            "grid_cols": p.grid_cols, "empty": [list(e) for e in p.empty],
            "group_lanes": p.group_lanes, "pair_rows": list(p.pair_rows)}


def _chip_from_dict(d: dict) -> ChipParams:
    d = dict(d)
    d["tile"] = TileParams(**d["tile"])
    d["empty"] = tuple(tuple(e) for e in d["empty"])
    d["pair_rows"] = tuple(d["pair_rows"])
    return ChipParams(**d)


def _config_to_dict(c: TileConfig) -> dict:
    return {"input_mode": int(c.input_mode), "input_source": int(c.input_source),
            "activation": int(c.activation), "ramp_shift": int(c.ramp_shift),
            "en_lo": int(c.en_lo), "en_hi": int(c.en_hi), "gain": [int(v) for v in c.gain],
            "offset": [int(v) for v in c.offset], "noise_seed": int(c.noise_seed),
            "noise_sigma": int(c.noise_sigma)}


def _config_from_dict(d: dict, params: TileParams) -> TileConfig:
    d = dict(d)
    d["gain"] = np.asarray(d["gain"], dtype=np.int64)
    d["offset"] = np.asarray(d["offset"], dtype=np.int64)
    return TileConfig(**d).resolved(params)


def _parts(n: int, size: int) -> list:
    """``n`` split into ``ceil(n / size)`` balanced consecutive ranges (aihwkit's rule: 1280
    over 512 -> 427, 427, 426)."""
    k = -(-n // size)
    bounds = [-(-i * n // k) for i in range(k + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(k)]


@dataclass(eq=False)
class Piece:
    """One tile's share of a layer: inputs ``rows`` x outputs ``cols`` of layer ``layer``
    (part ``part`` = (input part, output part)) on tile ``tile``."""
    layer: int
    part: tuple
    rows: tuple
    cols: tuple
    tile: int
    mapping: LayerMapping


@dataclass(eq=False)
class Segment:
    """Consecutive layers that run in one pass over the mesh.

    ``inputs``: ``[(ilp pair, (a, b))]``, the ILPs that carry inputs ``a..b-1`` of the
    segment's first layer (one per input part); ``outputs``: ``[(olp pair, piece index)]``;
    ``in_lsb``: the float value of one input word step; ``partial``: the last layer is split
    over its inputs, so its pieces' outputs are partial sums that the host adds (then the
    layer's ``bias``, ``activation`` and ``clip`` are applied on the host, in float)."""
    layers: tuple
    inputs: list
    outputs: list
    in_lsb: float
    input_mode: InputMode
    partial: bool = False
    bias: np.ndarray | None = None
    activation: str = "identity"
    clip: float | None = None
    outputs_count: int = 0


@dataclass(eq=False)
class Plan:
    """A network's placement, routes, registers and programming targets on a chip."""
    chip: ChipParams
    segments: list
    pieces: list
    routing: Routing
    program: ProgramConfig

    # -- views ----------------------------------------------------------------------------------
    @property
    def tiles(self) -> list:
        """The tile of every piece."""
        return [pc.tile for pc in self.pieces]

    @property
    def layers(self) -> list:
        """The ``LayerMapping`` of every piece (in the order of :attr:`tiles`)."""
        return [pc.mapping for pc in self.pieces]

    @property
    def pair(self) -> int:
        """The ILP of the first segment's first input part."""
        return self.segments[0].inputs[0][0]

    @property
    def olp_pair(self) -> int:
        """The OLP of the last segment's first output."""
        return self.segments[-1].outputs[0][0]

    @property
    def input_mode(self) -> InputMode:
        return self.segments[0].input_mode

    @property
    def in_lsb(self) -> float:
        return self.segments[0].in_lsb

    # -- float <-> words ------------------------------------------------------------------------
    def segment_words(self, s: int, v) -> tuple[list, int]:
        """``[(pair, words (n, lanes))]`` of segment ``s``'s ILPs for its float inputs ``v``
        ``(n, inputs)``, and how many inputs were clipped to the word range."""
        seg = self.segments[s]
        lo, hi = self.chip.tile.input_range(seg.input_mode)
        v = np.atleast_2d(np.asarray(v, dtype=np.float64))
        out, clipped = [], 0
        for pair, (a, b) in seg.inputs:
            u = np.floor(v[:, a:b] / seg.in_lsb + 0.5)
            clipped += int(np.count_nonzero((u < lo) | (u > hi)))
            words = np.zeros((v.shape[0], self.chip.lanes), dtype=np.int64)
            words[:, :b - a] = np.clip(u, lo, hi)
            out.append((pair, words))
        return out, clipped

    def words(self, x) -> tuple[np.ndarray, int]:
        """Input words ``(n, lanes)`` of the first segment's first ILP (a one-segment,
        one-input plan's whole input) and the number clipped."""
        words, clipped = self.segment_words(0, x)
        return words[0][1], clipped

    def segment_outputs(self, s: int, words: dict) -> np.ndarray:
        """Float outputs ``(n, outputs)`` of segment ``s`` from its OLP words
        (``{olp pair: (n, lanes)}``): the pieces' outputs decoded, partial sums added, and for
        a partial segment the bias and the activation applied (the host's share)."""
        seg = self.segments[s]
        n = next(iter(words.values())).shape[0]
        y = np.zeros((n, seg.outputs_count))
        for q, k in seg.outputs:
            pc = self.pieces[k]
            y[:, pc.cols[0]:pc.cols[1]] += pc.mapping.decode(words[q])
        if seg.partial:
            y += seg.bias
            y = activate(y, seg.activation, seg.clip)
        return y

    def decode(self, words) -> np.ndarray:
        """Float outputs of the last segment's single OLP's words."""
        return self.segment_outputs(len(self.segments) - 1, {self.olp_pair: np.asarray(words)})

    # -- the host sequence -----------------------------------------------------------------------
    def tile_program(self, i: int) -> ProgramConfig:
        """Programming registers of piece i's tile: the plan's, with a seed of its own, drawn
        from the piece's index rather than its tile's, so that the same network placed on other
        tiles (another chip) is programmed alike."""
        return dataclasses.replace(self.program,
                                   seed=(self.program.seed + 0x9E3779B9 * i) & 0xFFFFFFFF)

    def pair_modes(self) -> list:
        modes = [InputMode.UNSIGNED] * self.chip.pairs
        for seg in self.segments:
            for pair, _ in seg.inputs:
                modes[pair] = seg.input_mode
        return modes

    def host_sequence(self, closed_loop: bool = True) -> list:
        """The operations that take a chip from reset to this plan, in order:
        ``("write", address, data)``, ``("program", tile, row, targets_row)`` (a closed-loop
        target row), ``("commit",)`` (ROUTE_CMD, then wait for the check's verdict).

        ``closed_loop=False``: each tile's rows are instead written as the codes the
        closed-loop programmer reaches (``("codes", tile, codes)``, row writes on the
        programming stream; ``golden.program.program_array``, bit-exact with the RTL
        programmer): one cycle per row instead of its iterations, for large tiles in slow
        simulations. The outputs are the same."""
        if not isinstance(closed_loop, (bool, np.bool_)):
            raise TypeError(f"closed_loop must be a bool, not {closed_loop!r}")
        regs = ChipRegisterFile(self.chip)
        ops = []
        for i, pc in enumerate(self.pieces):
            t = pc.tile
            ops += [("write", tile_address(t, a), d)
                    for a, d in regs.tiles[t].load_program(self.tile_program(i))]
            # every row, the unused ones at weight 0: whatever the array held before must not
            # reach an output (an unused lane of the previous tile can still carry a pulse)
            if not closed_loop:
                ops.append(("codes", t, program_array(pc.mapping.targets, self.tile_program(i),
                                                      self.chip.tile).codes))
                continue
            for row in range(self.chip.tile.rows):
                ops.append(("program", t, row, pc.mapping.targets[row].copy()))
        for pc in self.pieces:
            ops += [("write", a, d) for a, d in regs.load_tile(pc.tile, pc.mapping.config)]
        ops += [("write", a, d) for a, d in regs.load_pair_modes(self.pair_modes())]
        ops += [("write", a, d) for a, d in regs.stage(self.routing)]
        ops.append(("commit",))
        return ops

    def golden_chip(self, ops=None) -> Chip:
        """A golden chip that has executed the host sequence (``ops``, default
        :meth:`host_sequence`): register writes through ``golden.chip.regs``, every target
        row through ``golden.program`` with the tile's programming registers (consecutive rows
        of one tile under the same registers in one ``program_array`` call, row by row equal to
        ``program_row``)."""
        ops = self.host_sequence() if ops is None else ops
        p = self.chip
        regs = ChipRegisterFile(p)
        codes = {}
        batch = []                      # consecutive ("program", t, row, targets) of one tile

        def flush():
            if not batch:
                return
            t = batch[0][1]
            res = program_array(np.stack([np.asarray(op[3]) for op in batch]),
                                regs.tiles[t].prog, p.tile,
                                row_ids=np.array([op[2] for op in batch], dtype=np.int64))
            codes.setdefault(t, np.zeros((p.tile.rows, p.tile.cols,
                                          p.tile.devices_per_weight), dtype=np.int64))
            codes[t][[op[2] for op in batch]] = res.codes
            batch.clear()

        for op in ops:
            if op[0] == "program":
                if batch and batch[0][1] != op[1]:
                    flush()
                batch.append(op)
                continue
            flush()
            if op[0] == "write":
                resp = regs.write(op[1], op[2])
                if resp != OKAY:
                    raise MappingError(f"write of {op[2]:#x} to {op[1]:#x} refused "
                                       f"(CHIP_ERROR {regs.error:#x})")
            elif op[0] == "codes":
                codes[op[1]] = np.array(op[2], dtype=np.int64)
            elif op[0] == "commit":
                regs.commit()
                regs.advance(p.check_cycles + 1)
                if regs.verdict != RouteVerdict.APPLIED:
                    raise MappingError(f"the routing was refused: {regs.last_broken}")
            else:
                raise ValueError(f"unknown host operation {op[0]!r}")
        flush()
        tiles = [None] * p.tiles
        for t, c in codes.items():
            tiles[t] = Tile(p.tile, c)
        return Chip.from_registers(regs, tiles=tiles)

    def programmed_codes(self, chip: Chip) -> dict:
        """``{tile: codes}`` of the plan's tiles in ``chip``."""
        return {t: chip.tile(t).codes.copy() for t in self.tiles}

    # -- device aging and the tile's calibration ------------------------------------------------
    def device_targets(self, t: int, codes) -> np.ndarray:
        """Target codes ``(rows, cols, devices)`` of every device of tile ``t`` as the
        closed-loop programmer aims them (the LSP pair at the remainder of the programmed MSP
        pair)."""
        p = self.chip.tile
        tw = self.pieces[self.tiles.index(t)].mapping.targets
        neg, mag = _msp_targets(tw, p)
        out = np.zeros(codes.shape, dtype=np.int64)
        out[..., 0] = np.where(neg, 0, mag)
        out[..., 1] = np.where(neg, mag, 0)
        if p.devices_per_weight == 4:
            neg, mag = _lsp_targets(tw, codes[..., 0], codes[..., 1], p)
            out[..., 2] = np.where(neg, 0, mag)
            out[..., 3] = np.where(neg, mag, 0)
        return out

    def aged_codes(self, codes: dict, t_seconds: float, seed, model: PCMModel | None = None
                   ) -> dict:
        """Conductance codes of the programmed tiles ``t_seconds`` after programming:
        ``golden.device`` drift (exponents drawn per device from the target) and one draw of
        accumulated read noise, back to codes (``conductances_to_codes``). ``seed`` (int)
        fixes the devices: the drift exponents depend on it only, the read noise on it and
        ``t_seconds``; each tile's devices are drawn by its piece's index, not the tile's, so
        that the same network on other tiles ages alike."""
        model = PCMModel() if model is None else model
        t_seconds = _real("t_seconds", t_seconds, nonnegative=True)
        seed = check_int("seed", seed, 0, (1 << 63) - 1)
        p = self.chip.tile
        scale = model.g_max / p.code_max
        out = {}
        for i, t in enumerate(self.tiles):
            c = codes[t]
            g_prog = c * scale
            g_target = self.device_targets(t, c) * scale
            nu = model.drift_exponents(g_target, np.random.default_rng([seed, i]))
            rng = np.random.default_rng([seed, i, int(round(t_seconds * 1000))])
            g = model.age(g_prog, nu, t_seconds, rng, g_target=g_target)
            out[t] = conductances_to_codes(g, p, g_max=model.g_max)
        return out

    def calibrated_configs(self, reference_codes: dict, codes: dict, scope: CalScope) -> dict:
        """``{tile: TileConfig}`` after the tile's own drift calibration: a ``REFERENCE`` read
        on ``reference_codes`` (right after programming) and a ``COMPENSATE`` (``scope``) on
        ``codes`` (now); only ``GAIN`` changes (docs/spec.md section 10). Noise-free reads."""
        p = self.chip.tile
        out = {}
        for pc in self.pieces:
            t, lm = pc.tile, pc.mapping
            cfg = dataclasses.replace(lm.config, noise_sigma=0)
            cal = Calibrator(p)
            cal.run(CalOp.REFERENCE, scope, reference_codes[t], cfg, p.cal_input_default)
            res = cal.run(CalOp.COMPENSATE, scope, codes[t], cfg, p.cal_input_default)
            out[t] = dataclasses.replace(lm.config, gain=res.gain)
        return out

    def configure(self, chip: Chip, configs: dict | None = None) -> None:
        """Set the plan's tiles in ``chip`` to their mapped configuration (or ``configs``)."""
        for pc in self.pieces:
            chip.configure(pc.tile, pc.mapping.config if configs is None
                           else configs[pc.tile])

    def infer(self, chip: Chip, x) -> tuple[np.ndarray, dict]:
        """Float outputs of inputs ``(n, inputs)`` through the golden chip, segment by
        segment (each segment's ILPs back to back, ``Chip.run_batch``; the host's share
        between segments), and the pass statistics: ``inputs_clipped``, ``words`` (the last
        segment's OLP words), ``batches`` (``[(segment, pair, BatchResult)]``)."""
        v = np.atleast_2d(np.asarray(x, dtype=np.float64))
        clipped, batches, words = 0, [], {}
        for s, seg in enumerate(self.segments):
            beats, c = self.segment_words(s, v)
            clipped += c
            words = {}
            for i, (pair, u) in enumerate(beats):
                res = chip.run_batch(pair, u)
                batches.append((s, pair, res))
                for q, k in seg.outputs:
                    if self.pieces[k].part[0] == i:
                        words[q] = res.words(q)
            v = self.segment_outputs(s, words)
        return v, {"inputs_clipped": clipped, "words": words.get(self.olp_pair),
                   "batches": batches}

    # -- serialization ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": PLAN_FORMAT, "version": PLAN_VERSION,
            "chip": _chip_to_dict(self.chip),
            "program": dataclasses.asdict(self.program),
            "routing": self.routing.to_dict(),
            "segments": [{
                "layers": list(seg.layers), "inputs": [[q, list(r)] for q, r in seg.inputs],
                "outputs": [list(o) for o in seg.outputs], "in_lsb": seg.in_lsb,
                "input_mode": int(seg.input_mode), "partial": seg.partial,
                "bias": None if seg.bias is None else [float(b) for b in seg.bias],
                "activation": seg.activation, "clip": seg.clip,
                "outputs_count": seg.outputs_count} for seg in self.segments],
            "pieces": [{
                "layer": pc.layer, "part": list(pc.part), "rows": list(pc.rows),
                "cols": list(pc.cols), "tile": pc.tile,
                "position": list(self.chip.position(pc.tile)),
                "name": pc.mapping.name, "inputs": pc.mapping.inputs,
                "outputs": pc.mapping.outputs, "activation": pc.mapping.activation.name,
                "input_mode": int(pc.mapping.input_mode), "in_lsb": pc.mapping.in_lsb,
                "v_lsb": pc.mapping.v_lsb,
                "col_scale": [float(v) for v in pc.mapping.col_scale],
                "targets": pc.mapping.targets[:pc.mapping.inputs, :pc.mapping.outputs].tolist(),
                "config": _config_to_dict(pc.mapping.config), "report": pc.mapping.report,
            } for pc in self.pieces],
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        if not isinstance(d, dict) or d.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a chip plan: format must be {PLAN_FORMAT!r}")
        if d.get("version") != PLAN_VERSION:
            raise ValueError(f"plan version must be {PLAN_VERSION}, not {d.get('version')!r}")
        missing = [k for k in ("chip", "program", "routing", "segments", "pieces") if k not in d]
        if missing:
            raise ValueError(f"chip plan is missing {', '.join(missing)} (a plan holds chip, "
                             f"program, routing, segments and pieces)")
        try:
            return cls._from_dict(d)
        except (KeyError, TypeError) as e:
            raise ValueError(f"chip plan is malformed: {type(e).__name__} {e}") from None

    @classmethod
    def _from_dict(cls, d: dict) -> "Plan":
        chip = _chip_from_dict(d["chip"])
        p = chip.tile
        pieces = []
        for i, L in enumerate(d["pieces"]):
            targets = np.zeros((p.rows, p.cols), dtype=np.int64)
            t = np.asarray(L["targets"], dtype=np.int64)
            if t.shape != (L["inputs"], L["outputs"]):
                raise ValueError(f"pieces[{i}].targets must have shape ({L['inputs']}, "
                                 f"{L['outputs']}), not {t.shape}")
            targets[:t.shape[0], :t.shape[1]] = t
            lm = LayerMapping(
                name=L["name"], params=p, inputs=L["inputs"], outputs=L["outputs"],
                activation=Activation[L["activation"]], input_mode=InputMode(L["input_mode"]),
                in_lsb=float(L["in_lsb"]), v_lsb=float(L["v_lsb"]),
                col_scale=np.asarray(L["col_scale"], dtype=np.float64), targets=targets,
                config=_config_from_dict(L["config"], p), report=dict(L["report"]))
            pieces.append(Piece(layer=L["layer"], part=tuple(L["part"]), rows=tuple(L["rows"]),
                                cols=tuple(L["cols"]),
                                tile=check_int(f"pieces[{i}].tile", L["tile"], 0,
                                               chip.tiles - 1), mapping=lm))
        segments = [Segment(
            layers=tuple(S["layers"]), inputs=[(q, tuple(r)) for q, r in S["inputs"]],
            outputs=[tuple(o) for o in S["outputs"]], in_lsb=float(S["in_lsb"]),
            input_mode=InputMode(S["input_mode"]), partial=bool(S["partial"]),
            bias=None if S["bias"] is None else np.asarray(S["bias"], dtype=np.float64),
            activation=S["activation"], clip=S["clip"], outputs_count=S["outputs_count"])
            for S in d["segments"]]
        plan = cls(chip=chip, segments=segments, pieces=pieces,
                   routing=Routing.from_dict(d["routing"], chip),
                   program=ProgramConfig(**d["program"]))
        plan.validate()
        return plan

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        return cls.from_dict(json.loads(text))

    def validate(self) -> "Plan":
        """Raise ``MappingError`` if the plan cannot run: a tile used twice, an ILP or OLP
        used twice, an illegal routing, targets outside the cell's range."""
        p = self.chip
        tiles = self.tiles
        if len(set(tiles)) != len(tiles):
            raise MappingError(f"tiles must be distinct, not {tiles}")
        ilps = [q for seg in self.segments for q, _ in seg.inputs]
        olps = [q for seg in self.segments for q, _ in seg.outputs]
        for name, used in (("ILP", ilps), ("OLP", olps)):
            for q in used:
                check_int(f"{name} pair", q, 0, p.pairs - 1)
            if len(set(used)) != len(used):
                raise MappingError(f"an {name} is used twice: {used}")
        for pc in self.pieces:
            if int(np.abs(pc.mapping.targets).max(initial=0)) > p.tile.weight_max:
                raise MappingError(f"{pc.mapping.name}: a target weight is outside "
                                   f"[{-p.tile.weight_max}, {p.tile.weight_max}]")
        lanes = [t in tiles for t in range(p.tiles)]
        res = check(self.routing, lanes_mode=lanes)
        if not res.ok:
            raise MappingError(f"the routing is illegal: {'; '.join(res.reasons())}")
        self.program.validate(p.tile)
        return self


# -- planning -------------------------------------------------------------------------------------
def _segments_of(network: Network, size: int) -> list:
    """Layer indices grouped into segments: a layer split over its inputs or outputs ends its
    segment (its outputs go to OLPs) and starts a new one when it is split over its inputs
    (its input parts come from ILPs)."""
    groups, cur = [], []
    for i, layer in enumerate(network.layers):
        split_in = layer.inputs > size
        split_out = layer.outputs > size
        if split_in and cur:
            groups.append(cur)
            cur = []
        cur.append(i)
        if split_in or split_out:
            groups.append(cur)
            cur = []
    if cur:
        groups.append(cur)
    return groups


class _Placer:
    """Tiles and pairs for the segments, one at a time, keeping the union of the routes
    legal."""

    def __init__(self, chip: ChipParams, tiles=None):
        self.p = chip
        self.routing = Routing.empty(chip)
        self.free_tiles = list(range(chip.tiles))
        self.ilps = list(range(chip.pairs))
        self.olps = list(range(chip.pairs))
        self.forced = None if tiles is None else list(tiles)

    def take_pairs(self, n: int, what: str, pool: list, prefer=()) -> list:
        out = []
        for q in list(prefer) + list(pool):
            if len(out) == n:
                break
            if q in pool and q not in out:
                out.append(q)
        if len(out) < n:
            raise MappingError(f"the plan needs more {what}s than the chip's {self.p.pairs}")
        for q in out:
            pool.remove(q)
        return out

    def place_pieces(self, sources: list, budget: int = SEARCH_LIMIT) -> list:
        """A tile and an OLP for every piece of a split layer: piece k is fed by ILP
        ``sources[k]`` (several pieces of one ILP make a multicast) and sends its output to an
        OLP of its own. A depth-first search over the pieces in order (tiles nearest the
        ILP's grid row first, OLPs nearest the tile's row first), keeping the union of the
        routes legal, at most ``budget`` legality checks. Returns ``[(tile, olp)]``."""
        p = self.p
        lanes = [True] * p.tiles
        checks = 0
        forced = None
        if self.forced is not None:
            forced = self.forced[:len(sources)]
            if len(forced) < len(sources):
                raise MappingError(f"tiles must name one tile per piece, not {self.forced}")

        def legal(r) -> bool:
            nonlocal checks
            checks += 1
            return check(r, lanes_mode=lanes).ok

        def dfs(k, r, used_t, used_q):
            if k == len(sources):
                return [], r
            src = sources[k]
            tiles_k = ([forced[k]] if forced is not None
                       else [t for t in self.order(p.pair_rows[src]) if t not in used_t])
            for t in tiles_k:
                if checks >= budget:
                    return None
                r1 = r.copy()
                try:
                    r1.connect(ilp(src), tile(t))
                except ValueError:
                    continue
                if not legal(r1):
                    continue
                row = p.position(t)[0]
                for q in sorted((q for q in self.olps if q not in used_q),
                                key=lambda q: (abs(p.pair_rows[q] - row), q)):
                    if checks >= budget:
                        return None
                    r2 = r1.copy()
                    try:
                        r2.connect(tile(t), olp(q))
                    except ValueError:
                        continue
                    if not legal(r2):
                        continue
                    found = dfs(k + 1, r2, used_t | {t}, used_q | {q})
                    if found is not None:
                        rest, final = found
                        return [(t, q)] + rest, final
            return None

        found = dfs(0, self.routing.copy(), frozenset(), frozenset())
        if found is None:
            raise MappingError(
                f"no legal placement of {len(sources)} pieces, each with an OLP of its own, "
                f"found within {budget} route checks (free OLPs: {self.olps})")
        chosen, routing = found
        self.routing = routing
        if forced is not None:
            del self.forced[:len(sources)]
        for t, q in chosen:
            self.free_tiles.remove(t)
            self.olps.remove(q)
        return chosen

    def order(self, row: int) -> list:
        p = self.p
        return sorted(self.free_tiles, key=lambda t: (abs(p.position(t)[0] - row),
                                                      p.position(t)[0], p.position(t)[1]))

    def place(self, build, n: int, row: int) -> tuple[list, object]:
        """The first ``n`` free tiles (nearest the pair's grid row first) for which
        ``build(tiles, routing)`` adds legal routes; ``build`` raises ``ValueError`` when a
        route does not exist and returns what it chose besides the tiles."""
        lanes = [True] * self.p.tiles
        if self.forced is not None:
            chosen = self.forced[:n]
            if len(chosen) < n:
                raise MappingError(f"tiles must name one tile per piece, not {self.forced}")
            del self.forced[:n]
            candidates = [tuple(chosen)]
        else:
            candidates = itertools.permutations(self.order(row), n)
        for i, cand in enumerate(candidates):
            if i >= SEARCH_LIMIT:
                break
            r = self.routing.copy()
            try:
                info = build(list(cand), r)
            except ValueError as e:
                if self.forced is not None:
                    raise MappingError(f"tiles {list(cand)}: {e}") from None
                continue
            res = check(r, lanes_mode=lanes)
            if res.ok:
                self.routing = r
                for t in cand:
                    self.free_tiles.remove(t)
                return list(cand), info
            if self.forced is not None:
                raise MappingError(f"tiles {list(cand)}: {'; '.join(res.reasons())}")
        raise MappingError(f"no legal placement of {n} tile(s) found among the first "
                           f"{SEARCH_LIMIT} tile orders of this chip")


def plan_network(network: Network, chip: ChipParams | None = None, *, x_max: float = 1.0,
                 signed: bool = False, calibration_x=None, pair: int = 0,
                 olp_pair: int | None = None, tiles=None, program: ProgramConfig | None = None,
                 out_noise: float = 0.5, noise_seed: int = 0, per_column: bool = True,
                 gain_headroom: float = 2.5, out_ranges=None,
                 noise_limit: str = "error") -> Plan:
    """Map ``network`` onto ``chip`` (default: the paper's chip).

    ``x_max``: the float input at the largest input word (inputs in ``[0, x_max]``, or
    ``[-x_max, x_max]`` with ``signed``); ``calibration_x``: float inputs that choose the
    output scale of layers without a ``clip`` (``mapper.layer.OUT_QUANTILE``) and of partial
    sums; ``out_ranges``: optional float output range per layer (None entries: the default
    rule); ``noise_limit``: as in ``mapper.layer.map_layer``; ``pair``/``olp_pair``: the ILP and OLP of the first segment (default 0 and the
    same); ``tiles``: the tile of every piece in order (default: placed near the pairs' rows).

    Layers that fit a tile chain tile to tile over the mesh. A layer with more inputs than a
    tile has rows is split into balanced input parts, each on its own tile fed by its own ILP;
    the parts' outputs are partial sums that leave through OLPs and are added on the host,
    which then applies the bias and the activation (docs/mapping.md section 3). A layer with
    more outputs than a tile has columns is split into output parts fed the same input
    (multicast); its parts' outputs leave through OLPs.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, not {network!r}")
    chip = ChipParams() if chip is None else chip
    if not isinstance(chip, ChipParams):
        raise TypeError(f"chip must be a ChipParams, not {chip!r}")
    pair = check_int("pair", pair, 0, chip.pairs - 1)
    olp_pair = pair if olp_pair is None else check_int("olp_pair", olp_pair, 0, chip.pairs - 1)
    program = ProgramConfig() if program is None else program
    if not isinstance(program, ProgramConfig):
        raise TypeError(f"program must be a ProgramConfig, not {program!r}")
    program.validate(chip.tile)
    x_max = _real("x_max", x_max, positive=True)
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"signed must be a bool, not {signed!r}")
    n = len(network)
    if out_ranges is None:
        out_ranges = [None] * n
    elif len(out_ranges) != n:
        raise ValueError(f"out_ranges must have one entry per layer ({n}), not "
                         f"{len(out_ranges)}")
    tp = chip.tile
    size = tp.rows
    groups = _segments_of(network, size)
    for i, layer in enumerate(network.layers):
        if i < n - 1 and layer.activation == "identity":
            raise MappingError(
                f"layers[{i}]: a hidden layer travels to the next tile as unsigned pulse "
                f"durations, so its activation must be relu or hard_sigmoid, not identity")
    pieces_needed = sum(len(_parts(l.inputs, size)) * len(_parts(l.outputs, size))
                        for l in network.layers)
    if pieces_needed > chip.tiles:
        raise MappingError(f"the network needs {pieces_needed} tiles, the chip has "
                           f"{chip.tiles}")
    if tiles is not None:
        tiles = [check_int(f"tiles[{i}]", t, 0, chip.tiles - 1) for i, t in enumerate(tiles)]
        if len(tiles) != pieces_needed:
            raise ValueError(f"tiles must name one tile per piece ({pieces_needed}), not "
                             f"{len(tiles)}")
    placer = _Placer(chip, tiles)
    cx = None if calibration_x is None else _float_array("calibration_x", calibration_x, 2)
    mode = InputMode.SIGNED if signed else InputMode.UNSIGNED
    in_lsb = x_max / tp.input_range(mode)[1]
    pieces, segments = [], []
    first_pair = True

    def mapped(layer, rows, cols, li, name, in_lsb, mode, act_on_chip, cal):
        sub = Dense(layer.weight[rows[0]:rows[1], cols[0]:cols[1]],
                    layer.bias[cols[0]:cols[1]] if act_on_chip else
                    np.zeros(cols[1] - cols[0]),
                    layer.activation if act_on_chip else "identity",
                    layer.clip if act_on_chip else None)
        lm = map_layer(sub, tp, in_lsb=in_lsb, name=name, input_mode=mode,
                       out_range=out_ranges[li] if act_on_chip else None,
                       calibration_x=None if cal is None else cal[:, rows[0]:rows[1]],
                       per_column=per_column, gain_headroom=gain_headroom, out_noise=out_noise,
                       noise_limit=noise_limit,
                       noise_seed=(noise_seed + 0x51ED27 * (len(pieces) + 1)) & 0xFFFFFFFF)
        return dataclasses.replace(
            lm, config=dataclasses.replace(lm.config, input_source=InputSource.LANES))

    for g in groups:
        first = network.layers[g[0]]
        in_parts = _parts(first.inputs, size)
        out_parts = _parts(network.layers[g[-1]].outputs, size)
        # a free row (its ILP and its OLP both free) keeps a part's routes inside its row
        prefer_ilp = ([pair] if first_pair else []) + [q for q in placer.ilps
                                                        if q in placer.olps]
        ilps = placer.take_pairs(len(in_parts), "ILP", placer.ilps, prefer_ilp)
        if len(g) > 1 or (len(in_parts) == 1 and len(out_parts) == 1):
            # a chain: ILP -> one tile per layer -> OLP
            prefer = [olp_pair if first_pair else ilps[0]]
            olps = placer.take_pairs(1, "OLP", placer.olps, prefer)

            def build(ts, r, ilp_=ilps[0], olp_=olps[0]):
                r.chain(ilp_, ts, olp_pair=olp_)
            ts, _ = placer.place(build, len(g), chip.pair_rows[ilps[0]])
            seg_in_lsb, lsb = in_lsb, in_lsb
            outs = []
            for k, (li, t) in enumerate(zip(g, ts)):
                layer = network.layers[li]
                lm = mapped(layer, (0, layer.inputs), (0, layer.outputs), li, f"layers[{li}]",
                            lsb, mode if k == 0 else InputMode.UNSIGNED, True, cx)
                pieces.append(Piece(li, (0, 0), (0, layer.inputs), (0, layer.outputs), t, lm))
                lsb = lm.out_lsb
                if cx is not None:
                    cx = layer.forward(cx)
            outs = [(olps[0], len(pieces) - 1)]
            last = network.layers[g[-1]]
            segments.append(Segment(layers=tuple(g), inputs=[(ilps[0], (0, first.inputs))],
                                    outputs=outs, in_lsb=seg_in_lsb, input_mode=mode,
                                    outputs_count=last.outputs))
            in_lsb = lsb
        else:
            # one layer split over its inputs and/or outputs
            li = g[0]
            layer = first
            partial = len(in_parts) > 1
            outs = []
            if len(placer.olps) < len(in_parts) * len(out_parts):
                raise MappingError(f"the plan needs more OLPs than the chip's {chip.pairs}")
            sources = [ilps[i] for i in range(len(in_parts)) for _ in out_parts]
            placed = iter(placer.place_pieces(sources))
            for i, rows in enumerate(in_parts):
                for j, cols in enumerate(out_parts):
                    t, q = next(placed)
                    lm = mapped(layer, rows, cols, li, f"layers[{li}][{i},{j}]", in_lsb,
                                mode, not partial, cx)
                    pieces.append(Piece(li, (i, j), rows, cols, t, lm))
                    outs.append((q, len(pieces) - 1))
            segments.append(Segment(
                layers=(li,), inputs=[(q, r) for q, r in zip(ilps, in_parts)], outputs=outs,
                in_lsb=in_lsb, input_mode=mode, partial=partial,
                bias=layer.bias.copy() if partial else None,
                activation=layer.activation if partial else "identity",
                clip=layer.clip if partial else None, outputs_count=layer.outputs))
            # the next segment's input words: the host re-quantizes this layer's outputs
            if cx is not None:
                cx = layer.forward(cx)
            if li < n - 1:
                if layer.activation == "hard_sigmoid":
                    top = 1.0
                elif layer.clip is not None:
                    top = layer.clip
                elif cx is not None:
                    top = _out_range(cx, Activation.RELU, None)
                elif out_ranges[li] is not None:
                    top = out_ranges[li]
                else:
                    raise MappingError(f"layers[{li}]: its outputs feed the next segment's ILPs; "
                                       f"give the layer a clip, out_ranges[{li}] or "
                                       f"calibration_x")
                in_lsb = top / tp.input_range(InputMode.UNSIGNED)[1]
        mode = InputMode.UNSIGNED
        first_pair = False
    plan = Plan(chip=chip, segments=segments, pieces=pieces, routing=placer.routing,
                program=program)
    return plan.validate()

