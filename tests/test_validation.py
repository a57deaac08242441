"""Public APIs of golden/ and tb/ refuse values they would otherwise truncate, wrap or pass on:
floats where integers are required, bools and floats as enum values, out-of-range words, NaN.
Every error names the argument, the value (or the first bad element) and the legal range."""
import numpy as np
import pytest

from golden import calibration, fixed, ilp, program, reference
from golden import rng as grng
from golden.calibration import CalOp, CalReference, CalScope
from golden.spec import Activation, InputMode, TileConfig, TileParams
from golden.tile import Tile

P = TileParams(rows=2, cols=3, in_bits=4, out_bits=4, code_bits=3, charge_bits=12)
CODES = np.zeros((2, 3, 4), dtype=np.int64)


def _raises(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


# -- enums ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, message", [
    (lambda: TileConfig(input_mode=True).resolved(P), TypeError,
     r"input_mode must be an InputMode: 0 \(UNSIGNED\) or 1 \(SIGNED\), not True"),
    (lambda: TileConfig(activation=1.0).resolved(P), TypeError,
     r"activation must be an Activation: 0 \(RELU\), 1 \(IDENTITY\), 2 \(HARD_SIGMOID\) or "
     r"3 \(WINDOW\), not 1.0"),
    (lambda: TileConfig(activation=7).resolved(P), ValueError,
     r"activation must be an Activation: 0 \(RELU\), .* or 3 \(WINDOW\), not 7"),
    (lambda: TileConfig(input_source=np.float64(1)).resolved(P), TypeError,
     r"input_source must be an InputSource: 0 \(HOST\) or 1 \(LANES\), not np.float64\(1.0\)"),
    (lambda: TileConfig(input_mode=Activation.IDENTITY).resolved(P), TypeError,
     r"input_mode must be an InputMode: .*, not <Activation.IDENTITY: 1>"),
    (lambda: TileConfig(input_mode="SIGNED").validate(P), TypeError, "input_mode must be an"),
    (lambda: P.input_range(True), TypeError, "mode must be an InputMode"),
    (lambda: P.input_duration_max(0.0), TypeError, "mode must be an InputMode"),
    (lambda: P.activation_window(True), TypeError, "activation must be an Activation"),
    (lambda: ilp.check_words([1, 2], True, P), TypeError, "mode must be an InputMode"),
    (lambda: calibration.pack_cal_cmd(True), TypeError,
     r"op must be a CalOp: 0 \(REFERENCE\) or 1 \(COMPENSATE\), not True"),
    (lambda: calibration.pack_cal_cmd(CalOp.REFERENCE, 1.0), TypeError,
     "scope must be a CalScope"),
    (lambda: calibration.walk_cycles(P, 2), ValueError, r"op must be a CalOp: .*, not 2"),
    (lambda: calibration.Calibrator(P).run(True, CalScope.GLOBAL, CODES, TileConfig(), 1),
     TypeError, "op must be a CalOp"),
    (lambda: calibration.compensated_gains(CalReference(np.ones(3, int), np.ones(3, int)),
                                           np.ones(3, int), False, P),
     TypeError, "scope must be a CalScope"),
])
def test_enums_take_members_or_their_integer_values_only(call, exc, message):
    _raises(call, exc, message)


def test_enums_still_take_plain_integers():
    cfg = TileConfig(input_mode=1, activation=np.int64(2), input_source=0).resolved(P)
    assert (cfg.input_mode, cfg.activation) == (InputMode.SIGNED, Activation.HARD_SIGMOID)
    assert calibration.pack_cal_cmd(1, 1) == 3


