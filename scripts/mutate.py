"""Mutation testing of the tile's digital blocks (mcy-style, on the Amaranth source).

    python scripts/mutate.py [--per-block 40] [--blocks ilp,olp,...] [--seed 1] [--jobs 2]
                             [--timeout 0] [--test-seed 1] [--list] [--out build/mutate]

Every block's ``elaborate`` method (where the hardware is described) is parsed with ``ast`` and
each of these mutations makes one mutant:

* ``binop``   an operator swap: ``+ <-> -``, ``& <-> |``, ``| -> ^``, ``^ -> |``, ``<< <-> >>``;
* ``round``   a sum of two non-constant terms made one less (``a + b -> a + b - 1``): a rounding
              rule half-up turned half-down (``(product + half) >> shift``), or an off-by-one;
* ``compare`` ``< <-> <=``, ``> <-> >=``, ``== <-> !=``;
* ``const``   an integer literal ``n -> n + 1`` and ``n -> n - 1`` (so ``0 <-> 1``), ``True <->
              False``;
* ``negate``  a condition negated: ``m.If(c)``/``m.Elif(c)``/``Mux(c, ..)`` -> ``~(c)``, and an
              elaboration-time ``if``/``x if c else y`` -> ``not (c)``;
* ``unary``   a ``~``, ``not`` or unary ``-`` dropped.

Nothing inside a declared width is mutated (the first argument of ``Signal``, ``unsigned``,
``signed``, ``range``, ``Const``'s width, the shape of ``gated``, ``shape=``/``depth=``): an
extra bit is unobservable and a missing one needs 2^n-cycle stimuli; nor is an ``assert``.

The mutants of a block are enumerated in source order and ``--per-block`` of them sampled with
``--seed`` (the same seed and source give the same mutants). Each runs in a private copy of the
repository (one per job) with the block's module replaced: first an elaboration probe (the block
built and prepared at the parameter sets its tests use; a mutant that fails it is *invalid*,
reported apart and left out of the score), then the block's kill set of fast amaranth.sim tests
(``KILL_SETS``; ``pytest -x``, ``SEED=--test-seed``). A failing test kills the mutant; a run
past the per-mutant timeout (default: 3 x the kill set's time on the unmutated design, at least
60 s) counts as killed and is reported as a timeout. Mutants in ``EQUIVALENT`` (keyed by their
stable id) are reported with the reason and left out of the score.

Writes ``<out>/report.json`` and ``<out>/report.md`` (per-block table, every survivor with its
file:line, the mutation and the source line). Exit status 0 when the run completed (whatever
the score), 2 on a bad option, 1 when the unmutated design fails its own kill set.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["BLOCKS", "EQUIVALENT", "KILL_SETS", "Mutant", "enumerate_mutants", "sample",
           "main", "parse_args"]


# -- the blocks -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    name: str
    path: str                  # the module, relative to the repository root
    module: str                # its import name
    cls: str                   # the component class whose elaborate() is mutated
    probes: tuple              # constructor expressions of the elaboration probe


_TILE_PARAMS = (
    "TileParams(rows=4, cols=3, in_bits=4, out_bits=4, code_bits=3, charge_bits=10)",
    "TileParams(rows=5, cols=4, in_bits=3, out_bits=5, code_bits=4, devices_per_weight=2, "
    "charge_bits=12, gain_bits=6, gain_frac_bits=4)",
    "TileParams(rows=3, cols=2, in_bits=4, out_bits=3, code_bits=2, f_factor=3, charge_bits=8, "
    "eval_rows=1)",
    "TileParams(rows=4, cols=4, in_bits=4, out_bits=4, code_bits=3, charge_bits=8)",
    "TileParams(rows=3, cols=5, in_bits=4, out_bits=4, code_bits=3, charge_bits=10)",
    "TileParams(rows=2, cols=3, in_bits=4, out_bits=4, code_bits=3, f_factor=3, charge_bits=6)",
    # the fault-injection hardware (docs/faults.md), 4-PCM and 2-PCM
    "TileParams(rows=4, cols=3, in_bits=4, out_bits=4, code_bits=3, charge_bits=10, "
    "fault_injection=True)",
    "TileParams(rows=3, cols=2, in_bits=4, out_bits=4, code_bits=3, devices_per_weight=2, "
    "charge_bits=10, fault_injection=True)",
)


def _with(cls, params):
    return tuple(f"{cls}({p})" for p in params)


#: The blocks whose logic is in their ``elaborate`` (the tile's glue, hdl/tile.py, is wiring).
BLOCKS = {b.name: b for b in (
    Block("ilp", "hdl/ilp.py", "hdl.ilp", "InputLandingPad", _with("InputLandingPad", (
        "TileParams(rows=6, in_bits=4)", "TileParams(rows=3, in_bits=2)",
        "TileParams(rows=9, in_bits=5)", "TileParams(rows=1, in_bits=3)") + _TILE_PARAMS)),
    Block("olp", "hdl/olp.py", "hdl.olp", "OutputLandingPad",
          ("OutputLandingPad(6, 4)", "OutputLandingPad(3, 2)", "OutputLandingPad(9, 3)",
           "OutputLandingPad(1, 5)", "OutputLandingPad(3, 4)", "OutputLandingPad(4, 5)")),
    Block("ramp", "hdl/ramp.py", "hdl.ramp", "RampConverter", _with("RampConverter", (
        "TileParams(rows=2, cols=5, out_bits=4, charge_bits=10, gain_bits=6, gain_frac_bits=4)",
        "TileParams(rows=2, cols=3, out_bits=3, charge_bits=16, gain_bits=8, gain_frac_bits=7)",
        "TileParams(rows=2, cols=4, out_bits=5, charge_bits=8, gain_bits=4, gain_frac_bits=0)",
        "TileParams(rows=2, cols=2, out_bits=2, charge_bits=6, gain_bits=3, gain_frac_bits=2)",
    ) + _TILE_PARAMS)),
    Block("controller", "hdl/controller.py", "hdl.controller", "LocalController",
          ("LocalController()",)),
    Block("calibration", "hdl/calibration.py", "hdl.calibration", "Calibrator",
          _with("Calibrator", _TILE_PARAMS)),
    Block("programmer", "hdl/programmer.py", "hdl.programmer", "RowProgrammer",
          _with("RowProgrammer", (
              "TileParams(rows=4, cols=3, code_bits=4)",
              "TileParams(rows=4, cols=5, code_bits=5, devices_per_weight=2)",
              "TileParams(rows=4, cols=4, code_bits=6, f_factor=2)",
              "TileParams(rows=4, cols=4, code_bits=3, f_factor=3)") + _TILE_PARAMS)),
    Block("csr", "hdl/csr.py", "hdl.csr", "TileRegisters", _with("TileRegisters", _TILE_PARAMS)),
    Block("crossbar", "hdl/crossbar.py", "hdl.crossbar", "Crossbar", _with("Crossbar", (
        "TileParams(rows=5, cols=4, in_bits=3, code_bits=3, charge_bits=7)",
        "TileParams(rows=8, cols=3, in_bits=4, code_bits=4, devices_per_weight=2, "
        "charge_bits=10)",
        "TileParams(rows=3, cols=6, in_bits=2, code_bits=2, f_factor=3, charge_bits=6)",
        "TileParams(rows=1, cols=2, in_bits=3, code_bits=2, charge_bits=5)") + _TILE_PARAMS)),
)}

GAPS = "tests/test_mutation_gaps.py"

#: Per block, the fast amaranth.sim tests that must kill its mutants, quickest killers first
#: (pytest node ids); ``GAPS::Test<Block>`` (tests/test_mutation_gaps.py) is added when present.
KILL_SETS = {
    "ilp": ["tests/test_sim_ilp.py", "tests/test_sim_calibration.py"],
    "olp": ["tests/test_sim_olp.py"],
    "ramp": ["tests/test_sim_ramp.py", "tests/test_sim_corners.py::test_mvm_corners"],
    "controller": ["tests/test_sim_tile.py::test_random_mvms_every_mode",
                   "tests/test_sim_corners.py"],
    "calibration": ["tests/test_sim_calibration.py",
                    "tests/test_sim_csr.py::test_registers_match_golden",
                    "tests/test_sim_faults.py"],
    "programmer": ["tests/test_sim_programmer.py",
                   "tests/test_sim_tile.py::test_closed_loop_programming",
                   "tests/test_sim_faults.py"],
    "csr": ["tests/test_sim_csr.py", "tests/test_sim_corners.py", "tests/test_sim_calibration.py",
            "tests/test_sim_tile.py::test_random_mvms_every_mode", "tests/test_sim_faults.py"],
    "crossbar": ["tests/test_sim_crossbar.py", "tests/test_sim_calibration.py",
                 "tests/test_sim_tile.py::test_closed_loop_programming",
                 "tests/test_sim_faults.py"],
}

#: Mutants with no observable behaviour (stable id -> why), reported apart, not scored.
EQUIVALENT: dict[str, str] = {
    # hdl/ilp.py: last_tick.eq(Mux(is_signed, 1 << (ib - 1), (1 << ib) - 1))
    "ilp-53fe0c29a1": "last_tick is in_bits wide: (0 << ib) - 1 truncates to 2^ib - 1 as well",
    "ilp-2ea65ed1d6": "last_tick is in_bits wide: (2 << ib) - 1 truncates to 2^ib - 1 as well",
    "ilp-32a6a70864": "last_tick is in_bits wide: (1 >> ib) - 1 = -1 truncates to 2^ib - 1",
    "ilp-7344245dd1": "the held words read through a register or combinationally: the same value "
                      "on every cycle the window uses it (only the simulator's cost differs)",
    "ilp-748500b3e8": "take and take_fill exclude each other (i.ready needs ~fill.valid): "
                      "OR = XOR",
    # hdl/olp.py
    "olp-400e8a4118": "top = (1 << wb) - 1 is never read (dead local)",
    "olp-5b6deb0aaf": "top = (1 << wb) - 1 is never read (dead local)",
    "olp-ac735fb83a": "top = (1 << wb) - 1 is never read (dead local)",
    "olp-8bccf93ecf": "top = (1 << wb) - 1 is never read (dead local)",
    "olp-f09a3d937e": "held = ~pulse & ~falling, so held & plane is disjoint from pulse and from "
                      "falling & ...: OR and XOR agree",
    "olp-4cc7b6d282": "pending and closing are both high only if a window closes while the "
                      "previous words still wait; the tile admits no MVM until y is accepted "
                      "(controller) and the chip routes no pass to a holding OLP",
    # hdl/ramp.py
    "ramp-6e1741e21f": "width has a spare bit: with ramp_shift_max = charge_bits and "
                       "gain_frac_bits <= gain_bits, product + half fits charge_bits + gain_bits "
                       "+ 1 signed bits",
    "ramp-bca41ea064": "width has a spare bit (see ramp-6e1741e21f): + 1 is as wide as needed",
    "ramp-f166d3a579": "a wider product/z register: the same values",
    "ramp-6addc84d57": "under only selects 0, and at z == lo the other branch gives z - lo = 0",
    # hdl/controller.py: the activity flags ORed into quiet are never high together
    "controller-b935d92e46": "array_engaged (window or MAC) and converting (the done cycle after "
                             "the MAC) are never high together: OR = XOR",
    "controller-a20672252a": "emitting (the ramp window, from the cycle after CONVERT) is never "
                             "high with engaged or converting: OR = XOR",
    "controller-26951f4782": "outputting (OLP valid, from the first cycle after the emit window) "
                             "is never high with engaged/converting/emitting (no MVM is admitted "
                             "before y is accepted): OR = XOR",
    "controller-60032d0292": "admit needs an opening window, i.e. a low window on the cycle "
                             "before, which cleared ext_active: admit and ext_active are never "
                             "high together",
    "controller-d462937d84": "ext_prev and ext_active are both high only during an admitted "
                             "window and the cycle after it, when busy keeps active high anyway",
    # hdl/calibration.py
    "calibration-ed43986b58": "gain_value is gain_bits wide: (0 << gb) - 1 = -1 truncates to gmax",
    "calibration-dcc96ebf7d": "2 N + D < 2^(n_bits + 1) (N <= (2^gb - 1)(2^sum_bits - 1), "
                              "D < 2^sum_bits): rem has a spare bit",
    "calibration-bd4fd1c844": "magnitude(0) is 0 either way (-0 = 0)",
    "calibration-0dc4f6ee9a": "conductance is sampled when the read window closes (READ holds "
                              "it high); its value in LOAD is never sampled",
    "calibration-2e978f6fce": "conductance is 1 bit (2 truncates to 0) and its LOAD value is "
                              "never sampled (see calibration-0dc4f6ee9a)",
    "calibration-1d93dfd56f": "gb > 0 and gb > 1 differ only at gain_bits = 1, where "
                              "Cat(take, quo[:-1]) is take",
    "calibration-aaca288e05": "the XOR differs from the OR only when r == -cmax and q_reg == 0, "
                              "which is also a sign change ((r < 0) != (q_reg < 0)): skipped "
                              "either way (TestCalibration reaches that column)",
    # hdl/csr.py
    "csr-4d373287ca": "the window's hit already bounds the index below cols: max(0, ..) only "
                      "differs at cols = 1, where the column index is 0 either way",
    "csr-c735533c4c": "a column index wider than needed: the window's hit bounds it below cols",
    "csr-6df8bbdbf1": "a wider slice assigned to a gain_bits port: truncated to the same bits",
    "csr-58424fc518": "a wider slice assigned to an offset_bits port: truncated to the same bits",
    # hdl/crossbar.py
    "crossbar-ef2eae8bbb": "count_max = (1 << ib) - 1 is never read (dead local)",
    "crossbar-7990d8eb0e": "window_prev and active are never high together (active starts on "
                           "the closing cycle, when window_prev falls): OR = XOR",
    "crossbar-0d9137a2a3": "the padding lanes multiply rows >= rows, whose codes are never "
                           "written (bad_row) and read 0",
    "crossbar-f8cee18d2e": "at F = 1, F * code is code",
    "crossbar-5af5653480": "acc > hi and acc < lo exclude each other: OR = XOR",
    "crossbar-79ccdf9cd0": "at acc == hi both branches give hi",
    # hdl/programmer.py
    "programmer-688e764f78": "noise_max only feeds the elaboration-time asserts",
    "programmer-19670b62a9": "F > 0 also takes F = 1, where (absolute + F // 2) // F = absolute",
    "programmer-7cb8db64a7": "over (mag > g + tol) and under (g > mag + tol) exclude each "
                             "other (tol >= 0): OR = XOR",
    "programmer-b59e22a242": "at total == bias + cm both branches give cm (bias = 2^(code_bits "
                             "+ 2), so total[:code_bits] = cm)",
}


# -- mutants -----------------------------------------------------------------------------------

@dataclass
class Mutant:
    block: str
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    kind: str
    original: str              # the node's source, unparsed
    mutated: str               # its replacement
    source_line: str           # the (first) source line of the node, stripped
    id: str = ""

    def describe(self) -> str:
        return f"{self.path}:{self.line}:{self.col} [{self.kind}] {_short(self.original)} -> " \
               f"{_short(self.mutated)}"


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


_BINOPS = {
    ast.Add: (ast.Sub,), ast.Sub: (ast.Add,),
    ast.BitAnd: (ast.BitOr,), ast.BitOr: (ast.BitAnd, ast.BitXor), ast.BitXor: (ast.BitOr,),
    ast.LShift: (ast.RShift,), ast.RShift: (ast.LShift,),
}
_COMPARES = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
}
#: calls whose first argument is a width (not mutated), and Const whose second is
_WIDTH_CALLS = {"Signal", "unsigned", "signed", "range"}


def _call_name(node) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name):
            return f.id
        if isinstance(f, ast.Attribute):
            return f.attr
    return None


def _is_int(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _width_arguments(root) -> set:
    """ids of every node inside a declared width: the first argument of ``Signal``,
    ``unsigned``, ``signed``, every argument of ``range``, ``Const``'s second, the shape (the
    last but one argument) of ``gated``, and ``shape=``/``depth=`` keywords."""
    skip = set()
    for node in ast.walk(root):
        name = _call_name(node)
        if not isinstance(node, ast.Call):
            continue
        args = []
        if name in _WIDTH_CALLS and node.args:
            args = node.args if name == "range" else node.args[:1]
        elif name == "Const" and len(node.args) >= 2:
            args = node.args[1:2]
        elif name in ("gated", "rng_gated") and len(node.args) >= 4:
            args = node.args[-2:-1]
        args = args + [k.value for k in node.keywords if k.arg in ("shape", "depth")]
        for a in args:
            skip.update(id(sub) for sub in ast.walk(a))
    return skip


def _candidates(func):
    """(node, kind, replacement node) for every mutation inside one function."""
    skip = _width_arguments(func)
    for node in ast.walk(func):
        if isinstance(node, ast.Assert):
            skip.update(id(sub) for sub in ast.walk(node))
    negated = set()                              # condition nodes of If/Elif/Mux/if
    out = []
    for node in ast.walk(func):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            for new_op in _BINOPS[type(node.op)]:
                out.append((node, "binop", ast.BinOp(node.left, new_op(), node.right)))
            if isinstance(node.op, ast.Add) and not _is_int(node.left) \
                    and not _is_int(node.right):
                out.append((node, "round", ast.BinOp(node, ast.Sub(), ast.Constant(1))))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and type(node.ops[0]) in _COMPARES:
            new = _COMPARES[type(node.ops[0])]()
            out.append((node, "compare", ast.Compare(node.left, [new], node.comparators)))
        elif isinstance(node, ast.Constant):
            if type(node.value) is bool:
                out.append((node, "const", ast.Constant(not node.value)))
            elif type(node.value) is int:
                out.append((node, "const", ast.Constant(node.value + 1)))
                if node.value > 0:
                    out.append((node, "const", ast.Constant(node.value - 1)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Invert, ast.Not,
                                                                     ast.USub)):
            if not _is_int(node.operand):
                out.append((node, "unary", node.operand))
        name = _call_name(node)
        if name in ("If", "Elif", "Mux") and node.args:
            cond = node.args[0]
            negated.add(id(cond))
            out.append((cond, "negate", ast.UnaryOp(ast.Invert(), cond)))
        elif isinstance(node, (ast.If, ast.IfExp, ast.While)) and id(node.test) not in negated:
            out.append((node.test, "negate", ast.UnaryOp(ast.Not(), node.test)))
    return out


def enumerate_mutants(source: str, path: str = "<snippet>", block: str = "snippet",
                      cls: str | None = None, function: str = "elaborate") -> list[Mutant]:
    """Every mutant of the ``function`` methods (of class ``cls``, or of any class) of a
    module's source, in source order, each with a stable id."""
    tree = ast.parse(source)
    lines = source.splitlines()
    funcs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and (cls is None or node.name == cls):
            funcs += [f for f in node.body
                      if isinstance(f, ast.FunctionDef) and f.name == function]
    mutants = []
    for func in funcs:
        for node, kind, new in _candidates(func):
            original = ast.unparse(node)
            mutated = ast.unparse(new)
            if original == mutated:
                continue
            mutants.append(Mutant(block, path, node.lineno, node.col_offset, node.end_lineno,
                                  node.end_col_offset, kind, original, mutated,
                                  lines[node.lineno - 1].strip()))
    mutants.sort(key=lambda mu: (mu.line, mu.col, mu.end_line, mu.end_col, mu.kind,
                                 mu.mutated))
    # stable ids: the block, the mutation and the source line's text (not its number), with an
    # occurrence count for identical ones
    seen: dict[str, int] = {}
    for mu in mutants:
        key = "|".join((block, mu.kind, mu.original, mu.mutated, mu.source_line))
        k = seen.get(key, 0)
        seen[key] = k + 1
        mu.id = f"{block}-" + hashlib.sha1(f"{key}|{k}".encode()).hexdigest()[:10]
    return mutants


