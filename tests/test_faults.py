"""golden.faults: stuck devices, dead input lanes and dead columns in the golden model
(docs/faults.md): the fault map and its validation, row writes, MVMs, closed-loop programming
(fail mask = the weights that could not be reached), conductance reads and calibration, the
register model, and the study's command line."""
import dataclasses

import numpy as np
import pytest

from golden.calibration import CalOp, CalScope, Calibrator, conductance_read, \
    conductance_weights
from golden.faults import FaultMap, Stuck, bits_of_words, mask_words, stuck_words
from golden.program import ProgramConfig, program_array, program_row, weight_tolerance
from golden.regs import OKAY, REGISTERS, RegisterFile
from golden.spec import Activation, ErrorBit, InputMode, TileConfig, TileParams
from golden.tile import Tile
from test_golden_program import ref_mix32, ref_sigma_q

P4 = TileParams(rows=8, cols=6, in_bits=4, out_bits=4, code_bits=4, charge_bits=14,
                fault_injection=True)
P2 = TileParams(rows=8, cols=6, in_bits=4, out_bits=4, code_bits=4, devices_per_weight=2,
                charge_bits=14, fault_injection=True)
PF = TileParams(rows=8, cols=5, code_bits=5, f_factor=2, charge_bits=20, fault_injection=True)
PARAMS = {"d4": P4, "d2": P2, "f2": PF}
P0 = dataclasses.replace(P4, fault_injection=False)     # no fault-injection hardware


def random_stuck(rng, p, fraction):
    s = np.zeros((p.rows, p.cols, p.devices_per_weight), dtype=np.int64)
    hit = rng.random(s.shape) < fraction
    s[hit] = rng.integers(1, 3, size=int(hit.sum()))
    return s


def merged(codes, stuck, p):
    """The codes a write stores, computed directly from the definition."""
    out = np.array(codes, dtype=np.int64)
    out[stuck == 1] = 0
    out[stuck == 2] = p.code_max
    return out


def weights_of(codes, p):
    w = codes[..., 0] - codes[..., 1]
    if p.devices_per_weight == 4:
        w = p.f_factor * w + codes[..., 2] - codes[..., 3]
    return w


# -- the fault map ------------------------------------------------------------------------------

def test_random_map_is_deterministic_and_counts_exactly():
    p = TileParams(rows=32, cols=16, fault_injection=True)
    a = FaultMap.random(p, 0.05, seed=3, dead_lanes=2, dead_cols=1)
    b = FaultMap.random(p, 0.05, seed=3, dead_lanes=2, dead_cols=1)
    assert a == b and a != FaultMap.random(p, 0.05, seed=4, dead_lanes=2, dead_cols=1)
    n = p.rows * p.cols * p.devices_per_weight
    assert a.stuck_count() == round(0.05 * n)
    assert a.stuck_count(Stuck.FULL) == round(0.5 * a.stuck_count())
    assert a.dead_lanes.sum() == 2 and a.dead_cols.sum() == 1 and a.any
    only_zero = FaultMap.random(p, 0.01, seed=1, full_fraction=0.0)
    assert only_zero.stuck_count(Stuck.FULL) == 0 and only_zero.stuck_count() == round(0.01 * n)
    assert not FaultMap.none(p).any and "0 stuck at zero" in repr(FaultMap.none(p))
    with pytest.raises(AttributeError):
        a.stuck = None
    with pytest.raises(ValueError):
        a.stuck[0, 0, 0] = 1            # read-only arrays


def test_words_round_trip():
    rng = np.random.default_rng(0)
    bits = rng.random(70) < 0.5
    words = mask_words(bits)
    assert len(words) == 3 and (bits_of_words(words, 70) == bits).all()
    assert words[0] == sum(1 << j for j in range(32) if bits[j])
    s = np.array([[0, 1], [2, 0], [2, 2]])
    mask, level = stuck_words(s)
    assert mask.tolist() == [0b110110] and level.tolist() == [0b110100]


