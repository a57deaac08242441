"""The kit's command lines reject bad arguments with a message naming the problem (exit 2)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("argv, message", [
    (["-m", "tb.demo", "--rows", "0"], "rows must be in [1, 4096], not 0"),
    (["-m", "tb.demo", "--mvms", "3"], "--mvms must be at least 8"),
    (["-m", "tb.demo", "--devices", "3"], "devices_per_weight must be 2 or 4, not 3"),
    (["-m", "tb.demo", "--simulator", "xsim"], "invalid choice: 'xsim'"),
    (["-m", "tb.waves", "--cols", "5000"], "cols must be in [1, 4096], not 5000"),
    (["scripts/bench.py", "--sizes", "0"], "size must be in [1, 4096], not 0"),
])
def test_bad_arguments(argv, message):
    result = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