def apply(source: str, mutant: Mutant) -> str:
    """The module's source with the mutant's node replaced (parenthesized; the line count is
    kept, so every other line keeps its number)."""
    lines = source.splitlines(keepends=True)
    data = [line.encode() for line in lines]
    start = sum(len(b) for b in data[:mutant.line - 1]) + mutant.col
    end = sum(len(b) for b in data[:mutant.end_line - 1]) + mutant.end_col
    raw = "".join(lines).encode()
    text = f"({mutant.mutated}" + "\n" * (mutant.end_line - mutant.line) + ")"
    out = (raw[:start] + text.encode() + raw[end:]).decode()
    ast.parse(out)                                    # always well-formed
    return out


def sample(mutants: list[Mutant], n: int, seed: int, block: str) -> list[Mutant]:
    """``n`` of the mutants (all when there are fewer), chosen by ``seed`` and the block's
    name alone (a block's sample does not depend on which other blocks run), in source
    order."""
    if len(mutants) <= n:
        return list(mutants)
    rng = random.Random(f"{seed}/{block}")
    picked = sorted(rng.sample(range(len(mutants)), n))
    return [mutants[i] for i in picked]


def block_mutants(name: str, root: Path = ROOT) -> list[Mutant]:
    b = BLOCKS[name]
    return enumerate_mutants((root / b.path).read_text(), b.path, name, b.cls)


