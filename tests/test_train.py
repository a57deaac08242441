"""Hardware-aware training (mapper/train.py): determinism, accuracy on digits, the quantizers
and noise of the training forward pass, the clips, the cache, validation."""
import logging
import math

import numpy as np
import pytest

from mapper import Network
from mapper import train as tr
from mapper.train import (TrainConfig, accuracy, cache_path, cached_network, digits_data,
                          forward_train, noisy_accuracy, perturb_weights, quantize, train,
                          train_cached)

#: A short training of the default network (64 -> 64 -> 10): 20 epochs, under a second.
SHORT = TrainConfig(epochs=20)


@pytest.fixture(scope="module")
def digits():
    return digits_data(0)


@pytest.fixture(scope="module")
def short_net(digits):
    xtr, ytr, _, _ = digits
    return train(xtr, ytr, SHORT, progress=False)


def _same(a: Network, b: Network) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(la.weight, lb.weight) and np.array_equal(la.bias, lb.bias)
        and la.activation == lb.activation and la.clip == lb.clip
        for la, lb in zip(a.layers, b.layers))


# -- data ---------------------------------------------------------------------------------------
def test_digits_data_split(digits):
    xtr, ytr, xte, yte = digits
    assert xtr.shape[1] == xte.shape[1] == 64
    assert len(ytr) + len(yte) == 1797
    assert len(yte) == pytest.approx(0.25 * 1797, abs=1)
    assert xtr.min() >= 0 and xtr.max() <= 1 and xte.max() <= 1
    assert np.array_equal(np.unique(ytr), np.arange(10))
    # stratified: each class's share of the test set within one sample of the whole set's
    counts = np.bincount(np.concatenate([ytr, yte]), minlength=10)
    assert np.all(np.abs(np.bincount(yte, minlength=10) - counts * len(yte) / 1797) <= 1)
    again = digits_data(0)
    assert all(np.array_equal(a, b) for a, b in zip(digits, again))
    assert not np.array_equal(digits_data(1)[1], ytr)


# -- determinism and accuracy ---------------------------------------------------------------------
def test_same_seed_identical_different_seed_differs(digits, short_net):
    xtr, ytr, _, _ = digits
    again = train(xtr, ytr, SHORT, progress=False)
    assert _same(short_net, again)
    other = train(xtr, ytr, SHORT.replace(seed=1), progress=False)
    assert not np.array_equal(other.layers[0].weight, short_net.layers[0].weight)


def test_short_training_reaches_95_percent(digits, short_net):
    _, _, xte, yte = digits
    assert accuracy(short_net, xte, yte) >= 0.95


def test_network_shape_activations_and_clips(short_net):
    assert [l.activation for l in short_net.layers] == ["relu", "identity"]
    assert (short_net.inputs, short_net.layers[0].outputs, short_net.outputs) == (64, 64, 10)
    clip = short_net.layers[0].clip
    assert clip is not None and math.isfinite(clip) and clip > 0
    assert short_net.layers[-1].clip is None


def test_clip_survives_save_and_load(short_net, tmp_path):
    loaded = Network.load(short_net.save(tmp_path / "net.npz"))
    assert _same(short_net, loaded)


def test_clip_tracks_high_percentile_of_preactivations(digits, short_net):
    """The stored clip cuts only the top of the hidden pre-activations (a running 99.5th
    percentile): some but few of them exceed it."""
    xtr = digits[0]
    layer = short_net.layers[0]
    v = xtr @ layer.weight + layer.bias
    above = np.mean(v > layer.clip)
    assert 0 < above < 0.05


# -- the training forward pass -----------------------------------------------------------------
def test_quantize_levels():
    v = np.linspace(-1, 3, 1001)
    q = quantize(v, 2.0, 3)
    assert set(np.round(q / (2.0 / 7), 9)) <= set(float(k) for k in range(8))
    assert q.min() == 0 and q.max() == 2.0
    assert np.array_equal(quantize(v, 2.0, None), np.clip(v, 0, 2.0))


