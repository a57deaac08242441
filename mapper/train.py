"""Hardware-aware training of fully connected classifiers for the tile, in NumPy.

The trained :class:`~mapper.network.Network` has ``relu`` hidden layers, each with a ``clip``
(the bounded ReLU of the hidden layer's EN window, which the mapper puts at the top of the
output ramp), and an ``identity`` output layer (logits). Training sees the chip's
non-idealities, evaluation (:func:`accuracy`) is plain float inference:

- **inputs**: the ILP turns each input into a pulse duration of ``in_bits`` bits; training
  quantizes the inputs to the ``2^in_bits`` values ``k x_max / (2^in_bits - 1)``,
  ``k = 0 .. 2^in_bits - 1``, after clipping to ``[0, x_max]``.
- **hidden outputs**: the OLP measures each column on an ``out_bits`` ramp whose EN window is
  the bounded ReLU ``clip(v, 0, clip)``; training applies it and quantizes the result to the
  ``2^out_bits`` values ``k clip / (2^out_bits - 1)``. Both quantizers pass the gradient
  straight through (the rounding is the identity for the gradient; the bounded ReLU keeps its
  own gradient, 1 on ``(0, clip)`` and 0 elsewhere). The clip of a layer is the running
  (exponential moving average, momentum :data:`CLIP_MOMENTUM`) ``clip_percentile``-th
  percentile of its pre-activations over each batch; the final value is stored in the layer's
  ``Dense.clip``. The output (identity) layer's range is tracked the same way on ``|v|``; it
  only scales that layer's output noise and is not stored.
- **weight noise** (``w_noise``): every batch draws one additive Gaussian perturbation of each
  weight matrix, standard deviation ``w_noise * max_i |W[i, j]|`` for output column ``j`` (the
  per-column weight scaling of the mapping: a column's largest weight uses the cell's full
  range). The gradient is computed through the perturbed weights and applied to the clean
  ones. Biases are digital and carry no noise.
- **output noise** (``out_noise``): additive Gaussian noise on every pre-activation, standard
  deviation ``out_noise`` times the layer's output range (its clip, or the tracked ``|v|``
  range of the output layer).

Default ``w_noise = 0.02``. The kit's cell is a 4-PCM cell with F = 1 (``golden.spec``:
``devices_per_weight = 4``, ``f_factor = 1``), weights scaled per column so that the column's
largest ``|W|`` maps to the full range ``R = (F + 1) g_max = 50`` uS (golden/device.py's
mapping rule). The most-significant pair is programmed with
``sigma_p(g) = 0.26348 + 1.9650 x - 1.1731 x^2`` uS (``x = g / g_max``; 0.26 uS at 0, 1.06 uS
at ``g_max``); the least-significant pair then targets the remainder and corrects that error
down to its own ``sigma_p`` near zero conductance (about 0.3 uS), except for weights beyond
``F g_max``, whose remainder is itself large. Measured with ``golden.device.program_weights``
(512 x 64 matrices, Gaussian / uniform / Laplace weights), the programmed cell weight minus
its target, relative to ``R``, has a standard deviation of 0.7-1.4 % (1.5-1.8 % for weights
above half the column's maximum); the first read (t = 0, one frozen read-noise draw) brings it
to 1.8 %, one day of drift with per-column compensation to 2.8 % (2-PCM cells: 2.3-3.6 % from
programming alone). 2 % covers a freshly programmed 4-PCM tile. ``python -m mapper.train``
prints these figures (:func:`programming_noise`) and compares hardware-aware with plain
training on digits under weight noise and on the device model.

Default ``out_noise = 0.04``: the value of the standard evaluation preset of Rasch et al. 2023,
here taken relative to the layer's output range (the preset's is relative to a unit
weight-times-input product, with an output bound of 10): a deliberately generous output noise
for the ramp, the OLP and the read noise of the MVM.

Everything is deterministic from ``TrainConfig.seed``: the weight initialization, the batch
order, the weight noise and the output noise draw from four independent streams of one
``numpy.random.SeedSequence`` (so a training with ``w_noise = 0`` starts from the same
weights and sees the same batches as one with ``w_noise > 0``).

:func:`train_cached` keeps trained networks under ``build/train`` (``.npz``), keyed by a hash
of the configuration, the data and :data:`FORMAT_VERSION`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import numbers
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .network import Dense, Network

__all__ = [
    "FORMAT_VERSION", "CLIP_MOMENTUM", "TrainConfig", "digits_data", "train", "accuracy",
    "forward_train", "quantize", "perturb_weights", "noisy_accuracy", "programmed_accuracy",
    "programming_noise", "cache_key", "cache_path", "cached_network", "train_cached",
]

log = logging.getLogger(__name__)

#: Version of the training algorithm and of the cache file; part of every cache key, so a change
#: of the training code that changes its result must bump it.
FORMAT_VERSION = 1

#: Momentum of the running percentile that sets each layer's clip (and the output layer's range).
CLIP_MOMENTUM = 0.9

_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8


# -- validation helpers -----------------------------------------------------------------------
def _check_int(name, value, lo, hi=None, allow_none=False):
    if value is None and allow_none:
        return None
    rng = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
    none = " or None" if allow_none else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer {rng}{none}, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer {rng}{none}, not {value!r}")
    return int(value)


def _check_float(name, value, lo, hi=None, lo_open=False, hi_open=False):
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    rng = f"{left}{lo}, {hi if hi is not None else 'inf'}{right if hi is not None else ')'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in {rng}, not {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < lo or (lo_open and v == lo) \
            or (hi is not None and (v > hi or (hi_open and v == hi))):
        raise ValueError(f"{name} must be a finite real number in {rng}, not {value!r}")
    return v


def _check_seed(name, value):
    return _check_int(name, value, 0, 2**63 - 1)


# -- data -------------------------------------------------------------------------------------
def digits_data(seed: int = 0, test_fraction: float = 0.25):
    """scikit-learn's handwritten digits (1797 images of 8 x 8 pixels, 10 classes).

    Returns ``(x_train, y_train, x_test, y_test)``: inputs ``(n, 64)`` float64 in ``[0, 1]``
    (pixel / 16), labels ``(n,)`` int64; the split is stratified by class and drawn from
    ``seed``.
    """
    seed = _check_int("seed", seed, 0, 2**32 - 1)
    test_fraction = _check_float("test_fraction", test_fraction, 0.0, 1.0, lo_open=True,
                                 hi_open=True)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    data = load_digits()
    x = np.asarray(data.data, dtype=np.float64) / 16.0
    y = np.asarray(data.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return (np.ascontiguousarray(x_tr), np.ascontiguousarray(y_tr),
            np.ascontiguousarray(x_te), np.ascontiguousarray(y_te))


def _check_x(x):
    """``x`` as finite float64 ``(n, inputs)``."""
    xa = np.asarray(x)
    if xa.dtype.kind not in "iuf" or xa.dtype == bool:
        raise TypeError(f"x must be a 2-D array of real numbers, not dtype {xa.dtype}")
    if xa.ndim != 2 or xa.shape[0] < 1 or xa.shape[1] < 1:
        raise ValueError(f"x must have shape (samples, inputs) with both >= 1, not {xa.shape}")
    xa = xa.astype(np.float64)
    if not np.all(np.isfinite(xa)):
        raise ValueError(f"x[{int(np.flatnonzero(~np.isfinite(xa.ravel()))[0]) // xa.shape[1]}]"
                         f" holds a NaN or infinity")
    return np.ascontiguousarray(xa)


def _check_data(x, y):
    """``x`` as finite float64 ``(n, inputs)``, ``y`` as int64 ``(n,)`` labels ``>= 0``."""
    xa = _check_x(x)
    ya = np.asarray(y)
    if ya.dtype.kind not in "iu":
        raise TypeError(f"y must be integer class labels, not dtype {ya.dtype}")
    if ya.shape != (xa.shape[0],):
        raise ValueError(f"y must have shape ({xa.shape[0]},) (one label per row of x), not "
                         f"{ya.shape}")
    if ya.min() < 0:
        raise ValueError(f"y must hold labels >= 0, not {int(ya.min())}")
    return xa, np.ascontiguousarray(ya.astype(np.int64))


# -- configuration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters and hardware-aware knobs of :func:`train` (module docstring).

    Members
    -------
    hidden: sizes of the hidden (bounded ReLU) layers, e.g. ``(64,)`` for 64 -> 64 -> 10;
        ``()`` trains a single linear layer. Each size in ``[1, 512]`` (one tile's columns).
    epochs: passes over the training data (>= 1).
    batch_size: samples per Adam step (>= 1).
    learning_rate: Adam step size (> 0), decayed by a half cosine to 0 over the training.
    weight_decay: decoupled weight decay (AdamW) of the weight matrices (>= 0; biases none).
    seed: seed of every random draw (>= 0).
    in_bits: input quantization bits in ``[1, 16]``, or ``None`` for float inputs.
    x_max: top of the input range (> 0); inputs are clipped to ``[0, x_max]`` when quantized.
    out_bits: hidden-output quantization bits in ``[1, 16]``, or ``None`` for float outputs.
    w_noise: relative weight noise per column in ``[0, 1]`` (0 turns it off).
    out_noise: output noise relative to the layer's output range in ``[0, 1]``.
    clip_percentile: percentile of the pre-activations that sets a hidden layer's clip, in
        ``(50, 100]``.
    """
    hidden: tuple = (64,)
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    in_bits: int | None = 8
    x_max: float = 1.0
    out_bits: int | None = 8
    w_noise: float = 0.02
    out_noise: float = 0.04
    clip_percentile: float = 99.5

    def __post_init__(self):
        hidden = self.hidden
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list)):
            raise TypeError(f"hidden must be a tuple of layer sizes in [1, 512], not "
                            f"{hidden!r}")
        hidden = tuple(_check_int(f"hidden[{i}]", h, 1, 512) for i, h in enumerate(hidden))
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(self, "epochs", _check_int("epochs", self.epochs, 1))
        object.__setattr__(self, "batch_size", _check_int("batch_size", self.batch_size, 1))
        object.__setattr__(self, "learning_rate",
                           _check_float("learning_rate", self.learning_rate, 0.0, lo_open=True))
        object.__setattr__(self, "weight_decay",
                           _check_float("weight_decay", self.weight_decay, 0.0))
        object.__setattr__(self, "seed", _check_seed("seed", self.seed))
        object.__setattr__(self, "in_bits",
                           _check_int("in_bits", self.in_bits, 1, 16, allow_none=True))
        object.__setattr__(self, "x_max", _check_float("x_max", self.x_max, 0.0, lo_open=True))
        object.__setattr__(self, "out_bits",
                           _check_int("out_bits", self.out_bits, 1, 16, allow_none=True))
        object.__setattr__(self, "w_noise", _check_float("w_noise", self.w_noise, 0.0, 1.0))
        object.__setattr__(self, "out_noise",
                           _check_float("out_noise", self.out_noise, 0.0, 1.0))
        object.__setattr__(self, "clip_percentile",
                           _check_float("clip_percentile", self.clip_percentile, 50.0, 100.0,
                                        lo_open=True))

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


