"""The mapper (mapper/): networks, the layer API and chip plans against float references
(tolerances stated where a float reference meets the integer model) and the golden chip."""
import json

import numpy as np
import pytest

from golden.calibration import CalScope
from golden.chip.params import ChipParams
from golden.program import ProgramConfig, program_array
from golden.spec import Activation, InputSource, TileParams
from mapper import Dense, Network
from mapper.layer import AIHWKIT_NAMES, AnalogLayer, MappingError, map_layer
from mapper.plan import Plan, plan_network

CHIP = ChipParams(tile=TileParams(rows=32, cols=32), grid_rows=2, grid_cols=2, empty=(),
                  group_lanes=16, pair_rows=(0, 1))
QUIET = ProgramConfig(noise_scale=0)


def rel_rms(y, ref):
    return float(np.sqrt(np.mean((y - ref) ** 2)) / np.sqrt(np.mean(ref ** 2)))


def net_of(rng, sizes, clip=None):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.05,
                            "identity" if last else "relu", None if last else clip))
    return Network(layers)


# -- network ------------------------------------------------------------------------------------
def test_network_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    net = net_of(rng, [6, 5, 3], clip=2.0)
    path = net.save(tmp_path / "n.npz")
    back = Network.load(path)
    x = rng.uniform(size=(4, 6))
    np.testing.assert_array_equal(back.forward(x), net.forward(x))
    assert back.layers[0].clip == 2.0 and back.layers[1].clip is None
    with pytest.raises(ValueError, match=r"layers\[1\] has 4 inputs but layers\[0\] has 5"):
        Network([Dense(np.ones((6, 5)), np.zeros(5)), Dense(np.ones((4, 2)), np.zeros(2))])
    with pytest.raises(ValueError, match=r"bias must have shape \(5,\)"):
        Dense(np.ones((6, 5)), np.zeros(4))
    with pytest.raises(ValueError, match=r"weight\[1, 2\] = nan is not finite"):
        w = np.ones((3, 3)); w[1, 2] = np.nan
        Dense(w, np.zeros(3))
    with pytest.raises(ValueError, match="activation must be one of"):
        Dense(np.ones((2, 2)), np.zeros(2), "tanh")
    with pytest.raises(ValueError, match="clip only applies to a relu"):
        Dense(np.ones((2, 2)), np.zeros(2), "identity", 1.0)
    with pytest.raises(ValueError, match="clip must be a finite real number > 0"):
        Dense(np.ones((2, 2)), np.zeros(2), "relu", -1.0)
    with pytest.raises(FileNotFoundError, match="path: no network file"):
        Network.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="keys that are no layer"):
        Network.from_dict({"w0": np.ones((2, 2)), "b0": np.zeros(2), "x": 1})


# -- layer API ------------------------------------------------------------------------------------
def test_layer_api_follows_the_float_layer(tmp_path):
    """A trained-like 64 x 16 layer from .npz, float in and out. Tolerance: the relative RMS
    error against the float layer on the same (quantized) inputs stays below 3 % without
    programming or read noise (8-bit outputs over the 99.9 % quantile and 7-bit gains leave
    about 1-2 %), and below 5 % with both on."""
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=(64, 16)) / 8, rng.normal(size=16) * 0.1
    np.savez(tmp_path / "layer.npz", weight=w, bias=b)
    x = rng.uniform(0, 1, size=(400, 64))
    quiet = AnalogLayer.from_npz(tmp_path / "layer.npz", calibration_x=x, out_noise=0.0,
                                 program=QUIET)
    ref = quiet.mapping.ideal(x, w, b)
    err_quiet = rel_rms(quiet(x), ref)
    noisy = AnalogLayer.from_npz(tmp_path / "layer.npz", calibration_x=x)
    err_noisy = rel_rms(noisy(x), ref)
    assert err_quiet < 0.03, err_quiet
    assert err_noisy < 0.05, err_noisy
    assert err_noisy > err_quiet            # the noise is really there
    assert "RAMP_SHIFT" in noisy.report()
    run = noisy.run(x * 2)                 # inputs beyond x_max are clipped and counted
    assert run.inputs_clipped == int(np.count_nonzero(np.floor(x * 2 * 255 + 0.5) > 255))


def test_layer_api_aihwkit_names():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(20, 6))
    x = rng.uniform(size=(50, 20))
    layer = AnalogLayer(w, inp_res=6, out_res=7, out_bound=4.0, max_input_size=32,
                        max_output_size=8, calibration_x=x)
    p = layer.mapping.params
    assert (p.in_bits, p.out_bits, p.rows, p.cols) == (6, 7, 32, 8)
    assert layer.mapping.report["out_range"] == pytest.approx(4.0)
    assert set(AIHWKIT_NAMES) >= {"inp_res", "out_res", "out_bound", "out_noise", "w_noise",
                                  "max_input_size", "max_output_size", "drift_compensation"}
    with pytest.raises(TypeError, match="unknown argument"):
        AnalogLayer(w, not_a_name=1)
    with pytest.raises(TypeError, match="w_noise and drift_compensation are set through"):
        AnalogLayer(w, w_noise=0.02)


