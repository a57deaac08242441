"""AXI4-Lite configuration registers (docs/spec.md section 8).

Decoding, legality checks and read-back are built from the register map
(``golden.regs.TILE_MAP``): a field's name is the name of the signal that holds it here.
"""
from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden import regs
from golden.regmap import OKAY, SLVERR, WORD_BITS
from golden.spec import ERROR_BITS, ErrorBit, TileParams
from .types import Activation, InputMode, InputSource, Phase

__all__ = ["AXI4LiteSignature", "AXI4LiteFront", "TileRegisters", "decode_map", "window_index",
           "field_bits",
           "field_legal", "word_legal", "read_word"]


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


class AXI4LiteFront:
    """The registered AXI4-Lite slave front end of every register file here (docs/spec.md
    section 8, bus timing).

    ``awready``/``wready`` rise together when address and data are both valid and no write is
    in flight; the request is registered and carried out on the next cycle (``pending``), when
    the owner sets ``bvalid`` and ``bresp`` (answered on the cycle after). A read address is
    registered likewise: on the ``rpending`` cycle the owner sets ``rvalid``, ``rdata`` and
    ``rresp``. ``active``: a request is being carried out or a response waits.
    """

    def __init__(self, m, bus):
        self.bvalid, self.bresp = Signal(), Signal(2)
        self.pending = Signal()
        self.awaddr = Signal.like(bus.awaddr, name="awaddr_q")
        self.wdata = Signal.like(bus.wdata, name="wdata_q")
        self.wstrb = Signal.like(bus.wstrb, name="wstrb_q")
        take = Signal()
        m.d.comb += [
            bus.bvalid.eq(self.bvalid), bus.bresp.eq(self.bresp),
            take.eq(bus.awvalid & bus.wvalid & ~self.bvalid & ~self.pending),
            bus.awready.eq(take), bus.wready.eq(take),
        ]
        with m.If(self.bvalid & bus.bready):
            m.d.sync += self.bvalid.eq(0)
        m.d.sync += self.pending.eq(take)
        with m.If(take):
            m.d.sync += [self.awaddr.eq(bus.awaddr), self.wdata.eq(bus.wdata),
                         self.wstrb.eq(bus.wstrb)]

        self.rvalid, self.rdata, self.rresp = Signal(), Signal(32), Signal(2)
        self.rpending = Signal()
        self.araddr = Signal.like(bus.araddr, name="araddr_q")
        m.d.comb += [bus.rvalid.eq(self.rvalid), bus.rdata.eq(self.rdata),
                     bus.rresp.eq(self.rresp), bus.arready.eq(~self.rvalid & ~self.rpending)]
        with m.If(self.rvalid & bus.rready):
            m.d.sync += self.rvalid.eq(0)
        m.d.sync += self.rpending.eq(bus.arvalid & bus.arready)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += self.araddr.eq(bus.araddr)
        self.active = self.pending | self.rpending | self.bvalid | self.rvalid


def window_index(addr, register):
    """Element index of a window register at byte address ``addr`` (valid when it hits)."""
    bits = max(1, (register.count - 1).bit_length())
    return (addr - register.offset)[2:2 + bits]


def decode_map(m, rmap, addr, prefix):
    """Hit signals of every register and window of a resolved map at ``addr``, the window
    index (the word address) and ``mapped``."""
    hits = {}
    for r in rmap:
        hit = Signal(name=f"{prefix}_{r.name.lower()}")
        if r.count is None:
            m.d.comb += hit.eq(addr == r.offset)
        else:
            m.d.comb += hit.eq((addr[:2] == 0) & (addr >= r.offset)
                               & (addr < r.offset + 4 * r.count))
        hits[r.name] = hit
    index = Signal(range(1 << (len(addr) - 2)), name=f"{prefix}_index")
    mapped = Signal(name=f"{prefix}_mapped")
    m.d.comb += [index.eq(addr[2:]), mapped.eq(_any(hits.values()))]
    return hits, index, mapped


#: Registers the ramp reads: they live in the gated ``cfg`` domain (docs/spec.md section 9)
CFG_DOMAIN_REGISTERS = ("CTRL", "RAMP_SHIFT", "EN_WINDOW", "GAIN", "OFFSET")