# -- quantizers and the training forward pass -------------------------------------------------
def quantize(v, top: float, bits: int | None) -> np.ndarray:
    """``clip(v, 0, top)`` rounded to the ``2^bits`` values ``k top / (2^bits - 1)``
    (``bits=None``: only the clip)."""
    c = np.clip(v, 0.0, top)
    if bits is None:
        return c
    n = float((1 << bits) - 1)
    return np.round(c * (n / top)) * (top / n)


def _streams(seed: int):
    """Independent generators: initialization, batch order, weight noise, output noise."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]


def _noisy_weight(w, w_noise, rng):
    if w_noise == 0:
        return w
    scale = np.abs(w).max(axis=0)
    return w + rng.standard_normal(w.shape) * (w_noise * scale)


def _forward(weights, biases, clips, ranges, x, config, w_rng, o_rng, *, track=False):
    """The training forward pass. Returns ``(outputs, cache)``: ``outputs[0]`` the quantized
    inputs, ``outputs[l + 1]`` layer ``l``'s output (hidden: quantized bounded ReLU; last: the
    logits); ``cache`` holds, per layer, the weights used and the ReLU's gradient mask.

    ``track``: update ``clips`` and ``ranges`` in place (running percentiles) from this batch
    before they are used.
    """
    a = quantize(x, config.x_max, config.in_bits) if config.in_bits is not None else x
    outputs = [a]
    cache = []
    last = len(weights) - 1
    for l, (w, b) in enumerate(zip(weights, biases)):
        wn = _noisy_weight(w, config.w_noise, w_rng)
        v = a @ wn + b
        if l < last:
            if track:
                p = float(np.percentile(v, config.clip_percentile))
                p = max(p, 1e-6)
                clips[l] = p if clips[l] is None else \
                    CLIP_MOMENTUM * clips[l] + (1 - CLIP_MOMENTUM) * p
            top = clips[l]
            if config.out_noise:
                v = v + o_rng.standard_normal(v.shape) * (config.out_noise * top)
            mask = (v > 0) & (v < top)
            a = quantize(v, top, config.out_bits)
        else:
            if track:
                p = max(float(np.percentile(np.abs(v), config.clip_percentile)), 1e-6)
                ranges[0] = p if ranges[0] is None else \
                    CLIP_MOMENTUM * ranges[0] + (1 - CLIP_MOMENTUM) * p
            if config.out_noise:
                v = v + o_rng.standard_normal(v.shape) * (config.out_noise * ranges[0])
            mask = None
            a = v
        outputs.append(a)
        cache.append((wn, mask))
    return outputs, cache


def forward_train(network: Network, x, config: TrainConfig, seed: int = 0,
                  out_range: float | None = None) -> list:
    """The forward pass :func:`train` uses, on a trained ``network``: inputs quantized, weight
    and output noise drawn from ``seed``, hidden layers the quantized bounded ReLU of each
    layer's ``clip``. Returns ``[inputs, hidden_1, ..., logits]``.

    ``out_range``: the output layer's range for its output noise; ``None`` takes the
    ``config.clip_percentile``-th percentile of the noise-free ``|logits|`` of ``x``.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, not {network!r}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, not {config!r}")
    xa = _check_x(x)
    if xa.shape[1] != network.inputs:
        raise ValueError(f"x must have {network.inputs} inputs (the network's), not "
                         f"{xa.shape[1]}")
    for i, layer in enumerate(network.layers[:-1]):
        if layer.activation != "relu" or layer.clip is None:
            raise ValueError(f"network.layers[{i}] must be a relu layer with a clip, not "
                             f"{layer.activation!r} with clip {layer.clip!r}")
    if network.layers[-1].activation != "identity":
        raise ValueError(f"the last layer must be identity, not "
                         f"{network.layers[-1].activation!r}")
    if out_range is None:
        out_range = max(float(np.percentile(np.abs(network.forward(xa)),
                                            config.clip_percentile)), 1e-6)
    out_range = _check_float("out_range", out_range, 0.0, lo_open=True)
    _, _, w_rng, o_rng = _streams(_check_seed("seed", seed))
    outputs, _ = _forward([l.weight for l in network.layers], [l.bias for l in network.layers],
                          [l.clip for l in network.layers[:-1]], [out_range], xa, config,
                          w_rng, o_rng)
    return outputs


