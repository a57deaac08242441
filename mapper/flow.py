"""The steps every workload flow shares (``mapper.digits``; docs/mapping.md section 5): the
accuracy study on the golden chip (device seeds, drift times, the tile's compensation), the
cost of splitting, energy and latency per inference, the RTL subset, plots and the summary
table."""
from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from golden.calibration import CalScope
from golden.chip.params import ChipParams
from golden.energy import Activity, activity_from_stream, energy
from golden.program import ProgramConfig
from golden.spec import TileParams

from .plan import Plan, plan_network

__all__ = ["TIMES", "SCOPES", "check_options", "stepper", "accuracy_rows", "summarize", "finish", "rtl_chip", "make_plan", "plan_accuracy", "study", "split_study",
           "energy_report", "rtl_subset", "plot", "plot_confusion", "stats", "table", "progress"]

#: Inference times after programming (s) and their labels.
TIMES = ((0.0, "t0"), (3600.0, "1 hour"), (86400.0, "1 day"), (7 * 86400.0, "1 week"),
         (365 * 86400.0, "1 year"))
SCOPES = (("none", None), ("global", CalScope.GLOBAL), ("per column", CalScope.PER_COLUMN))


def stepper():
    """A function that prints a step with the seconds elapsed since this call."""
    start = time.perf_counter()

    def step(text):
        print(f"[{time.perf_counter() - start:6.1f} s] {text}", flush=True)
    return step


def check_options(ap, args, rtl_max: int, extra=()) -> None:
    """Check a flow's shared options before any long work: ``--seed``, ``--seeds``,
    ``--rtl-inputs`` (at most ``rtl_max``) and a writable ``--out-dir``; ``extra``: more
    ``(ok, message)`` pairs. A failure is argparse's error (exit status 2) naming the option,
    the value and the legal range."""
    try:
        if not 0 <= args.seed <= (1 << 32) - 1:
            raise ValueError(f"--seed must be in [0, {(1 << 32) - 1}], not {args.seed}")
        if not 1 <= args.seeds <= 100:
            raise ValueError(f"--seeds must be in [1, 100], not {args.seeds}")
        if not 0 <= args.rtl_inputs <= rtl_max:
            raise ValueError(f"--rtl-inputs must be in [0, {rtl_max}], not {args.rtl_inputs}")
        for ok, message in extra:
            if not ok:
                raise ValueError(message)
        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except (ValueError, OSError) as e:
        ap.error(str(e))


