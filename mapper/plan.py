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
from dataclasses import dataclass, field

import numpy as np

from golden.calibration import CalOp, CalScope, Calibrator
from golden.chip.model import Chip
from golden.chip.params import ChipParams
from golden.chip.regs import ChipRegisterFile, RouteVerdict, tile_address
from golden.chip.routing import Routing, check
from golden.device import PCMModel, conductances_to_codes
from golden.program import ProgramConfig, _lsp_targets, _msp_targets, program_row
from golden.regs import OKAY
from golden.spec import Activation, InputMode, InputSource, TileConfig, TileParams, check_int

from .layer import LayerMapping, MappingError, _real, map_layer
from .network import Network, _float_array

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


def _chain_tiles(p: ChipParams, pair: int, olp_pair: int, n: int) -> tuple[list, Routing]:
    """The first legal chain ILP ``pair`` -> n tiles -> OLP ``olp_pair``: tiles ordered by
    their grid row's distance from the pair's row, then west to east."""
    prow = p.pair_rows[pair]
    order = sorted(range(p.tiles), key=lambda t: (abs(p.position(t)[0] - prow),
                                                  p.position(t)[0], p.position(t)[1]))
    lanes = [True] * p.tiles
    for i, chain in enumerate(itertools.permutations(order, n)):
        if i >= SEARCH_LIMIT:
            break
        r = Routing.empty(p)
        try:
            r.chain(pair, chain, olp_pair=olp_pair)
        except ValueError:
            continue
        if check(r, lanes_mode=lanes).ok:
            return list(chain), r
    raise MappingError(f"no legal chain of {n} tiles from ILP {pair} to OLP {olp_pair} found "
                       f"among the first {SEARCH_LIMIT} tile orders of this chip")


