"""golden.chip parameters and routing: validation, route builders, the legality classes of
docs/chip.md section 3 (each with a minimal broken example and a legal counterexample), reach,
route resolution and JSON."""
import json

import numpy as np
import pytest

from golden.chip import (ChipParams, Routing, RoutingError, Switch, check, ilp, olp, path, resolve,
                         tile)
from golden.chip.routing import Endpoint, Feed, switch_exists
from golden.spec import InputSource, TileParams

SMALL = TileParams(rows=8, cols=8, in_bits=4, out_bits=4, code_bits=3, charge_bits=12)


def grid(rows, cols, pair_rows=(0,), empty=()):
    return ChipParams(tile=SMALL, grid_rows=rows, grid_cols=cols, empty=empty, group_lanes=4,
                      pair_rows=pair_rows)


# -- parameters --------------------------------------------------------------------------------

def test_default_params_are_the_documented_chip():
    p = ChipParams()
    assert (p.grid_rows, p.grid_cols, p.tiles, p.lanes, p.groups, p.pairs) == (6, 6, 34, 512, 2, 6)
    assert p.positions[0] == (0, 0) and p.positions[33] == (5, 3)
    assert p.tile_at(5, 4) is None and p.tile_index(1, 2) == 8 and p.position(8) == (1, 2)
    assert p.pair_at(3) == 3 and p.group_slice(1) == slice(256, 512)
    # loop-check nodes: H 6*7*2 + V 7*6*2 + 34 tiles + 6 ILPs + 6 OLPs; the check adds 2 cycles
    assert p.graph_nodes == 84 + 84 + 34 + 12 == 214
    assert p.check_cycles == 216


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(grid_rows=17), ValueError, r"grid_rows must be in \[1, 16\], not 17"),
    (dict(grid_cols=0), ValueError, r"grid_cols must be in \[1, 16\], not 0"),
    (dict(grid_rows=2.0), TypeError, r"grid_rows must be an integer in \[1, 16\], not 2.0"),
    (dict(empty=((6, 0),)), ValueError,
     r"empty\[0\] = \(6, 0\) is outside the grid: rows in \[0, 5\], cols in \[0, 5\]"),
    (dict(empty=((1, 1), (1, 1))), ValueError, r"empty\[1\] = \(1, 1\) repeats a position"),
    (dict(grid_rows=1, grid_cols=1, empty=((0, 0),), pair_rows=(0,)), ValueError,
     "empty must leave at least one tile"),
    (dict(group_lanes=100), ValueError, r"group_lanes must divide lanes \(512\), not 100"),
    (dict(group_lanes=32), ValueError,
     r"group_lanes must be at least lanes / 8 = 64 \(at most 8 groups\), not 32"),
    (dict(group_lanes=1024), ValueError, r"group_lanes must be in \[1, 512\], not 1024"),
    (dict(pair_rows=()), ValueError, "pair_rows must name at least one row"),
    (dict(pair_rows=(0, 6)), ValueError, r"pair_rows\[1\] must be in \[0, 5\], not 6"),
    (dict(pair_rows=(2, 2)), ValueError, r"pair_rows must be distinct rows, not \(2, 2\)"),
    (dict(tile=TileParams(rows=8, cols=4)), ValueError,
     "tile must have rows == cols .* not rows=8, cols=4"),
    (dict(tile=None), TypeError, "tile must be a TileParams, not None"),
    (dict(prog_bus_bits=0), ValueError, r"prog_bus_bits must be in \[1, 4096\], not 0"),
    (dict(prog_bus_bits=4097), ValueError, r"prog_bus_bits must be in \[1, 4096\], not 4097"),
    (dict(prog_bus_bits=512.0), TypeError,
     r"prog_bus_bits must be an integer in \[1, 4096\], not 512.0"),
])
def test_params_validation_names_argument_value_and_range(kwargs, error, message):
    with pytest.raises(error, match=message):
        ChipParams(**kwargs)


@pytest.mark.parametrize("bus", [1, 7, 512, 4096])
def test_programming_bus_chunks_cover_the_payloads_the_rtl_carries(bus):
    """``prog_chunks``: ceil(payload / bus) for both kinds of beat, the payload widths those of
    the tile's ``prog`` and ``target`` streams (hdl layouts); 16,400 and 5,136 bits at the
    defaults."""
    from hdl.programmer import command_layout
    from hdl.types import row_write_layout
    p = ChipParams(prog_bus_bits=bus)
    assert p.row_write_bits == row_write_layout(p.tile).size
    assert p.target_row_bits == command_layout(p.tile).size
    for target, bits in ((False, p.row_write_bits), (True, p.target_row_bits)):
        n = p.prog_chunks(target)
        assert (n - 1) * bus < bits <= n * bus
    if bus == 512:
        assert (p.row_write_bits, p.target_row_bits) == (16400, 5136)
        assert (p.prog_chunks(False), p.prog_chunks(True)) == (33, 11)
    with pytest.raises(TypeError, match="target must be a bool, not 1"):
        p.prog_chunks(1)