def rtl_chip(size: int) -> ChipParams:
    """A small RTL chip: one row of two ``size x size`` tiles and one pair."""
    return ChipParams(tile=TileParams(rows=size, cols=size), grid_rows=1, grid_cols=2, empty=(),
                      group_lanes=max(1, size // 2), pair_rows=(0,))


def progress(iterable, desc, total=None):
    from tqdm import tqdm
    return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr,
                mininterval=1.0)


def make_plan(net, chip, x_cal, seed: int, quiet: bool) -> Plan:
    """The network's plan with device seed ``seed``: programming noise (the closed-loop
    programmer's seed ``seed + 1``) and read noise (0.5 output steps, or the most NOISE_SIGMA
    holds: the summary's ``read_noise`` gives each piece's) on, or both off (``quiet``)."""
    program = ProgramConfig(seed=seed + 1, noise_scale=0) if quiet else ProgramConfig(seed=seed + 1)
    return plan_network(net, chip, x_max=1.0, calibration_x=x_cal, program=program,
                        out_noise=0.0 if quiet else 0.5, noise_seed=seed, noise_limit="cap")


def plan_accuracy(plan, chip, x, y) -> float:
    out, _ = plan.infer(chip, x)
    return float(np.mean(out.argmax(axis=1) == y))


def study(net, chip_params, x_train, x_test, y_test, seeds: int, name: str = "golden chip",
          record: dict | None = None):
    """The accuracy rows on the golden chip: ``{label: [accuracy per seed]}``: quantization
    only; programming and read noise at t0; after every drift time of :data:`TIMES` without and
    with the tile's compensation (global, per column). ``record`` (a dict) receives the first
    seed's t0 predictions (``"t0_predictions"``)."""
    rows = {}
    quiet = make_plan(net, chip_params, x_train, 0, quiet=True)
    rows["golden, quantization only"] = [plan_accuracy(quiet, quiet.golden_chip(), x_test,
                                                       y_test)]
    steps = seeds * (1 + len(TIMES[1:]) * len(SCOPES))
    bar = progress(range(steps), f"{name} (seeds x drift times)", total=steps)
    it = iter(bar)
    for s in range(seeds):
        plan = make_plan(net, chip_params, x_train, s, quiet=False)
        gold = plan.golden_chip()
        codes = plan.programmed_codes(gold)
        t0 = plan.aged_codes(codes, 0.0, seed=s)
        for t, c in t0.items():
            gold.program(t, c)
        out, _ = plan.infer(gold, x_test)
        rows.setdefault("golden, programming + read noise, t0", []).append(
            float(np.mean(out.argmax(axis=1) == y_test)))
        if record is not None and s == 0:
            record["t0_predictions"] = out.argmax(axis=1)
        next(it, None)
        for secs, label in TIMES[1:]:
            aged = plan.aged_codes(codes, secs, seed=s)
            for t, c in aged.items():
                gold.program(t, c)
            for cname, scope in SCOPES:
                plan.configure(gold, None if scope is None
                               else plan.calibrated_configs(t0, aged, scope))
                rows.setdefault(f"drift {label}, compensation {cname}", []).append(
                    plan_accuracy(plan, gold, x_test, y_test))
                next(it, None)
    bar.close()
    return rows


def accuracy_rows(net, chip_params, x_train, x_test, y_test, seeds: int, name: str,
                  step, record: dict | None = None) -> dict:
    """Float software's accuracy, then :func:`study`'s rows (``record``: as in :func:`study`)."""
    from .train import accuracy
    rows = {"float software": [accuracy(net, x_test, y_test)]}
    step(f"golden chip: {len(x_test)} test inputs, {seeds} device seeds, "
         f"{len(TIMES) - 1} drift times x {len(SCOPES)} compensations")
    rows.update(study(net, chip_params, x_train, x_test, y_test, seeds, name, record))
    return rows


def split_study(net, x_train, x_test, y_test, seeds: int, size: int = 32) -> dict:
    """What splitting costs: the same network on ``size x size`` tiles (the paper chip's
    grid and pairs), its layers split over their inputs and outputs, the partial sums added
    on the host (docs/mapping.md section 3). ``{label: [accuracy per seed]}``."""
    chip = ChipParams(tile=TileParams(rows=size, cols=size), group_lanes=max(1, size // 2))
    quiet = make_plan(net, chip, x_train, 0, quiet=True)
    tiles = len(quiet.pieces)
    label = f"split over {tiles} tiles of {size} x {size}"
    rows = {f"{label}, quantization only": [plan_accuracy(quiet, quiet.golden_chip(), x_test,
                                                          y_test)]}
    for s in progress(range(seeds), f"{label}"):
        plan = make_plan(net, chip, x_train, s, quiet=False)
        gold = plan.golden_chip()
        t0 = plan.aged_codes(plan.programmed_codes(gold), 0.0, seed=s)
        for t, c in t0.items():
            gold.program(t, c)
        rows.setdefault(f"{label}, programming + read noise, t0", []).append(
            plan_accuracy(plan, gold, x_test, y_test))
    return rows


def _mapped(plan) -> dict:
    tp = plan.chip.tile
    masks = {}
    for pc in plan.pieces:
        m = np.zeros((tp.rows, tp.cols), dtype=bool)
        m[:pc.mapping.inputs, :pc.mapping.outputs] = True
        masks[pc.tile] = m
    return masks


def _plan_activity(plan, gold, x) -> Activity:
    """The activity of inputs ``x`` through ``plan`` on ``gold``: segment after segment (a
    segment's ILPs interleaved as one stream, ``Chip.run_stream``), counts added, cycles of
    the segments one after the other; one inference per input."""
    v = np.atleast_2d(np.asarray(x, dtype=np.float64))
    masks = _mapped(plan)
    total = None
    for s in range(len(plan.segments)):
        words, _ = plan.segment_words(s, v)
        beats = [(pair, w[i]) for i in range(v.shape[0]) for pair, w in words]
        res = gold.run_stream(beats)
        a = activity_from_stream(gold, res, beats, mapped=masks)
        outs = {}
        for o in res.outputs:
            outs.setdefault(o.pair, []).append(o.words)
        v = plan.segment_outputs(s, {k: np.array(w) for k, w in outs.items()})
        if total is None:
            total = a
        else:
            d = {f: getattr(total, f) + getattr(a, f) for f in
                 ("cell_ticks", "conversions", "ilp_words", "olp_words", "lane_hops", "mvms",
                  "beats", "cycles", "integrate_cycles", "macs")}
            total = total.replace(**d, powered_tiles=max(total.powered_tiles, a.powered_tiles),
                                  chips=1)
    return total.replace(inferences=v.shape[0], powered_tiles=len(plan.pieces))


def energy_report(plan, gold, x):
    """Energy over the inputs ``x`` (back to back) and the latency of one inference, through
    ``plan`` on the golden chip ``gold``: ``(Breakdown of x, Breakdown of x[:1])``."""
    return energy(_plan_activity(plan, gold, x)), energy(_plan_activity(plan, gold, x[:1]))


def _rtl_factory(p: ChipParams):
    from hdl.chip.chip import TILE_MODULE, Chip as RtlChip
    return lambda: RtlChip(p, tile_module=TILE_MODULE, hierarchical=True)


def build_rtl_chip(chip: ChipParams, simulator: str, key: str) -> dict:
    """Emit and build the RTL chip ``chip`` for :func:`rtl_subset` (both cached under
    ``build/sim``) without simulating; ``run_cocotb``'s report."""
    from tb.chipdrv import SAMPLED_PORTS
    from tb.runner import run_cocotb
    report = {}
    run_cocotb(_rtl_factory(chip), "chip", "tb.test_chip", simulator, key,
               sampled=SAMPLED_PORTS, report=report, build_only=True)
    return report


class BackgroundBuild:
    """:func:`build_rtl_chip` in a child process (``python -m mapper.flow build``) while the
    golden steps run: the chip's emission and Verilator build need no network, and they take
    minutes. Its output goes to ``log``; :meth:`wait` shows its progress and fails with the
    log's end if the build failed."""

    def __init__(self, chip: ChipParams, simulator: str, key: str, log: Path):
        import subprocess
        from .plan import _chip_to_dict
        self.log, self.start = Path(log), time.perf_counter()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parent.parent
        with open(self.log, "w") as f:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mapper.flow", "build", "--chip",
                 json.dumps(_chip_to_dict(chip)), "--simulator", simulator, "--key", key],
                stdout=f, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)

    def _last_line(self) -> str:
        lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
        return lines[-1][:160] if lines else ""

    def wait(self, step) -> float:
        """Wait for the build (a line of progress every 30 s); its seconds since the start."""
        import subprocess
        while True:
            try:
                rc = self.proc.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                step(f"RTL chip build still running ({time.perf_counter() - self.start:.0f} s): "
                     f"{self._last_line()}")
        if rc != 0:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"the RTL chip's emission and build failed (exit status {rc}); "
                               f"the end of {self.log}:\n{tail}")
        return time.perf_counter() - self.start

    def cancel(self) -> None:
        """Stop the build if it still runs (its whole process group: make, verilator, g++)."""
        import os
        import signal
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def rtl_subset(plan, x, simulator: str, out: Path, key: str, reference_words=None,
               closed_loop: bool = True) -> dict:
    """The inputs ``x`` through the RTL chip of ``plan.chip`` under cocotb (the cocotb test
    ``tb.test_chip.plan_pass`` asserts every word and cycle against the golden chip). With
    ``reference_words`` (the last segment's OLP words of the same inputs on another chip),
    whether the RTL's words equal them. ``closed_loop``: as in ``Plan.host_sequence``."""
    from tb.chipdrv import SAMPLED_PORTS
    from tb.runner import run_cocotb
    out.mkdir(parents=True, exist_ok=True)
    plan_file, inputs_file, summary = (out / "rtl_plan.json", out / "rtl_inputs.npy",
                                       out / "rtl_summary.json")
    plan_file.write_text(plan.to_json())
    np.save(inputs_file, x)
    summary.unlink(missing_ok=True)
    report = {}
    start = time.perf_counter()
    p = plan.chip
    run_cocotb(_rtl_factory(p), "chip", "tb.test_chip", simulator, key, testcase="plan_pass",
               extra_env={"PLAN_FILE": str(plan_file), "PLAN_INPUTS": str(inputs_file),
                          "TEST_SUMMARY": str(summary), "TEST_SEED": "0",
                          "PLAN_CLOSED_LOOP": "1" if closed_loop else "0"},
               sampled=SAMPLED_PORTS, report=report)
    res = json.loads(summary.read_text())
    words = np.asarray(res["words"])
    n_out = plan.segments[-1].outputs_count
    same = None
    if reference_words is not None:
        same = bool(np.array_equal(words[:, :n_out], np.asarray(reference_words)[:len(x), :n_out]))
    return {"simulator": simulator, "tile": p.tile.rows, "inputs": len(x),
            "mismatches": res["mismatches"], "cycles": res["cycles"],
            "seconds": round(time.perf_counter() - start, 1), "equal_to_reference": same,
            "predictions": plan.decode(words).argmax(1).tolist(),
            "build_seconds": report.get("build_seconds")}


