"""A network as the mapper sees it: a sequence of dense layers with biases and activations
(docs/mapping.md section 1).

``Dense(weight, bias, activation, clip)``: ``weight`` is ``(inputs, outputs)`` (rows are inputs, as
on a tile's crossbar: ``y = act(x @ weight + bias)``), ``bias`` is ``(outputs,)``, and
``activation`` is one of :data:`ACTIVATIONS`:

- ``"relu"``: ``max(0, v)``, and ``min(clip, .)`` when the layer has a ``clip``: on the chip
  a hidden layer's EN window clips at the top of the output range (a bounded ReLU,
  ``golden.spec.Activation.RELU``), so hardware-aware training learns with the bound the
  mapper then puts at ``out_max``;
- ``"identity"``: the last layer of a classifier (logits), the signed EN window;
- ``"hard_sigmoid"``: ``clip(v / 2 + 1/2, 0, 1)`` on the float side; the tile's HARD_SIGMOID
  window.

A network serializes to ``.npz`` (:meth:`Network.save`, :meth:`Network.load`) with the keys
``w0, b0, w1, b1, ...``, ``activations`` (an array of the names) and ``clips`` (one float per
layer, NaN for none); a plain ``dict`` with the same keys is accepted by
:meth:`Network.from_dict` (``activations`` and ``clips`` are optional there).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ACTIVATIONS", "Dense", "Network", "activate"]

#: Activation names a layer may carry.
ACTIVATIONS = ("relu", "identity", "hard_sigmoid")


def _float_array(name: str, value, ndim: int) -> np.ndarray:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a {ndim}-D array of real numbers, not {value!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.dtype == bool:
        raise TypeError(f"{name} must be a {ndim}-D array of real numbers, not dtype "
                        f"{arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, not shape {arr.shape}")
    arr = arr.astype(np.float64)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = np.unravel_index(int(np.flatnonzero(~np.isfinite(arr))[0]), arr.shape)
        raise ValueError(f"{name}[{', '.join(map(str, bad))}] = {arr[bad]} is not finite")
    return arr


def activate(v, activation: str, clip: float | None = None) -> np.ndarray:
    """The float activation ``activation`` of ``v`` (``clip``: the bound of a ReLU)."""
    if activation == "relu":
        r = np.maximum(v, 0.0)
        return r if clip is None else np.minimum(r, clip)
    if activation == "identity":
        return np.asarray(v, dtype=np.float64)
    if activation == "hard_sigmoid":
        return np.clip(np.asarray(v) / 2.0 + 0.5, 0.0, 1.0)
    raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")


@dataclass(frozen=True, eq=False)
class Dense:
    """One dense layer ``act(x @ weight + bias)``."""
    weight: np.ndarray
    bias: np.ndarray
    activation: str = "relu"
    clip: float | None = None

    def __post_init__(self):
        w = _float_array("weight", self.weight, 2)
        if w.shape[0] < 1 or w.shape[1] < 1:
            raise ValueError(f"weight must have at least one input and one output, not shape "
                             f"{w.shape}")
        b = _float_array("bias", self.bias, 1)
        if b.shape != (w.shape[1],):
            raise ValueError(f"bias must have shape ({w.shape[1]},) (the weight's outputs), not "
                             f"{b.shape}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not "
                             f"{self.activation!r}")
        if self.clip is not None:
            if self.activation != "relu":
                raise ValueError(f"clip only applies to a relu layer, not to {self.activation!r}")
            if isinstance(self.clip, bool) or not isinstance(self.clip, numbers.Real) \
                    or not np.isfinite(self.clip) or self.clip <= 0:
                raise ValueError(f"clip must be a finite real number > 0 or None, not "
                                 f"{self.clip!r}")
            object.__setattr__(self, "clip", float(self.clip))
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)

    @property
    def inputs(self) -> int:
        return self.weight.shape[0]

    @property
    def outputs(self) -> int:
        return self.weight.shape[1]

    def forward(self, x) -> np.ndarray:
        return activate(np.asarray(x, dtype=np.float64) @ self.weight + self.bias,
                        self.activation, self.clip)


class Network:
    """A sequence of :class:`Dense` layers whose sizes chain."""

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise ValueError("a network needs at least one layer, not 0")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Dense):
                raise TypeError(f"layers[{i}] must be a Dense, not {layer!r}")
            if i and layer.inputs != layers[i - 1].outputs:
                raise ValueError(f"layers[{i}] has {layer.inputs} inputs but layers[{i - 1}] "
                                 f"has {layers[i - 1].outputs} outputs")
        self.layers = tuple(layers)

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        sizes = " -> ".join([str(self.inputs)] + [f"{l.outputs} ({l.activation})"
                                                  for l in self.layers])
        return f"Network({sizes})"

    @property
    def inputs(self) -> int:
        return self.layers[0].inputs

    @property
    def outputs(self) -> int:
        return self.layers[-1].outputs

    def forward(self, x) -> np.ndarray:
        """Float inference of inputs ``(n, inputs)`` or ``(inputs,)``."""
        v = _float_array("x", x, np.ndim(x)) if np.ndim(x) in (1, 2) else None
        if v is None or v.shape[-1] != self.inputs:
            raise ValueError(f"x must have shape ({self.inputs},) or (n, {self.inputs}), not "
                             f"{np.shape(x)}")
        for layer in self.layers:
            v = layer.forward(v)
        return v

    # -- serialization --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {}
        for i, layer in enumerate(self.layers):
            d[f"w{i}"] = layer.weight
            d[f"b{i}"] = layer.bias
        d["activations"] = np.array([l.activation for l in self.layers])
        d["clips"] = np.array([np.nan if l.clip is None else l.clip for l in self.layers])
        return d

    @classmethod
    def from_dict(cls, data) -> "Network":
        """A network from ``{"w0": ..., "b0": ..., ..., "activations": [...]}``; without
        ``activations``, every layer but the last is ``relu`` and the last ``identity``."""
        if not hasattr(data, "keys"):
            raise TypeError(f"data must be a mapping of arrays (w0, b0, ...), not {data!r}")
        keys = set(data.keys())
        n = 0
        while f"w{n}" in keys:
            n += 1
        if n == 0:
            raise ValueError(f"data holds no layer: expected keys w0, b0, ..., got "
                             f"{sorted(keys)}")
        extra = keys - {f"w{i}" for i in range(n)} - {f"b{i}" for i in range(n)} \
            - {"activations", "clips"}
        if extra:
            raise ValueError(f"data has keys that are no layer: {sorted(extra)} (layers are "
                             f"w0..w{n - 1}, b0..b{n - 1}, activations, clips)")
        if "activations" in keys:
            acts = [str(a) for a in np.asarray(data["activations"]).ravel()]
            if len(acts) != n:
                raise ValueError(f"activations must name {n} layers, not {len(acts)}: {acts}")
        else:
            acts = ["relu"] * (n - 1) + ["identity"]
        clips = [None] * n
        if "clips" in keys:
            raw = np.asarray(data["clips"])
            if raw.dtype.kind not in "iuf":
                raise TypeError(f"clips must be real numbers (NaN for none), not dtype "
                                f"{raw.dtype}")
            raw = raw.astype(np.float64).ravel()
            if raw.shape != (n,):
                raise ValueError(f"clips must hold {n} values, not {raw.size}")
            clips = [None if np.isnan(c) else float(c) for c in raw]
        layers = []
        for i in range(n):
            if f"b{i}" not in keys:
                raise ValueError(f"data has w{i} but no b{i}")
            layers.append(Dense(data[f"w{i}"], data[f"b{i}"], acts[i], clips[i]))
        return cls(layers)

    def save(self, path) -> Path:
        path = Path(path)
        np.savez(path, **self.to_dict())
        return path

    @classmethod
    def load(cls, path) -> "Network":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"path: no network file at {str(path)!r}")
        with np.load(path, allow_pickle=False) as data:
            return cls.from_dict({k: data[k] for k in data.files})


def check_positive_int(name: str, value, hi=None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 1, not {value!r}")
    if value < 1 or (hi is not None and value > hi):
        rng = f"in [1, {hi}]" if hi is not None else ">= 1"
        raise ValueError(f"{name} must be {rng}, not {value!r}")
    return int(value)