@pytest.mark.parametrize("make, error, text", [
    (lambda: FaultMap(P4, np.zeros((8, 6, 4), dtype=float)), TypeError,
     r"stuck must be an integer array of Stuck values \(0 NONE, 1 ZERO, 2 FULL\), not dtype "
     r"float64"),
    (lambda: FaultMap(P4, np.zeros((8, 6, 4), dtype=bool)), TypeError, "not dtype bool"),
    (lambda: FaultMap(P4, np.zeros((8, 6, 2), dtype=int)), ValueError,
     r"stuck must have shape \(8, 6, 4\) \(rows, cols, devices_per_weight\), not \(8, 6, 2\)"),
    (lambda: FaultMap(P4, np.full((8, 6, 4), 3)), ValueError,
     r"stuck\[0, 0, 0\] = 3 is outside \[0, 2\]"),
    (lambda: FaultMap(P4, dead_lanes=np.zeros(8, dtype=int)), TypeError,
     r"dead_lanes must be a bool array of shape \(8,\), not dtype int64"),
    (lambda: FaultMap(P4, dead_cols=np.zeros(5, dtype=bool)), ValueError,
     r"dead_cols must have shape \(6,\), not \(5,\)"),
    (lambda: FaultMap(None), TypeError, "params must be a TileParams, not None"),
    (lambda: FaultMap.random(P4, 1.5), ValueError, r"stuck_fraction must be in \[0, 1\], not 1.5"),
    (lambda: FaultMap.random(P4, float("nan")), ValueError, "stuck_fraction must be in"),
    (lambda: FaultMap.random(P4, True), TypeError,
     r"stuck_fraction must be a number in \[0, 1\], not True"),
    (lambda: FaultMap.random(P4, "0.1"), TypeError, "stuck_fraction must be a number"),
    (lambda: FaultMap.random(P4, 0.1, full_fraction=-0.5), ValueError,
     r"full_fraction must be in \[0, 1\], not -0.5"),
    (lambda: FaultMap.random(P4, 0.1, seed=-1), ValueError, r"seed must be in \[0, "),
    (lambda: FaultMap.random(P4, 0.1, seed=1.0), TypeError, "seed must be an integer"),
    (lambda: FaultMap.random(P4, 0.1, dead_lanes=9), ValueError,
     r"dead_lanes must be in \[0, 8\], not 9"),
    (lambda: FaultMap.random(P4, 0.1, dead_cols=-1), ValueError,
     r"dead_cols must be in \[0, 6\], not -1"),
    (lambda: Tile(P4).inject("faults"), TypeError, "faults must be a FaultMap or None"),
    (lambda: Tile(P4).inject(FaultMap.random(P2, 0.1)), ValueError, "faults were made for"),
    (lambda: program_row(np.zeros(6, int), 0, ProgramConfig(), P4,
                         stuck=np.zeros((6, 3), int)), ValueError,
     r"stuck must have shape \(6, 4\), not \(6, 3\)"),
    (lambda: program_row(np.zeros(6, int), 0, ProgramConfig(), P4,
                         stuck=np.full((6, 4), 5)), ValueError, r"stuck\[0, 0\] = 5"),
    (lambda: TileConfig(dead_lanes=np.zeros(8, int)).resolved(P4), TypeError,
     r"dead_lanes must be a bool array of shape \(8,\)"),
    (lambda: TileConfig(dead_cols=np.zeros(7, bool)).resolved(P4), ValueError,
     r"dead_cols must have shape \(6,\), not \(7,\)"),
    (lambda: RegisterFile(P4).load_faults(None), TypeError, "faults must be a FaultMap"),
    # a tile without the fault-injection hardware has no faults
    (lambda: FaultMap(P0), ValueError, "a FaultMap needs a tile with fault-injection hardware"),
    (lambda: FaultMap.random(P0, 0.1), ValueError, r"params.fault_injection is False"),
    (lambda: TileConfig(dead_lanes=np.eye(8, dtype=bool)[2]).resolved(P0), ValueError,
     r"dead_lanes marks 1 dead, but the tile has no fault-injection hardware"),
    (lambda: TileConfig(dead_cols=np.ones(6, bool)).resolved(P0), ValueError,
     r"dead_cols marks 6 dead"),
    (lambda: TileParams(fault_injection=1), TypeError, "fault_injection must be True or False, "
                                                       "not 1"),
])
def test_bad_arguments_are_named(make, error, text):
    with pytest.raises(error, match=text):
        make()


