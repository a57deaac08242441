"""scripts/mutate.py (`make mutate`): the mutants it makes, that a known-bad mutant of a block
is killed by the block's kill set, and its command line (the run itself is outside the suite)."""
import ast
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("mutate_tool", ROOT / "scripts" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate_tool"] = module
    spec.loader.exec_module(module)
    return module


mutate = _tool()

SNIPPET = '''
class Block:
    def __init__(self):
        self.x = 1 + 2                  # outside elaborate: never mutated

    def elaborate(self, platform):
        m = Module()
        a = Signal(8)                   # a declared width: never mutated
        assert WIDTH > 3                # an assert: never mutated
        with m.If(a < 3):
            m.d.sync += a.eq((a + b) >> 1)
        m.d.comb += c.eq(Mux(~d, a & b, 0))
        return m
'''


def test_mutants_of_a_snippet():
    mutants = mutate.enumerate_mutants(SNIPPET, "snippet.py", "snip")
    got = {(mu.line, mu.kind, mu.original, mu.mutated) for mu in mutants}
    assert got == {
        (10, "compare", "a < 3", "a <= 3"),
        (10, "const", "3", "4"), (10, "const", "3", "2"),
        (10, "negate", "a < 3", "~(a < 3)"),
        (11, "binop", "a + b >> 1", "a + b << 1"),
        (11, "binop", "a + b", "a - b"),
        (11, "round", "a + b", "a + b - 1"),          # half-up rounding made half-down
        (11, "const", "1", "2"), (11, "const", "1", "0"),
        (12, "negate", "~d", "~~d"), (12, "unary", "~d", "d"),
        (12, "binop", "a & b", "a | b"), (12, "const", "0", "1"),
    }
    assert all(mu.source_line == SNIPPET.splitlines()[mu.line - 1].strip() for mu in mutants)
    ids = [mu.id for mu in mutants]
    assert len(set(ids)) == len(ids) and all(i.startswith("snip-") for i in ids)
    # ids name the line's text, not its number: a line added above keeps them
    shifted = mutate.enumerate_mutants(SNIPPET.replace("m = Module()", "m = Module()\n        pass"),
                                       "snippet.py", "snip")
    assert [mu.id for mu in shifted] == ids and [mu.line for mu in shifted] == \
        [mu.line + 1 for mu in mutants]
    for mu in mutants:                     # each mutant is one node replaced, lines kept
        out = mutate.apply(SNIPPET, mu)
        assert len(out.splitlines()) == len(SNIPPET.splitlines())
        assert ast.dump(ast.parse(out)) != ast.dump(ast.parse(SNIPPET))
    assert mutate.sample(mutants, 4, 7, "snip") == mutate.sample(mutants, 4, 7, "snip")
    assert len(mutate.sample(mutants, 4, 7, "snip")) == 4
    assert mutate.sample(mutants, 100, 7, "snip") == mutants


def test_every_block_has_mutants_and_the_ramp_rounding_is_among_them():
    for name in mutate.BLOCKS:
        assert mutate.block_mutants(name), name
    ramp = mutate.block_mutants("ramp")
    half_down = [mu for mu in ramp if mu.kind == "round" and mu.original == "product + half"]
    assert len(half_down) == 1 and half_down[0].mutated == "product + half - 1"
    # every EQUIVALENT entry names a mutant that exists, with a reason
    ids = {mu.id for name in mutate.BLOCKS for mu in mutate.block_mutants(name)}
    assert all(key in ids and reason for key, reason in mutate.EQUIVALENT.items())


def test_a_bad_olp_mutant_is_killed_and_an_unknown_copy_is_refused():
    """An operator swap in the OLP's falling-edge detector, through the real kill set (pytest
    -x stops at the first failing test: a few seconds)."""
    olp = mutate.block_mutants("olp")
    (bad,) = [mu for mu in olp if mu.kind == "binop" and mu.original == "pulse_prev & ~pulse"]
    with tempfile.TemporaryDirectory() as tmp:
        ws = mutate.make_workspace(Path(tmp), 0)
        source = (ws / "hdl" / "olp.py").read_text()
        outcome = mutate.run_kill_set(ws, "olp", 120, 1, mutate.apply(source, bad))
        assert outcome.status == "killed", outcome
        assert outcome.detail.startswith("tests/test_sim_olp.py::"), outcome
        assert (ws / "hdl" / "olp.py").read_text() == source        # restored
        # a mutant that cannot elaborate is invalid, not killed
        broken = mutate.Mutant("olp", "hdl/olp.py", bad.line, bad.col, bad.end_line,
                               bad.end_col, "binop", bad.original, "pulse_prev.nonexistent",
                               bad.source_line)
        outcome = mutate.run_kill_set(ws, "olp", 120, 1, mutate.apply(source, broken))
        assert outcome.status == "invalid" and "nonexistent" in outcome.detail, outcome


@pytest.mark.parametrize("argv,message", [
    (["--per-block", "0"], "--per-block must be in [1, 100000], not 0"),
    (["--per-block", "x"], "--per-block must be an integer, not 'x'"),
    (["--jobs", "0"], "--jobs must be in [1, 64], not 0"),
    (["--seed", "-1"], "--seed must be in [0, 4294967295], not -1"),
    (["--timeout", "-5"], "--timeout must be in [0, 86400], not -5"),
    (["--blocks", "olp,alu"], "--blocks must be a comma-separated list of ilp, olp, ramp, "
                              "controller, calibration, programmer, csr, crossbar, not "
                              "'olp,alu'"),
])
def test_bad_arguments_are_refused_by_name(argv, message):
    done = subprocess.run([sys.executable, "scripts/mutate.py", *argv], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_list_names_every_sampled_mutant():
    done = subprocess.run([sys.executable, "scripts/mutate.py", "--list", "--blocks", "olp",
                           "--per-block", "5"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 6 and all(line.startswith("olp-") for line in lines[:5])
    assert lines[-1].startswith("5 mutants of ")
