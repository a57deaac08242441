"""Bit-exact integer NumPy reference of the PCM analog-AI tile (see docs/spec.md)."""
from .spec import (Activation, ErrorBit, InputMode, InputSource, Phase, TileConfig,
                   TileParams)
from .tile import MvmResult, Tile
from .timing import Timing, mvm_timing

__all__ = [
    "Activation", "ErrorBit", "InputMode", "InputSource", "Phase", "TileConfig", "TileParams",
    "MvmResult", "Tile", "Timing", "mvm_timing",
]