# -- stuck devices: row writes and MVMs ---------------------------------------------------------

@pytest.mark.parametrize("name", list(PARAMS))
def test_stuck_devices_ignore_writes(name, seed):
    p = PARAMS[name]
    rng = np.random.default_rng(seed)
    stuck = random_stuck(rng, p, 0.2)
    faults = FaultMap(p, stuck)
    codes = rng.integers(0, p.code_max + 1, size=stuck.shape)
    tile = Tile(p, faults=faults)
    tile.program(codes)
    want = merged(codes, stuck, p)
    assert (tile.codes == want).all()
    assert (tile.weights == weights_of(want, p)).all()
    row = int(rng.integers(0, p.rows))
    new_row = rng.integers(0, p.code_max + 1, size=stuck.shape[1:])
    tile.program_row(row, new_row)
    want[row] = merged(new_row, stuck[row], p)
    assert (tile.codes == want).all()
    # the MVM sees the stored codes: the same as a fault-free tile holding them
    plain = Tile(p, want)
    for mode in InputMode:
        cfg = TileConfig(input_mode=mode, activation=Activation.IDENTITY)
        lo, hi = p.input_range(mode)
        x = rng.integers(lo, hi + 1, size=(5, p.rows))
        assert (tile.run(x, cfg).charge == x @ weights_of(want, p)).all()
        assert (tile.mvm(x, cfg) == plain.mvm(x, cfg)).all()
        assert (tile.mvm(x[0], cfg) == plain.mvm(x[0], cfg)).all()


def test_faults_act_on_the_next_write_and_can_be_removed():
    p = P4
    codes = np.full((p.rows, p.cols, 4), 5)
    tile = Tile(p, codes)
    stuck = np.zeros((p.rows, p.cols, 4), dtype=np.int64)
    stuck[1, 2, 0] = Stuck.FULL
    tile.inject(FaultMap(p, stuck))
    assert tile.codes[1, 2, 0] == 5                 # not written since
    tile.program_row(1, codes[1])
    assert tile.codes[1, 2, 0] == p.code_max
    tile.inject(None)
    assert tile.faults is None
    tile.program_row(1, codes[1])
    assert tile.codes[1, 2, 0] == 5
    assert Tile(p, codes, faults=FaultMap(p, stuck)).codes[1, 2, 0] == p.code_max


# -- closed-loop programming with stuck devices ---------------------------------------------------