# -- integers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, message", [
    (lambda: TileConfig(ramp_shift=1.5).resolved(P), TypeError,
     r"ramp_shift must be an integer in \[0, 12\], not 1.5"),
    (lambda: TileConfig(noise_seed=1 << 32).resolved(P), ValueError,
     r"noise_seed must be in \[0, 4294967295\], not 4294967296"),
    (lambda: TileConfig(gain=np.array([1.5, 1, 1])).resolved(P), TypeError,
     r"gain must be an integer array with values in \[0, 255\], not dtype float64"),
    (lambda: fixed.clamp([1, 2], 0.5, 3), TypeError, "lo must be an integer, not 0.5"),
    (lambda: fixed.clamp([1, 2], 0, True), TypeError, "hi must be an integer, not True"),
    (lambda: fixed.saturate_symmetric([1, 2], 2.5), TypeError,
     "max must be an integer, not 2.5"),
    (lambda: Tile(P).program_row(1.0, np.zeros((3, 4), int)), TypeError,
     r"row must be an integer in \[0, 1\], not 1.0"),
    (lambda: calibration.compensated_gains(
        CalReference(np.array([1.7, 1, 1]), np.array([1, 2, 3])), np.array([1, 2, 3]),
        CalScope.GLOBAL, P), TypeError,
     r"reference.gain must be an integer array with values in \[0, 255\], not dtype float64"),
    (lambda: calibration.compensated_gains(
        CalReference(np.ones(3, int), np.array([1.5, 2, 3])), np.array([1, 2, 3]),
        CalScope.GLOBAL, P), TypeError,
     r"reference.charge must be an integer array with values in \[-2047, 2047\]"),
    (lambda: calibration.compensated_gains(
        CalReference(np.ones(3, int), np.ones(3, int)), np.array([1, 2, 3.5]),
        CalScope.GLOBAL, P), TypeError, r"charge must be an integer array"),
    (lambda: calibration.compensated_gains(
        CalReference(np.ones(3, int), np.ones(3, int)), np.array([1, 2, 3000]),
        CalScope.GLOBAL, P), ValueError, r"charge\[2\] = 3000 is outside \[-2047, 2047\]"),
    (lambda: calibration.conductance_read(CODES, 1.0, TileConfig(), P), TypeError,
     r"cal_input must be an integer in \[0, 15\], not 1.0"),
    (lambda: grng.column_constants(2.5), TypeError,
     r"cols must be an integer in \[0, 4096\], not 2.5"),
    (lambda: grng.column_hash(1.5, 3), TypeError,
     r"key must be an integer in \[0, 4294967295\], not 1.5"),
    (lambda: grng.column_hash(1 << 32, 3), ValueError,
     r"key must be in \[0, 4294967295\], not 4294967296"),
    (lambda: grng.irwin_hall([1.5]), TypeError,
     r"u must be an integer array with values in \[0, 4294967295\], not dtype float64"),
    (lambda: grng.irwin_hall([-1]), ValueError, r"u\[0\] = -1 is outside \[0, 4294967295\]"),
])
def test_integers_are_not_truncated(call, exc, message):
    _raises(call, exc, message)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: program.program_array(np.zeros((2, 3), int), params=P, row_ids=[0.5, 1.7]),
     TypeError, r"row_ids must be an integer array with values in \[0, 1\], not dtype float64"),
    (lambda: program.weight_error_stats([0.4, 1.6], [0, 2], P), TypeError,
     r"targets must be an integer array with values in \[-14, 14\], not dtype float64"),
    (lambda: program.weight_error_stats([0, 2], [0, 2.5], P), TypeError,
     r"weights must be an integer array with values in \[-14, 14\], not dtype float64"),
    (lambda: program.weight_error_stats([0, 15], [0, 2], P), ValueError,
     r"targets\[1\] = 15 is outside \[-14, 14\]"),
    (lambda: program.weight_error_stats([0, 1], [0, 2], P, fail_mask=[0.5, 1]), TypeError,
     "fail_mask must be a bool array"),
    (lambda: program.weight_error_stats([0, 1], [0, 2], P, fail_mask=[True]), ValueError,
     r"fail_mask must have the shape of targets \(2,\), not \(1,\)"),
    (lambda: program.key_word(1.5, 0, 0, 0), TypeError,
     r"row must be an integer array with values in \[0, 65535\], not dtype float64"),
    (lambda: program.key_word(1, 2, 0, 0), ValueError, r"pair = 2 is outside \[0, 1\]"),
    (lambda: program.key_word(1, 0, [0, 2], 0), ValueError, r"device\[1\] = 2 is outside \[0, 1\]"),
    (lambda: program.key_word(1, 0, 0, 256), ValueError, r"iteration = 256 is outside \[0, 255\]"),
    (lambda: program.noise_key((1 << 32) + 5, 1, 0, 0, 0), ValueError,
     r"seed must be in \[0, 4294967295\], not 4294967301"),
    (lambda: program.noise_key(1.0, 1, 0, 0, 0), TypeError,
     r"seed must be an integer in \[0, 4294967295\], not 1.0"),
    (lambda: program.sigma_bin([1.5], P), TypeError,
     r"target_codes must be an integer array with values in \[0, 7\]"),
    (lambda: program.sigma_bin([8], P), ValueError, r"target_codes\[0\] = 8 is outside \[0, 7\]"),
    (lambda: program.pulse_step([1.5], 192), TypeError, "err must be an integer array"),
    (lambda: program.pulse_step([1], 192.0), TypeError,
     r"pulse_gain must be an integer in \[1, 255\], not 192.0"),
    (lambda: program.pulse_noise([1.5], [3], P), TypeError, "n must be an integer array"),
    (lambda: program.pulse_noise([1], [3.5], P), TypeError,
     "scaled_sigma must be an integer array"),
    (lambda: program.msp_targets([1.5], P), TypeError,
     r"t must be an integer array with values in \[-14, 14\]"),
    (lambda: program.lsp_targets([1], [0.5], [0], P), TypeError,
     r"gp must be an integer array with values in \[0, 7\]"),
    (lambda: program.latency([[1.5, 2]], P), TypeError, "phase_cycles must be an integer array"),
    (lambda: program.weight_tolerance(1.5, P), TypeError,
     r"tol must be an integer in \[0, 7\], not 1.5"),
    (lambda: program.program_row(np.zeros(3, int), np.int64(0), program.ProgramConfig(tol=2.0),
                                 P), TypeError, r"tol must be an integer in \[0, 7\], not 2.0"),
])
def test_program_integers_are_not_truncated(call, exc, message):
    _raises(call, exc, message)