# -- training ---------------------------------------------------------------------------------
def _softmax_xent(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = float(-np.mean(np.log(p[np.arange(n), y] + 1e-300)))
    grad = p
    grad[np.arange(n), y] -= 1.0
    return loss, grad / n


def train(x, y, config: TrainConfig = TrainConfig(), progress: bool = True) -> Network:
    """Train a classifier ``inputs -> hidden... -> classes`` on ``(x, y)`` (module docstring).

    ``x``: ``(n, inputs)`` in ``[0, x_max]``; ``y``: ``(n,)`` labels ``0 .. classes - 1``
    (``classes = max(y) + 1``). Softmax cross-entropy, Adam with decoupled weight decay and a
    half-cosine learning-rate decay, noise and quantization on. ``progress`` shows a tqdm bar
    over the epochs with the epoch's mean training loss and accuracy (under the training
    noise). The same data and config give bit-identical weights.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, not {config!r}")
    x, y = _check_data(x, y)
    n, n_in = x.shape
    classes = int(y.max()) + 1
    if classes < 2:
        raise ValueError(f"y must hold at least 2 classes, not {classes}")
    init_rng, order_rng, w_rng, o_rng = _streams(config.seed)

    sizes = [n_in, *config.hidden, classes]
    weights = [init_rng.standard_normal((i, o)) * math.sqrt(2.0 / i)
               for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(o) for o in sizes[1:]]
    params = weights + biases
    m = [np.zeros_like(p) for p in params]
    v2 = [np.zeros_like(p) for p in params]
    clips: list = [None] * len(config.hidden)
    ranges: list = [None]
    beta1, beta2 = _ADAM_BETAS
    steps_per_epoch = -(-n // config.batch_size)
    total = config.epochs * steps_per_epoch
    step = 0

    from tqdm import tqdm
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not progress,
               leave=False)
    for _ in bar:
        order = order_rng.permutation(n)
        loss_sum = 0.0
        correct = 0
        for k in range(0, n, config.batch_size):
            idx = order[k:k + config.batch_size]
            xb, yb = x[idx], y[idx]
            outputs, cache = _forward(weights, biases, clips, ranges, xb, config, w_rng,
                                      o_rng, track=True)
            loss, dv = _softmax_xent(outputs[-1], yb)
            loss_sum += loss * len(idx)
            correct += int(np.sum(np.argmax(outputs[-1], axis=1) == yb))
            grads_w = [None] * len(weights)
            grads_b = [None] * len(weights)
            for l in range(len(weights) - 1, -1, -1):
                wn, _ = cache[l]
                grads_w[l] = outputs[l].T @ dv
                grads_b[l] = dv.sum(axis=0)
                if l:
                    dv = (dv @ wn.T) * cache[l - 1][1]
            step += 1
            lr = config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * (step - 1) / total))
            c1 = 1.0 - beta1 ** step
            c2 = 1.0 - beta2 ** step
            for i, (p, g) in enumerate(zip(params, grads_w + grads_b)):
                m[i] *= beta1
                m[i] += (1.0 - beta1) * g
                v2[i] *= beta2
                v2[i] += (1.0 - beta2) * (g * g)
                if i < len(weights) and config.weight_decay:
                    p *= 1.0 - lr * config.weight_decay
                p -= lr * (m[i] / c1) / (np.sqrt(v2[i] / c2) + _ADAM_EPS)
        bar.set_postfix(loss=f"{loss_sum / n:.4f}", acc=f"{correct / n:.4f}", refresh=False)
    bar.close()

    layers = [Dense(w, b, "relu", c) for w, b, c in zip(weights[:-1], biases[:-1], clips)]
    layers.append(Dense(weights[-1], biases[-1], "identity"))
    return Network(layers)


# -- evaluation -------------------------------------------------------------------------------
def accuracy(network: Network, x, y) -> float:
    """Fraction of samples whose float-inference argmax equals the label."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, not {network!r}")
    x, y = _check_data(x, y)
    return float(np.mean(np.argmax(network.forward(x), axis=1) == y))


