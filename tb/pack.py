"""Pack NumPy arrays into the flat integers of the tile's ports, and back.

Bit positions follow the layouts of ``hdl/types.py`` (element 0 and the first struct field at
the least significant bits); ``tests/test_pack.py`` holds the two equal.
"""
import numpy as np

from golden.spec import ROW_INDEX_BITS, TileParams

__all__ = ["pack_words", "unpack_words", "pack_row_write", "pack_targets",
           "ROW_INDEX_BITS"]



def pack_words(values, bits: int) -> int:
    """Concatenate ``values`` (element 0 lowest) as ``bits``-wide two's complement fields."""
    v = np.asarray(values).astype(np.int64).ravel() & ((1 << bits) - 1)
    if bits in (8, 16, 32):
        return int.from_bytes(v.astype(f"<u{bits // 8}").tobytes(), "little")
    flat = ((v[:, None] >> np.arange(bits)) & 1).astype(np.uint8).ravel()
    return int.from_bytes(np.packbits(flat, bitorder="little").tobytes(), "little")


def unpack_words(value: int, count: int, bits: int, signed: bool = False) -> np.ndarray:
    """Split a flat integer into ``count`` fields of ``bits`` (inverse of :func:`pack_words`)."""
    nbytes = (count * bits + 7) // 8
    raw = np.frombuffer(int(value).to_bytes(nbytes, "little"), dtype=np.uint8)
    if bits in (8, 16, 32):
        out = raw.view(f"<u{bits // 8}")[:count].astype(np.int64)
    else:
        b = np.unpackbits(raw, bitorder="little")[: count * bits].reshape(count, bits)
        out = (b.astype(np.int64) << np.arange(bits)).sum(axis=1)
    if signed:
        out = np.where(out >= 1 << (bits - 1), out - (1 << bits), out)
    return out


def pack_row_write(params: TileParams, row: int, codes_row) -> int:
    """Payload of the ``prog`` stream: row index, then (cols, devices_per_weight) codes."""
    codes_row = np.asarray(codes_row)
    if codes_row.shape != (params.cols, params.devices_per_weight):
        raise ValueError(f"codes_row must have shape ({params.cols}, "
                         f"{params.devices_per_weight}), not {codes_row.shape}")
    if not 0 <= row < 1 << ROW_INDEX_BITS:
        raise ValueError(f"row index {row} does not fit the {ROW_INDEX_BITS}-bit row field")
    return row | pack_words(codes_row, params.code_bits) << ROW_INDEX_BITS


def pack_targets(params: TileParams, row: int, targets) -> int:
    """Payload of the ``target`` stream: row index, then ``cols`` signed target weights (any
    value that fits the field, legal or not: the tile checks them)."""
    t = np.asarray(targets)
    if t.shape != (params.cols,):
        raise ValueError(f"targets must have shape ({params.cols},), not {t.shape}")
    bits = params.target_bits
    if t.size and (t.min() < -(1 << (bits - 1)) or t.max() >= 1 << (bits - 1)):
        raise ValueError(f"targets must fit {bits}-bit two's complement fields")
    if not 0 <= row < 1 << ROW_INDEX_BITS:
        raise ValueError(f"row index {row} does not fit the {ROW_INDEX_BITS}-bit row field")
    return row | pack_words(t, bits) << ROW_INDEX_BITS
