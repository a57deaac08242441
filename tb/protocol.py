"""The driver protocol: what every driver of the tile and of the chip offers a test.

The amaranth.sim drivers (``tb.simdrv.SimTileDriver``, ``tb.chipsim.SimChipDriver``) and the
cocotb drivers (``tb.cocotbdrv.TileTB``, ``tb.chipdrv.ChipTB``) implement these methods with
the same names, arguments and results, so a scenario written against the protocol runs on any
backend (``tests/test_drivers.py`` holds the signatures equal).
"""
from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["RegisterDriver", "TileDriver", "ChipDriver", "Traffic", "check_pauses"]


class Traffic(NamedTuple):
    """What a chip driver's ``stream`` saw, cycles counted from the first beat's offer (0):
    the cycle of every input handshake, every output as (cycle, pair, words), and the
    environment's own behaviour that the golden chip needs to predict the rest: ``gaps[i]``
    idle cycles before beat i was offered (after the cycle it could have been) and the
    ``stalls``, cycles on which the host was not ready for output words."""
    handshakes: list
    outputs: list
    gaps: list
    stalls: list


def check_pauses(pause_in, pause_out) -> None:
    """A stream's pause chances: probabilities in [0, 1)."""
    for name, value in (("pause_in", pause_in), ("pause_out", pause_out)):
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name} must be a probability in [0, 1), not {value!r}")


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

    async def program_targets(self, tile: int, row: int, targets) -> None:
        """One closed-loop target row of a tile through the programming stream."""

    async def wait_idle(self) -> None:
        """Wait until no tile is busy."""

    async def configure(self, tile: int, config) -> None:
        """Write the registers that take tile ``tile`` to a ``TileConfig``."""

    async def set_pair_modes(self, modes) -> None:
        """``PAIR_CTRL`` of every pair."""

    async def route(self, routing) -> int:
        """Stage and commit a routing, wait for its check; returns ``ROUTE_STATUS``."""

    async def stream(self, beats, *, stop_after: int | None = None, pause_in: float = 0.0,
                     pause_out: float = 0.0, seed: int = 0) -> Traffic:
        """Offer ``[(pair, words)]`` (the first on cycle 0) and collect the outputs until the
        chip is idle (or until cycle ``stop_after``). ``pause_in``: the chance that the source
        holds a beat back on a cycle it could offer it; ``pause_out``: the chance that the host
        is not ready on a cycle (both drawn from ``seed``; 0: back to back, always ready)."""

    async def reset(self, cycles: int = 2) -> None:
        """Hold the reset; the golden register model resets too."""