def test_params_accept_lists_and_stay_hashable():
    a = ChipParams(empty=[[5, 4], [5, 5]], pair_rows=[0, 1, 2, 3, 4, 5])
    assert a == ChipParams() and hash(a) == hash(ChipParams())
    with pytest.raises(ValueError, match=r"position \(5, 5\) is empty"):
        a.tile_index(5, 5)


# -- paths -------------------------------------------------------------------------------------

def test_path_turns_once_and_wraps_where_it_must():
    p = grid(3, 3, pair_rows=(0, 1))
    # ILP 0 (row 0) to the tile at (2, 1): east to column 1, north to row 2
    assert path(p, ilp(0), tile(p.tile_index(2, 1))) == [
        Switch("ilp_drive", 0, None), Switch("pass_e", 0, 0), Switch("turn_n", 0, 1),
        Switch("pass_n", 1, 1), Switch("take_s", 2, 1)]
    # tile (1, 2) to tile (1, 0): east through the wrap of row 1
    assert path(p, tile(p.tile_index(1, 2)), tile(p.tile_index(1, 0))) == [
        Switch("drive_e", 1, 2), Switch("wrap_h", 1, None), Switch("take_w", 1, 0)]
    # tile (2, 0) to OLP 1 (row 1): north through the wrap of column 0, east to the row's end
    steps = path(p, tile(p.tile_index(2, 0)), olp(1))
    assert steps == [Switch("drive_n", 2, 0), Switch("wrap_v", None, 0), Switch("pass_n", 0, 0),
                     Switch("turn_e", 1, 0), Switch("pass_e", 1, 1), Switch("pass_e", 1, 2),
                     Switch("olp_take", 1, None)]
    with pytest.raises(ValueError, match="no route with at most one turn from ILP 0 to OLP 1"):
        path(p, ilp(0), olp(1))
    with pytest.raises(ValueError, match="tile 4 cannot feed itself"):
        path(p, tile(4), tile(4))
    with pytest.raises(ValueError, match="source must be ILP or tile, not OLP 0"):
        path(p, olp(0), tile(1))
    with pytest.raises(ValueError, match=r"dest tile index must be in \[0, 8\], not 9"):
        path(p, ilp(0), tile(9))
    with pytest.raises(ValueError, match="drive applies to a tile source"):
        path(p, ilp(0), tile(1), drive="n")


def test_builders_enable_routes_that_resolve():
    p = grid(2, 2, pair_rows=(0, 1))
    r = Routing(p)
    enabled = r.chain(0, [0, 3], olp_pair=1)
    assert all(r[s] for s in enabled) and len(r.switches()) == len(set(enabled))
    res = check(r)
    assert res.ok and res.broken == ()
    assert res.reach[0].tiles == {0, 3} and res.reach[0].olps == {1}
    assert res.reach[1].tiles == frozenset() and res.reach[1].olps == frozenset()
    src = resolve(r)
    assert src.tile_inputs[0] == (Feed(ilp(0), 0),) * 2
    assert src.tile_inputs[3] == (Feed(tile(0), 0),) * 2
    assert src.olp_inputs[1] == (Feed(tile(3), 0),) * 2
    assert src.tile_inputs[1] == (None, None) and src.olp_inputs[0] == (None, None)


def test_resolution_counts_the_wraps():
    p = grid(2, 2)
    r = Routing(p)
    r.connect(ilp(0), tile(0))
    r.connect(tile(0), tile(3), drive="n")          # V(1, 0) -> turn_e -> H(1, 1)
    r.connect(tile(3), tile(2))                     # H(1, 2) -> wrap_h -> H(1, 0)
    r.connect(tile(2), olp(0), drive="n")           # V(2, 0) -> wrap_v -> V(0, 0) -> turn_e
    src = resolve(r)
    assert src.tile_inputs[2] == (Feed(tile(3), 1),) * 2
    assert src.olp_inputs[0] == (Feed(tile(2), 1),) * 2
    assert str(src.olp_inputs[0][0]) == "tile 2, 1 wrap"
    assert src.readers(tile(3)) == [(tile(2), 0, 1), (tile(2), 1, 1)]


