"""golden.chip.Chip against an independent, slow, cycle-stepped reference of the chip.

The reference below (``RefChip``) shares no code with ``golden.chip.model``: every cycle it
computes every segment of the mesh from the enabled switches (the wraps as registers), lands
the windows in each receiver's register, and steps each tile's controller, lane counters,
multiply-accumulate, ramp and internal OLP as the tile's RTL does (hdl/controller.py,
hdl/crossbar.py, hdl/ramp.py, hdl/olp.py), the chip's OLPs with their falling-edge latches, the
output stream's arbiter and the input stream's admission. Only the tile's numbers (read noise,
conversion) come from ``golden``'s tile-level functions. Random legal routings on a 3 x 3 grid
with an empty position and random beat streams must give the same handshakes, tile windows,
collisions, outputs and words, cycle for cycle.
"""
import dataclasses

import numpy as np
import pytest

from golden.chip import Chip, ChipParams, Routing, check, ilp, olp, tile
from golden.noise import read_noise
from golden.ramp import convert
from golden.spec import Activation, InputMode, InputSource, TileParams
from tb.stimulus import random_codes, random_config


class RefChip:
    """Cycle-stepped model of the chip (docs/chip.md sections 2-6), written from the RTL's
    register-transfer behaviour."""

    def __init__(self, chip: Chip):
        p = self.p = chip.params
        tp = p.tile
        self.tp = tp
        self.G, self.GL = p.groups, p.group_lanes
        self.weights = [chip.tile(t).weights for t in range(p.tiles)]
        self.configs = [chip.config(t) for t in range(p.tiles)]
        self.modes = [chip.pair_mode(k) for k in range(p.pairs)]
        self.mvm_count = [int(n) for n in chip.mvm_count]
        self.switches = chip.routing.switches()
        self.E_rows = tp.eval_groups
        self.O = tp.out_max
        self.reach = [self._reach(k) for k in range(p.pairs)]
        zero = self._zero()
        self.wrap_h = {(r, g): zero for r in range(p.grid_rows) for g in range(self.G)}
        self.wrap_v = {(c, g): zero for c in range(p.grid_cols) for g in range(self.G)}
        self.tiles = [self._tile_state() for _ in range(p.tiles)]
        self.olps = [self._olp_state() for _ in range(p.pairs)]
        self.ilps = [dict(active=False, start=0, last=0, d=None, neg=None) for _ in range(p.pairs)]

    def _zero(self):
        return (False, np.zeros(self.GL, bool), np.zeros(self.GL, bool))

    def _tile_state(self):
        L = self.p.lanes
        return dict(lq=(False, np.zeros(L, bool), np.zeros(L, bool)), ext_prev=False,
                    ext_active=False, win_prev=False, counts=np.zeros(L, np.int64),
                    signs=np.zeros(L, bool), mac=False, row=0, done=False, y_next=None,
                    ramp=False, tick=0, y=None, emit_prev=False, win_start=None)

    def _olp_state(self):
        L = self.p.lanes
        return dict(lq=(False, np.zeros(L, bool)), win_prev=False, pulse_prev=np.zeros(L, bool),
                    counts=np.zeros(L, np.int64), latched=np.zeros(L, np.int64), pending=None,
                    start=None)

    def _edges(self):
        """(source key, destination key) of every enabled switch."""
        p = self.p
        out = []
        for s in self.switches:
            n, r, c, g = s
            if n == "pass_e":
                out.append((("H", r, c, g), ("H", r, c + 1, g)))
            elif n == "turn_e":
                out.append((("V", r, c, g), ("H", r, c + 1, g)))
            elif n == "drive_e":
                out.append((("T", p.tile_at(r, c), g), ("H", r, c + 1, g)))
            elif n == "pass_n":
                out.append((("V", r, c, g), ("V", r + 1, c, g)))
            elif n == "turn_n":
                out.append((("H", r, c, g), ("V", r + 1, c, g)))
            elif n == "drive_n":
                out.append((("T", p.tile_at(r, c), g), ("V", r + 1, c, g)))
            elif n == "take_w":
                out.append((("H", r, c, g), ("in", p.tile_at(r, c), g)))
            elif n == "take_s":
                out.append((("V", r, c, g), ("in", p.tile_at(r, c), g)))
            elif n == "ilp_drive":
                out.append((("I", p.pair_at(r), g), ("H", r, 0, g)))
            elif n == "wrap_h":
                out.append((("WH", r, g), ("H", r, 0, g)))
            elif n == "olp_take":
                out.append((("H", r, p.grid_cols, g), ("out", p.pair_at(r), g)))
            else:
                out.append((("WV", c, g), ("V", 0, c, g)))
        return out

    def _reach(self, k):
        p = self.p
        edges = self._edges()
        # a wrap register connects the segment before it to the one after it
        link = [(a, b) for a, b in edges]
        for r in range(p.grid_rows):
            for g in range(self.G):
                link.append((("H", r, p.grid_cols, g), ("WH", r, g)))
        for c in range(p.grid_cols):
            for g in range(self.G):
                link.append((("V", p.grid_rows, c, g), ("WV", c, g)))
        seen = {("I", k, g) for g in range(self.G)}
        changed = True
        while changed:
            changed = False
            for a, b in link:
                keys = [b] + ([("T", b[1], g) for g in range(self.G)] if b[0] == "in" else [])
                if a in seen:
                    for key in keys:
                        if key not in seen:
                            seen.add(key)
                            changed = True
        return ({key[1] for key in seen if key[0] == "in"},
                {key[1] for key in seen if key[0] == "out"})

    # -- one cycle ------------------------------------------------------------------------------
    def _tile_busy(self, st):
        ext_window = st["lq"][0]
        opening = ext_window and not st["ext_prev"]
        quiet = not (st["win_prev"] or st["mac"] or st["done"] or st["ramp"]
                     or (st["emit_prev"] and not st["ramp"]))
        gate = ext_window and ((opening and quiet) or st["ext_active"])
        closing = (not gate) and st["win_prev"]
        return gate or closing or st["mac"] or st["done"] or st["ramp"] or (
            st["emit_prev"] and not st["ramp"])

    def run(self, beats, limit=20000):
        p, tp, G, GL = self.p, self.tp, self.G, self.GL
        edges = self._edges()
        head, offered = 0, 0
        log = dict(ilp=[], bad=[], runs=[], collisions=[], outputs=[], lost=[])
        t = 0
        idle_for = 0
        while t < limit:
            # sources on the mesh this cycle
            values = {}
            for k, st in enumerate(self.ilps):
                if st["active"]:
                    tick = t - st["start"]
                    for g in range(G):
                        sl = slice(g * GL, (g + 1) * GL)
                        values[("I", k, g)] = (True, tick < st["d"][sl], st["neg"][sl].copy())
            for i, st in enumerate(self.tiles):
                if st["ramp"]:
                    for g in range(G):
                        sl = slice(g * GL, (g + 1) * GL)
                        values[("T", i, g)] = (True, st["tick"] < st["y"][sl],
                                               np.zeros(GL, bool))
            for (r, g), v in self.wrap_h.items():
                values[("WH", r, g)] = v
            for (c, g), v in self.wrap_v.items():
                values[("WV", c, g)] = v
            for _ in range(len(edges) + 1):         # combinational: settle the mesh
                for a, b in edges:
                    if a in values:
                        values[b] = values[a]
            # tiles: combinational signals of this cycle
            comb = []
            for i, st in enumerate(self.tiles):
                ext_window, lp, ls = st["lq"]
                opening = ext_window and not st["ext_prev"]
                outputting = st["emit_prev"] and not st["ramp"]
                quiet = not (st["win_prev"] or st["mac"] or st["done"] or st["ramp"]
                             or outputting)
                admit = opening and quiet
                if opening and not quiet:
                    log["collisions"].append((i, t))
                gate = ext_window and (admit or st["ext_active"])
                comb.append((ext_window, admit, gate, outputting))
            # chip OLPs: closing, valid words
            for k, st in enumerate(self.olps):
                window = st["lq"][0]
                if st["win_prev"] and not window:
                    words = np.minimum(st["latched"], self.O)
                    if st["pending"] is not None:
                        log["lost"].append(st["pending"])
                    st["pending"] = (k, words, st["start"], t)
            # the output stream: the lowest valid OLP
            valid = [k for k, st in enumerate(self.olps) if st["pending"] is not None]
            holding = set(valid)
            if valid:
                k = valid[0]
                pk, words, start, v = self.olps[k]["pending"]
                log["outputs"].append((k, t, v, words))
                self.olps[k]["pending"] = None
            # the input stream's head beat
            handshake = None
            if head < len(beats):
                pair, x = beats[head]
                if pair >= p.pairs:
                    log["bad"].append((head, t))
                    head, offered = head + 1, t + 1
                else:
                    tiles_r, olps_r = self.reach[pair]
                    ok = not self.ilps[pair]["active"]
                    ok &= not any(self._tile_busy(self.tiles[i]) for i in tiles_r)
                    ok &= not any(self.olps[j]["lq"][0] or j in holding for j in olps_r)
                    if ok:
                        handshake = (pair, x)
                        log["ilp"].append((head, pair, offered, t))
                        head, offered = head + 1, t + 1
            # -- registers ----------------------------------------------------------------------
            for k, st in enumerate(self.ilps):
                if st["active"] and t == st["last"]:
                    st["active"] = False
            if handshake is not None:
                pair, x = handshake
                mode = self.modes[pair]
                D = (1 << tp.in_bits) - 1 if mode == InputMode.UNSIGNED else 1 << (tp.in_bits - 1)
                st = self.ilps[pair]
                st.update(active=True, start=t + 1, last=t + D + 1,
                          d=np.abs(x), neg=(x < 0) if mode == InputMode.SIGNED
                          else np.zeros_like(x, bool))
            for i, st in enumerate(self.tiles):
                ext_window, admit, gate, outputting = comb[i]
                _, lp, ls = st["lq"]
                xpulse = lp & gate
                xsign = ls & gate
                closing = (not gate) and st["win_prev"]
                ramp_now, done_now = st["ramp"], st["done"]
                # multiply-accumulate: starts when the crossbar's window closes
                st["done"] = False
                if closing:
                    st["mac"], st["row"] = True, 1
                    st["y_next"] = self._mvm(i, st)
                    log["runs"].append((i, st["win_start"], t - 1, st["y_next"],
                                        self.mvm_count[i]))
                elif st["mac"]:
                    if st["row"] == self.E_rows:
                        st["mac"], st["done"], st["row"] = False, True, 0
                    else:
                        st["row"] += 1
                # the ramp's emit window starts on the cycle after ``done``
                if done_now:
                    st["ramp"], st["tick"], st["y"] = True, 0, st["y_next"]
                elif ramp_now:
                    if st["tick"] == self.O:
                        st["ramp"] = False
                    st["tick"] += 1
                st["emit_prev"] = ramp_now
                if outputting:                  # y_first: MVM_COUNT counts the MVM
                    self.mvm_count[i] += 1
                # lane counters
                if gate and not st["win_prev"]:
                    st["win_start"] = t
                    st["counts"] = xpulse.astype(np.int64)
                    st["signs"] = xpulse & xsign
                else:
                    st["counts"] = np.minimum(st["counts"] + xpulse, tp.duration_max)
                    st["signs"] = (st["signs"] & ~xpulse) | (xsign & xpulse)
                st["win_prev"] = gate
                if admit:
                    st["ext_active"] = True
                if not ext_window:
                    st["ext_active"] = False
                st["ext_prev"] = ext_window
            for k, st in enumerate(self.olps):
                window, lpulse = st["lq"]
                pulse = lpulse & window
                opening = window and not st["win_prev"]
                closing = st["win_prev"] and not window
                falling = st["pulse_prev"] & ~pulse
                full = (1 << tp.out_bits) - 1
                held = np.zeros_like(pulse) if opening else (~pulse & ~falling)
                fall_value = np.where(closing, full, st["counts"])
                st["latched"] = np.where(pulse, full, np.where(
                    falling, fall_value, np.where(held, st["latched"], 0)))
                if opening:
                    st["counts"] = pulse.astype(np.int64)
                    st["start"] = t
                else:
                    st["counts"] = np.minimum(st["counts"] + pulse, full)
                st["win_prev"], st["pulse_prev"] = window, pulse
            # landing registers and wrap registers take this cycle's mesh
            zero = self._zero()
            for i, st in enumerate(self.tiles):
                w, pl, sg = False, np.zeros(p.lanes, bool), np.zeros(p.lanes, bool)
                for g in range(G):
                    v = values.get(("in", i, g))
                    if v is not None and v[0]:
                        w = True
                        pl[g * GL:(g + 1) * GL] = v[1]
                        sg[g * GL:(g + 1) * GL] = v[2]
                st["lq"] = (w, pl, sg)
            for k, st in enumerate(self.olps):
                w, pl = False, np.zeros(p.lanes, bool)
                for g in range(G):
                    v = values.get(("out", k, g))
                    if v is not None and v[0]:
                        w = True
                        pl[g * GL:(g + 1) * GL] = v[1]
                st["lq"] = (w, pl)
            for r in range(p.grid_rows):
                for g in range(G):
                    self.wrap_h[(r, g)] = values.get(("H", r, p.grid_cols, g), zero)
            for c in range(p.grid_cols):
                for g in range(G):
                    self.wrap_v[(c, g)] = values.get(("V", p.grid_rows, c, g), zero)
            busy = (any(s["active"] for s in self.ilps)
                    or any(self._tile_busy(s) or s["lq"][0] or s["ramp"] or s["emit_prev"]
                           for s in self.tiles)
                    or any(s["lq"][0] or s["win_prev"] or s["pending"] is not None
                           for s in self.olps)
                    or any(v[0] for v in self.wrap_h.values())
                    or any(v[0] for v in self.wrap_v.values()))
            t += 1
            idle_for = 0 if (busy or head < len(beats)) else idle_for + 1
            if idle_for > 3:
                break
        assert t < limit, "the reference did not settle"
        return log

    def _mvm(self, i, st):
        tp = self.tp
        cfg = self.configs[i].resolved(tp)
        d = st["counts"]
        s = np.where(st["signs"], -1, 1)
        q = (s * d) @ self.weights[i]
        if cfg.noise_sigma:
            q = q + read_noise(cfg.noise_seed, cfg.noise_sigma, self.mvm_count[i] & 0xFFFFFFFF,
                               tp.cols)
        qs = np.clip(q, -tp.charge_max, tp.charge_max)
        y, _, _ = convert(qs, cfg, tp)
        return y