#: Stored fields that are outputs of the register file (the others: EN_WINDOW.en_span, which
#: reaches the ramp as ``en_hi``, and CAL_CMD, whose write is the ``cal_start`` pulse), where
#: the map has them (``fault_row`` only with fault injection)
CONFIG_OUTPUTS = ("input_mode", "input_source", "activation", "ramp_shift", "en_lo",
                  "noise_seed", "noise_sigma", "prog_seed", "prog_tol", "prog_gain",
                  "prog_noise", "prog_max_iter", "cal_input", "fault_row")

#: Fields whose signal has an enum shape
FIELD_ENUMS = {"input_mode": InputMode, "input_source": InputSource, "activation": Activation,
               "phase": Phase}


def _all(values):
    out = Const(1)
    for v in values:
        out = out & v
    return out


def _any(values):
    out = Const(0)
    for v in values:
        out = out | v
    return out


def field_bits(field, word):
    """A field's bits in a bus word (signed fields as signed values)."""
    bits = word[field.lsb:field.lsb + field.width]
    return bits.as_signed() if field.signed else bits


def field_legal(field, word):
    """1 when the field's value in ``word`` is legal (one of its enum's values, or in
    [lo, hi]); comparisons a field's width makes true anyway are left out."""
    v = field_bits(field, word)
    if field.enum is not None:
        return _any(v == int(e) for e in field.enum)
    lo_w = -(1 << (field.width - 1)) if field.signed else 0
    hi_w = (1 << (field.width - 1 if field.signed else field.width)) - 1
    return _all(([v >= field.lo] if field.lo > lo_w else [])
                + ([v <= field.hi] if field.hi < hi_w else []))


def word_legal(register, word):
    """1 when every reserved bit of ``word`` is 0 and every field legal (rules aside)."""
    checks = [field_legal(f, word) for f in register.fields]
    if register.reserved_mask:
        checks.append((word & register.reserved_mask) == 0)
    return _all(checks)


def read_word(register, values):
    """The 32-bit read value of a register from its fields' signals (``values[name]``);
    signed values are sign-extended to their field's width."""
    parts, pos = [], 0
    for f in sorted(register.fields, key=lambda f: f.lsb):
        if f.lsb > pos:
            parts.append(Const(0, f.lsb - pos))
        parts.append(_extend(Value.cast(values[f.name]), f.width, f.signed))
        pos = f.lsb + f.width
    if pos < WORD_BITS:
        parts.append(Const(0, WORD_BITS - pos))
    return Cat(*parts)


