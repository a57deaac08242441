"""Seeded per-cycle scenarios of the tile's blocks, shared by the amaranth.sim and cocotb tiers.

A scenario is a schedule of a block's input ports for every cycle (flat port names as in the
emitted Verilog, unsigned integers), planned up front from the timing of docs/spec.md, and the
block's expected outputs, built from the golden block functions (``golden.ilp``, ``golden.olp``,
``golden.crossbar``, ``golden.ramp``). A tier plays ``inputs``, records every port of
``outputs`` once per cycle (the value the next rising edge samples: after that cycle's inputs
have settled) and hands the trace to :meth:`Scenario.check`, which raises ``AssertionError``
naming the first mismatching index, both values and the seed (``tb.scoreboard``).

Cycle 0 is the first cycle after reset. Handshakes are planned, not reacted to: a block whose
``ready``/``valid`` timing departs from the spec fails at the first cycle where it departs,
before any value is compared (control signals are checked first, then values per vector).

Inputs that the block must ignore (payloads while ``valid`` is low, lanes outside a window,
configuration inputs outside a ``start`` cycle, the mode during a window) carry random bits.
"""
from __future__ import annotations

import numpy as np

from golden import crossbar as gcrossbar
from golden import noise as gnoise
from golden import ilp as gilp
from golden import olp as golp
from golden import ramp as gramp
from golden.spec import EN_LO_BITS, Activation, InputMode, TileConfig, TileParams, check_int
from .pack import pack_row_write, pack_words, unpack_words
from .scoreboard import assert_equal_arrays

__all__ = ["Scenario", "IlpScenario", "OlpScenario", "CrossbarScenario", "RampScenario",
           "ilp_corner_plan", "random_bits"]