def test_map_layer_rules_and_errors():
    p = TileParams(rows=16, cols=8)
    rng = np.random.default_rng(3)
    w = rng.normal(size=(10, 5))
    layer = Dense(w, np.zeros(5), "relu", 3.0)
    m = map_layer(layer, p, in_lsb=1 / 255)
    # targets: the column's largest |w| at +-weight_max, rounded half up
    s = np.maximum(np.abs(w).max(0), np.abs(w).max() / 4)
    np.testing.assert_array_equal(m.targets[:10, :5], np.floor(w / s * p.weight_max + 0.5))
    assert not m.targets[10:].any() and not m.targets[:, 5:].any()
    assert m.v_lsb == pytest.approx(3.0 / p.out_max)
    # the gains realise in_lsb * s / (weight_max * v_lsb) within half a gain step
    ratio = m.in_lsb * s / (p.weight_max * m.v_lsb)
    shift = m.config.ramp_shift + p.gain_frac_bits
    assert np.all(np.abs(m.config.gain[:5] - ratio * 2.0 ** shift) <= 0.5)
    assert m.config.gain[:5].max() <= 255 / 2.5
    with pytest.raises(MappingError, match=r"17 x 5 does not fit a tile of 16 rows"):
        map_layer(Dense(np.ones((17, 5)), np.zeros(5)), p, in_lsb=0.01)
    with pytest.raises(MappingError, match=r"bias\[0\] = 1000 is 255000 output steps .* outside OFFSET's range"):
        map_layer(Dense(np.ones((4, 2)), np.array([1000.0, 0.0]), "relu", 1.0), p, in_lsb=0.01)
    with pytest.raises(MappingError, match="needs a gain of"):
        map_layer(Dense(np.ones((4, 2)), np.zeros(2), "relu", 1e-9), p, in_lsb=1.0)
    with pytest.raises(ValueError, match="in_lsb must be > 0"):
        map_layer(layer, p, in_lsb=0)


# -- plans ----------------------------------------------------------------------------------------
def test_plan_on_the_golden_chip_follows_the_float_network():
    """A 32 -> 24 -> 10 network chained over two tiles (ReLU by EN, the hidden layer as pulses).
    Tolerance: relative RMS error of the outputs below 4 % without programming and read noise,
    and the argmax agrees with the float network on at least 90 % of the inputs."""
    rng = np.random.default_rng(4)
    net = net_of(rng, [32, 24, 10])
    x = rng.uniform(0, 1, size=(300, 32))
    plan = plan_network(net, CHIP, calibration_x=x, program=QUIET, out_noise=0.0)
    assert len(set(plan.tiles)) == 2
    assert all(lm.config.input_source == InputSource.LANES for lm in plan.layers)
    assert plan.layers[0].activation == Activation.RELU
    assert plan.layers[1].in_lsb == plan.layers[0].v_lsb     # no rescaling between tiles
    y, stats = plan.infer(plan.golden_chip(), x)
    ref = net.forward(x)
    assert rel_rms(y, ref) < 0.04, rel_rms(y, ref)
    assert np.mean(y.argmax(1) == ref.argmax(1)) >= 0.9


def test_plan_json_round_trip_and_host_sequence():
    rng = np.random.default_rng(5)
    net = net_of(rng, [32, 16, 4])
    x = rng.uniform(0, 1, size=(50, 32))
    plan = plan_network(net, CHIP, calibration_x=x)
    text = plan.to_json()
    back = Plan.from_json(text)
    assert back.to_json() == text
    ops = plan.host_sequence()
    # every row of every used tile is programmed once (unused rows at weight 0), then one
    # commit
    progs = [op for op in ops if op[0] == "program"]
    assert len(progs) == CHIP.tile.rows * len(plan.layers)
    assert all(not op[3].any() for op in progs if op[2] >= 32 or op[1] == plan.tiles[1]
               and op[2] >= 16)
    assert [op[0] for op in ops].count("commit") == 1 and ops[-1] == ("commit",)
    # the golden chip that ran the host sequence holds the closed-loop programmer's codes
    gold = plan.golden_chip(ops)
    for i, (t, lm) in enumerate(zip(plan.tiles, plan.layers)):
        codes = program_array(lm.targets, plan.tile_program(i), CHIP.tile).codes
        np.testing.assert_array_equal(gold.tile(t).codes, codes)
        assert not gold.config(t).gain[lm.outputs:].any()
        assert gold.config(t).ramp_shift == lm.config.ramp_shift
    y1, _ = back.infer(back.golden_chip(), x)
    y2, _ = plan.infer(gold, x)
    np.testing.assert_array_equal(y1, y2)
    with pytest.raises(ValueError, match="not a chip plan"):
        Plan.from_dict({"format": "x"})
    cut = json.loads(text)
    del cut["pieces"]
    with pytest.raises(ValueError, match="chip plan is missing pieces"):
        Plan.from_dict(cut)
    cut = json.loads(text)
    del cut["pieces"][0]["config"]
    with pytest.raises(ValueError, match="chip plan is malformed: KeyError 'config'"):
        Plan.from_dict(cut)
    bad = json.loads(text)
    bad["pieces"][0]["targets"] = [[0] * 3]
    with pytest.raises(ValueError, match=r"pieces\[0\].targets must have shape \(32, 16\)"):
        Plan.from_dict(bad)


