"""The chip's window-0 registers (docs/chip.md section 5; map in ``golden.chip.regs``).

Decoding, legality checks and read-back come from ``CHIP_MAP`` as in ``hdl.csr``. The switch
registers are staged; a ``ROUTE_CMD`` commit runs the routing check (``hdl.chip.route_check``)
and, when every rule holds, makes the checked switches the active routing and their reaches
the pairs' reaches.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.chip import regs as gregs
from golden.chip.params import ChipParams
from golden.chip.routing import ROUTE_CLASSES, Switch, switch_exists
from golden.regmap import OKAY, SLVERR, WORD_BITS
from ..csr import (AXI4LiteFront, AXI4LiteSignature, decode_map, read_word, window_index,
                   word_legal)
from .mesh import switch_bits
from .route_check import RouteCheck

__all__ = ["ChipRegisters", "CHIP_ERROR_BITS"]

CHIP_ERROR_BITS = len(gregs.ChipErrorBit)
_SWITCH_REGISTERS = ("NODE", "EDGE_W", "EDGE_S")


def _popcount(bits):
    values = [bits[i] for i in range(len(bits))]
    if not values:
        return Const(0)
    while len(values) > 1:
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


class ChipRegisters(wiring.Component):
    """Window 0 of the chip's bus.

    Members
    -------
    bus : In(AXI4LiteSignature(WINDOW_BITS))
        The window's accesses (the interconnect passes the offset).
    busy_pairs : In(pairs)
        Bit k: a pass of pair k is in flight (ILP k, or a tile or OLP of reach(k), busy).
    holding : In(pairs)
        Bit k: OLP k holds words.
    lanes_mode : In(tiles)
        Bit t: tile t's ``CTRL.input_source`` is LANES.
    events : In(CHIP_ERROR_BITS)
        One-cycle events of the chip (``BAD_DEST``, ``OLP_OVERRANGE``, ``BAD_ADDRESS`` of the
        interconnect).
    switches : Out(switch_bits(params))
        The active routing.
    pair_mode : Out(pairs)
        Bit k: ILP k's ``PAIR_CTRL.input_mode``.
    check_busy : Out(1)
        A commit's check runs.
    reach_tiles : Out(tiles).array(pairs), reach_olps : Out(pairs).array(pairs)
        reach(k) of the active routing.
    error : Out(CHIP_ERROR_BITS)
        ``CHIP_ERROR``.
    active : Out(1)
        A request is being carried out, a response waits, or a check runs.
    """

    def __init__(self, params: ChipParams):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        self.params = p = params
        self.map = gregs.CHIP_MAP.resolve(p)
        super().__init__({
            "bus": In(AXI4LiteSignature(gregs.WINDOW_BITS)),
            "busy_pairs": In(p.pairs),
            "holding": In(p.pairs),
            "lanes_mode": In(p.tiles),
            "events": In(CHIP_ERROR_BITS),
            "switches": Out(switch_bits(p)),
            "pair_mode": Out(p.pairs),
            "check_busy": Out(1),
            "reach_tiles": Out(p.tiles).array(p.pairs),
            "reach_olps": Out(p.pairs).array(p.pairs),
            "error": Out(CHIP_ERROR_BITS),
            "active": Out(1),
        })

    def _allowed(self, name):
        """Constant: per register of a switch window, the bits a write may set (the switches
        that exist there), concatenated in index order."""
        p, reg = self.params, self.map[name]
        width = len(reg.fields)
        value = 0
        for i in range(reg.count):
            if name == "NODE":
                q, g = divmod(i, p.groups)
                r, c = divmod(q, p.grid_cols)
                switches = [Switch(f.name, r, c, g) for f in reg.fields]
            elif name == "EDGE_W":
                r, g = divmod(i, p.groups)
                switches = [Switch(f.name, r, None, g) for f in reg.fields]
            else:
                c, g = divmod(i, p.groups)
                switches = [Switch(f.name, None, c, g) for f in reg.fields]
            for j, s in enumerate(switches):
                if switch_exists(p, s) is None:
                    value |= 1 << (i * width + j)
        return Const(value, reg.count * width)

    def elaborate(self, platform):
        m = Module()
        p, rmap = self.params, self.map
        m.submodules.check = check = RouteCheck(p)
        ErrorBit = gregs.ChipErrorBit

        # staged switches: the three windows back to back, as the flat switch vector
        windows = {name: rmap[name] for name in _SWITCH_REGISTERS}
        staged = {name: Signal(reg.count * len(reg.fields), name=f"staged_{name.lower()}")
                  for name, reg in windows.items()}
        allowed = {name: self._allowed(name) for name in _SWITCH_REGISTERS}
        active = Signal(switch_bits(p))
        m.d.comb += [check.switches.eq(Cat(staged["NODE"], staged["EDGE_W"], staged["EDGE_S"])),
                     check.lanes_mode.eq(self.lanes_mode), self.switches.eq(active),
                     self.check_busy.eq(check.busy)]
        pair_mode = Signal(p.pairs)
        m.d.comb += self.pair_mode.eq(pair_mode)
        reach_tiles = [Signal(p.tiles, name=f"reach_tiles_{k}") for k in range(p.pairs)]
        reach_olps = [Signal(p.pairs, name=f"reach_olps_{k}") for k in range(p.pairs)]
        for k in range(p.pairs):
            m.d.comb += [self.reach_tiles[k].eq(reach_tiles[k]),
                         self.reach_olps[k].eq(reach_olps[k])]
        verdict = Signal(2)
        last = Signal(len(ROUTE_CLASSES))
        error = Signal(CHIP_ERROR_BITS)
        events = Signal(CHIP_ERROR_BITS)
        clear = Signal(CHIP_ERROR_BITS)

        # the verdict of a check, on its last cycle
        broken = Cat(*(getattr(check, c) for c in ROUTE_CLASSES))
        with m.If(check.done):
            m.d.sync += [last.eq(broken),
                         verdict.eq(Mux(broken == 0, gregs.RouteVerdict.APPLIED,
                                        gregs.RouteVerdict.REFUSED))]
            with m.If(broken == 0):
                m.d.sync += active.eq(check.switched)
                for k in range(p.pairs):
                    m.d.sync += [reach_tiles[k].eq(check.reach_tiles[k]),
                                 reach_olps[k].eq(check.reach_olps[k])]
            for c in ROUTE_CLASSES:
                m.d.comb += events[gregs.ROUTE_ERROR[c]].eq(getattr(check, c))

        # -- writes ---------------------------------------------------------------------------
        front = AXI4LiteFront(m, self.bus)
        hits, _, mapped = decode_map(m, rmap, front.awaddr, "wr")
        wdata = front.wdata
        is_ro = Cat(*(hits[r.name] for r in rmap if r.access == "RO")) != 0
        legal = Cat(*(~hits[r.name] | word_legal(r, wdata) for r in rmap
                      if r.access == "RW")).all()
        with m.If(front.pending):
            m.d.sync += [front.bvalid.eq(1), front.bresp.eq(OKAY)]
            with m.If(~mapped | is_ro | (front.wstrb != 0xF)):
                m.d.sync += front.bresp.eq(SLVERR)
                m.d.comb += events[ErrorBit.BAD_ADDRESS].eq(1)
            with m.Elif(hits["CHIP_ERROR"]):
                m.d.comb += clear.eq(wdata[:CHIP_ERROR_BITS])
            with m.Elif(~legal):
                m.d.sync += front.bresp.eq(SLVERR)
                m.d.comb += events[ErrorBit.BAD_VALUE].eq(1)
            with m.Elif(hits["ROUTE_CMD"]):
                with m.If(wdata[0]):
                    with m.If(check.busy | (self.busy_pairs != 0)):
                        m.d.sync += front.bresp.eq(SLVERR)
                        m.d.comb += events[ErrorBit.BUSY_WRITE].eq(1)
                    with m.Else():
                        m.d.comb += check.start.eq(1)
            with m.Elif(hits["PAIR_CTRL"]):
                index = window_index(front.awaddr, rmap["PAIR_CTRL"])
                with m.If(self.busy_pairs.bit_select(index, 1)):
                    m.d.sync += front.bresp.eq(SLVERR)
                    m.d.comb += events[ErrorBit.BUSY_WRITE].eq(1)
                with m.Else():
                    m.d.sync += pair_mode.bit_select(index, 1).eq(wdata[0])
            for name, reg in windows.items():
                width = len(reg.fields)
                index = window_index(front.awaddr, reg)
                with m.Elif(hits[name]):
                    with m.If(check.busy):
                        m.d.sync += front.bresp.eq(SLVERR)
                        m.d.comb += events[ErrorBit.BUSY_WRITE].eq(1)
                    with m.Elif((wdata[:width] & ~allowed[name].word_select(index, width)) != 0):
                        m.d.sync += front.bresp.eq(SLVERR)
                        m.d.comb += events[ErrorBit.BAD_VALUE].eq(1)
                    with m.Else():
                        m.d.sync += staged[name].word_select(index, width).eq(wdata[:width])

        # -- reads ----------------------------------------------------------------------------
        rhits, _, rmapped = decode_map(m, rmap, front.araddr, "rd")
        with m.If(front.rpending):
            m.d.sync += [front.rvalid.eq(1), front.rresp.eq(Mux(rmapped, OKAY, SLVERR)),
                         front.rdata.eq(0)]
            with m.If(~rmapped):
                m.d.comb += events[ErrorBit.BAD_ADDRESS].eq(1)
            for r in rmap:
                rindex = window_index(front.araddr, r) if r.count is not None else None
                if r.const:
                    value = Const(r.reset_word(), WORD_BITS)
                elif r.name in windows:
                    value = staged[r.name].word_select(rindex, len(r.fields))
                elif r.name == "PAIR_CTRL":
                    value = pair_mode.bit_select(rindex, 1)
                elif r.name == "PAIR_STATUS":
                    k = rindex
                    value = read_word(r, {
                        "pair_busy": self.busy_pairs.bit_select(k, 1),
                        "olp_holding": self.holding.bit_select(k, 1),
                        "reach_tiles": _popcount(Cat(*reach_tiles).word_select(k, p.tiles)),
                        "reach_olps": Cat(*reach_olps).word_select(k, p.pairs)})
                elif r.name == "ROUTE_CMD":
                    value = Const(0, WORD_BITS)
                elif r.name == "ROUTE_STATUS":
                    value = read_word(r, {"check_busy": check.busy, "verdict": verdict,
                                          **{f"last_{c}": last[i]
                                             for i, c in enumerate(ROUTE_CLASSES)}})
                else:       # CHIP_ERROR
                    value = read_word(r, {f.name: error[f.lsb] for f in r.fields})
                with m.If(rhits[r.name]):
                    m.d.sync += front.rdata.eq(value)

        m.d.sync += error.eq((error & ~clear) | events | self.events)
        m.d.comb += [self.error.eq(error), self.active.eq(front.active | check.busy)]
        return m