def kill_set(name: str, root: Path = ROOT) -> list[str]:
    tests = list(KILL_SETS[name])
    cls = "Test" + name.capitalize()
    gaps = root / GAPS
    if gaps.exists() and f"class {cls}" in gaps.read_text():
        tests.append(f"{GAPS}::{cls}")
    return tests


# -- running -------------------------------------------------------------------------------------

INVALID_RC = 97          # the elaboration probe failed
WRONG_COPY_RC = 98       # the mutated module was not imported from the work copy

_PROBE_PLUGIN = f'''\
"""pytest plugin of scripts/mutate.py: checks the work copy is the one imported and elaborates
the block under test before any test runs (a failure: the mutant is invalid)."""
import importlib
import os
import traceback

import pytest


def pytest_sessionstart(session):
    module = os.environ["MUTATE_MODULE"]
    root = os.path.realpath(os.environ["MUTATE_ROOT"])
    mod = importlib.import_module(module)
    if not os.path.realpath(mod.__file__).startswith(root + os.sep):
        pytest.exit(f"{{module}} imported from {{mod.__file__}}, not from {{root}}",
                    returncode={WRONG_COPY_RC})
    from amaranth.hdl import Fragment
    from golden.spec import TileParams
    namespace = {{"TileParams": TileParams, os.environ["MUTATE_CLASS"]:
                 getattr(mod, os.environ["MUTATE_CLASS"])}}
    for expr in os.environ["MUTATE_PROBES"].split(";;"):
        try:
            Fragment.get(eval(expr, namespace), None).prepare()
        except Exception as error:
            text = "".join(traceback.format_exception_only(type(error), error)).strip()
            pytest.exit(f"elaboration of {{expr}} failed: {{text}}", returncode={INVALID_RC})
'''

