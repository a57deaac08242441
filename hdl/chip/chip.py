"""The chip top: tiles on the mesh, ILP/OLP pairs and the AXI host interface (docs/chip.md).

Every tile position is a slot (``hdl.chip.slot.TileSlot``): a ``hdl.tile.Tile`` with
``clock_gate=True`` (an idle tile stops its own clock) behind a row buffer on the programming
bus. The tile's ``x`` and ``y`` streams are tied off in the slot (vectors enter and leave
through the pairs); its registers are window t + 1 of the chip's AXI4-Lite bus, its row writes
and closed-loop targets come from the programming stream over the bus. All of the chip's own
registers run in domain ``chip``, one combinational step from ``clk`` like the tiles' domains,
so that every register of the design sees the same edge at the same time in amaranth.sim too
(``hdl.clocking``). In the emitted chip (``tile_module``) each position's instance gets a clock
held high while the slot is not ``awake`` (``hdl.clocking.add_held_clock``), so that a
simulator does not evaluate an idle position's model at all.
"""
from amaranth.hdl import Cat, DomainRenamer, Module, Mux
from amaranth.hdl import Instance, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.chip import regs as gregs
from golden.chip.params import ChipParams
from ..clocking import add_core_domains, add_held_clock
from ..csr import AXI4LiteSignature
from ..ilp import InputLandingPad
from ..olp import OutputLandingPad
from ..programmer import command_layout
from ..storage import held_word
from ..types import InputSource, PulseLanesSignature, row_write_layout
from .mesh import Mesh
from .regs import CHIP_ERROR_BITS, ChipRegisters
from ..verilog import instance_ports
from .slot import SHELL_MODULE, TILE_MODULE, TileShell, TileSlot

__all__ = ["Chip", "TileShell", "TileSlot", "AXI4StreamSignature", "stream_widths",
           "chip_address_bits", "TILE_MODULE", "SHELL_MODULE"]