def test_program_still_takes_integer_arrays():
    stats = program.weight_error_stats(np.array([0, 14]), [0, 7], P, fail_mask=[False, True])
    assert stats.max_abs_error == 7 and stats.fail_fraction == 0.5
    assert program.key_word(np.array([1, 2]), 1, [0, 1], 3).tolist() == [
        (1 << 12) | (1 << 10) | 3, (2 << 12) | (1 << 10) | (1 << 8) | 3]


# -- the float reference --------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, message", [
    (lambda: reference.ideal_mvm([np.nan, 1], np.ones((2, 3))), ValueError,
     r"x\[0\] = nan is not finite"),
    (lambda: reference.ideal_mvm([1, 1], np.full((2, 3), np.inf)), ValueError,
     r"weights\[0, 0\] = inf is not finite"),
    (lambda: reference.ideal_mvm(["1", "2"], np.ones((2, 3))), TypeError,
     r"x must be a real \(integer or float\) array, not dtype"),
    (lambda: reference.ideal_mvm([True, False], np.ones((2, 3))), TypeError,
     r"x must be a real \(integer or float\) array, not dtype"),
    (lambda: reference.ideal_output([np.nan, 1], np.ones((2, 3)), TileConfig(), P), ValueError,
     r"x\[0\] = nan is not finite"),
])
def test_reference_refuses_non_finite_and_non_real_values(call, exc, message):
    _raises(call, exc, message)


# -- testbench drivers and stimulus ---------------------------------------------------------------

def _first_step(coroutine):
    """Run a driver coroutine up to its first await (the request checks come before it)."""
    coroutine.send(None)


def _cocotb_tb():
    from types import SimpleNamespace
    from tb.cocotbdrv import TileTB
    return TileTB(SimpleNamespace(), P)


def _sim_driver():
    from tb.simdrv import SimTileDriver
    return SimTileDriver(None, None, P)


