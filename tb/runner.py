"""cocotb 1.9.2 runner glue shared by every RTL test.

:func:`run_cocotb` emits a component's Verilog (cached), wraps it in the HDL-clock wrapper of
:mod:`hdl.verilog`, builds it with Verilator or Icarus in its own directory and runs a cocotb test
module against it. The gotchas it works around are numbered as in shared/design/TOOLCHAIN.md.

Directory layout (all under ``build/sim/``)::

    emit/<toplevel>_<key>/<toplevel>.v, <toplevel>_tb.v, emit.json   shared by both simulators
    <simulator>/<toplevel>_<key>[_waves]/                            one build per parameter set
    <simulator>/<toplevel>_<key>[_waves]/runs/<test>/                one working dir per run
                                                                     (results XML, waves.fst)

Environment of the cocotb test (read with :func:`params_from_env` and friends):

``TILE_PARAMS``
    JSON of the component's ``params`` dataclass (``golden.spec.TileParams``), or ``null``.
``TB_PARAMS_KEY``, ``TB_SIMULATOR``
    The run's parameter key and simulator name.
``TB_PORTS``
    JSON list of ``[name, width, "input"|"output"]`` for every port of the wrapper.
``TB_CLOCK_PERIOD_NS``
    Period of the wrapper's HDL clock (``clk``; ``tb_cycle`` counts its rising edges).
``TB_WAVES``
    ``1`` when this run records ``waves.fst`` in its run directory.

``TB_MAX_NS=<n>`` (in ``extra_env`` or the environment) ends the simulation after n ns of
simulated time, a watchdog against a test that waits for an event that never comes: the HDL
clock never lets the simulator run out of events, so such a test would run forever. Prefer
``@cocotb.test(timeout_time=...)`` in the test itself; this is the backstop.

``TB_PUBLIC_ALL=1`` keeps every signal of a Verilator build reachable through VPI (the
default exposes only the wrapper's signals: faster builds and simulation).

``WAVES=1`` in the environment turns waves on like ``waves=True``; ``RANDOM_SEED=<n>`` in the
environment is passed through to cocotb to replay a run with the seed it printed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib.metadata
import inspect
import json
import os
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

__all__ = [
    "ROOT", "BUILD_ROOT", "VERILATOR_BUILD_ARGS", "ICARUS_BUILD_ARGS", "run_cocotb",
    "params_from_env", "ports_from_env", "idle_inputs", "waves_requested",
]

ROOT = Path(__file__).resolve().parent.parent
BUILD_ROOT = ROOT / "build" / "sim"
#: ccache's cache of compiled Verilator runtime and model objects (when ccache is installed)
CCACHE_DIR = ROOT / "build" / "ccache"

# Verilator 5.006 build flags:
#   --timing              the wrapper's `always #5 clk = ~clk` needs timing support (gotcha 4)
#   --timescale 1ns/1ps   the wrapper has a `timescale, amaranth's modules have none; the 1.9
#                         runner ignores timescale= for Verilator (gotcha 4)
#   -Wno-WIDTH            amaranth/Yosys output has width mismatches that are fatal by default
#   -Wno-CASEINCOMPLETE   same, for case statements without default (gotcha 1)
# Added per build by run_cocotb:
#   (no --public-flat-rw) public.vlt      only the wrapper's signals reachable through VPI
#                                         (_public_wrapper_config: half the C++ to compile)
#   -CFLAGS -DVL_VALUE_STRING_MAX_WORDS=n  ports wider than 2048 bits read back whole
#                                         (_vpi_string_words)
#   --trace-fst                           with waves
# The default -Os of the generated Makefile stays: -O0 builds barely faster and simulates ~15x
# slower (gotcha 6).
# --output-split-cfuncs: Verilator splits its generated functions (at most this many
# statements each); without it g++ -Os spends minutes on the few giant functions that hold a
# 512-column block's logic (the 512-column row programmer built in 234 s, with it 74 s).
VERILATOR_BUILD_ARGS = ["--timing", "--timescale", "1ns/1ps", "-Wno-WIDTH", "-Wno-CASEINCOMPLETE",
                        "--output-split-cfuncs", "300"]

# Icarus 11: the last -g wins over the runner's -g2012. Under -g2012 the `reg $auto... = 0`
# initializer Yosys emits to kick `always @*` blocks at time 0 raises no event, so
# combinational outputs stay X (gotcha 2). Constant-only processes, which Yosys writes without
# that kick, are rewritten by hdl.verilog.icarus_compat before the build.
ICARUS_BUILD_ARGS = ["-g2005"]
ICARUS_TIMESCALE = ("1ns", "1ps")      # else Timer(1, "ns") fails (gotcha 3)

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SIMULATORS = ("verilator", "icarus")


def waves_requested(waves: bool = False) -> bool:
    """True when ``waves`` is set or the environment has ``WAVES=1``."""
    return bool(waves) or os.environ.get("WAVES", "0") not in ("", "0")


@contextlib.contextmanager
def _locked(directory: Path):
    """Exclusive lock on a directory, so parallel pytest workers don't build the same thing."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sha256(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _source_files(component) -> list[Path]:
    """Files whose change can change the emitted Verilog."""
    files = sorted((ROOT / "hdl").rglob("*.py")) + sorted((ROOT / "golden").rglob("*.py"))
    with contextlib.suppress(TypeError, OSError):
        own = Path(inspect.getsourcefile(type(component))).resolve()
        if own not in files:
            files.append(own)       # a component defined outside hdl/ (a test's own block)
    return files


