"""golden/device.py side by side with IBM aihwkit's own PCM noise model (``make peer-aihwkit``).

aihwkit's ``PCMLikeNoiseModel`` (``src/aihwkit/inference/noise/pcm.py``), its single-pair
conductance converter and its global drift compensation are pure Python on torch; the rest of
aihwkit (the analog tiles) needs its C++ extension. This script runs those pure-Python files
from aihwkit's pinned source distribution, unpacked into ``--work-dir``, without building or
installing aihwkit: ``aihwkit`` and ``aihwkit.inference`` are registered as bare packages (their
``__init__`` would import the simulator), and the noise, converter and compensation modules are
then imported from the unpacked files as they are.

Device level: for each of 15 target conductances from 0 to 25 uS, ``--devices`` devices
(100,000 by default) through aihwkit's model and through the kit's ``PCMModel`` in each named
convention (``kit``, ``docs``, ``aihwkit_code``), from fixed seeds:

- programming: ``g_prog`` (aihwkit ``apply_programming_noise_to_conductance``);
- drift exponent: ``nu`` (``generate_drift_coefficients``);
- drift at 1 hour, 1 day, 1 year: ``g_d``, the drifted conductance with read noise off
  (``apply_drift_noise_to_conductance`` with ``read_noise_scale=0``);
- read noise at the same times: ``g / g_d - 1`` on the same devices (devices with ``g_d > 0``).

Each pair of samples (aihwkit, kit) is compared by the z-scores of the difference of means and
of standard deviations (standard errors from the samples' second and fourth moments) and by a
two-sample Kolmogorov-Smirnov test. A row is within noise when every ``|z| < 4`` and every KS
p-value ``> 1e-3`` over the 15 targets.

Tile level: the global drift compensation factor ``alpha`` at 1 hour, 1 day and 1 year of
``--matrices`` random standard-normal ``--size`` x ``--size`` weight matrices (20 of 256 x 256 by
default) on 2-PCM cells with one scale per tensor. aihwkit's side is its inference tile's
pipeline (``simulator/tiles/inference.py``: ``program_weights`` -> ``apply_programming_noise``,
``init_baseline`` on the programmed weights, ``drift_weights`` -> ``apply_drift_noise``,
``GlobalDriftCompensation.apply``) with an ideal forward pass (no forward noise, no ADC) on
aihwkit's one-hot read-out tensor. The kit's side: ``program_weights(devices=2,
per_column=False)``, the reference read from ``g_prog`` (as aihwkit's baseline), then
``ProgrammedArray.conductances(t)``. Compared by a paired z-score over the matrices.

Everything runs in float64 on the CPU. Prints the summary table and writes
``table.md``, ``detail.md`` (every target) and ``results.json`` into ``--work-dir``.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import re
import sys
import tarfile
import time
import types
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from golden import device  # noqa: E402

#: The aihwkit release compared with, and the sha256 of its source distribution on PyPI.
AIHWKIT_VERSION = "1.2.0"
AIHWKIT_SDIST_SHA256 = "288b00aed52a99f578a2e7ac46fdbf2a9f07e4780c4307eae5827558f1bf2cba"
#: The pure-Python files taken from the sdist (with the license that covers them).
AIHWKIT_FILES = (
    "LICENSE.txt",
    "src/aihwkit/inference/noise/__init__.py", "src/aihwkit/inference/noise/base.py",
    "src/aihwkit/inference/noise/pcm.py",
    "src/aihwkit/inference/converter/__init__.py", "src/aihwkit/inference/converter/base.py",
    "src/aihwkit/inference/converter/conductance.py",
    "src/aihwkit/inference/compensation/__init__.py",
    "src/aihwkit/inference/compensation/base.py", "src/aihwkit/inference/compensation/drift.py",
)

TARGETS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0)
TIMES = ((3600.0, "1 hour"), (86400.0, "1 day"), (3.1536e7, "1 year"))
SHOWN_TARGET = 1.0          # the target whose mean / sd the summary table shows
Z_MAX = 4.0
P_MIN = 1e-3
CONVENTIONS = ("kit", "docs", "aihwkit_code")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# -- aihwkit's source ----------------------------------------------------------------------------
def _index_url() -> str:
    return os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def fetch_sdist(work_dir: Path) -> Path:
    """aihwkit's ``src`` directory from the pinned sdist, downloaded and unpacked once."""
    root = work_dir / f"aihwkit-{AIHWKIT_VERSION}"
    if all((root / f).is_file() for f in AIHWKIT_FILES):
        log(f"aihwkit {AIHWKIT_VERSION}: reusing {root}")
        return root / "src"
    name = f"aihwkit-{AIHWKIT_VERSION}.tar.gz"
    sdist = work_dir / name
    work_dir.mkdir(parents=True, exist_ok=True)
    if not sdist.is_file() or _sha256(sdist) != AIHWKIT_SDIST_SHA256:
        page_url = f"{_index_url()}/aihwkit/"
        log(f"aihwkit {AIHWKIT_VERSION}: looking up {name} in {page_url}")
        with urllib.request.urlopen(page_url, timeout=60) as resp:
            page = resp.read().decode("utf-8", "replace")
        hrefs = [h for h in re.findall(r'href="([^"]+)"', page) if name in h]
        if not hrefs:
            sys.exit(f"peer_aihwkit: {name} is not listed in {page_url}")
        url = urllib.parse.urljoin(page_url, hrefs[0].replace("&amp;", "&")).split("#")[0]
        _download(url, sdist)
    digest = _sha256(sdist)
    if digest != AIHWKIT_SDIST_SHA256:
        sys.exit(f"peer_aihwkit: {sdist} has sha256 {digest}, expected the pinned "
                 f"{AIHWKIT_SDIST_SHA256}")
    with tarfile.open(sdist) as tar:
        prefix = f"aihwkit-{AIHWKIT_VERSION}/"
        members = [tar.getmember(prefix + f) for f in AIHWKIT_FILES]
        tar.extractall(work_dir, members=members, filter="data")
    log(f"aihwkit {AIHWKIT_VERSION}: sha256 verified, {len(AIHWKIT_FILES)} files unpacked "
        f"into {root}")
    return root / "src"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(url: str, dest: Path):
    log(f"downloading {url}")
    tmp = dest.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=120) as resp, open(tmp, "wb") as out:
        total = int(resp.headers.get("Content-Length") or 0)
        got = 0
        while block := resp.read(1 << 16):
            out.write(block)
            got += len(block)
        log(f"  {got / 1e3:.0f} kB" + (f" of {total / 1e3:.0f} kB" if total else ""))
    tmp.replace(dest)


