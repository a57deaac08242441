"""Statistical tests of the PCM device model (golden/device.py) against the reference formulas.

These are *statistical* tests, kept apart from the bit-exact ones: the device model is a float
model, and here it must match the formulas of design brief section 4 (IBM aihwkit
``PCMLikeNoiseModel``) in distribution. The expected values below are written out again from
the brief, independently of ``golden.device``, and every expected moment is exact (censored
normal for ``max(0, .)``, folded normal for ``|.|``, the closed form of ``E[T^-nu]``).

Tolerances (every sample is drawn from a fixed seed, so the tests are deterministic):

- sample mean: within ``MEAN_SE`` = 6 standard errors of the exact mean (``sd / sqrt(n)``);
- sample standard deviation: within ``STD_RTOL`` = 1 % of the exact one; with ``N_BIN`` =
  200,000 samples per bin the standard error of a normal sample's sd is 0.16 %, so 1 % is
  about 6 standard errors.

Power: for each statistical check, the ``test_*_detects_5_percent`` tests change each
coefficient under test by +5 % and -5 % and assert that the check fails. Bins were chosen so
that every coefficient moves some moment by well over the tolerance: e.g. the ``-0.0059``
intercept of the drift-exponent spread matters most near ``g_T = 0.3 g_max``, the ``0.2`` cap
of ``Q`` only at small conductances, ``t_read`` only at times close to ``t_read`` (the docs'
clock at ``t = 1 us``). Two floors never change a result of the fitted model (``1e-7`` of
``gr``: below it ``mu`` and ``s`` are clipped anyway; ``1e-3`` of ``(g/g_max)^0.65``: ``Q`` is
capped at 0.2 first) and are checked by the deterministic formula tests only.

Runtime: a few seconds.
"""
import math

import numpy as np
import pytest

from golden import device
from golden.device import PCMModel
from golden.spec import TileParams

N_BIN = 200_000
MEAN_SE = 6.0
STD_RTOL = 0.01
SEED = 20230823

# -- the reference formulas, written out from the brief (not imported from golden.device) -------
G_MAX = 25.0
T0 = 20.0
T_READ = 250e-9


def ref_sigma_p(g_t, g_max=G_MAX):
    x = g_t / g_max
    return (0.26348 + 1.9650 * x - 1.1731 * x ** 2) * g_max / 25.0


def ref_mu_s(g_t, g_max=G_MAX):
    gr = max(abs(g_t) / g_max, 1e-7)
    mu = min(max(-0.0155 * math.log(gr) + 0.0244, 0.049), 0.1)
    s = min(max(-0.0125 * math.log(gr) - 0.0059, 0.008), 0.045)
    return mu, s


def ref_q(g, g_max=G_MAX):
    return min(0.2, 0.0088 / max(1e-3, (g / g_max) ** 0.65))


def ref_sigma_n(g, t_eff):
    return ref_q(g) * math.sqrt(max(0.0, math.log((t_eff + T_READ) / (2 * T_READ))))


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def censored_moments(m, s):
    """Mean and sd of ``max(0, m + s Z)``, ``Z ~ N(0, 1)``."""
    if s == 0:
        return max(m, 0.0), 0.0
    a = m / s
    mean = m * cdf(a) + s * phi(a)
    second = (m * m + s * s) * cdf(a) + m * s * phi(a)
    return mean, math.sqrt(max(second - mean * mean, 0.0))


def folded_moments(mu, s):
    """Mean and sd of ``|mu + s Z|`` (folded normal)."""
    mean = s * math.sqrt(2 / math.pi) * math.exp(-mu * mu / (2 * s * s)) \
        + mu * (1 - 2 * cdf(-mu / s))
    return mean, math.sqrt(mu * mu + s * s - mean * mean)


def folded_power_moments(mu, s, log_t):
    """Mean and sd of ``T^-|X|`` = ``exp(-a |X|)``, ``a = ln T``, ``X ~ N(mu, s^2)``."""
    def m(a):   # E[exp(-a |X|)]
        return (math.exp(-a * mu + a * a * s * s / 2) * cdf(mu / s - a * s)
                + math.exp(a * mu + a * a * s * s / 2) * cdf(-mu / s - a * s))
    mean = m(log_t)
    return mean, math.sqrt(max(m(2 * log_t) - mean * mean, 0.0))