def plot(summary: dict, br, out: Path, name: str) -> None:
    """``accuracy_vs_drift.png`` and ``energy.png`` under ``out``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = summary["accuracy"]
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [secs for secs, _ in TIMES]
    t0 = rows["golden, programming + read noise, t0"]
    for cname, _ in SCOPES:
        m, e = [t0["mean"]], [t0["std"]]
        for _, label in TIMES[1:]:
            r = rows[f"drift {label}, compensation {cname}"]
            m.append(r["mean"])
            e.append(r["std"])
        ax.errorbar(np.maximum(xs, 20.0), 100 * np.array(m), yerr=100 * np.array(e),
                    marker="o", capsize=3, label=f"compensation: {cname}")
    ax.axhline(100 * rows["float software"]["mean"], color="k", ls="--", label="float software")
    ax.set_xscale("log")
    ax.set_xlabel("time after programming (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{name} on the golden chip")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_drift.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = list(br.components)
    vals = [br.components[k] / br.inferences * 1e9 for k in names]
    ax.barh(names, vals)
    ax.set_xlabel("energy per inference (nJ)")
    ax.set_title(f"{name}: {br.energy_per_inference * 1e9:.2f} nJ/inference, "
                 f"{br.tops_per_w:.2f} TOPS/W")
    fig.tight_layout()
    fig.savefig(out / "energy.png", dpi=120)
    plt.close(fig)


def plot_confusion(y_true, y_pred, classes, out: Path, title: str) -> list:
    """``confusion.png`` under ``out``: the confusion matrix of ``y_pred`` against ``y_true``
    (rows: the true class, normalized to 1), by scikit-learn; returns the counts as lists."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
    labels = list(range(len(classes)))
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    fig, ax = plt.subplots(figsize=(7, 6))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=labels,
                                            display_labels=list(classes), normalize="true",
                                            values_format=".2f", ax=ax, colorbar=False,
                                            cmap="Blues")
    ax.set_title(title, fontsize=9)
    for t in ax.texts:
        t.set_fontsize(6)
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=120)
    plt.close(fig)
    return counts.tolist()