# -- random legal routings ----------------------------------------------------------------------

def random_routing(rng, p):
    """Random routes added one by one, each kept only if the routing stays legal."""
    r = Routing(p)
    sources = [ilp(k) for k in range(p.pairs)] + [tile(t) for t in range(p.tiles)]
    for _ in range(int(rng.integers(6, 30))):
        s = sources[int(rng.integers(len(sources)))]
        d = (olp(int(rng.integers(p.pairs))) if rng.random() < 0.3
             else tile(int(rng.integers(p.tiles))))
        groups = [g for g in range(p.groups) if rng.random() < 0.6] or [0]
        drive = None if s.kind == "ilp" else [None, "e", "n"][int(rng.integers(3))]
        trial = r.copy()
        try:
            trial.connect(s, d, groups, drive=drive)
        except ValueError:
            continue
        if check(trial).ok:
            r = trial
    return r


def compare(chip, beats):
    """run_stream of the chip model and the reference: every event, cycle and word equal."""
    ref = RefChip(chip).run(beats)
    res = chip.run_stream(beats)
    assert [(e.beat, e.pair, e.offered, e.cycle) for e in res.ilp] == ref["ilp"]
    assert [(b.beat, b.cycle) for b in res.bad_dest] == ref["bad"]
    assert [(c.tile, c.window.first) for c in res.collisions] == sorted(
        ref["collisions"], key=lambda c: c[1])
    got = sorted((r.tile, r.window.first, r.window.last, r.mvm_index) for r in res.runs)
    want = sorted((i, a, b, n) for i, a, b, _, n in ref["runs"])
    assert got == want
    ys = {(r.tile, r.window.first): r.y for r in res.runs}
    for i, a, b, y, n in ref["runs"]:
        np.testing.assert_array_equal(ys[(i, a)], y, err_msg=f"tile {i} window {a}..{b}")
    assert [(o.pair, o.cycle, o.valid) for o in res.outputs] == [
        (k, t, v) for k, t, v, _ in ref["outputs"]]
    for o, (_, _, _, words) in zip(res.outputs, ref["outputs"]):
        np.testing.assert_array_equal(o.words, words)
    assert [(o.pair, o.valid) for o in res.lost] == [(k, v) for k, _, _, v in ref["lost"]]
    return res


