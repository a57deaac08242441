"""The chip's register map (data, down to the field), its address windows and a golden model of
the chip's register file (docs/chip.md section 5).

The chip's byte address is ``window << 16 | offset``: window 0 holds ``CHIP_MAP``, window
k + 1 tile k's ``golden.regs.TILE_MAP``. ``python -m golden.chip.regs`` prints the table of
docs/chip.md section 5 (a test holds the document to it).

Switch registers are staged: a write changes what a read returns, not the mesh; a ``ROUTE_CMD``
commit checks the staged switches (``golden.chip.routing.check``) for
``ChipParams.check_cycles`` cycles and then makes them the active routing, or sets the
``CHIP_ERROR`` bit of every broken rule and keeps the active routing.
"""
from __future__ import annotations

import enum


from ..regmap import OKAY, SLVERR, WORD_BITS, Field, Register, RegisterMap, print_table
from ..regs import ADDR_BITS as TILE_ADDR_BITS
from ..regs import RegisterFile
from ..spec import InputMode, InputSource, TileConfig, _check_int
from .params import ChipParams
from .routing import (EDGE_S_SWITCHES, EDGE_W_SWITCHES, NODE_SWITCHES, ROUTE_CLASSES,
                      CheckResult, Reach, Routing, Switch, check, switch_exists)

__all__ = ["CHIP_MAP", "CHIP_ID_VALUE", "WINDOW_BITS", "ChipErrorBit", "RouteVerdict",
           "ChipRegisterFile", "tile_address", "chip_address", "decode_address",
           "node_index", "edge_w_index", "edge_s_index", "OKAY", "SLVERR"]

CHIP_ID_VALUE = 0x50434D43      # "PCMC"
WINDOW_BITS = TILE_ADDR_BITS    #: byte-address bits of one window (the chip's and each tile's)
WINDOWS_MAX = 1 << (32 - WINDOW_BITS)


class ChipErrorBit(enum.IntEnum):
    """Bit positions of ``CHIP_ERROR``."""
    BAD_VALUE = 0
    BUSY_WRITE = 1
    BAD_ADDRESS = 2
    ROUTE_CONFLICT = 3
    ROUTE_LOOP = 4
    ROUTE_NOT_LANES = 5
    ROUTE_DEAD_END = 6
    BAD_DEST = 7
    OLP_OVERRANGE = 8


#: the CHIP_ERROR bit of each legality class of ``golden.chip.routing.ROUTE_CLASSES``
ROUTE_ERROR = {c: ChipErrorBit["ROUTE_" + c.upper()] for c in ROUTE_CLASSES}


class RouteVerdict(enum.IntEnum):
    """``ROUTE_STATUS.verdict``: the outcome of the last commit."""
    NONE = 0        # no commit completed since reset
    APPLIED = 1     # the staged switches became the active routing
    REFUSED = 2     # some rule was broken; the active routing was kept


PAIR_CTRL_BASE = 0x0100
PAIR_STATUS_BASE = 0x0200
NODE_BASE = 0x1000
EDGE_W_BASE = 0x3000
EDGE_S_BASE = 0x3400

