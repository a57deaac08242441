"""golden.energy: the calibration reproduces the paper's two points, the energy is linear in
every count, half the integration time changes only what docs/energy.md says, the activity of
a small golden chip matches a hand count, and bad input raises errors naming the argument.

Random tests take the ``seed`` fixture of tests/conftest.py (printed; ``SEED=<n>`` reruns one).
"""
import dataclasses
import math

import numpy as np
import pytest

from golden import energy as en
from golden.chip import Chip, ChipParams, Routing, ilp, tile
from golden.energy import (Activity, EnergyParams, activity_from_batch, activity_from_stream,
                           activity_of_mvm, calibrate, energy, latency, route_hops,
                           scale_integration)
from golden.spec import Activation, InputMode, InputSource, TileConfig, TileParams
from golden.tile import Tile
from tb.stimulus import random_codes

SMALL = TileParams(rows=16, cols=16, in_bits=4, out_bits=4, code_bits=3, charge_bits=14)
# D (UNSIGNED) = 15, evaluate_cycles E = 16 / 4 + 1 = 5, out_max O = 15
D, E, O = 15, 5, 15

COUNTS = [f.name for f in dataclasses.fields(Activity)]


def small_chip(rng, *, zero_cols=()):
    """A 2 x 2 grid of 16 x 16 tiles (two lane groups of 8), one pair on row 0, random codes
    (columns ``zero_cols`` of every tile left unmapped), ReLU, inputs from the lanes."""
    p = ChipParams(tile=SMALL, grid_rows=2, grid_cols=2, empty=(), group_lanes=8,
                   pair_rows=(0,))
    chip = Chip(p)
    for t in range(p.tiles):
        codes = random_codes(rng, SMALL)
        codes[:, list(zero_cols), :] = 0
        chip.program(t, codes)
        chip.configure(t, TileConfig(input_source=InputSource.LANES, ramp_shift=5,
                                     activation=Activation.RELU))
    return chip


def host_mvm(chip, t, x):
    """Tile t's output words for input words x, by an independent golden Tile."""
    cfg = dataclasses.replace(chip.config(t), input_source=InputSource.HOST,
                              input_mode=InputMode.UNSIGNED)
    return Tile(SMALL, chip.tile(t).codes).mvm(np.asarray(x), cfg)


# -- calibration ---------------------------------------------------------------------------------

def test_calibration_reproduces_both_points():
    cal = calibrate()
    assert cal.free == ("e_cell", "p_chip")
    for name, target in (("tile_peak", 20.0), ("chip_sustained", 12.4)):
        assert cal.targets[name] == target
        assert abs(cal.reproduced[name] / target - 1) < 1e-6
        assert abs(cal.residuals[name]) < 1e-6
        assert energy(cal.activities[name], cal.params).tops_per_w == pytest.approx(target,
                                                                                  rel=1e-6)
    # the defaults are the calibrated values (6 significant digits)
    for f in cal.free:
        assert getattr(EnergyParams(), f) == pytest.approx(getattr(cal.params, f), rel=1e-5)
    # the fixed parameters are the base's
    for f in dataclasses.fields(EnergyParams):
        if f.name not in cal.free:
            assert getattr(cal.params, f.name) == getattr(EnergyParams(), f.name)


def test_calibration_ignores_the_half_integration_figure(monkeypatch):
    before = calibrate().params
    monkeypatch.setattr(en, "HALF_INTEGRATION_TOPS_W", 99.0)
    assert calibrate().params == before


def test_calibration_other_free_pair_and_targets():
    cal = calibrate(free=("e_cell", "p_tile"), tile_peak=10.0, chip_sustained=5.0)
    assert cal.reproduced["tile_peak"] == pytest.approx(10.0, rel=1e-9)
    assert cal.reproduced["chip_sustained"] == pytest.approx(5.0, rel=1e-9)
    with pytest.raises(ValueError, match="< 0"):
        calibrate(tile_peak=1e6)            # tile peak needs a negative cell energy