def configured_chip(rng, p, modes=None):
    chip = Chip(p, pair_modes=modes)
    for t in range(p.tiles):
        chip.program(t, random_codes(rng, p.tile))
        act = list(Activation)[int(rng.integers(4))]
        cfg = random_config(rng, p.tile, InputMode.UNSIGNED, act, int(rng.integers(2, 6)))
        chip.configure(t, dataclasses.replace(cfg, input_source=InputSource.LANES))
    return chip


def words(rng, chip, k):
    lo, hi = chip.params.tile.input_range(chip.pair_mode(min(k, chip.params.pairs - 1)))
    return rng.integers(lo, hi + 1, chip.params.lanes)


@pytest.mark.parametrize("case", range(6))
def test_chip_equals_cycle_stepped_reference(seed, case):
    rng = np.random.default_rng(seed + 1000 * case)
    tps = [TileParams(rows=8, cols=8, in_bits=4, out_bits=4, code_bits=3, charge_bits=12),
           TileParams(rows=8, cols=8, in_bits=3, out_bits=4, code_bits=2, charge_bits=10,
                      eval_rows=2),
           TileParams(rows=8, cols=8, in_bits=5, out_bits=3, code_bits=2, charge_bits=12,
                      eval_rows=8)]
    tp = tps[case % len(tps)]
    p = ChipParams(tile=tp, grid_rows=3, grid_cols=3, empty=((2, 2),), group_lanes=4,
                   pair_rows=(0, 1, 2))
    chip = configured_chip(rng, p, [InputMode(int(m)) for m in rng.integers(0, 2, p.pairs)])
    chip.set_routing(random_routing(rng, p))
    # pair 3 is a TDEST of no pair
    compare(chip, [(k, words(rng, chip, k)) for k in rng.integers(0, 4, rng.integers(3, 9))])


