"""AXI4-Lite configuration registers (docs/spec.md section 8; map in golden/regs.py)."""
from amaranth.hdl import Array, Module, Signal, Mux, Cat, Const, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden import regs
from golden.calibration import CAL_CMD_WIDTH, CalOp
from golden.program import ProgramConfig
from golden.spec import ERROR_BITS, ErrorBit, TileParams
from .types import Activation, InputMode, InputSource, Phase

__all__ = ["AXI4LiteSignature", "TileRegisters"]


class AXI4LiteSignature(wiring.Signature):
    """AXI4-Lite with 32-bit data, from the manager's side (port names follow the AXI spec)."""
    def __init__(self, addr_width: int = regs.ADDR_BITS):
        self.addr_width = addr_width
        super().__init__({
            "awaddr": Out(addr_width), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_width), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
            "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
        })

    def __eq__(self, other):
        return isinstance(other, AXI4LiteSignature) and other.addr_width == self.addr_width


def _reg(name):
    return regs.REGISTERS[name].address


class TileRegisters(wiring.Component):
    """The register file: AXI4-Lite slave, legality checks, sticky error flags.

    ``awready``/``wready`` rise together when address and data are both valid and no write is
    in flight; the request is registered, carried out on the next cycle, and answered (``bvalid``)
    on the cycle after. A read is registered likewise and answered two cycles after its address
    handshake. Registering the requests keeps every address decoder and the per-column register
    writes and read multiplexers off the bus inputs' combinational paths.
    An illegal write changes nothing but ``ERROR`` and answers SLVERR.

    Members
    -------
    bus : In(AXI4LiteSignature())
        Host access.
    busy, phase : In
        Controller state (rejects configuration writes while busy; STATUS).
    mvm_done, latency : In
        Count of completed MVMs and the latency of the last one.
    events : In(ERROR_BITS)
        One-cycle error events, bit positions as ``ErrorBit``.
    prog_seed, prog_tol, prog_gain, prog_noise, prog_max_iter : Out
        Programming configuration (PROG_*; reset values of ``golden.program.ProgramConfig``).
    prog_busy, prog_converged, prog_bad_target, prog_iter_msp, prog_iter_lsp, prog_iter_total,
    prog_fail_count, prog_fail_mask : In
        Programmer status (PROG_STATUS, PROG_ITER, PROG_FAILS, PROG_FAIL_MASK).
    prog_row_done : In(1)
        One cycle per programmed row (its codes written); PROG_ROWS counts them.
    cal_busy, cal_reference_valid, cal_skipped, cal_clipped : In
        Calibrator status (CAL_STATUS, CAL_SKIPPED, CAL_CLIPPED).
    cal_finished : In(1)
        One cycle at the end of a calibration command (its read advances MVM_COUNT).
    cal_gain_we, cal_gain_col, cal_gain_value : In
        The calibrator's writes of GAIN registers.
    cal_input : Out(in_bits)
        CAL_INPUT.
    cal_start, cal_op, cal_scope : Out(1)
        One cycle: a legal CAL_CMD write is carried out, with its fields.
    input_mode, input_source, activation, ramp_shift, en_lo, en_hi, gain, offset : Out
        The configuration. These registers (``CTRL``, ``RAMP_SHIFT``, ``EN_WINDOW``, ``GAIN``,
        ``OFFSET``) live in domain ``cfg_domain``, which must tick whenever ``writing`` or
        ``cal_gain_we`` is high (the tile gives it a gated clock: the ramp's per-column
        conversion then reads no register of the free-running domain).
    writing : Out(1)
        A bus write is carried out this cycle (registered: the request was taken last cycle).
    noise_seed, noise_sigma : Out
        Read-noise configuration (NOISE_SEED, NOISE_SIGMA).
    mvm_count : Out(32)
        MVM_COUNT: MVMs completed since reset (keys the read noise).
    error : Out(ERROR_BITS)
        The ERROR register.
    """

    def __init__(self, params: TileParams, *, cfg_domain: str = "sync"):
        if not isinstance(cfg_domain, str) or not cfg_domain:
            raise TypeError(f"cfg_domain must be a domain name, not {cfg_domain!r}")
        self._cfg_domain = cfg_domain
        self.params = p = params
        super().__init__({
            "bus": In(AXI4LiteSignature()),
            "writing": Out(1),
            "busy": In(1),
            "phase": In(Phase),
            "mvm_done": In(1),
            "latency": In(32),
            "events": In(ERROR_BITS),
            "prog_busy": In(1),
            "prog_converged": In(1),
            "prog_bad_target": In(1),
            "prog_iter_msp": In(8),
            "prog_iter_lsp": In(8),
            "prog_iter_total": In(9),
            "prog_fail_count": In(range(p.cols + 1)),
            "prog_fail_mask": In(p.cols),
            "prog_row_done": In(1),
            "cal_busy": In(1),
            "cal_reference_valid": In(1),
            "cal_skipped": In(range(p.cols + 1)),
            "cal_clipped": In(range(p.cols + 1)),
            "cal_finished": In(1),
            "cal_gain_we": In(1),
            "cal_gain_col": In(max(1, (p.cols - 1).bit_length())),
            "cal_gain_value": In(p.gain_bits),
            "cal_input": Out(p.in_bits, init=p.cal_input_default),
            "cal_start": Out(1),
            "cal_op": Out(1),
            "cal_scope": Out(1),
            "input_mode": Out(InputMode),
            "input_source": Out(InputSource),
            "activation": Out(Activation),
            "ramp_shift": Out(range(p.ramp_shift_max + 1)),
            "en_lo": Out(signed(16)),
            "en_hi": Out(signed(16), init=p.out_max),
            # one signal per column, not one wide vector (see hdl.crossbar.Crossbar.charge)
            "gain": Out(unsigned(p.gain_bits)).array(p.cols),
            "offset": Out(signed(p.offset_bits)).array(p.cols),
            "noise_seed": Out(32),
            "noise_sigma": Out(regs.NOISE_SIGMA_BITS),
            "mvm_count": Out(32),
            "prog_seed": Out(32, init=ProgramConfig().seed),
            "prog_tol": Out(p.code_bits, init=ProgramConfig().tol),
            "prog_gain": Out(8, init=ProgramConfig().pulse_gain),
            "prog_noise": Out(8, init=ProgramConfig().noise_scale),
            "prog_max_iter": Out(8, init=ProgramConfig().max_iter),
            "error": Out(ERROR_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        bus = self.bus
        cfg = m.d[self._cfg_domain]
        ro = regs.ro_values(p)
        col_bits = max(1, (p.cols - 1).bit_length())

        mvm_count = self.mvm_count
        last_latency = Signal(32)
        prog_rows = Signal(16)
        prog_rows_converged = Signal(16)
        with m.If(self.prog_row_done):
            m.d.sync += [prog_rows.eq(prog_rows + 1),
                         prog_rows_converged.eq(prog_rows_converged + self.prog_converged)]
        with m.If(self.mvm_done):
            m.d.sync += [mvm_count.eq(mvm_count + 1), last_latency.eq(self.latency)]
        with m.If(self.cal_finished):
            m.d.sync += mvm_count.eq(mvm_count + 1)
        cal_cmd = Signal(CAL_CMD_WIDTH)

        # GAIN[c] and OFFSET[c]: one flat register each (column c at bits [c*w, (c+1)*w)), so
        # that a write is one part-select update rather than a comparison per column on every
        # cycle; the ports are constant slices of them
        gb, ofb = p.gain_bits, p.offset_bits
        gains = Signal(p.cols * gb, init=sum(p.gain_one << (c * gb) for c in range(p.cols)))
        offsets = Signal(p.cols * ofb)
        for c in range(p.cols):
            m.d.comb += [self.gain[c].eq(gains[c * gb:(c + 1) * gb]),
                         self.offset[c].eq(offsets[c * ofb:(c + 1) * ofb])]

        ctrl = Signal(regs.CTRL_WIDTH)
        m.d.comb += [
            self.input_mode.eq(ctrl[regs.CTRL_INPUT_MODE[0]]),
            self.input_source.eq(ctrl[regs.CTRL_INPUT_SOURCE[0]]),
            self.activation.eq(ctrl[regs.CTRL_ACTIVATION[0]:][:regs.CTRL_ACTIVATION[1]]),
        ]

        def decode(addr):
            """Signals: one per fixed register, plus array hits and the column index."""
            hits = {name: Signal(name=f"{prefix(addr)}_{name.lower()}")
                    for name in regs.REGISTERS}
            for name, sig in hits.items():
                m.d.comb += sig.eq(addr == _reg(name))
            gain_hit = Signal(name=f"{prefix(addr)}_gain")
            offset_hit = Signal(name=f"{prefix(addr)}_offset")
            mask_hit = Signal(name=f"{prefix(addr)}_fail_mask")
            col = Signal(range(1 << 14), name=f"{prefix(addr)}_col")
            m.d.comb += [
                col.eq(addr[2:]),
                gain_hit.eq((addr[:2] == 0) & (addr >= regs.GAIN_BASE)
                            & (addr < regs.GAIN_BASE + 4 * p.cols)),
                offset_hit.eq((addr[:2] == 0) & (addr >= regs.OFFSET_BASE)
                              & (addr < regs.OFFSET_BASE + 4 * p.cols)),
                mask_hit.eq((addr[:2] == 0) & (addr >= regs.FAIL_MASK_BASE)
                            & (addr < regs.fail_mask_address(regs.fail_mask_words(p)))),
            ]
            mapped = Signal(name=f"{prefix(addr)}_mapped")
            m.d.comb += mapped.eq(Cat(*hits.values(), gain_hit, offset_hit, mask_hit) != 0)
            return hits, gain_hit, offset_hit, mask_hit, col[:col_bits], mapped

        def prefix(addr):
            return "wr" if addr.name == "awaddr_q" else "rd"

        # -- write channel --------------------------------------------------------------------
        events = Signal(ERROR_BITS)
        bvalid, bresp = Signal(), Signal(2)
        m.d.comb += [bus.bvalid.eq(bvalid), bus.bresp.eq(bresp)]
        with m.If(bvalid & bus.bready):
            m.d.sync += bvalid.eq(0)
        take = Signal()
        pending = Signal()
        awaddr = Signal.like(bus.awaddr, name="awaddr_q")
        wdata = Signal.like(bus.wdata, name="wdata_q")
        wstrb = Signal.like(bus.wstrb, name="wstrb_q")
        m.d.comb += [
            take.eq(bus.awvalid & bus.wvalid & ~bvalid & ~pending),
            bus.awready.eq(take), bus.wready.eq(take),
        ]
        m.d.sync += pending.eq(take)
        m.d.comb += self.writing.eq(pending)
        with m.If(take):
            m.d.sync += [awaddr.eq(bus.awaddr), wdata.eq(bus.wdata), wstrb.eq(bus.wstrb)]
        hits, gain_hit, offset_hit, mask_hit, col, mapped = decode(awaddr)
        is_ro = (Cat(*(hits[r.name] for r in regs.REGISTERS.values() if r.access == "RO")) != 0) \
            | mask_hit
        cfg_hit = (hits["CTRL"] | hits["RAMP_SHIFT"] | hits["EN_WINDOW"] | hits["NOISE_SEED"]
                   | hits["NOISE_SIGMA"] | hits["CAL_INPUT"] | hits["CAL_CMD"] | gain_hit
                   | offset_hit)

        win_lo, win_hi = wdata[:16].as_signed(), wdata[16:].as_signed()
        offset_value = wdata.as_signed()
        legal = Signal()
        with m.If(hits["CTRL"]):
            act = wdata[regs.CTRL_ACTIVATION[0]:][:regs.CTRL_ACTIVATION[1]]
            m.d.comb += legal.eq((wdata[regs.CTRL_WIDTH:] == 0) & (act <= max(a.value for a in Activation)))
        with m.Elif(hits["RAMP_SHIFT"]):
            m.d.comb += legal.eq(wdata <= p.ramp_shift_max)
        with m.Elif(hits["EN_WINDOW"]):
            m.d.comb += legal.eq((win_lo <= win_hi) & (win_hi <= win_lo + p.out_max))
        with m.Elif(hits["PROG_TOL"]):
            m.d.comb += legal.eq(wdata <= p.code_max)
        with m.Elif(hits["PROG_GAIN"] | hits["PROG_MAX_ITER"]):
            m.d.comb += legal.eq((wdata >= 1) & (wdata <= 255))
        with m.Elif(hits["PROG_NOISE"]):
            m.d.comb += legal.eq(wdata <= 255)
        with m.Elif(hits["NOISE_SIGMA"]):
            m.d.comb += legal.eq(wdata[regs.NOISE_SIGMA_BITS:] == 0)
        with m.Elif(hits["CAL_INPUT"]):
            m.d.comb += legal.eq(wdata[p.in_bits:] == 0)
        with m.Elif(hits["CAL_CMD"]):
            m.d.comb += legal.eq((wdata[CAL_CMD_WIDTH:] == 0)
                                 & ((wdata[0] == CalOp.REFERENCE) | self.cal_reference_valid))
        with m.Elif(gain_hit):
            m.d.comb += legal.eq(wdata[p.gain_bits:] == 0)
        with m.Elif(offset_hit):
            m.d.comb += legal.eq((offset_value >= -(1 << p.out_bits))
                                 & (offset_value < (1 << p.out_bits)))
        with m.Else():
            m.d.comb += legal.eq(1)

        error = Signal(ERROR_BITS)
        clear = Signal(ERROR_BITS)
        with m.If(pending):
            m.d.sync += [bvalid.eq(1), bresp.eq(regs.OKAY)]
            with m.If(~mapped | is_ro | (wstrb != 0xF)):
                m.d.sync += bresp.eq(regs.SLVERR)
                m.d.comb += events[ErrorBit.BAD_ADDRESS].eq(1)
            with m.Elif(hits["ERROR"]):
                m.d.comb += clear.eq(wdata[:ERROR_BITS])
            with m.Elif(cfg_hit & self.busy):
                m.d.sync += bresp.eq(regs.SLVERR)
                m.d.comb += events[ErrorBit.BUSY_WRITE].eq(1)
            with m.Elif(~legal):
                m.d.sync += bresp.eq(regs.SLVERR)
                m.d.comb += events[ErrorBit.BAD_VALUE].eq(1)
            with m.Else():
                with m.If(hits["CTRL"]):
                    cfg += ctrl.eq(wdata)
                with m.If(hits["RAMP_SHIFT"]):
                    cfg += self.ramp_shift.eq(wdata)
                with m.If(hits["EN_WINDOW"]):
                    cfg += [self.en_lo.eq(win_lo), self.en_hi.eq(win_hi)]
                with m.If(hits["NOISE_SEED"]):
                    m.d.sync += self.noise_seed.eq(wdata)
                with m.If(hits["NOISE_SIGMA"]):
                    m.d.sync += self.noise_sigma.eq(wdata)
                with m.If(hits["CAL_INPUT"]):
                    m.d.sync += self.cal_input.eq(wdata)
                with m.If(hits["CAL_CMD"]):
                    m.d.sync += cal_cmd.eq(wdata)
                    m.d.comb += [self.cal_start.eq(1), self.cal_op.eq(wdata[0]),
                                 self.cal_scope.eq(wdata[1])]
                for reg, port in (("PROG_SEED", self.prog_seed), ("PROG_TOL", self.prog_tol),
                                  ("PROG_GAIN", self.prog_gain), ("PROG_NOISE", self.prog_noise),
                                  ("PROG_MAX_ITER", self.prog_max_iter)):
                    with m.If(hits[reg]):
                        m.d.sync += port.eq(wdata)
                with m.If(gain_hit):
                    cfg += gains.word_select(col, gb).eq(wdata)
                with m.If(offset_hit):
                    cfg += offsets.word_select(col, ofb).eq(wdata)
        # the calibrator's GAIN writes (the bus cannot write GAIN while it runs: busy)
        with m.If(self.cal_gain_we):
            cfg += gains.word_select(self.cal_gain_col, gb).eq(self.cal_gain_value)

        # -- read channel ---------------------------------------------------------------------
        rvalid, rdata, rresp = Signal(), Signal(32), Signal(2)
        rpending = Signal()
        araddr = Signal.like(bus.araddr, name="araddr_q")
        m.d.comb += [bus.rvalid.eq(rvalid), bus.rdata.eq(rdata), bus.rresp.eq(rresp),
                     bus.arready.eq(~rvalid & ~rpending)]
        with m.If(rvalid & bus.rready):
            m.d.sync += rvalid.eq(0)
        m.d.sync += rpending.eq(bus.arvalid & bus.arready)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += araddr.eq(bus.araddr)
        rhits, rgain_hit, roffset_hit, rmask_hit, rcol, rmapped = decode(araddr)
        with m.If(rpending):
            m.d.sync += [rvalid.eq(1), rresp.eq(Mux(rmapped, regs.OKAY, regs.SLVERR)),
                         rdata.eq(0)]
            with m.If(~rmapped):
                m.d.comb += events[ErrorBit.BAD_ADDRESS].eq(1)
            for name, value in ro.items():
                with m.If(rhits[name]):
                    m.d.sync += rdata.eq(value)
            values = {
                "CTRL": ctrl,
                "RAMP_SHIFT": self.ramp_shift,
                "EN_WINDOW": Cat(self.en_lo, self.en_hi),
                "STATUS": Cat(self.busy, self.phase),
                "ERROR": error,
                "MVM_COUNT": mvm_count,
                "LAST_LATENCY": last_latency,
                "NOISE_SEED": self.noise_seed,
                "NOISE_SIGMA": self.noise_sigma,
                "PROG_SEED": self.prog_seed,
                "PROG_TOL": self.prog_tol,
                "PROG_GAIN": self.prog_gain,
                "PROG_NOISE": self.prog_noise,
                "PROG_MAX_ITER": self.prog_max_iter,
                "PROG_STATUS": Cat(self.prog_busy, self.prog_converged, self.prog_bad_target),
                "PROG_ITER": Cat(self.prog_iter_msp, self.prog_iter_lsp, self.prog_iter_total),
                "PROG_FAILS": self.prog_fail_count,
                "PROG_ROWS": Cat(prog_rows, prog_rows_converged),
                "CAL_INPUT": self.cal_input,
                "CAL_CMD": cal_cmd,
                "CAL_STATUS": Cat(self.cal_busy, self.cal_reference_valid),
                "CAL_SKIPPED": self.cal_skipped,
                "CAL_CLIPPED": self.cal_clipped,
            }
            for name, value in values.items():
                with m.If(rhits[name]):
                    m.d.sync += rdata.eq(value)
            with m.If(rgain_hit):
                m.d.sync += rdata.eq(gains.word_select(rcol, gb))
            with m.If(roffset_hit):
                m.d.sync += rdata.eq(offsets.word_select(rcol, ofb).as_signed())
            with m.If(rmask_hit):
                words = [self.prog_fail_mask[32 * k:32 * k + 32]
                         for k in range(regs.fail_mask_words(p))]
                m.d.sync += rdata.eq(Array(words)[rcol] if len(words) > 1 else words[0])

        m.d.sync += error.eq((error & ~clear) | events | self.events)
        m.d.comb += self.error.eq(error)
        return m