def test_plan_errors():
    rng = np.random.default_rng(6)
    hidden_identity = Network([Dense(np.ones((4, 4)), np.zeros(4), "identity"),
                               Dense(np.ones((4, 2)), np.zeros(2), "identity")])
    with pytest.raises(MappingError, match="must be relu or hard_sigmoid"):
        plan_network(hidden_identity, CHIP, calibration_x=np.ones((2, 4)))
    with pytest.raises(MappingError, match="the network needs 5 tiles, the chip has 4"):
        plan_network(net_of(rng, [4] * 6), CHIP, calibration_x=np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"pair must be in \[0, 1\]"):
        plan_network(net_of(rng, [4, 4, 2]), CHIP, pair=2, calibration_x=np.ones((2, 4)))
    with pytest.raises(MappingError, match=r"tiles \[1, 1\]: tile 1 cannot feed itself"):
        plan_network(net_of(rng, [4, 4, 2]), CHIP, tiles=[1, 1], calibration_x=np.ones((2, 4)))


def test_drift_and_the_tiles_calibration():
    """Aged codes lose conductance; the tile's own COMPENSATE (global and per column) raises
    the gains and brings the outputs back: after 1 year the compensated relative RMS error
    against the float network is at most half the uncompensated one."""
    rng = np.random.default_rng(7)
    net = net_of(rng, [32, 24, 10])
    x = rng.uniform(0, 1, size=(200, 32))
    plan = plan_network(net, CHIP, calibration_x=x)
    gold = plan.golden_chip()
    codes = plan.programmed_codes(gold)
    t0 = plan.aged_codes(codes, 0.0, seed=3)
    year = plan.aged_codes(codes, 365 * 86400.0, seed=3)
    # the same devices (drift exponents) at every time: more drift, lower codes
    for t in plan.tiles:
        assert year[t].sum() < t0[t].sum()
    ref = net.forward(x)
    errs = {}
    for name, scope in (("none", None), ("global", CalScope.GLOBAL),
                        ("column", CalScope.PER_COLUMN)):
        for t in plan.tiles:
            gold.program(t, year[t])
        if scope is not None:
            for t, cfg in plan.calibrated_configs(t0, year, scope).items():
                gold.configure(t, cfg)
                assert cfg.gain.max() > plan.layers[plan.tiles.index(t)].config.gain.max()
        else:
            for t, lm in zip(plan.tiles, plan.layers):
                gold.configure(t, lm.config)
        y, _ = plan.infer(gold, x)
        errs[name] = rel_rms(y, ref)
    # the drift's common part is gone: at most half the uncompensated error remains (the rest
    # is the spread of the drift exponents and the accumulated read noise, which no gain
    # removes)
    assert max(errs["global"], errs["column"]) < 0.5 * errs["none"], errs
    with pytest.raises(ValueError, match="t_seconds must be >= 0"):
        plan.aged_codes(codes, -1.0, seed=0)


#: Three pairs on a 3 x 2 grid of 32 x 32 tiles: room for split layers.
CHIP3 = ChipParams(tile=TileParams(rows=32, cols=32), grid_rows=3, grid_cols=2, empty=(),
                   group_lanes=16, pair_rows=(0, 1, 2))