def random_bits(rng, width: int) -> int:
    """A uniformly random unsigned integer of ``width`` bits."""
    raw = int.from_bytes(rng.bytes((width + 7) // 8), "little")
    return raw & ((1 << width) - 1)


def _pack_bits(bits) -> int:
    """Lane booleans (lane 0 lowest) as one integer."""
    return sum(1 << i for i, b in enumerate(np.asarray(bits).ravel()) if b)


def _unpack_bits(values, lanes: int) -> np.ndarray:
    """Per-cycle integers -> ``(cycles, lanes)`` int array of their low ``lanes`` bits;
    an unresolved sample (None: X/Z in Icarus) becomes -1 in every lane."""
    out = np.empty((len(values), lanes), dtype=np.int64)
    for k, v in enumerate(values):
        out[k] = -1 if v is None else [(v >> i) & 1 for i in range(lanes)]
    return out


def _per_cycle(values) -> np.ndarray:
    """Recorded 1-bit samples as an int array (None -> -1)."""
    return np.array([-1 if v is None else int(v) for v in values], dtype=np.int64)


def _unpack_fields(values, count: int, bits: int, signed: bool = False) -> np.ndarray:
    """Per-cycle integers -> ``(cycles, count)`` fields (an unresolved sample -> all -2**62)."""
    out = np.empty((len(values), count), dtype=np.int64)
    for k, v in enumerate(values):
        out[k] = -(1 << 62) if v is None else unpack_words(v, count, bits, signed)
    return out


def _runs(flags: np.ndarray) -> np.ndarray:
    """``(start, length)`` of every run of ones in a 0/1 array, as an ``(n, 2)`` array."""
    padded = np.concatenate([[0], (flags == 1).astype(np.int64), [0]])
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return np.stack([starts, ends - starts], axis=1) if len(starts) else np.zeros((0, 2), int)


def _assert_windows(expected: np.ndarray, got: np.ndarray, what: str, seed) -> None:
    """Windows (runs of a 0/1 per-cycle array) equal; the message names the first window that
    differs as (first cycle, ticks), or the first one missing or extra."""
    want, have = _runs(expected), _runs(got)
    for i in range(max(len(want), len(have))):
        w = tuple(int(v) for v in want[i]) if i < len(want) else None
        h = tuple(int(v) for v in have[i]) if i < len(have) else None
        if w != h:
            raise AssertionError(f"{what}: window {i} as (first cycle, ticks): expected {w}, "
                                 f"got {h} ({len(want)} windows expected, {len(have)} seen; "
                                 f"seed {seed})")


class Scenario:
    """Per-cycle input schedule and expectations of one block.

    Members
    -------
    block : str
        Name of the block (messages).
    inputs : dict[str, list[int]]
        Value of every input port on every cycle (unsigned, masked to the port width).
    outputs : tuple[str, ...]
        Output ports the tier records every cycle.
    cycles : int
        Length of the schedule.
    """
    block = "block"

    def __init__(self, input_widths: dict[str, int], output_widths: dict[str, int], rng):
        self.input_widths = dict(input_widths)
        self.output_widths = dict(output_widths)
        self.outputs = tuple(output_widths)
        self.inputs = {name: [] for name in input_widths}
        self.rng = rng

    @property
    def cycles(self) -> int:
        return len(next(iter(self.inputs.values())))

    def _garbage(self, name: str) -> int:
        return random_bits(self.rng, self.input_widths[name])

    def _emit(self, **values) -> int:
        """Append one cycle; ports not named carry random bits. A value must fit its port as
        an unsigned or a two's complement number (a negative one is stored in two's
        complement). Returns the cycle's index."""
        k = self.cycles
        for name in values:
            if name not in self.input_widths:
                raise ValueError(f"{self.block}: no input port {name!r}")
        for name, width in self.input_widths.items():
            if name in values:
                value = check_int(f"{self.block} port {name}", values[name],
                                  -(1 << (width - 1)), (1 << width) - 1)
            else:
                value = self._garbage(name)
            self.inputs[name].append(value & ((1 << width) - 1))
        return k

    def check(self, trace: dict, seed=None) -> None:
        raise NotImplementedError

    def _check_lengths(self, trace):
        for name in self.outputs:
            if len(trace[name]) != self.cycles:
                raise AssertionError(f"{self.block}: {name} recorded for {len(trace[name])} "
                                     f"cycles, the schedule has {self.cycles}")


# -- input landing pad ---------------------------------------------------------------------------

class IlpScenario(Scenario):
    """Input vectors for ``hdl.ilp.InputLandingPad`` in random modes, with random idle gaps or
    back-to-back (``valid`` held high while the previous window runs).

    Expected per docs/spec.md section 2: the handshake happens on the first offered cycle with
    ``ready`` high; the window opens on the next cycle and lasts ``window_ticks`` ticks;
    lane r is high for the first ``d_r`` ticks with ``sign`` = (s_r < 0) for the whole window
    (``golden.ilp.encode``/``waveform``); ``ready`` is low exactly while a window is open;
    ``pulse`` and ``sign`` are low outside windows.
    """
    block = "ILP"

    def __init__(self, p: TileParams, rng, vectors: int = 48, modes=tuple(InputMode),
                 back_to_back: float = 0.5, words=None):
        super().__init__({"i__payload": p.rows * p.in_bits, "i__valid": 1, "mode": 1},
                         {"i__ready": 1, "lanes__pulse": p.rows, "lanes__sign": p.rows,
                          "lanes__window": 1}, rng)
        self.p = p
        self.vectors = []           # (mode, words, handshake cycle, window ticks)
        idle = dict(i__valid=0)
        for _ in range(int(rng.integers(0, 3))):
            self._emit(**idle)
        ready_from = 0              # first cycle the ILP is expected to be ready again
        plan = words if words is not None else [None] * vectors
        for i, given in enumerate(plan):
            if given is None:
                mode = InputMode(int(rng.choice([int(m) for m in modes])))
                x = self._random_words(mode)
            else:
                mode, x = InputMode(given[0]), np.asarray(given[1], dtype=np.int64)
            if rng.random() >= back_to_back:
                for _ in range(int(rng.integers(1, 4))):
                    self._emit(**idle)
            offer = self.cycles
            handshake = max(offer, ready_from)
            payload = pack_words(x, p.in_bits)
            for _ in range(offer, handshake + 1):
                self._emit(i__valid=1, i__payload=payload, mode=int(mode))
            ticks = gilp.window_ticks(p, mode)
            self.vectors.append((mode, x, handshake, ticks))
            ready_from = handshake + 1 + ticks
        while self.cycles < ready_from + 2:
            self._emit(**idle)

    def _random_words(self, mode):
        lo, hi = self.p.input_range(mode)
        x = self.rng.integers(lo, hi + 1, size=self.p.rows)
        corners = np.array(sorted({lo, hi, 0, min(1, hi), max(-1, lo)}))
        pick = self.rng.random(self.p.rows) < 0.2
        x[pick] = self.rng.choice(corners, size=int(pick.sum()))
        return x

    def check(self, trace, seed=None):
        self._check_lengths(trace)
        p, n = self.p, self.cycles
        window = np.zeros(n, dtype=np.int64)
        pulse = np.zeros((n, p.rows), dtype=np.int64)
        sign = np.zeros((n, p.rows), dtype=np.int64)
        for mode, x, handshake, ticks in self.vectors:
            d, s = gilp.encode(x, mode, p)
            span = slice(handshake + 1, handshake + 1 + ticks)
            window[span] = 1
            pulse[span] = gilp.waveform(d, ticks)
            sign[span] = (s < 0)
        got_window = _per_cycle(trace["lanes__window"])
        _assert_windows(window, got_window, "ILP lanes.window", seed)
        assert_equal_arrays(window, got_window, "ILP lanes.window [cycle]", seed)
        assert_equal_arrays(1 - window, _per_cycle(trace["i__ready"]),
                            "ILP i.ready (low exactly while a window is open) [cycle]", seed)
        got_pulse = _unpack_bits(trace["lanes__pulse"], p.rows)
        got_sign = _unpack_bits(trace["lanes__sign"], p.rows)
        for i, (mode, x, handshake, ticks) in enumerate(self.vectors):
            span = slice(handshake + 1, handshake + 1 + ticks)
            what = (f"ILP vector {i} ({mode.name}, words {x.tolist()}, handshake at cycle "
                    f"{handshake})")
            assert_equal_arrays(pulse[span], got_pulse[span], f"{what} pulse [tick, lane]", seed)
            assert_equal_arrays(sign[span], got_sign[span], f"{what} sign [tick, lane]", seed)
        assert_equal_arrays(pulse, got_pulse, "ILP lanes.pulse (low outside windows) "
                            "[cycle, lane]", seed)
        assert_equal_arrays(sign, got_sign, "ILP lanes.sign (low outside windows) "
                            "[cycle, lane]", seed)

    def summary(self) -> str:
        modes = [v[0].name for v in self.vectors]
        return (f"{len(self.vectors)} vectors ({modes.count('UNSIGNED')} unsigned, "
                f"{modes.count('SIGNED')} signed) in {self.cycles} cycles")


def ilp_corner_plan(p: TileParams) -> list:
    """Directed ``(mode, words)`` for ``IlpScenario(words=...)``: zero, full scale of both
    signs, alternating extremes and each lane alone at its longest duration, in each mode;
    then the same list again with the mode flipping from vector to vector."""
    plan = []
    for mode in InputMode:
        lo, hi = p.input_range(mode)
        vectors = [np.zeros(p.rows, dtype=np.int64), np.full(p.rows, hi), np.full(p.rows, lo),
                   np.where(np.arange(p.rows) % 2 == 0, hi, lo)]
        for lane in range(p.rows):
            one = np.zeros(p.rows, dtype=np.int64)
            one[lane] = lo if mode == InputMode.SIGNED else hi
            vectors.append(one)
        plan += [(mode, x) for x in vectors]
    flipped = []
    for i, (mode, x) in enumerate(plan):
        other = InputMode(i % 2)
        lo, hi = p.input_range(other)
        flipped.append((other, np.clip(x, lo, hi)))
    return plan + flipped


# -- output landing pad --------------------------------------------------------------------------

class OlpScenario(Scenario):
    """Random pulse windows for ``hdl.olp.OutputLandingPad(lanes, word_bits)``.

    Window lengths: the tile's ``out_max + 1``, shorter ones and longer ones (so counts can pass
    ``out_max``). Lane patterns: none, one pulse from the first tick (the ramp's shape), one
    pulse anywhere, several pulses; with ``cut`` also lanes still high on the last tick
    (overrange). Lanes outside windows carry random bits. ``o.ready`` is held low for a random
    number of cycles after the window (back-pressure); sometimes the next window opens on the
    very cycle the words are accepted.

    Expected per docs/spec.md section 6 and ``golden.olp.capture``: ``o.valid`` rises on the
    first cycle after the window and stays high, with the payload unchanged, until the cycle
    ``ready`` is high; the words equal ``capture``'s; ``overrange`` is high on that first
    cycle exactly when ``capture`` flags some lane, and low on every other cycle.
    """
    block = "OLP"

    def __init__(self, lanes: int, word_bits: int, rng, windows: int = 40, cut: bool = True,
                 stall: float = 0.5):
        super().__init__({"lanes__pulse": lanes, "lanes__sign": lanes, "lanes__window": 1,
                          "o__ready": 1},
                         {"o__valid": 1, "o__payload": lanes * word_bits, "overrange": 1}, rng)
        self.lanes, self.word_bits, self.cut = lanes, word_bits, cut
        self.out_max = (1 << word_bits) - 1
        self.windows = []       # (first cycle, waveform, closing cycle, accept cycle)
        for _ in range(int(rng.integers(1, 4))):
            self._emit(lanes__window=0)
        ready_on_open = False
        for i in range(windows):
            wave = self._waveform(self._window_length())
            opened = self.cycles
            for t, row in enumerate(wave):
                values = dict(lanes__window=1, lanes__pulse=_pack_bits(row))
                if t == 0 and ready_on_open:
                    values["o__ready"] = 1
                self._emit(**values)
            closing = self.cycles
            stall_cycles = int(rng.integers(1, 6)) if rng.random() < stall else 0
            for _ in range(stall_cycles):
                self._emit(lanes__window=0, o__ready=0)
            # the accepting cycle: an idle cycle, or (after back-pressure) the next window's
            # first tick
            ready_on_open = stall_cycles > 0 and i + 1 < windows and rng.random() < 0.3
            if not ready_on_open:
                self._emit(lanes__window=0, o__ready=1)
                for _ in range(int(rng.integers(0, 3))):
                    self._emit(lanes__window=0)
            self.windows.append((opened, wave, closing, closing + stall_cycles))
        for _ in range(3):
            self._emit(lanes__window=0)

    def _window_length(self) -> int:
        u, full = self.rng.random(), self.out_max + 1
        if u < 0.5:
            return full
        if u < 0.8:
            return int(self.rng.integers(1, full + 1))
        return int(self.rng.integers(full + 1, 2 * full + 3))

    def _waveform(self, ticks: int) -> np.ndarray:
        rng = self.rng
        wave = np.zeros((ticks, self.lanes), dtype=bool)
        kinds = ["none", "first", "one", "several"] + (["cut", "full"] if self.cut else [])
        weights = np.array([1, 3, 2, 3] + ([2, 1] if self.cut else []), dtype=float)
        for lane in range(self.lanes):
            kind = rng.choice(kinds, p=weights / weights.sum())
            if kind == "first":
                wave[: int(rng.integers(1, ticks + 1)), lane] = True
            elif kind == "one":
                a, b = sorted(int(v) for v in rng.integers(0, ticks + 1, size=2))
                wave[a:b, lane] = True
            elif kind == "several":
                wave[:, lane] = rng.random(ticks) < rng.uniform(0.2, 0.8)
            elif kind == "cut":
                wave[int(rng.integers(0, ticks)):, lane] = True
                wave[:-1, lane] |= rng.random(ticks - 1) < 0.3
            elif kind == "full":
                wave[:, lane] = True
            if not self.cut:
                wave[-1, lane] = False
        return wave

    def check(self, trace, seed=None):
        self._check_lengths(trace)
        n, lanes = self.cycles, self.lanes
        valid = np.zeros(n, dtype=np.int64)
        overrange = np.zeros(n, dtype=np.int64)
        expected = []
        for opened, wave, closing, accept in self.windows:
            words, flags = golp.capture(wave, self.word_bits)
            valid[closing:accept + 1] = 1
            overrange[closing] = int(flags.any())
            expected.append((words, flags))
        assert_equal_arrays(valid, _per_cycle(trace["o__valid"]),
                            "OLP o.valid (first cycle after each window until accepted) "
                            "[cycle]", seed)
        assert_equal_arrays(overrange, _per_cycle(trace["overrange"]),
                            "OLP overrange [cycle]", seed)
        payload = _unpack_fields(trace["o__payload"], lanes, self.word_bits)
        for i, ((opened, wave, closing, accept), (words, flags)) in \
                enumerate(zip(self.windows, expected)):
            got = payload[closing:accept + 1]
            cut = np.flatnonzero(wave[-1]).tolist()
            what = (f"OLP window {i} ({len(wave)} ticks from cycle {opened}, lanes high on the "
                    f"last tick {cut}, accepted {accept - closing} cycles after closing), "
                    f"words [cycle after closing, lane]")
            assert_equal_arrays(np.broadcast_to(words, got.shape), got, what, seed)

    def summary(self) -> str:
        cut = sum(bool(w[1][-1].any()) for w in self.windows)
        stalled = sum(w[3] > w[2] for w in self.windows)
        return (f"{len(self.windows)} windows ({cut} with lanes cut by the window end, "
                f"{stalled} with back-pressure) in {self.cycles} cycles")


# -- crossbar ------------------------------------------------------------------------------------

class CrossbarScenario(Scenario):
    """Row writes and integration windows for ``hdl.crossbar.Crossbar``.

    First every row is written through ``prog`` in random order, interleaved with writes to
    rows >= ``rows`` (including indices that alias real rows modulo the memory's address
    width); then one probe window per row (that lane alone, high for one tick: the charge is
    the row's weights); then random windows: lane durations and signs at random (pulses from
    the first tick or at random ticks; sometimes every lane at full scale with one polarity,
    to saturate the capacitors), with row writes between windows, row writes offered
    while a window is open or being evaluated (held until ``prog.ready``), and, with
    ``overrange``, lanes held longer than ``2^in_bits - 1`` ticks.

    Expected per docs/spec.md sections 3-4: a window closing on cycle C is evaluated on cycles
    C .. C + E - 1 (``evaluating``, E = ``params.evaluate_cycles``), ``done`` is high on cycle
    C + E only, and from then
    until the next closing ``charge`` and ``cap_sat`` equal ``golden.crossbar.integrate`` of
    the lane counts (saturated at ``2^in_bits - 1``) and the codes written so far;
    ``prog.ready`` is low exactly on window and evaluation cycles; ``bad_row`` is high on the
    handshake cycle of each write to a row >= rows; ``engaged`` is the window of the previous
    cycle or the evaluation after C; ``overrange`` first rises on the tick a lane is high for
    the ``2^in_bits``-th time and is never high on a window without such a lane.
    """
    block = "crossbar"

    def __init__(self, p: TileParams, rng, mvms: int = 24, probes: bool = True,
                 overrange: float = 0.2):
        super().__init__({"lanes__pulse": p.rows, "lanes__sign": p.rows, "lanes__window": 1,
                          "prog__payload": 16 + p.cols * p.devices_per_weight * p.code_bits,
                          "prog__valid": 1, "noise_seed": 32,
                          "noise_sigma": gnoise.NOISE_SIGMA_BITS, "mvm_index": 32},
                         {"prog__ready": 1, "charge": p.cols * p.charge_bits, "done": 1,
                          "cap_sat": 1, "evaluating": 1, "engaged": 1, "overrange": 1,
                          "bad_row": 1}, rng)
        self.p = p
        self.count_max = p.duration_max
        self.codes = np.zeros((p.rows, p.cols, p.devices_per_weight), dtype=np.int64)
        self.writes = []        # (handshake cycle, row)
        self.mvms = []          # (first cycle, waveform, sign bits, closing cycle, codes)
        self.noise = []         # per window: (noise_seed, noise_sigma, mvm_index) at closing
        self._held = None       # a row write offered while busy: (row, codes_row)
        self._busy_until = -1   # last cycle of the current evaluation

        rows = list(rng.permutation(p.rows)) + list(rng.integers(0, p.rows, size=2))
        for bad in self._bad_rows():
            rows.insert(int(rng.integers(0, len(rows) + 1)), bad)
        for row in rows:
            self._write(int(row), gap=int(rng.integers(0, 3)))
        if probes:
            for row in range(p.rows):
                self._mvm(self._probe(row), held_write=False)
        for _ in range(mvms):
            self._finish_held()
            for _ in range(int(rng.integers(0, 3))):
                row = int(rng.integers(0, p.rows)) if rng.random() < 0.8 else \
                    int(rng.choice(self._bad_rows()))
                self._write(row, gap=int(rng.integers(0, 3)))
            for _ in range(int(rng.integers(0, 3))):
                self._emit(**self._idle())
            long_lanes = rng.random() < overrange
            self._mvm(self._random_window(long_lanes), held_write=rng.random() < 0.4)
        self._finish_held()
        for _ in range(3):
            self._emit(**self._idle())

    # -- stimulus pieces -------------------------------------------------------------------
    def _bad_rows(self) -> list[int]:
        p = self.p
        address_span = 1 << max(1, (p.rows - 1).bit_length())
        return sorted({p.rows, p.rows + int(self.rng.integers(0, p.rows)),
                       address_span + int(self.rng.integers(0, p.rows)), (1 << 16) - 1})

    def _random_codes_row(self):
        p = self.p
        return self.rng.integers(0, p.code_max + 1, size=(p.cols, p.devices_per_weight))

    def _idle(self, **values):
        if self._held is not None:
            row, codes_row = self._held
            values.update(prog__valid=1, prog__payload=pack_row_write(self.p, row, codes_row))
        else:
            values.setdefault("prog__valid", 0)
        values.setdefault("lanes__window", 0)
        return values

    def _handshake(self, row, codes_row):
        """Emit a cycle on which a row write is accepted; update the code model."""
        k = self._emit(lanes__window=0, prog__valid=1,
                       prog__payload=pack_row_write(self.p, row, codes_row))
        assert k > self._busy_until
        self.writes.append((k, row))
        if row < self.p.rows:
            self.codes[row] = codes_row

    def _finish_held(self):
        if self._held is not None:
            row, codes_row = self._held
            self._held = None
            self._handshake(row, codes_row)

    def _write(self, row, gap):
        self._finish_held()
        for _ in range(gap):
            self._emit(**self._idle())
        self._handshake(row, self._random_codes_row())

    def _probe(self, row):
        p = self.p
        ticks = int(self.rng.integers(1, 3))
        wave = np.zeros((ticks, p.rows), dtype=bool)
        wave[0, row] = True
        return wave, self.rng.random(p.rows) < 0.5

    def _random_window(self, long_lanes: bool):
        p, rng, cmax = self.p, self.rng, self.count_max
        if long_lanes:
            ticks = int(rng.integers(cmax + 1, cmax + 5))
        else:
            ticks = cmax + 1 if rng.random() < 0.5 else int(rng.integers(1, cmax + 2))
        wave = np.zeros((ticks, p.rows), dtype=bool)
        if rng.random() < 0.15:     # every lane at full scale, one polarity: saturates
            wave[:min(ticks, cmax)] = True
            return wave, np.full(p.rows, rng.random() < 0.5)
        for lane in range(p.rows):
            top = ticks if long_lanes and rng.random() < 0.4 else min(ticks, cmax)
            d = int(rng.integers(0, top + 1)) if rng.random() < 0.85 else top
            if rng.random() < 0.6:
                wave[:d, lane] = True                   # from the first tick, like the ILP
            else:
                wave[rng.choice(ticks, size=d, replace=False), lane] = True
        return wave, rng.random(p.rows) < 0.5

    def _mvm(self, window, held_write: bool):
        p, rng = self.p, self.rng
        wave, sign_bits = window
        self._finish_held()
        offer = int(rng.integers(0, len(wave) + p.evaluate_cycles)) if held_write else None
        opened = self.cycles
        sign = _pack_bits(sign_bits)
        for t, row in enumerate(wave):
            if offer == t:
                self._held = (self._pick_row(), self._random_codes_row())
            self._emit(**self._idle(lanes__window=1, lanes__pulse=_pack_bits(row),
                                    lanes__sign=sign))
        closing = self.cycles
        noise = self._random_noise()
        self.mvms.append((opened, wave, sign_bits, closing, self.codes.copy()))
        self.noise.append(noise)
        self._busy_until = closing + p.evaluate_cycles - 1
        for t in range(len(wave), len(wave) + p.evaluate_cycles):
            if offer == t:
                self._held = (self._pick_row(), self._random_codes_row())
            extra = dict(zip(("noise_seed", "noise_sigma", "mvm_index"), noise)) \
                if t == len(wave) else {}
            self._emit(**self._idle(**extra))

    def _random_noise(self):
        """(seed, sigma, MVM index) sampled on a closing cycle: no noise, small or any sigma."""
        rng = self.rng
        kind = rng.random()
        sigma = 0 if kind < 0.3 else int(rng.integers(1, 256 if kind < 0.7 else 1 << 16))
        return (random_bits(rng, 32), sigma, random_bits(rng, 32))

    def _pick_row(self):
        if self.rng.random() < 0.8:
            return int(self.rng.integers(0, self.p.rows))
        return int(self.rng.choice(self._bad_rows()))

    # -- expectations ----------------------------------------------------------------------
    def expected_charges(self):
        """Per window: (counted durations, signs, charge_sat, cap_sat) from the golden model."""
        p = self.p
        out = []
        for (opened, wave, sign_bits, closing, codes), (seed, sigma, index) in \
                zip(self.mvms, self.noise):
            counts = wave.sum(axis=0).astype(np.int64)
            durations = np.minimum(counts, self.count_max)
            signs = np.where(sign_bits, -1, 1).astype(np.int64)
            _, charge_sat, cap_sat = gcrossbar.integrate(
                durations, signs, gcrossbar.weights(codes, p), p,
                noise=gnoise.read_noise(seed, sigma, index, p.cols))
            out.append((durations, signs, charge_sat, bool(cap_sat)))
        return out

    def check(self, trace, seed=None):
        self._check_lengths(trace)
        p, n = self.p, self.cycles
        window = np.array(self.inputs["lanes__window"], dtype=np.int64)
        evaluating = np.zeros(n, dtype=np.int64)
        done = np.zeros(n, dtype=np.int64)
        engaged = np.zeros(n, dtype=np.int64)
        engaged[1:] = window[:-1]
        for opened, wave, sign_bits, closing, codes in self.mvms:
            evaluating[closing:closing + p.evaluate_cycles] = 1
            engaged[closing + 1:closing + p.evaluate_cycles] = 1
            done[closing + p.evaluate_cycles] = 1
        bad_row = np.zeros(n, dtype=np.int64)
        for k, row in self.writes:
            bad_row[k] = int(row >= p.rows)
        ready = 1 - (window | evaluating)
        for name, expected, what in (
                ("prog__ready", ready, "low exactly on window and evaluation cycles"),
                ("evaluating", evaluating, "evaluate_cycles from each window's closing"),
                ("done", done, "one cycle after each evaluation"),
                ("engaged", engaged, "previous cycle's window or evaluation"),
                ("bad_row", bad_row, "on accepted writes to rows >= rows")):
            assert_equal_arrays(expected, _per_cycle(trace[name]),
                                f"crossbar {name} ({what}) [cycle]", seed)

        # overrange: first rise per window, and never without a lane over the limit
        got_over = _per_cycle(trace["overrange"])
        in_window = np.zeros(n, dtype=bool)
        for i, (opened, wave, sign_bits, closing, codes) in enumerate(self.mvms):
            in_window[opened:closing] = True
            high_before = np.cumsum(wave, axis=0) - wave      # high ticks before each tick
            over = (wave & (high_before >= self.count_max)).any(axis=1)
            first = int(np.argmax(over)) if over.any() else -1
            got = got_over[opened:closing]
            got_first = int(np.argmax(got == 1)) if (got == 1).any() else -1
            counts = wave.sum(axis=0).tolist()
            assert_equal_arrays(np.array([first]), np.array([got_first]),
                                f"crossbar window {i} (lane counts {counts}, limit "
                                f"{self.count_max}): first overrange tick (-1: none)", seed)
        assert_equal_arrays(np.zeros(int((~in_window).sum()), dtype=np.int64),
                            got_over[~in_window], "crossbar overrange outside windows "
                            "[n-th cycle outside windows]", seed)

        # charges: zero from reset until the first closing, then each window's from its done
        # cycle until the next closing (in between the accumulators are counting)
        charge = _unpack_fields(trace["charge"], p.cols, p.charge_bits, signed=True)
        cap_sat = _per_cycle(trace["cap_sat"])
        first_closing = self.mvms[0][3] if self.mvms else n
        assert_equal_arrays(np.zeros((first_closing + 1, p.cols), dtype=np.int64),
                            charge[:first_closing + 1], "crossbar charge after reset "
                            "[cycle, column]", seed)
        assert_equal_arrays(np.zeros(first_closing + 1, dtype=np.int64),
                            cap_sat[:first_closing + 1], "crossbar cap_sat after reset", seed)
        closings = [m[3] for m in self.mvms] + [n - 1]
        for i, (mvm, expected) in enumerate(zip(self.mvms, self.expected_charges())):
            opened, wave, sign_bits, closing, codes = mvm
            durations, signs, charge_sat, sat = expected
            span = slice(closing + p.evaluate_cycles, closings[i + 1] + 1)
            got = charge[span]
            what = (f"crossbar window {i} (durations {durations.tolist()}, signs "
                    f"{signs.tolist()}, done at cycle {closing + p.evaluate_cycles})")
            assert_equal_arrays(np.broadcast_to(charge_sat, got.shape), got,
                                f"{what} charge [cycle after done, column]", seed)
            assert_equal_arrays(np.full(len(got), int(sat)), cap_sat[span],
                                f"{what} cap_sat [cycle after done]", seed)

    def summary(self) -> str:
        bad = sum(row >= self.p.rows for _, row in self.writes)
        sat = sum(e[3] for e in self.expected_charges())
        over = sum(bool((m[1].sum(axis=0) > self.count_max).any()) for m in self.mvms)
        return (f"{len(self.writes)} row writes ({bad} to bad rows), {len(self.mvms)} windows "
                f"({sat} saturating, {over} with overrange) in {self.cycles} cycles")


# -- ramp converter ------------------------------------------------------------------------------

class RampScenario(Scenario):
    """Random conversions for ``hdl.ramp.RampConverter``.

    Each conversion draws charges (every magnitude scale, +-charge_max, rounding ties), gains
    (including 0, 1.0 and the largest code), offsets over their whole range, a ramp shift
    (uniform, or fitted to the charges so outputs span the range), an activation and a legal
    EN window, presents them on the ``start`` cycle only (random bits on every other cycle).

    Expected per docs/spec.md section 5: ``out_sat`` is high on the ``start`` cycle exactly when
    ``golden.ramp.convert`` says so and low on every other cycle; the emit window opens on the
    next cycle for ``out_max + 1`` ticks, column c high for its first ``y[c]`` ticks
    (``golden.ilp.waveform``), ``sign`` low, every lane low outside windows.
    """
    block = "ramp"

    def __init__(self, p: TileParams, rng, conversions: int = 40, activations=tuple(Activation)):
        shift_width = max(1, p.ramp_shift_max.bit_length())
        super().__init__({"charge": p.cols * p.charge_bits, "start": 1,
                          "ramp_shift": shift_width, "activation": 3, "en_lo": EN_LO_BITS,
                          "en_hi": p.en_hi_bits,
                          "gain": p.cols * p.gain_bits, "offset": p.cols * p.offset_bits},
                         {"lanes__pulse": p.cols, "lanes__sign": p.cols, "lanes__window": 1,
                          "out_sat": 1}, rng)
        self.p = p
        self.conversions = []       # (start cycle, charges, config)
        for _ in range(int(rng.integers(0, 3))):
            self._emit(start=0)
        for _ in range(conversions):
            act = Activation(int(rng.choice([int(a) for a in activations])))
            charges = self._random_charges()
            config = self._random_config(act, charges)
            self.add(charges, config)

    def add(self, charges, config: TileConfig, gap: int | None = None):
        """Schedule one conversion after ``gap`` idle cycles (random 0..2 if None)."""
        p = self.p
        cfg = config.resolved(p)
        if gap is None:
            gap = int(self.rng.integers(0, 3))
        for _ in range(gap):
            self._emit(start=0)
        k = self._emit(start=1, charge=pack_words(charges, p.charge_bits),
                       ramp_shift=cfg.ramp_shift, activation=int(cfg.activation),
                       en_lo=cfg.en_lo, en_hi=cfg.en_hi,
                       gain=pack_words(cfg.gain, p.gain_bits),
                       offset=pack_words(cfg.offset, p.offset_bits))
        self.conversions.append((k, np.asarray(charges, dtype=np.int64), cfg))
        for _ in range(p.out_max + 1):
            self._emit(start=0)

    def _random_charges(self):
        p, rng = self.p, self.rng
        cmax = p.charge_max
        scale = 1 << int(rng.integers(0, p.charge_bits))
        q = rng.integers(-scale, scale + 1, size=p.cols)
        pick = rng.random(p.cols)
        q[pick < 0.1] = cmax
        q[(pick >= 0.1) & (pick < 0.2)] = -cmax
        return np.clip(q, -cmax, cmax)

    def unit_gain(self) -> int:
        """The largest power-of-two gain code not above 1.0 (1.0 itself is not representable
        when gain_frac_bits == gain_bits)."""
        p = self.p
        return 1 << min(p.gain_frac_bits, p.gain_bits - 1)

    def tie_charges(self, ramp_shift: int, multiples) -> np.ndarray:
        """Charges that, at gain ``unit_gain()``, land exactly half-way between two output
        codes (empty result when the shift drops no bits). Clipped to +-charge_max."""
        p = self.p
        drop = ramp_shift + p.gain_frac_bits - (self.unit_gain().bit_length() - 1)
        if drop < 1:
            return None
        q = np.asarray(multiples, dtype=np.int64) * (1 << drop) + (1 << (drop - 1))
        return np.clip(q, -p.charge_max, p.charge_max)

    def add_ties_and_extremes(self) -> int:
        """Schedule directed conversions; return how many rounding ties they hold.

        Charges exactly half-way between two output codes at every ramp shift that drops
        bits (round half up: toward +inf, for both signs), then +-charge_max and 0 at the
        extreme gains and offsets under every activation, back to back.
        """
        p = self.p
        unit = np.full(p.cols, self.unit_gain())
        ties = 0
        for shift in range(p.ramp_shift_max + 1):
            q = self.tie_charges(shift, np.arange(p.cols) - p.cols // 2)
            if q is None:
                continue
            for act in (Activation.IDENTITY, Activation.RELU):
                for sign in (1, -1):
                    self.add(sign * q, TileConfig(activation=act, ramp_shift=shift, gain=unit))
                    ties += int(np.sum(np.abs(q) < p.charge_max))   # not clipped
        gain_max, offset_limit = (1 << p.gain_bits) - 1, 1 << p.out_bits
        for q in (p.charge_max, -p.charge_max, 0):
            for gain in (0, gain_max):
                for offset in (-offset_limit, offset_limit - 1):
                    for act in Activation:
                        cfg = TileConfig(activation=act,
                                         ramp_shift=int(self.rng.integers(0, 3)),
                                         en_lo=-1, en_hi=-1 + p.out_max,
                                         gain=np.full(p.cols, gain),
                                         offset=np.full(p.cols, offset))
                        self.add(np.full(p.cols, q), cfg, gap=0)
        return ties

    def _random_config(self, act, charges):
        p, rng = self.p, self.rng
        gain_max = (1 << p.gain_bits) - 1
        gain = rng.integers(0, gain_max + 1, size=p.cols)
        special = rng.random(p.cols)
        gain[special < 0.15] = self.unit_gain()
        gain[(special >= 0.15) & (special < 0.2)] = 0
        gain[(special >= 0.2) & (special < 0.25)] = gain_max
        offset = rng.integers(-(1 << p.out_bits), 1 << p.out_bits, size=p.cols)
        offset[rng.random(p.cols) < 0.3] = 0
        if rng.random() < 0.5:
            shift = int(rng.integers(0, p.ramp_shift_max + 1))
        else:   # a slope that maps the typical |charge * gain| to about half of full scale
            typical = float(np.percentile(np.abs(charges * gain), 75)) / p.gain_one
            shift = int(np.clip(np.ceil(np.log2(max(typical, 1) / max(1, p.out_max / 2))),
                                0, p.ramp_shift_max))
        ties = self.tie_charges(shift, rng.integers(-(p.out_max + 1), p.out_max + 1,
                                                    size=p.cols))
        if ties is not None and rng.random() < 0.3:
            pick = rng.random(p.cols) < 0.5
            charges[pick] = ties[pick]
            gain[pick] = self.unit_gain()
        lo = int(rng.integers(-p.out_max - 2, p.out_max + 3))
        if rng.random() < 0.1:
            lo = int(rng.choice([-(1 << (EN_LO_BITS - 1)), (1 << (EN_LO_BITS - 1)) - 1]))
        hi = lo + int(rng.integers(0, p.out_max + 1))
        return TileConfig(activation=act, ramp_shift=shift, en_lo=lo, en_hi=hi, gain=gain,
                          offset=offset)

    def expected(self):
        """Per conversion: (y, z, out_sat) of ``golden.ramp.convert``."""
        return [gramp.convert(q, cfg, self.p) for _, q, cfg in self.conversions]

    def check(self, trace, seed=None):
        self._check_lengths(trace)
        p, n = self.p, self.cycles
        ticks = p.out_max + 1
        window = np.zeros(n, dtype=np.int64)
        out_sat = np.zeros(n, dtype=np.int64)
        pulse = np.zeros((n, p.cols), dtype=np.int64)
        results = self.expected()
        for (start, q, cfg), (y, z, sat) in zip(self.conversions, results):
            window[start + 1:start + 1 + ticks] = 1
            pulse[start + 1:start + 1 + ticks] = gilp.waveform(y, ticks)
            out_sat[start] = int(sat)
        got_window = _per_cycle(trace["lanes__window"])
        _assert_windows(window, got_window, "ramp emit window", seed)
        assert_equal_arrays(window, got_window, "ramp lanes.window [cycle]", seed)
        assert_equal_arrays(out_sat, _per_cycle(trace["out_sat"]), "ramp out_sat [cycle]", seed)
        got_pulse = _unpack_bits(trace["lanes__pulse"], p.cols)
        for i, ((start, q, cfg), (y, z, sat)) in enumerate(zip(self.conversions, results)):
            span = slice(start + 1, start + 1 + ticks)
            what = (f"ramp conversion {i} (start at cycle {start}, {cfg.activation.name}, "
                    f"ramp_shift {cfg.ramp_shift}, EN [{cfg.en_lo}, {cfg.en_hi}], charges "
                    f"{q.tolist()}, gains {cfg.gain.tolist()}, offsets {cfg.offset.tolist()}; "
                    f"golden z {z.tolist()}, y {y.tolist()})")
            assert_equal_arrays(y, got_pulse[span].sum(axis=0),
                                f"{what} pulse duration [column]", seed)
            assert_equal_arrays(pulse[span], got_pulse[span], f"{what} pulse [tick, column]",
                                seed)
        assert_equal_arrays(pulse, got_pulse, "ramp lanes.pulse (low outside windows) "
                            "[cycle, column]", seed)
        assert_equal_arrays(np.zeros((n, p.cols), dtype=np.int64),
                            _unpack_bits(trace["lanes__sign"], p.cols),
                            "ramp lanes.sign [cycle, column]", seed)

    def summary(self) -> str:
        results = self.expected()
        sat = sum(bool(r[2]) for r in results)
        acts = sorted({cfg.activation.name for _, _, cfg in self.conversions})
        return (f"{len(self.conversions)} conversions ({sat} with out_sat; {', '.join(acts)}) "
                f"in {self.cycles} cycles")