CHIP_MAP = RegisterMap("chip", WINDOW_BITS, (
    Register("CHIP_ID", 0x0000, "RO", (Field("id", 0, 32, CHIP_ID_VALUE),), const=True,
             doc='"PCMC"'),
    Register("CHIP_GEOMETRY", 0x0004, "RO", (
        Field("grid_rows", 0, 8, "grid_rows"), Field("grid_cols", 8, 8, "grid_cols"),
        Field("pairs", 16, 8, "pairs"), Field("groups", 24, 8, "groups")), const=True),
    Register("CHIP_LANES", 0x0008, "RO", (
        Field("lanes", 0, 16, "lanes"), Field("group_lanes", 16, 16, "group_lanes")),
             const=True),
    Register("CHIP_TILES", 0x000C, "RO", (
        Field("tiles", 0, 16, "tiles"),
        Field("check_cycles", 16, 16, "check_cycles", doc="cycles of a commit's check")),
             const=True),
    Register("CHIP_ERROR", 0x0010, "RW1C",
             tuple(Field(b.name.lower(), int(b)) for b in ChipErrorBit),
             doc="sticky; write 1 to clear (bits of other positions are ignored)"),
    Register("ROUTE_CMD", 0x0014, "RW", (
        Field("commit", 0, doc="1: check the staged switches and apply them"),),
             doc="refused (busy_write) while a check runs or a pass is in flight; reads 0"),
    Register("ROUTE_STATUS", 0x0018, "RO", (
        Field("check_busy", 0), Field("verdict", 1, 2, enum=RouteVerdict),
        Field("last_conflict", 3), Field("last_loop", 4), Field("last_not_lanes", 5),
        Field("last_dead_end", 6)),
             doc="the check in progress, the last commit's verdict and broken rules"),
    Register("PAIR_CTRL", PAIR_CTRL_BASE, "RW", (Field("input_mode", 0, 1, enum=InputMode),),
             count="pairs", config=True, doc="ILP k's input mode"),
    Register("PAIR_STATUS", PAIR_STATUS_BASE, "RO", (
        Field("pair_busy", 0, doc="ILP k or a tile or OLP of reach(k) busy"),
        Field("olp_holding", 1, doc="OLP k holds words"),
        Field("reach_tiles", 4, 9, doc="tiles in reach(k)"),
        Field("reach_olps", 16, 16, doc="bit j: OLP j in reach(k)")), count="pairs",
             doc="reach of the active routing"),
    Register("NODE", NODE_BASE, "RW",
             tuple(Field(n, i) for i, n in enumerate(NODE_SWITCHES)),
             count="grid_rows * grid_cols * groups", config=True, rule="switch_exists",
             doc="staged switches of position (r, c), group g at i = (r * grid_cols + c) * "
                 "groups + g; drive/take at an empty position are BAD_VALUE"),
    Register("EDGE_W", EDGE_W_BASE, "RW",
             tuple(Field(n, i) for i, n in enumerate(EDGE_W_SWITCHES)),
             count="grid_rows * groups", config=True, rule="switch_exists",
             doc="staged west-edge switches of row r, group g at i = r * groups + g; "
                 "ilp_drive/olp_take at a row without a pair are BAD_VALUE"),
    Register("EDGE_S", EDGE_S_BASE, "RW",
             tuple(Field(n, i) for i, n in enumerate(EDGE_S_SWITCHES)),
             count="grid_cols * groups", config=True,
             doc="staged south-edge switch of column c, group g at i = c * groups + g"),
))

_SWITCH_REGISTERS = {"NODE": NODE_SWITCHES, "EDGE_W": EDGE_W_SWITCHES, "EDGE_S": EDGE_S_SWITCHES}


# -- addresses -------------------------------------------------------------------------------

def tile_address(tile: int, offset: int) -> int:
    """Chip byte address of tile ``tile``'s register at ``offset`` (window ``tile + 1``)."""
    _check_int("tile", tile, 0, WINDOWS_MAX - 2)
    _check_int("offset", offset, 0, (1 << WINDOW_BITS) - 1)
    return (tile + 1) << WINDOW_BITS | offset


def chip_address(offset: int) -> int:
    """Chip byte address of the chip register at ``offset`` (window 0)."""
    _check_int("offset", offset, 0, (1 << WINDOW_BITS) - 1)
    return offset


def decode_address(params: ChipParams, address: int) -> tuple | None:
    """``("chip", offset)``, ``("tile", t, offset)``, or None for a window beyond the tiles."""
    _check_int("address", address, 0, (1 << 32) - 1)
    window, offset = address >> WINDOW_BITS, address & ((1 << WINDOW_BITS) - 1)
    if window == 0:
        return ("chip", offset)
    if window <= params.tiles:
        return ("tile", window - 1, offset)
    return None


def node_index(params: ChipParams, row: int, col: int, group: int) -> int:
    """Index i of ``NODE[i]`` for position (row, col), lane group ``group``."""
    _check_int("row", row, 0, params.grid_rows - 1)
    _check_int("col", col, 0, params.grid_cols - 1)
    _check_int("group", group, 0, params.groups - 1)
    return (row * params.grid_cols + col) * params.groups + group