def stats(values) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            "n": int(a.size), "values": a.tolist()}


def table(s: dict, name: str) -> str:
    lines = [f"{name}: {s['network']}, {s['test_inputs']} test inputs, mean +- spread over "
             f"{s['seeds']} device seeds", "",
             f"{'':<56}{'accuracy (%)':>14}"]
    for k, v in s["accuracy"].items():
        spread = f" +- {100 * v['std']:.2f}" if v["n"] > 1 else ""
        lines.append(f"{k:<56}{100 * v['mean']:>8.2f}{spread}")
    acc = s["accuracy"]
    if "float software" in acc and "golden, programming + read noise, t0" in acc:
        f, t0 = acc["float software"], acc["golden, programming + read noise, t0"]
        lines.append(f"{'t0 gap to float software (points)':<56}"
                     f"{100 * (f['mean'] - t0['mean']):>8.2f} +- {100 * t0['std']:.2f}")
    e = s["energy"]
    static = e["components_nJ_per_inference"].get("static_chip", 0.0)
    lines += ["", f"energy per inference {e['per_inference_nJ']:.2f} nJ "
                  f"({100 * static / e['per_inference_nJ']:.0f} % the chip periphery's static "
                  f"power), {e['tops_per_w']:.2f} TOPS/W, latency {e['latency_ns']:.0f} ns per "
                  f"inference, {e['inferences_per_s']:,.0f} inferences/s back to back"]
    if "rtl" in s:
        r = s["rtl"]
        lines.append(f"RTL chip ({r['simulator']}, tiles {r['tile']} x {r['tile']}): "
                     f"{r['inputs']} inputs, {r['mismatches']} mismatches (words and cycles), "
                     f"words equal to the paper chip's golden: {r['equal_to_reference']}, "
                     f"accuracy {100 * r['accuracy']:.1f} %")
    return "\n".join(lines)


