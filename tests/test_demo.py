"""tb.demo reports mismatching words (count, first index with both values, seed) and exits
non-zero instead of ending in a traceback; the testbench writes what it needs.

The function-level tests stand in for the RTL run with a fake ``run_cocotb`` that writes the
summary the testbench writes and fails the way a failed cocotb run fails; the RTL test injects
a wrong expected word into a real run (``TEST_CORRUPT_EXPECTED``)."""
import json
from pathlib import Path

import pytest

from golden.spec import TileParams
from tb import demo

TINY = ["--rows", "1", "--cols", "1", "--in-bits", "2", "--out-bits", "2", "--code-bits", "1",
        "--devices", "2", "--simulator", "icarus", "--mvms", "8"]
MISMATCH = {"mvm": 5, "column": 0, "expected": 3, "got": 2, "mode": "SIGNED",
            "activation": "IDENTITY"}


def _fake_run(summary, failure=None):
    def run_cocotb(factory, toplevel, module, simulator, key, testcase=None, extra_env=None,
                   waves=False):
        if summary is not None:
            Path(extra_env["TEST_SUMMARY"]).write_text(json.dumps(
                {**summary, "seed": int(extra_env["TEST_SEED"])}))
        if failure is not None:
            raise failure
        return Path("results.xml")
    return run_cocotb


GOOD = {"rows": 1, "cols": 1, "mvms": 8, "mismatches": 0, "latency_mismatches": 0,
        "first_mismatch": None, "first_latency_mismatch": None, "latency_cycles": 9,
        "cycles_per_mvm": 10.0, "mvm_per_second": 100.0, "cycles_per_second": 1000.0,
        "stall_fraction": 0.0, "error": None}


def test_mismatches_are_reported_with_index_values_and_seed(monkeypatch, capsys):
    summary = {**GOOD, "mismatches": 3, "first_mismatch": MISMATCH,
               "error": "3 output words differ"}
    monkeypatch.setattr("tb.runner.run_cocotb",
                        _fake_run(summary, AssertionError("1 of 1 cocotb tests failed")))
    assert demo.main(TINY + ["--seed", "77"]) == 1
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text
    assert "mismatches vs golden       3" in out
    assert "first mismatch: y[5][0] (SIGNED, IDENTITY): expected 3, got 2 (seed 77)" in text
    assert "python -m tb.demo" in err and "--seed 77" in err


def test_latency_mismatch_is_reported(monkeypatch, capsys):
    summary = {**GOOD, "latency_mismatches": 1,
               "first_latency_mismatch": {"mvm": 2, "expected": 9, "got": 10}}
    monkeypatch.setattr("tb.runner.run_cocotb", _fake_run(summary, AssertionError("failed")))
    assert demo.main(TINY + ["--seed", "4"]) == 1
    out, err = capsys.readouterr()
    assert "latency mismatches         1" in out
    assert "first latency mismatch: MVM 2: expected 9 cycles, got 10 (seed 4)" in out + err


def test_a_run_that_fails_before_any_result_is_reported(monkeypatch, capsys):
    monkeypatch.setattr("tb.runner.run_cocotb",
                        _fake_run(None, AssertionError("icarus run failed: no cocotb test ran")))
    assert demo.main(TINY + ["--seed", "9"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "no cocotb test ran" in err and "seed 9" in err


def test_a_clean_run_exits_zero(monkeypatch, capsys):
    monkeypatch.setattr("tb.runner.run_cocotb", _fake_run(GOOD))
    assert demo.main(TINY) == 0
    out, _ = capsys.readouterr()
    assert "mismatches vs golden       0" in out and "first mismatch" not in out


@pytest.mark.rtl
def test_injected_mismatch_reaches_the_summary(tmp_path, seed):
    """A wrong expected word (MVM 3, column 0) in a real Icarus run of the random MVM test:
    the run fails and its summary names exactly that word."""
    from hdl.tile import Tile
    from tb.runner import run_cocotb
    # the parameters of tests/test_rtl_edges.py's edge_min: its build is shared
    params = TileParams(rows=1, cols=1, in_bits=2, out_bits=2, code_bits=1,
                        devices_per_weight=2, charge_bits=2, gain_bits=1, gain_frac_bits=0,
                        eval_rows=64)
    path = tmp_path / "summary.json"
    with pytest.raises(AssertionError, match="cocotb tests failed|Failed 1 of 1"):
        run_cocotb(lambda: Tile(params), "tile", "tb.test_tile", "icarus", "edge_min",
                   testcase="random_mvms",
                   extra_env={"TEST_SEED": seed, "TEST_MVMS": 8, "TEST_SUMMARY": path,
                              "TEST_CORRUPT_EXPECTED": 3})
    s = json.loads(path.read_text())
    assert s["mvms"] == 8 and s["mismatches"] == 1 and s["seed"] == seed
    first = s["first_mismatch"]
    assert (first["mvm"], first["column"]) == (3, 0)
    assert first["expected"] == (first["got"] + 1) % 4
