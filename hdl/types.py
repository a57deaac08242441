"""Every layout, enum and signature the tile's blocks share; bit positions live only here."""
from amaranth.hdl import unsigned
from amaranth.lib import data, enum, wiring, stream
from amaranth.lib.wiring import In, Out

from golden import program as gprog
from golden import spec as gspec
from golden.spec import TileParams

__all__ = [
    "InputMode", "InputSource", "Activation", "Phase", "ProgPhase",
    "PulseLanesSignature", "input_layout", "output_layout", "cell_layout", "row_write_layout",
    "any_of",
]


class InputMode(enum.Enum, shape=1):
    UNSIGNED = int(gspec.InputMode.UNSIGNED)
    SIGNED = int(gspec.InputMode.SIGNED)


class InputSource(enum.Enum, shape=1):
    HOST = int(gspec.InputSource.HOST)
    LANES = int(gspec.InputSource.LANES)


class Activation(enum.Enum, shape=3):
    RELU = int(gspec.Activation.RELU)
    IDENTITY = int(gspec.Activation.IDENTITY)
    HARD_SIGMOID = int(gspec.Activation.HARD_SIGMOID)
    WINDOW = int(gspec.Activation.WINDOW)


class Phase(enum.Enum, shape=3):
    IDLE = int(gspec.Phase.IDLE)
    INTEGRATE = int(gspec.Phase.INTEGRATE)
    EVALUATE = int(gspec.Phase.EVALUATE)
    CONVERT = int(gspec.Phase.CONVERT)
    EMIT = int(gspec.Phase.EMIT)
    OUTPUT = int(gspec.Phase.OUTPUT)
    CALIBRATE = int(gspec.Phase.CALIBRATE)


class ProgPhase(enum.Enum, shape=3):
    IDLE = int(gprog.ProgPhase.IDLE)
    RESET = int(gprog.ProgPhase.RESET)
    MSP = int(gprog.ProgPhase.MSP)
    REMAINDER = int(gprog.ProgPhase.REMAINDER)
    LSP = int(gprog.ProgPhase.LSP)
    EVALUATE = int(gprog.ProgPhase.EVALUATE)
    RESULT = int(gprog.ProgPhase.RESULT)


class PulseLanesSignature(wiring.Signature):
    """A bus of duration-coded lanes, from the driver's side.

    Members
    -------
    pulse : Out(lanes)
        One wire per lane, high for the lane's duration from the window's first tick.
    sign : Out(lanes)
        Polarity of each lane (1: the lane's cells subtract charge).
    window : Out(1)
        High for the whole pulse window (longest duration + 1 ticks).
    """
    def __init__(self, lanes: int):
        if not isinstance(lanes, int) or lanes < 1:
            raise TypeError(f"Lane count must be a positive integer, not {lanes!r}")
        self.lanes = lanes
        super().__init__({"pulse": Out(lanes), "sign": Out(lanes), "window": Out(1)})

    def __eq__(self, other):
        return isinstance(other, PulseLanesSignature) and other.lanes == self.lanes

    def __repr__(self):
        return f"PulseLanesSignature({self.lanes})"


def input_layout(p: TileParams) -> data.ArrayLayout:
    """Payload of the ``x`` stream: ``rows`` raw input words (interpreted per CTRL.input_mode)."""
    return data.ArrayLayout(unsigned(p.in_bits), p.rows)


def output_layout(p: TileParams) -> data.ArrayLayout:
    """Payload of the ``y`` stream: ``cols`` output words."""
    return data.ArrayLayout(unsigned(p.out_bits), p.cols)


def cell_layout(p: TileParams) -> data.StructLayout:
    """Conductance codes of one unit cell, in ``TileParams.cell_fields`` order (LSB first)."""
    return data.StructLayout({name: unsigned(p.code_bits) for name in p.cell_fields})


def row_write_layout(p: TileParams) -> data.StructLayout:
    """Payload of the ``prog`` stream: one row index and that row's codes for every column."""
    return data.StructLayout({
        "row": unsigned(gspec.ROW_INDEX_BITS),
        "codes": data.ArrayLayout(cell_layout(p), p.cols),
    })


def any_of(bits):
    """OR of many 1-bit values as a balanced tree (a 512-deep chain overflows Python's
    recursion limit in Amaranth's transformers; one wide ``Cat(...) != 0`` costs Verilator a
    wide concatenation per evaluation)."""
    bits = list(bits)
    if not bits:
        raise ValueError("any_of needs at least one value")
    while len(bits) > 1:
        bits = [bits[i] | bits[i + 1] if i + 1 < len(bits) else bits[i]
                for i in range(0, len(bits), 2)]
    return bits[0]