def _compare(failures, what, sample, mean, sd):
    n = sample.size
    got_mean, got_sd = float(sample.mean()), float(sample.std())
    if abs(got_mean - mean) > MEAN_SE * max(sd, 1e-12) / math.sqrt(n):
        failures.append(f"{what}: mean {got_mean:.6g}, expected {mean:.6g} "
                        f"(+- {MEAN_SE * sd / math.sqrt(n):.2g})")
    if sd > 0 and abs(got_sd / sd - 1) > STD_RTOL:
        failures.append(f"{what}: sd {got_sd:.6g}, expected {sd:.6g} "
                        f"({100 * (got_sd / sd - 1):+.2f} %, tolerance {100 * STD_RTOL} %)")


# -- the checks (each returns the list of failed comparisons) ------------------------------------
PROG_BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)           # g_T / g_max


def check_programming(model: PCMModel, seed=SEED) -> list:
    """Programming error ``g_prog - g_T`` per target bin vs ``max(0, g_T + sigma_p N) - g_T``."""
    failures = []
    rng = np.random.default_rng(seed)
    for x in PROG_BINS:
        g_t = x * G_MAX
        g_prog = model.program(np.full(N_BIN, g_t), rng)
        mean, sd = censored_moments(g_t, ref_sigma_p(g_t))
        _compare(failures, f"programming error at g_T = {g_t} uS", g_prog - g_t, mean - g_t, sd)
    return failures


DRIFT_BINS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.001, 0.0)     # g_T / g_max


def check_drift_exponents(model: PCMModel, seed=SEED) -> list:
    """Drift exponent per target bin vs the folded normal ``|N(mu, s)|``."""
    failures = []
    rng = np.random.default_rng(seed)
    for gr in DRIFT_BINS:
        g_t = gr * G_MAX
        nu = model.drift_exponents(np.full(N_BIN, g_t), rng)
        mean, sd = folded_moments(*ref_mu_s(g_t))
        _compare(failures, f"drift exponent at g_T = {g_t} uS", nu, mean, sd)
    return failures


DRIFT_TIMES = (20.0, 3600.0, 86400.0)
DRIFT_FACTOR_BINS = (1.0, 0.1, 0.01)


def check_drift_factor(model: PCMModel, seed=SEED) -> list:
    """``g_d / g_prog`` (drift only) at given times vs ``E[(t_eff/t0)^-nu]``, both clocks."""
    failures = []
    rng = np.random.default_rng(seed)
    for convention, offset in (("kit", T0), ("docs", 0.0)):
        m = model.replace(convention=convention, read_noise_scale=0.0)
        for gr in DRIFT_FACTOR_BINS:
            g_t = np.full(N_BIN, gr * G_MAX)
            nu = m.drift_exponents(g_t, rng)
            for t in DRIFT_TIMES:
                g = m.age(g_t, nu, t, rng, g_target=g_t)
                t_eff = t + offset
                if t_eff <= T0:
                    mean, sd = 1.0, 0.0
                else:
                    mean, sd = folded_power_moments(*ref_mu_s(gr * G_MAX), math.log(t_eff / T0))
                _compare(failures, f"{convention}: drift factor at t = {t} s, g_T = "
                         f"{gr * G_MAX} uS", g / g_t, mean, sd)
    return failures


READ_BINS = (0.05, 0.5, 2.5, 10.0, 25.0)                 # uS


def check_read_noise(model: PCMModel, seed=SEED) -> list:
    """``g / g_d`` (drift off) per conductance vs ``max(0, 1 + sigma_n N)``: at 1 hour on the
    kit's clock, and at 1 us on the docs' clock (where ``t_read`` matters)."""
    failures = []
    rng = np.random.default_rng(seed)
    cases = [("kit", 3600.0, 3600.0 + T0, READ_BINS), ("docs", 1e-6, 1e-6, (0.05, 10.0))]
    for convention, t, t_eff, bins in cases:
        m = model.replace(convention=convention)
        for g0 in bins:
            g = np.full(N_BIN, g0)
            aged = m.age(g, np.zeros(N_BIN), t, rng, g_target=g)
            mean, sd = censored_moments(1.0, ref_sigma_n(g0, t_eff))
            _compare(failures, f"{convention}: read noise at g = {g0} uS, t = {t} s",
                     aged / g0, mean, sd)
    return failures