def test_forward_train_quantizes_inputs_and_hidden(digits, short_net):
    xtr = digits[0]
    for bits in (2, 4):
        cfg = SHORT.replace(in_bits=bits, out_bits=bits)
        inputs, hidden, logits = forward_train(short_net, xtr, cfg, seed=3)
        levels = (1 << bits) - 1
        k = inputs * levels / cfg.x_max
        assert np.allclose(k, np.round(k)) and len(np.unique(inputs)) <= levels + 1
        clip = short_net.layers[0].clip
        k = hidden / clip * levels
        assert np.allclose(k, np.round(k), atol=1e-9)
        assert hidden.min() >= 0 and hidden.max() <= clip
        for unit in range(hidden.shape[1]):
            assert len(np.unique(hidden[:, unit])) <= 1 << bits
        assert logits.shape == (len(xtr), 10)


def test_forward_train_noise_on_and_off(digits, short_net):
    xtr = digits[0][:200]
    quiet = SHORT.replace(w_noise=0.0, out_noise=0.0, in_bits=None, out_bits=None)
    *_, logits = forward_train(short_net, xtr, quiet, seed=0)
    assert np.allclose(logits, short_net.forward(xtr))       # no noise, no quantization: float
    *_, a = forward_train(short_net, xtr, SHORT, seed=0)
    *_, b = forward_train(short_net, xtr, SHORT, seed=0)
    *_, c = forward_train(short_net, xtr, SHORT, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.allclose(a, logits)


def test_training_uses_the_quantized_forward(digits, monkeypatch):
    """train() runs its batches through the quantizers (spied on)."""
    xtr, ytr = digits[0][:256], digits[1][:256]
    seen = []
    real = tr.quantize

    def spy(v, top, bits):
        seen.append(bits)
        return real(v, top, bits)

    monkeypatch.setattr(tr, "quantize", spy)
    train(xtr, ytr, SHORT.replace(epochs=1, in_bits=5, out_bits=6), progress=False)
    assert 5 in seen and 6 in seen


def test_weight_noise_perturbation(short_net):
    noisy = perturb_weights(short_net, 0.02, seed=0)
    for clean, pert in zip(short_net.layers, noisy.layers):
        rel = (pert.weight - clean.weight) / np.abs(clean.weight).max(axis=0)
        assert 0.015 < rel.std() < 0.025
        assert np.array_equal(pert.bias, clean.bias) and pert.clip == clean.clip
    assert _same(perturb_weights(short_net, 0.0, seed=0), short_net)


def test_noisy_accuracy_close_to_float(digits, short_net):
    _, _, xte, yte = digits
    acc = noisy_accuracy(short_net, xte, yte, 0.02, range(3))
    assert acc.shape == (3,) and np.all(acc > accuracy(short_net, xte, yte) - 0.03)


# -- cache ----------------------------------------------------------------------------------------
def test_train_cached_second_call_loads_the_file(digits, tmp_path, monkeypatch, caplog):
    xtr, ytr = digits[0][:300], digits[1][:300]
    cfg = SHORT.replace(epochs=2)
    assert cached_network(xtr, ytr, cfg, tmp_path) is None
    with caplog.at_level(logging.INFO, logger="mapper.train"):
        first = train_cached(xtr, ytr, cfg, tmp_path, progress=False)
    path = cache_path(xtr, ytr, cfg, tmp_path)
    assert path.is_file() and path.parent == tmp_path
    assert "trained and cached" in caplog.text
    caplog.clear()

    def no_training(*args, **kwargs):
        raise AssertionError("train() called although the network is cached")

    monkeypatch.setattr(tr, "train", no_training)
    with caplog.at_level(logging.INFO, logger="mapper.train"):
        second = train_cached(xtr, ytr, cfg, tmp_path, progress=False)
    assert "loaded cached network" in caplog.text and str(path) in caplog.text
    assert _same(first, second)
    assert _same(cached_network(xtr, ytr, cfg, tmp_path), first)


def test_cache_key_depends_on_config_and_data(digits, tmp_path):
    xtr, ytr = digits[0][:300], digits[1][:300]
    cfg = SHORT.replace(epochs=2)
    base = cache_path(xtr, ytr, cfg, tmp_path)
    x2 = xtr.copy()
    x2[0, 0] += 1 / 16
    y2 = ytr.copy()
    y2[0] = (y2[0] + 1) % 10
    others = [cache_path(x2, ytr, cfg, tmp_path), cache_path(xtr, y2, cfg, tmp_path),
              cache_path(xtr, ytr, cfg.replace(seed=1), tmp_path),
              cache_path(xtr, ytr, cfg.replace(w_noise=0.0), tmp_path),
              cache_path(xtr, ytr, cfg.replace(out_bits=None), tmp_path)]
    assert len({base, *others}) == 6


def test_cache_file_with_another_key_is_not_used(digits, tmp_path, caplog):
    """A file at the expected path that holds another training is ignored and retrained."""
    xtr, ytr = digits[0][:300], digits[1][:300]
    cfg = SHORT.replace(epochs=2)
    other_cfg = cfg.replace(seed=5)
    other = train_cached(xtr, ytr, other_cfg, tmp_path, progress=False)
    path = cache_path(xtr, ytr, cfg, tmp_path)
    cache_path(xtr, ytr, other_cfg, tmp_path).rename(path)        # the wrong training's file
    with caplog.at_level(logging.INFO, logger="mapper.train"):
        assert cached_network(xtr, ytr, cfg, tmp_path) is None
        net = train_cached(xtr, ytr, cfg, tmp_path, progress=False)
    assert "key mismatch" in caplog.text and "trained and cached" in caplog.text
    assert _same(net, train(xtr, ytr, cfg, progress=False)) and not _same(net, other)


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, exc", [
    ("hidden", 32, TypeError), ("epochs", 0, ValueError), ("epochs", 2.0, TypeError),
    ("epochs", True, TypeError), ("batch_size", -1, ValueError),
    ("learning_rate", 0.0, ValueError), ("learning_rate", float("nan"), ValueError),
    ("learning_rate", "0.1", TypeError), ("weight_decay", -1e-4, ValueError),
    ("weight_decay", float("inf"), ValueError), ("seed", -1, ValueError),
    ("seed", False, TypeError), ("in_bits", 0, ValueError), ("in_bits", 17, ValueError),
    ("in_bits", 8.0, TypeError), ("out_bits", True, TypeError), ("x_max", 0, ValueError),
    ("w_noise", -0.01, ValueError), ("w_noise", float("nan"), ValueError),
    ("w_noise", 1.5, ValueError), ("out_noise", -0.1, ValueError),
    ("clip_percentile", 50, ValueError), ("clip_percentile", 100.5, ValueError),
])
def test_config_validation_names_field_and_value(field, value, exc):
    with pytest.raises(exc) as info:
        TrainConfig(**{field: value})
    msg = str(info.value)
    assert field in msg and repr(value) in msg