def perturb_weights(network: Network, w_noise: float, seed: int) -> Network:
    """A copy of ``network`` whose weights carry one draw of the training weight noise:
    ``W + w_noise * max_i |W[i, j]| * N(0, 1)`` per column ``j`` (biases unchanged)."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, not {network!r}")
    w_noise = _check_float("w_noise", w_noise, 0.0, 1.0)
    rng = np.random.default_rng(_check_seed("seed", seed))
    return Network([Dense(_noisy_weight(l.weight, w_noise, rng), l.bias, l.activation, l.clip)
                    for l in network.layers])


def noisy_accuracy(network: Network, x, y, w_noise: float, seeds) -> np.ndarray:
    """:func:`accuracy` of :func:`perturb_weights` for each seed of ``seeds``."""
    return np.array([accuracy(perturb_weights(network, w_noise, s), x, y) for s in seeds])


def programmed_accuracy(network: Network, x, y, seeds, t: float = 0.0, devices: int = 4,
                        f_factor: int = 1) -> np.ndarray:
    """:func:`accuracy` after programming each layer onto PCM cells with
    ``golden.device.program_weights`` (per-column scaling), aging to ``t`` seconds (drift and
    one read-noise draw) and per-column drift compensation against the targets, for each seed.
    The weights are read back as ``cell weight / R * max|W|``."""
    from golden.device import program_weights
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, not {network!r}")
    out = []
    for s in seeds:
        rng = np.random.default_rng(_check_seed("seed", s))
        layers = []
        for layer in network.layers:
            pa = program_weights(layer.weight, seed=rng, devices=devices, f_factor=f_factor,
                                 per_column=True)
            wg = pa.weights(pa.conductances(t, rng))
            den = np.abs(wg).mean(axis=0)
            alpha = np.where(den > 0, np.abs(pa.target_weights).mean(axis=0)
                             / np.where(den > 0, den, 1.0), 1.0)
            w = wg * alpha / pa.full_range * pa.scale
            layers.append(Dense(w, layer.bias, layer.activation, layer.clip))
        out.append(accuracy(Network(layers), x, y))
    return np.array(out)


def programming_noise(weights, seed: int = 0, t: float = 0.0, devices: int = 4,
                      f_factor: int = 1, programmed_only: bool = False) -> float:
    """Standard deviation, relative to the full range ``R``, of the cell weights of ``weights``
    programmed with ``golden.device.program_weights`` (per-column scaling) minus their targets:
    right after programming (``programmed_only``), or read at ``t`` seconds (drift, one
    read-noise draw) with per-column drift compensation."""
    from golden.device import program_weights
    rng = np.random.default_rng(_check_seed("seed", seed))
    pa = program_weights(weights, seed=rng, devices=devices, f_factor=f_factor, per_column=True)
    if programmed_only:
        w = pa.weights(pa.g_prog)
    else:
        w = pa.weights(pa.conductances(t, rng))
        den = np.abs(w).mean(axis=0)
        w = w * np.where(den > 0, np.abs(pa.target_weights).mean(axis=0)
                         / np.where(den > 0, den, 1.0), 1.0)
    return float(np.std((w - pa.target_weights) / pa.full_range))


# -- cache ------------------------------------------------------------------------------------
def cache_key(x, y, config: TrainConfig) -> str:
    """SHA-256 (hex) of :data:`FORMAT_VERSION`, every field of ``config`` and the data."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, not {config!r}")
    x, y = _check_data(x, y)
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT_VERSION, "config": asdict(config)},
                        sort_keys=True).encode())
    for arr in (x, y):
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def cache_path(x, y, config: TrainConfig, cache_dir="build/train") -> Path:
    """The file :func:`train_cached` keeps this training's network in."""
    return Path(cache_dir) / f"net-{cache_key(x, y, config)[:32]}.npz"


