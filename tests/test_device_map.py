"""Unit tests of the device model's weight mapping and code quantization (golden/device.py), and
a smoke test of the drift study (scripts/drift_study.py) at a small size.

Deterministic: the mapping is exact arithmetic (tolerances are float rounding only), the codes
are integers.
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from golden import Tile, TileParams, device
from golden.device import PCMModel

ROOT = Path(__file__).resolve().parent.parent
IDEAL = PCMModel(prog_noise_scale=0.0, drift_scale=0.0, read_noise_scale=0.0)


def _weights(rows=24, cols=10, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, cols))


# -- scaling ------------------------------------------------------------------------------------
def test_weight_scale_per_tile_and_per_column():
    w = np.array([[1.0, -3.0, 0.0], [-2.0, 0.5, 0.0]])
    np.testing.assert_array_equal(device.weight_scale(w, per_column=True), [2.0, 3.0, 1.0])
    assert device.weight_scale(w, per_column=False) == 3.0
    assert device.weight_scale(np.zeros((2, 2)), per_column=False) == 1.0


@pytest.mark.parametrize("per_column", [True, False])
@pytest.mark.parametrize("devices, f_factor", [(2, 1), (4, 1), (4, 2)])
def test_largest_weight_uses_the_full_range(devices, f_factor, per_column):
    w = _weights()
    prog = device.program_weights(w, seed=1, devices=devices, f_factor=f_factor,
                                  per_column=per_column, model=IDEAL)
    full = (f_factor + 1) * 25.0 if devices == 4 else 25.0
    assert prog.full_range == full
    peak = np.abs(prog.target_weights).max(axis=0 if per_column else None)
    np.testing.assert_allclose(peak, full, rtol=1e-12)
    scale = np.abs(w).max(axis=0) if per_column else np.abs(w).max()
    np.testing.assert_allclose(prog.target_weights, w / scale * full, rtol=1e-12)
    # noise-free programming reproduces the target weights exactly
    np.testing.assert_allclose(prog.weights(prog.g_prog), prog.target_weights, atol=1e-12)
    np.testing.assert_allclose(prog.weights(prog.conductances(3.15e7, seed=2)),
                               prog.target_weights, atol=1e-12)


# -- the cell rule ------------------------------------------------------------------------------
def test_two_pcm_cell_rule():
    w = np.array([[1.0, -0.5], [0.25, 0.0]])
    prog = device.program_weights(w, seed=1, devices=2, per_column=False, model=IDEAL)
    gp, gm = prog.g_target[..., 0], prog.g_target[..., 1]
    np.testing.assert_allclose(gp - gm, w * 25.0)
    np.testing.assert_array_equal(np.minimum(gp, gm), 0.0)   # the other device targets 0
    np.testing.assert_allclose(gp, [[25.0, 0.0], [6.25, 0.0]])
    np.testing.assert_allclose(gm, [[0.0, 12.5], [0.0, 0.0]])


@pytest.mark.parametrize("f_factor", [1, 2, 3])
def test_four_pcm_cell_rule_noise_free(f_factor):
    w = np.linspace(-1, 1, 41)[:, None] * np.ones((1, 3))
    prog = device.program_weights(w, seed=1, devices=4, f_factor=f_factor, per_column=False,
                                  model=IDEAL)
    w_g = prog.target_weights
    gp, gm, lp, lm = np.moveaxis(prog.g_target, -1, 0)
    np.testing.assert_allclose(gp - gm, np.clip(w_g / f_factor, -25, 25), atol=1e-12)
    # the least-significant pair carries what G cannot (beyond F g_max), nothing else
    np.testing.assert_allclose(lp - lm, w_g - f_factor * np.clip(w_g / f_factor, -25, 25),
                               atol=1e-12)
    for a, b in ((gp, gm), (lp, lm)):
        np.testing.assert_array_equal(np.minimum(a, b), 0.0)
    assert np.abs(lp - lm)[np.abs(w_g) <= f_factor * 25.0].max() <= 1e-12


@pytest.mark.parametrize("f_factor", [1, 2])
def test_four_pcm_lsp_targets_the_programming_error_of_g(f_factor):
    w = _weights(64, 32, seed=4)
    model = PCMModel(drift_scale=0.0, read_noise_scale=0.0)
    prog = device.program_weights(w, seed=5, f_factor=f_factor, model=model)
    msp = prog.g_prog[..., 0] - prog.g_prog[..., 1]
    remainder = np.clip(prog.target_weights - f_factor * msp, -25.0, 25.0)
    lsp_target = prog.g_target[..., 2] - prog.g_target[..., 3]
    np.testing.assert_allclose(lsp_target, remainder, atol=1e-12)
    # so the cell's error is the least-significant pair's programming error only
    lsp_error = (prog.g_prog[..., 2] - prog.g_prog[..., 3]) - lsp_target
    unclipped = np.abs(prog.target_weights - f_factor * msp) <= 25.0
    np.testing.assert_allclose((prog.weights(prog.g_prog) - prog.target_weights)[unclipped],
                               lsp_error[unclipped], atol=1e-9)
    # ... which is smaller than the error of G alone (sigma_p grows with the target)
    msp_error = f_factor * (msp - (prog.g_target[..., 0] - prog.g_target[..., 1]))
    assert np.sqrt(np.mean(lsp_error ** 2)) < 0.7 * np.sqrt(np.mean(msp_error ** 2))


def test_all_zero_column_maps_to_zero():
    w = _weights(8, 4)
    w[:, 2] = 0.0
    prog = device.program_weights(w, seed=1, model=IDEAL)
    assert prog.scale[2] == 1.0
    np.testing.assert_array_equal(prog.g_target[:, 2], 0.0)


def test_integer_weights_are_accepted():
    w = np.array([[3, -1], [0, 2]])
    prog = device.program_weights(w, seed=1, devices=2, per_column=False, model=IDEAL)
    np.testing.assert_allclose(prog.target_weights, w / 3 * 25.0)


def test_programmed_array_layout_matches_the_tile():
    p = TileParams(rows=6, cols=5)
    prog = device.program_weights(_weights(6, 5), seed=1)
    assert prog.g_target.shape == prog.g_prog.shape == prog.nu.shape == (6, 5, 4)
    assert p.cell_fields == ("gp", "gm", "lp", "lm")
    p2 = TileParams(rows=6, cols=5, devices_per_weight=2)
    assert device.program_weights(_weights(6, 5), seed=1, devices=2).g_prog.shape == (6, 5, 2)
    assert p2.cell_fields == ("gp", "gm")


def test_effective_weights():
    g = np.array([[10.0, 2.0, 1.0, 3.0]])
    np.testing.assert_allclose(device.effective_weights(g, 1), [6.0])
    np.testing.assert_allclose(device.effective_weights(g, 2), [14.0])
    np.testing.assert_allclose(device.effective_weights(g[:, :2]), [8.0])


# -- quantization to codes ------------------------------------------------------------------------
def test_codes_round_half_up_and_clip():
    p = TileParams(rows=1, cols=4, devices_per_weight=2, code_bits=8)
    lsb = 25.0 / 255
    g = np.array([[[0.0, 0.49 * lsb], [0.5 * lsb, 1.5 * lsb], [25.0, 30.0],
                   [100.5 * lsb, 254.49 * lsb]]])
    codes = device.conductances_to_codes(g, p)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, [[[0, 0], [1, 2], [255, 255], [101, 254]]])
    # another g_max rescales
    np.testing.assert_array_equal(
        device.conductances_to_codes(np.full((1, 4, 2), 10.0), p, g_max=20.0), 128)


@pytest.mark.parametrize("devices, f_factor, code_bits", [(4, 1, 8), (4, 2, 6), (2, 1, 8)])
def test_codes_load_into_the_golden_tile(devices, f_factor, code_bits):
    p = TileParams(rows=32, cols=16, devices_per_weight=devices, f_factor=f_factor,
                   code_bits=code_bits)
    prog = device.program_weights(_weights(32, 16, seed=7), seed=8, devices=devices,
                                  f_factor=f_factor, model=IDEAL)
    codes = device.conductances_to_codes(prog.conductances(0.0, seed=9), p)
    tile = Tile(p, codes)
    ideal = prog.target_weights * p.code_max / 25.0
    # each code is within 1/2 LSB: a cell weight is within (F + 1) / 2 * 2 devices
    bound = (f_factor + 1) if devices == 4 else 1
    assert np.abs(tile.weights - ideal).max() <= bound + 1e-9
    assert np.abs(tile.weights).max() <= p.weight_max
    assert np.abs(tile.weights).max(axis=0).min() >= p.weight_max - bound


# -- the drift study ------------------------------------------------------------------------------
def _study_module():
    path = ROOT / "scripts" / "drift_study.py"
    spec = importlib.util.spec_from_file_location("drift_study", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_periphery_gains():
    study = _study_module()
    p = TileParams(rows=4, cols=3)                       # gain Q(8, 7): 128 = 1.0, max 255
    assert study.periphery_gains(1.0, 10, p)[0] == 0
    np.testing.assert_array_equal(study.periphery_gains(1.0, 10, p)[1], [128])
    k, gains, clipped = study.periphery_gains(2.4, 10, p)
    assert (k, int(gains[0]), clipped) == (1, 154, 0)   # 2.4 = 2^1 * 154 / 128 (+-1/2 LSB)
    k, gains, clipped = study.periphery_gains(np.array([1.2, 1.9, np.inf]), 10, p)
    assert k == 0 and clipped == 1
    np.testing.assert_array_equal(gains, [154, 243, 255])
    k, gains, clipped = study.periphery_gains(5.0, 1, p)  # RAMP_SHIFT cannot go below 0
    assert (k, int(gains[0]), clipped) == (1, 255, 1)


def test_drift_study_small(tmp_path):
    out = tmp_path / "drift"
    result = subprocess.run(
        [sys.executable, "scripts/drift_study.py", "--rows", "48", "--cols", "40",
         "--batch", "128", "--seed", "3", "--out-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "| 1 year |" in result.stdout and "utilisation" in result.stdout
    for name in ("table.md", "drift.json", "drift.png"):
        assert (out / name).stat().st_size > 0
    data = json.loads((out / "drift.json").read_text())
    assert data["seed"] == 3
    rows = {r["label"]: r for r in data["results"]}
    assert rows["t0 (20 s)"]["alpha_global"] == 1.0
    year = rows["1 year"]
    assert year["alpha_global"] > 1.5
    assert year["rel_rms_global"] < 0.5 * year["rel_rms_none"]
    assert year["rel_rms_column"] < 0.5 * year["rel_rms_none"]
    assert year["gain_clipped_global"] == year["gain_clipped_column"] == 0
    # the tile's own calibration (golden.calibration): t0 keeps the base gain, a year of drift
    # is compensated as well as by the host's one-hot reads (within 10 % of their error)
    base = data["tile_calibration"]["base_gain"]
    t0 = rows["t0 (20 s)"]
    assert t0["tile_gain_column_min"] == t0["tile_gain_column_max"] == base
    assert t0["rel_rms_tile_column"] == t0["rel_rms_none"]
    for key in ("tile_global", "tile_column"):
        assert year[f"rel_rms_{key}"] < 0.5 * year["rel_rms_none"]
    assert year["rel_rms_tile_column"] < 1.1 * year["rel_rms_column"]
    assert year["tile_gain_column_min"] > base and year["tile_clipped"]["PER_COLUMN"] == 0
    u = rows["t0 (20 s)"]["utilisation_none"]
    assert 0.1 < u["rms_over_full_scale"] < 0.5 and u["clamped_fraction"] < 0.01
    # reproducible from its seed
    again = subprocess.run(
        [sys.executable, "scripts/drift_study.py", "--rows", "48", "--cols", "40",
         "--batch", "128", "--seed", "3", "--out-dir", str(tmp_path / "again"), "--no-plot"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "table.md").read_text() == (out / "table.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--rows", "0"], "rows must be in [1, 4096], not 0"),
    (["--devices", "3"], "invalid choice: 3"),
    (["--devices", "2", "--f-factor", "2"], "f_factor only applies to 4-PCM cells"),
    (["--seed", "-1"], "argument --seed: must be an integer in [0, 4294967295], not -1"),
    (["--batch", "0"], "argument --batch: must be an integer >= 1, not 0"),
    (["--convention", "paper"], "invalid choice: 'paper'"),
])
def test_drift_study_bad_arguments(argv, message):
    result = subprocess.run([sys.executable, "scripts/drift_study.py", *argv], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
