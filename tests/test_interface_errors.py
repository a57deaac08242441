"""Bad arguments are refused at the interface with a message naming them, not with a traceback
from deep inside NumPy or Amaranth: None where parameters or a configuration are required, a
wrong shape for the float reference, an MVM index at or beyond 2^63."""
import numpy as np
import pytest

from golden import calibration, crossbar, ilp, noise, program, ramp, reference, timing
from golden.calibration import CalOp, CalScope
from golden.spec import TileConfig, TileParams
from golden.tile import Tile

P = TileParams(rows=2, cols=3, in_bits=4, out_bits=4, code_bits=3, charge_bits=12)
CODES = np.zeros((2, 3, 4), dtype=np.int64)
NOISY = TileConfig(noise_sigma=5)


@pytest.mark.parametrize("call, message", [
    (lambda: TileConfig().resolved(None), "params must be a TileParams, not None"),
    (lambda: TileConfig().validate(None), "params must be a TileParams, not None"),
    (lambda: timing.mvm_timing(None, TileConfig()), "params must be a TileParams, not None"),
    (lambda: timing.mvm_timing(P, None), "config must be a TileConfig, not None"),
    (lambda: ramp.convert(np.zeros(3, int), None, P), "config must be a TileConfig, not None"),
    (lambda: ramp.convert(np.zeros(3, int), TileConfig(), None),
     "params must be a TileParams, not None"),
    (lambda: reference.ideal_output(np.zeros(2), np.zeros((2, 3)), None, P),
     "config must be a TileConfig, not None"),
    (lambda: reference.ideal_output(np.zeros(2), np.zeros((2, 3)), TileConfig(), None),
     "params must be a TileParams, not None"),
    (lambda: crossbar.weights(CODES, None), "params must be a TileParams, not None"),
    (lambda: crossbar.check_codes(CODES, (2, 3, 4), None), "params must be a TileParams"),
    (lambda: crossbar.integrate(np.zeros(2, int), np.ones(2, int), np.zeros((2, 3), int), None),
     "params must be a TileParams, not None"),
    (lambda: crossbar.float_path_exact(None), "params must be a TileParams, not None"),
    (lambda: ilp.check_words(np.zeros(2, int), 0, None), "params must be a TileParams"),
    (lambda: calibration.conductance_read(CODES, 1, None, P),
     "config must be a TileConfig, not None"),
    (lambda: calibration.conductance_weights(CODES, None), "params must be a TileParams"),
    (lambda: calibration.calibration_cycles(P, None, CalOp.REFERENCE),
     "config must be a TileConfig, not None"),
    (lambda: calibration.Calibrator(P).run(CalOp.REFERENCE, CalScope.GLOBAL, CODES, None, 1),
     "config must be a TileConfig, not None"),
    (lambda: program.sigma_table(None), "params must be a TileParams, not None"),
    (lambda: program.check_targets(np.zeros(3, int), None), "params must be a TileParams"),
    (lambda: program.weight_error_stats([0], [0], None), "params must be a TileParams"),
    (lambda: Tile(P).mvm(np.zeros(2, int), None), "config must be a TileConfig, not None"),
])
def test_none_is_refused_by_name(call, message):
    with pytest.raises(TypeError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: reference.ideal_mvm(np.zeros(3), np.zeros((2, 3))),
     r"x must have shape \(2,\) or \(batch, 2\) to match weights \(2, 3\), not \(3,\)"),
    (lambda: reference.ideal_mvm(np.zeros((1, 1, 2)), np.zeros((2, 3))),
     r"x must have shape \(2,\) or \(batch, 2\)"),
    (lambda: reference.ideal_mvm(np.zeros(2), np.zeros(2)),
     r"weights must have shape \(rows, cols\), not \(2,\)"),
    (lambda: reference.ideal_output(np.zeros(2), np.zeros((3, 2)), TileConfig(), P),
     r"weights must have shape \(2, 3\), not \(3, 2\)"),
    (lambda: reference.ideal_output(np.zeros(3), np.zeros((2, 3)), TileConfig(), P),
     r"x must have shape \(2,\) or \(batch, 2\)"),
])
def test_float_reference_names_a_wrong_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_float_reference_still_computes():
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert reference.ideal_mvm([1, -1], w).tolist() == [-3.0, -3.0, -3.0]
    assert reference.ideal_mvm(np.ones((4, 2)), w).shape == (4, 3)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: Tile(P).mvm(np.zeros(2, int), TileConfig(), mvm_index=1 << 63), ValueError,
     r"mvm_index must be in \[0, 9223372036854775807\], not 9223372036854775808"),
    (lambda: Tile(P).mvm(np.zeros(2, int), NOISY, mvm_index=1 << 63), ValueError,
     r"mvm_index must be in \[0, 9223372036854775807\], not 9223372036854775808"),
    (lambda: Tile(P).run(np.zeros((3, 2), int), NOISY, mvm_index=(1 << 63) - 2), ValueError,
     r"mvm_index \+ 2 \(the last vector of the batch\) must be in \[0, 9223372036854775807\], "
     r"not 9223372036854775808"),
    (lambda: Tile(P).run(np.zeros(2, int), NOISY, mvm_index=1 << 64), ValueError,
     r"mvm_index must be in \[0, 9223372036854775807\]"),
    (lambda: noise.noise_keys(0, 1 << 64), ValueError,
     r"MVM index must be in \[0, 9223372036854775807\], not 18446744073709551616"),
    (lambda: noise.noise_keys(0, 1 << 63), ValueError,
     r"MVM index must be in \[0, 9223372036854775807\], not 9223372036854775808"),
    (lambda: noise.noise_keys(0, np.array([1 << 63], dtype=np.uint64)), ValueError,
     r"MVM index\[0\] = 9223372036854775808 is outside \[0, 9223372036854775807\]"),
    (lambda: noise.read_noise(0, 3, 1.5, 3), TypeError, "MVM index must be an integer"),
    (lambda: calibration.Calibrator(P).run(CalOp.REFERENCE, CalScope.GLOBAL, CODES, NOISY, 1,
                                           mvm_index=1 << 63), ValueError,
     r"mvm_index must be in \[0, 9223372036854775807\], not 9223372036854775808"),
])
def test_mvm_index_beyond_int64_is_named(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_largest_mvm_index_still_runs():
    last = (1 << 63) - 1
    y = Tile(P).run(np.zeros((2, 2), int), NOISY, mvm_index=last - 1).y
    assert y.shape == (2, 3)
    assert noise.noise_keys(0, last).shape == ()


def test_runner_and_drivers_name_a_missing_component_or_parameters(monkeypatch):
    from types import SimpleNamespace
    from tb.cocotbdrv import TileTB
    from tb.runner import run_cocotb
    with pytest.raises(TypeError, match="component_factory must be a callable that returns the "
                                        "component, not None"):
        run_cocotb(None, "tile", "tb.test_tile", "icarus", "k")
    monkeypatch.delenv("TILE_PARAMS", raising=False)
    with pytest.raises(TypeError, match="params must be a TileParams, not None"):
        TileTB(SimpleNamespace())