@dataclass(eq=False)
class Plan:
    """A network's placement, routes, registers and programming targets on a chip."""
    chip: ChipParams
    pair: int                              #: ILP/OLP pair of the input and output streams
    olp_pair: int
    input_mode: InputMode
    tiles: list                            #: tile index of each layer
    layers: list                           #: LayerMapping of each layer
    routing: Routing
    program: ProgramConfig
    names: list = field(default_factory=list)

    # -- float <-> words -------------------------------------------------------------------------
    @property
    def in_lsb(self) -> float:
        return self.layers[0].in_lsb

    def words(self, x) -> tuple[np.ndarray, int]:
        """Input-stream words ``(n, lanes)`` of float inputs and the number clipped."""
        return self.layers[0].words(x)

    def decode(self, words) -> np.ndarray:
        """Float outputs of the OLP's words."""
        return self.layers[-1].decode(words)

    # -- the host sequence -----------------------------------------------------------------------
    def tile_program(self, i: int) -> ProgramConfig:
        """Programming registers of layer i's tile: the plan's, with a seed of its own."""
        return dataclasses.replace(self.program,
                                   seed=(self.program.seed + 0x9E3779B9 * self.tiles[i])
                                   & 0xFFFFFFFF)

    def host_sequence(self) -> list:
        """The operations that take a chip from reset to this plan, in order:
        ``("write", address, data)``, ``("program", tile, row, targets_row)`` (a closed-loop
        target row), ``("commit",)`` (ROUTE_CMD, then wait for the check's verdict)."""
        regs = ChipRegisterFile(self.chip)
        ops = []
        for i, (t, lm) in enumerate(zip(self.tiles, self.layers)):
            ops += [("write", tile_address(t, a), d)
                    for a, d in regs.tiles[t].load_program(self.tile_program(i))]
            # every row, the unused ones at weight 0: whatever the array held before must not
            # reach an output (an unused lane of the previous tile can still carry a pulse)
            for row in range(self.chip.tile.rows):
                ops.append(("program", t, row, lm.targets[row].copy()))
        for t, lm in zip(self.tiles, self.layers):
            ops += [("write", a, d) for a, d in regs.load_tile(t, lm.config)]
        modes = [InputMode.UNSIGNED] * self.chip.pairs
        modes[self.pair] = self.input_mode
        ops += [("write", a, d) for a, d in regs.load_pair_modes(modes)]
        ops += [("write", a, d) for a, d in regs.stage(self.routing)]
        ops.append(("commit",))
        return ops

    def golden_chip(self, ops=None) -> Chip:
        """A golden chip that has executed the host sequence (``ops``, default
        :meth:`host_sequence`): register writes through ``golden.chip.regs``, every target
        row through ``golden.program.program_row`` with the tile's programming registers."""
        ops = self.host_sequence() if ops is None else ops
        p = self.chip
        regs = ChipRegisterFile(p)
        chip = Chip(p)
        codes = {}
        for op in ops:
            if op[0] == "write":
                resp = regs.write(op[1], op[2])
                if resp != OKAY:
                    raise MappingError(f"write of {op[2]:#x} to {op[1]:#x} refused "
                                       f"(CHIP_ERROR {regs.error:#x})")
            elif op[0] == "program":
                _, t, row, targets = op
                res = program_row(targets, row, regs.tiles[t].prog, p.tile)
                codes.setdefault(t, np.zeros((p.tile.rows, p.tile.cols,
                                              p.tile.devices_per_weight), dtype=np.int64))
                codes[t][row] = res.codes
            elif op[0] == "commit":
                regs.commit()
                regs.advance(p.check_cycles + 1)
                if regs.verdict != RouteVerdict.APPLIED:
                    raise MappingError(f"the routing was refused: {regs.last_broken}")
            else:
                raise ValueError(f"unknown host operation {op[0]!r}")
        for t, c in codes.items():
            chip.program(t, c)
        gold = Chip.from_registers(regs, tiles=[chip.tile(t) if t in codes else None
                                               for t in range(p.tiles)])
        return gold

    def programmed_codes(self, chip: Chip) -> dict:
        """``{tile: codes}`` of the plan's tiles in ``chip``."""
        return {t: chip.tile(t).codes.copy() for t in self.tiles}

    # -- device aging and the tile's calibration ------------------------------------------------
    def device_targets(self, t: int, codes) -> np.ndarray:
        """Target codes ``(rows, cols, devices)`` of every device of tile ``t`` as the
        closed-loop programmer aims them (the LSP pair at the remainder of the programmed MSP
        pair)."""
        p = self.chip.tile
        lm = self.layers[self.tiles.index(t)]
        tw = lm.targets
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
        ``t_seconds``."""
        model = PCMModel() if model is None else model
        t_seconds = _real("t_seconds", t_seconds, nonnegative=True)
        seed = check_int("seed", seed, 0, (1 << 63) - 1)
        p = self.chip.tile
        scale = model.g_max / p.code_max
        out = {}
        for t in self.tiles:
            c = codes[t]
            g_prog = c * scale
            g_target = self.device_targets(t, c) * scale
            nu = model.drift_exponents(g_target, np.random.default_rng([seed, t]))
            rng = np.random.default_rng([seed, t, int(round(t_seconds * 1000))])
            g = model.age(g_prog, nu, t_seconds, rng, g_target=g_target)
            out[t] = conductances_to_codes(g, p, g_max=model.g_max)
        return out

    def calibrated_configs(self, reference_codes: dict, codes: dict, scope: CalScope) -> dict:
        """``{tile: TileConfig}`` after the tile's own drift calibration: a ``REFERENCE`` read
        on ``reference_codes`` (right after programming) and a ``COMPENSATE`` (``scope``) on
        ``codes`` (now); only ``GAIN`` changes (docs/spec.md section 10). Noise-free reads."""
        p = self.chip.tile
        out = {}
        for t, lm in zip(self.tiles, self.layers):
            cfg = dataclasses.replace(lm.config, noise_sigma=0)
            cal = Calibrator(p)
            cal.run(CalOp.REFERENCE, scope, reference_codes[t], cfg, p.cal_input_default)
            res = cal.run(CalOp.COMPENSATE, scope, codes[t], cfg, p.cal_input_default)
            out[t] = dataclasses.replace(lm.config, gain=res.gain)
        return out

    def infer(self, chip: Chip, x) -> tuple[np.ndarray, dict]:
        """Float outputs of inputs ``(n, inputs)`` through the golden chip (one pass per input
        vector, back to back on the plan's pair) and the pass statistics."""
        u, clipped = self.words(x)
        res = chip.run_batch(self.pair, u)
        words = res.words(self.olp_pair)
        return self.decode(words), {"inputs_clipped": clipped, "words": words,
                                    "result": res}

    # -- serialization ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": PLAN_FORMAT, "version": PLAN_VERSION,
            "chip": _chip_to_dict(self.chip), "pair": self.pair, "olp_pair": self.olp_pair,
            "input_mode": int(self.input_mode),
            "program": dataclasses.asdict(self.program),
            "routing": self.routing.to_dict(),
            "layers": [{
                "name": lm.name, "tile": t, "position": list(self.chip.position(t)),
                "inputs": lm.inputs, "outputs": lm.outputs,
                "activation": lm.activation.name, "input_mode": int(lm.input_mode),
                "in_lsb": lm.in_lsb, "v_lsb": lm.v_lsb,
                "col_scale": [float(v) for v in lm.col_scale],
                "targets": lm.targets[:lm.inputs, :lm.outputs].tolist(),
                "config": _config_to_dict(lm.config), "report": lm.report,
            } for t, lm in zip(self.tiles, self.layers)],
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        if not isinstance(d, dict) or d.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a chip plan: format must be {PLAN_FORMAT!r}")
        if d.get("version") != PLAN_VERSION:
            raise ValueError(f"plan version must be {PLAN_VERSION}, not {d.get('version')!r}")
        chip = _chip_from_dict(d["chip"])
        p = chip.tile
        layers, tiles = [], []
        for i, L in enumerate(d["layers"]):
            targets = np.zeros((p.rows, p.cols), dtype=np.int64)
            t = np.asarray(L["targets"], dtype=np.int64)
            if t.shape != (L["inputs"], L["outputs"]):
                raise ValueError(f"layers[{i}].targets must have shape ({L['inputs']}, "
                                 f"{L['outputs']}), not {t.shape}")
            targets[:t.shape[0], :t.shape[1]] = t
            layers.append(LayerMapping(
                name=L["name"], params=p, inputs=L["inputs"], outputs=L["outputs"],
                activation=Activation[L["activation"]], input_mode=InputMode(L["input_mode"]),
                in_lsb=float(L["in_lsb"]), v_lsb=float(L["v_lsb"]),
                col_scale=np.asarray(L["col_scale"], dtype=np.float64), targets=targets,
                config=_config_from_dict(L["config"], p), report=dict(L["report"])))
            tiles.append(check_int(f"layers[{i}].tile", L["tile"], 0, chip.tiles - 1))
        routing = Routing.from_dict(d["routing"], chip)
        plan = cls(chip=chip, pair=d["pair"], olp_pair=d["olp_pair"],
                   input_mode=InputMode(d["input_mode"]), tiles=tiles, layers=layers,
                   routing=routing, program=ProgramConfig(**d["program"]),
                   names=[lm.name for lm in layers])
        plan.validate()
        return plan

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        return cls.from_dict(json.loads(text))

    def validate(self) -> "Plan":
        """Raise ``MappingError`` if the plan cannot run: a tile used twice, an illegal
        routing, a layer larger than its tile, targets outside the cell's range."""
        p = self.chip
        check_int("pair", self.pair, 0, p.pairs - 1)
        check_int("olp_pair", self.olp_pair, 0, p.pairs - 1)
        if len(set(self.tiles)) != len(self.tiles):
            raise MappingError(f"tiles must be distinct, not {self.tiles}")
        for lm in self.layers:
            if int(np.abs(lm.targets).max(initial=0)) > p.tile.weight_max:
                raise MappingError(f"{lm.name}: a target weight is outside "
                                   f"[{-p.tile.weight_max}, {p.tile.weight_max}]")
        lanes = [t in self.tiles for t in range(p.tiles)]
        res = check(self.routing, lanes_mode=lanes)
        if not res.ok:
            raise MappingError(f"the routing is illegal: {'; '.join(res.reasons())}")
        self.program.validate(p.tile)
        return self


def plan_network(network: Network, chip: ChipParams | None = None, *, x_max: float = 1.0,
                 signed: bool = False, calibration_x=None, pair: int = 0,
                 olp_pair: int | None = None, tiles=None, program: ProgramConfig | None = None,
                 out_noise: float = 0.5, noise_seed: int = 0, per_column: bool = True,
                 gain_headroom: float = 2.5, out_ranges=None) -> Plan:
    """Map ``network`` onto ``chip`` (default: the paper's chip).

    ``x_max``: the float input at the largest input word (inputs in ``[0, x_max]``, or
    ``[-x_max, x_max]`` with ``signed``); ``calibration_x``: float inputs that choose the
    output scale of layers without a ``clip`` (``mapper.layer.OUT_QUANTILE``);
    ``out_ranges``: optional float output range per layer (None entries: the default rule);
    ``tiles``: the tile of each layer (default: the first legal chain near the pair's row).
    Every layer must fit one tile (``chip.tile.rows`` inputs and columns).
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
    if n > chip.tiles:
        raise MappingError(f"the network has {n} layers, the chip {chip.tiles} tiles")
    if out_ranges is None:
        out_ranges = [None] * n
    elif len(out_ranges) != n:
        raise ValueError(f"out_ranges must have one entry per layer ({n}), not "
                         f"{len(out_ranges)}")
    tp = chip.tile
    for i, layer in enumerate(network.layers):
        if layer.inputs > tp.rows or layer.outputs > tp.cols:
            raise MappingError(
                f"layers[{i}]: {layer.inputs} x {layer.outputs} does not fit a tile of "
                f"{tp.rows} x {tp.cols}; layers larger than one tile are not mapped by this "
                f"version of the mapper")
        if i < n - 1 and layer.activation == "identity":
            raise MappingError(
                f"layers[{i}]: a hidden layer travels to the next tile as unsigned pulse "
                f"durations, so its activation must be relu or hard_sigmoid, not identity")
    if tiles is None:
        tiles, routing = _chain_tiles(chip, pair, olp_pair, n)
    else:
        tiles = [check_int(f"tiles[{i}]", t, 0, chip.tiles - 1) for i, t in enumerate(tiles)]
        if len(tiles) != n:
            raise ValueError(f"tiles must name one tile per layer ({n}), not {len(tiles)}")
        routing = Routing.empty(chip)
        try:
            routing.chain(pair, tiles, olp_pair=olp_pair)
        except ValueError as e:
            raise MappingError(f"tiles {tiles}: {e}") from None
    mode = InputMode.SIGNED if signed else InputMode.UNSIGNED
    in_lsb = x_max / tp.input_range(mode)[1]
    cx = None if calibration_x is None else _float_array("calibration_x", calibration_x, 2)
    layers = []
    for i, layer in enumerate(network.layers):
        lm = map_layer(layer, tp, in_lsb=in_lsb, name=f"layers[{i}]",
                       input_mode=mode if i == 0 else InputMode.UNSIGNED,
                       out_range=out_ranges[i],
                       calibration_x=cx, per_column=per_column, gain_headroom=gain_headroom,
                       out_noise=out_noise,
                       noise_seed=(noise_seed + 0x51ED27 * (i + 1)) & 0xFFFFFFFF)
        lm = dataclasses.replace(
            lm, config=dataclasses.replace(lm.config, input_source=InputSource.LANES))
        layers.append(lm)
        if cx is not None:
            # what the next layer sees: this layer's quantized float output
            cx = layer.forward(cx)
        in_lsb = lm.out_lsb
    plan = Plan(chip=chip, pair=pair, olp_pair=olp_pair, input_mode=mode, tiles=list(tiles),
                layers=layers, routing=routing, program=program,
                names=[lm.name for lm in layers])
    return plan.validate()
