"""Handwritten digits end to end on the chip (docs/mapping.md section 5).

    python -m mapper.digits [--seeds 5] [--rtl-inputs 20] [--rtl-size 64] [--simulator verilator]

1. Data: scikit-learn's digits (``mapper.train.digits_data``), training: hardware-aware, NumPy
   (``mapper.train.train_cached``, cached under ``build/train``).
2. Map the MLP (64 -> hidden -> 10) onto the paper's chip (6 x 6 grid, 34 tiles of 512 x 512):
   the hidden layer on one tile with its ReLU applied by the EN window, sent to the output
   layer's tile over the mesh as pulse durations (``mapper.plan``).
3. Accuracy over the whole test set through the golden chip: float software; quantization
   only (no programming or read noise); with the closed-loop programmer's noise and the read
   noise at t0; after 1 hour, 1 day, 1 week and 1 year of drift without and with the tile's
   own calibration (global and per column); every noisy row over ``--seeds`` device seeds
   (mean and spread).
4. A subset of the test set through the RTL chip (cocotb; Verilator, or Icarus) on a 1 x 2
   chip of ``--rtl-size`` tiles: the same plan's host sequence (closed-loop programming through
   the programming stream, register writes, routing commit) and every output word and cycle
   against the golden chip; its words are also held equal to the paper chip's.
5. What splitting costs: the same network on 32 x 32 tiles, every layer split over its
   inputs and outputs (partial sums added on the host), at t0.
6. Energy per inference, TOPS/W and latency from ``golden.energy`` on the golden chip's
   activity.

Writes ``build/digits/summary.json``, ``accuracy_vs_drift.png`` and ``energy.png``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from golden.chip.params import ChipParams

from . import flow
from .flow import rtl_chip, split_study, study  # noqa: F401  (the flow's steps, by name)
from .train import TrainConfig, digits_data, train_cached

ROOT = Path(__file__).resolve().parent.parent
NAME = "digits"


def energy_report(net, chip_params, x_train, x_test):
    """Energy over the test inputs and the latency of one inference on the golden chip."""
    plan = flow.make_plan(net, chip_params, x_train, 0, quiet=False)
    return flow.energy_report(plan, plan.golden_chip(), x_test)


def run(args) -> dict:
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = flow.stepper()
    step("data: scikit-learn digits; training (cached under build/train)")
    x_tr, y_tr, x_te, y_te = digits_data(seed=args.seed)
    net = train_cached(x_tr, y_tr, TrainConfig(seed=args.seed), cache_dir=ROOT / "build/train")
    step(f"network {net}")
    chip = ChipParams()
    acc = flow.accuracy_rows(net, chip, x_tr, x_te, y_te, args.seeds, NAME, step)
    step("the cost of splitting: the same network on 32 x 32 tiles")
    acc.update(flow.split_study(net, x_tr, x_te, y_te, args.seeds))
    step("energy and latency (golden.energy)")
    plan0 = flow.make_plan(net, chip, x_tr, 0, quiet=False)
    # the reference words come from a fresh chip (the tiles' MVM counts key the read noise),
    # as the RTL chip starts
    _, stats0 = plan0.infer(plan0.golden_chip(), x_te)
    br, single = flow.energy_report(plan0, plan0.golden_chip(), x_te)
    summary = flow.summarize(net, chip, plan0, acc, br, single, len(x_te), args.seeds)
    if args.rtl_inputs:
        step(f"RTL chip ({args.simulator}, 1 x 2 tiles of {args.rtl_size} x {args.rtl_size}): "
             f"{args.rtl_inputs} test inputs; the first run emits and builds the chip")
        rtl_plan = flow.make_plan(net, rtl_chip(args.rtl_size), x_tr, 0, quiet=False)
        summary["rtl"] = flow.rtl_subset(rtl_plan, x_te[:args.rtl_inputs], args.simulator, out,
                                         f"{NAME}{args.rtl_size}", stats0["words"])
        summary["rtl"]["accuracy"] = float(np.mean(
            np.asarray(summary["rtl"]["predictions"]) == y_te[:args.rtl_inputs]))
    flow.finish(summary, br, out, NAME, step)
    return summary


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m mapper.digits", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="data split and training seed")
    ap.add_argument("--seeds", type=int, default=5, help="device-noise seeds (1..100)")
    ap.add_argument("--rtl-inputs", type=int, default=20,
                    help="test inputs through the RTL chip (0: none; at most the test set)")
    ap.add_argument("--rtl-size", type=int, default=64,
                    help="tile size of the RTL chip (64..512; the network has 64 inputs)")
    ap.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    ap.add_argument("--out-dir", default=str(ROOT / "build/digits"))
    return ap


def main(argv=None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    flow.check_options(ap, args, 450, extra=[(
        64 <= args.rtl_size <= 512 and not args.rtl_size & (args.rtl_size - 1),
        f"--rtl-size must be a power of two in [64, 512], not {args.rtl_size}")])
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
