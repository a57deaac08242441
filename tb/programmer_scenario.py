"""Per-cycle scenario of ``hdl.programmer.RowProgrammer``, shared by the amaranth.sim tier
(tests/test_sim_programmer.py) and the cocotb tier (tb/test_programmer.py).

A schedule of programming commands (random or given) is planned up front from the golden
model's cycle counts (``golden.program``): each command is offered on ``cmd`` (sometimes while
the previous run is still busy, so the offer waits for ``cmd.ready``), the configuration inputs
carry its values on the handshake cycle only (random bits on every other cycle), and
``result.ready`` is held low for a random number of cycles after ``result.valid`` rises
(back-pressure). The expected value of every output on every cycle follows from
``golden.program.program_row(..., trace=True)`` and the state sequence of docs/programming.md
section 6: ``phase``, ``iteration`` and every device's code (``codes``) cycle by cycle, the
result payload while it is valid, the status outputs, ``bad_target``.
"""
from __future__ import annotations

import numpy as np

from golden import program as gprog
from golden.program import ProgPhase, ProgramConfig
from golden.spec import TileParams, check_int, check_int_array
from . import coverage
from .blocks import Scenario, _per_cycle, _unpack_fields
from .pack import pack_words, unpack_words
from .scoreboard import assert_equal_arrays

__all__ = ["ProgrammerScenario", "Command"]


class Command:
    """One planned command: ``row``, ``targets`` (cols,), ``cfg``; filled in by the plan:
    ``offer``, ``handshake`` (cycles), ``result`` (golden RowResult, None for a bad target),
    ``valid_from``/``accept`` (cycles of the result window)."""

    def __init__(self, row: int, targets, cfg: ProgramConfig):
        self.row = check_int("row", row, 0, (1 << 16) - 1)
        self.targets = check_int_array("targets", targets)
        if not isinstance(cfg, ProgramConfig):
            raise TypeError(f"cfg must be a ProgramConfig, not {cfg!r}")
        self.cfg = cfg
        self.offer = self.handshake = self.valid_from = self.accept = None
        self.result = None

    @property
    def bad(self) -> bool:
        return self.result is None

    def describe(self, p: TileParams) -> str:
        c = self.cfg
        text = (f"command row {self.row}, handshake at cycle {self.handshake}, seed {c.seed}, "
                f"tol {c.tol}, gain {c.pulse_gain}, noise_scale {c.noise_scale}, max_iter "
                f"{c.max_iter}")
        if p.cols <= 16:
            text += f", targets {self.targets.tolist()}"
        return text