# -- the model matches the formulas --------------------------------------------------------------
def test_programming_noise_matches_sigma_p():
    assert check_programming(PCMModel()) == []


def test_drift_exponent_matches_folded_normal():
    assert check_drift_exponents(PCMModel()) == []


def test_drift_factor_at_given_times():
    assert check_drift_factor(PCMModel()) == []


def test_read_noise_spread_matches_q_sqrt_log():
    assert check_read_noise(PCMModel()) == []


# -- ... and a 5 % change of any coefficient under test fails the check ------------------------
def _perturbed(model, name, index, factor):
    value = getattr(model, name)
    if index is None:
        return model.replace(**{name: value * factor})
    value = list(value)
    value[index] *= factor
    return model.replace(**{name: tuple(value)})


FACTORS = (1.05, 0.95)


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("name, index", [
    ("prog_coeff", 0), ("prog_coeff", 1), ("prog_coeff", 2),
    ("prog_coeff_g_max_reference", None),
])
def test_programming_check_detects_5_percent(name, index, factor):
    assert check_programming(_perturbed(PCMModel(), name, index, factor)) != []


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("name, index", [
    ("drift_mu", 0), ("drift_mu", 1), ("drift_mu", 2), ("drift_mu", 3),
    ("drift_sigma", 0), ("drift_sigma", 1), ("drift_sigma", 2), ("drift_sigma", 3),
    ("drift_scale", None),
])
def test_drift_exponent_check_detects_5_percent(name, index, factor):
    assert check_drift_exponents(_perturbed(PCMModel(), name, index, factor)) != []


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("name", ["t0", "drift_scale"])
def test_drift_factor_check_detects_5_percent(name, factor):
    assert check_drift_factor(_perturbed(PCMModel(), name, None, factor)) != []


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("name, index", [
    ("read_q", 0), ("read_q", 1), ("read_q", 2), ("t_read", None), ("read_noise_scale", None),
])
def test_read_noise_check_detects_5_percent(name, index, factor):
    assert check_read_noise(_perturbed(PCMModel(), name, index, factor)) != []


# -- deterministic formula values (cover the floors the statistics cannot see) ------------------
def test_formula_values():
    m = PCMModel()
    g = np.array([0.0, 1e-9, 0.01, 0.2, 1.0, 5.0, 12.5, 25.0])
    np.testing.assert_allclose(m.programming_sigma(g), [ref_sigma_p(v) for v in g], rtol=1e-12)
    mu, s = m.drift_mean_std(g)
    np.testing.assert_allclose(mu, [ref_mu_s(v)[0] for v in g], rtol=1e-12)
    np.testing.assert_allclose(s, [ref_mu_s(v)[1] for v in g], rtol=1e-12)
    np.testing.assert_allclose(m.read_noise_q(g), [ref_q(v) for v in g], rtol=1e-12)
    for t in (0.0, 1e-7, 1.0, 3600.0, 3.15e7):
        np.testing.assert_allclose(m.read_noise_sigma(g, t), [ref_sigma_n(v, t + T0) for v in g],
                                   rtol=1e-12)
    # the floors: gr = max(., 1e-7) and (g/g_max)^0.65 >= 1e-3 (both hidden by the clips here)
    floor_only = m.replace(drift_mu=(-0.0155, 0.0244, 0.0, 1.0), drift_sigma=(-0.0125, -0.0059,
                                                                              0.0, 1.0),
                           read_q=(0.0088, 0.65, 100.0, 1e-3))
    mu0, s0 = floor_only.drift_mean_std(np.array([0.0]))
    assert mu0[0] == pytest.approx(-0.0155 * math.log(1e-7) + 0.0244, rel=1e-12)
    assert s0[0] == pytest.approx(-0.0125 * math.log(1e-7) - 0.0059, rel=1e-12)
    assert floor_only.read_noise_q(np.array([0.0]))[0] == pytest.approx(8.8, rel=1e-12)
    # sigma_p scales with g_max / 25 and x is g_T / g_max
    m50 = PCMModel(g_max=50.0)
    np.testing.assert_allclose(m50.programming_sigma(np.array([25.0])),
                               [ref_sigma_p(25.0, 50.0)], rtol=1e-12)
    assert ref_sigma_p(25.0, 50.0) == pytest.approx(2 * ref_sigma_p(12.5), rel=1e-12)