def _params_json(component) -> str:
    params = getattr(component, "params", None)
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return json.dumps(dataclasses.asdict(params), sort_keys=True)
    return "null"


def _emit_cached(component, toplevel: str, params_key: str, sampled=()):
    """Emit ``component`` and its wrapper unless ``build/sim/emit/`` already holds them."""
    from hdl import verilog as hv
    from hdl.verilog import Port

    emit_dir = BUILD_ROOT / "emit" / (f"{toplevel}_{params_key}"
                                      + (f"_s-{'-'.join(sampled)}" if sampled else ""))
    params_json = _params_json(component)
    sig_ports = [port.as_json() for port in hv.signature_ports(component)]
    extra = getattr(component, "extra_modules", lambda: [])()
    # the modules the top instantiates (a chip: the tile, flat or behind its shell) are part
    # of what is emitted
    digest = _sha256(
        importlib.metadata.version("amaranth"), toplevel, params_key, params_json,
        json.dumps(sig_ports), json.dumps(list(sampled)),
        json.dumps([name for name, _ in extra]),
        *(f"{path}\0{path.read_bytes().hex()}" for path in _source_files(component)))
    verilog_path = emit_dir / f"{toplevel}.v"
    meta_path = emit_dir / "emit.json"
    with _locked(emit_dir):
        meta = None
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads(meta_path.read_text())
        if meta and meta.get("hash") == digest and verilog_path.exists() and \
                (emit_dir / meta["wrapper_file"]).exists() and \
                all((emit_dir / f).exists() for f in meta.get("extra_files", [])):
            # not elaborated: no "UnusedElaboratable" warning
            for unused in [component] + [module for _, module in extra]:
                unused._MustUse__used = True
            print(f"tb.runner: {toplevel} [{params_key}] Verilog is up to date in {emit_dir}")
        else:
            start = time.perf_counter()
            extra_files = []
            for name, module in extra:      # modules the top instantiates (hdl.chip: the tile)
                with _heartbeat(f"emitting {name} for {toplevel} [{params_key}]"):
                    extra_text = hv.emit(module, name, emit_dir / f"{name}.v")
                extra_files.append(f"{name}.v")
                print(f"tb.runner: emitted {name} for {toplevel} [{params_key}] "
                      f"({len(extra_text) / 1e6:.2f} MB) in "
                      f"{time.perf_counter() - start:.1f} s", flush=True)
            with _heartbeat(f"emitting {toplevel} [{params_key}]"):
                text = hv.emit(component, toplevel, verilog_path)
            ports = hv.module_ports(component, text, toplevel)
            wrapper = hv.write_wrapper(emit_dir / f"{toplevel}_tb.v", toplevel, ports,
                                       sampled=sampled)
            seconds = time.perf_counter() - start
            meta = {"hash": digest, "toplevel": toplevel, "wrapper": wrapper,
                    "extra_files": extra_files,
                    "wrapper_file": f"{wrapper}.v", "params": json.loads(params_json),
                    "ports": [port.as_json() for port in ports], "emit_seconds": seconds}
            meta_path.write_text(json.dumps(meta, indent=1))
            print(f"tb.runner: emitted {toplevel} [{params_key}] "
                  f"({len(text) / 1e6:.2f} MB) in {seconds:.1f} s")
    wrapper_ports = [Port.from_json(item) for item in meta["ports"] if item[0] != "clk"]
    wrapper_ports.append(Port(hv.CYCLE_COUNTER, hv.CYCLE_COUNTER_BITS, "output"))
    extra_paths = [emit_dir / f for f in meta.get("extra_files", [])]
    return (emit_dir, verilog_path, emit_dir / meta["wrapper_file"], meta["wrapper"],
            params_json, wrapper_ports, extra_paths)