SMALL = TileParams(rows=8, cols=8, in_bits=4, out_bits=4, code_bits=3, charge_bits=12)


def test_reference_windows_that_do_not_meet_and_collide(seed):
    """One tile fed by sources of different depths: a second MVM in the same pass, and a
    collision (tests/test_golden_chip_model.py has the same routes)."""
    rng = np.random.default_rng(seed)
    p = ChipParams(tile=SMALL, grid_rows=1, grid_cols=3, empty=(), group_lanes=4,
                   pair_rows=(0,))
    chip = configured_chip(rng, p)
    r = Routing(p)
    r.multicast(ilp(0), [tile(0), tile(1)], 0)
    r.connect(tile(1), tile(2), 0)
    r.connect(tile(2), tile(0), 1)
    chip.set_routing(r)
    res = compare(chip, [(0, words(rng, chip, 0)) for _ in range(3)])
    assert len(res.tile_runs(0)) == 6
    r = Routing(p)
    r.multicast(ilp(0), [tile(0), tile(1)], 0)
    r.connect(tile(1), tile(0), 1)
    chip.set_routing(r)
    res = compare(chip, [(0, words(rng, chip, 0)) for _ in range(2)])
    assert len(res.collisions) == 2


def test_reference_pairs_sharing_a_tile(seed):
    rng = np.random.default_rng(seed)
    p = ChipParams(tile=SMALL, grid_rows=2, grid_cols=2, empty=(), group_lanes=4,
                   pair_rows=(0, 1))
    chip = configured_chip(rng, p, [InputMode.SIGNED, InputMode.UNSIGNED])
    r = Routing(p)
    r.connect(ilp(0), tile(0), 0)
    r.connect(tile(0), tile(2), 0)
    r.connect(ilp(1), tile(2), 1)
    r.connect(tile(2), olp(1), 0, drive="e")
    chip.set_routing(r)
    for order in ([0, 1, 0, 1], [1, 0, 0, 1, 1]):
        res = compare(chip, [(k, words(rng, chip, k)) for k in order])
    assert res.collisions or any(len(run.beats) > 1 for run in res.runs)