def test_input_split_adds_partial_sums_on_the_host():
    """48 -> 20 -> 6 on 32-row tiles: layer 0 split over its inputs (24 + 24 rows, two tiles,
    two ILPs, two OLPs: partial sums added on the host, then the bias and the ReLU), layer 1
    a segment of its own. Tolerance: relative RMS error below 5 % without programming and
    read noise (two 8-bit partial sums instead of one output); argmax agreement >= 85 %."""
    rng = np.random.default_rng(8)
    net = net_of(rng, [48, 20, 6])
    x = rng.uniform(0, 1, size=(300, 48))
    plan = plan_network(net, CHIP3, calibration_x=x, program=QUIET, out_noise=0.0)
    assert [seg.layers for seg in plan.segments] == [(0,), (1,)]
    s0 = plan.segments[0]
    assert s0.partial and [r for _, r in s0.inputs] == [(0, 24), (24, 48)]
    assert len({q for q, _ in s0.inputs}) == 2 and len(s0.outputs) == 2
    assert [pc.part for pc in plan.pieces] == [(0, 0), (1, 0), (0, 0)]
    assert all(pc.mapping.activation == Activation.IDENTITY for pc in plan.pieces[:2])
    assert not plan.pieces[0].mapping.config.offset.any()       # the bias is the host's
    y, _ = plan.infer(plan.golden_chip(), x)
    ref = net.forward(x)
    assert rel_rms(y, ref) < 0.05, rel_rms(y, ref)
    assert np.mean(y.argmax(1) == ref.argmax(1)) >= 0.85
    back = Plan.from_json(plan.to_json())
    np.testing.assert_array_equal(back.infer(back.golden_chip(), x)[0], y)


def test_output_split_multicasts_the_input():
    """20 -> 40 -> 5 on 32-column tiles: layer 0 split over its outputs (20 + 20 columns on
    two tiles fed by one ILP through a multicast, ReLU on the chip), layer 1 then split over
    its inputs. Four pairs needed."""
    chip = ChipParams(tile=TileParams(rows=32, cols=32), grid_rows=4, grid_cols=2, empty=(),
                      group_lanes=16, pair_rows=(0, 1, 2, 3))
    rng = np.random.default_rng(9)
    net = net_of(rng, [20, 40, 5])
    x = rng.uniform(0, 1, size=(300, 20))
    plan = plan_network(net, chip, calibration_x=x, program=QUIET, out_noise=0.0)
    s0 = plan.segments[0]
    assert len(s0.inputs) == 1 and len(s0.outputs) == 2 and not s0.partial
    assert plan.pieces[0].mapping.activation == Activation.RELU
    y, _ = plan.infer(plan.golden_chip(), x)
    ref = net.forward(x)
    assert rel_rms(y, ref) < 0.06, rel_rms(y, ref)
    with pytest.raises(MappingError, match="needs more OLPs than the chip's 3"):
        plan_network(net, CHIP3, calibration_x=x)


def test_host_sequence_with_codes_gives_the_same_chip():
    """``closed_loop=False`` writes the codes the closed-loop programmer reaches: the golden
    chip holds the same codes and gives the same outputs."""
    rng = np.random.default_rng(10)
    net = net_of(rng, [32, 16, 4])
    x = rng.uniform(0, 1, size=(40, 32))
    plan = plan_network(net, CHIP, calibration_x=x)
    ops = plan.host_sequence(closed_loop=False)
    assert not [op for op in ops if op[0] == "program"]
    assert [op[0] for op in ops].count("codes") == 2
    a, b = plan.golden_chip(ops), plan.golden_chip()
    for t in plan.tiles:
        np.testing.assert_array_equal(a.tile(t).codes, b.tile(t).codes)
    np.testing.assert_array_equal(plan.infer(a, x)[0], plan.infer(b, x)[0])
    with pytest.raises(TypeError, match="closed_loop must be a bool"):
        plan.host_sequence(closed_loop=1)


def test_read_noise_beyond_noise_sigma_is_an_error_or_capped():
    """512 rows of small weights under a wide output range: an output step holds so many charge
    units that 0.5 steps of read noise needs more than NOISE_SIGMA's 16 bits. By default a
    MappingError names it; noise_limit='cap' takes the largest value and reports the noise
    reached."""
    rng = np.random.default_rng(11)
    p = TileParams()
    layer = Dense(rng.normal(size=(512, 8)) / 20, np.zeros(8), "identity")
    x = rng.uniform(0, 1, size=(200, 512))
    with pytest.raises(MappingError, match=r"needs NOISE_SIGMA \d+, beyond \[0, 65535\]"):
        map_layer(layer, p, in_lsb=1 / 255, calibration_x=x, out_range=50.0)
    m = map_layer(layer, p, in_lsb=1 / 255, calibration_x=x, out_range=50.0, noise_limit="cap")
    assert m.config.noise_sigma == 65535
    assert 0 < m.report["out_noise"] < m.report["out_noise_asked"] == 0.5
    with pytest.raises(ValueError, match="noise_limit must be 'error' or 'cap'"):
        map_layer(layer, p, in_lsb=1 / 255, out_range=1.0, noise_limit="clip")