@contextlib.contextmanager
def _heartbeat(label: str, every: float = 30.0):
    """Print ``label`` and the elapsed time every ``every`` seconds while the block runs (a
    long emission or build is never minutes of silence)."""
    import threading
    done = threading.Event()
    start = time.perf_counter()

    def beat():
        while not done.wait(every):
            print(f"tb.runner: {label}: {time.perf_counter() - start:.0f} s", flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextlib.contextmanager
def _parallel_make_env():
    """MAKEFLAGS=-j<nproc> for the runner's make (gotcha 6).

    The 1.9 runner copies os.environ into the build's environment, so this sets it there for
    the duration of the build. An outer `make test` exports its own MAKEFLAGS (no -j, or a
    jobserver whose file descriptors don't survive subprocess): replace it rather than inherit.
    """
    saved = {name: os.environ.get(name) for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL",
                                                     "CCACHE_DIR")}
    os.environ["MAKEFLAGS"] = f"-j{os.cpu_count() or 1}"
    if shutil.which("ccache") and os.environ.get("TB_CCACHE", "1") != "0":
        # every Verilator build compiles the same runtime (verilated.cpp, verilated_vpi.cpp,
        # ...: a large part of a small model's compile time): compile it once per checkout
        os.environ["MAKEFLAGS"] += " OBJCACHE=ccache"
        os.environ["CCACHE_DIR"] = saved["CCACHE_DIR"] or str(CCACHE_DIR)
    os.environ.pop("MFLAGS", None)
    os.environ.pop("MAKELEVEL", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _vpi_string_words(widest_port: int) -> int:
    """VL_VALUE_STRING_MAX_WORDS for a Verilator build whose widest port has this many bits.

    cocotb 1.9 reads values as binary strings (vpiBinStrVal); Verilator 5.006 truncates those
    at VL_VALUE_STRING_MAX_WORDS 32-bit words, 2048 bits by default, with only a VPI warning:
    a 512-column y payload (4096 bits) read back half zero. The define is #ifndef-guarded.
    """
    return max(64, -(-widest_port // 32) + 1)


def _verilator_without_public_flat_rw():
    """The cocotb 1.9 Verilator runner minus ``--public-flat-rw`` (see
    :func:`_public_wrapper_config`): internal signals stay optimisable."""
    from cocotb.runner import Verilator

    class VerilatorWrapperPublic(Verilator):
        def _build_command(self):
            commands = super()._build_command()
            commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
            return commands

    return VerilatorWrapperPublic()


def _public_wrapper_config(build_dir: Path, wrapper: str, ports, sampled=()) -> Path:
    """A Verilator config that makes only the wrapper's own signals reachable through VPI.

    The 1.9 runner passes ``--public-flat-rw``, which makes every signal of the design public:
    a 64x64 tile then compiles 6.8 MB of C++ (114 s) instead of 3.8 MB (49 s), and public
    signals cannot be optimised away. The tests only touch the wrapper's ports, ``clk`` and
    ``tb_cycle`` (internal names are unreachable anyway, TOOLCHAIN gotcha 10), so the build
    drops that flag (:func:`_verilator_without_public_flat_rw`; Verilator 5.006 accepts
    ``--no-public-flat-rw`` but still makes every signal public) and passes this file. ``TB_PUBLIC_ALL=1`` keeps
    everything public for debugging.

    Only the input ports are writable (``public_flat_rw``); outputs, ``clk`` and ``tb_cycle``
    are read-only (``public_flat_rd``). A writable signal may change from outside at any
    ``eval``, so Verilator evaluates all logic that reads it in its input-combinational region,
    at both clock edges: a writable output port made the design's own logic that feeds and
    reads that port (the OLP, the column accumulators) run three times per cycle.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / "public.vlt"
    lines = ["`verilator_config"]
    for port in ports:
        kind = "public_flat_rw" if port.direction == "input" else "public_flat_rd"
        # Verilator matches its internal names, in which "__" is escaped: match it as "*"
        lines.append(f'{kind} -module "{wrapper}" -var "{port.name.replace("__", "*")}"')
    lines.append(f'public_flat_rd -module "{wrapper}" -var "clk"')
    if sampled:
        from hdl.verilog import TB_CLOCK
        lines.append(f'public_flat_rd -module "{wrapper}" -var "{TB_CLOCK}"')
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _run_name(test_module: str, testcase) -> str:
    """The run directory's name: ``TB_RUN_NAME`` if set (runs of one build at the same time,
    e.g. scripts/regress.py), else the pytest test's name, else the module and testcases."""
    if os.environ.get("TB_RUN_NAME"):
        return re.sub(r"[^A-Za-z0-9_.,=-]+", "_", os.environ["TB_RUN_NAME"])[:120]
    current = os.environ.get("PYTEST_CURRENT_TEST")
    if current:
        name = current.split("::")[-1].split(" ")[0]
    else:
        cases = testcase if isinstance(testcase, str) or testcase is None else ",".join(testcase)
        name = f"{test_module}.{cases or 'all'}"
    return re.sub(r"[^A-Za-z0-9_.,=-]+", "_", name)[:120]


def run_cocotb(component_factory, toplevel_name: str, test_module: str, simulator: str,
               params_key: str, testcase=None, extra_env=None, waves: bool = False,
               sampled=(), report: dict | None = None, build_only: bool = False) -> Path:
    """Emit, wrap, build and simulate; fail unless every cocotb test passed.

    ``component_factory()`` returns the ``wiring.Component`` to test (constructing it is cheap;
    elaboration and emission are skipped when cached). ``toplevel_name`` is the emitted module's
    name; the simulator's toplevel is the wrapper ``<toplevel_name>_tb``. ``test_module`` is the
    dotted name of the cocotb test module, importable from this process (gotcha 5).
    ``simulator`` is ``"verilator"`` or ``"icarus"``. ``params_key`` names the parameter set in
    directory names (letters, digits, ``_.-``); ``testcase`` selects cocotb tests (a name or a
    list); ``extra_env`` adds environment variables for the test. Waves (FST) are recorded when
    ``waves`` is true or ``WAVES=1``. ``report``, a dict, receives ``verilog_bytes`` (every
    emitted file), ``emit_seconds`` (of the emission, cached or not), ``build_seconds`` and
    ``build_peak_rss_bytes`` (the largest resident set of a process the build started; of the
    build that made the binary, ``build_cached`` true if that was not this call) and
    ``run_seconds``. Returns the results XML path; with ``build_only``, emits and builds (both
    cached as always) and returns the build directory without simulating.
    """
    with warnings.catch_warnings():     # "Python runners ... are an experimental feature"
        warnings.simplefilter("ignore", UserWarning)
        from cocotb.runner import get_results, get_runner

    if not callable(component_factory):
        raise TypeError(f"component_factory must be a callable that returns the component, "
                        f"not {component_factory!r}")
    if simulator not in _SIMULATORS:
        raise ValueError(f"Simulator must be one of {_SIMULATORS}, not {simulator!r}")
    if not isinstance(params_key, str) or not _KEY_RE.match(params_key):
        raise ValueError(f"Parameter key must be a non-empty string of letters, digits and "
                         f"'_.-', not {params_key!r}")
    if not isinstance(test_module, str) or not test_module:
        raise TypeError(f"Test module must be a dotted module name, not {test_module!r}")
    waves = waves_requested(waves)

    # gotcha 5: the runner hands sys.path to the simulator's Python as PYTHONPATH
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    component = component_factory()
    emit_dir, verilog_path, wrapper_path, wrapper, params_json, wrapper_ports, extra_paths = \
        _emit_cached(component, toplevel_name, params_key, tuple(sampled))
    if report is not None:
        report["verilog_bytes"] = sum(path.stat().st_size for path in
                                      extra_paths + [verilog_path, wrapper_path])
        with contextlib.suppress(OSError, ValueError, KeyError):
            report["emit_seconds"] = json.loads((emit_dir / "emit.json").read_text())[
                "emit_seconds"]

    build_dir = BUILD_ROOT / simulator / (f"{toplevel_name}_{params_key}" +
                                          (f"_s-{'-'.join(sampled)}" if sampled else "") +
                                          ("_waves" if waves else ""))
    runner = get_runner(simulator)
    if simulator == "verilator" and os.environ.get("TB_PUBLIC_ALL", "0") in ("", "0"):
        runner = _verilator_without_public_flat_rw()
    if simulator == "verilator":
        build_args = VERILATOR_BUILD_ARGS + (["--trace-fst"] if waves else [])
        build_args += ["-CFLAGS", f"-DVL_VALUE_STRING_MAX_WORDS="
                       f"{_vpi_string_words(max(port.width for port in wrapper_ports))}"]
        if os.environ.get("TB_PUBLIC_ALL", "0") in ("", "0"):
            build_args += [str(_public_wrapper_config(build_dir, wrapper, wrapper_ports,
                                                      sampled))]
        hier = getattr(component, "verilator_hier_blocks", lambda: [])()
        if hier:
            # each hierarchical block is Verilated and compiled once for all its instances
            build_dir.mkdir(parents=True, exist_ok=True)
            config = build_dir / "hier.vlt"
            config.write_text("`verilator_config\n" + "".join(
                f'hier_block -module "{name}"\n' for name in hier))
            build_args += ["--hierarchical", str(config)]
        build_kwargs = dict(build_args=build_args, waves=waves)
        test_kwargs = dict(waves=waves,
                           test_args=["--trace-file", "waves.fst"] if waves else [])
        binary = build_dir / wrapper
    else:
        build_kwargs = dict(build_args=ICARUS_BUILD_ARGS, timescale=ICARUS_TIMESCALE,
                            defines={"TB_DUMP_FST": 1} if waves else {})
        test_kwargs = dict(timescale=ICARUS_TIMESCALE, plusargs=["-fst"] if waves else [])
        binary = build_dir / "sim.vvp"

    sources = extra_paths + [verilog_path, wrapper_path]
    if simulator == "icarus":
        # patched copies, same file names, in the Icarus build directory (see icarus_compat)
        from hdl.verilog import icarus_compat
        for i, path in enumerate(sources[:-1]):
            text, rewrites = icarus_compat(path.read_text())
            if rewrites:
                sources[i] = build_dir / path.name
                with _locked(build_dir):
                    if not sources[i].exists() or sources[i].read_text() != text:
                        sources[i].write_text(text)
    configs = [Path(arg) for arg in build_kwargs.get("build_args", []) if arg.endswith(".vlt")]
    build_hash = _sha256(simulator, importlib.metadata.version("cocotb"), wrapper,
                         json.dumps(build_kwargs, sort_keys=True),
                         *(path.read_bytes() for path in sources + configs))
    with _locked(build_dir):
        stamp = build_dir / "build.sha256"
        if binary.exists() and stamp.exists() and stamp.read_text() == build_hash:
            print(f"tb.runner: {simulator} build of {wrapper} [{params_key}] is up to date")
            if report is not None:
                with contextlib.suppress(OSError, ValueError):
                    report.update(json.loads((build_dir / "build.json").read_text()))
                    report["build_cached"] = True
        else:
            stamp.unlink(missing_ok=True)
            # Verilator leaves the C++ files of an older design in place next to the new ones:
            # start from an empty directory (the lock file and public.vlt are made anew)
            for stale in build_dir.iterdir():
                if stale.is_file() and stale.suffix in (".cpp", ".h", ".o", ".d", ".mk", ".dat",
                                                        ".a", ".vvp"):
                    stale.unlink()
            start = time.perf_counter()
            try:
                with _parallel_make_env(), _heartbeat(f"{simulator} build of {wrapper} "
                                                      f"[{params_key}]"):
                    runner.build(verilog_sources=sources, hdl_toplevel=wrapper,
                                 build_dir=build_dir, always=True, **build_kwargs)
            except SystemExit as error:
                raise RuntimeError(f"{simulator} build of {wrapper} [{params_key}] in "
                                   f"{build_dir} failed: {error}") from None
            stamp.write_text(build_hash)
            build_seconds = time.perf_counter() - start
            print(f"tb.runner: {simulator} build of {wrapper} [{params_key}] took "
                  f"{build_seconds:.1f} s")
            figures = {"build_seconds": build_seconds,
                       "build_peak_rss_bytes": _children_peak_rss()}
            (build_dir / "build.json").write_text(json.dumps(figures))
            if report is not None:
                report.update(figures)
                report["build_cached"] = False
    if build_only:
        return build_dir

    env = {
        "TILE_PARAMS": params_json,
        "TB_PARAMS_KEY": params_key,
        "TB_SIMULATOR": simulator,
        "TB_PORTS": json.dumps([port.as_json() for port in wrapper_ports]),
        "TB_CLOCK_PERIOD_NS": str(_clock_period_ns()),
        "TB_WAVES": "1" if waves else "0",
        # NumPy's BLAS threads spin inside the simulator process between the golden model's
        # calls and took 7 % of a 512 x 512 simulation's CPU from the model: one thread
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
    }
    env.update({str(k): str(v) for k, v in (extra_env or {}).items()})
    max_ns = env.get("TB_MAX_NS") or os.environ.get("TB_MAX_NS")
    if max_ns:
        if not max_ns.isdigit():
            raise ValueError(f"TB_MAX_NS must be a number of nanoseconds, not {max_ns!r}")
        test_kwargs["plusargs"] = test_kwargs.get("plusargs", []) + [f"+tb_max_ns={max_ns}"]
    test_dir = build_dir / "runs" / _run_name(test_module, testcase)
    start = time.perf_counter()
    # gotcha 7: no results_xml=; use the path test() returns
    try:
        results = runner.test(test_module=test_module, hdl_toplevel=wrapper,
                              hdl_toplevel_lang="verilog", testcase=testcase,
                              build_dir=build_dir, test_dir=test_dir, extra_env=env,
                              **test_kwargs)
    except SystemExit as error:
        # under pytest the runner checks the results itself and exits; report it as a failure
        raise AssertionError(f"{simulator} run of {test_module} [{params_key}] in {test_dir}: "
                             f"{error}") from None
    if report is not None:
        report["run_seconds"] = time.perf_counter() - start
    print(f"tb.runner: {simulator} run of {test_module} took {time.perf_counter() - start:.1f} s"
          + (f"; waves in {test_dir / 'waves.fst'}" if waves else ""))
    results = Path(results)
    num_tests, num_failed = get_results(results)
    assert num_tests > 0, f"{results}: no cocotb test ran (testcase={testcase!r})"
    assert num_failed == 0, f"{results}: {num_failed} of {num_tests} cocotb tests failed"
    return results


def _children_peak_rss() -> int:
    """The largest resident set (bytes) of any finished child process of this one (Linux
    reports kilobytes)."""
    import resource
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def _clock_period_ns() -> int:
    from hdl.verilog import CLOCK_PERIOD_NS
    return CLOCK_PERIOD_NS


# -- helpers for the cocotb test side ----------------------------------------------------------

def params_from_env():
    """The ``golden.spec.TileParams`` of this run (from ``TILE_PARAMS``), or None."""
    data = json.loads(os.environ.get("TILE_PARAMS", "null"))
    if data is None:
        return None
    from golden.spec import TileParams
    return TileParams(**data)


def ports_from_env() -> list:
    """The wrapper's ports as ``hdl.verilog.Port`` (from ``TB_PORTS``)."""
    from hdl.verilog import Port
    return [Port.from_json(item) for item in json.loads(os.environ.get("TB_PORTS", "[]"))]


def idle_inputs(dut, reset: bool = True) -> None:
    """Drive every input port of the wrapper to 0 (``rst`` to ``reset``).

    Icarus leaves an undriven toplevel input at ``z``; Verilator at 0. Call this first thing.
    """
    for port in ports_from_env():
        if port.direction == "input":
            getattr(dut, port.name).value = int(reset) if port.name == "rst" else 0