def test_reference_olp_words_overwritten_while_the_stream_is_busy(seed):
    """Six OLPs valid on one cycle (one tile multicast to all): OLP 5 waits five cycles for
    the output stream, and a second, short window (out_max + 1 = 4 cycles, from a tile fed by
    ILP 1 on cycle 5) closes on OLP 5 before its first words were taken: they are lost."""
    rng = np.random.default_rng(seed)
    tp = TileParams(rows=4, cols=4, in_bits=2, out_bits=2, code_bits=2, charge_bits=10)
    p = ChipParams(tile=tp, grid_rows=6, grid_cols=2, empty=(), group_lanes=2,
                   pair_rows=tuple(range(6)))
    chip = configured_chip(rng, p)
    r = Routing(p)
    r.connect(ilp(0), tile(0), 0)
    r.multicast(tile(0), [olp(k) for k in range(6)], 0)
    x = p.tile_index(5, 1)
    r.connect(ilp(1), tile(x), 1)
    r.connect(tile(x), olp(5), 1)
    chip.set_routing(r)
    # four beats of no pair (TDEST 7) hold ILP 1's beat back until cycle 5
    beats = [(0, words(rng, chip, 0))] + [(7, np.zeros(4, int))] * 4 + [(1, words(rng, chip, 1))]
    res = compare(chip, beats)
    assert res.ilp[1].cycle == 5
    assert [(o.pair, o.valid, o.cycle) for o in res.outputs] == [
        (0, 14, 14), (1, 14, 15), (2, 14, 16), (3, 14, 17), (4, 14, 18), (5, 19, 19)]
    (lost,) = res.lost
    assert (lost.pair, lost.valid, lost.cycle, lost.lost) == (5, 14, None, True)
