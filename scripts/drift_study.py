"""Drift study: MVM error of one PCM tile after programming and drift, with and without drift
compensation done in the tile's periphery (docs/device.md).

    python scripts/drift_study.py [--seed 1] [--out-dir build/drift] [--rows 512 --cols 512]

A seeded normal weight matrix is mapped onto one tile with per-column scaling
(``golden.device.program_weights``), programmed with programming noise, aged to t = 0 (the verify
read, t0 = 20 s after the last pulse), 1 hour, 1 day and 1 year with read noise, quantized to
conductance codes and run through the bit-exact golden tile (``golden.Tile.mvm``) on a batch of
random signed 8-bit inputs, in the IDENTITY activation (signed outputs). The error is the
relative RMS error of the output ``z`` against the ideal float ``x . W`` in the same output units
(the mapped weights before any device effect, at the t0 ramp setting).

Compensation by the tile itself (``golden.calibration``, bit-exact with the RTL calibrator,
docs/spec.md section 10): at t0 the ramp is set one step finer (``RAMP_SHIFT - 1``) with every
``GAIN[c]`` at 0.5, the same conversion with a factor-2 headroom for the gains, and a
``REFERENCE`` calibration stores each column's conductance read (``CAL_INPUT`` at its reset
value); at t a ``COMPENSATE`` (``GLOBAL`` or ``PER_COLUMN``) sets every ``GAIN[c]``.

For comparison, compensation computed by the host from calibration MVMs through the same tile
at t = 0 and at t (one-hot rows or an all-ones vector, per the device-model convention):

- global: ``alpha = mean|z_ref| / mean|z_t|``; the ramp slope is divided by 2^k (``RAMP_SHIFT``
  lowered by k, the smallest k >= 0 that lets the gain fit) and every ``GAIN[c]`` is set to
  ``round(alpha / 2^k * 2^gain_frac_bits)``;
- per column: ``alpha[c]`` from the same reads per column; one k from the largest alpha, then
  ``GAIN[c] = round(alpha[c] / 2^k * 2^gain_frac_bits)``, clipped to ``[1, 2^gain_bits - 1]``
  (clipped registers are counted and reported); a column whose calibration readout is 0 at t0
  or at t carries no signal and keeps the global alpha (counted and reported).

Writes ``table.md``, ``drift.json`` and ``drift.png`` into the output directory.
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

from golden import cli, device                                           # noqa: E402
from golden.calibration import CalOp, CalScope, Calibrator               # noqa: E402
from golden.spec import Activation, InputMode, TileConfig, TileParams    # noqa: E402
from golden.tile import Tile                                             # noqa: E402

#: Inference times after programming (s), with their labels.
TIMES = ((0.0, "t0 (20 s)"), (3600.0, "1 hour"), (86400.0, "1 day"),
         (365.0 * 86400.0, "1 year"))
#: Fraction of the t0 ideal outputs allowed beyond the output range when the ramp is chosen.
RAMP_QUANTILE = 0.999
#: Gain headroom of the tile calibration: RAMP_SHIFT one step finer, GAIN[c] = 0.5 at t0.
HEADROOM = 1


def round_half_up(x):
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def rel_rms(z, ideal) -> float:
    """``rms(z - ideal) / rms(ideal)``."""
    return float(np.sqrt(np.mean((z - ideal) ** 2)) / np.sqrt(np.mean(ideal ** 2)))


def choose_ramp_shift(charges, hi: int, p: TileParams) -> int:
    """Smallest ``RAMP_SHIFT`` whose output for the ``RAMP_QUANTILE`` of ``|charges|`` fits
    ``hi`` (at gain 1.0): outputs use the range, at most ~0.1 % of them clip."""
    q = float(np.quantile(np.abs(charges), RAMP_QUANTILE))
    for shift in range(p.ramp_shift_max + 1):
        if q / 2 ** shift <= hi:
            return shift
    return p.ramp_shift_max


def choose_calibration_shift(tile: Tile, cal_x, lo: int, hi: int) -> int:
    """Smallest ``RAMP_SHIFT`` for which every t0 calibration output lies strictly inside the
    IDENTITY window (no word is a clamped one); a host loop over the tile, realizable as is."""
    p = tile.params
    for shift in range(p.ramp_shift_max + 1):
        z = tile.mvm(cal_x, _config(p, shift)) + lo
        if np.all((z > lo) & (z < hi)):
            return shift
    return p.ramp_shift_max


def _config(p: TileParams, ramp_shift: int, gain=None) -> TileConfig:
    return TileConfig(input_mode=InputMode.SIGNED, activation=Activation.IDENTITY,
                      ramp_shift=int(ramp_shift),
                      gain=None if gain is None else np.asarray(gain, dtype=np.int64))


def periphery_gains(alpha, ramp_shift: int, p: TileParams):
    """``(k, gain codes, clipped count)`` realizing the factor(s) ``alpha`` as a ramp-shift
    decrease ``k`` (x2 steps, ``k <= ramp_shift``) plus ``GAIN`` codes in Q(gain_bits,
    gain_frac_bits); ``alpha`` is a float or ``(cols,)``, non-finite means no usable read."""
    alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    gain_max = (1 << p.gain_bits) - 1
    finite = alpha[np.isfinite(alpha)]
    peak = float(finite.max()) if finite.size else 1.0
    k = 0
    while k < ramp_shift and round_half_up(peak * 2.0 ** -k * p.gain_one) > gain_max:
        k += 1
    scaled = np.where(np.isfinite(alpha), alpha * 2.0 ** -k * p.gain_one, np.inf)
    raw = np.where(np.isfinite(scaled), np.floor(np.minimum(scaled, 2.0 ** 62) + 0.5), np.inf)
    clipped = int(np.count_nonzero((raw < 1) | (raw > gain_max)))
    codes = np.clip(np.where(np.isfinite(raw), raw, gain_max), 1, gain_max).astype(np.int64)
    return k, codes, clipped


def column_alphas(reference, current, fallback: float):
    """Per-column ``alpha`` and the number of columns without a calibration signal (a zero
    readout at t0 or at t, e.g. an all-ones read whose column sum rounds to 0): those keep
    ``fallback`` (the global alpha)."""
    usable = (np.abs(current).mean(axis=0) > 0) & (np.abs(reference).mean(axis=0) > 0)
    alpha = np.full(reference.shape[1], float(fallback))
    if usable.any():
        alpha[usable] = device.drift_compensation(reference[:, usable], current[:, usable],
                                                  per_column=True)
    return alpha, int(np.count_nonzero(~usable))


def utilisation(z, lo: int, hi: int) -> dict:
    """How much of the output range ``z`` uses: rms and p99.9 of |z| over full scale,
    fraction of clamped words and of words below 1 LSB."""
    full = float(max(hi, -lo))
    a = np.abs(z)
    return {
        "rms_over_full_scale": float(np.sqrt(np.mean(z.astype(np.float64) ** 2)) / full),
        "p999_over_full_scale": float(np.quantile(a, 0.999) / full),
        "clamped_fraction": float(np.mean((z <= lo) | (z >= hi))),
        "zero_fraction": float(np.mean(z == 0)),
    }


def run(args) -> dict:
    start = time.perf_counter()
    p = TileParams(rows=args.rows, cols=args.cols, devices_per_weight=args.devices,
                   f_factor=args.f_factor)
    model = device.PCMModel(convention=args.convention)
    lo, hi = p.activation_window(Activation.IDENTITY)
    in_lo, in_hi = p.input_range(InputMode.SIGNED)
    seeds = np.random.SeedSequence(args.seed).spawn(3 + len(TIMES))
    rng_w, rng_x, rng_prog = (np.random.default_rng(s) for s in seeds[:3])
    age_rngs = [np.random.default_rng(s) for s in seeds[3:]]

    weights = rng_w.standard_normal((p.rows, p.cols))
    x = rng_x.integers(in_lo, in_hi + 1, size=(args.batch, p.rows))
    prog = device.program_weights(weights, seed=rng_prog, devices=p.devices_per_weight,
                                  f_factor=p.f_factor, per_column=True, model=model)
    # ideal float weights in the tile's integer weight units (code_max / g_max per uS)
    units = p.code_max / model.g_max
    ideal_charge = x.astype(np.float64) @ (prog.target_weights * units)
    ramp_shift = choose_ramp_shift(ideal_charge, hi, p)
    ideal_z = ideal_charge / 2.0 ** ramp_shift
    cal_x = (model.calibration_inputs(p.rows) * in_hi).astype(np.int64)

    tile = Tile(p)
    rows_out, cal_ref, cal_shift, float_ref, alphas_col = [], None, None, None, {}
    headroom = min(HEADROOM, ramp_shift)
    tile_cal = Calibrator(p)
    tile_cfg = _config(p, ramp_shift - headroom, np.full(p.cols, p.gain_one >> headroom))
    for (t, label), rng_t in zip(TIMES, age_rngs):
        g = prog.conductances(t, seed=rng_t)
        tile.program(device.conductances_to_codes(g, p, model.g_max))
        # the tile's own calibration (REFERENCE at t0, then COMPENSATE)
        if tile_cal.reference is None:
            tile_cal.run(CalOp.REFERENCE, CalScope.PER_COLUMN, tile.codes, tile_cfg,
                         p.cal_input_default)
        tile_res = {scope: tile_cal.run(CalOp.COMPENSATE, scope, tile.codes, tile_cfg,
                                        p.cal_input_default)
                    for scope in (CalScope.GLOBAL, CalScope.PER_COLUMN)}
        z_tile = {scope: tile.mvm(x, _config(p, ramp_shift - headroom, r.gain)) + lo
                  for scope, r in tile_res.items()}
        if cal_ref is None:
            cal_shift = choose_calibration_shift(tile, cal_x, lo, hi)
        cal_cfg = _config(p, cal_shift)
        cal_now = tile.mvm(cal_x, cal_cfg) + lo
        if cal_ref is None:
            cal_ref = cal_now

        z_none = tile.mvm(x, _config(p, ramp_shift)) + lo
        alpha_g = (device.drift_compensation(cal_ref, cal_now)
                   if np.abs(cal_now).mean() > 0 else float("inf"))
        alpha_c, no_signal = column_alphas(cal_ref, cal_now, alpha_g)
        k_g, gain_g, clip_g = periphery_gains(alpha_g, ramp_shift, p)
        gain_g = np.full(p.cols, gain_g[0])
        k_c, gain_c, clip_c = periphery_gains(alpha_c, ramp_shift, p)
        z_glob = tile.mvm(x, _config(p, ramp_shift - k_g, gain_g)) + lo
        z_col = tile.mvm(x, _config(p, ramp_shift - k_c, gain_c)) + lo

        # the same device state in float (no code quantization, no 8-bit output): what the
        # device model alone predicts, to separate device error from tile quantization
        w_float = prog.weights(g) * units
        zf = x.astype(np.float64) @ w_float / 2.0 ** ramp_shift
        cal_float = cal_x.astype(np.float64) @ w_float
        if float_ref is None:
            float_ref = cal_float
        af_g = device.drift_compensation(float_ref, cal_float)
        af_c = device.drift_compensation(float_ref, cal_float, per_column=True)

        alphas_col[label] = alpha_c[np.isfinite(alpha_c)]
        rows_out.append({
            "t_s": t, "label": label,
            "alpha_global": alpha_g,
            "alpha_column_min": float(np.min(alpha_c)), "alpha_column_max": float(np.max(alpha_c)),
            "ramp_shift_global": ramp_shift - k_g, "gain_global": int(gain_g[0]),
            "ramp_shift_column": ramp_shift - k_c,
            "gain_column_min": int(gain_c.min()), "gain_column_max": int(gain_c.max()),
            "gain_clipped_global": clip_g, "gain_clipped_column": clip_c,
            "columns_without_calibration_signal": no_signal,
            "calibration_clamped_words": int(np.count_nonzero((cal_now <= lo) | (cal_now >= hi))),
            "rel_rms_none": rel_rms(z_none, ideal_z),
            "rel_rms_global": rel_rms(z_glob, ideal_z),
            "rel_rms_column": rel_rms(z_col, ideal_z),
            "rel_rms_tile_global": rel_rms(z_tile[CalScope.GLOBAL], ideal_z),
            "rel_rms_tile_column": rel_rms(z_tile[CalScope.PER_COLUMN], ideal_z),
            "tile_gain_global": int(tile_res[CalScope.GLOBAL].gain[0]),
            "tile_gain_column_min": int(tile_res[CalScope.PER_COLUMN].gain.min()),
            "tile_gain_column_max": int(tile_res[CalScope.PER_COLUMN].gain.max()),
            "tile_skipped": {s.name: r.skipped for s, r in tile_res.items()},
            "tile_clipped": {s.name: r.clipped for s, r in tile_res.items()},
            "tile_cal_cap_sat": bool(tile_res[CalScope.GLOBAL].cap_sat),
            "tile_cal_cycles": {s.name: r.cycles for s, r in tile_res.items()},
            "float_rel_rms_none": rel_rms(zf, ideal_z),
            "float_rel_rms_global": rel_rms(zf * af_g, ideal_z),
            "float_rel_rms_column": rel_rms(zf * af_c, ideal_z),
            "utilisation_none": utilisation(z_none, lo, hi),
            "utilisation_column": utilisation(z_col, lo, hi),
        })
    elapsed = time.perf_counter() - start
    return {
        "seed": args.seed,
        "tile": {"rows": p.rows, "cols": p.cols, "devices_per_weight": p.devices_per_weight,
                 "f_factor": p.f_factor, "code_bits": p.code_bits, "in_bits": p.in_bits,
                 "out_bits": p.out_bits, "gain_bits": p.gain_bits,
                 "gain_frac_bits": p.gain_frac_bits},
        "device_model": {"g_max_uS": model.g_max, "t0_s": model.t0, "t_read_s": model.t_read,
                         "convention": vars(model.convention)},
        "mapping": "per-column scaling, max |W| of each column -> (F+1) g_max (4-PCM) or g_max",
        "inputs": {"batch": args.batch, "mode": "SIGNED", "distribution":
                   f"uniform integers in [{in_lo}, {in_hi}]"},
        "weights": "standard normal",
        "ramp_shift_t0": ramp_shift, "calibration_ramp_shift": cal_shift,
        "tile_calibration": {"ramp_shift": ramp_shift - headroom,
                             "base_gain": p.gain_one >> headroom,
                             "cal_input": p.cal_input_default},
        "calibration_vectors": int(cal_x.shape[0]),
        "results": rows_out, "elapsed_s": elapsed,
        "_alphas_col": alphas_col,
    }


def markdown_table(result: dict) -> str:
    lines = [
        "| t after programming | rel. RMS error: none | tile calibration: global | "
        "tile calibration: per column | tile GAIN per column (min..max) | skipped / clipped | "
        "host one-hot: global | host one-hot: per column |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['label']} | {100 * r['rel_rms_none']:.2f} % | "
            f"{100 * r['rel_rms_tile_global']:.2f} % | {100 * r['rel_rms_tile_column']:.2f} % | "
            f"{r['tile_gain_column_min']}..{r['tile_gain_column_max']} | "
            f"{r['tile_skipped']['PER_COLUMN']} / {r['tile_clipped']['PER_COLUMN']} | "
            f"{100 * r['rel_rms_global']:.2f} % | {100 * r['rel_rms_column']:.2f} % |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401 - used as matplotlib.ticker

    res = result["results"]
    labels = [r["label"] for r in res]
    pos = np.arange(len(res))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, name, marker in (("none", "no compensation", "o"),
                              ("tile_global", "tile calibration, global GAIN", "s"),
                              ("tile_column", "tile calibration, GAIN[c] per column", "^"),
                              ("global", "host one-hot, global", "x"),
                              ("column", "host one-hot, per column", "+")):
        ax1.plot(pos, [100 * r[f"rel_rms_{key}"] for r in res], marker=marker, label=name)
    ax1.set_xticks(pos, labels)
    ax1.set_yscale("log")
    ax1.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax1.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax1.set_ylabel("relative RMS error of the MVM (%)")
    ax1.set_title(f"{result['tile']['rows']} x {result['tile']['cols']} tile, "
                  f"{result['tile']['devices_per_weight']}-PCM, seed {result['seed']}")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    # t0 is the reference itself (every alpha is 1): only the later reads are drawn
    later = {k: v for k, v in list(result["_alphas_col"].items())[1:] if v.size}
    if later:
        allv = np.concatenate(list(later.values()))
        bins = np.linspace(allv.min(), allv.max(), 90) if np.ptp(allv) > 0 else 10
        for label, alphas in later.items():
            ax2.hist(alphas, bins=bins, histtype="step", label=label)
    ax2.set_xlabel("per-column drift compensation alpha")
    ax2.set_ylabel("columns")
    ax2.set_title("host one-hot calibration: alpha = mean|z_ref| / mean|z_t|")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=cli.seed, default=1,
                    help=f"master seed, 0..{cli.SEED_MAX} (default 1)")
    ap.add_argument("--out-dir", type=cli.writable_dir, default="build/drift",
                    help="output directory (default build/drift)")
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--cols", type=int, default=512)
    ap.add_argument("--batch", type=cli.int_in_range(1), default=1024,
                    help="random input vectors (1024)")
    ap.add_argument("--devices", type=int, choices=(2, 4), default=4)
    ap.add_argument("--f-factor", type=int, default=1)
    ap.add_argument("--convention", choices=sorted(device.CONVENTIONS), default="kit",
                    help="device-model convention (golden/device.py; default kit)")
    ap.add_argument("--no-plot", action="store_true", help="skip drift.png")
    args = ap.parse_args(argv)
    try:
        TileParams(rows=args.rows, cols=args.cols, devices_per_weight=args.devices,
                   f_factor=args.f_factor)
    except (TypeError, ValueError) as exc:
        ap.error(str(exc))
    print(f"drift study: seed {args.seed}, {args.rows} x {args.cols} tile, "
          f"{args.devices}-PCM, F = {args.f_factor}, convention {args.convention!r}, "
          f"batch {args.batch}")
    result = run(args)
    u0 = result["results"][0]["utilisation_none"]
    print(f"t0 output utilisation (RAMP_SHIFT {result['ramp_shift_t0']}, IDENTITY, 8-bit): "
          f"rms |z| = {100 * u0['rms_over_full_scale']:.1f} % of full scale, p99.9 |z| = "
          f"{100 * u0['p999_over_full_scale']:.1f} %, clamped words "
          f"{100 * u0['clamped_fraction']:.3f} %, zero words {100 * u0['zero_fraction']:.2f} %")
    print(f"calibration: {result['calibration_vectors']} vector(s) "
          f"({result['device_model']['convention']['calibration']}), RAMP_SHIFT "
          f"{result['calibration_ramp_shift']}")
    table = markdown_table(result)
    print()
    print(table)
    print("device model alone (float conductances, no code or output quantization), rel. RMS "
          "error none / global / per column:")
    for r in result["results"]:
        print(f"  {r['label']:>10}: {100 * r['float_rel_rms_none']:.2f} % / "
              f"{100 * r['float_rel_rms_global']:.2f} % / {100 * r['float_rel_rms_column']:.2f} %")
    clipped = sum(r["gain_clipped_global"] + r["gain_clipped_column"] for r in result["results"])
    print(f"host one-hot compensation: GAIN registers clipped to the register range: {clipped}")
    tc = result["tile_calibration"]
    last = result["results"][-1]
    print(f"tile calibration: RAMP_SHIFT {tc['ramp_shift']}, base GAIN {tc['base_gain']}, "
          f"CAL_INPUT {tc['cal_input']}; COMPENSATE takes {last['tile_cal_cycles']['GLOBAL']} "
          f"(global) / {last['tile_cal_cycles']['PER_COLUMN']} (per column) cycles")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "table.md").write_text(table)
    alphas = result.pop("_alphas_col")
    with open(args.out_dir / "drift.json", "w") as f:
        json.dump(result, f, indent=2)
    result["_alphas_col"] = alphas
    if not args.no_plot:
        plot(result, args.out_dir / "drift.png")
    print(f"wrote {args.out_dir / 'table.md'}, {args.out_dir / 'drift.json'}"
          + ("" if args.no_plot else f", {args.out_dir / 'drift.png'}")
          + f" (study: {result['elapsed_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