@pytest.mark.parametrize("t", [0.0, 20.0, 3600.0, 86400.0, 3.1536e7])
def test_drift_factor_formula(t):
    nu = np.linspace(0.0, 0.2, 11)
    kit = PCMModel().drift_factor(nu, t)
    np.testing.assert_allclose(kit, ((t + T0) / T0) ** -nu if t > 0 else np.ones(11),
                               rtol=1e-12)
    docs = PCMModel(convention="docs").drift_factor(nu, t)
    np.testing.assert_allclose(docs, (t / T0) ** -nu if t > T0 else np.ones(11), rtol=1e-12)
    code = PCMModel(convention="aihwkit_code").drift_factor(nu, t)
    np.testing.assert_array_equal(code, kit)


# -- compensation -------------------------------------------------------------------------------
def _outputs_after(convention, t, seed=3):
    rng = np.random.default_rng(seed)
    rows, cols = 256, 128
    weights = rng.standard_normal((rows, cols))
    model = PCMModel(convention=convention)
    prog = device.program_weights(weights, seed=rng, model=model)
    x = rng.standard_normal((400, rows))
    cal = model.calibration_inputs(rows)
    w0 = prog.weights(prog.conductances(0.0, seed=rng))
    wt = prog.weights(prog.conductances(t, seed=rng))
    return x @ w0, x @ wt, cal @ w0, cal @ wt


@pytest.mark.parametrize("convention", ["kit", "docs"])
def test_global_compensation_restores_mean_abs_output(convention):
    y0, yt, c0, ct = _outputs_after(convention, 86400.0)
    ratio = np.abs(yt).mean() / np.abs(y0).mean()
    assert ratio < 0.8                                   # a day of drift: >20 % lost
    alpha = device.drift_compensation(c0, ct)
    assert np.abs(alpha * yt).mean() / np.abs(y0).mean() == pytest.approx(1.0, abs=0.015)


def test_per_column_compensation_restores_each_column():
    y0, yt, c0, ct = _outputs_after("kit", 3.1536e7)
    alpha = device.drift_compensation(c0, ct, per_column=True)
    assert alpha.shape == (y0.shape[1],)
    # the calibration readout itself is restored exactly, column by column
    np.testing.assert_allclose(np.abs(alpha * ct).mean(axis=0), np.abs(c0).mean(axis=0),
                               rtol=1e-12)
    # the mean |output| of other inputs within a few %: the one-hot readout weighs |w|
    # (mean |w| per column) while an MVM output's size follows sqrt(mean w^2), and the small
    # weights drift faster (docs/device.md)
    per_col = np.abs(alpha * yt).mean(axis=0) / np.abs(y0).mean(axis=0)
    uncompensated = np.abs(yt).mean(axis=0) / np.abs(y0).mean(axis=0)
    assert np.all(uncompensated < 0.6)                   # a year of drift: >40 % lost
    assert np.sqrt(np.mean((per_col - 1) ** 2)) < 0.02, per_col
    assert np.all(np.abs(per_col - 1) < 0.06), per_col
    glob = device.drift_compensation(c0, ct) * uncompensated
    assert np.std(np.log(per_col)) < np.std(np.log(glob))


def test_compensation_readout_is_mean_abs():
    ref = np.array([[2.0, -4.0], [-2.0, 4.0]])
    cur = np.array([[1.0, -1.0], [-1.0, 3.0]])
    assert device.drift_compensation(ref, cur) == pytest.approx(12 / 6)
    np.testing.assert_allclose(device.drift_compensation(ref, cur, per_column=True), [2.0, 2.0])