def ref_program_row_stuck(t, row, cfg, p, stuck):
    """The contract's per-device loop (tests/test_golden_program.py) with stuck devices: they
    start at their stuck code (the RESET does not move them) and a pulse leaves them."""
    cm, F, cols = p.code_max, p.f_factor, p.cols
    dev = p.devices_per_weight
    code = {0: None, 1: 0, 2: cm}
    g = [[0 if stuck[c][d] == 0 else code[stuck[c][d]] for d in range(dev)] for c in range(cols)]
    shift = 24 - p.code_bits

    def pair_phase(pair, targets):
        pulses, checked = 0, False
        for it in range(cfg.max_iter):
            conv = [[abs(targets[c][d] - g[c][2 * pair + d]) <= cfg.tol for d in (0, 1)]
                    for c in range(cols)]
            if all(all(cc) for cc in conv):
                checked = True
                break
            for d in (0, 1):
                k = ref_mix32(cfg.seed ^ ref_mix32((row << 12) ^ (pair << 10) ^ (d << 8) ^ it))
                for c in range(cols):
                    if conv[c][d] or stuck[c][2 * pair + d]:
                        continue
                    cur = g[c][2 * pair + d]
                    err = targets[c][d] - cur
                    u = ref_mix32((k + c * 0x9E3779B9) & 0xFFFFFFFF)
                    n = sum((u >> (8 * i)) & 255 for i in range(4)) - 510
                    noise = (n * ref_sigma_q(targets[c][d], p) * cfg.noise_scale
                             + (1 << (shift - 1))) >> shift
                    step = (err * cfg.pulse_gain + 128) >> 8
                    g[c][2 * pair + d] = min(max(cur + step + noise, 0), cm)
            pulses += 1
        return pulses, pulses + checked

    if dev == 4:
        tg = []
        for v in t:
            mag = min((abs(v) + F // 2) // F, cm)
            tg.append((mag, 0) if v >= 0 else (0, mag))
    else:
        tg = [(v, 0) if v >= 0 else (0, -v) for v in t]
    it0, pc0 = pair_phase(0, tg)
    it1 = pc1 = 0
    if dev == 4:
        tl = []
        for c, v in enumerate(t):
            r = v - F * (g[c][0] - g[c][1])
            tl.append((min(r, cm), 0) if r >= 0 else (0, min(-r, cm)))
        it1, pc1 = pair_phase(1, tl)
    codes = np.array(g, dtype=np.int64)
    return codes, (it0, it1), (pc0, pc1)


@pytest.mark.parametrize("name", list(PARAMS))
def test_programmer_with_stuck_devices_follows_the_contract(name, seed):
    p = PARAMS[name]
    rng = np.random.default_rng(seed)
    for _ in range(12):
        cfg = ProgramConfig(seed=int(rng.integers(0, 1 << 32)),
                            tol=int(rng.integers(0, min(p.code_max, 3) + 1)),
                            pulse_gain=int(rng.choice([100, 192, 255])),
                            noise_scale=int(rng.choice([0, 16, 40])),
                            max_iter=int(rng.integers(1, 25)))
        t = rng.integers(-p.weight_max, p.weight_max + 1, size=p.cols)
        stuck = random_stuck(rng, p, 0.25)[0]
        row = int(rng.integers(0, p.rows))
        codes, its, pcs = ref_program_row_stuck(t.tolist(), row, cfg, p, stuck.tolist())
        res = program_row(t, row, cfg, p, stuck=stuck)
        what = f"{name} {cfg} t {t.tolist()} stuck {stuck.tolist()} (seed {seed})"
        assert res.codes.tolist() == codes.tolist(), what
        assert tuple(res.iterations.tolist()) == its, what
        assert tuple(res.phase_cycles.tolist()) == pcs, what
        arr = program_array(t[None], cfg, p, row_ids=[row], stuck=stuck[None])
        assert arr.codes[0].tolist() == codes.tolist()


@pytest.mark.parametrize("name", list(PARAMS))
def test_fail_mask_flags_exactly_the_unreachable_weights(name, seed):
    """Noiseless programming with room to converge: the fail mask is |w - t| > tol_w of the
    codes actually stored (stuck codes included), every weight beyond what the cell's stuck
    devices allow (its reachable range, widened by the tolerance) is flagged, and a cell
    without a stuck device is not. (The contract's programmer does not use the other device of
    a pair to cancel a stuck one, so it may also fail weights a fault-aware plan could reach:
    docs/faults.md.)"""
    p = PARAMS[name]
    rng = np.random.default_rng(seed)
    stuck = random_stuck(rng, p, 0.15)
    faults = FaultMap(p, stuck)
    cfg = ProgramConfig(seed=5, tol=1, pulse_gain=192, noise_scale=0, max_iter=60)
    tol_w = weight_tolerance(cfg.tol, p)
    lo, hi = faults.weight_range()
    tile = Tile(p, faults=faults)
    for row in range(p.rows):
        t = rng.integers(-p.weight_max, p.weight_max + 1, size=p.cols)
        res = tile.program_targets(row, t, cfg)
        stored = tile.codes[row]
        assert (stored[stuck[row] == 1] == 0).all() and \
            (stored[stuck[row] == 2] == p.code_max).all()
        w = weights_of(stored, p)
        assert (res.weights == w).all()
        assert (res.fail_mask == (np.abs(w - t) > tol_w)).all()
        unreachable = (t < lo[row] - tol_w) | (t > hi[row] + tol_w)
        assert (res.fail_mask[unreachable]).all()
        if p.f_factor == 1:
            # noiseless with F = 1: a cell without a stuck device always converges
            clean = ~stuck[row].any(axis=-1)
            assert not res.fail_mask[clean].any()
        assert res.fail_count == int(res.fail_mask.sum())
        assert res.converged == (not res.fail_mask.any())


def test_lsp_compensates_a_stuck_msp_device():
    """G+ stuck at full, target 10: the MSP pair cannot pass its check (phase runs out), the
    LSP remainder 10 - code_max goes to g-, and the weight is reached."""
    p = P4
    stuck = np.zeros((p.cols, 4), dtype=np.int64)
    stuck[0, 0] = Stuck.FULL
    stuck[1, 1] = Stuck.FULL         # inactive G- of a positive target: blocks the MSP check
    cfg = ProgramConfig(tol=0, noise_scale=0, max_iter=30)
    t = np.array([10, 3, 0, 0, 0, 0])
    res = program_row(t, 0, cfg, p, stuck=stuck)
    assert res.codes[0].tolist() == [p.code_max, 0, 0, p.code_max - 10]
    assert res.iterations[0] == cfg.max_iter
    assert not res.fail_mask.any()
    # 2-PCM: nothing can make up for it
    s2 = np.zeros((p.cols, 2), dtype=np.int64)
    s2[0, 0] = Stuck.FULL
    res2 = program_row(t, 0, cfg, P2, stuck=s2)
    assert res2.fail_mask.tolist() == [True, False, False, False, False, False]


# -- dead lanes and dead columns ----------------------------------------------------------------

@pytest.mark.parametrize("where", ["map", "config"])
def test_dead_lanes_and_columns(where, seed):
    p = P4
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, p.code_max + 1, size=(p.rows, p.cols, 4))
    lanes = np.zeros(p.rows, dtype=bool)
    lanes[rng.choice(p.rows, 2, replace=False)] = True
    cols = np.zeros(p.cols, dtype=bool)
    cols[int(rng.integers(0, p.cols))] = True
    base = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY,
                      offset=rng.integers(-5, 6, size=p.cols), noise_sigma=3000, noise_seed=9)
    if where == "map":
        tile = Tile(p, codes, faults=FaultMap(p, dead_lanes=lanes, dead_cols=cols))
        cfg = base
    else:
        tile = Tile(p, codes)
        cfg = TileConfig(**{**base.__dict__, "dead_lanes": lanes, "dead_cols": cols})
    lo, hi = p.input_range(InputMode.SIGNED)
    x = rng.integers(lo, hi + 1, size=(6, p.rows))
    res = tile.run(x, cfg, mvm_index=4)
    # dead lane: as if its input were 0; dead column: no charge at all, no noise
    x0 = np.where(lanes[None, :], 0, x)
    ref = Tile(p, codes).run(x0, base, mvm_index=4)
    assert (res.charge[:, ~cols] == ref.charge[:, ~cols]).all()
    assert (res.charge[:, cols] == 0).all() and (res.charge_sat[:, cols] == 0).all()
    # a dead column outputs the conversion of charge 0 (its offset, in identity code)
    assert (res.y[:, cols] == (base.offset[cols] + (1 << (p.out_bits - 1)))[None, :]).all()
    assert (tile.mvm(x, cfg, mvm_index=4) == res.y).all()
    for i in range(len(x)):
        assert (tile.mvm(x[i], cfg, mvm_index=4 + i) == res.y[i]).all()
    # the conductance read sees the same faults
    fm = tile.faults if where == "map" else None
    raw, sat, _ = conductance_read(tile.codes, 3, cfg, p, mvm_index=2, faults=fm)
    assert (sat[cols] == 0).all()
    plain = conductance_read(tile.codes, 3, base, p, mvm_index=2)[0]
    dead_rows = (3 * conductance_weights(tile.codes, p))[lanes].sum(axis=0)
    assert (raw[~cols] == (plain - dead_rows)[~cols]).all()


