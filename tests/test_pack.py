"""tb.pack agrees with the hdl/types.py layouts bit for bit, and round-trips."""
import numpy as np
import pytest

from golden.spec import TileParams
from hdl.types import input_layout, output_layout, row_write_layout
from tb.pack import pack_row_write, pack_words, unpack_words


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
    with pytest.raises(ValueError, match="does not fit the 16-bit row field"):
        pack_row_write(p, 1 << 16, np.zeros((3, 4), dtype=int))
