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


SEED_RANGE = "must be an integer in [0, 4294967295]"


@pytest.mark.parametrize("argv, message", [
    # a tiny tile on Icarus: should the check ever go, the demo fails fast, not after a
    # full-size build
    (["-m", "tb.demo", "--rows", "1", "--cols", "1", "--simulator", "icarus", "--seed", "-1"],
     f"argument --seed: {SEED_RANGE}, not -1"),
    (["-m", "tb.demo", "--rows", "1", "--cols", "1", "--simulator", "icarus", "--seed", "1.5"],
     f"argument --seed: {SEED_RANGE}, not '1.5'"),
    (["-m", "golden.program", "--rows", "2", "--cols", "2", "--seed", "-1"],
     f"argument --seed: {SEED_RANGE}, not -1"),
    (["-m", "golden.program", "--rows", "2", "--cols", "2", "--seed", str(1 << 32)],
     f"argument --seed: {SEED_RANGE}, not 4294967296"),
    (["scripts/drift_study.py", "--rows", "2", "--cols", "2", "--batch", "1", "--no-plot",
      "--seed", "-1"], f"argument --seed: {SEED_RANGE}, not -1"),
    (["scripts/drift_study.py", "--rows", "2", "--cols", "2", "--batch", "0", "--no-plot"],
     "argument --batch: must be an integer >= 1, not 0"),
    (["scripts/drift_study.py", "--rows", "2", "--cols", "2", "--batch", "1", "--no-plot",
      "--out-dir", "{blocked}/drift"], "argument --out-dir: cannot write to directory"),
    (["scripts/bench.py", "--sizes", "1", "--quick", "--json", "{blocked}/bench.json"],
     "argument --json: cannot write to"),
    (["scripts/bench.py", "--sizes", "1", "--quick", "--json", "{tmp}"],
     "argument --json: '{tmp}' is a directory, not a file"),
    (["-m", "hdl.verilog", "--rows", "1", "--cols", "1", "--out", "{blocked}/v"],
     "argument --out: cannot write to directory '{blocked}/v': Not a directory"),
    (["-m", "hdl.verilog", "--rows", "1", "--cols", "1", "--name", "tile top"],
     "argument --name: module name must be a Verilog identifier"),
])
def test_bad_arguments_stop_before_any_work(argv, message, tmp_path):
    """Seeds, output locations and module names are checked while the command line is
    parsed: exit status 2 and the message, no traceback, nothing written."""
    blocked = tmp_path / "a_file"           # a regular file: no directory can be made in it
    blocked.write_text("")
    subst = {"{blocked}": str(blocked), "{tmp}": str(tmp_path)}

    def fill(text):
        for key, value in subst.items():
            text = text.replace(key, value)
        return text

    result = subprocess.run([sys.executable, *map(fill, argv)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert fill(message) in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_synth_refuses_an_illegal_tile_size_before_any_work(tmp_path, capsys):
    """scripts/synth.py checks the tile size before it emits or starts Yosys."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("synth", "scripts/synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    with pytest.raises(SystemExit):
        synth.main(["--rows", "0", "--out", str(tmp_path)])
    assert "--rows 0" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