def test_calibration_reports_a_dead_column():
    p = P4
    rng = np.random.default_rng(1)
    codes = rng.integers(1, p.code_max + 1, size=(p.rows, p.cols, 4))
    cfg = TileConfig(gain=np.full(p.cols, 64))
    cal = Calibrator(p)
    ref = cal.run(CalOp.REFERENCE, CalScope.PER_COLUMN, codes, cfg, 1)
    assert not ref.dead.any() and ref.dead_count == 0
    cols = np.zeros(p.cols, dtype=bool)
    cols[2] = True
    faults = FaultMap(p, dead_cols=cols)
    aged = codes // 2
    res = cal.run(CalOp.COMPENSATE, CalScope.PER_COLUMN, aged, cfg, 1, faults=faults)
    assert res.dead.tolist() == cols.tolist() and res.dead_count == 1
    assert res.gain[2] == 64 and res.skipped == 1            # left at its reference gain
    assert (res.gain[~cols] > 64).all() and res.gain.max() < (1 << p.gain_bits) - 1
    # the register model: CAL_DEAD, CAL_DEAD_MASK and the sticky ERROR bit
    regs = RegisterFile(p)
    regs.values["cal_op"] = CalOp.COMPENSATE
    regs.calibrated(res)
    assert regs.read(REGISTERS["CAL_DEAD"].address) == (1, OKAY)
    assert regs.read(regs.map.address("CAL_DEAD_MASK", 0)) == (1 << 2, OKAY)
    assert regs.error == 1 << ErrorBit.CAL_DEAD


