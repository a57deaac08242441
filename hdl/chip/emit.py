"""Verilog of the chip: the tile module emitted once, the chip top instantiating it.

``python -m hdl.chip.emit --out build/chip`` writes ``tile.v`` (module ``tile``: the clock-gated
tile, ``hdl.tile.Tile(clock_gate=True)``), ``tile_hier.v`` (module ``tile_hier``: a tile position,
the tile behind its row buffer on the programming bus, ``hdl.chip.slot.TileShell``), ``chip.v``
(module ``chip``, one instance of ``tile_hier`` per tile position), ``tile_hier_ports.v``
(module ``tile_hier`` with its ports and nothing inside: ``make lint-chip`` checks the chip's
instances against it, and the tile position once on its own, instead of elaborating every
tile) and, with ``--wrapper``, the HDL-clock testbench wrapper ``chip_tb.v``.
Emitting the tile once keeps the chip's Verilog at one tile's size plus the chip's own logic,
and lets a simulator compile one tile model for all instances.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .chip import SHELL_MODULE, TILE_MODULE

__all__ = ["emit_chip", "main", "add_chip_arguments", "chip_params_from_args"]

CHIP_MODULE = "chip"


def _say(message: str, start: float) -> None:
    print(f"hdl.chip.emit: {message} ({time.perf_counter() - start:.1f} s)", flush=True)


def emit_chip(params, out, *, wrapper: bool = False, quiet: bool = False) -> dict:
    """Write ``tile.v`` and ``chip.v`` (and ``chip_tb.v``) into ``out``; return the paths, the
    sizes and the seconds each step took."""
    from hdl.tile import Tile
    from hdl.verilog import emit, module_ports, port_stub, verilog_ports, write_wrapper
    from .chip import Chip, TileShell

    out = Path(out)
    start = time.perf_counter()
    report = {}
    say = (lambda message: None) if quiet else (lambda message: _say(message, start))
    say(f"emitting module {TILE_MODULE} ({params.tile.rows} x {params.tile.cols}, clock-gated)")
    text = emit(Tile(params.tile, clock_gate=True), TILE_MODULE, out / f"{TILE_MODULE}.v",
                progress=lambda line: say(f"  {TILE_MODULE}: {line}"))
    report["tile"] = (out / f"{TILE_MODULE}.v", len(text), time.perf_counter() - start)
    say(f"{TILE_MODULE}.v: {len(text) / 1e6:.2f} MB")
    mark = time.perf_counter()
    say(f"emitting module {SHELL_MODULE} (a tile position)")
    text = emit(TileShell(params), SHELL_MODULE, out / f"{SHELL_MODULE}.v")
    report["shell"] = (out / f"{SHELL_MODULE}.v", len(text), time.perf_counter() - mark)
    stub = out / f"{SHELL_MODULE}_ports.v"
    stub.write_text(port_stub(SHELL_MODULE, verilog_ports(text, SHELL_MODULE)))
    report["shell_ports"] = (stub, stub.stat().st_size, 0.0)
    mark = time.perf_counter()
    say(f"emitting module {CHIP_MODULE} ({params.grid_rows} x {params.grid_cols} grid, "
        f"{params.tiles} tiles, {params.pairs} pairs)")
    chip = Chip(params, tile_module=TILE_MODULE)
    text = emit(chip, CHIP_MODULE, out / f"{CHIP_MODULE}.v",
                progress=lambda line: say(f"  {CHIP_MODULE}: {line}"))
    report["chip"] = (out / f"{CHIP_MODULE}.v", len(text), time.perf_counter() - mark)
    say(f"{CHIP_MODULE}.v: {len(text) / 1e6:.2f} MB")
    if wrapper:
        ports = module_ports(chip, text, CHIP_MODULE)
        name = write_wrapper(out / f"{CHIP_MODULE}_tb.v", CHIP_MODULE, ports)
        report["wrapper"] = (out / f"{name}.v", 0, 0.0)
        say(f"wrapper {name}.v")
    return report


def add_chip_arguments(parser: argparse.ArgumentParser) -> None:
    """The chip-geometry options (defaults: docs/chip.md section 1) and the tile's."""
    from golden.chip.params import PROG_BUS_MAX, ChipParams
    from hdl.verilog import add_size_arguments
    add_size_arguments(parser)
    d = ChipParams.__dataclass_fields__
    parser.add_argument("--grid", default=f"{d['grid_rows'].default}x{d['grid_cols'].default}",
                        help="grid rows x columns, e.g. 2x2")
    parser.add_argument("--empty", default=";".join(f"{r},{c}" for r, c in
                                                    d["empty"].default),
                        help="positions without a tile, 'row,col;row,col' ('' for none)")
    parser.add_argument("--group-lanes", type=int, default=d["group_lanes"].default)
    parser.add_argument("--pair-rows", default=",".join(map(str, d["pair_rows"].default)),
                        help="grid row of each ILP/OLP pair, e.g. 0,1")
    parser.add_argument("--prog-bus-bits", type=int, default=d["prog_bus_bits"].default,
                        help=f"width of the programming bus to every tile position, 1.."
                             f"{PROG_BUS_MAX} (default {d['prog_bus_bits'].default})")


def chip_params_from_args(parser, args):
    """ChipParams of parsed options; an illegal value exits with ChipParams' message."""
    from golden.chip.params import ChipParams
    from hdl.verilog import params_from_args
    tile = params_from_args(parser, args)
    if tile.fault_injection:
        parser.error("--fault-injection: the chip's tiles are built without the fault-injection "
                     "hardware (docs/faults.md); inject faults on a tile (python -m hdl.verilog "
                     "--fault-injection)")
    try:
        rows, cols = (int(v) for v in args.grid.lower().split("x"))
    except ValueError:
        parser.error(f"--grid must be ROWSxCOLS with integers, e.g. 6x6, not {args.grid!r}")
    try:
        empty = tuple(tuple(int(v) for v in pos.split(",")) for pos in args.empty.split(";")
                      if pos.strip())
        pair_rows = tuple(int(v) for v in args.pair_rows.split(",") if v.strip())
    except ValueError:
        parser.error(f"--empty must be 'row,col;...' and --pair-rows 'row,...' with integers, "
                     f"not {args.empty!r} / {args.pair_rows!r}")
    try:
        return ChipParams(tile=tile, grid_rows=rows, grid_cols=cols, empty=empty,
                          group_lanes=args.group_lanes, pair_rows=pair_rows,
                          prog_bus_bits=args.prog_bus_bits)
    except (TypeError, ValueError) as error:
        parser.error(str(error))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hdl.chip.emit",
        description="Emit the chip: DIR/tile.v (the tile, once) and DIR/chip.v.")
    add_chip_arguments(parser)
    parser.add_argument("--out", default="build/chip", metavar="DIR")
    parser.add_argument("--wrapper", action="store_true",
                        help="also write DIR/chip_tb.v, the HDL-clock testbench wrapper")
    args = parser.parse_args(argv)
    params = chip_params_from_args(parser, args)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        parser.error(f"--out {str(out)!r} is not a writable directory: {error}")
    emit_chip(params, out, wrapper=args.wrapper)
    return 0


if __name__ == "__main__":
    sys.exit(main())