_COPY = ("hdl", "golden", "tb", "tests", "mapper", "pyproject.toml")


def make_workspace(base: Path, k: int, source: Path = ROOT) -> Path:
    """A copy of the parts of the repository the tests import (no bytecode caches), from
    ``source`` (the repository, or the first work copy: every copy is the same snapshot)."""
    ws = base / f"ws{k}"
    ws.mkdir()
    for name in _COPY:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, ws / name, ignore=shutil.ignore_patterns("__pycache__",
                                                                           "sim_build"))
        elif src.exists():
            shutil.copy2(src, ws / name)
    (ws / "_mutate_probe.py").write_text(_PROBE_PLUGIN)
    return ws


@dataclass
class Outcome:
    status: str                # killed, survived, invalid, timeout, equivalent, error
    seconds: float
    detail: str = ""           # the killing test, the invalid reason, the error


def run_kill_set(ws: Path, block: str, timeout: float, test_seed: int,
                 mutated_source: str | None = None) -> Outcome:
    """Runs the block's kill set in ``ws`` (with ``mutated_source`` as the block's module, the
    original restored afterwards)."""
    b = BLOCKS[block]
    target = ws / b.path
    original = target.read_text()
    if mutated_source is not None:
        target.write_text(mutated_source)
    env = dict(os.environ)
    env.update({"PYTHONPATH": str(ws), "PYTHONDONTWRITEBYTECODE": "1", "SEED": str(test_seed),
                "MUTATE_MODULE": b.module, "MUTATE_CLASS": b.cls, "MUTATE_ROOT": str(ws),
                "MUTATE_PROBES": ";;".join(b.probes), "PYTHONHASHSEED": "0"})
    env.pop("PYTEST_XDIST_WORKER_COUNT", None)
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
           "-p", "_mutate_probe", "-o", "addopts=--strict-markers", "-W", "ignore",
           "--no-header", "-rf", *kill_set(block, ws)]
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, cwd=ws, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Outcome("timeout", time.monotonic() - start, f"no result in {timeout:.0f} s")
    finally:
        if mutated_source is not None:
            target.write_text(original)
    seconds = time.monotonic() - start
    rc = proc.returncode
    if rc == 0:
        return Outcome("survived", seconds)
    if rc == INVALID_RC:
        reason = next((line for line in out.splitlines() if "elaboration of" in line), out[-300:])
        return Outcome("invalid", seconds, _short(reason.split("failed: ", 1)[-1], 160))
    if rc == WRONG_COPY_RC:
        raise RuntimeError(f"the work copy is not the code under test:\n{out[-2000:]}")
    if rc == 1:
        failed = [line.split(" ", 1)[1].split(" - ")[0] for line in out.splitlines()
                  if line.startswith(("FAILED ", "ERROR "))]
        return Outcome("killed", seconds, failed[0] if failed else "a test failed")
    return Outcome("error", seconds, f"pytest exit status {rc}: {_short(out[-400:], 400)}")