def summarize(net, chip, plan, accuracy_rows: dict, br, single, test_inputs: int,
              seeds: int) -> dict:
    """The summary of a flow: the network, the placement (each piece's tile, position, read
    noise and ramp shift), the accuracy rows (mean and spread) and the energy figures."""
    return {
        "network": repr(net), "test_inputs": test_inputs, "seeds": seeds,
        "placement": [{"piece": pc.mapping.name, "tile": pc.tile,
                       "position": list(chip.position(pc.tile)),
                       "read_noise_steps": round(pc.mapping.report["out_noise"], 3),
                       "ramp_shift": pc.mapping.config.ramp_shift} for pc in plan.pieces],
        "accuracy": {k: stats(v) for k, v in accuracy_rows.items()},
        "energy": {"per_inference_nJ": br.energy_per_inference * 1e9,
                   "tops_per_w": br.tops_per_w,
                   "latency_ns": single.latency * 1e9,
                   "inferences_per_s": br.inferences_per_s,
                   "components_nJ_per_inference": {k: v / br.inferences * 1e9
                                                   for k, v in br.components.items()}},
    }


def finish(summary: dict, br, out: Path, name: str, step) -> None:
    """Plots, ``summary.json`` and the printed table."""
    plot(summary, br, out, name)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plots = ", ".join(sorted(f.name for f in out.glob("*.png")))
    step(f"done: {out / 'summary.json'}; plots {plots}")
    print(table(summary, name))


def main(argv=None) -> int:
    """``python -m mapper.flow build --chip JSON --simulator S --key K``: :func:`build_rtl_chip`
    (what :class:`BackgroundBuild` runs)."""
    import argparse
    from .plan import _chip_from_dict
    ap = argparse.ArgumentParser(prog="python -m mapper.flow")
    ap.add_argument("command", choices=("build",))
    ap.add_argument("--chip", required=True, help="the chip's parameters (a plan's JSON 'chip')")
    ap.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    ap.add_argument("--key", required=True, help="the build's name under build/sim")
    args = ap.parse_args(argv)
    try:
        chip = _chip_from_dict(json.loads(args.chip))
    except (ValueError, TypeError, KeyError) as e:
        ap.error(f"--chip is not a chip's parameters: {e}")
    report = build_rtl_chip(chip, args.simulator, args.key)
    print(f"mapper.flow: RTL chip [{args.key}] emitted and built: {json.dumps(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
