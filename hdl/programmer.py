"""Closed-loop row programmer: program-and-verify of one row of PCM conductances.

Bit-exact against ``golden.program`` (docs/programming.md). Behavioral, not a synthesis target:
the per-column registers stand for the devices of the row being programmed (the analog array),
their response to a pulse is the contract's deterministic pulse model with counter-based noise.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden import program as gprog
from golden.spec import ROW_INDEX_BITS, TileParams
from .rng import gated as rng_gated, irwin_hall, mix32_signal
from .storage import held_word
from .types import ProgPhase, any_of, cell_layout, row_write_layout

__all__ = ["ProgPhase", "RowProgrammer", "command_layout"]


def command_layout(p: TileParams) -> data.StructLayout:
    """Payload of the ``cmd`` stream: the row index (noise key only) and one signed target
    weight per column."""
    return data.StructLayout({
        "row": unsigned(ROW_INDEX_BITS),
        "targets": data.ArrayLayout(signed(p.target_bits), p.cols),
    })


def _popcount(bits):
    """Sum of 1-bit values as a balanced adder tree."""
    terms = [b.as_unsigned() if hasattr(b, "as_unsigned") else b for b in bits]
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


class RowProgrammer(wiring.Component):
    """Programs one row of unit cells to target weights by program-and-verify.

    A command is accepted in ``IDLE`` (``cmd.ready``); the configuration inputs are sampled on
    the same cycle. Then, one cycle each: ``RESET`` (targets checked; every device of the row
    set to 0), the ``MSP`` iterations, ``REMAINDER`` (4-PCM: LSP targets from the programmed
    G+/G-), the ``LSP`` iterations (4-PCM), ``EVALUATE`` (weights, fail mask and count), then
    ``RESULT`` holds ``result.valid`` until accepted. A command with some |target| >
    weight_max leaves ``RESET`` for ``IDLE`` with ``bad_target`` set and changes nothing else.
    ``rst`` returns the sequence to ``IDLE`` and clears the status; the device codes have no
    reset (PCM is non-volatile; a pulse issued on the reset cycle still lands).

    Members
    -------
    cmd : In(stream.Signature(command_layout(params)))
        Row index and targets.
    seed, tol, pulse_gain, noise_scale, max_iter : In
        Configuration (docs/programming.md), sampled on the ``cmd`` handshake.
    result : Out(stream.Signature(row_write_layout(params)))
        The row index and the row's final codes, in the crossbar's ``prog`` layout.
    busy : Out(1)
        Not ``IDLE`` (a run in progress, or its result not yet accepted).
    phase : Out(ProgPhase), iteration : Out(8)
        Current state and pulse iterations done in the current (or last) phase.
    codes : Out(cell_layout(params)).array(cols)
        The devices' current codes (one port per column; no wide vector).
    iterations_msp, iterations_lsp, iterations, fail_mask, fail_count, converged : Out
        Status of the last completed run, updated when its ``result.valid`` rises.
        ``fail_mask`` bit c: column c's |w - t| exceeds the weight tolerance.
    bad_target : Out(1)
        The last command had an illegal target (set after its check, cleared by the next
        accepted command).
    stuck, stuck_full : In(cols * devices_per_weight)
        Only with ``params.fault_injection``. Stuck devices of the command's row (docs/faults.md; device k = c * devices_per_weight
        + d), sampled on the ``cmd`` handshake: a stuck device holds its stuck code (code_max
        where ``stuck_full``, else 0) through the RESET and every pulse, and a stuck device
        whose target is 0 but whose code is beyond ``tol`` keeps its pair from converging.
    """

    def __init__(self, params: TileParams):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self.params = params
        p = params
        super().__init__({
            "cmd": In(stream.Signature(command_layout(p))),
            "seed": In(32),
            "tol": In(p.code_bits),
            "pulse_gain": In(8),
            "noise_scale": In(8),
            "max_iter": In(8),
            "result": Out(stream.Signature(row_write_layout(p))),
            "busy": Out(1),
            "phase": Out(ProgPhase),
            "iteration": Out(8),
            "codes": Out(cell_layout(p)).array(p.cols),
            "iterations_msp": Out(8),
            "iterations_lsp": Out(8),
            "iterations": Out(9),
            "fail_mask": Out(p.cols),
            "fail_count": Out(range(p.cols + 1)),
            "converged": Out(1),
            "bad_target": Out(1),
            **({"stuck": In(p.cols * p.devices_per_weight),
                "stuck_full": In(p.cols * p.devices_per_weight)} if p.fault_injection else {}),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        cb, cm, F = p.code_bits, p.code_max, p.f_factor
        four = p.devices_per_weight == 4
        tw = p.target_bits

        def gated(cond, name, shape, value):
            # operands read twice go through one of these (hdl.rng.gated)
            return rng_gated(m, cond, name, shape, value)

        # -- registers of the run --------------------------------------------------------------
        state = Signal(ProgPhase)
        row = Signal(ROW_INDEX_BITS)
        seed = Signal(32)
        tol = Signal(cb)
        gain = Signal(8)
        noise_scale = Signal(8)
        max_iter = Signal(8)
        it = Signal(8)                  # pulse iterations of the current phase
        it_msp = Signal(8)
        # loaded straight from the command port (hdl.storage)
        targets = held_word(m, "targets", data.ArrayLayout(signed(tw), p.cols), domain="sync",
                            data=self.cmd.payload.targets,
                            enable=(state == ProgPhase.IDLE) & self.cmd.valid)
        fi = p.fault_injection      # stuck devices (docs/faults.md)
        if fi:
            ndev = p.cols * p.devices_per_weight
            faults = held_word(m, "faults", unsigned(2 * ndev), domain="sync",
                               data=Cat(self.stuck, self.stuck & self.stuck_full),
                               enable=(state == ProgPhase.IDLE) & self.cmd.valid)
            # named signals, sliced per device below (a slice of a slice costs Amaranth's
            # netlist builder the whole inner width: hdl/faults.py)
            stuck_q, full_q = Signal(ndev, name="stuck_q"), Signal(ndev, name="full_q")
            m.d.comb += [stuck_q.eq(faults[:ndev]), full_q.eq(faults[ndev:])]
        m.d.comb += [self.phase.eq(state), self.iteration.eq(it),
                     self.busy.eq(state != ProgPhase.IDLE)]

        in_phase = Signal()
        lsp = Signal()
        starting = Signal()             # RESET or REMAINDER: a pair's targets are computed
        evaluating = Signal()
        m.d.comb += [
            in_phase.eq((state == ProgPhase.MSP) | (state == ProgPhase.LSP)),
            lsp.eq(state == ProgPhase.LSP),
            starting.eq((state == ProgPhase.RESET) | (state == ProgPhase.REMAINDER)),
            evaluating.eq(state == ProgPhase.EVALUATE),
        ]

        # -- noise keys of the current iteration (shared by every column) -------------------
        keys = []
        for device in (0, 1):
            word = Signal(32, name=f"key_word_{device}")
            m.d.comb += word.eq(row.shift_left(gprog.ROW_SHIFT)
                                | lsp.shift_left(gprog.PAIR_SHIFT)
                                | (device << gprog.DEVICE_SHIFT) | it.shift_left(gprog.ITER_SHIFT))
            keys.append(mix32_signal(m, seed ^ mix32_signal(m, word, f"key_word_hash_{device}"),
                                     f"key_{device}"))

        # -- fixed-point constants (docs/programming.md section 4) ----------------------------
        # noise = round_half_up(N * sns / 2^SH), N = S - 510, sns = sigma_q[bin] * noise_scale,
        # is computed without signed arithmetic: with B = 2^(code_bits + 2) (a bound of |noise|
        # plus margin) and base = B * 2^SH + 2^(SH-1) - 510 * sns >= 0 (a register per column),
        # (S * sns + base) >> SH = noise + B.
        table = gprog.sigma_table(p).tolist()
        sigma_bits = max(table).bit_length()
        scaled_bits = sigma_bits + 8
        shift = gprog.noise_shift(p)
        # noise + B = (N * sns + K) >> SH with K = B * 2^SH + 2^(SH-1): B = 2^(code_bits + 2)
        # bounds |noise| + code_max, so the sum is never negative and the shift is a slice
        bias = 1 << (cb + 2)
        offset = (bias << shift) + (1 << (shift - 1))
        noise_max = (510 * max(table) * 255 >> shift) + 1
        assert cm + noise_max <= bias             # g + noise + B - step >= 0
        assert bias + noise_max + 2 * cm < 1 << (cb + 4)     # the biased total fits
        bin_shift = cb - (len(table).bit_length() - 1)
        columns = gprog.column_constants(p.cols).tolist()
        tol_w = Signal(cb + 5)
        neg_tol_w = Signal(signed(cb + 6))
        m.d.comb += [tol_w.eq(tol * (F + 1) + max(0, F // 2 - cm) if four else tol),
                     neg_tol_w.eq(-tol_w)]
        # the sigma table as one constant, entry b at bits [b * sigma_bits, (b + 1) * sigma_bits)
        sigma_table = Const(sum(q << (b * sigma_bits) for b, q in enumerate(table)),
                            len(table) * sigma_bits)
        layout = cell_layout(p)
        at = {name: layout[name].offset for name in p.cell_fields}
        if fi:
            work_layout = data.StructLayout({"neg": 1, "mag": cb, "sns": scaled_bits,
                                             "blocked": 1})
            dpw = p.devices_per_weight
            index = {name: k for k, name in enumerate(p.cell_fields)}
            tol_below_max = Signal()
            m.d.comb += tol_below_max.eq(tol != cm)
        else:
            work_layout = data.StructLayout({"neg": 1, "mag": cb, "sns": scaled_bits})

        not_converged, bad, fails, cells = [], [], [], []
        for c in range(p.cols):
            # Per-column registers are reset-less: the devices' codes are non-volatile (a reset
            # does not change a PCM device) and the others are written before every use. A
            # register with a reset would make Verilator evaluate its next-state logic on
            # every change of the rst input as well (a second copy of the per-column logic).
            cell = Signal(layout, name=f"cell_{c}", reset_less=True)   # the devices' codes
            m.d.comb += self.codes[c].eq(cell)
            cells.append(cell)
            t = targets[c]
            # the pair's active device (neg: the minus one), its target and noise scale, and
            # the column's stuck devices, registered (read from the wide fault word at every
            # use, they made the Verilator model 40 % larger at 128 columns)
            work = Signal(work_layout, name=f"work_{c}", reset_less=True)
            if fi:
                # stuck devices: the masks every write of the column's cell goes through:
                # ``keep`` clears the stuck devices' codes, ``force`` sets the stuck-at-full
                # ones to code_max, so ``(v & keep) | force`` is what a write leaves
                stuck_c = [stuck_q[c * dpw + d] for d in range(dpw)]
                full_c = [full_q[c * dpw + d] for d in range(dpw)]
                keep = Signal(dpw * cb, name=f"keep_{c}", reset_less=True)
                force = Signal(dpw * cb, name=f"force_{c}", reset_less=True)

            # -- a pair's targets (RESET: MSP from t; REMAINDER: LSP from t - F (gp - gm)) ----
            msp_weight = cell.gp - cell.gm if F == 1 else F * (cell.gp - cell.gm)
            if four:
                source = gated(starting, f"src_{c}", signed(tw + 5),
                               Mux(state == ProgPhase.REMAINDER, t - msp_weight, t))
            else:
                source = t
            absolute = gated(starting, f"abs_{c}", tw + 4, Mux(source < 0, -source, source))
            if four and F > 1:
                mag_raw = Mux(state == ProgPhase.RESET, (absolute + F // 2) // F, absolute)
            else:
                mag_raw = absolute
            target = gated(starting, f"target_{c}", cb, Mux(mag_raw > cm, cm, mag_raw[:cb]))
            bad.append(gated(starting, f"bad_{c}", 1, absolute > p.weight_max))
            sigma = gated(starting, f"sigma_{c}", sigma_bits,
                          sigma_table.word_select(target[bin_shift:], sigma_bits))
            if fi:
                # the pair's inactive device (target 0) stuck at code_max > tol never converges
                neg_src = source < 0
                if four:
                    inactive_full = Mux(state == ProgPhase.REMAINDER,
                                        Mux(neg_src, full_c[index["lp"]], full_c[index["lm"]]),
                                        Mux(neg_src, full_c[index["gp"]], full_c[index["gm"]]))
                else:
                    inactive_full = Mux(neg_src, full_c[index["gp"]], full_c[index["gm"]])
                with m.If(starting):
                    m.d.sync += [work.eq(Cat(neg_src, target, sigma * noise_scale,
                                             inactive_full & tol_below_max)),
                                 keep.eq(~Cat(*(stuck_c[d].replicate(cb) for d in range(dpw)))),
                                 force.eq(Cat(*(full_c[d].replicate(cb) for d in range(dpw))))]
            else:
                with m.If(starting):
                    m.d.sync += work.eq(Cat(source < 0, target, sigma * noise_scale))

            # -- one iteration: verify, and pulse the active device unless converged ---------
            if fi:
                # the active device's code (the other one may hold a stuck code)
                if four:
                    g = gated(in_phase, f"g_{c}", cb,
                              Mux(lsp, Mux(work.neg, cell.lm, cell.lp),
                                  Mux(work.neg, cell.gm, cell.gp)))
                else:
                    g = gated(in_phase, f"g_{c}", cb, Mux(work.neg, cell.gm, cell.gp))
            # the other device of the pair is 0 (never pulsed), so the active code is an OR
            elif four:
                g = gated(in_phase, f"g_{c}", cb, Mux(lsp, cell.lp | cell.lm, cell.gp | cell.gm))
            else:
                g = gated(in_phase, f"g_{c}", cb, cell.gp | cell.gm)
            over = gated(in_phase, f"over_{c}", 1, work.mag > g + tol)       # err > tol
            under = gated(in_phase, f"under_{c}", 1, g > work.mag + tol)     # err < -tol
            nc = gated(in_phase, f"nc_{c}", 1, over | under)
            not_converged.append(nc | work.blocked if fi else nc)
            x = gated(nc, f"x0_{c}", 32,
                      (Mux(work.neg, keys[1], keys[0]) + columns[c])[:32])
            x = gated(nc, f"x2_{c}", 32, ((x ^ x.shift_right(16)) * gprog.MIX32_M1)[:32])
            x = gated(nc, f"x4_{c}", 32, ((x ^ x.shift_right(15)) * gprog.MIX32_M2)[:32])
            u = gated(nc, f"u_{c}", 32, x ^ x.shift_right(16))
            # step = round_half_up(err * gain / 256) = +-((|err| gain + 128 - [err < 0]) >> 8)
            a = Mux(under, g - work.mag, work.mag - g)[:cb]
            step = gated(nc, f"step_{c}", cb,
                         (a * gain + (1 << (gprog.GAIN_SHIFT - 1)) - under)
                         .shift_right(gprog.GAIN_SHIFT)[:cb])
            n = irwin_hall(u)
            noise_b = (n * work.sns + offset)[shift:shift + cb + 4]           # noise + B
            total = gated(nc, f"total_{c}", cb + 4,
                          (g + noise_b + Mux(under, -step, step))[:cb + 4])
            value = gated(nc, f"value_{c}", cb,
                          Mux(total < bias, 0, Mux(total > bias + cm, cm, total[:cb])))
            placed = Mux(work.neg, value.shift_left(at["gm"]), value.shift_left(at["gp"]))
            if four:
                lsp_placed = Mux(work.neg, value.shift_left(at["lm"]),
                                 value.shift_left(at["lp"]))
                placed = Mux(lsp, cell.as_value()[:2 * cb] | lsp_placed, placed)
            with m.If(nc):
                m.d.sync += cell.eq((placed & keep) | force if fi else placed)

            # -- the weight and its verdict ---------------------------------------------------
            w = msp_weight + (cell.lp - cell.lm) if four else msp_weight
            e = gated(evaluating, f"error_{c}", signed(tw + 2), w - t)
            fails.append(gated(evaluating, f"fail_{c}", 1, (e > tol_w) | (e < neg_tol_w)))

        # the reductions over the columns, each evaluated only in the state that reads it
        some_not_converged = gated(in_phase, "some_not_converged", 1, any_of(not_converged))
        all_converged = Signal()
        m.d.comb += all_converged.eq(~some_not_converged)
        some_bad = gated(state == ProgPhase.RESET, "some_bad", 1, any_of(bad))
        count = gated(evaluating, "count", range(p.cols + 1), _popcount(fails))

        # -- the sequence ------------------------------------------------------------------------
        m.d.comb += self.cmd.ready.eq(state == ProgPhase.IDLE)
        m.d.comb += self.result.valid.eq(state == ProgPhase.RESULT)
        with m.Switch(state):
            with m.Case(ProgPhase.IDLE):
                with m.If(self.cmd.valid):
                    m.d.sync += [
                        row.eq(self.cmd.payload.row), seed.eq(self.seed), tol.eq(self.tol),
                        gain.eq(self.pulse_gain), noise_scale.eq(self.noise_scale),
                        max_iter.eq(self.max_iter), self.bad_target.eq(0),
                        state.eq(ProgPhase.RESET),
                    ]

            with m.Case(ProgPhase.RESET):
                with m.If(some_bad):
                    m.d.sync += [self.bad_target.eq(1), state.eq(ProgPhase.IDLE)]
                with m.Else():
                    m.d.sync += [it.eq(0), state.eq(ProgPhase.MSP)]
                    if fi:
                        # the RESET: every device to 0, stuck devices to their stuck codes
                        m.d.sync += [cell.eq(Cat(*(full_q[c * dpw + d].replicate(cb)
                                                   for d in range(dpw))))
                                     for c, cell in enumerate(cells)]
                    else:
                        m.d.sync += [cell.eq(0) for cell in cells]

            with m.Case(ProgPhase.MSP, ProgPhase.LSP):
                with m.If(~all_converged):
                    m.d.sync += it.eq(it + 1)
                with m.If(all_converged | (it + 1 >= max_iter)):
                    with m.If((state == ProgPhase.MSP) & four):
                        m.d.sync += state.eq(ProgPhase.REMAINDER)
                    with m.Else():
                        m.d.sync += state.eq(ProgPhase.EVALUATE)

            if four:
                with m.Case(ProgPhase.REMAINDER):
                    m.d.sync += [it_msp.eq(it), it.eq(0), state.eq(ProgPhase.LSP)]

            with m.Case(ProgPhase.EVALUATE):
                if four:
                    m.d.sync += [self.iterations_msp.eq(it_msp), self.iterations_lsp.eq(it),
                                 self.iterations.eq(it_msp + it)]
                else:
                    m.d.sync += [self.iterations_msp.eq(it), self.iterations_lsp.eq(0),
                                 self.iterations.eq(it)]
                m.d.sync += [self.fail_count.eq(count), self.converged.eq(count == 0),
                             self.result.payload.row.eq(row), state.eq(ProgPhase.RESULT),
                             self.fail_mask.eq(Cat(*fails)),
                             self.result.payload.codes.eq(Cat(*cells))]

            with m.Case(ProgPhase.RESULT):
                with m.If(self.result.ready):
                    m.d.sync += state.eq(ProgPhase.IDLE)
        return m