def load_aihwkit(src: Path) -> types.SimpleNamespace:
    """aihwkit's noise model, converter and drift compensation, imported from ``src``."""
    for pkg, sub in (("aihwkit", "aihwkit"), ("aihwkit.inference", "aihwkit/inference")):
        if pkg not in sys.modules:
            mod = types.ModuleType(pkg)
            mod.__path__ = [str(src / sub)]
            sys.modules[pkg] = mod
    pcm = importlib.import_module("aihwkit.inference.noise.pcm")
    conductance = importlib.import_module("aihwkit.inference.converter.conductance")
    drift = importlib.import_module("aihwkit.inference.compensation.drift")
    for mod in (pcm, conductance, drift):
        if not Path(mod.__file__).resolve().is_relative_to(src.resolve()):
            sys.exit(f"peer_aihwkit: {mod.__name__} was imported from {mod.__file__}, not "
                     f"from {src}")
    return types.SimpleNamespace(PCMLikeNoiseModel=pcm.PCMLikeNoiseModel,
                                 SinglePairConductanceConverter=(
                                     conductance.SinglePairConductanceConverter),
                                 GlobalDriftCompensation=drift.GlobalDriftCompensation)


# -- statistics ----------------------------------------------------------------------------------
def moments(x: np.ndarray):
    """``(n, mean, sd, se of the mean, se of the sd)``; the sd's standard error from the
    fourth central moment, ``sqrt((m4 - s^4) / n) / (2 s)``."""
    n = x.size
    mean = float(x.mean())
    d = x - mean
    var = float(np.mean(d * d))
    sd = math.sqrt(var)
    m4 = float(np.mean(d ** 4))
    se_sd = math.sqrt(max(m4 - var * var, 0.0) / n) / (2 * sd) if sd > 0 else 0.0
    return n, mean, sd, sd / math.sqrt(n), se_sd