def _int_in(name: str, lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, not {text!r}")
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be in [{lo}, {hi}], not {value}")
        return value
    return parse


def _blocks(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in BLOCKS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"--blocks must be a comma-separated list of {', '.join(BLOCKS)}, not {text!r}")
    return list(dict.fromkeys(names))


def _ids(text: str) -> list[str]:
    ids = [i.strip() for i in text.split(",") if i.strip()]
    bad = [i for i in ids if i.split("-", 1)[0] not in BLOCKS or "-" not in i]
    if bad or not ids:
        raise argparse.ArgumentTypeError(
            f"--ids must be comma-separated mutant ids (<block>-<10 hex digits>), not {text!r}")
    return ids


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python scripts/mutate.py",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-block", type=_int_in("--per-block", 1, 100_000), default=40,
                    help="mutants sampled per block (default 40; all when a block has fewer)")
    ap.add_argument("--blocks", type=_blocks, default=list(BLOCKS),
                    help=f"comma-separated blocks (default all: {','.join(BLOCKS)})")
    ap.add_argument("--seed", type=_int_in("--seed", 0, (1 << 32) - 1), default=1,
                    help="sampling seed (default 1)")
    ap.add_argument("--test-seed", type=_int_in("--test-seed", 0, (1 << 32) - 1), default=1,
                    help="SEED of the kill-set tests (default 1)")
    ap.add_argument("--jobs", type=_int_in("--jobs", 1, 64), default=2,
                    help="mutants run in parallel (default 2)")
    ap.add_argument("--timeout", type=_int_in("--timeout", 0, 86_400), default=0,
                    help="seconds per mutant; 0: 3 x the unmutated kill set's time, at "
                         "least 60 (default 0)")
    ap.add_argument("--nice", type=_int_in("--nice", 0, 19), default=10,
                    help="niceness added to this process and its tests (default 10)")
    ap.add_argument("--out", default=str(ROOT / "build" / "mutate"),
                    help="report directory (default build/mutate)")
    ap.add_argument("--ids", type=_ids, default=None,
                    help="run only these mutants (comma-separated ids, as --list prints them; "
                         "--per-block and --seed are then ignored)")
    ap.add_argument("--recheck", default=None, metavar="REPORT_JSON",
                    help="re-run only the survivors (and errors) of a previous report.json "
                         "(after new tests), keep its other results and write the merged report")
    ap.add_argument("--list", action="store_true",
                    help="list the sampled mutants with their ids and exit")
    return ap.parse_args(argv)


