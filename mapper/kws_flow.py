"""Keyword spotting end to end on the chip, the paper's own workload (docs/mapping.md
section 6).

    python -m mapper.kws_flow [--seeds 5] [--rtl-inputs 0] [--simulator verilator]

1. Data: the 12-class keyword set synthesized offline with espeak-ng (``mapper.kws``, cached
   under ``build/kws``), 1024 log-mel features per 1 s clip, test voices never heard in
   training.
2. Network shaped as the paper's: fully connected 1024 -> 512 -> 512 -> 12 on 4 tiles (the
   published text does not give the layer sizes: two tiles for the first layer, split over
   its 1024 inputs, one each for the others), trained hardware-aware in NumPy
   (``mapper.train``, cached under ``build/train``).
3. Mapped onto the paper's chip (``mapper.plan``): the first layer's two halves on two tiles
   fed by two ILPs, their partial sums added on the host with the bias and the ReLU; the
   hidden layers then tile to tile over the mesh as pulses (ReLU by the EN window).
4. Accuracy like the paper's: float software; the golden chip at t0 with programming and read
   noise; after 1 hour, 1 day, 1 week and 1 year of drift without and with the tile's
   calibration; mean and spread over device seeds (``mapper.flow.study``).
5. A subset of the test utterances through the RTL chip (a 3 x 2 chip of 512 x 512 tiles with
   three pairs, the same network mapped by the same rules), every output word and cycle
   against the golden chip, its words also equal to the paper chip's; energy per frame,
   TOPS/W and latency per frame from ``golden.energy``, beside the paper's 2.4 us.

Writes ``build/kws/run/summary.json``, ``accuracy_vs_drift.png`` and ``energy.png``.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np

from golden.chip.params import ChipParams
from golden.spec import TileParams

from . import flow
from .train import TrainConfig, train_cached

ROOT = Path(__file__).resolve().parent.parent
NAME = "keyword spotting"
#: The paper's figures (Ambrogio et al., Nature 2023): on-chip and software accuracy (%),
#: latency per frame (s).
PAPER = {"chip_accuracy": 86.14, "software_accuracy": 86.75, "latency_s": 2.4e-6}
#: Training of the 1024 -> 512 -> 512 -> 12 network.
TRAIN = TrainConfig(hidden=(512, 512), epochs=20, batch_size=256, learning_rate=2e-3)


def rtl_chip(size: int = 512) -> ChipParams:
    """The RTL run's chip: 3 x 2 positions of ``size x size`` tiles, a pair on each row (the
    plan needs three ILPs and three OLPs: two for the split first layer, one for the chain)."""
    return ChipParams(tile=TileParams(rows=size, cols=size), grid_rows=3, grid_cols=2,
                      empty=(), group_lanes=max(1, size // 2), pair_rows=(0, 1, 2))


def run(args, data_config=None, train_config: TrainConfig = TRAIN, chip: ChipParams = None,
        rtl_size: int = 512) -> dict:
    """The flow with the options ``args`` (:func:`_parser`'s). ``data_config`` (a
    ``mapper.kws.KwsConfig``, default the full set), ``train_config``, ``chip`` (default the
    paper's) and ``rtl_size`` (the RTL chip's tile size) make the short version the test suite
    runs."""
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chip = ChipParams() if chip is None else chip
    step = flow.stepper()
    build = None
    if args.rtl_inputs:
        # the RTL chip's emission and build need no network: they run beside the golden steps
        build = flow.BackgroundBuild(rtl_chip(rtl_size), args.simulator, f"kws{rtl_size}",
                                     out / "rtl_build.log")
        step(f"RTL chip (3 x 2 tiles of {rtl_size} x {rtl_size}, {args.simulator}): emission "
             f"and build started in the background (cached under build/sim; log "
             f"{out / 'rtl_build.log'})")
    try:
        return _run(args, data_config, train_config, chip, rtl_size, out, step, build)
    finally:
        if build is not None:
            build.cancel()


def _run(args, data_config, train_config, chip, rtl_size, out, step, build) -> dict:
    from .kws import CLASSES, kws_data
    step("data: keywords synthesized with espeak-ng (cached under build/kws)")
    d = kws_data(seed=args.seed, cache_dir=ROOT / "build/kws", config=data_config)
    x_tr, y_tr = d["x_train"].astype(np.float64), d["y_train"]
    x_te, y_te = d["x_test"].astype(np.float64), d["y_test"]
    step(f"{len(x_tr)} training and {len(x_te)} test clips, {x_tr.shape[1]} features; "
         f"training (cached under build/train)")
    net = train_cached(x_tr, y_tr, train_config.replace(seed=args.seed),
                       cache_dir=ROOT / "build/train")
    step(f"network {net}")
    record = {}
    acc = flow.accuracy_rows(net, chip, x_tr, x_te, y_te, args.seeds, NAME, step, record)
    step("energy and latency (golden.energy)")
    plan0 = flow.make_plan(net, chip, x_tr, 0, quiet=False)
    # the reference words come from a fresh chip (the tiles' MVM counts key the read noise),
    # as the RTL chip starts
    n_ref = min(len(x_te), max(args.rtl_inputs, 1))
    gold0 = plan0.golden_chip()
    _, stats0 = plan0.infer(copy.deepcopy(gold0), x_te[:n_ref])
    br, single = flow.energy_report(plan0, gold0, x_te[:200])
    summary = flow.summarize(net, chip, plan0, acc, br, single, len(x_te), args.seeds)
    summary["paper"] = PAPER
    summary["classes"] = list(CLASSES)
    summary["confusion_t0"] = flow.plot_confusion(
        y_te, record["t0_predictions"], CLASSES, out,
        f"{NAME} on the golden chip at t0 (device seed 0): "
        f"{100 * np.mean(record['t0_predictions'] == y_te):.2f} %")
    if args.rtl_inputs:
        rtl_params = rtl_chip(rtl_size)
        step("RTL chip: waiting for its emission and build")
        secs = build.wait(step)
        step(f"RTL chip ready ({secs:.0f} s since the start of its build); "
             f"{args.rtl_inputs} test clips through it")
        rtl_plan = flow.make_plan(net, rtl_params, x_tr, 0, quiet=False)
        summary["rtl"] = flow.rtl_subset(rtl_plan, x_te[:args.rtl_inputs], args.simulator, out,
                                         f"kws{rtl_size}", stats0["words"],
                                         closed_loop=args.closed_loop)
        summary["rtl"]["accuracy"] = float(np.mean(
            np.asarray(summary["rtl"]["predictions"]) == y_te[:args.rtl_inputs]))
    flow.finish(summary, br, out, NAME, step)
    print(f"paper: {PAPER['chip_accuracy']} % on chip, {PAPER['software_accuracy']} % software, "
          f"{PAPER['latency_s'] * 1e6:.1f} us per frame")
    return summary


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m mapper.kws_flow",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="data and training seed")
    ap.add_argument("--seeds", type=int, default=5, help="device-noise seeds (1..100)")
    ap.add_argument("--rtl-inputs", type=int, default=0,
                    help="test clips through the RTL chip of 512 x 512 tiles (0: none, the "
                         "default; at most 100; the first run emits and builds for minutes)")
    ap.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    ap.add_argument("--closed-loop", action=argparse.BooleanOptionalAction, default=False,
                    help="program the RTL tiles row by row through their closed-loop "
                         "programmers (default: write the codes the programmer reaches, "
                         "bit-exact and one cycle per row)")
    ap.add_argument("--out-dir", default=str(ROOT / "build/kws/run"))
    return ap


def main(argv=None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    flow.check_options(ap, args, 100)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