def test_multicast_and_concatenate():
    p = grid(2, 3, pair_rows=(0, 1))
    r = Routing(p)
    r.multicast(ilp(0), [tile(0), tile(1)])
    # tile 0 (0, 0) north then east on group 0; tile 2 (0, 2) north, east through row 1's wrap
    r.concatenate(tile(4), [(tile(0), 0, "n"), (tile(2), [1], "n")])
    res = check(r)
    assert res.ok, res.reasons()
    assert res.sources.tile_inputs[4] == (Feed(tile(0), 0), Feed(tile(2), 1))
    assert res.reach[0].tiles == {0, 1, 4}          # tile 2 is fed by nobody
    with pytest.raises(ValueError, match=r"groups \[0\] of tile 4 are given twice"):
        Routing(p).concatenate(tile(4), [(tile(0), 0), (tile(2), 0)])
    # a tile multicasting along its row and its column (drive_e and drive_n) to a tile and an
    # OLP of each
    p = grid(3, 3, pair_rows=(0, 2))
    r = Routing(p)
    r.connect(ilp(0), tile(0))
    r.multicast(tile(0), [tile(2), tile(6), olp(0), olp(1)])
    res = check(r)
    assert res.ok, res.reasons()
    assert {s.name for s in r.switches() if s.row == 0 and s.col == 0} >= {"drive_e", "drive_n"}
    assert res.reach[0].tiles == {0, 2, 6} and res.reach[0].olps == {0, 1}
    with pytest.raises(ValueError, match="dests must name at least one destination"):
        r.multicast(tile(0), [])


# -- legality classes --------------------------------------------------------------------------

def test_conflict_minimal_and_legal():
    p = grid(1, 2)
    r = Routing(p)
    r.set(Switch("ilp_drive", 0, None, 0))
    r.set(Switch("take_w", 0, 0, 0))
    assert check(r).ok
    r.set(Switch("wrap_h", 0, None, 0))             # a second driver of H(0, 0) group 0
    res = check(r)
    assert res.broken == ("conflict",)
    assert res.conflict == ("H(0, 0) group 0 has 2 drivers: ilp_drive of row 0 group 0, "
                            "wrap_h of row 0 group 0",)
    assert res.sources is None
    # a tile input group taken from both buses
    r = Routing(p)
    r.connect(ilp(0), tile(0), 0)
    r.set(Switch("take_s", 0, 0, 0))
    assert check(r).conflict == ("tile 0 at (0, 0) input group 0 has 2 drivers: take_w at "
                                 "(0, 0) group 0, take_s at (0, 0) group 0",)


def test_loop_minimal_and_legal():
    p = grid(2, 2)
    # through segments alone: a ring of passes closed by the wrap of row 1
    r = Routing(p)
    for c in range(2):
        r.set(Switch("pass_e", 1, c, 1))
    assert check(r).broken == ("dead_end",)         # open: H(1, 2) is read by nothing
    r.set(Switch("wrap_h", 1, None, 1))
    res = check(r)
    assert res.broken == ("loop",)
    assert res.loop == ("cycle H(1, 0) group 1 -> H(1, 1) group 1 -> H(1, 2) group 1 -> "
                        "H(1, 0) group 1",)
    assert res.rounds <= p.graph_nodes and res.cycles == p.check_cycles
    # through tiles: tile 0 -> tile 1 -> (north, wraps) -> tile 0
    r = Routing(p)
    r.connect(tile(0), tile(1))
    assert check(r).ok
    r.connect(tile(1), tile(0), drive="n")
    res = check(r)
    assert res.broken == ("loop",)
    assert "tile 0 at (0, 0)" in res.loop[0] and "tile 1 at (0, 1)" in res.loop[0]
    assert len(res.loop) == 1                       # both groups lie on one tied set


def test_not_lanes_minimal_and_legal():
    p = grid(1, 2)
    r = Routing(p)
    r.connect(ilp(0), tile(1), 1)
    assert check(r, lanes_mode=[False, True]).ok
    res = check(r, lanes_mode=[InputSource.LANES, InputSource.HOST])
    assert res.broken == ("not_lanes",)
    assert res.not_lanes == ("tile 1 at (0, 1) takes group 1 (take_w at (0, 1) group 1) but its "
                             "CTRL.input_source is not LANES",)
    with pytest.raises(ValueError, match=r"lanes_mode must have one entry per tile \(2\), not 1"):
        check(r, lanes_mode=[True])


def test_dead_end_minimal_and_legal():
    p = grid(1, 2)
    r = Routing(p)
    r.set(Switch("ilp_drive", 0, None, 0))
    res = check(r)
    assert res.broken == ("dead_end",)
    assert res.dead_end == ("H(0, 0) group 0 is driven (ilp_drive of row 0 group 0) and read "
                            "by nothing",)
    r.set(Switch("take_w", 0, 0, 0))
    assert check(r).ok
    # a segment read by a take and passed on to nothing is still a dead end further on
    r.set(Switch("pass_e", 0, 0, 0))
    assert check(r).dead_end == ("H(0, 1) group 0 is driven (pass_e at (0, 0) group 0) and "
                                 "read by nothing",)