def test_tile_peak_activity_is_a_full_mvm():
    a = en.tile_peak_activity()
    assert a.cell_ticks == 512 * 255 * 512
    assert (a.conversions, a.mvms, a.macs, a.ops) == (512, 1, 512 * 512, 2 * 512 * 512)
    # IDLE 1 + INTEGRATE 256 + EVALUATE 129 + CONVERT 1 + EMIT 256 + OUTPUT 1
    assert (a.cycles, a.integrate_cycles) == (644, 256)
    assert (a.ilp_words, a.olp_words, a.lane_hops, a.beats, a.chips) == (0, 0, 0, 0, 0)
    assert a.powered_tiles == 1


def test_sustained_activity_counts():
    a = en.sustained_activity()
    # 6 pairs x 2 beats; 34 tiles each run twice at full activity
    assert (a.beats, a.mvms, a.powered_tiles, a.chips) == (12, 68, 34, 1)
    assert a.cell_ticks == 68 * 512 * 255 * 512
    assert a.macs == 68 * 512 * 512
    assert (a.ilp_words, a.olp_words) == (12 * 512, 12 * 512)
    # every chain: ILP -> H(r, 0), one segment per tile-to-tile hop, last tile -> OLP: 7 hops
    assert a.lane_hops == 12 * 7 * 512


def test_prediction_reported_honestly():
    cal = calibrate()
    pred = en.predict_half_integration(cal.params)
    assert pred.reported == 15.4
    assert pred.relative_error == pytest.approx(pred.predicted / 15.4 - 1)
    assert pred.nominal.tops_per_w == pytest.approx(12.4, rel=1e-6)
    assert pred.predicted > pred.nominal.tops_per_w


# -- the energy function -------------------------------------------------------------------------

def base_activity():
    return Activity(cell_ticks=1000, conversions=30, ilp_words=40, olp_words=50, lane_hops=60,
                    mvms=3, beats=2, inferences=2, cycles=900, integrate_cycles=300,
                    powered_tiles=4, chips=1, macs=700)


@pytest.mark.parametrize("name", COUNTS)
def test_energy_is_linear_in_each_count(name):
    p = EnergyParams()
    a = base_activity()
    n0 = getattr(a, name)
    if name == "integrate_cycles":
        values = (0, 300, 600)
    else:
        values = (0, n0 + 7, 2 * (n0 + 7))
    totals, comps = [], []
    for v in values:
        kw = {name: v}
        if name == "cycles":
            kw["integrate_cycles"] = 0
        b = energy(a.replace(**kw), p)
        totals.append(b.total)
        comps.append(np.array(list(b.components.values())))
    assert totals[2] - totals[1] == pytest.approx(totals[1] - totals[0], rel=1e-12, abs=1e-30)
    assert np.allclose(comps[2] - comps[1], comps[1] - comps[0], rtol=1e-12, atol=1e-30)


def test_energy_components_by_hand():
    p = EnergyParams(t_tick=2e-9, t_int=1e-9, e_cell=1e-15, e_conv=2e-12, e_ctrl=3e-11,
                     e_ilp=4e-12, e_olp=5e-12, e_hop=6e-13, e_beat=7e-11, p_tile=1e-3,
                     p_chip=0.1)
    a = base_activity()
    b = energy(a, p)
    t = 300 * 1e-9 + 600 * 2e-9
    assert b.latency == pytest.approx(t) and latency(a, p) == pytest.approx(t)
    want = {"integration": 1000e-15, "conversion": 30 * 2e-12, "controller": 3 * 3e-11,
            "ilp": 40 * 4e-12, "olp": 50 * 5e-12, "mesh": 60 * 6e-13, "digital": 2 * 7e-11,
            "static_tiles": 4 * 1e-3 * t, "static_chip": 0.1 * t}
    assert tuple(b.components) == en.COMPONENTS
    for k, v in want.items():
        assert b.components[k] == pytest.approx(v, rel=1e-12)
    assert b.total == pytest.approx(sum(want.values()))
    assert b.ops == 1400
    assert b.tops_per_w == pytest.approx(1400 / sum(want.values()) / 1e12)
    assert b.inferences_per_s == pytest.approx(2 / t)
    assert b.energy_per_inference == pytest.approx(sum(want.values()) / 2)
    assert "integration" in b.table() and "TOPS/W" in b.table()


