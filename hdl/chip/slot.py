"""A tile position of the chip: the clock-gated tile behind its row buffer on the programming
bus (docs/chip.md section 6).

The chip carries a programming beat (a row write of codes or a closed-loop target row, up to
16,400 bits at 512 x 512) to its tile over a bus of ``ChipParams.prog_bus_bits`` wires, lowest
chunk first, ``ChipParams.prog_chunks`` cycles a beat. The slot assembles the chunks in its row
buffer and offers the whole row to the tile's ``prog`` or ``target`` stream; it takes the next
beat once the tile has taken the row. The tile's ``x`` and ``y`` streams are tied off (vectors
enter and leave the chip through the ILP/OLP pairs).

Only what the chip uses crosses the slot's boundary: the programming bus, the registers, the
lanes and four status bits (``busy``, ``input_source``, ``loading``, ``awake``). That keeps a
hierarchical Verilator block (:class:`TileShell`) cheap: every port of such a block is copied
at every call of its model, changed or not. ``awake`` lets the emitted chip hold the
position's clock while it has nothing to do (``hdl.clocking.add_held_clock``), so that the
block is not called at all then.
"""
from amaranth.hdl import Cat, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.chip.params import ChipParams
from ..clocking import add_core_domains, add_gated_domain
from ..storage import held_word
from ..verilog import instance_ports
from ..tile import Tile

__all__ = ["TileSlot", "TileShell", "prog_bus_signature", "TILE_MODULE", "SHELL_MODULE"]

#: Verilog module names of the tile (emitted once) and of the slot behind flat port names
#: (what a hierarchical Verilator build compiles once for every position).
TILE_MODULE = "tile"
SHELL_MODULE = "tile_hier"

#: the tile's members a slot passes through unchanged
_PASSED = ("csr", "lanes_in", "lanes_out", "busy", "input_source")


def prog_bus_signature(bus_bits: int) -> wiring.Signature:
    """The programming bus from the chip's side: ``data`` one chunk of a beat (chunk i holds
    the beat's bits ``[i * bus_bits, (i + 1) * bus_bits)``), ``last`` on the beat's final chunk,
    ``target`` (a closed-loop target row, else a row write of codes), ``valid`` / ``ready``."""
    return wiring.Signature({"data": Out(bus_bits), "last": Out(1), "target": Out(1),
                             "valid": Out(1), "ready": In(1)})


def _tile_signature(params):
    tile = Tile(params.tile, clock_gate=True)
    tile._MustUse__silence = True       # only its signature is used
    return tile.signature


