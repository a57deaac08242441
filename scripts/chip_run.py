"""A routed pass through a chip in Verilator under cocotb: emission, build, pass, figures.

    python scripts/chip_run.py [chip options of hdl.chip.emit] [--chain 0,33] [--beats 2]
                               [--seed 1] [--json build/chip_run.json]

Default: the paper's chip (34 tiles of 512 x 512 on 6 x 6, six pairs). The tile module is
emitted once and instantiated per position; Verilator builds one tile model for all of them.
The pass programs the tiles of ``--chain`` with random codes through the programming stream,
configures them (input from the lanes, ReLU, read noise), routes ILP 0 -> the chain -> OLP 0
and streams ``--beats`` vectors; every output word and cycle is compared with the golden chip.
Prints the emission time and size, the build time and peak memory, and the simulated cycles
per second of the stream (only the chain's tiles active; the others stop their clocks).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from golden.cli import writable_file                                     # noqa: E402
from golden.spec import check_int                                       # noqa: E402
from hdl.chip.emit import add_chip_arguments, chip_params_from_args    # noqa: E402

__all__ = ["run_chip", "main"]


def run_chip(params, chain, beats: int = 2, seed: int = 1, key: str | None = None,
             hierarchical: bool = True) -> dict:
    """Emit (cached), build (cached) and run a routed pass of ``params`` in Verilator; the
    figures as a dict. ``hierarchical``: Verilator builds the tile once as a hierarchical
    block (``hdl.chip.chip.TileShell``) instead of flattening every instance."""
    from hdl.chip.chip import TILE_MODULE, Chip
    from tb.chipdrv import SAMPLED_PORTS
    from tb.runner import run_cocotb
    key = key or (f"run{params.grid_rows}x{params.grid_cols}t{params.tile.rows}x"
                  f"{params.tile.cols}" + ("h" if hierarchical else ""))
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        start = time.perf_counter()
        run_cocotb(lambda: Chip(params, tile_module=TILE_MODULE, hierarchical=hierarchical),
                   "chip", "tb.test_chip",
                   "verilator", key, testcase="routed_pass",
                   extra_env={"TEST_SEED": seed, "CHIP_ROUTED": 1,
                              "CHIP_CHAIN": ",".join(map(str, chain)), "CHIP_BEATS": beats,
                              "TEST_SUMMARY": summary},
                   sampled=SAMPLED_PORTS, report=report)
        out = json.loads(summary.read_text())
    out.update(report)
    out["grid"] = f"{params.grid_rows}x{params.grid_cols}"
    out["tile"] = f"{params.tile.rows}x{params.tile.cols}"
    out["wall_seconds"] = time.perf_counter() - start
    out["hierarchical"] = hierarchical
    return out


def describe(r: dict) -> str:
    lines = [f"chip {r['grid']}, {r['tiles']} tiles of {r['tile']} "
             f"({'hierarchical' if r['hierarchical'] else 'flat'} build): chain {r['chain']}, "
             f"{r['beats']} beats, {r['outputs']} outputs, {r['mismatches']} mismatches",
             f"  Verilog: {r['verilog_bytes'] / 1e6:.2f} MB, emitted in "
             f"{r.get('emit_seconds', float('nan')):.1f} s"]
    if "build_seconds" in r:
        lines.append(f"  Verilator build: {r['build_seconds']:.1f} s, peak memory "
                     f"{r['build_peak_rss_bytes'] / 2**30:.2f} GiB")
    else:
        lines.append("  Verilator build: up to date (cached)")
    lines.append(f"  stream: {r['stream_cycles']} cycles in {r['stream_seconds']:.2f} s: "
                 f"{r['cycles_per_second']:.0f} cycles/s, {r['passes_per_second']:.2f} "
                 f"passes/s")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/chip_run.py",
                                 description=__doc__.splitlines()[0])
    add_chip_arguments(ap)
    ap.add_argument("--chain", default=None,
                    help="tiles of the chain, e.g. 0,33 (default: the first and the last)")
    ap.add_argument("--beats", type=int, default=2, help="vectors streamed (1 to 64)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flat", action="store_true",
                    help="flatten every tile instance instead of one hierarchical tile block "
                         "(34 tiles of 512 x 512: over 10 minutes and 12 GB in Verilator's "
                         "front end)")
    ap.add_argument("--json", type=writable_file,
                    default=str(ROOT / "build" / "chip_run.json"))
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)     # progress lines as they happen
    params = chip_params_from_args(ap, args)
    try:
        check_int("--beats", args.beats, 1, 64)
        if args.chain is None:
            chain = [0, params.tiles - 1]
        else:
            try:
                chain = [int(v) for v in args.chain.split(",")]
            except ValueError:
                raise ValueError(f"--chain must be tile indices like 0,33, not "
                                 f"{args.chain!r}") from None
        for i, t in enumerate(chain):
            check_int(f"--chain[{i}]", t, 0, params.tiles - 1)
        if len(set(chain)) != len(chain) or not chain:
            raise ValueError(f"--chain must name distinct tiles, not {args.chain!r}")
        from golden.chip.routing import Routing, check
        routing = Routing.empty(params)
        routing.chain(0, chain, olp_pair=0)
        result = check(routing)
        if not result.ok:
            raise ValueError(f"--chain {args.chain}: the route is illegal: "
                             f"{'; '.join(result.reasons())}")
    except ValueError as error:
        ap.error(str(error))
    r = run_chip(params, chain, args.beats, args.seed, hierarchical=not args.flat)
    print(describe(r))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(r, indent=2))
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
