"""The driver protocol: what every driver of the tile and of the chip offers a test.

The amaranth.sim drivers (``tb.simdrv.SimTileDriver``, ``tb.chipsim.SimChipDriver``) and the
cocotb drivers (``tb.cocotbdrv.TileTB``, ``tb.chipdrv.ChipTB``) implement these methods with
the same names, arguments and results, so a scenario written against the protocol runs on any
backend (``tests/test_drivers.py`` holds the signatures equal).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["RegisterDriver", "TileDriver", "ChipDriver"]


@runtime_checkable
class RegisterDriver(Protocol):
    async def csr_write(self, address: int, data: int, strobe: int = 0xF) -> int:
        """One 32-bit AXI4-Lite write; returns the response (0 OKAY, 2 SLVERR)."""

    async def csr_read(self, address: int) -> tuple[int, int]:
        """One 32-bit AXI4-Lite read; returns (data, response)."""


@runtime_checkable
class TileDriver(RegisterDriver, Protocol):
    async def configure(self, config) -> None:
        """Write the registers that take the tile to a ``TileConfig``."""

    async def program_row(self, row: int, codes_row) -> None:
        """A row write of conductance codes (``prog`` stream)."""

    async def program(self, codes) -> None:
        """Row writes of every row."""

    async def program_targets(self, row: int, targets) -> int:
        """Closed-loop programming of one row; cycles until ``prog_busy`` falls."""

    async def mvm(self, words, *args, **kwargs):
        """One MVM: (y, latency in cycles from the input handshake to ``y.valid``)."""

    async def calibrate(self, cmd: int) -> tuple[int, int]:
        """Write ``CAL_CMD``; (response, cycles ``busy`` was high)."""

    async def wait_idle(self) -> None:
        """Wait until the tile is not busy."""


@runtime_checkable
class ChipDriver(RegisterDriver, Protocol):
    async def program(self, tile: int, codes) -> None:
        """Row writes of a tile's codes through the programming stream."""

    async def configure(self, tile: int, config) -> None:
        """Write the registers that take tile ``tile`` to a ``TileConfig``."""

    async def set_pair_modes(self, modes) -> None:
        """``PAIR_CTRL`` of every pair."""

    async def route(self, routing) -> int:
        """Stage and commit a routing, wait for its check; returns ``ROUTE_STATUS``."""

    async def stream(self, beats, *args, **kwargs):
        """Offer ``[(pair, words)]`` back to back; (handshake cycles, [(cycle, pair, words)])
        with cycle 0 the first beat's offer."""

    async def reset(self, cycles: int = 2) -> None:
        """Hold the reset; the golden register model resets too."""
