"""Chip parameters: the grid of tiles, the lane groups of the mesh and the ILP/OLP pairs
(docs/chip.md section 1).

All tiles are alike (one ``TileParams``); a tile's column lanes feed another tile's rows, so
``rows == cols``. Positions are ``(row, col)`` with rows counted south to north and columns west
to east; the tile index k is the k-th non-empty position in row-major order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..spec import ROW_INDEX_BITS, TileParams, _check_int

__all__ = ["ChipParams", "GRID_MAX", "GROUPS_MAX", "PROG_BUS_MAX"]

GRID_MAX = 16       #: largest grid_rows / grid_cols
GROUPS_MAX = 8      #: largest number of lane groups (lanes / group_lanes)
PROG_BUS_MAX = 4096     #: widest programming bus (prog_bus_bits)


def _is_int(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, np.integer))


@dataclass(frozen=True)
class ChipParams:
    """Design-time parameters of the chip; defaults are docs/chip.md section 1's.

    tile : parameters of every tile (``rows == cols``)
    grid_rows, grid_cols : tile positions, 1..16 each
    empty : positions without an analog tile (the digital PEs), inside the grid, distinct, at
        least one tile remaining
    group_lanes : lanes per lane group, divides ``lanes``, at most 8 groups
    pair_rows : grid row of each ILP/OLP pair (pair k at the west edge of row ``pair_rows[k]``),
        distinct rows, at least one pair
    prog_bus_bits : width of the programming bus from the programming stream to every tile
        position, 1..4096: a programming beat reaches its tile in ``prog_chunks`` bus cycles
    """
    tile: TileParams = field(default_factory=TileParams)
    grid_rows: int = 6
    grid_cols: int = 6
    empty: tuple = ((5, 4), (5, 5))
    group_lanes: int = 256
    pair_rows: tuple = (0, 1, 2, 3, 4, 5)
    prog_bus_bits: int = 512

    def __post_init__(self):
        if not isinstance(self.tile, TileParams):
            raise TypeError(f"tile must be a TileParams, not {self.tile!r}")
        if self.tile.rows != self.tile.cols:
            raise ValueError(
                f"tile must have rows == cols (a tile's column lanes feed another tile's rows), "
                f"not rows={self.tile.rows}, cols={self.tile.cols}")
        _check_int("grid_rows", self.grid_rows, 1, GRID_MAX)
        _check_int("grid_cols", self.grid_cols, 1, GRID_MAX)
        # lists (e.g. from JSON) are accepted and stored as tuples, so the object stays hashable
        empty = self._positions(self.empty)
        object.__setattr__(self, "empty", empty)
        if len(empty) >= self.grid_rows * self.grid_cols:
            raise ValueError(
                f"empty must leave at least one tile, not all {len(empty)} positions of the "
                f"{self.grid_rows} x {self.grid_cols} grid")
        lanes = self.tile.rows
        _check_int("group_lanes", self.group_lanes, 1, lanes)
        if lanes % self.group_lanes:
            raise ValueError(f"group_lanes must divide lanes ({lanes}), not {self.group_lanes!r}")
        if lanes // self.group_lanes > GROUPS_MAX:
            raise ValueError(
                f"group_lanes must be at least lanes / {GROUPS_MAX} = "
                f"{-(-lanes // GROUPS_MAX)} (at most {GROUPS_MAX} groups), "
                f"not {self.group_lanes!r}")
        if isinstance(self.pair_rows, (str, bytes)) or not hasattr(self.pair_rows, "__iter__"):
            raise TypeError(f"pair_rows must be a sequence of grid rows, not {self.pair_rows!r}")
        rows = tuple(self.pair_rows)
        if not rows:
            raise ValueError("pair_rows must name at least one row, not ()")
        for k, r in enumerate(rows):
            _check_int(f"pair_rows[{k}]", r, 0, self.grid_rows - 1)
        if len(set(rows)) != len(rows):
            raise ValueError(f"pair_rows must be distinct rows, not {rows!r}")
        object.__setattr__(self, "pair_rows", tuple(int(r) for r in rows))
        _check_int("prog_bus_bits", self.prog_bus_bits, 1, PROG_BUS_MAX)

    def _positions(self, value) -> tuple:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"empty must be a sequence of (row, col) positions, not {value!r}")
        out = []
        for i, pos in enumerate(value):
            if isinstance(pos, (str, bytes)) or not hasattr(pos, "__len__") or len(pos) != 2:
                raise TypeError(f"empty[{i}] must be a (row, col) pair, not {pos!r}")
            r, c = pos
            if not (_is_int(r) and _is_int(c)):
                raise TypeError(f"empty[{i}] must be a pair of integers, not {pos!r}")
            if not (0 <= r < self.grid_rows and 0 <= c < self.grid_cols):
                raise ValueError(
                    f"empty[{i}] = ({r}, {c}) is outside the grid: rows in [0, "
                    f"{self.grid_rows - 1}], cols in [0, {self.grid_cols - 1}]")
            p = (int(r), int(c))
            if p in out:
                raise ValueError(f"empty[{i}] = {p} repeats a position")
            out.append(p)
        return tuple(out)

    # -- derived quantities -------------------------------------------------------------------
    @property
    def lanes(self) -> int:
        """Lanes of the mesh: a tile's rows (= its columns)."""
        return self.tile.rows

    @property
    def groups(self) -> int:
        """Lane groups: ``lanes / group_lanes``."""
        return self.lanes // self.group_lanes

    @cached_property
    def positions(self) -> tuple:
        """Tile positions ``(row, col)`` in row-major order: ``positions[k]`` holds tile k."""
        empty = set(self.empty)
        return tuple((r, c) for r in range(self.grid_rows) for c in range(self.grid_cols)
                     if (r, c) not in empty)

    @property
    def tiles(self) -> int:
        """Number of tiles."""
        return self.grid_rows * self.grid_cols - len(self.empty)

    @property
    def pairs(self) -> int:
        """Number of ILP/OLP pairs."""
        return len(self.pair_rows)

    @property
    def tdest_bits(self) -> int:
        """Width of the input stream's ``TDEST``: a beat names a pair in [0, 2^tdest_bits)
        (docs/chip.md section 6)."""
        return max(1, (self.pairs - 1).bit_length())

    @property
    def row_write_bits(self) -> int:
        """Bits of a row write of codes (the tile's ``prog`` payload): the row index, then
        every column's codes."""
        t = self.tile
        return ROW_INDEX_BITS + t.cols * len(t.cell_fields) * t.code_bits

    @property
    def target_row_bits(self) -> int:
        """Bits of a closed-loop target row (the tile's ``target`` payload): the row index,
        then every column's signed target."""
        return ROW_INDEX_BITS + self.tile.cols * self.tile.target_bits

    def prog_chunks(self, target: bool) -> int:
        """Bus cycles that carry one programming beat to its tile (docs/chip.md section 6):
        ``ceil(bits / prog_bus_bits)`` of a target row (``target``) or a row write."""
        if not isinstance(target, bool):
            raise TypeError(f"target must be a bool, not {target!r}")
        bits = self.target_row_bits if target else self.row_write_bits
        return -(-bits // self.prog_bus_bits)

    def position(self, tile: int) -> tuple:
        """Grid position ``(row, col)`` of tile index ``tile``."""
        _check_int("tile", tile, 0, self.tiles - 1)
        return self.positions[tile]

    def tile_at(self, row: int, col: int) -> int | None:
        """Tile index at position ``(row, col)``, None at an empty position."""
        _check_int("row", row, 0, self.grid_rows - 1)
        _check_int("col", col, 0, self.grid_cols - 1)
        return self._tile_index.get((int(row), int(col)))

    def tile_index(self, row: int, col: int) -> int:
        """Tile index at position ``(row, col)``; an empty position raises ``ValueError``."""
        t = self.tile_at(row, col)
        if t is None:
            raise ValueError(f"position ({row}, {col}) is empty (no tile); empty positions are "
                             f"{list(self.empty)}")
        return t

    @cached_property
    def _tile_index(self) -> dict:
        return {pos: k for k, pos in enumerate(self.positions)}

    def pair_at(self, row: int) -> int | None:
        """Pair whose ILP/OLP sit at the west edge of grid row ``row``, or None."""
        _check_int("row", row, 0, self.grid_rows - 1)
        return self.pair_rows.index(row) if row in self.pair_rows else None

    def group_slice(self, group: int) -> slice:
        """The lanes of lane group ``group``."""
        _check_int("group", group, 0, self.groups - 1)
        return slice(group * self.group_lanes, (group + 1) * self.group_lanes)

    # -- sizes of the switch set (registers, loop check) --------------------------------------
    @property
    def node_registers(self) -> int:
        """NODE registers: one per position and group."""
        return self.grid_rows * self.grid_cols * self.groups

    @property
    def edge_w_registers(self) -> int:
        return self.grid_rows * self.groups

    @property
    def edge_s_registers(self) -> int:
        return self.grid_cols * self.groups

    @property
    def h_segments(self) -> int:
        """Horizontal segment groups ``H(r, c)``, c = 0..grid_cols."""
        return self.grid_rows * (self.grid_cols + 1) * self.groups

    @property
    def v_segments(self) -> int:
        """Vertical segment groups ``V(r, c)``, r = 0..grid_rows."""
        return (self.grid_rows + 1) * self.grid_cols * self.groups

    @property
    def graph_nodes(self) -> int:
        """Nodes of the loop check (docs/chip.md section 3): every segment group, every tile,
        every ILP and every OLP."""
        return self.h_segments + self.v_segments + self.tiles + 2 * self.pairs

    @property
    def check_cycles(self) -> int:
        """Cycles a ``ROUTE_CMD`` commit's check takes (docs/chip.md section 5): one cycle of
        the per-segment rules (conflict, dead end, not lanes) and the loop check's first
        settled set, ``graph_nodes`` settle rounds, one cycle to apply the verdict."""
        return self.graph_nodes + 2