class ProgrammerScenario(Scenario):
    """Commands for ``RowProgrammer(p)``, checked cycle by cycle.

    ``commands``: number of random commands, or a list of ``(row, targets, cfg)``.
    ``bad``: probability that a random command has an illegal target. ``back_to_back``:
    probability that a command is offered while the previous one is still running.
    ``stall``: probability of back-pressure on a result. ``trace_codes``: record and check
    ``codes`` every cycle (off for the full-size tile, where 512 ports would each wake the
    cocotb player on every iteration; the final codes are still checked in the result).
    ``configs``: a list of ``ProgramConfig`` that random commands draw from (default: random
    configurations). ``codes_known``: the devices hold 0 at the start (a fresh simulation);
    False when an earlier test ran in the same simulation (the codes have no reset: PCM is
    non-volatile), and then the codes are checked from the first RESET on.
    """
    block = "programmer"

    def __init__(self, p: TileParams, rng, commands=40, bad: float = 0.08,
                 back_to_back: float = 0.4, stall: float = 0.4, trace_codes: bool = True,
                 configs=None, codes_known: bool = True):
        self.p = p
        self.codes_known = codes_known
        self.tw = p.target_bits
        self.cell_bits = p.devices_per_weight * p.code_bits
        outputs = {"cmd__ready": 1, "result__valid": 1,
                   "result__payload": 16 + p.cols * self.cell_bits,
                   "busy": 1, "iterations_msp": 8, "iterations_lsp": 8, "iterations": 9,
                   "fail_mask": p.cols, "fail_count": p.cols.bit_length(), "converged": 1,
                   "bad_target": 1, "phase": 3, "iteration": 8}
        self.trace_codes = trace_codes
        if trace_codes:
            outputs["codes"] = p.cols * self.cell_bits
        super().__init__({"cmd__payload": 16 + p.cols * self.tw, "cmd__valid": 1,
                          "result__ready": 1, "seed": 32, "tol": p.code_bits,
                          "pulse_gain": 8, "noise_scale": 8, "max_iter": 8}, outputs, rng)
        self.configs = configs
        if isinstance(commands, int):
            plan = [self._random_command(bad) for _ in range(commands)]
        else:
            plan = [Command(row, targets, cfg) for row, targets, cfg in commands]
        self.commands = plan
        self._plan(back_to_back, stall)

    # -- stimulus ----------------------------------------------------------------------------
    def _random_config(self) -> ProgramConfig:
        p, rng = self.p, self.rng
        if self.configs is not None:
            return self.configs[int(rng.integers(0, len(self.configs)))]
        u = rng.random()
        tol = int(rng.integers(0, min(p.code_max, 2) + 1)) if u < 0.8 else \
            int(rng.integers(0, p.code_max + 1))
        gain = int(rng.choice([1, 64, 128, 192, 255, int(rng.integers(1, 256))]))
        noise = int(rng.choice([0, 16, 16, 255, int(rng.integers(0, 256))]))
        max_iter = int(rng.choice([1, 2, int(rng.integers(1, 12)), int(rng.integers(1, 25))]))
        return ProgramConfig(seed=int(rng.integers(0, 1 << 32)), tol=tol, pulse_gain=gain,
                             noise_scale=noise, max_iter=max_iter)

    def random_targets(self):
        """Uniform legal targets with corners: 0, +-1, +-weight_max, F * code_max (+-1),
        rounding ties of t / F."""
        p, rng = self.p, self.rng
        wmax, F, cm = p.weight_max, p.f_factor, p.code_max
        t = rng.integers(-wmax, wmax + 1, size=p.cols)
        corners = [0, 1, -1, wmax, -wmax, F * cm, -F * cm, min(wmax, F * cm + 1)]
        if F % 2 == 0:
            corners += [F // 2, -F // 2, 3 * F // 2, -3 * F // 2]
        corners = np.clip(np.array(corners), -wmax, wmax)
        pick = rng.random(p.cols) < 0.25
        t[pick] = rng.choice(corners, size=int(pick.sum()))
        return t

    def _random_command(self, bad: float) -> Command:
        p, rng = self.p, self.rng
        t = self.random_targets()
        if rng.random() < bad:
            lo, hi = -(1 << (self.tw - 1)), (1 << (self.tw - 1)) - 1
            illegal = [v for v in (p.weight_max + 1, -p.weight_max - 1, lo, hi)
                       if abs(v) > p.weight_max]
            t[int(rng.integers(0, p.cols))] = int(rng.choice(illegal))
        return Command(int(rng.integers(0, p.rows)), t, self._random_config())

    def _plan(self, back_to_back, stall):
        p, rng = self.p, self.rng
        ready_from = int(rng.integers(0, 3))    # first cycle the block is expected in IDLE
        previous_handshake = -1
        for cmd in self.commands:
            if previous_handshake >= 0 and rng.random() < back_to_back:
                cmd.offer = int(rng.integers(previous_handshake + 1, ready_from + 1))
            else:
                cmd.offer = ready_from + int(rng.integers(0, 3))
            cmd.handshake = max(cmd.offer, ready_from)
            previous_handshake = cmd.handshake
            if np.abs(cmd.targets).max() > p.weight_max:
                cmd.result = None
                ready_from = cmd.handshake + gprog.BAD_TARGET_CYCLES
                continue
            cmd.result = gprog.program_row(cmd.targets, cmd.row, cmd.cfg, p, trace=True)
            cmd.valid_from = cmd.handshake + cmd.result.cycles
            stall_cycles = int(rng.integers(1, 5)) if rng.random() < stall else 0
            cmd.accept = cmd.valid_from + stall_cycles
            ready_from = cmd.accept + 1
        total = ready_from + 3
        valid = np.zeros(total, dtype=np.int64)
        payload = [None] * total
        config = [None] * total
        ready = [None] * total
        for cmd in self.commands:
            word = cmd.row | pack_words(cmd.targets, self.tw) << 16
            for k in range(cmd.offer, cmd.handshake + 1):
                valid[k], payload[k] = 1, word
            c = cmd.cfg
            config[cmd.handshake] = dict(seed=c.seed, tol=c.tol, pulse_gain=c.pulse_gain,
                                         noise_scale=c.noise_scale, max_iter=c.max_iter)
            if not cmd.bad:
                for k in range(cmd.valid_from, cmd.accept + 1):
                    ready[k] = int(k == cmd.accept)
        for k in range(total):
            values = dict(cmd__valid=int(valid[k]))
            if payload[k] is not None:
                values["cmd__payload"] = payload[k]
            if config[k] is not None:
                values.update(config[k])
            if ready[k] is not None:
                values["result__ready"] = ready[k]
            self._emit(**values)

    # -- expectations --------------------------------------------------------------------------
    def expected(self) -> dict:
        """Every recorded output on every cycle (``codes`` as (cycles, cols, devices))."""
        p, n = self.p, self.cycles
        dev = p.devices_per_weight
        four = dev == 4
        phase = np.full(n, int(ProgPhase.IDLE), dtype=np.int64)
        iteration = np.zeros(n, dtype=np.int64)
        codes = np.zeros((n, p.cols, dev), dtype=np.int64)
        status = {name: np.zeros(n, dtype=np.int64) for name in
                  ("iterations_msp", "iterations_lsp", "iterations", "fail_count", "converged",
                   "bad_target")}
        fail_mask = np.zeros((n, p.cols), dtype=np.int64)
        result_valid = np.zeros(n, dtype=np.int64)
        known = np.full(n, bool(self.codes_known))     # cycles whose codes are predictable
        # values that persist from one command to the next, from a cycle on
        cur_codes = np.zeros((p.cols, dev), dtype=np.int64)
        cur_iter = 0
        k = 0

        def hold(until):
            nonlocal k
            codes[k:until] = cur_codes
            iteration[k:until] = cur_iter
            k = until

        for cmd in self.commands:
            h = cmd.handshake
            hold(h + 1)                                 # IDLE up to and with the handshake
            status["bad_target"][h + 1:] = 0
            phase[h + 1] = ProgPhase.RESET
            hold(h + 2)
            if cmd.bad:
                status["bad_target"][h + 2:] = 1
                continue
            res = cmd.result
            known[k:] = True                            # from the first cycle after a RESET
            pairs = [ProgPhase.MSP, ProgPhase.LSP] if four else [ProgPhase.MSP]
            for pair, name in enumerate(pairs):
                trace = res.trace[pair]
                for i in range(int(res.phase_cycles[pair])):
                    phase[k], iteration[k], codes[k] = name, i, trace[i]
                    k += 1
                cur_codes, cur_iter = trace[int(res.iterations[pair])], int(res.iterations[pair])
                if four and pair == 0:
                    phase[k] = ProgPhase.REMAINDER
                    hold(k + 1)
                    cur_iter = 0
            phase[k] = ProgPhase.EVALUATE
            hold(k + 1)
            assert k == cmd.valid_from, "scenario: golden latency and state sequence disagree"
            phase[k:cmd.accept + 1] = ProgPhase.RESULT
            result_valid[k:cmd.accept + 1] = 1
            hold(cmd.accept + 1)
            it = res.iterations
            for name, value in (("iterations_msp", it[0]), ("iterations_lsp", it[1]),
                                ("iterations", it.sum()), ("fail_count", res.fail_count),
                                ("converged", int(res.converged))):
                status[name][cmd.valid_from:] = int(value)
            fail_mask[cmd.valid_from:] = res.fail_mask
        hold(n)
        busy = (phase != ProgPhase.IDLE).astype(np.int64)
        return dict(phase=phase, iteration=iteration, codes=codes, known=known, busy=busy,
                    cmd__ready=1 - busy, result__valid=result_valid, fail_mask=fail_mask,
                    **status)

    def check(self, trace, seed=None):
        self._check_lengths(trace)
        p = self.p
        exp = self.expected()
        # control first: a block whose handshakes depart from the plan fails here
        for name, what in (("cmd__ready", "high exactly in IDLE"),
                           ("result__valid", "from handshake + golden cycles until accepted"),
                           ("busy", "not IDLE")):
            assert_equal_arrays(exp[name], _per_cycle(trace[name]),
                                f"programmer {name} ({what}) [cycle]", seed)
        got_phase = _per_cycle(trace["phase"])
        got_iter = _per_cycle(trace["iteration"])
        got_codes = None
        if self.trace_codes:
            got_codes = _unpack_fields(trace["codes"], p.cols * p.devices_per_weight,
                                       p.code_bits).reshape(self.cycles, p.cols,
                                                            p.devices_per_weight)
            unknown = ~exp["known"]
            got_codes[unknown] = exp["codes"][unknown]  # not predictable: not compared
        for cmd in self.commands:
            end = cmd.handshake + 2 if cmd.bad else cmd.accept + 1
            span = slice(cmd.handshake, end)
            what = cmd.describe(p)
            if not cmd.bad:
                what += (f"; golden iterations {cmd.result.iterations.tolist()}, phase cycles "
                         f"{cmd.result.phase_cycles.tolist()}")
            assert_equal_arrays(exp["phase"][span], got_phase[span],
                                f"programmer phase, {what} [cycle from handshake]", seed)
            assert_equal_arrays(exp["iteration"][span], got_iter[span],
                                f"programmer iteration, {what} [cycle from handshake]", seed)
            if got_codes is not None:
                assert_equal_arrays(exp["codes"][span], got_codes[span],
                                    f"programmer device codes, {what} [cycle from handshake, "
                                    f"column, device {'/'.join(p.cell_fields)}]", seed)
        assert_equal_arrays(exp["phase"], got_phase, "programmer phase [cycle]", seed)
        assert_equal_arrays(exp["iteration"], got_iter, "programmer iteration [cycle]", seed)
        if got_codes is not None:
            assert_equal_arrays(exp["codes"], got_codes,
                                "programmer device codes [cycle, column, device]", seed)
        # results, on every valid cycle
        payloads = trace["result__payload"]
        for cmd in self.commands:
            if cmd.bad:
                continue
            res = cmd.result
            got = np.array([[-1] if payloads[k] is None else
                             [payloads[k] & 0xFFFF] for k in
                             range(cmd.valid_from, cmd.accept + 1)], dtype=np.int64)
            what = f"programmer result, {cmd.describe(p)}"
            assert_equal_arrays(np.full_like(got, cmd.row), got, f"{what}: row [valid cycle]",
                                seed)
            for k in range(cmd.valid_from, cmd.accept + 1):
                value = payloads[k]
                got_codes = (np.full((p.cols, p.devices_per_weight), -1) if value is None else
                             unpack_words(value >> 16, p.cols * p.devices_per_weight,
                                          p.code_bits).reshape(p.cols, p.devices_per_weight))
                assert_equal_arrays(res.codes, got_codes,
                                    f"{what}: codes on cycle {k} [column, device "
                                    f"{'/'.join(p.cell_fields)}]", seed)
        got_mask = _unpack_fields(trace["fail_mask"], p.cols, 1)
        for name in ("iterations_msp", "iterations_lsp", "iterations", "fail_count",
                     "converged", "bad_target"):
            assert_equal_arrays(exp[name], _per_cycle(trace[name]),
                                f"programmer {name} [cycle]", seed)
        assert_equal_arrays(exp["fail_mask"], got_mask, "programmer fail_mask [cycle, column]",
                            seed)
        for cmd in self.commands:
            if not cmd.bad:
                coverage.sample_programming(cmd.result)

    def summary(self) -> str:
        good = [c for c in self.commands if not c.bad]
        iters = sum(int(c.result.iterations.sum()) for c in good)
        failed = sum(int(c.result.fail_count) for c in good)
        exhausted = sum(int((c.result.iterations == c.cfg.max_iter).any()) for c in good)
        noiseless = sum(c.cfg.noise_scale == 0 for c in good)
        return (f"{len(self.commands)} commands ({len(self.commands) - len(good)} bad targets, "
                f"{noiseless} noiseless, {exhausted} hitting max_iter, {failed} failed weights, "
                f"{iters} pulse iterations) in {self.cycles} cycles")
