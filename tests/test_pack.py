"""tb.pack agrees with the hdl/types.py layouts bit for bit, and round-trips."""
import numpy as np
import pytest

from golden.spec import TileParams
from hdl.types import input_layout, output_layout, row_write_layout
from tb.pack import pack_row_write, pack_targets, pack_words, unpack_words


@pytest.mark.parametrize("bits", [1, 3, 8, 11, 16, 32])
def test_words_round_trip(bits, seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 1 << bits, size=37)
    assert (unpack_words(pack_words(values, bits), 37, bits) == values).all()
    signed = values - (1 << (bits - 1))
    if bits > 1:
        assert (unpack_words(pack_words(signed, bits), 37, bits, signed=True) == signed).all()


@pytest.mark.parametrize("params", [
    TileParams(rows=5, cols=3, in_bits=4, out_bits=6, code_bits=3),
    TileParams(rows=2, cols=4, devices_per_weight=2, code_bits=5),
])
def test_matches_amaranth_layouts(params, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 1 << params.in_bits, size=params.rows)
    assert pack_words(x, params.in_bits) == \
        input_layout(params).const([int(v) for v in x]).as_value().value
    y = rng.integers(0, 1 << params.out_bits, size=params.cols)
    assert pack_words(y, params.out_bits) == \
        output_layout(params).const([int(v) for v in y]).as_value().value
    codes = rng.integers(0, params.code_max + 1, size=(params.cols, params.devices_per_weight))
    const = row_write_layout(params).const({
        "row": 3,
        "codes": [dict(zip(params.cell_fields, (int(v) for v in cell))) for cell in codes],
    })
    assert pack_row_write(params, 3, codes) == const.as_value().value


def test_row_write_rejects_bad_shapes():
    p = TileParams(rows=2, cols=3)
    with pytest.raises(ValueError, match=r"codes_row must have shape \(3, 4\), not \(3, 2\)"):
        pack_row_write(p, 0, np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match=r"row must be in \[0, 65535\], not 65536"):
        pack_row_write(p, 1 << 16, np.zeros((3, 4), dtype=int))


P = TileParams(rows=2, cols=3, code_bits=3)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: pack_words([300], 8), ValueError, r"values\[0\] = 300 is outside \[-128, 255\]"),
    (lambda: pack_words([1, -129], 8), ValueError, r"values\[1\] = -129 is outside \[-128, 255\]"),
    (lambda: pack_words([1.7], 8), TypeError,
     r"values must be an integer array with values in \[-128, 255\], not dtype float64"),
    (lambda: pack_words([True], 8), TypeError, "values must be an integer array"),
    (lambda: pack_words([1], 8.0), TypeError, r"bits must be an integer in \[1, 63\], not 8.0"),
    (lambda: pack_words([1], 0), ValueError, r"bits must be in \[1, 63\], not 0"),
    (lambda: unpack_words(3.9, 1, 8), TypeError, r"value must be an integer in \[0, 255\], not 3.9"),
    (lambda: unpack_words(-1, 1, 8), ValueError, r"value must be in \[0, 255\], not -1"),
    (lambda: unpack_words(1 << 16, 2, 7), ValueError, r"value must be in \[0, 16383\], not 65536"),
    (lambda: unpack_words(1, 2.0, 8), TypeError, "count must be an integer"),
    (lambda: unpack_words(1, 1, 8, signed=1), TypeError, "signed must be a bool, not 1"),
    (lambda: pack_row_write(P, 0, -np.ones((3, 4), int)), ValueError,
     r"codes_row\[0, 0\] = -1 is outside \[0, 7\]"),
    (lambda: pack_row_write(P, 0, np.full((3, 4), 8)), ValueError,
     r"codes_row\[0, 0\] = 8 is outside \[0, 7\]"),
    (lambda: pack_row_write(P, 0, np.full((3, 4), 1.5)), TypeError,
     r"codes_row must be an integer array with values in \[0, 7\], not dtype float64"),
    (lambda: pack_row_write(P, True, np.ones((3, 4), int)), TypeError,
     r"row must be an integer in \[0, 65535\], not True"),
    (lambda: pack_row_write(P, 1.0, np.ones((3, 4), int)), TypeError, "row must be an integer"),
    (lambda: pack_row_write(None, 0, np.ones((3, 4), int)), TypeError,
     "params must be a TileParams, not None"),
    (lambda: pack_targets(P, 0, np.array([0.5, 1, 2])), TypeError,
     r"targets must be an integer array with values in \[-16, 15\], not dtype float64"),
    (lambda: pack_targets(P, 0, np.array([0, 16, 2])), ValueError,
     r"targets\[1\] = 16 is outside \[-16, 15\]"),
    (lambda: pack_targets(P, -1, np.zeros(3, int)), ValueError,
     r"row must be in \[0, 65535\], not -1"),
])
def test_packing_refuses_what_it_would_wrap_or_truncate(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_packing_takes_both_signs_that_fit():
    assert pack_words([255, -128], 8) == 0x80FF
    assert pack_words(np.array([3], dtype=np.uint8), 2) == 3
    assert unpack_words(0x80FF, 2, 8, signed=True).tolist() == [-1, -128]
    assert pack_row_write(P, 1, np.full((3, 4), 7)) == 1 | ((1 << 36) - 1) << 16