@pytest.mark.parametrize("hidden, shown, exc", [
    ((32, 0), "hidden[1]", ValueError), ((True,), "hidden[0]", TypeError),
    ((600,), "hidden[0]", ValueError), ((16, 2.0), "hidden[1]", TypeError),
])
def test_config_validation_names_hidden_entry(hidden, shown, exc):
    with pytest.raises(exc) as info:
        TrainConfig(hidden=hidden)
    assert str(info.value).startswith(shown) and repr(hidden[-1]) in str(info.value)


def test_config_accepts_none_bits_and_list_hidden():
    cfg = TrainConfig(hidden=[16, 8], in_bits=None, out_bits=None, learning_rate=1)
    assert cfg.hidden == (16, 8) and cfg.learning_rate == 1.0


def test_data_and_argument_validation(digits):
    xtr, ytr = digits[0][:50], digits[1][:50]
    with pytest.raises(ValueError, match="y must have shape"):
        train(xtr, ytr[:-1], SHORT, progress=False)
    with pytest.raises(TypeError, match="y must be integer"):
        train(xtr, ytr.astype(float), SHORT, progress=False)
    bad = xtr.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"x\[3\]"):
        train(bad, ytr, SHORT, progress=False)
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train(xtr, ytr, {"epochs": 1}, progress=False)
    with pytest.raises(ValueError, match="test_fraction"):
        digits_data(0, test_fraction=1.0)
    with pytest.raises(TypeError, match="seed"):
        digits_data(seed=1.5)


def test_default_w_noise_covers_programmed_4pcm_cells():
    """The default w_noise is of the size of the device model's closed-loop programming error
    of 4-PCM cells (F = 1, per-column scaling) read right after programming."""
    w = np.random.default_rng(0).standard_normal((256, 32))
    programmed = tr.programming_noise(w, programmed_only=True)
    first_read = tr.programming_noise(w, t=0.0)
    assert 0.004 < programmed < first_read <= TrainConfig().w_noise < 2 * first_read