def _extend(v, width, is_signed):
    if len(v) >= width:
        return v[:width]
    if is_signed:
        return Cat(v, v[-1].replicate(width - len(v)))
    return Cat(v, Const(0, width - len(v)))


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
        Programming configuration (PROG_*).
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
    cal_dead_count, cal_dead_mask : In
        Calibrator's dead-column report (CAL_DEAD, CAL_DEAD_MASK).
    fault_row, fault_we, fault_word, fault_data, fault_row_word, dead_lanes, dead_cols
        Only with ``params.fault_injection`` (their registers exist only then).
    fault_row : Out
        FAULT_ROW: the row of the fault memory FAULT_MASK / FAULT_LEVEL address.
    fault_we, fault_word, fault_data : Out
        A write of one 32-bit word of row ``fault_row`` of the fault memory (the tile's,
        ``hdl.faults``): word ``fault_word`` = i of FAULT_MASK[i], ``fault_words`` + i of
        FAULT_LEVEL[i].
    fault_row_word : In(2 * fault_words * 32)
        Row ``fault_row`` of the fault memory (FAULT_MASK words, then FAULT_LEVEL words), for
        read-back.
    dead_lanes, dead_cols : Out
        FAULT_LANES and FAULT_COLS, one bit per lane (column).
    cal_start, cal_op, cal_scope : Out(1)
        One cycle: a legal CAL_CMD write is carried out, with its fields.
    input_mode, input_source, activation, ramp_shift, en_lo, en_hi, gain, offset : Out
        ``en_hi`` is ``EN_WINDOW``'s lo + span.
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
    active : Out(1)
        A request is being carried out or a response waits (with the bus idle, every other
        register here changes only on events of the other blocks).
    """

    def __init__(self, params: TileParams, *, cfg_domain: str = "sync"):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        if not isinstance(cfg_domain, str) or not cfg_domain:
            raise TypeError(f"cfg_domain must be a domain name, not {cfg_domain!r}")
        self._cfg_domain = cfg_domain
        self.params = p = params
        self.map = rmap = regs.TILE_MAP.resolve(p)
        self.fault_words = regs.fault_device_words(p)
        col_bits = max(1, (p.cols - 1).bit_length())
        ports = {
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
            "cal_gain_col": In(col_bits),
            "cal_gain_value": In(p.gain_bits),
            "cal_start": Out(1),
            "cal_op": Out(1),
            "cal_scope": Out(1),
            "cal_dead_count": In(range(p.cols + 1)),
            "cal_dead_mask": In(p.cols),
            **({"fault_we": Out(1),
                "fault_word": Out(range(2 * self.fault_words)),
                "fault_data": Out(32),
                "fault_row_word": In(2 * self.fault_words * 32),
                "dead_lanes": Out(p.rows),
                "dead_cols": Out(p.cols)} if p.fault_injection else {}),
            "en_hi": Out(signed(p.en_hi_bits), init=p.out_max),
            # one signal per column, not one wide vector (see hdl.crossbar.Crossbar.charge)
            "gain": Out(unsigned(p.gain_bits)).array(p.cols),
            "offset": Out(signed(p.offset_bits)).array(p.cols),
            "mvm_count": Out(32),
            "error": Out(ERROR_BITS),
            "active": Out(1),
        }
        # the configuration outputs: one per stored field, shaped and reset as the map says
        stored = {f.name for r, f in self.map.fields() if not r.const}
        for name in CONFIG_OUTPUTS:
            if name in stored:
                ports[name] = Out(self._field_shape(name), init=self._field(name).reset)
        super().__init__(ports)

    def _field(self, name):
        for r, f in self.map.fields():
            if f.name == name and not r.const:
                return f
        raise KeyError(name)

    def _field_shape(self, name):
        """Shape of a stored field: its enum, or the narrowest holding its legal values."""
        if name in FIELD_ENUMS:
            return FIELD_ENUMS[name]
        width, is_signed = self._field(name).storage
        return signed(width) if is_signed else unsigned(width)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        rmap = self.map
        bus = self.bus
        cfg = m.d[self._cfg_domain]
        col_bits = max(1, (p.cols - 1).bit_length())
        scalars = [r for r in rmap if r.count is None]
        windows = {r.name: r for r in rmap if r.count is not None}
        fi = p.fault_injection
        assert set(windows) == {"GAIN", "OFFSET", "PROG_FAIL_MASK", "CAL_DEAD_MASK"} | (
            {"FAULT_MASK", "FAULT_LEVEL", "FAULT_LANES", "FAULT_COLS"} if fi else set()), \
            set(windows)

        # -- storage: every field of a single RW register, in its domain ---------------------
        store = {}
        for r in scalars:
            if r.access != "RW":
                continue
            for f in r.fields:
                if f.name in CONFIG_OUTPUTS:
                    store[f.name] = getattr(self, f.name)
                else:
                    store[f.name] = Signal(self._field_shape(f.name), init=f.reset,
                                           name=f.name)
        m.d.comb += self.en_hi.eq(store["en_lo"] + store["en_span"])

        # values of the read-only fields
        last_latency = Signal(32)
        prog_rows = Signal(16)
        prog_rows_converged = Signal(16)
        error = Signal(ERROR_BITS)
        status = {
            "busy": self.busy, "phase": self.phase, "mvm_count": self.mvm_count,
            "last_latency": last_latency, "prog_rows": prog_rows,
            "prog_rows_converged": prog_rows_converged,
            **{f.name: error[f.lsb] for f in regs.ERROR_FIELDS},
        }
        for name in ("prog_busy", "prog_converged", "prog_bad_target", "prog_iter_msp",
                     "prog_iter_lsp", "prog_iter_total", "prog_fail_count", "cal_busy",
                     "cal_reference_valid", "cal_skipped", "cal_clipped", "cal_dead_count"):
            status[name] = getattr(self, name)

        with m.If(self.prog_row_done):
            m.d.sync += [prog_rows.eq(prog_rows + 1),
                         prog_rows_converged.eq(prog_rows_converged + self.prog_converged)]
        with m.If(self.mvm_done):
            m.d.sync += [self.mvm_count.eq(self.mvm_count + 1), last_latency.eq(self.latency)]
        with m.If(self.cal_finished):
            m.d.sync += self.mvm_count.eq(self.mvm_count + 1)

        # GAIN[c] and OFFSET[c]: one flat register each (column c at bits [c*w, (c+1)*w)), so
        # that a write is one part-select update rather than a comparison per column on every
        # cycle; the ports are constant slices of them
        gb, ofb = p.gain_bits, p.offset_bits
        gain_reset = windows["GAIN"].fields[0].reset
        gains = Signal(p.cols * gb, init=sum(gain_reset << (c * gb) for c in range(p.cols)))
        offsets = Signal(p.cols * ofb)
        for c in range(p.cols):
            m.d.comb += [self.gain[c].eq(gains[c * gb:(c + 1) * gb]),
                         self.offset[c].eq(offsets[c * ofb:(c + 1) * ofb])]
        if fi:
            # FAULT_LANES and FAULT_COLS: flat registers of whole words (bits beyond the lanes
            # and columns are stored and read back, and act on nothing)
            lanes_words = Signal(32 * windows["FAULT_LANES"].count)
            cols_words = Signal(32 * windows["FAULT_COLS"].count)
            m.d.comb += [self.dead_lanes.eq(lanes_words[:p.rows]),
                         self.dead_cols.eq(cols_words[:p.cols])]

        def decode(addr, prefix):
            return decode_map(m, rmap, addr, prefix)

        # -- write channel --------------------------------------------------------------------
        events = Signal(ERROR_BITS)
        front = AXI4LiteFront(m, bus)
        pending, awaddr, wdata, wstrb = front.pending, front.awaddr, front.wdata, front.wstrb
        bvalid, bresp = front.bvalid, front.bresp
        m.d.comb += self.writing.eq(pending)
        hits, index, mapped = decode(awaddr, "wr")
        col = index[:col_bits]
        is_ro = _any(hits[r.name] for r in rmap if r.access == "RO")
        is_config = _any(hits[r.name] for r in rmap if r.config)
        rules = {"reference_held": (wdata[0] == int(regs.CalOp.REFERENCE))
                 | self.cal_reference_valid}
        legal = Signal()
        with m.Switch(Cat(*(hits[r.name] for r in rmap if r.access == "RW"))):
            for i, r in enumerate(r for r in rmap if r.access == "RW"):
                with m.Case("-" * (sum(q.access == "RW" for q in rmap) - 1 - i) + "1"
                            + "-" * i):
                    ok = word_legal(r, wdata)
                    if r.rule is not None:
                        ok = ok & rules[r.rule]
                    m.d.comb += legal.eq(ok)

        clear = Signal(ERROR_BITS)
        with m.If(pending):
            m.d.sync += [bvalid.eq(1), bresp.eq(OKAY)]
            with m.If(~mapped | is_ro | (wstrb != 0xF)):
                m.d.sync += bresp.eq(SLVERR)
                m.d.comb += events[ErrorBit.BAD_ADDRESS].eq(1)
            with m.Elif(hits["ERROR"]):
                m.d.comb += clear.eq(wdata[:ERROR_BITS])
            with m.Elif(is_config & self.busy):
                m.d.sync += bresp.eq(SLVERR)
                m.d.comb += events[ErrorBit.BUSY_WRITE].eq(1)
            with m.Elif(~legal):
                m.d.sync += bresp.eq(SLVERR)
                m.d.comb += events[ErrorBit.BAD_VALUE].eq(1)
            with m.Else():
                for r in scalars:
                    if r.access != "RW":
                        continue
                    domain = cfg if r.name in CFG_DOMAIN_REGISTERS else m.d.sync
                    with m.If(hits[r.name]):
                        domain += [store[f.name].eq(field_bits(f, wdata)) for f in r.fields]
                with m.If(hits["CAL_CMD"]):
                    cmd = rmap["CAL_CMD"]
                    m.d.comb += [self.cal_start.eq(1),
                                 self.cal_op.eq(field_bits(cmd.field("cal_op"), wdata)),
                                 self.cal_scope.eq(field_bits(cmd.field("cal_scope"), wdata))]
                with m.If(hits["GAIN"]):
                    cfg += gains.word_select(col, gb).eq(wdata)
                with m.If(hits["OFFSET"]):
                    cfg += offsets.word_select(col, ofb).eq(wdata)
                if fi:
                    with m.If(hits["FAULT_LANES"]):
                        m.d.sync += lanes_words.word_select(
                            window_index(awaddr, windows["FAULT_LANES"]), 32).eq(wdata)
                    with m.If(hits["FAULT_COLS"]):
                        m.d.sync += cols_words.word_select(
                            window_index(awaddr, windows["FAULT_COLS"]), 32).eq(wdata)
                    with m.If(hits["FAULT_MASK"]):
                        m.d.comb += [self.fault_we.eq(1), self.fault_data.eq(wdata),
                                     self.fault_word.eq(
                                         window_index(awaddr, windows["FAULT_MASK"]))]
                    with m.If(hits["FAULT_LEVEL"]):
                        m.d.comb += [self.fault_we.eq(1), self.fault_data.eq(wdata),
                                     self.fault_word.eq(
                                         self.fault_words
                                         + window_index(awaddr, windows["FAULT_LEVEL"]))]
        # the calibrator's GAIN writes (the bus cannot write GAIN while it runs: busy)
        with m.If(self.cal_gain_we):
            cfg += gains.word_select(self.cal_gain_col, gb).eq(self.cal_gain_value)

        # -- read channel ---------------------------------------------------------------------
        rvalid, rdata, rresp = front.rvalid, front.rdata, front.rresp
        rpending, araddr = front.rpending, front.araddr
        rhits, rindex, rmapped = decode(araddr, "rd")
        rcol = rindex[:col_bits]
        with m.If(rpending):
            m.d.sync += [rvalid.eq(1), rresp.eq(Mux(rmapped, OKAY, SLVERR)), rdata.eq(0)]
            with m.If(~rmapped):
                m.d.comb += events[ErrorBit.BAD_ADDRESS].eq(1)
            for r in scalars:
                if r.const:
                    value = Const(r.reset_word(), WORD_BITS)
                else:
                    value = read_word(r, store if r.access == "RW" else status)
                with m.If(rhits[r.name]):
                    m.d.sync += rdata.eq(value)
            with m.If(rhits["GAIN"]):
                m.d.sync += rdata.eq(read_word(windows["GAIN"],
                                               {"gain": gains.word_select(rcol, gb)}))
            with m.If(rhits["OFFSET"]):
                m.d.sync += rdata.eq(read_word(windows["OFFSET"],
                                               {"offset": offsets.word_select(rcol, ofb)}))
            with m.If(rhits["PROG_FAIL_MASK"]):
                words = [self.prog_fail_mask[32 * k:32 * k + 32]
                         for k in range(windows["PROG_FAIL_MASK"].count)]
                m.d.sync += rdata.eq(Array(words)[rcol] if len(words) > 1 else words[0])
            with m.If(rhits["CAL_DEAD_MASK"]):
                words = [self.cal_dead_mask[32 * k:32 * k + 32]
                         for k in range(windows["CAL_DEAD_MASK"].count)]
                m.d.sync += rdata.eq(
                    Array(words)[window_index(araddr, windows["CAL_DEAD_MASK"])]
                    if len(words) > 1 else words[0])
            fault_windows = (("FAULT_LANES", lanes_words, 0), ("FAULT_COLS", cols_words, 0),
                             ("FAULT_MASK", self.fault_row_word, 0),
                             ("FAULT_LEVEL", self.fault_row_word, self.fault_words)) if fi else ()
            for name, flat, base in fault_windows:
                with m.If(rhits[name]):
                    m.d.sync += rdata.eq(flat.word_select(
                        base + window_index(araddr, windows[name]), 32))

        m.d.sync += error.eq((error & ~clear) | events | self.events)
        m.d.comb += [self.error.eq(error),
                     self.active.eq(front.active)]
        return m
