"""scripts/chip_run.py (`make chip-run`): bad arguments are refused, naming the argument, the
value and the legal range, before any emission or build (the run itself is outside the suite)."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv,message", [
    (["--beats", "0"], "--beats must be in [1, 64], not 0"),
    (["--chain", "0,40"], "--chain[1] must be in [0, 33], not 40"),
    (["--chain", "0,x"], "--chain must be tile indices like 0,33, not '0,x'"),
    (["--chain", "3,3"], "--chain must name distinct tiles, not '3,3'"),
    (["--grid", "2x2", "--empty", "", "--pair-rows", "0,1", "--chain", "0,3,0"],
     "--chain must name distinct tiles"),
    (["--grid", "0x2"], "grid_rows must be in [1, 16], not 0"),
    (["--prog-bus-bits", "0"], "prog_bus_bits must be in [1, 4096], not 0"),
])
def test_bad_arguments_are_named_before_any_work(argv, message):
    done = subprocess.run([sys.executable, "scripts/chip_run.py", *argv], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "emitting" not in done.stdout
