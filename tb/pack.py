"""Pack NumPy arrays into the flat integers of the tile's ports, and back.

Bit positions follow the layouts of ``hdl/types.py`` (element 0 and the first struct field at
the least significant bits); ``tests/test_pack.py`` holds the two equal.

Every helper refuses a value it would otherwise wrap or truncate (a float, a bool, a word that
does not fit its field) with an error naming the argument, the value and the legal range.
"""
import numpy as np

from golden.regs import ADDR_BITS
from golden.spec import ROW_INDEX_BITS, TileParams, check_int, check_int_array, check_params

__all__ = ["pack_words", "unpack_words", "pack_row_write", "pack_targets",
           "csr_request", "ROW_INDEX_BITS", "CSR_ADDRESS_BITS", "MAX_FIELD_BITS"]

#: Width of an AXI4-Lite address of the tile.
CSR_ADDRESS_BITS = ADDR_BITS
#: Widest field the helpers pack (fields are handled as int64).
MAX_FIELD_BITS = 63


def pack_words(values, bits: int) -> int:
    """Concatenate ``values`` (element 0 lowest) as ``bits``-wide fields: a value in
    ``[-2^(bits-1), -1]`` is written in two's complement, one in ``[0, 2^bits - 1]`` as is;
    anything else does not fit and raises ``ValueError``."""
    bits = check_int("bits", bits, 1, MAX_FIELD_BITS)
    v = check_int_array("values", values, -(1 << (bits - 1)), (1 << bits) - 1).ravel()
    v = v & ((1 << bits) - 1)
    if bits in (8, 16, 32):
        return int.from_bytes(v.astype(f"<u{bits // 8}").tobytes(), "little")
    flat = ((v[:, None] >> np.arange(bits)) & 1).astype(np.uint8).ravel()
    return int.from_bytes(np.packbits(flat, bitorder="little").tobytes(), "little")


def unpack_words(value: int, count: int, bits: int, signed: bool = False) -> np.ndarray:
    """Split a flat integer (``count * bits`` wide) into ``count`` fields of ``bits`` (inverse
    of :func:`pack_words`); ``signed`` reads them as two's complement."""
    count = check_int("count", count, 0)
    bits = check_int("bits", bits, 1, MAX_FIELD_BITS)
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"signed must be a bool, not {signed!r}")
    value = check_int("value", value, 0, (1 << (count * bits)) - 1)
    nbytes = (count * bits + 7) // 8
    raw = np.frombuffer(value.to_bytes(nbytes, "little"), dtype=np.uint8)
    if bits in (8, 16, 32):
        out = raw.view(f"<u{bits // 8}")[:count].astype(np.int64)
    else:
        b = np.unpackbits(raw, bitorder="little")[: count * bits].reshape(count, bits)
        out = (b.astype(np.int64) << np.arange(bits)).sum(axis=1)
    if signed:
        out = np.where(out >= 1 << (bits - 1), out - (1 << bits), out)
    return out


def pack_row_write(params: TileParams, row: int, codes_row) -> int:
    """Payload of the ``prog`` stream: row index (any 16-bit value: the tile flags a row
    >= rows), then the (cols, devices_per_weight) codes, each in [0, code_max]."""
    check_params(params)
    codes_row = np.asarray(codes_row)
    if codes_row.shape != (params.cols, params.devices_per_weight):
        raise ValueError(f"codes_row must have shape ({params.cols}, "
                         f"{params.devices_per_weight}), not {codes_row.shape}")
    codes_row = check_int_array("codes_row", codes_row, 0, params.code_max)
    row = check_int("row", row, 0, (1 << ROW_INDEX_BITS) - 1)
    return row | pack_words(codes_row, params.code_bits) << ROW_INDEX_BITS


def pack_targets(params: TileParams, row: int, targets) -> int:
    """Payload of the ``target`` stream: row index, then ``cols`` signed target weights (any
    value that fits the field, legal or not: the tile checks them)."""
    check_params(params)
    t = np.asarray(targets)
    if t.shape != (params.cols,):
        raise ValueError(f"targets must have shape ({params.cols},), not {t.shape}")
    bits = params.target_bits
    t = check_int_array("targets", t, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    row = check_int("row", row, 0, (1 << ROW_INDEX_BITS) - 1)
    return row | pack_words(t, bits) << ROW_INDEX_BITS


def csr_request(address: int, data: int | None = None, strobe: int = 0xF, *,
                address_bits: int = CSR_ADDRESS_BITS):
    """``(address, data, strobe)`` of an AXI4-Lite request, checked: an ``address_bits`` wide
    address (the tile's 16 by default), 32-bit unsigned data (None for a read), a 4-bit byte
    strobe. Drivers call it before touching the bus, so a bad request fails at once instead of
    being wrapped into another one."""
    address = check_int("address", address, 0, (1 << address_bits) - 1)
    if data is not None:
        data = check_int("data", data, 0, (1 << 32) - 1)
    strobe = check_int("strobe", strobe, 0, 0xF)
    return address, data, strobe
