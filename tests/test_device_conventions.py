"""The ``aging`` point of the device-model conventions (golden/device.py): each device ages on
its own (the kit) or, as aihwkit's inference tile does, each 2-PCM pair's programmed net weight
is converted back to conductances by the single-pair converter (rescaled by the largest
programmed weight, net weight on one device) and aged there.

The expected values are written out from aihwkit 1.2.0's code (``PCMLikeNoiseModel``,
``SinglePairConductanceConverter``, ``InferenceTileWithPeriphery.drift_weights``), not imported
from ``golden.device``; ``make peer-aihwkit`` checks the same against aihwkit itself.
"""
import math

import numpy as np
import pytest

from golden import device
from golden.device import PCMModel

G_MAX = 25.0
T0 = 20.0
T_READ = 250e-9
CODE = PCMModel(convention="aihwkit_code")


def _aihwkit_drift_step(g_prog, nu, t, normals):
    """aihwkit's drift step on programmed conductances ``(..., 2)`` of one array, in weights
    of uS (its weight units times the first scale), from the given N(0, 1) draws."""
    w = g_prog[..., 0] - g_prog[..., 1]                      # programmed weights (x scale)
    r = G_MAX / np.abs(w).max()                              # convert_to_conductances again
    g = np.stack([np.clip(w * r, 0, G_MAX), np.clip(-w * r, 0, G_MAX)], axis=-1)
    t_eff = t + T0
    g_d = g * (t_eff / T0) ** -nu
    q = np.minimum(0.2, 0.0088 / np.maximum((g / G_MAX) ** 0.65, 1e-3))
    sig = q * math.sqrt(math.log((t_eff + T_READ) / (2 * T_READ)))
    g_f = np.maximum(g_d + np.abs(g_d) * sig * normals, 0.0)
    return (g_f[..., 0] - g_f[..., 1]) / r                    # convert_back_to_weights


def _weights(rows=64, cols=48, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, cols))


@pytest.mark.parametrize("per_column", [False, True])
@pytest.mark.parametrize("t", [0.0, 3600.0, 3.1536e7])
def test_net_weight_aging_is_aihwkits_drift_step_draw_for_draw(t, per_column):
    prog = device.program_weights(_weights(), seed=3, devices=2, per_column=per_column,
                                  model=CODE)
    g = prog.conductances(t, seed=11)
    normals = np.random.default_rng(11).standard_normal(prog.g_prog.shape)
    expected = _aihwkit_drift_step(prog.g_prog, prog.nu, t, normals)
    np.testing.assert_allclose(prog.weights(g), expected, rtol=1e-12, atol=1e-12)
    # one device of each pair carries the net weight, the other is 0
    assert np.all(np.minimum(g[..., 0], g[..., 1]) == 0.0)


def test_net_weight_without_read_noise_drifts_each_weight_with_one_exponent():
    model = CODE.replace(read_noise_scale=0.0)
    prog = device.program_weights(_weights(), seed=4, devices=2, per_column=False, model=model)
    t = 86400.0
    w0 = prog.weights(prog.g_prog)
    nu_of_sign = np.where(w0 >= 0, prog.nu[..., 0], prog.nu[..., 1])
    np.testing.assert_allclose(prog.weights(prog.conductances(t, seed=1)),
                               w0 * ((t + T0) / T0) ** -nu_of_sign, rtol=1e-12, atol=1e-12)
    # device by device instead, both devices of a pair drift, each with its own exponent
    kit = device.program_weights(_weights(), seed=4, devices=2, per_column=False,
                                 model=PCMModel(read_noise_scale=0.0))
    np.testing.assert_array_equal(kit.g_prog, prog.g_prog)
    f = ((t + T0) / T0) ** -kit.nu
    np.testing.assert_allclose(kit.weights(kit.conductances(t, seed=1)),
                               kit.g_prog[..., 0] * f[..., 0] - kit.g_prog[..., 1] * f[..., 1],
                               rtol=1e-12)


def test_net_weight_aging_raises_the_compensation_factor():
    """The device targeted at 0 (programmed to max(0, 0.26 N) uS) drifts fastest (nu ~ 0.1); on
    its own it shrinks and so *adds* to |G+ - G-|; aihwkit's net weight drops it, so its
    weights lose more and alpha is larger (docs/device.md section 3: +0.4 % at 1 hour)."""
    alphas = {"kit": [], "aihwkit_code": []}
    for i in range(6):
        w = _weights(128, 128, seed=100 + i)
        for name in alphas:
            model = PCMModel(convention=name)
            prog = device.program_weights(w, seed=200 + i, devices=2, per_column=False,
                                          model=model)
            cal = model.calibration_inputs(128)
            ref = cal @ prog.weights(prog.g_prog)
            cur = cal @ prog.weights(prog.conductances(3600.0, seed=300 + i))
            alphas[name].append(device.drift_compensation(ref, cur))
    diff = np.array(alphas["aihwkit_code"]) - np.array(alphas["kit"])
    assert np.all(diff > 0), diff
    assert 0.002 < diff.mean() / np.mean(alphas["kit"]) < 0.008


def test_four_pcm_cells_age_device_by_device_in_every_convention():
    w = _weights(32, 16)
    a = device.program_weights(w, seed=5, devices=4, model=CODE)
    b = device.program_weights(w, seed=5, devices=4, model=PCMModel())
    np.testing.assert_array_equal(a.g_prog, b.g_prog)
    np.testing.assert_array_equal(a.conductances(86400.0, seed=6),
                                  b.conductances(86400.0, seed=6))


def test_all_zero_array_ages_to_zero():
    prog = device.program_weights(np.zeros((4, 3)), seed=1, devices=2, model=CODE.replace(
        prog_noise_scale=0.0))
    np.testing.assert_array_equal(prog.conductances(3600.0, seed=2), 0.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(aging="pairs"), "aging must be one of 'devices', 'net_weight', not 'pairs'"),
    (dict(read_noise_from="target", aging="net_weight"),
     "aging='net_weight' .* needs read_noise_from='programmed', not 'target'"),
    (dict(read_noise_from="g_t"), "read_noise_from must be one of 'programmed', 'target', "
                                  "not 'g_t'"),
])
def test_bad_convention_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        device.Convention(**kwargs)