# -- the conventions ----------------------------------------------------------------------------
def test_conventions_are_named_sets():
    assert PCMModel().convention == device.Convention("programmed", "after_t0", "one_hot",
                                                      "devices")
    assert PCMModel(convention="docs").convention == device.Convention(
        "target", "since_programming", "all_ones", "devices")
    assert PCMModel(convention="aihwkit_code").convention == device.Convention(
        "programmed", "after_t0", "one_hot", "net_weight")
    custom = device.Convention("target", "since_programming", "one_hot")
    assert PCMModel(convention=custom).convention is custom
    assert device.Convention() == device.CONVENTIONS["kit"]


def test_conventions_differ_at_t_zero_and_t0():
    g = np.full(1000, 10.0)
    nu = np.full(1000, 0.06)
    kit, docs = PCMModel(), PCMModel(convention="docs")
    # t = 0: the kit's clock reads at t0 = 20 s after the pulse (read noise), docs at 0 (none)
    assert not np.array_equal(kit.age(g, nu, 0.0, 1, g_target=g), g)
    np.testing.assert_array_equal(docs.age(g, nu, 0.0, 1, g_target=g), g)
    # t = 20 s: drift 2^-nu on the kit's clock, none yet on the docs' clock
    quiet = dict(read_noise_scale=0.0)
    np.testing.assert_allclose(kit.replace(**quiet).age(g, nu, 20.0, 1, g_target=g),
                               g * 2.0 ** -0.06, rtol=1e-12)
    np.testing.assert_array_equal(docs.replace(**quiet).age(g, nu, 20.0, 1, g_target=g), g)
    # after a year the clocks agree to nu * t0 / t
    year = 3.1536e7
    a = kit.replace(**quiet).age(g, nu, year, 1, g_target=g)
    b = docs.replace(**quiet).age(g, nu, year, 1, g_target=g)
    np.testing.assert_allclose(a, b, rtol=0.06 * T0 / year * 1.01)


def test_conventions_differ_in_read_noise_reference():
    n = N_BIN
    g_target = np.full(n, 10.0)
    g_prog = np.full(n, 1.0)            # a device far from its target
    nu = np.zeros(n)
    t = 3600.0
    target_q = PCMModel(convention=device.Convention(read_noise_from="target"))
    by_target = target_q.age(g_prog, nu, t, 5, g_target=g_target) / g_prog - 1
    default = PCMModel().age(g_prog, nu, t, 5, g_target=g_target) / g_prog - 1
    code = PCMModel(convention="aihwkit_code").age(g_prog, nu, t, 5) / g_prog - 1
    assert by_target.std() == pytest.approx(ref_sigma_n(10.0, t + T0), rel=STD_RTOL)
    assert default.std() == pytest.approx(ref_sigma_n(1.0, t + T0), rel=STD_RTOL)
    assert default.std() / by_target.std() == pytest.approx((10.0 / 1.0) ** 0.65,
                                                            rel=2 * STD_RTOL)
    # the default takes Q of g_prog, as aihwkit's code: g_target is not used, draw for draw
    np.testing.assert_array_equal(default, code)
    np.testing.assert_array_equal(PCMModel().age(g_prog, nu, t, 5) / g_prog - 1, default)
    # where g_prog == g_target the two references agree draw for draw
    same = np.full(100, 7.0)
    np.testing.assert_array_equal(
        target_q.age(same, np.full(100, 0.05), t, 9, g_target=same),
        PCMModel().age(same, np.full(100, 0.05), t, 9))


def test_default_read_noise_follows_the_programmed_conductance():
    """At a 1 uS target the programming noise (sigma_p = 0.34 uS) spreads g_prog over the steep
    part of Q ~ g^-0.65: the relative read-noise spread is about 10 % above Q(g_T)'s, far from
    Q's 0.2 cap (docs/device.md section 3)."""
    rng = np.random.default_rng(SEED)
    g_t = np.full(N_BIN, 1.0)
    g_prog = PCMModel().program(g_t, rng)
    g_prog = g_prog[g_prog > 0]
    g_t = g_t[: g_prog.size]
    nu = np.zeros(g_prog.size)
    t = 3600.0
    default = PCMModel().age(g_prog, nu, t, rng) / g_prog - 1
    target_q = PCMModel(convention=device.Convention(read_noise_from="target"))
    by_target = target_q.age(g_prog, nu, t, rng, g_target=g_t) / g_prog - 1
    assert ref_q(1.0) == pytest.approx(0.0713, abs=1e-4)          # far below the 0.2 cap
    mean, sd = censored_moments(1.0, ref_sigma_n(1.0, t + T0))
    assert by_target.std() == pytest.approx(sd, rel=STD_RTOL)
    # the default's spread: a mixture over the devices' own g_prog of max(0, 1 + sigma_n N)
    parts = [censored_moments(1.0, ref_sigma_n(g, t + T0)) for g in g_prog[:20000]]
    means, sds = np.array(parts).T
    expected = math.sqrt(np.mean(sds ** 2) + np.var(means))
    assert default.std() == pytest.approx(expected, rel=2 * STD_RTOL)
    assert 1.08 < default.std() / by_target.std() < 1.14