def test_half_integration_changes_only_integration_and_latency():
    p = EnergyParams()
    a = en.sustained_activity()
    nom, half = energy(a, p), energy(a, scale_integration(p, 0.5))
    h = scale_integration(p, 0.5)
    assert h.t_int == p.t_int / 2 and h.e_cell == p.e_cell / 2
    assert h.replace(t_int=p.t_int, e_cell=p.e_cell) == p
    assert half.components["integration"] == pytest.approx(nom.components["integration"] / 2)
    assert half.latency == pytest.approx(nom.latency - a.integrate_cycles * p.t_int / 2)
    ratio = half.latency / nom.latency
    for k in ("static_tiles", "static_chip"):
        assert half.components[k] == pytest.approx(nom.components[k] * ratio)
    for k in set(en.COMPONENTS) - {"integration", "static_tiles", "static_chip"}:
        assert half.components[k] == nom.components[k]
    assert half.ops == nom.ops


# -- activity of the golden chip -----------------------------------------------------------------

def test_activity_of_a_chain_by_hand(seed):
    rng = np.random.default_rng(seed)
    chip = small_chip(rng, zero_cols=(3, 11))
    p = chip.params
    r = Routing(p)
    r.chain(0, [p.tile_index(0, 0), p.tile_index(0, 1)], olp_pair=0)
    chip.set_routing(r)
    x = rng.integers(0, D + 1, p.lanes)
    x[rng.integers(0, p.lanes, 3)] = 0
    res = chip.run(0, x)
    a = activity_from_stream(chip, res, [(0, x)])

    y0 = host_mvm(chip, 0, x)               # the hidden words
    y1 = host_mvm(chip, 1, y0)
    assert np.array_equal(res.outputs[0].words, y1)
    used = 16 - 2                           # columns 3 and 11 hold no code
    assert a.cell_ticks == int(x.sum()) * used + int(y0.sum()) * used
    assert a.conversions == 2 * used
    # mapped cells: a nonzero code in some device (random codes may leave a cell all zero)
    cells = sum(int(np.any(chip.tile(t).codes != 0, axis=-1).sum()) for t in (0, 1))
    assert cells > 2 * 16 * used - 4
    assert a.macs == cells and a.mvms == 2
    assert (a.ilp_words, a.olp_words, a.beats, a.inferences) == (16, 16, 1, 1)
    # ILP 0 -> H(0, 0) -> tile 0; tile 0 -> H(0, 1) -> tile 1; tile 1 -> H(0, 2) -> OLP 0
    assert a.lane_hops == (np.count_nonzero(x) + np.count_nonzero(y0)
                           + np.count_nonzero(y1))
    # docs/chip.md section 4: the OLP's words are taken on D + 2O + 2E + 9
    assert res.cycles == D + 2 * O + 2 * E + 9 + 1
    assert a.cycles == res.cycles
    assert a.integrate_cycles == (D + 1) + (O + 1)
    assert (a.powered_tiles, a.chips) == (2, 1)
    # without the words, every lane of the ILP's groups counts as a pulse
    b = activity_from_stream(chip, res)
    assert b.lane_hops == a.lane_hops - np.count_nonzero(x) + 16
    # an explicit mapping: a 5 x 4 block of tile 0 and nothing of tile 1
    m0 = np.zeros((16, 16), dtype=bool)
    m0[2:7, 4:8] = True
    c = activity_from_stream(chip, res, [(0, x)], mapped={0: m0, 1: np.zeros((16, 16), bool)},
                             powered_tiles=4)
    assert c.cell_ticks == int(x.sum()) * 4
    assert (c.conversions, c.macs, c.powered_tiles) == (4, 20, 4)


