"""One trained float layer on one tile: the quantization of inputs, weights and outputs, the
ramp and gain choice, and float in / float out through the bit-exact golden tile
(docs/mapping.md section 2).

:func:`map_layer` turns ``(weight, bias, activation)`` and the float value of one input word
(``in_lsb``) into a :class:`LayerMapping`: integer target weights for the closed-loop
programmer, the tile's ``TileConfig`` (ramp shift, per-column gain, offset = bias, EN window,
read noise) and the float value of one output word. :class:`AnalogLayer` programs a golden
tile with it and runs float inputs::

    layer = AnalogLayer.from_npz("layer.npz", x_max=1.0)      # keys weight (in, out), bias
    y = layer(x)                                              # float (n, out)
    print(layer.report())

The rules, for column c of a layer with ``n`` inputs (all integers are the tile's):

- input word ``u = round(x / in_lsb)``; inputs beyond the word range are clipped to it and
  counted (``LayerRun.inputs_clipped``), as a DAC would;
- column scale ``s_c = max(max_i |W_ic|, max|W| / column_range)`` (per-column scaling with a
  floor, so no column needs a gain below ``1 / column_range`` of the largest);
  ``per_column=False``: ``s_c = max|W|``;
- target weight ``T_ic = round(W_ic / s_c * weight_max)``;
- one charge unit of column c is worth ``in_lsb * s_c / weight_max`` in float;
- the pre-activation LSB ``v_lsb`` is ``out_range / out_pos`` with ``out_pos`` the window's
  largest positive step (``out_max`` for RELU, ``2^(out_bits-1) - 1`` for IDENTITY) and
  ``out_range`` the float value that lands there (the layer's ``clip``, or a quantile of the
  calibration data); HARD_SIGMOID has ``v_lsb = 2^-(out_bits-2)`` (its window is ``[-1, 1]``);
- ``GAIN[c] / 2^(RAMP_SHIFT + gain_frac_bits) = in_lsb * s_c / (weight_max * v_lsb)``:
  ``RAMP_SHIFT`` is the largest shift whose largest gain stays within
  ``(2^gain_bits - 1) / gain_headroom`` (the headroom lets the tile's drift compensation raise
  the gains later); ``OFFSET[c] = round(bias_c / v_lsb)``; the tile's unused columns get
  ``GAIN`` 0 and ``OFFSET`` 0, so they emit no pulse (ReLU) into the next tile's rows;
- read noise ``NOISE_SIGMA`` such that its standard deviation is ``out_noise`` output LSBs of
  the median column.

Errors name the layer, the quantity, its value and the legal range (a bias beyond the OFFSET
register, a scale that needs more gain than the GAIN register holds, a layer larger than the
tile): nothing is clipped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from golden.device import _check_real as _real
from golden.noise import noise_sd
from golden.program import ProgramConfig, program_array
from golden.spec import (READ_NOISE_SIGMA_MAX, Activation, InputMode, TileConfig, TileParams,
                         check_params)
from golden.tile import Tile

from .network import Dense, _float_array

__all__ = ["MappingError", "LayerMapping", "LayerRun", "map_layer", "AnalogLayer",
           "AIHWKIT_NAMES", "OUT_QUANTILE"]

#: Quantile of the calibration data's outputs that is put at the top of the output range
#: when a layer has no clip.
OUT_QUANTILE = 0.999

#: The field's usual names (IBM aihwkit's RPUConfig / InferenceRPUConfig) that mean the same
#: as an argument of :func:`map_layer` or :class:`AnalogLayer`; docs/mapping.md section 2
#: explains each.
AIHWKIT_NAMES = {
    "inp_res": "in_bits",             # 1 / (2^in_bits - 2) in aihwkit, a resolution: bits here
    "out_res": "out_bits",
    "out_bound": "out_range",
    "out_noise": "out_noise",
    "w_noise": "prog_noise_scale",
    "max_input_size": "rows",
    "max_output_size": "cols",
    "drift_compensation": "calibration",
}

_ACTIVATIONS = {"relu": Activation.RELU, "identity": Activation.IDENTITY,
                "hard_sigmoid": Activation.HARD_SIGMOID}


class MappingError(ValueError):
    """A layer or network that cannot be mapped as asked."""


@dataclass(frozen=True, eq=False)
class LayerMapping:
    """A dense layer mapped onto one tile (rows ``[0, inputs)``, columns ``[0, outputs)``)."""
    name: str
    params: TileParams
    inputs: int
    outputs: int
    activation: Activation
    input_mode: InputMode
    in_lsb: float                 #: float value of one input word step
    v_lsb: float                  #: float value of one pre-activation output step
    col_scale: np.ndarray         #: s_c, (outputs,)
    targets: np.ndarray           #: (rows, cols) int64, zero outside the layer
    config: TileConfig
    report: dict = field(default_factory=dict)

    @property
    def lo(self) -> int:
        return self.params.activation_window(self.activation)[0]

    @property
    def word_range(self) -> tuple[int, int]:
        return self.params.input_range(self.input_mode)

    @property
    def out_lsb(self) -> float:
        """Float value of one output word step (HARD_SIGMOID: of the activation's output)."""
        if self.activation == Activation.HARD_SIGMOID:
            return 2.0 ** -(self.params.out_bits - 1)
        return self.v_lsb

    def words(self, x) -> tuple[np.ndarray, int]:
        """Input words ``(n, rows)`` of float inputs ``(n, inputs)`` and how many were
        clipped to the word range."""
        x = _float_array("x", x, np.ndim(x)) if np.ndim(x) in (1, 2) else None
        if x is None or x.shape[-1] != self.inputs:
            raise ValueError(f"x must have shape ({self.inputs},) or (n, {self.inputs}), not "
                             f"{np.shape(x)}")
        lo, hi = self.word_range
        u = np.floor(x / self.in_lsb + 0.5)
        clipped = int(np.count_nonzero((u < lo) | (u > hi)))
        u = np.clip(u, lo, hi).astype(np.int64)
        pad = np.zeros(u.shape[:-1] + (self.params.rows,), dtype=np.int64)
        pad[..., :self.inputs] = u
        return pad, clipped

    def decode(self, y) -> np.ndarray:
        """Float outputs ``(..., outputs)`` of output words ``(..., cols)``."""
        y = np.asarray(y)[..., :self.outputs]
        if self.activation == Activation.HARD_SIGMOID:
            return y * self.out_lsb
        return (y + self.lo) * self.v_lsb

    def ideal(self, x, weight, bias) -> np.ndarray:
        """The float layer on the quantized inputs: what the tile approximates."""
        u, _ = self.words(x)
        return (u[..., :self.inputs] * self.in_lsb) @ weight + bias


def _out_range(pre, activation: Activation, clip) -> float:
    if clip is not None:
        return float(clip)
    if pre is None:
        raise MappingError("out_range: a layer without clip needs out_range or calibration "
                           "inputs to choose its output scale")
    v = np.maximum(pre, 0.0) if activation == Activation.RELU else np.abs(pre)
    r = float(np.quantile(v, OUT_QUANTILE)) if v.size else 0.0
    if r <= 0:
        r = float(v.max()) if v.size else 0.0
    if r <= 0:
        raise MappingError("out_range: the calibration outputs are all 0; give out_range")
    return r


def map_layer(layer: Dense, params: TileParams, *, in_lsb: float, name: str = "layer",
              input_mode: InputMode = InputMode.UNSIGNED, out_range: float | None = None,
              calibration_x=None, per_column: bool = True, column_range: float = 4.0,
              gain_headroom: float = 2.5, out_noise: float = 0.5, noise_seed: int = 0,
              noise_limit: str = "error") -> LayerMapping:
    """Map ``layer`` onto a tile of ``params`` whose input word step is worth ``in_lsb``.

    ``out_range``: the float pre-activation put at the top of the output window (default: the
    layer's ``clip``, else the ``OUT_QUANTILE`` of ``|calibration_x @ W + b|``).
    ``out_noise``: read noise in output LSBs (standard deviation; 0 turns it off).
    ``noise_limit``: what to do when that needs a ``NOISE_SIGMA`` beyond its 16 bits (a tile
    whose output step holds many charge units: many rows at a fine ramp): ``"error"``
    (``MappingError``) or ``"cap"`` (``NOISE_SIGMA`` at its largest value; the report's
    ``out_noise`` gives the noise reached, ``out_noise_asked`` the request).
    """
    if not isinstance(layer, Dense):
        raise TypeError(f"layer must be a Dense, not {layer!r}")
    check_params(params)
    in_lsb = _real("in_lsb", in_lsb, positive=True)
    column_range = _real("column_range", column_range, positive=True)
    if column_range < 1:
        raise ValueError(f"column_range must be >= 1, not {column_range!r}")
    gain_headroom = _real("gain_headroom", gain_headroom, positive=True)
    if gain_headroom < 1:
        raise ValueError(f"gain_headroom must be >= 1, not {gain_headroom!r}")
    out_noise = _real("out_noise", out_noise, nonnegative=True)
    if not isinstance(per_column, (bool, np.bool_)):
        raise TypeError(f"per_column must be a bool, not {per_column!r}")
    if layer.inputs > params.rows or layer.outputs > params.cols:
        raise MappingError(
            f"{name}: {layer.inputs} x {layer.outputs} does not fit a tile of {params.rows} rows "
            f"x {params.cols} columns (inputs must be in [1, {params.rows}], outputs in "
            f"[1, {params.cols}])")
    activation = _ACTIVATIONS[layer.activation]
    if out_range is not None:
        out_range = _real("out_range", out_range, positive=True)
    w, b = layer.weight, layer.bias

    # weights
    amax = np.abs(w).max(axis=0)
    s_all = float(amax.max()) if amax.size else 0.0
    if s_all == 0:
        s_all = 1.0
    col_scale = np.maximum(amax, s_all / column_range) if per_column \
        else np.full(layer.outputs, s_all)
    wmax = params.weight_max
    t = np.floor(w / col_scale * wmax + 0.5).astype(np.int64)
    targets = np.zeros((params.rows, params.cols), dtype=np.int64)
    targets[:layer.inputs, :layer.outputs] = t

    # output scale
    lo, hi = params.activation_window(activation)
    if activation == Activation.HARD_SIGMOID:
        v_lsb = 2.0 ** -(params.out_bits - 2)
    else:
        if out_range is None and layer.clip is None and calibration_x is not None:
            cx = _float_array("calibration_x", calibration_x, 2)
            if cx.shape[1] != layer.inputs:
                raise ValueError(f"calibration_x must have {layer.inputs} columns, not "
                                 f"{cx.shape[1]}")
            pre = cx @ w + b
        else:
            pre = None
        rng = out_range if out_range is not None else _out_range(pre, activation, layer.clip)
        v_lsb = rng / hi

    # gains and the ramp shift
    ratio = in_lsb * col_scale / (wmax * v_lsb)            # gain / 2^(shift + frac)
    gmax_reg = (1 << params.gain_bits) - 1
    cap = gmax_reg / gain_headroom
    frac = params.gain_frac_bits
    shift = None
    for s in range(params.ramp_shift_max, -1, -1):
        g = np.floor(ratio * 2.0 ** (s + frac) + 0.5)
        if g.max() <= cap:
            shift = s
            break
    if shift is None:
        raise MappingError(
            f"{name}: the output scale needs a gain of {ratio.max() * 2.0 ** frac:.1f} at "
            f"RAMP_SHIFT 0, beyond GAIN's range [0, {gmax_reg}] / headroom {gain_headroom}: "
            f"choose a larger out_range or a smaller in_lsb")
    gain = np.zeros(params.cols, dtype=np.int64)       # unused columns emit nothing
    gain[:layer.outputs] = np.floor(ratio * 2.0 ** (shift + frac) + 0.5).astype(np.int64)
    if gain[:layer.outputs].min() < 1:
        c = int(np.argmin(gain[:layer.outputs]))
        raise MappingError(f"{name}: column {c}'s gain rounds to 0 (ratio {ratio[c]:.3g}); "
                           f"lower column_range")

    # bias -> OFFSET
    off = np.floor(b / v_lsb + 0.5)
    olo, ohi = -(1 << params.out_bits), (1 << params.out_bits) - 1
    bad = np.flatnonzero((off < olo) | (off > ohi))
    if bad.size:
        c = int(bad[0])
        raise MappingError(
            f"{name}: bias[{c}] = {b[c]:.4g} is {int(off[c])} output steps of {v_lsb:.4g}, "
            f"outside OFFSET's range [{olo}, {ohi}]")
    offset = np.zeros(params.cols, dtype=np.int64)
    offset[:layer.outputs] = off.astype(np.int64)

    # read noise: out_noise output LSBs at the median column
    charge_per_lsb = float(np.median(2.0 ** (shift + frac) / gain[:layer.outputs]))
    sigma = int(round(out_noise * charge_per_lsb / noise_sd(1))) if out_noise else 0
    if noise_limit not in ("error", "cap"):
        raise ValueError(f"noise_limit must be 'error' or 'cap', not {noise_limit!r}")
    reached = out_noise
    if sigma > READ_NOISE_SIGMA_MAX:
        if noise_limit == "error":
            raise MappingError(f"{name}: out_noise {out_noise} needs NOISE_SIGMA {sigma}, "
                               f"beyond [0, {READ_NOISE_SIGMA_MAX}] (noise_limit='cap' takes "
                               f"the largest)")
        sigma = READ_NOISE_SIGMA_MAX
        reached = sigma * noise_sd(1) / charge_per_lsb
    cfg = TileConfig(input_mode=input_mode, activation=activation, ramp_shift=shift,
                     gain=gain, offset=offset, noise_seed=noise_seed, noise_sigma=sigma)
    cfg = cfg.resolved(params)
    report = {
        "ramp_shift": shift, "gain_min": int(gain[:layer.outputs].min()),
        "gain_max": int(gain[:layer.outputs].max()), "noise_sigma": sigma,
        "in_lsb": in_lsb, "v_lsb": v_lsb, "out_range": v_lsb * hi,
        "offset_min": int(offset[:layer.outputs].min()),
        "offset_max": int(offset[:layer.outputs].max()),
        "out_noise": reached, "out_noise_asked": out_noise,
    }
    return LayerMapping(name=name, params=params, inputs=layer.inputs, outputs=layer.outputs,
                        activation=activation, input_mode=InputMode(input_mode), in_lsb=in_lsb,
                        v_lsb=v_lsb, col_scale=col_scale, targets=targets, config=cfg,
                        report=report)


@dataclass
class LayerRun:
    """Float outputs of a batch and what the quantization did to it."""
    y: np.ndarray
    words: np.ndarray
    inputs_clipped: int
    outputs_saturated: int        #: output words at the top of the EN window


class AnalogLayer:
    """A trained float layer programmed onto a golden tile: float in, float out.

    ``weight`` is ``(inputs, outputs)``, ``bias`` ``(outputs,)`` (default 0). Inputs in
    ``[0, x_max]`` (``signed=False``, UNSIGNED words) or ``[-x_max, x_max]`` (SIGNED words).
    The tile is programmed by the kit's closed-loop programmer (``golden.program``, bit-exact
    with the RTL's) from ``program`` (a ``ProgramConfig``; its ``noise_scale`` sets the
    programming noise). aihwkit's names are accepted as keywords (:data:`AIHWKIT_NAMES`):
    ``inp_res``/``out_res`` as bit counts, ``out_bound`` as ``out_range``, ``out_noise``,
    ``max_input_size``/``max_output_size`` as the tile's rows/columns.
    """

    def __init__(self, weight, bias=None, *, x_max: float = 1.0, signed: bool = False,
                 activation: str = "identity", params: TileParams | None = None,
                 program: ProgramConfig | None = None, calibration_x=None,
                 out_range: float | None = None, out_noise: float = 0.5,
                 per_column: bool = True, noise_seed: int = 0, **aihwkit):
        unknown = set(aihwkit) - set(AIHWKIT_NAMES)
        if unknown:
            raise TypeError(f"unknown argument(s) {sorted(unknown)}; aihwkit names accepted: "
                            f"{sorted(AIHWKIT_NAMES)}")
        w = _float_array("weight", weight, 2)
        b = np.zeros(w.shape[1]) if bias is None else bias
        tile_kw = {}
        if "inp_res" in aihwkit:
            tile_kw["in_bits"] = aihwkit["inp_res"]
        if "out_res" in aihwkit:
            tile_kw["out_bits"] = aihwkit["out_res"]
        if "max_input_size" in aihwkit:
            tile_kw["rows"] = aihwkit["max_input_size"]
        if "max_output_size" in aihwkit:
            tile_kw["cols"] = aihwkit["max_output_size"]
        if "out_bound" in aihwkit:
            if out_range is not None:
                raise TypeError("give out_range or out_bound, not both")
            out_range = aihwkit["out_bound"]
        if "out_noise" in aihwkit:
            out_noise = aihwkit["out_noise"]
        if "w_noise" in aihwkit or "drift_compensation" in aihwkit:
            raise TypeError("w_noise and drift_compensation are set through program= "
                            "(ProgramConfig.noise_scale) and the tile's calibration "
                            "(docs/mapping.md section 2)")
        if params is None:
            rows = tile_kw.pop("rows", max(w.shape[0], 1))
            cols = tile_kw.pop("cols", max(w.shape[1], 1))
            params = TileParams(rows=rows, cols=cols, **tile_kw)
        elif tile_kw:
            raise TypeError(f"give params or the aihwkit sizes/resolutions, not both: "
                            f"{sorted(tile_kw)}")
        check_params(params)
        x_max = _real("x_max", x_max, positive=True)
        if not isinstance(signed, (bool, np.bool_)):
            raise TypeError(f"signed must be a bool, not {signed!r}")
        mode = InputMode.SIGNED if signed else InputMode.UNSIGNED
        word_max = params.input_range(mode)[1]
        self.dense = Dense(w, b, activation)
        self.mapping = map_layer(self.dense, params, in_lsb=x_max / word_max, name="layer",
                                 input_mode=mode, out_range=out_range,
                                 calibration_x=calibration_x, per_column=per_column,
                                 out_noise=out_noise, noise_seed=noise_seed)
        self.program_config = ProgramConfig() if program is None else program
        if not isinstance(self.program_config, ProgramConfig):
            raise TypeError(f"program must be a ProgramConfig, not {program!r}")
        self.programmed = program_array(self.mapping.targets, self.program_config, params)
        self.tile = Tile(params, self.programmed.codes)
        self._mvms = 0

    @classmethod
    def from_npz(cls, path, **kwargs) -> "AnalogLayer":
        """A layer from an ``.npz`` with ``weight`` (inputs, outputs) and optionally ``bias``
        (``w0``/``b0`` of a one-layer network file work too)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"path: no layer file at {str(path)!r}")
        with np.load(path, allow_pickle=False) as d:
            keys = set(d.files)
            for wk, bk in (("weight", "bias"), ("w0", "b0")):
                if wk in keys:
                    return cls(d[wk], d[bk] if bk in keys else None, **kwargs)
        raise ValueError(f"{path}: expected a 'weight' (and 'bias') array, found {sorted(keys)}")

    @classmethod
    def from_dict(cls, data, **kwargs) -> "AnalogLayer":
        if not hasattr(data, "keys") or "weight" not in data:
            raise ValueError("data must be a mapping with 'weight' (and 'bias')")
        return cls(data["weight"], data.get("bias"), **kwargs)

    def run(self, x) -> LayerRun:
        m = self.mapping
        u, clipped = m.words(x)
        batch = u if u.ndim == 2 else u[None]
        y = self.tile.mvm(batch, m.config, mvm_index=self._mvms)
        self._mvms += batch.shape[0]
        y = y if u.ndim == 2 else y[0]
        top = m.params.activation_window(m.activation)[1] - m.lo
        sat = int(np.count_nonzero(np.asarray(y)[..., :m.outputs] >= top))
        return LayerRun(y=m.decode(y), words=np.asarray(y), inputs_clipped=clipped,
                        outputs_saturated=sat)

    def __call__(self, x) -> np.ndarray:
        return self.run(x).y

    def report(self) -> str:
        m, r = self.mapping, self.mapping.report
        p = m.params
        stats = self.programmed
        err = np.abs(stats.weights[:m.inputs, :m.outputs] - m.targets[:m.inputs, :m.outputs])
        return "\n".join([
            f"layer {m.inputs} x {m.outputs} ({m.activation.name}) on a {p.rows} x {p.cols} "
            f"tile, {p.devices_per_weight} PCM per weight",
            f"  input: {m.input_mode.name} words of {p.in_bits} bits, 1 step = {m.in_lsb:.4g}",
            f"  weights: per-column scale {m.col_scale.min():.4g} .. {m.col_scale.max():.4g} -> "
            f"+-{p.weight_max}; programmed mean |error| {err.mean():.2f} weight units",
            f"  ramp: RAMP_SHIFT {r['ramp_shift']}, GAIN {r['gain_min']} .. {r['gain_max']} "
            f"(1.0 = {p.gain_one}), OFFSET {r['offset_min']} .. {r['offset_max']}",
            f"  output: 1 step = {m.v_lsb:.4g}, range {r['out_range']:.4g}; read noise "
            f"NOISE_SIGMA {r['noise_sigma']}",
        ])

