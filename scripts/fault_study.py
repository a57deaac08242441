"""Fault study: MVM error of one PCM tile against the fraction of stuck devices, with and
without the kit's mitigations (docs/faults.md).

    python scripts/fault_study.py [--rows 256 --cols 256] [--fractions 0,0.001,0.01,0.05]
        [--kinds mixed,zero,full] [--seeds 2] [--seed 1] [--out-dir build/faults]

A seeded float weight matrix W (normal, clipped to [-1, 1]) is quantized to integer target
weights ``t = round(W * weight_max)`` of the default 4-PCM cell; for every stuck fraction, kind
of stuck state (``mixed``: half at zero conductance, half at full; ``zero``; ``full``) and
fault seed, a ``golden.faults.FaultMap.random`` map is injected into the bit-exact golden tile
and the array is programmed:

- ``open-loop``: row writes of the ideal codes of t (MSP pair t / F rounded, LSP pair the
  remainder), which the stuck devices ignore (no mitigation);
- ``closed-loop``: the tile's program-and-verify (``golden.program``, default PROG_*
  registers, programming noise on); a stuck device does not move, the LSP pair makes up for a
  stuck MSP device where the remainder fits, and the fail mask reports the weights it could
  not reach (counted in the table);
- ``closed-loop + column gain``: closed-loop, then every column's ``GAIN`` fitted by the host
  from calibration MVMs (a separate batch of inputs): the least-squares scale of the column's
  charge onto its ideal value, quantized to the gain code and clipped to its range;
- ``closed-loop + tile calibration``: closed-loop, then the tile's own drift calibration
  (``golden.calibration``): a ``REFERENCE`` taken on the fault-free array programmed with the
  same targets (``GAIN`` 0.5 for headroom) and a ``COMPENSATE PER_COLUMN`` after the faults.
  It reads conductance sums, which stuck devices raise or lower whatever the weight is: it is
  shown to tell how a drift correction reacts to stuck devices, not as a remedy.

The error is the relative RMS error, over a batch of random signed 8-bit inputs and every
column, of the gain-corrected column charge ``Qs[c] * GAIN[c] / GAIN_ref[c]`` (the tile's
clamped charge, exact) against the ideal ``x . (W * weight_max)`` (the float weights, before
any quantization): the analog result before the output conversion, so that the 8-bit output
quantization does not mask the effect.

Writes ``table.md``, ``faults.json`` and ``faults.png`` into the output directory.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from golden import cli                                                   # noqa: E402
from golden.calibration import CalOp, CalScope, Calibrator               # noqa: E402
from golden.faults import FaultMap                                       # noqa: E402
from golden.program import ProgramConfig, program_array, weight_tolerance  # noqa: E402
from golden.spec import Activation, InputMode, TileConfig, TileParams    # noqa: E402
from golden.tile import Tile                                             # noqa: E402

KINDS = {"mixed": 0.5, "zero": 0.0, "full": 1.0}      #: kind -> fraction stuck at full
METHODS = ("open-loop", "closed-loop", "closed-loop + column gain",
           "closed-loop + tile calibration")


def fractions_arg(text: str) -> list[float]:
    """argparse type: comma-separated stuck fractions in [0, 1]."""
    out = []
    for part in text.split(","):
        try:
            v = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be comma-separated numbers in [0, 1], not {part!r}") from None
        if not 0.0 <= v <= 1.0:
            raise argparse.ArgumentTypeError(f"fractions must be in [0, 1], not {part!r}")
        out.append(v)
    if not out:
        raise argparse.ArgumentTypeError("needs at least one fraction")
    return out


def kinds_arg(text: str) -> list[str]:
    """argparse type: comma-separated kinds of stuck devices."""
    out = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in out if k not in KINDS]
    if bad or not out:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated kinds out of {', '.join(KINDS)}, not {text!r}")
    return out


def ideal_codes(t: np.ndarray, p: TileParams) -> np.ndarray:
    """Open-loop codes of integer targets t: MSP pair t / F (rounded half away from zero,
    clamped, on G+ or G-), LSP pair the remainder (on g+ or g-)."""
    cm, F = p.code_max, p.f_factor
    mag = np.minimum((np.abs(t) + F // 2) // F, cm)
    codes = np.zeros(t.shape + (p.devices_per_weight,), dtype=np.int64)
    codes[..., 0] = np.where(t >= 0, mag, 0)
    codes[..., 1] = np.where(t < 0, mag, 0)
    if p.devices_per_weight == 4:
        r = t - F * (codes[..., 0] - codes[..., 1])
        rm = np.minimum(np.abs(r), cm)
        codes[..., 2] = np.where(r >= 0, rm, 0)
        codes[..., 3] = np.where(r < 0, rm, 0)
    return codes


def rel_error(q: np.ndarray, ideal: np.ndarray) -> float:
    return float(np.sqrt(np.mean((q - ideal) ** 2) / np.mean(ideal ** 2)))


def fitted_gains(q: np.ndarray, ideal: np.ndarray, p: TileParams) -> tuple[np.ndarray, int]:
    """Per-column least-squares gains (codes) of charges ``q`` onto ``ideal`` (batch, cols);
    (gains, clipped count). A column with no charge keeps gain 1.0."""
    num = (q * ideal).sum(axis=0)
    den = (q * q).sum(axis=0)
    ratio = np.where(den > 0, num / np.where(den > 0, den, 1), 1.0)
    g = np.floor(ratio * p.gain_one + 0.5)
    gmax = (1 << p.gain_bits) - 1
    clipped = int(((g < 1) | (g > gmax)).sum())
    return np.clip(g, 1, gmax).astype(np.int64), clipped


def run_point(p, t, w_ideal, x_test, x_cal, faults, prog_cfg, mvm_cfg, reference_codes):
    """Errors of every method for one fault map, and the fail counts."""
    ideal_test = x_test @ w_ideal
    ideal_cal = x_cal @ w_ideal
    tile = Tile(p, faults=faults)
    out = {}
    # open loop: the ideal codes, written as they are (stuck devices keep their codes)
    tile.program(ideal_codes(t, p))
    out["open-loop"] = rel_error(tile.run(x_test, mvm_cfg).charge_sat, ideal_test)
    # closed loop, with the stuck devices of every row
    res = program_array(t, prog_cfg, p, stuck=faults.stuck)
    tile.program(res.codes)
    q_test = tile.run(x_test, mvm_cfg).charge_sat.astype(np.float64)
    out["closed-loop"] = rel_error(q_test, ideal_test)
    lo, hi = faults.weight_range()
    tol_w = weight_tolerance(prog_cfg.tol, p)
    unreachable = int(((t < lo - tol_w) | (t > hi + tol_w)).sum())
    # the host fits every column's GAIN from calibration MVMs
    q_cal = tile.run(x_cal, mvm_cfg).charge_sat.astype(np.float64)
    gains, clipped = fitted_gains(q_cal, ideal_cal, p)
    out["closed-loop + column gain"] = rel_error(q_test * gains / p.gain_one, ideal_test)
    # the tile's own calibration: reference on the fault-free array, compensation after
    g0 = np.full(p.cols, p.gain_one // 2, dtype=np.int64)
    cal_cfg = TileConfig(input_mode=InputMode.SIGNED, gain=g0)
    cal = Calibrator(p)
    cal.run(CalOp.REFERENCE, CalScope.PER_COLUMN, reference_codes, cal_cfg, p.cal_input_default)
    comp = cal.run(CalOp.COMPENSATE, CalScope.PER_COLUMN, tile.codes, cal_cfg,
                   p.cal_input_default)
    out["closed-loop + tile calibration"] = rel_error(q_test * comp.gain / g0, ideal_test)
    counts = {"failed": int(res.fail_count.sum()), "unreachable": unreachable,
              "gain_clipped": clipped, "cal_skipped": comp.skipped,
              "cal_clipped": comp.clipped, "rows_converged": int(res.converged.sum())}
    return out, counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=cli.int_in_range(1, 4096), default=256)
    ap.add_argument("--cols", type=cli.int_in_range(1, 4096), default=256)
    ap.add_argument("--fractions", type=fractions_arg, default=[0.0, 0.001, 0.01, 0.05],
                    help="stuck fractions, comma-separated (default 0,0.001,0.01,0.05)")
    ap.add_argument("--kinds", type=kinds_arg, default=list(KINDS),
                    help="kinds of stuck devices: mixed (half at zero, half at full), zero, "
                         "full; comma-separated (default all three)")
    ap.add_argument("--seeds", type=cli.int_in_range(1, 100), default=2,
                    help="fault maps per point (default 2)")
    ap.add_argument("--batch", type=cli.int_in_range(1), default=128,
                    help="test (and calibration) input vectors (default 128)")
    ap.add_argument("--seed", type=cli.seed, default=1,
                    help=f"master seed, 0..{cli.SEED_MAX} (default 1)")
    ap.add_argument("--out-dir", type=cli.writable_dir, default="build/faults",
                    help="where table.md, faults.json and faults.png go")
    args = ap.parse_args(argv)
    try:
        p = TileParams(rows=args.rows, cols=args.cols, fault_injection=True)
    except (TypeError, ValueError) as error:
        ap.error(str(error))
    from tqdm import tqdm

    rng = np.random.default_rng(args.seed)
    w = np.clip(rng.normal(0.0, 0.4, size=(p.rows, p.cols)), -1.0, 1.0)
    t = np.rint(w * p.weight_max).astype(np.int64)
    w_ideal = w * p.weight_max
    lo, hi = p.input_range(InputMode.SIGNED)
    x_test = rng.integers(lo, hi + 1, size=(args.batch, p.rows))
    x_cal = rng.integers(lo, hi + 1, size=(args.batch, p.rows))
    prog_cfg = ProgramConfig(seed=args.seed)
    mvm_cfg = TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY)
    reference_codes = program_array(t, prog_cfg, p).codes
    devices = p.rows * p.cols * p.devices_per_weight

    points = [(k, f, s) for k in args.kinds for f in args.fractions for s in range(args.seeds)]
    results = {}
    start = time.perf_counter()
    for kind, frac, s in tqdm(points, desc="fault maps", unit="map"):
        fseed = int(np.random.SeedSequence([args.seed, s, int(round(frac * 1e6))])
                    .generate_state(1)[0])
        faults = FaultMap.random(p, frac, seed=fseed, full_fraction=KINDS[kind])
        errs, counts = run_point(p, t, w_ideal, x_test, x_cal, faults, prog_cfg, mvm_cfg,
                                 reference_codes)
        results.setdefault((kind, frac), []).append({"errors": errs, "counts": counts,
                                                     "stuck": faults.stuck_count()})
    seconds = time.perf_counter() - start

    rows = []
    for (kind, frac), runs in results.items():
        mean = {m: float(np.mean([r["errors"][m] for r in runs])) for m in METHODS}
        counts = {k: float(np.mean([r["counts"][k] for r in runs])) for k in runs[0]["counts"]}
        rows.append({"kind": kind, "fraction": frac, "stuck_devices": float(
            np.mean([r["stuck"] for r in runs])), "error": mean, "counts": counts,
            "runs": runs})

    lines = [f"MVM error vs stuck devices: {p.rows} x {p.cols} tile, 4-PCM, weights N(0, 0.4) "
             f"clipped to [-1, 1], {args.batch} random signed 8-bit inputs, {args.seeds} fault "
             f"map(s) per point, seed {args.seed}. Relative RMS error of the gain-corrected "
             f"column charge against x . W (float weights).", "",
             "| stuck | kind | " + " | ".join(METHODS) + " | failed weights (fail mask) | "
             "unreachable weights |", "|---|---|" + "---|" * (len(METHODS) + 2)]
    for r in rows:
        c = r["counts"]
        lines.append(f"| {100 * r['fraction']:g} % | {r['kind']} | "
                     + " | ".join(f"{100 * r['error'][m]:.2f} %" for m in METHODS)
                     + f" | {c['failed']:.0f} ({100 * c['failed'] / (p.rows * p.cols):.2f} %)"
                     + f" | {c['unreachable']:.0f} |")
    lines += ["", f"{devices} devices, {p.rows * p.cols} weights; golden model time "
              f"{seconds:.1f} s."]
    table = "\n".join(lines) + "\n"
    print(table)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table)
    (out / "faults.json").write_text(json.dumps({
        "params": {"rows": p.rows, "cols": p.cols, "devices_per_weight": p.devices_per_weight},
        "seed": args.seed, "seeds": args.seeds, "batch": args.batch, "methods": list(METHODS),
        "points": rows}, indent=1))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(args.kinds), figsize=(5 * len(args.kinds), 4),
                             squeeze=False)
    for ax, kind in zip(axes[0], args.kinds):
        sel = [r for r in rows if r["kind"] == kind]
        xs = [max(r["fraction"], 1e-4) for r in sel]
        for m in METHODS:
            ax.plot(xs, [100 * r["error"][m] for r in sel], marker="o", label=m)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("stuck fraction (0 plotted at 1e-4)")
        ax.set_ylabel("relative MVM error (%)")
        ax.set_title(f"stuck devices: {kind}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "faults.png", dpi=120)
    print(f"wrote {out / 'table.md'}, {out / 'faults.json'}, {out / 'faults.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