def test_bad_values_are_switches_that_cannot_exist():
    p = grid(2, 2, empty=((1, 1),))
    assert switch_exists(p, Switch("take_w", 1, 1, 0)) == (
        "take_w at (1, 1) group 0: position (1, 1) has no tile")
    assert switch_exists(p, Switch("olp_take", 1, None, 0)) == (
        "olp_take of row 1 group 0: row 1 has no ILP/OLP pair")
    assert switch_exists(p, Switch("pass_e", 1, 1, 0)) is None      # the mesh passes PEs
    r = Routing(p)
    with pytest.raises(ValueError, match=r"cannot enable drive_n at \(1, 1\) group 1: position "
                                         r"\(1, 1\) has no tile"):
        r.set(Switch("drive_n", 1, 1, 1))
    r.edge_w[1, 0, 0] = True                        # ilp_drive of row 1, set as plain data
    res = check(r)
    assert res.bad_value == ("ilp_drive of row 1 group 0: row 1 has no ILP/OLP pair",)
    assert not res.ok and "bad_value: ilp_drive of row 1" in res.reasons()[-1]
    with pytest.raises(RoutingError, match="illegal routing: .*bad_value"):
        resolve(r)


def test_bad_switch_arguments():
    p = grid(1, 2)
    r = Routing(p)
    with pytest.raises(ValueError, match=r"row must be in \[0, 0\], not 1"):
        r.set(Switch("pass_e", 1, 0, 0))
    with pytest.raises(ValueError, match=r"group must be in \[0, 1\], not 2"):
        r[Switch("pass_e", 0, 0, 2)]
    with pytest.raises(ValueError, match="switch name must be one of"):
        r.set(Switch("pass_w", 0, 0, 0))
    with pytest.raises(ValueError, match="wrap_h is a west-edge switch: col must be None"):
        r.set(Switch("wrap_h", 0, 1, 0))
    with pytest.raises(ValueError, match=r"node must have shape \(1, 2, 2, 8\), not \(2, 2\)"):
        Routing(p, node=np.zeros((2, 2), bool))
    with pytest.raises(TypeError, match="endpoint|Endpoint"):
        r.connect(("ilp", 0), tile(0))
    with pytest.raises(ValueError, match="endpoint kind must be"):
        Endpoint("pe", 0)


# -- serialization -----------------------------------------------------------------------------

def test_json_round_trip():
    p = grid(2, 3, pair_rows=(0, 1))
    r = Routing(p)
    r.chain(0, [0, 4, 2], olp_pair=1)
    r.set(Switch("wrap_v", None, 2, 1))
    text = r.to_json(indent=1)
    back = Routing.from_json(text, p)
    assert back == r and back is not r
    assert json.loads(text)["switches"][0] == {"switch": "pass_e", "row": 0, "col": 0,
                                               "group": 0} or json.loads(text)["switches"]
    assert Routing.from_dict(r.to_dict(), p).switches() == r.switches()
    with pytest.raises(ValueError, match="routing grid_cols = 3 does not match the chip's 2"):
        Routing.from_json(text, grid(2, 2, pair_rows=(0, 1)))
    with pytest.raises(ValueError, match="not a routing"):
        Routing.from_dict({"format": "x"}, p)
    bad = r.to_dict()
    bad["switches"].append({"switch": "take_w", "row": 0})
    with pytest.raises(ValueError, match=r"switches\[\d+\] must have switch, row, col and group"):
        Routing.from_dict(bad, p)


def test_random_routings_are_legal_and_varied(seed):
    """golden.chip.routing.random_routing: every routing passes the check with its pairs
    reaching an OLP; over 60 draws on a 2 x 2 chip chains, multicast and concatenation all
    occur; bad arguments are named."""
    from golden.chip.routing import random_routing
    from tests.test_sim_chip_mesh import GRIDS
    p = GRIDS["2x2"]
    rng = np.random.default_rng(seed)
    kinds = set()
    for _ in range(60):
        r, what = random_routing(rng, p, lanes_tiles=[0, 1, 3])
        result = check(r, lanes_mode=[True, True, False, True])
        assert result.ok, (what, result.reasons())
        assert any(result.reach[k].olps for k in range(p.pairs))
        assert not any(result.reach[k].tiles & {2} for k in range(p.pairs)), what
        kinds |= {part.split(":")[0] for part in what.split("; ")}
    assert kinds == {"chain", "multicast", "concatenation"}, kinds
    with pytest.raises(ValueError, match=r"lanes_tiles\[0\] must be in \[0, 3\], not 4"):
        random_routing(rng, p, lanes_tiles=[4])
    with pytest.raises(ValueError, match="lanes_tiles must name at least one tile"):
        random_routing(rng, p, lanes_tiles=[])