def cached_network(x, y, config: TrainConfig, cache_dir="build/train") -> Network | None:
    """The cached network of this training, or ``None`` when there is none (or the file is
    unreadable or was written for another key)."""
    key = cache_key(x, y, config)
    path = Path(cache_dir) / f"net-{key[:32]}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
        if str(stored.pop("cache_key", "")) != key:
            log.warning("cache file %s holds another training (key mismatch): ignored", path)
            return None
        return Network.from_dict(stored)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("cache file %s is unreadable (%s): ignored", path, exc)
        return None


def train_cached(x, y, config: TrainConfig = TrainConfig(), cache_dir="build/train",
                 progress: bool = True) -> Network:
    """:func:`train`, or the network a previous call with the same data and config stored
    under ``cache_dir`` (file :func:`cache_path`, the full key stored inside and checked).
    Logs ``"loaded cached network <path>"`` or ``"trained and cached network <path>"`` (INFO,
    logger ``mapper.train``)."""
    net = cached_network(x, y, config, cache_dir)
    path = cache_path(x, y, config, cache_dir)
    if net is not None:
        log.info("loaded cached network %s", path)
        return net
    net = train(x, y, config, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **net.to_dict(), cache_key=np.array(cache_key(x, y, config)))
    os.replace(tmp, path)
    log.info("trained and cached network %s", path)
    return net