def test_route_hops_multicast_and_wraps():
    p = ChipParams(tile=SMALL, grid_rows=2, grid_cols=2, empty=(), group_lanes=8,
                   pair_rows=(0,))
    r = Routing(p)
    # ILP 0 -> tiles (0, 1) and (1, 1): H(0, 0), H(0, 1) shared; turn north at (0, 1) to V(1, 1)
    r.multicast(ilp(0), [tile(p.tile_index(0, 1)), tile(p.tile_index(1, 1))], groups=[0])
    # tile (1, 1) -> tile (0, 0): drive_e H(1, 2), wrap_h H(1, 0), turn_n V(2, 0),
    # wrap_v V(0, 0), take_s: four hops, two of them wrap registers
    steps = r.connect(tile(p.tile_index(1, 1)), tile(p.tile_index(0, 0)), groups=[1])
    assert [s.name for s in steps] == ["drive_e", "wrap_h", "turn_n", "wrap_v", "take_s"]
    hops = route_hops(r)
    assert hops[("ilp", 0, 0)] == 3
    assert hops[("tile", p.tile_index(1, 1), 1)] == 4
    assert ("ilp", 0, 1) not in hops


def test_activity_of_a_batch_equals_the_stream(seed):
    rng = np.random.default_rng(seed)
    chip = small_chip(rng)
    p = chip.params
    r = Routing(p)
    r.chain(0, [p.tile_index(0, 0), p.tile_index(1, 0)], olp_pair=0)
    chip.set_routing(r)
    xs = rng.integers(0, D + 1, (3, p.lanes))
    stream = chip.run_stream([(0, x) for x in xs])
    a = activity_from_stream(chip, stream, [(0, x) for x in xs])
    b = activity_from_batch(chip, chip.run_batch(0, xs), xs)
    assert a == b
    assert a.cycles == stream.cycles and a.mvms == 6 and a.ilp_words == 3 * 16


def test_activity_of_mvm():
    tp = SMALL
    d = np.arange(16) % 16
    a = activity_of_mvm(tp, d, cols=10)
    assert a.cell_ticks == int(d.sum()) * 10
    assert (a.conversions, a.macs, a.mvms) == (10, 160, 1)
    assert (a.cycles, a.integrate_cycles) == (1 + 16 + E + 1 + 16 + 1, 16)
    batch = activity_of_mvm(tp, np.stack([d, d]), macs=7, mode=InputMode.SIGNED)
    assert batch.cell_ticks == 2 * int(d.sum()) * 16
    assert (batch.mvms, batch.macs, batch.integrate_cycles) == (2, 14, 2 * 9)


def test_cli_prints_calibration_and_prediction(capsys):
    assert en.main([]) == 0
    out = capsys.readouterr().out
    for text in ("tile_peak", "chip_sustained", "15.4", "relative error", "integration",
                 "(fitted)"):
        assert text in out


# -- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, exc, text", [
    ("e_cell", -1e-15, ValueError, "e_cell must be a finite number >= 0"),
    ("p_chip", float("nan"), ValueError, "p_chip must be a finite number >= 0"),
    ("e_hop", math.inf, ValueError, "e_hop"),
    ("t_tick", 0.0, ValueError, "t_tick must be a finite number > 0"),
    ("t_int", -1e-9, ValueError, "t_int must be a finite number > 0"),
    ("e_conv", "5 pJ", TypeError, "e_conv must be a finite number"),
    ("e_ilp", True, TypeError, "e_ilp must be"),
])
def test_bad_params(name, value, exc, text):
    with pytest.raises(exc, match=text) as info:
        EnergyParams(**{name: value})
    assert repr(value) in str(info.value)
    with pytest.raises(TypeError, match="no parameter 'e_foo'"):
        EnergyParams().replace(e_foo=1.0)