def _z(a, b, se_a, se_b):
    se = math.hypot(se_a, se_b)
    if se == 0:
        return 0.0 if a == b else math.copysign(math.inf, b - a)
    return (b - a) / se


def compare(ref: np.ndarray, kit: np.ndarray) -> dict:
    from scipy.stats import ks_2samp
    _, ma, sa, sema, sesa = moments(ref)
    _, mk, sk, semk, sesk = moments(kit)
    p = float(ks_2samp(ref, kit).pvalue)
    return {"ref_mean": ma, "ref_sd": sa, "kit_mean": mk, "kit_sd": sk,
            "z_mean": _z(ma, mk, sema, semk), "z_sd": _z(sa, sk, sesa, sesk), "ks_p": p}


# -- the device-level runs -----------------------------------------------------------------------
def aihwkit_devices(ai, g_t: float, n: int, seed: int) -> dict:
    import torch
    torch.manual_seed(seed)
    model = ai.PCMLikeNoiseModel(g_max=device.G_MAX)
    quiet = ai.PCMLikeNoiseModel(g_max=device.G_MAX, read_noise_scale=0.0)
    target = torch.full((n,), g_t, dtype=torch.float64)
    out = {}
    g_prog = model.apply_programming_noise_to_conductance(target)
    nu = model.generate_drift_coefficients(target)
    out["g_prog"], out["nu"] = g_prog.numpy().copy(), nu.numpy().copy()
    for t, label in TIMES:
        g_d = quiet.apply_drift_noise_to_conductance(g_prog, nu, t)
        g = model.apply_drift_noise_to_conductance(g_prog, nu, t)
        out[f"g_d {label}"] = g_d.numpy().copy()
        keep = g_d > 0
        out[f"read {label}"] = (g[keep] / g_d[keep] - 1).numpy().copy()
    return out


