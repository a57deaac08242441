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
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from golden.calibration import CalScope
from golden.chip.params import ChipParams
from golden.energy import activity_from_batch, energy
from golden.program import ProgramConfig
from golden.spec import TileParams

from .plan import Plan, plan_network
from .train import TrainConfig, accuracy, digits_data, train_cached

ROOT = Path(__file__).resolve().parent.parent

#: Inference times after programming (s) and their labels.
TIMES = ((0.0, "t0"), (3600.0, "1 hour"), (86400.0, "1 day"), (7 * 86400.0, "1 week"),
         (365 * 86400.0, "1 year"))
SCOPES = (("none", None), ("global", CalScope.GLOBAL), ("per column", CalScope.PER_COLUMN))


def rtl_chip(size: int) -> ChipParams:
    """The RTL run's chip: one row of two ``size x size`` tiles and one pair."""
    return ChipParams(tile=TileParams(rows=size, cols=size), grid_rows=1, grid_cols=2, empty=(),
                      group_lanes=max(1, size // 2), pair_rows=(0,))


def _progress(iterable, desc, total=None):
    from tqdm import tqdm
    return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr,
                mininterval=1.0)


def _plan(net, chip, x_cal, seed: int, quiet: bool) -> Plan:
    program = ProgramConfig(seed=seed + 1, noise_scale=0) if quiet else ProgramConfig(seed=seed + 1)
    return plan_network(net, chip, x_max=1.0, calibration_x=x_cal, program=program,
                        out_noise=0.0 if quiet else 0.5, noise_seed=seed)


def _accuracy(plan, chip, x, y) -> float:
    out, _ = plan.infer(chip, x)
    return float(np.mean(out.argmax(axis=1) == y))


def study(net, chip_params, x_train, x_test, y_test, seeds: int):
    """The accuracy rows: ``{label: [accuracy per seed]}``."""
    rows = {}
    quiet = _plan(net, chip_params, x_train, 0, quiet=True)
    rows["golden, quantization only"] = [_accuracy(quiet, quiet.golden_chip(), x_test, y_test)]
    steps = seeds * (1 + len(TIMES[1:]) * len(SCOPES))
    bar = _progress(range(steps), "digits: golden chip (seeds x drift times)", total=steps)
    it = iter(bar)
    for s in range(seeds):
        plan = _plan(net, chip_params, x_train, s, quiet=False)
        gold = plan.golden_chip()
        codes = plan.programmed_codes(gold)
        t0 = plan.aged_codes(codes, 0.0, seed=s)
        for t, c in t0.items():
            gold.program(t, c)
        rows.setdefault("golden, programming + read noise, t0", []).append(
            _accuracy(plan, gold, x_test, y_test))
        next(it, None)
        for secs, label in TIMES[1:]:
            aged = plan.aged_codes(codes, secs, seed=s)
            for t, c in aged.items():
                gold.program(t, c)
            for name, scope in SCOPES:
                cfgs = ({t: lm.config for t, lm in zip(plan.tiles, plan.layers)}
                        if scope is None else plan.calibrated_configs(t0, aged, scope))
                for t, cfg in cfgs.items():
                    gold.configure(t, cfg)
                rows.setdefault(f"drift {label}, compensation {name}", []).append(
                    _accuracy(plan, gold, x_test, y_test))
                next(it, None)
    bar.close()
    return rows


def split_study(net, x_train, x_test, y_test, seeds: int, size: int = 32) -> dict:
    """What splitting costs: the same network on ``size x size`` tiles (the paper chip's
    grid and pairs), every layer split over its inputs and outputs, the partial sums added on
    the host (docs/mapping.md section 3). ``{label: [accuracy per seed]}``."""
    chip = ChipParams(tile=TileParams(rows=size, cols=size), group_lanes=max(1, size // 2))
    quiet = _plan(net, chip, x_train, 0, quiet=True)
    tiles = len(quiet.pieces)
    label = f"split over {tiles} tiles of {size} x {size}"
    rows = {f"{label}, quantization only": [_accuracy(quiet, quiet.golden_chip(), x_test,
                                                      y_test)]}
    for s in _progress(range(seeds), f"digits: {label}"):
        plan = _plan(net, chip, x_train, s, quiet=False)
        gold = plan.golden_chip()
        t0 = plan.aged_codes(plan.programmed_codes(gold), 0.0, seed=s)
        for t, c in t0.items():
            gold.program(t, c)
        rows.setdefault(f"{label}, programming + read noise, t0", []).append(
            _accuracy(plan, gold, x_test, y_test))
    return rows


def energy_report(net, chip_params, x_train, x_test):
    """Energy and latency per inference of the test set on the golden paper chip."""
    plan = _plan(net, chip_params, x_train, 0, quiet=False)
    gold = plan.golden_chip()
    u, _ = plan.words(x_test)
    batch = gold.run_batch(plan.pair, u)
    masks = {}
    for t, lm in zip(plan.tiles, plan.layers):
        m = np.zeros((chip_params.tile.rows, chip_params.tile.cols), dtype=bool)
        m[:lm.inputs, :lm.outputs] = True
        masks[t] = m
    act = activity_from_batch(gold, batch, u, mapped=masks)
    br = energy(act)
    single = energy(activity_from_batch(gold, gold.run_batch(plan.pair, u[:1]), u[:1],
                                        mapped=masks))
    return br, single


def rtl_subset(net, x_train, x_test, size: int, n: int, simulator: str, out: Path,
               paper_words: np.ndarray) -> dict:
    """The first ``n`` test inputs through the RTL chip; the cocotb test asserts every word and
    cycle against the golden chip."""
    from hdl.chip.chip import TILE_MODULE, Chip as RtlChip
    from tb.chipdrv import SAMPLED_PORTS
    from tb.runner import run_cocotb
    p = rtl_chip(size)
    plan = _plan(net, p, x_train, 0, quiet=False)
    plan_file, inputs_file, summary = (out / "rtl_plan.json", out / "rtl_inputs.npy",
                                       out / "rtl_summary.json")
    plan_file.write_text(plan.to_json())
    np.save(inputs_file, x_test[:n])
    summary.unlink(missing_ok=True)
    report = {}
    start = time.perf_counter()
    run_cocotb(lambda: RtlChip(p, tile_module=TILE_MODULE), "chip", "tb.test_chip", simulator,
               f"digits{size}", testcase="plan_pass",
               extra_env={"PLAN_FILE": str(plan_file), "PLAN_INPUTS": str(inputs_file),
                          "TEST_SUMMARY": str(summary), "TEST_SEED": "0"},
               sampled=SAMPLED_PORTS, report=report)
    res = json.loads(summary.read_text())
    words = np.asarray(res["words"])
    same = bool(np.array_equal(words[:, :plan.layers[-1].outputs],
                               paper_words[:n, :plan.layers[-1].outputs]))
    return {"simulator": simulator, "tile": size, "inputs": n, "mismatches": res["mismatches"],
            "cycles": res["cycles"], "seconds": round(time.perf_counter() - start, 1),
            "equal_to_paper_chip": same, "predictions": plan.decode(words).argmax(1).tolist(),
            "build_seconds": report.get("build_seconds")}


def plot(summary: dict, br, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = summary["accuracy"]
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [secs for secs, _ in TIMES]
    for name, _ in SCOPES:
        m = [rows["golden, programming + read noise, t0"]["mean"]]
        e = [rows["golden, programming + read noise, t0"]["std"]]
        for _, label in TIMES[1:]:
            r = rows[f"drift {label}, compensation {name}"]
            m.append(r["mean"])
            e.append(r["std"])
        ax.errorbar(np.maximum(xs, 20.0), 100 * np.array(m), yerr=100 * np.array(e),
                    marker="o", capsize=3, label=f"compensation: {name}")
    ax.axhline(100 * rows["float software"]["mean"], color="k", ls="--", label="float software")
    ax.set_xscale("log")
    ax.set_xlabel("time after programming (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("digits on the golden chip")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_drift.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = list(br.components)
    vals = [br.components[k] / br.inferences * 1e9 for k in names]
    ax.barh(names, vals)
    ax.set_xlabel("energy per inference (nJ)")
    ax.set_title(f"digits: {br.energy_per_inference * 1e9:.2f} nJ/inference, "
                 f"{br.tops_per_w:.2f} TOPS/W")
    fig.tight_layout()
    fig.savefig(out / "energy.png", dpi=120)
    plt.close(fig)


def _stats(values) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            "n": int(a.size)}


def run(args) -> dict:
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def step(text):
        print(f"[{time.perf_counter() - start:6.1f} s] {text}", flush=True)

    step("data: scikit-learn digits; training (cached under build/train)")
    x_tr, y_tr, x_te, y_te = digits_data(seed=args.seed)
    net = train_cached(x_tr, y_tr, TrainConfig(seed=args.seed), cache_dir=ROOT / "build/train")
    step(f"network {net}")
    chip = ChipParams()
    acc = {"float software": [accuracy(net, x_te, y_te)]}
    step(f"golden chip: {len(x_te)} test inputs, {args.seeds} device seeds, "
         f"{len(TIMES) - 1} drift times x {len(SCOPES)} compensations")
    acc.update(study(net, chip, x_tr, x_te, y_te, args.seeds))
    step("the cost of splitting: the same network on 32 x 32 tiles")
    acc.update(split_study(net, x_tr, x_te, y_te, args.seeds))
    step("energy and latency (golden.energy)")
    br, single = energy_report(net, chip, x_tr, x_te)
    plan0 = _plan(net, chip, x_tr, 0, quiet=False)
    words = plan0.golden_chip().run_batch(plan0.pair, plan0.words(x_te)[0]).words(plan0.olp_pair)
    summary = {
        "network": repr(net), "test_inputs": len(x_te), "seeds": args.seeds,
        "placement": [{"layer": lm.name, "tile": t, "position": list(chip.position(t)),
                       "ramp_shift": lm.config.ramp_shift} for t, lm in
                      zip(plan0.tiles, plan0.layers)],
        "accuracy": {k: _stats(v) for k, v in acc.items()},
        "energy": {"per_inference_nJ": br.energy_per_inference * 1e9,
                   "tops_per_w": br.tops_per_w,
                   "latency_ns": single.latency * 1e9,
                   "inferences_per_s": br.inferences_per_s,
                   "components_nJ_per_inference": {k: v / br.inferences * 1e9
                                                   for k, v in br.components.items()}},
    }
    if args.rtl_inputs:
        step(f"RTL chip ({args.simulator}, 1 x 2 tiles of {args.rtl_size} x {args.rtl_size}): "
             f"{args.rtl_inputs} test inputs; the first run emits and builds the chip")
        summary["rtl"] = rtl_subset(net, x_tr, x_te, args.rtl_size, args.rtl_inputs,
                                    args.simulator, out, words)
        summary["rtl"]["accuracy"] = float(np.mean(
            np.asarray(summary["rtl"]["predictions"]) == y_te[:args.rtl_inputs]))
    plot(summary, br, out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    step(f"done: {out / 'summary.json'}, accuracy_vs_drift.png, energy.png")
    print(table(summary))
    return summary


def table(s: dict) -> str:
    lines = [f"digits: {s['network']}, {s['test_inputs']} test inputs, mean +- spread over "
             f"{s['seeds']} device seeds", "",
             f"{'':<48}{'accuracy (%)':>14}"]
    for k, v in s["accuracy"].items():
        spread = f" +- {100 * v['std']:.2f}" if v["n"] > 1 else ""
        lines.append(f"{k:<48}{100 * v['mean']:>8.2f}{spread}")
    e = s["energy"]
    lines += ["", f"energy per inference {e['per_inference_nJ']:.2f} nJ, "
                  f"{e['tops_per_w']:.2f} TOPS/W, latency {e['latency_ns']:.0f} ns per "
                  f"inference, {e['inferences_per_s']:,.0f} inferences/s back to back"]
    if "rtl" in s:
        r = s["rtl"]
        lines.append(f"RTL chip ({r['simulator']}, tiles {r['tile']} x {r['tile']}): "
                     f"{r['inputs']} inputs, {r['mismatches']} mismatches (words and cycles), "
                     f"words equal to the paper chip's golden: {r['equal_to_paper_chip']}, "
                     f"accuracy {100 * r['accuracy']:.1f} %")
    return "\n".join(lines)


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
    try:
        if not 0 <= args.seed <= (1 << 32) - 1:
            raise ValueError(f"--seed must be in [0, {(1 << 32) - 1}], not {args.seed}")
        if not 1 <= args.seeds <= 100:
            raise ValueError(f"--seeds must be in [1, 100], not {args.seeds}")
        if not 64 <= args.rtl_size <= 512 or args.rtl_size & (args.rtl_size - 1):
            raise ValueError(f"--rtl-size must be a power of two in [64, 512], not "
                             f"{args.rtl_size}")
        if not 0 <= args.rtl_inputs <= 450:
            raise ValueError(f"--rtl-inputs must be in [0, 450] (the test set), not "
                             f"{args.rtl_inputs}")
        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except (ValueError, OSError) as e:
        ap.error(str(e))
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
