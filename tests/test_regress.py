"""scripts/regress.py: the plan of a volume regression and its command line (the run itself is
`make regress`, outside the suite)."""
import subprocess
import sys

import pytest

from scripts.regress import plan
from tests.test_rtl_tile import SMALL, VOLUME


@pytest.mark.parametrize("total,chunk", [(100_000, 5000), (600, 5000), (7, 2), (1, 1)])
def test_plan_covers_the_total_in_the_suites_proportions(total, chunk):
    runs = plan(total, chunk, seed=(1 << 32) - 3)
    assert sum(n for _, _, n, _ in runs) >= total
    assert all(1 <= n <= chunk or n == 0 for _, _, n, _ in runs)
    assert {(name, sim) for name, sim, n, _ in runs if n} <= {
        (name, sim) for sim in VOLUME for name in SMALL}
    seeds = [s for *_, s in runs]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < 1 << 32 for s in seeds)
    if total >= 1000:
        vt = sum(sum(v.values()) for v in VOLUME.values())
        for sim, sets in VOLUME.items():
            for name, share in sets.items():
                got = sum(n for s, m, n, _ in runs if (s, m) == (name, sim))
                assert got >= total * share / vt


@pytest.mark.parametrize("argv,message", [
    (["--mvms", "0"], "--mvms must be in [1, 100000000], not 0"),
    (["--jobs", "0"], "--jobs must be in [1, 256], not 0"),
    (["--seed", "-1"], "--seed must be in [0, 4294967295], not -1"),
    (["--chunk", "0"], "--chunk must be in [1, 1000000], not 0"),
])
def test_command_line_is_checked_before_any_run(argv, message):
    done = subprocess.run([sys.executable, "scripts/regress.py", *argv], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