# -- report -----------------------------------------------------------------------------------
def _report(train_seeds: int = 5, noise_seeds: int = 20, progress: bool = False) -> None:
    """Train on digits with the default config and with ``w_noise = 0`` for each training seed;
    print float accuracy and accuracy under weight noise (the trained ``w_noise`` and twice
    it, ``noise_seeds`` draws each) and after programming onto the device model."""
    import time
    xtr, ytr, xte, yte = digits_data(0)
    base = TrainConfig()
    w = np.random.default_rng(0).standard_normal((512, 64))
    print("cell weight error / full range of a 512 x 64 Gaussian matrix, per-column scaling: "
          + ", ".join(f"{d}-PCM {lbl} {100 * programming_noise(w, devices=d, **kw):.2f} %"
                      for d, lbl, kw in ((4, "programmed", {"programmed_only": True}),
                                         (4, "read t=0", {}),
                                         (4, "1 day compensated", {"t": 86400.0}),
                                         (2, "programmed", {"programmed_only": True}))))
    print(f"digits: {len(ytr)} train / {len(yte)} test; {base}")
    wn = base.w_noise
    columns = [f"w_noise {wn:g}", f"w_noise {2 * wn:g}", "PCM t=0", "PCM 1 day"]
    print(f"{'training':<16}{'seed':>5}{'time s':>8}{'float':>8}"
          + "".join(f"{c:>20}" for c in columns))
    results = {}
    for name, config in (("hardware-aware", base), ("w_noise=0", base.replace(w_noise=0.0))):
        for seed in range(train_seeds):
            c = config.replace(seed=seed)
            t0 = time.perf_counter()
            net = train(xtr, ytr, c, progress=progress)
            dt = time.perf_counter() - t0
            draws = range(noise_seeds)
            row = [accuracy(net, xte, yte),
                   noisy_accuracy(net, xte, yte, wn, draws),
                   noisy_accuracy(net, xte, yte, 2 * wn, draws),
                   programmed_accuracy(net, xte, yte, range(max(1, noise_seeds // 4))),
                   programmed_accuracy(net, xte, yte, range(max(1, noise_seeds // 4)),
                                       t=86400.0)]
            results.setdefault(name, []).append(row)
            print(f"{name:<16}{seed:>5}{dt:>8.1f}{row[0]:>8.4f}"
                  + "".join(f"{r.mean():>11.4f} +-{r.std():.4f}" for r in row[1:]))
    print(f"mean over {train_seeds} training seeds (accuracy, and drop from float; "
          f"+- the std over all draws / over training seeds):")
    for name, rows in results.items():
        fl = np.array([r[0] for r in rows])
        parts = [f"float {fl.mean():.4f} +-{fl.std():.4f}"]
        for k, col in enumerate(columns, start=1):
            allv = np.concatenate([r[k] for r in rows])
            drop = np.array([r[0] - r[k].mean() for r in rows])
            parts.append(f"{col}: {allv.mean():.4f} +-{allv.std():.4f} "
                         f"(drop {drop.mean():.4f} +-{drop.std():.4f})")
        print(f"  {name}: " + "; ".join(parts))


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="hardware-aware vs plain training on digits")
    parser.add_argument("--train-seeds", type=int, default=5)
    parser.add_argument("--noise-seeds", type=int, default=20)
    args = parser.parse_args()
    _report(args.train_seeds, args.noise_seeds)