def edge_w_index(params: ChipParams, row: int, group: int) -> int:
    _check_int("row", row, 0, params.grid_rows - 1)
    _check_int("group", group, 0, params.groups - 1)
    return row * params.groups + group


def edge_s_index(params: ChipParams, col: int, group: int) -> int:
    _check_int("col", col, 0, params.grid_cols - 1)
    _check_int("group", group, 0, params.groups - 1)
    return col * params.groups + group


def _access(rmap, address: int, strobe: int, write: bool):
    """Decode an access of a register map: the register and window index, or None when the
    access is a BAD_ADDRESS (unmapped, a partial strobe on a write, a write to a read-only
    register)."""
    decoded = rmap.decode(address)
    if decoded is None or (write and (strobe != 0xF or decoded[0].access == "RO")):
        return None
    return decoded


# -- the register model ----------------------------------------------------------------------

class ChipRegisterFile:
    """Golden model of the chip's registers: window 0 (``CHIP_MAP``) and one
    ``golden.regs.RegisterFile`` per tile (windows 1..tiles).

    ``write``/``read`` return AXI responses and update ``error`` (``CHIP_ERROR``) as
    docs/chip.md section 5 says; decoding, field legality and read-back come from
    ``CHIP_MAP``. Time advances with :meth:`advance` (a commit's check completes
    ``check_cycles`` cycles after the cycle its write is carried out). What the register file
    does not hold itself is passed in: ``busy_pairs`` (pairs with a pass in flight),
    ``busy_tiles`` (tiles not IDLE), ``holding`` (OLPs holding words).
    """

    def __init__(self, params: ChipParams):
        if not isinstance(params, ChipParams):
            raise TypeError(f"params must be a ChipParams, not {params!r}")
        self.p = params
        self.map = CHIP_MAP.resolve(params)
        self.tiles = [RegisterFile(params.tile) for _ in range(params.tiles)]
        self.reset()

    def reset(self):
        p = self.p
        self.staged = Routing.empty(p)
        self.active = Routing.empty(p)
        self.pair_mode = [InputMode.UNSIGNED] * p.pairs
        self.error = 0
        self.verdict = RouteVerdict.NONE
        self.last_broken: tuple = ()
        self.cycle = 0
        self._pending = None        # (cycle the verdict applies, CheckResult, staged snapshot)
        self._active_check = check(self.active, lanes_mode=self.lanes_mode())
        for t in self.tiles:
            t.reset()

    # -- time ---------------------------------------------------------------------------------
    @property
    def check_busy(self) -> bool:
        return self._pending is not None

    def advance(self, cycles: int = 1) -> None:
        """Let ``cycles`` cycles pass (a running check completes when its time has come)."""
        _check_int("cycles", cycles, 0, 1 << 62)
        self.cycle += cycles
        if self._pending is not None and self.cycle >= self._pending[0]:
            _, result, snapshot = self._pending
            self._pending = None
            self.last_broken = result.broken
            if result.ok:
                self.active = snapshot
                self._active_check = result
                self.verdict = RouteVerdict.APPLIED
            else:
                self.verdict = RouteVerdict.REFUSED
                for c in result.broken:
                    self.error |= 1 << ROUTE_ERROR[c]

    # -- views --------------------------------------------------------------------------------
    def lanes_mode(self) -> list:
        """Per tile: ``CTRL.input_source`` is LANES."""
        return [t.values["input_source"] == InputSource.LANES for t in self.tiles]

    def tile_configs(self) -> list:
        """Each tile's ``TileConfig`` (its configuration registers)."""
        return [t.config() for t in self.tiles]

    def pair_modes(self) -> list:
        return list(self.pair_mode)

    def reach(self, pair: int) -> Reach:
        """reach(pair) of the active routing."""
        _check_int("pair", pair, 0, self.p.pairs - 1)
        return self._active_check.reach[pair]

    @property
    def active_check(self) -> CheckResult:
        """The check of the active routing (its reach and resolved sources)."""
        return self._active_check

    # -- the bus ------------------------------------------------------------------------------
    def _flag(self, bit: ChipErrorBit) -> int:
        self.error |= 1 << int(bit)
        return SLVERR

    def _pairs(self, name, values) -> set:
        out = set()
        for v in values:
            _check_int(name, v, 0, self.p.pairs - 1)
            out.add(int(v))
        return out

    def _tiles(self, values) -> set:
        out = set()
        for v in values:
            _check_int("busy_tiles", v, 0, self.p.tiles - 1)
            out.add(int(v))
        return out

    def _switches(self, reg_name: str, index: int) -> list:
        """The switches of one switch register (in its field order, group filled in)."""
        p = self.p
        if reg_name == "NODE":
            q, g = divmod(index, p.groups)
            r, c = divmod(q, p.grid_cols)
            return [Switch(f.name, r, c, g) for f in self.map["NODE"].fields]
        if reg_name == "EDGE_W":
            r, g = divmod(index, p.groups)
            return [Switch(f.name, r, None, g) for f in self.map["EDGE_W"].fields]
        c, g = divmod(index, p.groups)
        return [Switch(f.name, None, c, g) for f in self.map["EDGE_S"].fields]

    def write(self, address: int, data: int, strobe: int = 0xF, *, busy_pairs=(),
              busy_tiles=()) -> int:
        """A write on the chip's bus; returns OKAY or SLVERR."""
        _check_int("data", data, 0, (1 << WORD_BITS) - 1)
        _check_int("strobe", strobe, 0, 0xF)
        busy_pairs = self._pairs("busy_pairs", busy_pairs)
        busy_tiles = self._tiles(busy_tiles)
        where = decode_address(self.p, address)
        if where is None:
            return self._flag(ChipErrorBit.BAD_ADDRESS)
        if where[0] == "tile":
            _, t, offset = where
            return self.tiles[t].write(offset, data, strobe, busy=t in busy_tiles)
        decoded = _access(self.map, where[1], strobe, write=True)
        if decoded is None:
            return self._flag(ChipErrorBit.BAD_ADDRESS)
        reg, index = decoded
        if reg.access == "RW1C":
            self.error &= ~data
            return OKAY
        if reg.check(data) is not None:
            return self._flag(ChipErrorBit.BAD_VALUE)
        fields = reg.unpack(data)
        if reg.name == "ROUTE_CMD":
            if not fields["commit"]:
                return OKAY
            if self.check_busy or busy_pairs:
                return self._flag(ChipErrorBit.BUSY_WRITE)
            snapshot = self.staged.copy()
            result = check(snapshot, lanes_mode=self.lanes_mode())
            self._pending = (self.cycle + self.p.check_cycles, result, snapshot)
            return OKAY
        if reg.name == "PAIR_CTRL":
            if index in busy_pairs:
                return self._flag(ChipErrorBit.BUSY_WRITE)
            self.pair_mode[index] = InputMode(fields["input_mode"])
            return OKAY
        # a switch register
        if self.check_busy:
            return self._flag(ChipErrorBit.BUSY_WRITE)
        switches = self._switches(reg.name, index)
        if reg.rule == "switch_exists" and any(
                fields[s.name] and switch_exists(self.p, s) is not None for s in switches):
            return self._flag(ChipErrorBit.BAD_VALUE)
        for s in switches:
            arr, idx = self.staged._slot(s)
            arr[idx] = bool(fields[s.name])
        return OKAY

    def read(self, address: int, *, busy_pairs=(), holding=(), busy_tiles=(),
             phases=None) -> tuple:
        """(data, response) of a read; unmapped addresses read 0 with SLVERR. ``phases``
        (optional, tile -> ``Phase``) gives the tiles' ``STATUS.phase``."""
        busy_pairs = self._pairs("busy_pairs", busy_pairs)
        holding = self._pairs("holding", holding)
        busy_tiles = self._tiles(busy_tiles)
        where = decode_address(self.p, address)
        if where is None:
            self._flag(ChipErrorBit.BAD_ADDRESS)
            return 0, SLVERR
        if where[0] == "tile":
            _, t, offset = where
            kw = {} if phases is None or t not in phases else {"phase": phases[t]}
            return self.tiles[t].read(offset, busy=t in busy_tiles, **kw)
        decoded = _access(self.map, where[1], 0xF, write=False)
        if decoded is None:
            self._flag(ChipErrorBit.BAD_ADDRESS)
            return 0, SLVERR
        reg, index = decoded
        if reg.const:
            return reg.reset_word(), OKAY
        if reg.name in _SWITCH_REGISTERS:
            values = {}
            for s in self._switches(reg.name, index):
                arr, idx = self.staged._slot(s)
                values[s.name] = int(arr[idx])
            return reg.pack(values), OKAY
        if reg.name == "PAIR_CTRL":
            return reg.pack({"input_mode": int(self.pair_mode[index])}), OKAY
        if reg.name == "PAIR_STATUS":
            reach = self.reach(index)
            return reg.pack({"pair_busy": int(index in busy_pairs),
                             "olp_holding": int(index in holding),
                             "reach_tiles": len(reach.tiles),
                             "reach_olps": sum(1 << j for j in reach.olps)}), OKAY
        if reg.name == "ROUTE_CMD":
            return 0, OKAY
        if reg.name == "ROUTE_STATUS":
            return reg.pack({"check_busy": int(self.check_busy), "verdict": int(self.verdict),
                             **{f"last_{c}": int(c in self.last_broken)
                                for c in ROUTE_CLASSES}}), OKAY
        # CHIP_ERROR
        return reg.pack({b.name.lower(): self.error >> int(b) & 1 for b in ChipErrorBit}), OKAY

    def flag(self, bit: ChipErrorBit) -> None:
        """Record an event of the chip's streams (``BAD_DEST``, ``OLP_OVERRANGE``)."""
        self._flag(ChipErrorBit(bit))

    # -- loaders ------------------------------------------------------------------------------
    def stage(self, routing: Routing) -> list:
        """Writes that stage ``routing`` (only the switch registers whose word differs); the
        model is updated as if they had been made. Returns ``[(address, data)]``."""
        if not isinstance(routing, Routing) or routing.params != self.p:
            raise TypeError("routing must be a Routing of this chip's ChipParams")
        writes = []
        for reg in (self.map["NODE"], self.map["EDGE_W"], self.map["EDGE_S"]):
            for i in range(reg.count):
                want = {s.name: int(routing[s]) for s in self._switches(reg.name, i)}
                have = {s.name: int(self.staged[s]) for s in self._switches(reg.name, i)}
                if want != have:
                    address = chip_address(reg.offset + 4 * i)
                    data = reg.pack(want)
                    assert self.write(address, data) == OKAY, (reg.name, i, hex(data))
                    writes.append((address, data))
        return writes

    def commit(self, *, busy_pairs=()) -> int:
        """The ``ROUTE_CMD`` commit write; returns its response."""
        return self.write(chip_address(self.map["ROUTE_CMD"].offset),
                          self.map["ROUTE_CMD"].pack({"commit": 1}), busy_pairs=busy_pairs)

    def load_pair_modes(self, modes) -> list:
        """Writes that set every ``PAIR_CTRL`` to ``modes`` (skipping equal ones)."""
        modes = list(modes)
        if len(modes) != self.p.pairs:
            raise ValueError(f"modes must have one entry per pair ({self.p.pairs}), not "
                             f"{len(modes)}")
        writes = []
        reg = self.map["PAIR_CTRL"]
        for k, m in enumerate(modes):
            m = InputMode(m)
            if m != self.pair_mode[k]:
                address, data = chip_address(reg.offset + 4 * k), reg.pack({"input_mode": int(m)})
                assert self.write(address, data) == OKAY
                writes.append((address, data))
        return writes

    def load_tile(self, tile: int, config: TileConfig) -> list:
        """Writes (chip addresses) that take tile ``tile``'s registers to ``config``."""
        _check_int("tile", tile, 0, self.p.tiles - 1)
        return [(tile_address(tile, a), d) for a, d in self.tiles[tile].load(config)]


def main(argv=None) -> int:
    """Print the chip's register table (the one in docs/chip.md section 5)."""
    return print_table(CHIP_MAP, "python -m golden.chip.regs", main.__doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
