"""golden.chip.Chip: passes through chains, grids, multicast and concatenation, equal to
composing golden.tile.Tile by hand; the cycles of every event, checked by hand on small cases
(docs/chip.md section 4); admission, collisions, the output stream's order; bad input.

Random tests take the ``seed`` fixture of tests/conftest.py (printed; ``SEED=<n>`` reruns one).
"""
import dataclasses
import time

import numpy as np
import pytest

from golden.chip import (Chip, ChipErrorBit, ChipParams, Routing, RoutingError, Switch, Window,
                         ilp, olp, tile)
from golden.spec import (Activation, ErrorBit, InputMode, InputSource, Phase, TileConfig,
                         TileParams)
from golden.tile import Tile
from golden.timing import mvm_timing
from tb.stimulus import random_codes, random_config

SMALL = TileParams(rows=8, cols=8, in_bits=4, out_bits=4, code_bits=3, charge_bits=12)
# D (UNSIGNED) = 15, evaluate_cycles E = 8 / 4 + 1 = 3, out_max O = 15
D, E, O = 15, 3, 15


def grid(rows, cols, pair_rows=(0,), empty=(), tp=SMALL):
    return ChipParams(tile=tp, grid_rows=rows, grid_cols=cols, empty=empty,
                      group_lanes=tp.rows // 2, pair_rows=pair_rows)


def make_chip(p, rng, *, noise=False, activations=(Activation.RELU,), ramp_shift=5):
    """A chip with random codes and, per tile, a random configuration (input from the lanes)."""
    chip = Chip(p)
    for t in range(p.tiles):
        chip.program(t, random_codes(rng, p.tile))
        act = activations[int(rng.integers(len(activations)))]
        cfg = random_config(rng, p.tile, InputMode.UNSIGNED, act, ramp_shift)
        if not noise:
            cfg.noise_sigma = 0
        chip.configure(t, dataclasses.replace(cfg, input_source=InputSource.LANES))
    return chip


def golden_tile(chip, t):
    """An independent golden.tile.Tile with tile t's codes."""
    return Tile(chip.params.tile, chip.tile(t).codes)


def mvm(chip, t, x, mode=InputMode.UNSIGNED, index=0):
    """Tile t's MVM of words x by golden.tile (its configuration, read in ``mode``)."""
    cfg = dataclasses.replace(chip.config(t), input_mode=mode, input_source=InputSource.HOST)
    return golden_tile(chip, t).mvm(x, cfg, mvm_index=index)


def phases(run):
    return {ph.name: (w.first, w.last) for ph, w in run.phases.items()}


# -- timing by hand ------------------------------------------------------------------------------

def chain_1x2(rng):
    """A 1 x 2 chip (:func:`make_chip`) routed ILP 0 -> tile 0 -> tile 1 -> OLP 0."""
    p = grid(1, 2)
    chip = make_chip(p, rng)
    r = Routing(p)
    r.chain(0, [0, 1], olp_pair=0)
    chip.set_routing(r)
    return chip


def test_one_by_two_chain_cycles_by_hand(seed):
    rng = np.random.default_rng(seed)
    chip = chain_1x2(rng)
    p = chip.params
    x = rng.integers(0, 16, p.lanes)
    res = chip.run(0, x)
    # handshake on 0; the ILP's window on the mesh: D + 1 = 16 cycles from 1
    assert [(e.cycle, e.window) for e in res.ilp] == [(0, Window(1, 16))]
    a, b = res.runs
    # tile 0 lands it one cycle later: INTEGRATE 16, EVALUATE E = 3, CONVERT 1, EMIT O + 1 = 16
    assert phases(a) == {"INTEGRATE": (2, 17), "EVALUATE": (18, 20), "CONVERT": (21, 21),
                         "EMIT": (22, 37), "OUTPUT": (38, 38)}
    # its emission opens 1 + W + E + 1 = 21 cycles after its window opened on the mesh (1)
    assert a.emission == Window(22, 37) and a.emission.first == 1 + (1 + 16 + E + 1)
    assert a.timing.latency == 1 + 16 + E + 1 + 16 == 37       # the tile's LAST_LATENCY
    # tile 1 integrates tile 0's emission window (O + 1 = 16 cycles), landed one cycle later
    assert phases(b) == {"INTEGRATE": (23, 38), "EVALUATE": (39, 41), "CONVERT": (42, 42),
                         "EMIT": (43, 58), "OUTPUT": (59, 59)}
    assert b.timing == mvm_timing(SMALL, chip.config(1), integrate_ticks=O + 1)
    # the OLP lands tile 1's emission on 44..59; its words are taken the cycle after: 60
    (out,) = res.outputs
    assert (out.pair, out.window, out.valid, out.cycle) == (0, Window(44, 59), 60, 60)
    assert res.cycles == 61
    # numbers: tile 1's MVM of tile 0's MVM, both by golden.tile
    ya = mvm(chip, 0, x)
    np.testing.assert_array_equal(a.y, ya)
    np.testing.assert_array_equal(b.durations, ya)
    np.testing.assert_array_equal(out.words, mvm(chip, 1, ya))
    # the pair's next vector waits until everything is idle: OLP taken on 60, so 61
    assert [e.cycle for e in chip.schedule([0, 0]).ilp] == [0, 61]
    # SIGNED: D = 8, window of 9 cycles; tile 0 integrates 9, the rest shifts by 7
    chip.set_pair_mode(0, InputMode.SIGNED)
    xs = rng.integers(-8, 8, p.lanes)
    res = chip.run(0, xs)
    assert res.ilp[0].window == Window(1, 9)
    assert phases(res.runs[0])["INTEGRATE"] == (2, 10)
    assert res.outputs[0].cycle == 60 - 7
    ys = mvm(chip, 0, xs, InputMode.SIGNED, index=1)
    np.testing.assert_array_equal(res.runs[0].y, ys)
    np.testing.assert_array_equal(res.outputs[0].words, mvm(chip, 1, ys, index=1))
    assert list(chip.mvm_count) == [2, 2]


def test_wraps_delay_a_route_by_a_cycle_each(seed):
    """ILP 0 -> tile 0 -> (north, east) tile 3 -> (east, row wrap) tile 2 -> (north, column
    wrap, east) OLP 0 on a 2 x 2 grid: each wrap adds one cycle before the landing register."""
    rng = np.random.default_rng(seed)
    p = grid(2, 2)
    chip = make_chip(p, rng)
    r = Routing(p)
    r.connect(ilp(0), tile(0))
    r.connect(tile(0), tile(3), drive="n")
    r.connect(tile(3), tile(2))
    r.connect(tile(2), olp(0), drive="n")
    chip.set_routing(r)
    assert [f.wraps for f in chip.check_result.sources.tile_inputs[2]] == [1, 1]
    x = rng.integers(0, 16, p.lanes)
    res = chip.run(0, x)
    t0, t3, t2 = res.runs
    assert (t0.tile, t3.tile, t2.tile) == (0, 3, 2)
    assert t3.window.first == t0.emission.first + 1             # no wrap
    assert t2.window.first == t3.emission.first + 2             # one wrap
    assert res.outputs[0].window.first == t2.emission.first + 2
    assert res.outputs[0].valid == t2.emission.last + 3
    y = mvm(chip, 2, mvm(chip, 3, mvm(chip, 0, x)))
    np.testing.assert_array_equal(res.outputs[0].words, y)


# -- grids, chains, multicast, concatenation ---------------------------------------------------

def test_two_by_two_grid(seed):
    """Two pairs on disjoint chains run concurrently; a chain across rows ends at another
    pair's OLP."""
    rng = np.random.default_rng(seed)
    p = grid(2, 2, pair_rows=(0, 1))
    chip = make_chip(p, rng, activations=tuple(Activation))
    r = Routing(p)
    r.chain(0, [0, 1], olp_pair=0)
    r.chain(1, [2, 3], olp_pair=1)
    chip.set_routing(r)
    assert chip.reach(0).tiles == {0, 1} and chip.reach(1).tiles == {2, 3}
    x0, x1 = rng.integers(0, 16, (2, p.lanes))
    res = chip.run_stream([(0, x0), (1, x1)])
    assert [(e.pair, e.offered, e.cycle) for e in res.ilp] == [(0, 0, 0), (1, 1, 1)]
    assert [(o.pair, o.cycle) for o in res.outputs] == [(0, 60), (1, 61)]
    np.testing.assert_array_equal(res.words(0)[0], mvm(chip, 1, mvm(chip, 0, x0)))
    np.testing.assert_array_equal(res.words(1)[0], mvm(chip, 3, mvm(chip, 2, x1)))
    # ILP 0 -> tile 0 -> (north) tile 2 -> (east) tile 3 -> OLP 1
    r = Routing(p)
    r.connect(ilp(0), tile(0))
    r.connect(tile(0), tile(2))
    r.connect(tile(2), tile(3))
    r.connect(tile(3), olp(1))
    chip.set_routing(r)
    assert [s for s in r.switches() if s.name.startswith("drive")] == [
        Switch("drive_n", 0, 0, 0), Switch("drive_n", 0, 0, 1), Switch("drive_e", 1, 0, 0),
        Switch("drive_e", 1, 0, 1), Switch("drive_e", 1, 1, 0), Switch("drive_e", 1, 1, 1)]
    res = chip.run(0, x0)
    assert [o.pair for o in res.outputs] == [1]
    n = chip.mvm_count
    y = mvm(chip, 3, mvm(chip, 2, mvm(chip, 0, x0, index=n[0] - 1), index=n[2] - 1),
            index=n[3] - 1)
    np.testing.assert_array_equal(res.outputs[0].words, y)
    # each tile emits 1 + 16 + E + 1 cycles after its source's window opened on the mesh
    assert res.outputs[0].cycle == 1 + 3 * (1 + 16 + E + 1) + O + 2


def test_three_tile_chain_equals_composed_tiles(seed):
    """ReLU between layers, read noise keyed by each tile's MVM count, several vectors."""
    rng = np.random.default_rng(seed)
    p = grid(1, 3)
    chip = make_chip(p, rng, noise=True, activations=(Activation.RELU, Activation.WINDOW))
    chip.configure(0, dataclasses.replace(chip.config(0), activation=Activation.RELU))
    r = Routing(p)
    r.chain(0, [0, 1, 2], olp_pair=0)
    chip.set_routing(r)
    xs = rng.integers(0, 16, (4, p.lanes))
    res = chip.run_stream([(0, x) for x in xs])
    h = [e.cycle for e in res.ilp]
    period = h[1] - h[0]
    assert h == [0, period, 2 * period, 3 * period]
    # a pass: ILP, three tiles (each 1 landing + W + E + 1 before emitting), OLP landing + 1
    last_emit_end = 1 + 3 * (1 + 16 + E + 1) - 1 + 16
    assert period == (last_emit_end + 2) + 1
    for i, x in enumerate(xs):
        y = x
        for t in range(3):
            y = mvm(chip, t, y, index=i)
        np.testing.assert_array_equal(res.words(0)[i], y)
        assert res.outputs[i].cycle == h[i] + last_emit_end + 2
        assert [run.mvm_index for run in res.runs[3 * i:3 * i + 3]] == [i, i, i]
    # the batch form gives the same words, cycles and counters
    chip2 = make_chip(p, np.random.default_rng(seed))
    for t in range(3):
        chip2.program(t, chip.tile(t).codes)
        chip2.configure(t, chip.config(t))
    chip2.set_routing(r)
    batch = chip2.run_batch(0, xs)
    assert batch.period == period and list(batch.handshakes) == h
    np.testing.assert_array_equal(batch.words(0), res.words(0))
    assert list(batch.output_cycles(0)) == [o.cycle for o in res.outputs]
    assert list(chip2.mvm_count) == list(chip.mvm_count) == [4, 4, 4]


def test_multicast_to_tiles_and_olps(seed):
    """ILP 0 -> tiles 0 and 1 (one row bus); tile 1 -> OLP 0 (east) and OLP 1 (north, east):
    both OLPs' words are valid on one cycle, the output stream takes OLP 0 first."""
    rng = np.random.default_rng(seed)
    p = grid(2, 2, pair_rows=(0, 1))
    chip = make_chip(p, rng)
    r = Routing(p)
    r.multicast(ilp(0), [tile(0), tile(1)])
    r.multicast(tile(1), [olp(0), olp(1)])
    chip.set_routing(r)
    assert chip.reach(0).tiles == {0, 1} and chip.reach(0).olps == {0, 1}
    x = rng.integers(0, 16, p.lanes)
    res = chip.run(0, x)
    assert [run.window for run in res.runs] == [Window(2, 17)] * 2
    o0, o1 = res.outputs
    assert (o0.pair, o1.pair) == (0, 1) and o0.valid == o1.valid == 39
    assert (o0.cycle, o1.cycle) == (39, 40)
    y1 = mvm(chip, 1, x)
    np.testing.assert_array_equal(o0.words, y1)
    np.testing.assert_array_equal(o1.words, y1)
    np.testing.assert_array_equal(res.runs[0].y, mvm(chip, 0, x))
    # the next vector waits for OLP 1's words to be taken (40), tile 0's OUTPUT ended on 38
    assert chip.schedule([0, 0]).ilp[1].cycle == 41


def test_concatenation_of_two_halves(seed):
    """Tiles 0 and 1 (fed by ILP 0) each give one lane group of tile 2's rows; tile 1's half
    takes a wrap, so the two windows land one cycle apart and tile 2 integrates their
    union (O + 2 cycles): one golden MVM of the concatenated vector."""
    rng = np.random.default_rng(seed)
    p = grid(2, 2, pair_rows=(0, 1))
    chip = make_chip(p, rng)
    r = Routing(p)
    r.multicast(ilp(0), [tile(0), tile(1)])
    r.concatenate(tile(2), [(tile(0), 0), (tile(1), 1, "n")])
    r.connect(tile(2), olp(1), 0)
    chip.set_routing(r)
    src = chip.check_result.sources.tile_inputs[2]
    assert [(str(f.source), f.wraps) for f in src] == [("tile 0", 0), ("tile 1", 1)]
    x = rng.integers(0, 16, p.lanes)
    res = chip.run(0, x)
    a, b, c = res.runs
    assert c.tile == 2 and [f.landed for f in c.arrivals] == [Window(23, 38), Window(24, 39)]
    assert c.window == Window(23, 39) and c.timing.cycles[Phase.INTEGRATE] == O + 2
    g = p.group_lanes
    xc = np.concatenate([mvm(chip, 0, x)[:g], mvm(chip, 1, x)[g:]])
    np.testing.assert_array_equal(c.durations, xc)
    yc = mvm(chip, 2, xc)
    np.testing.assert_array_equal(c.y, yc)
    out = res.outputs[0]
    np.testing.assert_array_equal(out.words[:g], yc[:g])
    assert not out.words[g:].any()                  # group 1 of OLP 1 is not taken


def test_concatenation_from_two_pairs(seed):
    """Two pairs feed one tile's two groups; offered back to back, each is taken while the
    tile is still idle, and the tile integrates the union of the two windows. Pair 0 is
    SIGNED, pair 1 UNSIGNED with words that read the same in SIGNED."""
    rng = np.random.default_rng(seed)
    p = grid(2, 1, pair_rows=(0, 1))
    chip = make_chip(p, rng, noise=True)
    chip.set_pair_mode(0, InputMode.SIGNED)
    r = Routing(p)
    r.connect(ilp(0), tile(1), 0)               # row 0, north to (1, 0)
    r.connect(ilp(1), tile(1), 1)
    r.connect(tile(1), olp(1))
    chip.set_routing(r)
    g = p.group_lanes
    x0 = np.concatenate([rng.integers(-8, 8, g), rng.integers(-8, 8, g)])
    x1 = np.concatenate([rng.integers(0, 16, g), rng.integers(0, 8, g)])
    xc = np.concatenate([x0[:g], x1[g:]])
    # SIGNED first: 1..9 lands on 2..10, UNSIGNED (taken on 1) 2..17 on 3..18
    # UNSIGNED first: 1..16 lands on 2..17, SIGNED (taken on 1) 2..10 on 3..11
    for order, window in (((0, 1), Window(2, 18)), ((1, 0), Window(2, 17))):
        res = chip.run_stream([(k, (x0, x1)[k]) for k in order])
        assert [(e.pair, e.cycle) for e in res.ilp] == [(order[0], 0), (order[1], 1)]
        (run,) = res.runs
        assert run.window == window and res.collisions == []
        np.testing.assert_array_equal(run.y, mvm(chip, 1, xc, InputMode.SIGNED,
                                                 index=run.mvm_index))
        assert run.beats == (0, 1) and res.outputs[0].beats == (0, 1)


# -- collisions, admission ---------------------------------------------------------------------

def test_windows_of_one_pass_that_do_not_meet(seed):
    """Tile 0 takes group 0 from ILP 0 and group 1 from tile 2 (ILP 0 -> 1 -> 2 -> 0, row
    wrap). Tile 2's window arrives long after tile 0 went idle: a second MVM of tile 0 with
    group 1 alone. With tile 1 feeding tile 0 instead, it arrives while tile 0 is busy: a
    collision, ignored."""
    rng = np.random.default_rng(seed)
    p = grid(1, 3)
    chip = make_chip(p, rng, noise=True)
    r = Routing(p)
    r.multicast(ilp(0), [tile(0), tile(1)], 0)
    r.connect(tile(1), tile(2), 0)
    r.connect(tile(2), tile(0), 1)
    chip.set_routing(r)
    x = rng.integers(0, 16, p.lanes)
    res = chip.run(0, x)
    assert [run.tile for run in res.runs] == [0, 1, 2, 0]
    first, second = res.tile_runs(0)
    g = p.group_lanes
    xa = np.concatenate([x[:g], np.zeros(g, int)])
    np.testing.assert_array_equal(first.y, mvm(chip, 0, xa, index=0))
    y1 = mvm(chip, 1, xa)
    y2 = mvm(chip, 2, np.concatenate([y1[:g], np.zeros(g, int)]))
    xb = np.concatenate([np.zeros(g, int), y2[g:]])
    np.testing.assert_array_equal(second.y, mvm(chip, 0, xb, index=1))
    assert second.window.first == res.runs[2].emission.first + 2      # the row wrap
    assert res.collisions == [] and list(chip.mvm_count) == [2, 1, 1]
    # the batch form: tile 0 runs twice per pass, so vector i's MVMs have indices 2 + 2i and
    # 3 + 2i (the pass above counted 2)
    xs = rng.integers(0, 16, (3, p.lanes))
    batch = chip.run_batch(0, xs)
    runs0 = batch.first.tile_runs(0)
    assert list(runs0[0].mvm_index) == [2, 4, 6] and list(runs0[1].mvm_index) == [3, 5, 7]
    t2 = batch.first.tile_runs(2)[0]
    for i in range(3):
        xb = np.concatenate([np.zeros(g, int), t2.y[i][g:]])
        np.testing.assert_array_equal(runs0[1].y[i], mvm(chip, 0, xb, index=3 + 2 * i))
    # tile 1 feeding tile 0's group 1 directly: its emission lands while tile 0 is busy
    r = Routing(p)
    r.multicast(ilp(0), [tile(0), tile(1)], 0)
    r.connect(tile(1), tile(0), 1)
    chip.set_routing(r)
    errors = chip.tile_errors.copy()
    res = chip.run(0, x)
    assert [run.tile for run in res.runs] == [0, 1]
    (col,) = res.collisions
    assert col.tile == 0 and col.window == res.runs[1].emission.shifted(2)
    assert col.window.first < res.runs[0].phases[Phase.OUTPUT].last
    assert [t for t, e in res.tile_errors.items() if e >> ErrorBit.LANE_COLLISION & 1] == [0]
    assert chip.tile_errors[0] == errors[0] | 1 << ErrorBit.LANE_COLLISION


def test_pairs_sharing_a_tile(seed):
    """Pair 0: ILP 0 -> tile 0 -> tile 2 (group 0); pair 1: ILP 1 -> tile 2 (group 1). Pair
    1's beat is taken while pair 0's vector is still upstream: tile 2 takes pair 1's window,
    tile 0's emission then collides. A third beat (pair 0) waits for all of reach(0)."""
    rng = np.random.default_rng(seed)
    p = grid(2, 2, pair_rows=(0, 1))
    chip = make_chip(p, rng)
    r = Routing(p)
    r.connect(ilp(0), tile(0), 0)
    r.connect(tile(0), tile(2), 0)
    r.connect(ilp(1), tile(2), 1)
    r.connect(tile(2), olp(1), 0, drive="e")
    chip.set_routing(r)
    assert chip.reach(0).tiles == {0, 2} and chip.reach(1).tiles == {2}
    xs = rng.integers(0, 16, (3, p.lanes))
    res = chip.run_stream([(0, xs[0]), (1, xs[1]), (0, xs[2])])
    assert [(e.pair, e.cycle) for e in res.ilp][:2] == [(0, 0), (1, 1)]
    t0, t2 = res.runs[:2]
    assert t2.tile == 2 and t2.window == Window(3, 18) and t2.beats == (1,)
    (col,) = [c for c in res.collisions if c.tile == 2]
    assert col.window == t0.emission.shifted(1) and col.arrivals[0].beats == (0,)
    # beat 2 waits until tile 0, tile 2 and OLP 1 are idle: OLP 1 lands tile 2's emission
    # one cycle late, so its words are taken on the cycle after tile 2's OUTPUT
    olp1 = res.outputs[0]
    assert olp1.pair == 1 and olp1.cycle == t2.phases[Phase.OUTPUT].last + 1
    assert res.ilp[2].cycle == max(olp1.cycle, t0.phases[Phase.OUTPUT].last) + 1
    g = p.group_lanes
    xc = np.concatenate([np.zeros(g, int), xs[1][g:]])
    np.testing.assert_array_equal(olp1.words[:g], mvm(chip, 2, xc, index=0)[:g])


def test_bad_dest_beats_are_consumed():
    p = grid(1, 2, pair_rows=(0,))
    chip = Chip(p)
    r = Routing(p)
    r.chain(0, [0], olp_pair=0)
    chip.set_routing(r)
    assert chip.tdest_bits == 1
    x = np.zeros(p.lanes, int)
    res = chip.run_stream([(1, x), (0, x)])
    assert [(b.beat, b.pair, b.cycle) for b in res.bad_dest] == [(0, 1, 0)]
    assert [(e.beat, e.offered, e.cycle) for e in res.ilp] == [(1, 1, 1)]
    assert res.chip_error == 1 << ChipErrorBit.BAD_DEST == chip.chip_error
    with pytest.raises(ValueError, match=r"beats\[0\] pair must be in \[0, 1\], not 2"):
        chip.run_stream([(2, x)])


def test_lane_overrange_in_a_tile_and_an_olp(seed):
    """A tile's outputs longer than the next tile's count (out_bits > in_bits) saturate at
    2^in_bits - 1 (LANE_OVERRANGE); ILP words longer than out_max saturate an OLP
    (OLP_OVERRANGE)."""
    rng = np.random.default_rng(seed)
    tp = TileParams(rows=4, cols=4, in_bits=3, out_bits=5, code_bits=2, charge_bits=10)
    p = grid(1, 2, tp=tp)
    chip = Chip(p, configs=[TileConfig(input_source=InputSource.LANES,
                                       activation=Activation.IDENTITY)] * 2)
    for t in range(2):
        chip.program(t, random_codes(rng, tp))
    r = Routing(p)
    r.chain(0, [0, 1], olp_pair=0)
    chip.set_routing(r)
    x = np.array([7, 0, 3, 5])
    res = chip.run(0, x)
    y0 = mvm(chip, 0, x)
    assert y0.max() > 7                             # IDENTITY: mid-scale 16 for zero charge
    np.testing.assert_array_equal(res.runs[1].durations, np.minimum(y0, 7))
    assert res.runs[1].lane_overrange and res.tile_errors[1] & 1 << ErrorBit.LANE_OVERRANGE
    np.testing.assert_array_equal(res.outputs[0].words, mvm(chip, 1, np.minimum(y0, 7)))
    # the other way round: in_bits 5, out_bits 3, ILP 0 straight to OLP 0
    tp = TileParams(rows=4, cols=4, in_bits=5, out_bits=3, code_bits=2, charge_bits=10)
    p = grid(1, 1, tp=tp)
    chip = Chip(p)
    r = Routing(p)
    r.connect_ilp_to_olp(0)
    chip.set_routing(r)
    res = chip.run(0, np.array([31, 7, 8, 0]))
    out = res.outputs[0]
    np.testing.assert_array_equal(out.words, [7, 7, 7, 0])
    assert out.overrange and out.window == Window(2, 33) and out.cycle == 34
    assert res.chip_error == 1 << ChipErrorBit.OLP_OVERRANGE


# -- bad input ---------------------------------------------------------------------------------

def test_bad_input_is_named():
    p = grid(1, 2)
    chip = Chip(p)
    r = Routing(p)
    r.chain(0, [0, 1])
    chip.set_routing(r)
    with pytest.raises(ValueError, match=r"x\[3\] = 16 is outside \[0, 15\] \(UNSIGNED inputs"):
        chip.run(0, np.array([0, 0, 0, 16, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match=r"x must have shape \(8,\), not \(7,\)"):
        chip.run(0, np.zeros(7, int))
    with pytest.raises(TypeError, match="x must be an integer array, not dtype float64"):
        chip.run(0, np.zeros(8))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 8\), not \(8,\)"):
        chip.run_batch(0, np.zeros(8, int))
    with pytest.raises(ValueError, match=r"pair must be in \[0, 1\], not 2"):
        chip.run(2, np.zeros(8, int))
    with pytest.raises(ValueError, match=r"pair must be in \[0, 0\], not 1"):
        chip.run_batch(1, np.zeros((1, 8), int))
    with pytest.raises(TypeError, match=r"beats\[0\] must be a \(pair, x\) pair"):
        chip.run_stream([np.zeros(8, int)])
    with pytest.raises(ValueError, match=r"pair_modes\[0\] must be an InputMode"):
        chip.set_pair_mode(0, 2)
    with pytest.raises(ValueError, match=r"tile must be in \[0, 1\], not 2"):
        chip.tile(2)
    # taking tile 1 off the lanes while the routing feeds it
    with pytest.raises(RoutingError, match="not_lanes: tile 1 at .* not LANES"):
        chip.configure(1, TileConfig())
    assert chip.config(1).input_source == InputSource.LANES
    with pytest.raises(ValueError, match=r"ramp_shift must be in \[0, 12\], not 13"):
        chip.configure(0, TileConfig(input_source=InputSource.LANES, ramp_shift=13))
    bad = Routing(p)
    bad.set(Switch("ilp_drive", 0, None, 0))
    with pytest.raises(RoutingError, match=r"dead_end: H\(0, 0\) group 0 is driven"):
        chip.set_routing(bad)
    assert chip.routing == r
    with pytest.raises(ValueError, match=r"configs must have one entry per tile \(2\), not 1"):
        Chip(p, configs=[TileConfig()])
    with pytest.raises(TypeError, match=r"tiles\[1\] must be a golden Tile of params.tile"):
        Chip(p, tiles=[None, Tile(TileParams(rows=4, cols=4))])
    with pytest.raises(TypeError, match="params must be a ChipParams"):
        Chip(SMALL)


# -- the default chip --------------------------------------------------------------------------

def test_default_chip_runs_a_pass_through_two_full_tiles(seed):
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    p = ChipParams()
    chip = Chip(p)
    a, b = p.tile_index(2, 0), p.tile_index(4, 3)
    for t in (a, b):
        chip.program(t, random_codes(rng, p.tile))
        chip.configure(t, TileConfig(input_source=InputSource.LANES, ramp_shift=14))
    r = Routing(p)
    r.chain(2, [a, b], olp_pair=4)
    chip.set_routing(r)
    x = rng.integers(0, 256, p.lanes)
    res = chip.run(2, x)
    elapsed = time.perf_counter() - start
    E = p.tile.evaluate_cycles                      # 129
    ra, rb = res.runs
    assert ra.window == Window(2, 257) and ra.emission == Window(257 + 1 + E + 1, 257 + E + 257)
    assert rb.window == ra.emission.shifted(1)
    # ILP on 1..256, two tiles (landing, W = 256, E, CONVERT), tile b's emission, OLP landing
    assert res.outputs[0].cycle == rb.emission.last + 2 == 1 + 2 * (1 + 256 + E + 1) + 256 + 1
    ya = mvm(chip, a, x)
    np.testing.assert_array_equal(res.outputs[0].words, mvm(chip, b, ya))
    assert 0 < ya.max() < 255
    assert elapsed < 10, f"the 34-tile chip's pass took {elapsed:.1f} s"


# -- idle gaps and back-pressure ------------------------------------------------------------

def test_gaps_and_stalls_by_hand(seed):
    """The 1 x 2 chain of the hand-timed case above: a stalled host keeps the words in the OLP
    (taken on the first ready cycle, same words) and holds the pair's next vector back until
    they are taken; a gap offers a beat later, taken at once when the chip is idle."""
    rng = np.random.default_rng(seed)
    chip = chain_1x2(rng)
    x = rng.integers(0, 16, chip.params.lanes)
    free = chip.run(0, x)
    assert free.outputs[0].cycle == 60
    chip2 = chain_1x2(np.random.default_rng(seed))
    res = chip2.run_stream([(0, x), (0, x)], stalls=range(60, 70))
    assert [o.cycle for o in res.outputs] == [70, 71 + 60]
    assert [e.cycle for e in res.ilp] == [0, 71]            # waits for the words to be taken
    assert [o.valid for o in res.outputs] == [60, 71 + 60]
    np.testing.assert_array_equal(res.outputs[0].words, free.outputs[0].words)
    # gaps: the second beat offered 5 (or 100) cycles after it could be (on 1): taken when
    # the chip is idle again (61) or at once (101)
    for g, want in ((5, 61), (100, 101)):
        res = chip2.schedule([0, 0], gaps=[0, g])
        assert [e.cycle for e in res.ilp] == [0, want]
        assert res.ilp[1].offered == 1 + g
    res = chip2.schedule([0], gaps=[7], stalls=[67])
    assert res.ilp[0].cycle == 7 and res.outputs[0].cycle == 68


def test_random_gaps_and_stalls_shift_only_waits(seed):
    """Random gaps and stalls on a 2 x 2 chip with two pairs: every beat is taken no earlier
    than its offer, every output on a ready cycle no earlier than its words were valid, the
    words equal the back-to-back run's (same beats, same order per tile), and with no gaps and
    no stalls the schedule is the back-to-back one."""
    rng = np.random.default_rng(seed)
    p = grid(2, 2, pair_rows=(0, 1))
    r = Routing(p)
    r.chain(0, [0, 1], olp_pair=0)
    r.chain(1, [3], olp_pair=1)
    xs = rng.integers(0, 16, (8, p.lanes))
    pairs = [int(k) for k in rng.integers(0, 2, 8)]
    chips = [make_chip(p, np.random.default_rng(seed)) for _ in range(3)]
    for c in chips:
        c.set_routing(r)
    beats = list(zip(pairs, xs))
    ref = chips[0].run_stream(beats)
    same = chips[1].run_stream(beats, gaps=[0] * 8, stalls=[])
    assert [e.cycle for e in same.ilp] == [e.cycle for e in ref.ilp]
    gaps = [0] + [int(g) for g in rng.integers(0, 30, 7)]
    stalls = [int(c) for c in np.flatnonzero(rng.random(2000) < 0.6)]
    res = chips[2].run_stream(beats, gaps=gaps, stalls=stalls)
    for e in res.ilp:
        assert e.cycle >= e.offered
    assert [e.offered for e in res.ilp][1:] == [a.cycle + 1 + g for a, g in
                                                zip(res.ilp, gaps[1:])]
    for o in res.outputs:
        assert o.cycle >= o.valid and o.cycle not in stalls
    assert sorted(o.cycle for o in res.outputs) != sorted(o.cycle for o in ref.outputs)
    by_beats = {o.beats: o.words for o in ref.outputs}
    for o in res.outputs:
        np.testing.assert_array_equal(o.words, by_beats[o.beats])


def test_gaps_and_stalls_are_checked():
    p = grid(1, 2)
    chip = Chip(p)
    x = np.zeros(p.lanes, int)
    with pytest.raises(ValueError, match=r"gaps must have one entry per beat \(1\), not 2"):
        chip.run_stream([(0, x)], gaps=[0, 1])
    with pytest.raises(ValueError, match=r"gaps\[0\] must be in \[0, 16777215\], not -1"):
        chip.run_stream([(0, x)], gaps=[-1])
    with pytest.raises(ValueError, match=r"stalls\[1\].*-3"):
        chip.schedule([0], stalls=[4, -3])
    with pytest.raises(TypeError, match="stalls must be a collection of cycles"):
        chip.schedule([0], stalls="12")