def _bytes(bits: int) -> int:
    """A width rounded up to whole bytes (AXI4-Stream TDATA)."""
    return -(-bits // 8) * 8


def chip_address_bits(p: ChipParams) -> int:
    """Byte-address width of the chip's bus: the window offset and the window number."""
    return gregs.WINDOW_BITS + max(1, p.tiles.bit_length())


def stream_widths(p: ChipParams) -> dict:
    """TDATA widths of the three host streams (whole bytes; the words from bit 0)."""
    t = p.tile
    prog = max(row_write_layout(t).size, command_layout(t).size)
    return {"input": _bytes(p.lanes * t.in_bits), "output": _bytes(p.lanes * t.out_bits),
            "prog": _bytes(prog)}


class AXI4StreamSignature(wiring.Signature):
    """AXI4-Stream from the transmitter's side: ``tdata``, ``tvalid``, ``tready``, ``tlast``
    and the routing field ``tdest`` or ``tid`` (and ``tuser``) when given a width."""

    def __init__(self, data_bits: int, *, dest_bits: int = 0, id_bits: int = 0,
                 user_bits: int = 0):
        members = {"tdata": Out(data_bits), "tvalid": Out(1), "tready": In(1), "tlast": Out(1)}
        if dest_bits:
            members["tdest"] = Out(dest_bits)
        if id_bits:
            members["tid"] = Out(id_bits)
        if user_bits:
            members["tuser"] = Out(user_bits)
        self._key = (data_bits, dest_bits, id_bits, user_bits)
        super().__init__(members)

    def __eq__(self, other):
        return isinstance(other, AXI4StreamSignature) and other._key == self._key


class Chip(wiring.Component):
    """Members
    -------
    csr : In(AXI4LiteSignature(chip_address_bits(params)))
        Registers: window 0 the chip's (``golden.chip.regs.CHIP_MAP``), window t + 1 tile t's.
    s_axis : In(AXI4StreamSignature(...))
        Input vectors, one per beat; ``tdest`` selects the pair.
    m_axis : Out(AXI4StreamSignature(...))
        Output vectors, one per beat; ``tid`` is the pair; ``tlast`` is always 1.
    p_axis : In(AXI4StreamSignature(...))
        Programming: ``tdest`` the tile, ``tuser`` 0 a row write of codes (the tile's ``prog``
        payload), 1 a closed-loop target row (its ``target`` payload).
    busy : Out(1)
        Some tile, ILP or OLP is busy, words wait, a routing check runs, or programming is in
        flight (a beat held, a row in a slot's buffer, a tile's row programmer running).

    ``tile_module``: instantiate every tile position as module ``SHELL_MODULE``
    (:class:`TileShell`: the slot behind flat port names, instantiating the tile as module
    ``TILE_MODULE``, ``hdl.tile.Tile`` with ``clock_gate=True``), both emitted once beside the
    chip (:meth:`extra_modules`, ``hdl.chip.emit``), instead of elaborating 34 copies; the chip
    then only converts to Verilog (amaranth.sim needs the tiles themselves).
    ``hierarchical`` (with ``tile_module``): Verilator builds the shell once as a hierarchical
    block (:meth:`verilator_hier_blocks`).
    """

    def __init__(self, params: ChipParams = ChipParams(), *, tile_module: str | None = None,
                 hierarchical: bool = False):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        if tile_module is not None and (not isinstance(tile_module, str)
                                        or not tile_module.isidentifier()):
            raise ValueError(f"tile_module must be a Verilog module name, not {tile_module!r}")
        if not isinstance(hierarchical, bool):
            raise TypeError(f"hierarchical must be a bool, not {hierarchical!r}")
        if hierarchical and tile_module != TILE_MODULE:
            raise ValueError(f"hierarchical needs tile_module={TILE_MODULE!r} (the shell "
                             f"instantiates that module), not {tile_module!r}")
        self.tile_module = tile_module
        self.hierarchical = hierarchical
        self.params = p = params
        w = stream_widths(p)
        super().__init__({
            "csr": In(AXI4LiteSignature(chip_address_bits(p))),
            "s_axis": In(AXI4StreamSignature(w["input"], dest_bits=p.tdest_bits)),
            "m_axis": Out(AXI4StreamSignature(w["output"], id_bits=p.tdest_bits)),
            "p_axis": In(AXI4StreamSignature(w["prog"], dest_bits=max(1, (p.tiles - 1)
                                                                      .bit_length()),
                                             user_bits=1)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        t = p.tile
        add_core_domains(m, core="chip", negedge="chip_negedge")
        d = m.d.chip

        m.submodules.regs = regs = DomainRenamer("chip")(ChipRegisters(p))
        m.submodules.mesh = mesh = DomainRenamer("chip")(Mesh(p))
        m.d.comb += mesh.switches.eq(regs.switches)
        events = Signal(CHIP_ERROR_BITS)
        m.d.comb += regs.events.eq(events)
        ErrorBit = gregs.ChipErrorBit

        tiles = []
        for k in range(p.tiles):
            tile = self._tile(m, k)
            tiles.append(tile)
            m.d.comb += [
                tile.lanes_in.pulse.eq(mesh.tile_in[k].pulse),
                tile.lanes_in.sign.eq(mesh.tile_in[k].sign),
                tile.lanes_in.window.eq(mesh.tile_in[k].window),
                mesh.tile_out[k].pulse.eq(tile.lanes_out.pulse),
                mesh.tile_out[k].sign.eq(tile.lanes_out.sign),
                mesh.tile_out[k].window.eq(tile.lanes_out.window),
                regs.lanes_mode[k].eq(tile.input_source == InputSource.LANES),
            ]
        tile_busy = Cat(*(tile.busy for tile in tiles))

        # -- OLPs: landing register, counters, words -------------------------------------------
        olps, olp_idle, olp_window = [], [], []
        for k in range(p.pairs):
            olp = DomainRenamer("chip")(OutputLandingPad(p.lanes, t.out_bits))
            m.submodules[f"olp_{k}"] = olp
            landed = PulseLanesSignature(p.lanes).create(path=(f"olp_{k}_landed",))
            d += [landed.pulse.eq(mesh.olp[k].pulse), landed.sign.eq(mesh.olp[k].sign),
                  landed.window.eq(mesh.olp[k].window)]
            m.d.comb += [olp.lanes.pulse.eq(landed.pulse), olp.lanes.sign.eq(landed.sign),
                         olp.lanes.window.eq(landed.window)]
            olps.append(olp)
            olp_window.append(landed.window)
            olp_idle.append(~landed.window & ~olp.o.valid)
        m.d.comb += events[ErrorBit.OLP_OVERRANGE].eq(Cat(*(o.overrange for o in olps)) != 0)
        m.d.comb += regs.holding.eq(Cat(*(o.o.valid for o in olps)))

        # output stream: the OLP of lowest index that holds words
        out = self.m_axis
        chosen = Signal(range(max(2, p.pairs)))
        for k in reversed(range(p.pairs)):
            with m.If(olps[k].o.valid):
                m.d.comb += chosen.eq(k)
        words = Signal(stream_widths(p)["output"])
        with m.Switch(chosen):
            for k in range(p.pairs):
                with m.Case(k):
                    m.d.comb += words.eq(olps[k].o.payload.as_value())
        m.d.comb += [out.tvalid.eq(Cat(*(o.o.valid for o in olps)) != 0), out.tdata.eq(words),
                     out.tid.eq(chosen), out.tlast.eq(1)]
        for k in range(p.pairs):
            m.d.comb += olps[k].o.ready.eq(out.tready & (chosen == k))

        # -- ILPs and admission -----------------------------------------------------------------
        ilps, admit, pair_busy = [], [], []
        for k in range(p.pairs):
            ilp = DomainRenamer("chip")(InputLandingPad(t))
            m.submodules[f"ilp_{k}"] = ilp
            ilps.append(ilp)
            m.d.comb += [ilp.fill.valid.eq(0), ilp.mode.eq(regs.pair_mode[k]),
                         mesh.ilp[k].pulse.eq(ilp.lanes.pulse),
                         mesh.ilp[k].sign.eq(ilp.lanes.sign),
                         mesh.ilp[k].window.eq(ilp.lanes.window)]
            reach_t, reach_o = regs.reach_tiles[k], regs.reach_olps[k]
            reached_idle = ((reach_t & tile_busy) == 0) & \
                ((reach_o & ~Cat(*olp_idle)) == 0)
            ok = Signal(name=f"admit_{k}")
            m.d.comb += ok.eq(ilp.i.ready & reached_idle & ~regs.check_busy)
            admit.append(ok)
            pair_busy.append(~ilp.i.ready | ~reached_idle)
        m.d.comb += regs.busy_pairs.eq(Cat(*pair_busy))

        # input stream: the head beat goes to its pair's ILP once that pair is admitted; a beat
        # for a pair that does not exist is consumed at once (BAD_DEST)
        s = self.s_axis
        dest_ok = s.tdest < p.pairs
        for k in range(p.pairs):
            m.d.comb += [ilps[k].i.payload.eq(s.tdata[:p.lanes * t.in_bits]),
                         ilps[k].i.valid.eq(s.tvalid & (s.tdest == k) & admit[k])]
        with m.If(dest_ok):
            m.d.comb += s.tready.eq(Cat(*admit).bit_select(s.tdest, 1))
        with m.Else():
            m.d.comb += s.tready.eq(1)

        # -- programming stream: one beat held in a register, then chunk by chunk over the
        # programming bus to its tile's slot (docs/chip.md section 6) ---------------------------
        ps = self.p_axis
        bus = p.prog_bus_bits
        chunks = {kind: p.prog_chunks(kind) for kind in (False, True)}
        held_tile = Signal(len(ps.tdest))
        held_target = Signal()
        full = Signal()
        sent = Signal(range(max(2, *chunks.values())))
        taken = Signal()
        m.d.comb += ps.tready.eq(~full)
        # the beat in a memory word written straight from TDATA (a register would get a hold
        # multiplexer of the beat's width, evaluated at every call of a simulator's model)
        held = held_word(m, "prog_held", max(chunks.values()) * bus, domain="chip",
                         data=ps.tdata, enable=ps.tvalid & ~full)
        with m.If(ps.tvalid & ~full):
            d += [held_tile.eq(ps.tdest), held_target.eq(ps.tuser[0]), full.eq(1)]
        with m.Elif(taken):
            d += [full.eq(0), sent.eq(0)]
        last = Signal()
        m.d.comb += last.eq(Mux(held_target, sent == chunks[True] - 1,
                                sent == chunks[False] - 1))
        loads = []
        for k, tile in enumerate(tiles):
            mine = full & (held_tile == k)
            m.d.comb += [
                tile.load.data.eq(held.word_select(sent, bus)),
                tile.load.last.eq(last),
                tile.load.target.eq(held_target),
                tile.load.valid.eq(mine),
            ]
            loads.append(tile.load.valid & tile.load.ready)
        moved = Cat(*loads).any()
        with m.If(moved & ~last):
            d += sent.eq(sent + 1)
        bad_tile = full & (held_tile >= p.tiles)
        m.d.comb += [taken.eq((moved & last) | bad_tile),
                     events[ErrorBit.BAD_DEST].eq(bad_tile | (s.tvalid & ~dest_ok))]
        loading = Cat(*(tile.loading for tile in tiles)).any() | full

        # -- AXI4-Lite interconnect: window 0 the chip's registers, window t + 1 tile t's -------
        self._interconnect(m, d, regs, tiles, events)

        m.d.comb += self.busy.eq(tile_busy.any() | Cat(*olp_window).any()
                                 | Cat(*(o.o.valid for o in olps)).any()
                                 | ~Cat(*(i.i.ready for i in ilps)).all()
                                 | regs.check_busy | loading)
        return m

    def extra_modules(self) -> list:
        """Modules the emitted chip instantiates, to be emitted beside it: with
        ``tile_module``, the clock-gated tile under that name and the slot behind flat port
        names (``SHELL_MODULE``)."""
        if self.tile_module is None:
            return []
        from ..tile import Tile
        return [(self.tile_module, Tile(self.params.tile, clock_gate=True)),
                (SHELL_MODULE, TileShell(self.params))]

    def verilator_hier_blocks(self) -> list:
        """Modules Verilator should build as hierarchical blocks (``--hierarchical``)."""
        return [SHELL_MODULE] if self.hierarchical else []

    def _tile(self, m, k):
        """Tile position k: its slot (:class:`TileSlot`), or with ``tile_module`` an interface
        of the slot's signature wired to an instance of the shell module (emitted once)."""
        if self.tile_module is None:
            slot = TileSlot(self.params)
            m.submodules[f"tile_{k}"] = slot
            return slot
        slot = TileSlot(self.params)
        slot._MustUse__silence = True       # only its signature is used
        iface = slot.signature.create(path=(f"tile_{k}",))
        # the position's clock is held high while it has nothing to do (``awake`` low at the
        # falling edge), so that an idle position's model is not evaluated at all; the shell's
        # ports are the slot's paths joined by single underscores (TileShell)
        clock = add_held_clock(m, iface.awake, name=f"tile_{k}_clk", core="chip",
                               negedge="chip_negedge")
        m.submodules[f"tile_{k}"] = Instance(SHELL_MODULE, i_clk=clock,
                                             i_rst=ResetSignal("sync"),
                                             **instance_ports(slot.signature, iface, sep="_"))
        return iface

    def _interconnect(self, m, d, regs, tiles, events):
        """Registered request and response stages between the host and every window; one write
        and one read in flight at a time. An access of no window answers SLVERR and is the
        chip's BAD_ADDRESS."""
        bus = self.csr
        wb = gregs.WINDOW_BITS
        slaves = [regs.bus] + [tile.csr for tile in tiles]

        # writes
        w_busy, w_fwd, w_resp = Signal(), Signal(), Signal()
        aw = Signal(len(bus.awaddr))
        wd, ws = Signal(32), Signal(4)
        bresp = Signal(2)
        m.d.comb += [bus.awready.eq(~w_busy & bus.awvalid & bus.wvalid),
                     bus.wready.eq(~w_busy & bus.awvalid & bus.wvalid),
                     bus.bvalid.eq(w_resp), bus.bresp.eq(bresp)]
        w_window = aw[wb:]
        with m.If(bus.awready):
            d += [aw.eq(bus.awaddr), wd.eq(bus.wdata), ws.eq(bus.wstrb), w_busy.eq(1),
                  w_fwd.eq(1)]
        with m.If(w_fwd & (w_window >= len(slaves))):
            d += [w_fwd.eq(0), w_resp.eq(1), bresp.eq(gregs.SLVERR)]
            m.d.comb += events[gregs.ChipErrorBit.BAD_ADDRESS].eq(1)
        with m.If(w_resp & bus.bready):
            d += [w_resp.eq(0), w_busy.eq(0)]

        # reads
        r_busy, r_fwd, r_resp = Signal(), Signal(), Signal()
        ar = Signal(len(bus.araddr))
        rdata, rresp = Signal(32), Signal(2)
        m.d.comb += [bus.arready.eq(~r_busy & bus.arvalid), bus.rvalid.eq(r_resp),
                     bus.rdata.eq(rdata), bus.rresp.eq(rresp)]
        r_window = ar[wb:]
        with m.If(bus.arready):
            d += [ar.eq(bus.araddr), r_busy.eq(1), r_fwd.eq(1)]
        with m.If(r_fwd & (r_window >= len(slaves))):
            d += [r_fwd.eq(0), r_resp.eq(1), rresp.eq(gregs.SLVERR), rdata.eq(0)]
            m.d.comb += events[gregs.ChipErrorBit.BAD_ADDRESS].eq(1)
        with m.If(r_resp & bus.rready):
            d += [r_resp.eq(0), r_busy.eq(0)]

        w_wait, r_wait = Signal(), Signal()     # the request was taken; waiting for the answer
        for i, s in enumerate(slaves):
            w_sel = w_window == i
            r_sel = r_window == i
            m.d.comb += [
                s.awaddr.eq(aw[:wb]), s.wdata.eq(wd), s.wstrb.eq(ws), s.awprot.eq(0),
                s.awvalid.eq(w_fwd & w_sel), s.wvalid.eq(w_fwd & w_sel),
                s.bready.eq(w_wait & w_sel),
                s.araddr.eq(ar[:wb]), s.arprot.eq(0), s.arvalid.eq(r_fwd & r_sel),
                s.rready.eq(r_wait & r_sel),
            ]
            with m.If(w_fwd & w_sel & s.awready):
                d += [w_fwd.eq(0), w_wait.eq(1)]
            with m.If(w_wait & w_sel & s.bvalid):
                d += [w_wait.eq(0), w_resp.eq(1), bresp.eq(s.bresp)]
            with m.If(r_fwd & r_sel & s.arready):
                d += [r_fwd.eq(0), r_wait.eq(1)]
            with m.If(r_wait & r_sel & s.rvalid):
                d += [r_wait.eq(0), r_resp.eq(1), rresp.eq(s.rresp), rdata.eq(s.rdata)]
