"""Golden model of the chip: a grid of tiles on a circuit-switched pulse mesh (docs/chip.md).

``params`` (ChipParams), ``routing`` (the switch set, its legality check and route
resolution), ``regs`` (the chip's register map and register model) and ``model`` (Chip: the
functional and cycle result of every pass). Pure NumPy, like the rest of ``golden``.
"""
from .model import (Arrival, BadDest, BatchResult, Chip, Collision, IlpEvent, OlpOutput,
                    StreamResult, TileRun, Window)
from .params import ChipParams
from .regs import (CHIP_MAP, ChipErrorBit, ChipRegisterFile, RouteVerdict, chip_address,
                   tile_address)
from .routing import (CheckResult, Endpoint, Feed, Reach, Routing, RoutingError, Sources, Switch,
                      check, ilp, olp, path, resolve, tile)

__all__ = [
    "Arrival", "BadDest", "BatchResult", "Chip", "Collision", "IlpEvent", "OlpOutput",
    "StreamResult", "TileRun", "Window", "ChipParams", "CHIP_MAP", "ChipErrorBit",
    "ChipRegisterFile", "RouteVerdict", "chip_address", "tile_address", "CheckResult",
    "Endpoint", "Feed", "Reach", "Routing", "RoutingError", "Sources", "Switch", "check", "ilp",
    "olp", "path", "resolve", "tile",
]