def _table(rows: list[dict]) -> list[str]:
    head = ["block", "mutants", "killed", "survived", "invalid", "timeout", "equivalent",
            "error", "score %"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(str(r[h if h != "score %" else "score"]) for h in head)
                   + " |")
    return out


def summarize(results: list[dict], blocks: list[str]) -> list[dict]:
    rows = []
    for name in blocks + ["total"]:
        mine = [r for r in results if name == "total" or r["block"] == name]
        n = {s: sum(r["status"] == s for r in mine)
             for s in ("killed", "survived", "invalid", "timeout", "equivalent", "error")}
        scored = n["killed"] + n["timeout"] + n["survived"]
        score = 100.0 * (n["killed"] + n["timeout"]) / scored if scored else 100.0
        rows.append({"block": name, "mutants": len(mine), **n, "score": f"{score:.1f}"})
    return rows


def write_report(out: Path, args, results: list[dict], baselines: dict, elapsed: float,
                 totals: dict) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    rows = summarize(results, args.blocks)
    command = getattr(args, "command", None) or "python scripts/mutate.py " + " ".join(
        [f"--per-block {args.per_block}", f"--blocks {','.join(args.blocks)}",
         f"--seed {args.seed}", f"--test-seed {args.test_seed}", f"--jobs {args.jobs}"]
        + ([f"--timeout {args.timeout}"] if args.timeout else []))
    report = {"command": command, "elapsed_s": round(elapsed, 1), "blocks": rows,
              "enumerated": totals, "baseline_s": baselines,
              "kill_sets": {b: kill_set(b) for b in args.blocks}, "mutants": results}
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    if getattr(args, "recheck", None):
        command += f"; survivors re-run: python scripts/mutate.py --recheck {args.recheck}"
    md = ["# Mutation run", "", f"`{command}`: {elapsed / 60:.1f} min, "
          f"{sum(totals.values())} mutants enumerated in the blocks' elaborate(), "
          f"{len(results)} run.", "",
          "Score = (killed + timeout) / (killed + timeout + survived); invalid mutants (fail to "
          "elaborate) and equivalent ones (`EQUIVALENT` in scripts/mutate.py) are left out.", ""]
    md += _table(rows)
    for title, status in (("Survivors", "survived"), ("Equivalent (not scored)", "equivalent"),
                          ("Errors", "error")):
        chosen = [r for r in results if r["status"] == status]
        md += ["", f"## {title} ({len(chosen)})", ""]
        for r in chosen:
            md.append(f"- `{r['id']}` {r['path']}:{r['line']} [{r['kind']}] "
                      f"`{_short(r['original'])}` -> `{_short(r['mutated'])}`  \n"
                      f"  `{r['source_line']}`" + (f"  \n  {r['detail']}" if r['detail'] else ""))
    timeouts = [r for r in results if r["status"] == "timeout"]
    md += ["", f"## Timeouts, counted as killed ({len(timeouts)})", ""]
    md += [f"- `{r['id']}` {r['path']}:{r['line']} `{_short(r['original'])}` -> "
           f"`{_short(r['mutated'])}`" for r in timeouts]
    md += ["", "## Kill sets", ""] + [f"- {b}: " + ", ".join(f"`{t}`" for t in kill_set(b))
                                      + f" ({baselines.get(b, 0):.0f} s unmutated)"
                                      for b in args.blocks]
    (out / "report.md").write_text("\n".join(md) + "\n")
    return out / "report.json", out / "report.md"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        return _run(args, ROOT)
    if args.nice:
        os.nice(args.nice)
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        # one snapshot of the repository, copied once per job: the mutants are enumerated from
        # it, so edits made to the repository meanwhile change nothing in this run
        first = make_workspace(Path(tmp), 0)
        spaces = [first] + [make_workspace(Path(tmp), k, first) for k in range(1, args.jobs)]
        return _run(args, first, spaces)