def kit_devices(model: device.PCMModel, g_t: float, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    quiet = model.replace(read_noise_scale=0.0)
    target = np.full(n, g_t)
    out = {}
    g_prog = model.program(target, rng)
    nu = model.drift_exponents(target, rng)
    out["g_prog"], out["nu"] = g_prog, nu
    for t, label in TIMES:
        g_d = quiet.age(g_prog, nu, t, rng, g_target=target)
        g = model.age(g_prog, nu, t, rng, g_target=target)
        out[f"g_d {label}"] = g_d
        keep = g_d > 0
        out[f"read {label}"] = g[keep] / g_d[keep] - 1
    return out


QUANTITIES = (("g_prog", "programmed conductance g_prog (uS)"),
              ("nu", "drift exponent nu"),
              *((f"g_d {label}", f"drifted conductance g_d (uS), {label}") for _, label in TIMES),
              *((f"read {label}", f"read noise g / g_d - 1, {label}") for _, label in TIMES))


def run_devices(ai, n: int, seed: int) -> dict:
    """Per quantity, per target, per convention: the comparison dict."""
    models = {c: device.PCMModel(convention=c) for c in CONVENTIONS}
    result = {q: {} for q, _ in QUANTITIES}
    start = time.time()
    for i, g_t in enumerate(TARGETS):
        ref = aihwkit_devices(ai, g_t, n, seed * 1000 + i)
        kits = {c: kit_devices(m, g_t, n, seed * 1000 + 500 + i) for c, m in models.items()}
        for q, _ in QUANTITIES:
            result[q][g_t] = {c: compare(ref[q], kits[c][q]) for c in CONVENTIONS}
        log(f"  devices [{i + 1:2d}/{len(TARGETS)}] g_T = {g_t:5.2f} uS: {n:,} devices x "
            f"(aihwkit + {len(CONVENTIONS)} conventions), {time.time() - start:.0f} s")
    return result


# -- the tile-level runs -------------------------------------------------------------------------
def aihwkit_alphas(ai, w: np.ndarray, seed: int) -> list:
    """aihwkit's inference-tile pipeline on weights ``w`` ``(out, in)``, ideal forward pass."""
    import torch
    torch.manual_seed(seed)
    model = ai.PCMLikeNoiseModel(g_max=device.G_MAX)
    comp = ai.GlobalDriftCompensation()
    weights = torch.from_numpy(w)
    programmed, nu_list = model.apply_programming_noise(weights)
    x = comp.get_readout_tensor(w.shape[1]).to(torch.float64)
    baseline = comp.readout(x @ programmed.T)
    alphas = []
    for t, _ in TIMES:
        drifted = model.apply_drift_noise(programmed, nu_list, t)
        alphas.append(float(comp.apply(x @ drifted.T, baseline)))
    return alphas


def kit_alphas(model: device.PCMModel, w: np.ndarray, seed: int) -> list:
    rng = np.random.default_rng(seed)
    prog = device.program_weights(w.T, seed=rng, devices=2, per_column=False, model=model)
    cal = model.calibration_inputs(w.shape[1])
    ref = cal @ prog.weights(prog.g_prog)
    return [device.drift_compensation(ref, cal @ prog.weights(prog.conductances(t, rng)))
            for t, _ in TIMES]


def run_tiles(ai, matrices: int, size: int, seed: int) -> dict:
    models = {c: device.PCMModel(convention=c) for c in CONVENTIONS}
    ref = np.zeros((matrices, len(TIMES)))
    kit = {c: np.zeros((matrices, len(TIMES))) for c in CONVENTIONS}
    start = time.time()
    for i in range(matrices):
        w = np.random.default_rng([seed, 7, i]).standard_normal((size, size))
        ref[i] = aihwkit_alphas(ai, w, seed * 1000 + 100 + i)
        for c, m in models.items():
            kit[c][i] = kit_alphas(m, w, seed * 1000 + 600 + i)
        if (i + 1) % 5 == 0 or i + 1 == matrices:
            log(f"  tiles [{i + 1:2d}/{matrices}] {size} x {size}, {time.time() - start:.0f} s")
    out = {}
    for j, (_, label) in enumerate(TIMES):
        row = {"ref_mean": float(ref[:, j].mean()),
               "ref_se": float(ref[:, j].std(ddof=1) / math.sqrt(matrices))}
        for c in CONVENTIONS:
            diff = kit[c][:, j] - ref[:, j]
            se = float(diff.std(ddof=1) / math.sqrt(matrices))
            row[c] = {"kit_mean": float(kit[c][:, j].mean()),
                      "kit_se": float(kit[c][:, j].std(ddof=1) / math.sqrt(matrices)),
                      "z": float(diff.mean() / se) if se > 0 else 0.0}
        out[label] = row
    return out


# -- the tables ----------------------------------------------------------------------------------
def _verdict_cell(per_target: dict, conv: str) -> tuple[str, bool]:
    worst_z, worst_g, min_p, min_pg = 0.0, None, 1.0, None
    for g_t, row in per_target.items():
        r = row[conv]
        for z in (r["z_mean"], r["z_sd"]):
            if abs(z) > abs(worst_z):
                worst_z, worst_g = z, g_t
        if r["ks_p"] < min_p:
            min_p, min_pg = r["ks_p"], g_t
    ok = abs(worst_z) < Z_MAX and min_p > P_MIN
    where = f" @{worst_g:g}" if not ok and worst_g is not None else ""
    return f"z {worst_z:+.1f}{where}, p {min_p:.2g}: {'ok' if ok else 'DIFFERS'}", ok


def _md(rows: list) -> str:
    return "\n".join("| " + " | ".join(r) + " |" for r in
                     [rows[0], ["---"] * len(rows[0]), *rows[1:]])


def summary_table(dev: dict, tiles: dict) -> str:
    head = ["quantity", "aihwkit"]
    for c in CONVENTIONS:
        head += [f"kit `{c}`", "z / KS"]
    rows = [head]
    for q, label in QUANTITIES:
        shown = dev[q][SHOWN_TARGET]
        row = [label, f"{shown[CONVENTIONS[0]]['ref_mean']:.4g} / "
                      f"{shown[CONVENTIONS[0]]['ref_sd']:.4g}"]
        for c in CONVENTIONS:
            cell, _ = _verdict_cell(dev[q], c)
            row += [f"{shown[c]['kit_mean']:.4g} / {shown[c]['kit_sd']:.4g}", cell]
        rows.append(row)
    for label, r in tiles.items():
        row = [f"tile alpha, {label}", f"{r['ref_mean']:.4f}"]
        for c in CONVENTIONS:
            ok = abs(r[c]["z"]) < Z_MAX
            row += [f"{r[c]['kit_mean']:.4f}", f"z {r[c]['z']:+.1f}: {'ok' if ok else 'DIFFERS'}"]
        rows.append(row)
    return _md(rows)


def detail_table(dev: dict) -> str:
    head = ["quantity", "g_T (uS)", "aihwkit mean / sd"]
    for c in CONVENTIONS:
        head += [f"`{c}` mean / sd", "z mean, z sd, KS p"]
    rows = [head]
    for q, label in QUANTITIES:
        for g_t, row in dev[q].items():
            r0 = row[CONVENTIONS[0]]
            cells = [label, f"{g_t:g}", f"{r0['ref_mean']:.5g} / {r0['ref_sd']:.5g}"]
            for c in CONVENTIONS:
                r = row[c]
                cells += [f"{r['kit_mean']:.5g} / {r['kit_sd']:.5g}",
                          f"{r['z_mean']:+.1f}, {r['z_sd']:+.1f}, {r['ks_p']:.2g}"]
            rows.append(cells)
    return _md(rows)


# -- command line --------------------------------------------------------------------------------
def _int_in(lo, hi):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be an integer in [{lo}, {hi}], not {text}")
        return v
    return parse


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-dir", type=Path, default=ROOT / "build" / "peer-aihwkit",
                    help="where aihwkit's sdist is unpacked and the tables are written")
    ap.add_argument("--devices", type=_int_in(1000, 10_000_000), default=100_000,
                    help="devices per target (default 100,000)")
    ap.add_argument("--matrices", type=_int_in(2, 1000), default=20,
                    help="random weight matrices for alpha (default 20)")
    ap.add_argument("--size", type=_int_in(2, 2048), default=256,
                    help="rows = columns of each weight matrix (default 256)")
    ap.add_argument("--seed", type=_int_in(0, 2 ** 31 - 1), default=1)
    ap.add_argument("--detail", action="store_true", help="also print every target's row")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError as exc:
        sys.exit(f"peer_aihwkit: torch is not importable ({exc}); run `make peer-aihwkit`, "
                 f"which builds the environment")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    start = time.time()
    ai = load_aihwkit(fetch_sdist(args.work_dir))
    log(f"aihwkit {AIHWKIT_VERSION} noise model (torch {torch.__version__}) vs golden/device.py "
        f"(numpy {np.__version__}); seed {args.seed}")
    log(f"device level: {len(TARGETS)} targets x {args.devices:,} devices")
    dev = run_devices(ai, args.devices, args.seed)
    log(f"tile level: {args.matrices} matrices of {args.size} x {args.size}, 2-PCM, one scale "
        f"per tensor")
    tiles = run_tiles(ai, args.matrices, args.size, args.seed)

    table = summary_table(dev, tiles)
    note = (f"aihwkit {AIHWKIT_VERSION} vs golden/device.py, seed {args.seed}: "
            f"{len(TARGETS)} targets from 0 to 25 uS x {args.devices:,} devices; alpha over "
            f"{args.matrices} matrices {args.size} x {args.size}.\n"
            f"Values: mean / sd at g_T = {SHOWN_TARGET:g} uS (alpha: mean). z / KS: the "
            f"largest |z| (of mean and sd) and the smallest KS p over the {len(TARGETS)} "
            f"targets (alpha: paired z over the matrices); ok = |z| < {Z_MAX:g} and "
            f"p > {P_MIN:g}.")
    print(note)
    print()
    print(table)
    detail = detail_table(dev)
    if args.detail:
        print()
        print(detail)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    (args.work_dir / "table.md").write_text(note + "\n\n" + table + "\n")
    (args.work_dir / "detail.md").write_text(detail + "\n")
    (args.work_dir / "results.json").write_text(json.dumps(
        {"aihwkit": AIHWKIT_VERSION, "torch": torch.__version__, "numpy": np.__version__,
         "seed": args.seed, "devices": args.devices, "matrices": args.matrices,
         "size": args.size, "targets": TARGETS,
         "devices_level": {q: {str(g): v for g, v in per.items()} for q, per in dev.items()},
         "tile_alpha": tiles}, indent=1))
    log(f"done in {time.time() - start:.0f} s; {args.work_dir}/table.md, detail.md, "
        f"results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