class TileSlot(wiring.Component):
    """Members
    -------
    load : In(prog_bus_signature(prog_bus_bits))
        Chunks of a programming beat; ``ready`` while the row buffer is free.
    csr, lanes_in, lanes_out, busy, input_source
        The tile's.
    loading : Out(1)
        A row waits in the buffer for the tile, or the tile's row programmer is busy.
    awake : Out(1)
        The slot or its tile could change state at the next rising edge: the tile is
        ``active``, a row waits in the buffer, a chunk is offered, a register request is
        offered, or the lanes carry a window. It covers the tile's own clock gate (``gate`` of
        ``hdl.tile.Tile``) and every register of the slot, so the chip may hold the position's
        clock while it is low (``hdl.clocking.add_held_clock``).

    ``tile_module``: instantiate the tile as that Verilog module (emitted once) instead of
    elaborating ``hdl.tile.Tile``; the slot then only converts to Verilog.
    """

    def __init__(self, params: ChipParams, *, tile_module: str | None = None):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        if tile_module is not None and (not isinstance(tile_module, str)
                                        or not tile_module.isidentifier()):
            raise ValueError(f"tile_module must be a Verilog module name, not {tile_module!r}")
        self.params = params
        self.tile_module = tile_module
        tile = _tile_signature(params).members
        super().__init__({"load": In(prog_bus_signature(params.prog_bus_bits)),
                          **{name: tile[name] for name in _PASSED},
                          "loading": Out(1), "awake": Out(1)})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        bus = p.prog_bus_bits
        chunks = max(p.prog_chunks(False), p.prog_chunks(True))
        # the slot's registers, one combinational step from clk like every domain of the chip
        # (hdl.clocking); the row buffer in a domain of its own that runs only while it takes
        # chunks, so that the tile's payload (the buffer's words side by side) is only
        # assembled again when they change
        add_core_domains(m, core="slot", negedge="slot_negedge")
        tile = self._tile(m)
        index = Signal(range(max(2, chunks)))
        full = Signal()
        target = Signal()
        load = self.load
        m.d.comb += load.ready.eq(~full)
        take = Signal()
        m.d.comb += take.eq(load.valid & ~full)
        add_gated_domain(m, "slot_buffer", take, negedge="slot_negedge")
        # one memory word per chunk, written straight from the bus (a register would get a
        # 16,896-bit hold multiplexer that a simulator evaluates at every call)
        buffer = Cat(*(held_word(m, f"chunk_{i}", bus, domain="slot_buffer", data=load.data,
                                 enable=index == i)
                       for i in range(chunks)))
        taken = (tile.prog.valid & tile.prog.ready) | (tile.target.valid & tile.target.ready)
        with m.If(take):
            with m.If(load.last):
                m.d.slot += [full.eq(1), target.eq(load.target), index.eq(0)]
            with m.Else():
                m.d.slot += index.eq(index + 1)
        with m.Elif(taken):
            m.d.slot += full.eq(0)
        m.d.comb += [
            tile.x.valid.eq(0),
            tile.y.ready.eq(1),
            tile.prog.payload.eq(buffer[:p.row_write_bits]),
            tile.prog.valid.eq(full & ~target),
            tile.target.payload.eq(buffer[:p.target_row_bits]),
            tile.target.valid.eq(full & target),
            self.loading.eq(full | tile.prog_busy),
            self.awake.eq(tile.active | full | load.valid | self.csr.awvalid | self.csr.wvalid
                          | self.csr.arvalid | self.lanes_in.window),
        ]
        for name in ("csr", "lanes_in", "lanes_out"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(tile, name))
        m.d.comb += [self.busy.eq(tile.busy), self.input_source.eq(tile.input_source)]
        return m

    def _tile(self, m):
        """The tile: the component, or (with ``tile_module``) an interface of its signature
        wired to an instance of the emitted module (ports named as ``hdl.verilog`` emits
        them)."""
        if self.tile_module is None:
            m.submodules.tile = tile = Tile(self.params.tile, clock_gate=True)
            return tile
        signature = _tile_signature(self.params)
        iface = signature.create(path=("tile",))
        m.submodules.tile = Instance(self.tile_module, i_clk=ClockSignal("sync"),
                                     i_rst=ResetSignal("sync"),
                                     **instance_ports(signature, iface))
        return iface


def shell_ports(params: ChipParams):
    """(path, flat port name, flow, shape) of every member of the slot's signature, the name
    its path joined by a single underscore."""
    slot = TileSlot(params)
    slot._MustUse__silence = True
    ports = [(tuple(path), "_".join(map(str, path)), member.flow, member.shape)
             for path, member, _ in slot.signature.flatten(slot.signature.create(path=("s",)))]
    names = [name for _, name, _, _ in ports]
    if len(set(names)) != len(names):
        raise ValueError("the slot's port names collide when joined with '_'")
    return ports


class TileShell(wiring.Component):
    """The slot behind flat port names with single underscores (``load_data`` for the slot's
    ``load.data``): module ``SHELL_MODULE``, the slot instantiating module ``TILE_MODULE``.

    Verilator builds a hierarchical block separately once and shares it between all its
    instances (``--hierarchical``); Verilator 5.006 mangles double-underscore port names of a
    hierarchical block (``x___05Fvalid``) in the wrapper it generates, so the block is this
    shell rather than the slot itself."""

    def __init__(self, params: ChipParams):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        self.params = params
        self._ports = shell_ports(params)
        super().__init__({name: (In if flow == In else Out)(shape)
                          for _, name, flow, shape in self._ports})

    def elaborate(self, platform):
        m = Module()
        m.submodules.slot = slot = TileSlot(self.params, tile_module=TILE_MODULE)
        for path, name, flow, _ in self._ports:
            inner = slot
            for part in path:
                inner = getattr(inner, part)
            outer = getattr(self, name)
            if flow == In:
                m.d.comb += inner.eq(outer)
            else:
                m.d.comb += outer.eq(inner)
        return m
