"""Interleaved Verilator speed benchmark. Usage: python3 bench.py N CYCLES REPS variant...
(variant = build dir name without _N, e.g. a b c a3 b3 p_cat p_flat p_sep)"""
import re, subprocess, sys, statistics
N, C, R = sys.argv[1], sys.argv[2], int(sys.argv[3])
vs = sys.argv[4:]
res = {v: [] for v in vs}
finals = {}
for r in range(R):
    for v in vs:
        o = subprocess.run([f"../../build/verilator_study/{v}_{N}/obj_dir/Vtop", C], capture_output=True, text=True, check=True).stdout
        cps = float(re.search(r"cps=(\d+)", o).group(1))
        finals[v] = re.search(r"final=(\w+)", o).group(1)
        res[v].append(cps)
        print(f"rep {r} {v:8s} {cps:10.0f} cycles/s", flush=True)
base = vs[0]
print(f"\nN={N} cycles/run={C} reps={R} (median; ratio vs {base} computed per rep then median)")
for v in vs:
    ratios = [res[v][i] / res[base][i] for i in range(R)]
    print(f"{v:8s} median {statistics.median(res[v]):10.0f} c/s  runs {[round(x) for x in res[v]]}  "
          f"ratio vs {base}: {statistics.median(ratios):.2f} (per rep {[round(x, 2) for x in ratios]})  final={finals[v]}")