def test_conventions_differ_in_calibration_inputs():
    np.testing.assert_array_equal(PCMModel().calibration_inputs(4), np.eye(4))
    np.testing.assert_array_equal(PCMModel(convention="docs").calibration_inputs(4),
                                  np.ones((1, 4)))
    np.testing.assert_array_equal(PCMModel(convention="aihwkit_code").calibration_inputs(4),
                                  np.eye(4))


# -- reproducibility ----------------------------------------------------------------------------
def test_same_seed_same_devices():
    w = np.random.default_rng(0).standard_normal((32, 16))
    a = device.program_weights(w, seed=42)
    b = device.program_weights(w, seed=np.random.default_rng(42))
    for name in ("g_target", "g_prog", "nu", "target_weights"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.conductances(3600.0, seed=7), b.conductances(3600.0, seed=7))
    c = device.program_weights(w, seed=43)
    assert not np.array_equal(a.g_prog, c.g_prog)
    assert not np.array_equal(a.conductances(3600.0, seed=7), a.conductances(3600.0, seed=8))
    m = PCMModel()
    np.testing.assert_array_equal(m.program(np.full(10, 5.0), 1), m.program(np.full(10, 5.0), 1))


# -- bad input ----------------------------------------------------------------------------------
GOOD_G = np.full((2, 3), 5.0)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: PCMModel(g_max=0), ValueError, "g_max must be > 0, not 0"),
    (lambda: PCMModel(g_max=-25.0), ValueError, "g_max must be > 0"),
    (lambda: PCMModel(g_max=float("nan")), ValueError, "g_max must be finite"),
    (lambda: PCMModel(g_max="25"), TypeError, "g_max must be a real number"),
    (lambda: PCMModel(t0=0.0), ValueError, "t0 must be > 0"),
    (lambda: PCMModel(t_read=-1e-9), ValueError, "t_read must be > 0"),
    (lambda: PCMModel(prog_noise_scale=-1), ValueError, "prog_noise_scale must be >= 0"),
    (lambda: PCMModel(drift_mu=(1, 2, 3)), ValueError, "drift_mu must be 4 real numbers"),
    (lambda: PCMModel(drift_sigma=(-0.0125, -0.0059, 0.05, 0.01)), ValueError,
     "drift_sigma clip range must satisfy 0 <= lo <= hi"),
    (lambda: PCMModel(convention="paper"), ValueError,
     "convention must be one of 'kit', 'docs', 'aihwkit_code'"),
    (lambda: device.Convention(drift_clock="t_over_t0"), ValueError,
     "drift_clock must be one of 'after_t0', 'since_programming'"),
    (lambda: PCMModel().program(GOOD_G, None), TypeError, "seed must be an int or a numpy"),
    (lambda: PCMModel().program(GOOD_G, -1), ValueError, "seed must be >= 0"),
    (lambda: PCMModel().program(np.array([5.0, np.nan]), 1), ValueError,
     r"g_target\[1\] = nan is not finite"),
    (lambda: PCMModel().program(np.array([5.0, 26.0]), 1), ValueError,
     r"g_target\[1\] is outside \[0, g_max=25.0\]"),
    (lambda: PCMModel().program(np.array([-1.0]), 1), ValueError, "is outside"),
    (lambda: PCMModel().program(np.array(["a"]), 1), TypeError,
     "g_target must be a real .* array"),
    (lambda: PCMModel().drift_factor(np.array([0.1]), -1.0), ValueError,
     "t must be >= 0, not -1.0"),
    (lambda: PCMModel().drift_factor(np.array([-0.1]), 1.0), ValueError, "nu.* is negative"),
    (lambda: PCMModel().age(GOOD_G, np.zeros((2, 3)), -5, 1, g_target=GOOD_G), ValueError,
     "t must be >= 0"),
    (lambda: PCMModel().age(GOOD_G, np.zeros((2, 3)), float("inf"), 1, g_target=GOOD_G),
     ValueError, "t must be finite"),
    (lambda: PCMModel().age(GOOD_G, np.zeros((2, 3)), True, 1, g_target=GOOD_G), TypeError,
     "t must be a real number, not True"),
    (lambda: PCMModel().age(GOOD_G, np.zeros(3), 1.0, 1, g_target=GOOD_G), ValueError,
     r"nu must have the shape of g_prog \(2, 3\)"),
    (lambda: PCMModel(convention="docs").age(GOOD_G, np.zeros((2, 3)), 1.0, 1), ValueError,
     "g_target is required"),
    (lambda: PCMModel().age(-GOOD_G, np.zeros((2, 3)), 1.0, 1, g_target=GOOD_G), ValueError,
     "g_prog.* is negative"),
    (lambda: PCMModel().calibration_inputs(0), ValueError, "rows must be >= 1"),
    (lambda: device.program_weights(np.ones((4, 4)), seed=1, devices=3), ValueError,
     "devices must be 2 or 4, not 3"),
    (lambda: device.program_weights(np.ones((4, 4)), seed=1, devices=2, f_factor=2), ValueError,
     "f_factor only applies to 4-PCM cells"),
    (lambda: device.program_weights(np.ones((4, 4)), seed=1, f_factor=0), ValueError,
     "f_factor must be > 0"),
    (lambda: device.program_weights(np.array([[1.0, np.nan]]), seed=1), ValueError,
     r"weights\[0, 1\] = nan is not finite"),
    (lambda: device.program_weights(np.ones(4), seed=1), ValueError,
     r"weights must have 2 dimensions, not shape \(4,\)"),
    (lambda: device.program_weights(np.ones((2, 2), dtype=complex), seed=1), TypeError,
     "weights must be a real"),
    (lambda: device.program_weights(np.ones((2, 2)), seed=1, model="pcm"), TypeError,
     "model must be a PCMModel"),
    (lambda: device.program_weights(np.ones((2, 2)), seed=None), TypeError,
     "seed must be an int"),
    (lambda: device.weight_scale(np.ones((2, 2)), per_column=1), TypeError,
     "per_column must be a bool"),
    (lambda: device.weight_scale(np.ones((0, 2))), ValueError, "weights must not be empty"),
    (lambda: device.effective_weights(np.ones((2, 3))), ValueError,
     "g must have 2 or 4 devices on its last axis"),
    (lambda: device.conductances_to_codes(np.ones((2, 2, 4)), "params"), TypeError,
     "params must be a TileParams"),
    (lambda: device.conductances_to_codes(np.ones((2, 2, 2)), TileParams(rows=2, cols=2)),
     ValueError, r"g must have shape \(2, 2, 4\)"),
    (lambda: device.conductances_to_codes(np.ones((2, 2, 4)), TileParams(rows=2, cols=2),
                                          g_max=0), ValueError, "g_max must be > 0"),
    (lambda: device.conductances_to_codes(-np.ones((2, 2, 4)), TileParams(rows=2, cols=2)),
     ValueError, r"g\[0, 0, 0\] is negative"),
    (lambda: device.conductances_to_codes(np.full((2, 2, 4), np.nan), TileParams(rows=2, cols=2)),
     ValueError, "is not finite"),
    (lambda: device.drift_compensation(np.ones((2, 3)), np.ones((3, 2))), ValueError,
     r"current must have the shape of reference \(2, 3\)"),
    (lambda: device.drift_compensation(np.ones((2, 3)), np.zeros((2, 3))), ValueError,
     "current calibration readout is 0"),
    (lambda: device.drift_compensation(np.ones((2, 3)), np.array([[1, 0, 1], [1, 0, 1]]),
                                       per_column=True), ValueError, r"is 0 \(column 1\)"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