def test_register_model_holds_the_fault_map(seed):
    p = PF
    rng = np.random.default_rng(seed)
    fm = FaultMap.random(p, 0.1, seed=int(rng.integers(0, 1 << 32)), dead_lanes=1, dead_cols=2)
    regs = RegisterFile(p)
    writes = regs.load_faults(fm)
    assert writes and regs.faults() == fm
    replay = RegisterFile(p)
    for address, data in writes:
        assert replay.write(address, data) == OKAY
    assert replay.faults() == fm
    cfg = replay.config()
    assert (cfg.dead_lanes == fm.dead_lanes).all() and (cfg.dead_cols == fm.dead_cols).all()
    assert regs.load_faults(fm) == []                  # nothing left to write
    row = int(np.flatnonzero(fm.stuck.any(axis=(1, 2)))[0])
    assert replay.write(REGISTERS["FAULT_ROW"].address, row) == OKAY
    assert replay.read(replay.map.address("FAULT_MASK", 0))[0] == int(fm.row_words(row)[0][0])
    assert replay.write(REGISTERS["FAULT_ROW"].address, p.rows) != OKAY     # out of range
    stuck_rows = replay.fault_mask.copy()
    replay.reset()                                   # the fault memory is non-volatile
    assert (replay.fault_mask == stuck_rows).all() and replay.config().dead_cols is None