@pytest.mark.parametrize("name", COUNTS)
def test_bad_activity(name):
    with pytest.raises(ValueError, match=rf"Activity\.{name} must be >= 0, not -1"):
        Activity(**{name: -1})
    with pytest.raises(TypeError, match=rf"Activity\.{name} must be an integer"):
        Activity(**{name: 1.5})


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"integrate_cycles must be in \[0, cycles = 5\], not 6"):
        Activity(cycles=5, integrate_cycles=6)
    with pytest.raises(TypeError, match="activity must be an Activity"):
        energy({"cell_ticks": 1})
    with pytest.raises(TypeError, match="params must be an EnergyParams"):
        energy(Activity(), {"e_cell": 1.0})
    with pytest.raises(ValueError, match=r"factor must be a finite number > 0, not 0"):
        scale_integration(EnergyParams(), 0)
    with pytest.raises(ValueError, match=r"durations\[3\] = 16 is outside \[0, 15\]"):
        activity_of_mvm(SMALL, np.array([0, 1, 2, 16] + [0] * 12))
    with pytest.raises(TypeError, match="durations must be an integer array"):
        activity_of_mvm(SMALL, np.zeros(16))
    with pytest.raises(ValueError, match=r"durations must have shape \(16,\)"):
        activity_of_mvm(SMALL, np.zeros(15, dtype=int))
    with pytest.raises(ValueError, match=r"cols must be in \[0, 16\], not 17"):
        activity_of_mvm(SMALL, np.zeros(16, dtype=int), cols=17)
    with pytest.raises(ValueError, match="free must be two distinct names"):
        calibrate(free=("e_cell", "e_cell"))
    with pytest.raises(ValueError, match="free must be two distinct names"):
        calibrate(free=("e_cell", "t_tick"))
    with pytest.raises(ValueError, match="tile_peak must be a finite number > 0"):
        calibrate(tile_peak=-20.0)
    with pytest.raises(ValueError, match="do not determine"):
        calibrate(free=("p_tile", "p_chip"), tile_activity=Activity(macs=1, cycles=10,
                                                                    powered_tiles=1, chips=1),
                  sustained=Activity(macs=1, cycles=20, powered_tiles=2, chips=2))


def test_bad_stream_arguments(seed):
    rng = np.random.default_rng(seed)
    chip = small_chip(rng)
    p = chip.params
    r = Routing(p)
    r.chain(0, [0], olp_pair=0)
    chip.set_routing(r)
    x = rng.integers(0, D + 1, p.lanes)
    res = chip.run(0, x)
    with pytest.raises(TypeError, match="chip must be a golden.chip.Chip"):
        activity_from_stream(None, res)
    with pytest.raises(TypeError, match="result must be a golden.chip.StreamResult"):
        activity_from_stream(chip, [res])
    with pytest.raises(ValueError, match="with data"):
        activity_from_stream(chip, chip.schedule([0]))
    with pytest.raises(ValueError, match=r"beats\[0\] x must have shape \(16,\)"):
        activity_from_stream(chip, res, [(0, x[:8])])
    with pytest.raises(ValueError, match="beats has 0 entries"):
        activity_from_stream(chip, res, [])
    with pytest.raises(ValueError, match=r"mapped\[0\] must have shape \(16, 16\)"):
        activity_from_stream(chip, res, mapped={0: np.ones((4, 4), bool)})
    with pytest.raises(TypeError, match=r"mapped\[0\] must be a bool array"):
        activity_from_stream(chip, res, mapped={0: np.ones((16, 16))})
    with pytest.raises(ValueError, match=r"powered_tiles must be in \[0, 4\], not 5"):
        activity_from_stream(chip, res, powered_tiles=5)
    with pytest.raises(TypeError, match="batch must be a golden.chip.BatchResult"):
        activity_from_batch(chip, res)
    with pytest.raises(TypeError, match="routing must be a golden.chip.Routing"):
        route_hops(chip)