def _run(args, snapshot: Path, spaces=()) -> int:
    plan, totals = [], {}
    previous = []
    if args.recheck:
        try:
            old = json.loads(Path(args.recheck).read_text())
        except (OSError, ValueError) as error:
            print(f"mutate: --recheck {args.recheck}: {error}", file=sys.stderr)
            return 2
        previous = old["mutants"]
        args.blocks = [r["block"] for r in old["blocks"] if r["block"] in BLOCKS]
        args.ids = [r["id"] for r in previous if r["status"] in ("survived", "error")]
        args.per_block = int(old["command"].split("--per-block ")[1].split()[0])
        args.command = old["command"]
        args.elapsed_before = float(old["elapsed_s"])
    if args.ids and not args.recheck:
        args.blocks = [b for b in BLOCKS if any(i.startswith(b + "-") for i in args.ids)]
    for name in args.blocks:
        every = block_mutants(name, snapshot)
        totals[name] = len(every)
        if args.ids is not None:
            plan += [mu for mu in every if mu.id in args.ids]
        else:
            plan += sample(every, args.per_block, args.seed, name)
    if args.ids:
        unknown = sorted(set(args.ids) - {mu.id for mu in plan})
        if unknown and args.recheck:
            print(f"mutate: not in the current source any more (kept as they were): "
                  f"{', '.join(unknown)}", file=sys.stderr)
        elif unknown:
            print(f"mutate: --ids names no mutant of the current source: {', '.join(unknown)}",
                  file=sys.stderr)
            return 2
    if args.list:
        for mu in plan:
            tag = " (equivalent)" if mu.id in EQUIVALENT else ""
            print(f"{mu.id}  {mu.describe()}{tag}")
        print(f"{len(plan)} mutants of {sum(totals.values())} "
              + ", ".join(f"{k} {v}" for k, v in totals.items()))
        return 0
    from tqdm import tqdm

    start = time.monotonic()
    free: queue.Queue = queue.Queue()
    for ws in spaces:
        free.put(ws)
    def run(block, mutant=None, timeout=3600.0):
        ws = free.get()
        try:
            if mutant is None:
                return run_kill_set(ws, block, timeout, args.test_seed)
            source = (ws / BLOCKS[block].path).read_text()
            return run_kill_set(ws, block, timeout, args.test_seed, apply(source, mutant))
        finally:
            free.put(ws)

    # the unmutated design must pass every kill set (and times them)
    baselines = {}
    print(f"mutate: timing the kill sets of {', '.join(args.blocks)} on the unmutated "
          f"design ({args.jobs} jobs)", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run, b): b for b in args.blocks
                   if any(mu.block == b for mu in plan)}
        for f in as_completed(futures):
            b, o = futures[f], f.result()
            baselines[b] = round(o.seconds, 1)
            if o.status != "survived":
                print(f"mutate: the unmutated design fails the {b} kill set ({o.status}: "
                      f"{o.detail})", file=sys.stderr)
                return 1
    print("mutate: kill sets " + ", ".join(f"{b} {s:.0f} s" for b, s in baselines.items()),
          flush=True)

    results: list[dict] = []
    per_block = {b: sum(mu.block == b for mu in plan) for b in args.blocks}
    done_in = {b: 0 for b in args.blocks}
    lock = threading.Lock()
    bar = tqdm(total=len(plan), unit="mutant", dynamic_ncols=True)

    def one(mu: Mutant):
        if mu.id in EQUIVALENT:
            o = Outcome("equivalent", 0.0, EQUIVALENT[mu.id])
        else:
            limit = args.timeout or max(60.0, 3 * baselines[mu.block])
            o = run(mu.block, mu, limit)
        with lock:
            done_in[mu.block] += 1
            bar.set_description(f"{mu.block} {done_in[mu.block]}/{per_block[mu.block]}")
            bar.set_postfix_str(f"{o.status}", refresh=False)
            bar.update(1)
            if o.status in ("survived", "error"):
                bar.write(f"{o.status}: {mu.id} {mu.describe()}")
        return {**asdict(mu), "status": o.status, "seconds": round(o.seconds, 1),
                "detail": o.detail}

    with ThreadPoolExecutor(args.jobs) as pool:
        for f in as_completed([pool.submit(one, mu) for mu in plan]):
            results.append(f.result())
    bar.close()
    elapsed = time.monotonic() - start
    if previous:
        # the previous run's results, the re-run ones replaced, EQUIVALENT applied to all
        rerun = {r["id"]: r for r in results}
        results = []
        for r in previous:
            r = dict(rerun.get(r["id"], r))
            if r["id"] in EQUIVALENT:
                r.update(status="equivalent", detail=EQUIVALENT[r["id"]])
            results.append(r)
        elapsed += args.elapsed_before
    else:
        order = {mu.id: k for k, mu in enumerate(plan)}
        results.sort(key=lambda r: order[r["id"]])
    rows = summarize(results, args.blocks)
    print("\n".join(_table(rows)))
    for r in results:
        if r["status"] == "survived":
            print(f"survived: {r['id']} {r['path']}:{r['line']} [{r['kind']}] "
                  f"{_short(r['original'])} -> {_short(r['mutated'])}  | {r['source_line']}")
    js, md = write_report(Path(args.out), args, results, baselines, elapsed, totals)
    print(f"mutate: {elapsed / 60:.1f} min; {js} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