@pytest.mark.parametrize("driver", [_cocotb_tb, _sim_driver], ids=["cocotb", "amaranth.sim"])
@pytest.mark.parametrize("request_, exc, message", [
    (lambda d: d.csr_write(0x10, -1), ValueError, r"data must be in \[0, 4294967295\], not -1"),
    (lambda d: d.csr_write(0x10, 1 << 32), ValueError,
     r"data must be in \[0, 4294967295\], not 4294967296"),
    (lambda d: d.csr_write(0x10, 1.0), TypeError,
     r"data must be an integer in \[0, 4294967295\], not 1.0"),
    (lambda d: d.csr_write(0x10000, 0), ValueError, r"address must be in \[0, 65535\], not 65536"),
    (lambda d: d.csr_write(0x10, 0, 16), ValueError, r"strobe must be in \[0, 15\], not 16"),
    (lambda d: d.csr_read(1.0), TypeError, r"address must be an integer in \[0, 65535\], not 1.0"),
])
def test_drivers_refuse_requests_they_would_wrap(driver, request_, exc, message):
    with pytest.raises(exc, match=message):
        _first_step(request_(driver()))


@pytest.mark.parametrize("call, exc, message", [
    (lambda: __import__("tb.stimulus").stimulus.random_inputs(
        np.random.default_rng(1), P, InputMode.SIGNED, 2.0), TypeError,
     "n must be an integer >= 0, not 2.0"),
    (lambda: __import__("tb.stimulus").stimulus.random_inputs(
        np.random.default_rng(1), P, True, 2), TypeError, "mode must be an InputMode"),
    (lambda: __import__("tb.stimulus").stimulus.random_config(
        np.random.default_rng(1), P, InputMode.SIGNED, Activation.RELU, 1.0), TypeError,
     r"ramp_shift must be an integer in \[0, 12\], not 1.0"),
])
def test_stimulus_refuses_non_integers(call, exc, message):
    _raises(call, exc, message)


def test_block_scenarios_refuse_values_that_do_not_fit_a_port():
    from tb.blocks import Scenario
    scenario = Scenario({"a": 4}, {}, np.random.default_rng(1))
    scenario._emit(a=-8)
    scenario._emit(a=15)
    assert scenario.inputs["a"] == [8, 15]
    with pytest.raises(ValueError, match=r"block port a must be in \[-8, 15\], not 16"):
        scenario._emit(a=16)
    with pytest.raises(TypeError, match=r"block port a must be an integer in \[-8, 15\], not 1.5"):
        scenario._emit(a=1.5)
    with pytest.raises(ValueError, match="block: no input port 'b'"):
        scenario._emit(b=1)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: Command(1.0, np.zeros(3, int), program.ProgramConfig()), TypeError,
     r"row must be an integer in \[0, 65535\], not 1.0"),
    (lambda: Command(0, np.array([0.5, 1, 2]), program.ProgramConfig()), TypeError,
     "targets must be an integer array, not dtype float64"),
    (lambda: Command(0, np.zeros(3, int), None), TypeError,
     "cfg must be a ProgramConfig, not None"),
])
def test_programmer_commands_refuse_what_they_would_truncate(call, exc, message):
    _raises(call, exc, message)


def Command(*args):
    from tb.programmer_scenario import Command as _Command
    return _Command(*args)


def test_range_checks_of_wide_words():
    """Words of a 512-column row are wider than Python's 4300-digit limit on decimal text: the
    check of such a word and its error message still work (bounds named as powers of two)."""
    from golden.spec import check_int
    from tb.pack import pack_words, unpack_words

    codes = np.arange(2048) % 256
    word = pack_words(codes, 8)
    assert word.bit_length() > 14300            # more than 4300 decimal digits
    np.testing.assert_array_equal(unpack_words(word, 2048, 8), codes)
    with pytest.raises(ValueError, match=r"value must be in \[0, 2\*\*16384 - 1\], "
                                         r"not an integer of 16385 bits"):
        unpack_words(1 << 16384, 2048, 8)
    with pytest.raises(ValueError, match=r"x must be >= -2\*\*70, not a negative integer of 71 bits"):
        check_int("x", -(1 << 70) - 1, -(1 << 70))
