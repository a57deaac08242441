"""Verilog emission of any block, the tile's command line, and the HDL-clock testbench wrapper.

``python -m hdl.verilog --rows 16 --cols 16 --out build`` writes ``build/tile.v`` (module
``tile``). Emission goes through ``amaranth.back.verilog.convert(..., name=, emit_src=False)``
with the built-in (WASM) Yosys, so the text does not depend on the machine or on absolute paths.

The wrapper (:func:`write_wrapper`) instantiates an emitted module, generates ``clk`` in HDL
(``always #5 clk = ~clk``, 10 ns period) and exposes every other port under its own name and
width. A cocotb test then waits on coarse events instead of toggling the clock from Python:
with Verilator that is about 100x more simulated cycles per second (shared/design/TOOLCHAIN.md).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

__all__ = [
    "Port", "CLOCK_HALF_PERIOD_NS", "CLOCK_PERIOD_NS", "TB_CLOCK", "LIVE_SUFFIX", "emit",
    "SEPARATE_MIN_COLS",
    "reset_domain_fragment", "sampled_outputs", "check_module_name",
    "signature_ports", "instance_ports",
    "verilog_ports", "module_ports", "port_stub", "icarus_compat", "write_wrapper", "main",
    "WIDE_INPUT_BITS",
    "add_size_arguments", "params_from_args",
]

#: Half period of the wrapper's clock; the timescale is 1ns/1ps.
CLOCK_HALF_PERIOD_NS = 5
CLOCK_PERIOD_NS = 2 * CLOCK_HALF_PERIOD_NS

#: Name of the wrapper's cycle counter (rising clock edges since time 0).
CYCLE_COUNTER = "tb_cycle"
CYCLE_COUNTER_BITS = 64

#: Clock of the bus-functional models in a wrapper with sampled ports: the inverse of ``clk``.
TB_CLOCK = "tb_clk"

#: Suffix of the live output of a sampled port (the wrapper's port of that name is the sample).
LIVE_SUFFIX = "__live"

#: Inputs wider than this are registers of the testbench wrapper rather than ports.
WIDE_INPUT_BITS = 64

#: Plusarg (``+tb_max_ns=<n>``) that ends the simulation after n ns of simulated time.
MAX_NS_PLUSARG = "tb_max_ns"
MAX_NS_NAME = "tb_max_ns"

#: Verilog define that makes the wrapper dump an FST (Icarus; Verilator traces with --trace-fst).
DUMP_DEFINE = "TB_DUMP_FST"
DUMP_FILE = "waves.fst"


_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
#: Reserved words of Verilog-2005 (IEEE 1364-2005 annex B) and of SystemVerilog's common ones,
#: which cannot name a module.
_KEYWORDS = frozenset("""
    always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config
    deassign default defparam design disable edge else end endcase endconfig endfunction
    endgenerate endmodule endprimitive endspecify endtable endtask event for force forever fork
    function generate genvar highz0 highz1 if ifnone incdir include initial inout input instance
    integer join large liblist library localparam macromodule medium module nand negedge nmos
    nor noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive pull0 pull1
    pulldown pullup pulsestyle_ondetect pulsestyle_onevent rcmos real realtime reg release repeat
    rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam
    strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand
    trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
    bit byte class endclass interface endinterface logic package endpackage program endprogram
    int shortint longint string typedef enum struct union void
""".split())


def check_module_name(name) -> str:
    """``name`` if it can name a Verilog module (a simple identifier, not a reserved word);
    ``ValueError`` saying what is legal otherwise."""
    if not isinstance(name, str) or not _IDENTIFIER_RE.match(name) or name in _KEYWORDS:
        raise ValueError(f"module name must be a Verilog identifier (a letter or '_', then "
                         f"letters, digits, '_' or '$'; not a reserved word), not {name!r}")
    return name


@dataclass(frozen=True)
class Port:
    """One port of an emitted module: ``direction`` is ``"input"`` or ``"output"``."""
    name: str
    width: int
    direction: str

    def __post_init__(self):
        if self.direction not in ("input", "output"):
            raise ValueError(f"Port direction must be 'input' or 'output', not {self.direction!r}")
        if not isinstance(self.width, int) or self.width < 1:
            raise ValueError(f"Port width must be a positive integer, not {self.width!r}")

    def as_json(self) -> list:
        return [self.name, self.width, self.direction]

    @classmethod
    def from_json(cls, item) -> "Port":
        name, width, direction = item
        return cls(name, width, direction)


#: Above this many columns, emission skips Amaranth's combinational-cycle check (see emit)
CHECK_CYCLES_MAX_COLS = 64


def _memory_init_sigspec(cell) -> str:
    """The ``DATA`` of a memory's ``$meminit_v2`` cell as RTLIL text, the same text Amaranth
    writes (one constant: row 0 in the least significant bits) built from one integer instead
    of one net object per bit (8.4 million of them for the 512 x 512 tile's code memories)."""
    mask = (1 << cell.width) - 1
    value = 0
    for k, row in enumerate(cell.init):
        value |= (int(row) & mask) << (k * cell.width)
    total = len(cell.init) * cell.width
    return f"{total}'{value:0{total}b}"


@contextlib.contextmanager
def _emission_shortcuts(check_cycles: bool):
    """Shortcuts in Amaranth 0.5's back end while converting, none changing the text
    (tests/test_verilog_tools.py holds it equal to Amaranth's own conversion): memory initial
    contents written from one integer (``_memory_init_sigspec``); the netlist's values and nets
    built without Amaranth's per-bit generators, type checks and range assertions (the
    512 x 512 tile has about 35 million net references: those checks were a fifth of the
    netlist's time); and, when ``check_cycles`` is false, no combinational-cycle check."""
    from amaranth.back import rtlil
    from amaranth.hdl import _nir
    Net, Value, Netlist = _nir.Net, _nir.Value, _nir.Netlist
    tuple_new = tuple.__new__
    zero, one = Net(0), Net(1)

    # each replacement returns what Amaranth's own returns
    def value_new(cls, nets=()):
        if isinstance(nets, Net):
            return tuple_new(cls, (nets,))
        return tuple_new(cls, nets)

    def value_from_const(cls, value, width):
        return tuple_new(cls, [one if value >> bit & 1 else zero for bit in range(width)])

    def from_cell(cls, cell, bit):
        return cls((cell << 16) | bit)

    def add_value_cell(self, width, cell):
        base = self.add_cell(cell) << 16
        return tuple_new(Value, map(Net, range(base, base + width)))

    def alloc_late_value(self, signal):
        width = len(signal)
        self.last_late_net -= width
        value = tuple_new(Value, map(Net, range(self.last_late_net,
                                                self.last_late_net + width)))
        self.late_to_signal.update(zip(value, zip(repeat(signal), range(width))))
        return value

    def width_output_nets(self, self_idx):
        base = self_idx << 16
        return set(map(Net, range(base, base + self.width)))

    def resolve_net(self, net):
        connections = self.connections
        while net < 0:
            net = connections[net]
        return net

    def resolve_value(self, value):
        connections = self.connections
        out = []
        for net in value:
            while net < 0:
                net = connections[net]
            out.append(net)
        return tuple_new(Value, out)

    def emit_memory(self, cell_idx, cell):
        self.builder.cell("$meminit_v2", ports={
            "ADDR": self.sigspec(),
            "DATA": _memory_init_sigspec(cell),
            "EN": self.sigspec(_nir.Value.ones(cell.width)),
        }, parameters={
            "MEMID": self.memories[cell_idx].memid,
            "ABITS": 0,
            "WIDTH": cell.width,
            "WORDS": cell.depth,
            "PRIORITY": 0,
        }, src_loc=cell.src_loc)

    patches = [(Value, "__new__", value_new), (Value, "from_const", classmethod(value_from_const)),
               (Net, "from_cell", classmethod(from_cell)),
               (Netlist, "add_value_cell", add_value_cell), (Netlist, "resolve_net", resolve_net),
               (Netlist, "alloc_late_value", alloc_late_value),
               (_nir.Operator, "output_nets", width_output_nets),
               (_nir.Part, "output_nets", width_output_nets),
               (_nir.AsyncReadPort, "output_nets", width_output_nets),
               (_nir.SyncReadPort, "output_nets", width_output_nets),
               (Netlist, "resolve_value", resolve_value),
               (rtlil.ModuleEmitter, "emit_memory", emit_memory)]
    if not check_cycles:
        patches.append((Netlist, "check_comb_cycles", lambda self: None))
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


#: At this many columns and more, ``emit`` converts a tile's largest blocks
#: (``hdl.tile.SEPARATE_BLOCKS``) in processes of their own, beside the rest of the tile.
SEPARATE_MIN_COLS = 256


def emit(component, name: str, path, *, progress=None, check_cycles: bool | None = None,
         fast: bool = True, domains=("sync",), separate: bool | None = None) -> str:
    """Convert ``component`` to Verilog module ``name``, write it to ``path``, return the text.

    Name the file after the module (``<name>.v``) so Verilator does not warn DECLFILENAME.
    ``progress``, if given, is called with one line of text as each step starts: elaboration,
    netlist and RTLIL, Yosys' ``write_verilog``, each line with the seconds of the step before.

    ``check_cycles``: run Amaranth's combinational-cycle check (a quarter of the 512 x 512
    tile's emission time). None (default): only for blocks of at most
    ``CHECK_CYCLES_MAX_COLS`` columns (for the chip: lanes). The blocks repeat the same logic
    per column and every size the tests emit below that is checked; a cycle would also fail
    every Verilator build and ``make lint`` (UNOPTFLAT is a fatal warning). ``fast=False``
    converts with Amaranth's own code throughout (the text is the same).

    ``domains``: the component's clock domains, each an asynchronously reset domain with clock
    and reset ports (``hdl.tile.domain_ports``).

    ``separate``: a component with a ``separate`` method (``hdl.tile.Tile``) has the blocks it
    names emitted in processes of their own, while this process converts the rest; the modules
    are written into one file. None (default): when the component has at least
    ``SEPARATE_MIN_COLS`` columns. The Verilog is the same logic in the same module hierarchy;
    the blocks' modules are named ``<name>_<block>`` instead of ``<name>.<block>``.
    """
    check_module_name(name)
    os.environ["AMARANTH_USE_YOSYS"] = "builtin"    # reproducible: the pinned WASM Yosys
    from amaranth.back import rtlil, verilog
    params = getattr(component, "params", None)
    cols = getattr(params, "cols", getattr(params, "lanes", 0))     # a block; the chip
    wide = isinstance(cols, int)
    if check_cycles is None:
        check_cycles = not (wide and cols > CHECK_CYCLES_MAX_COLS)
    if separate is None:
        separate = getattr(component, "emit_separately", None)
    if separate is None:
        separate = wide and cols >= SEPARATE_MIN_COLS
    say = progress or (lambda line: None)
    started = [time.perf_counter()]

    def step(finished: str, following: str = ""):
        now = time.perf_counter()
        say(f"{finished} in {now - started[0]:.1f} s" + (f"; {following}" if following else ""))
        started[0] = now

    blocks = None
    if separate and hasattr(component, "separate"):
        blocks = _SeparateBlocks(component, name, say)
    try:
        say("elaborating")
        fragment, ports = reset_domain_fragment(component, domains)
        step("elaborated", "netlist and RTLIL")
        if fast:
            with _emission_shortcuts(check_cycles):
                rtlil_text, _ = rtlil.convert_fragment(fragment, ports, name, emit_src=False)
        else:
            rtlil_text, _ = rtlil.convert_fragment(fragment, ports, name, emit_src=False)
        step(f"RTLIL ({len(rtlil_text) / 1e6:.1f} MB)", "write_verilog (Yosys)")
        text = verilog._convert_rtlil_text(rtlil_text)  # what verilog.convert runs on the RTLIL
        step("write_verilog")
        if blocks is not None:
            text += blocks.texts()
            step("separate blocks")
    finally:
        if blocks is not None:
            blocks.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)       # atomic: a concurrent reader never sees half a file
    return text


def _emit_block(argv) -> None:
    """Worker of :class:`_SeparateBlocks` (``python -c``): ``argv`` = the tile parameters as
    JSON, the block's name, its module name and the output path."""
    import json
    from golden.spec import TileParams
    from hdl.tile import SEPARATE_BLOCKS, tile_block
    params, block, module, path = argv
    params = TileParams(**json.loads(params))
    emit(tile_block(params, block), module, path, domains=tuple(SEPARATE_BLOCKS[block]),
         separate=False)


class _SeparateBlocks:
    """The blocks a component names (``component.separate(name)``), each emitted by a worker
    process of its own while the calling process converts the rest. The workers are fresh
    interpreters started with ``python -c``, so that a script calling :func:`emit` is not run
    again in them (as ``multiprocessing``'s spawn would, without a ``__main__`` guard)."""

    def __init__(self, component, name: str, say):
        import dataclasses
        import json
        import subprocess
        import tempfile
        self._say = say
        self._tmp = tempfile.TemporaryDirectory()
        params = json.dumps(dataclasses.asdict(component.params))
        root = str(Path(__file__).resolve().parent.parent)
        code = (f"import sys; sys.path.insert(0, {root!r}); from hdl.verilog import _emit_block; "
                f"_emit_block(sys.argv[1:])")
        self._workers = []
        modules = component.separate(name)
        say(f"emitting {', '.join(block for _, block in modules)} in processes of their own")
        for module, block in modules:
            path = Path(self._tmp.name) / f"{module}.v"
            proc = subprocess.Popen([sys.executable, "-c", code, params, block, module, str(path)],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self._workers.append((module, block, path, proc, time.perf_counter()))

    def texts(self) -> str:
        out = []
        for module, block, path, proc, start in self._workers:
            if proc.poll() is None:
                self._say(f"waiting for {block}")
            log, _ = proc.communicate()
            if proc.returncode:
                raise RuntimeError(f"emitting block {block} (module {module}) failed with "
                                   f"exit status {proc.returncode}:\n{log[-4000:]}")
            text = path.read_text()
            self._say(f"{block}: module {module} ({len(text) / 1e6:.2f} MB) in "
                      f"{time.perf_counter() - start:.1f} s")
            out.append(text)
        return "".join(out)

    def close(self):
        for _, _, _, proc, _ in self._workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self._tmp.cleanup()


def reset_domain_fragment(component, domains=("sync",)):
    """``component`` elaborated into a fragment whose ``sync`` domain resets asynchronously,
    and the port map for ``convert``: the signature's ports, then ``clk`` and ``rst`` (and the
    clock and reset of every other domain of ``domains``, ``hdl.tile.domain_ports``).

    The periphery's reset asserts asynchronously and releases on a clock edge: registers clear
    as soon as ``rst`` rises and count again from the first rising edge after it falls. This
    also keeps ``rst`` out of every register's next-state logic in the emitted Verilog; with a
    synchronous reset every register would depend on a top-level input, and Verilator would
    evaluate the whole design again in its input-combinational region on every ``eval``.
    """
    from amaranth.hdl import ClockDomain, Fragment, ValueCastable
    from amaranth.hdl._ir import PortDirection
    from amaranth.lib import wiring
    ports = {}
    for path, member, value in component.signature.flatten(component):
        if isinstance(value, ValueCastable):
            value = value.as_value()
        ports["__".join(map(str, path))] = (
            value, PortDirection.Input if member.flow == wiring.In else PortDirection.Output)
    from hdl.tile import domain_ports
    fragment = Fragment.get(component, None)
    for name in domains:
        domain = ClockDomain(name, async_reset=True)
        fragment.add_domains(domain)
        clk, rst = domain_ports(name)
        ports[clk] = (domain.clk, PortDirection.Input)
        ports[rst] = (domain.rst, PortDirection.Input)
    return fragment, ports


def instance_ports(signature, iface, sep: str = "__") -> dict:
    """``Instance`` arguments that wire ``iface`` (an interface of ``signature``) to a module
    emitted from a component of that signature: ``i_`` or ``o_`` and the member's path joined
    by ``sep`` (``__`` as :func:`emit` names the ports; clocks and resets not included)."""
    from amaranth.lib.wiring import In
    ports = {}
    for path, member, value in signature.flatten(iface):
        value = value.as_value() if hasattr(value, "as_value") else value
        ports[("i_" if member.flow == In else "o_") + sep.join(map(str, path))] = value
    return ports


def signature_ports(component) -> list[Port]:
    """The ports ``convert`` makes from a component's signature, in signature order.

    Same rule as ``amaranth.back.verilog.convert``: the signature path joined by ``__``,
    direction from the member's flow as seen from the component. Clock and reset ports come from
    the clock domains, not the signature: see :func:`module_ports`.
    """
    from amaranth.hdl import Shape
    from amaranth.lib import wiring
    ports = []
    for path, member, _value in component.signature.flatten(component):
        ports.append(Port("__".join(map(str, path)), Shape.cast(member.shape).width,
                          "input" if member.flow == wiring.In else "output"))
    return ports


_MODULE_RE = re.compile(r"^\s*module\s+(\S+)\s*\(", re.M)
_DECL_RE = re.compile(r"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?"
                      r"(?:\[(\d+):(\d+)\]\s+)?(\\\S+|\w+)\s*;", re.M)


def verilog_ports(text: str, module: str) -> list[Port]:
    """Ports of ``module`` in Yosys-written Verilog (``input [N:0] name;`` declarations)."""
    body = None
    for match in _MODULE_RE.finditer(text):
        if match.group(1).lstrip("\\") == module:
            end = text.find("endmodule", match.end())
            body = text[match.end():end]
            break
    if body is None:
        raise ValueError(f"Module {module!r} not found in the Verilog text")
    ports = []
    for direction, msb, lsb, name in _DECL_RE.findall(body):
        width = 1 if msb == "" else abs(int(msb) - int(lsb)) + 1
        ports.append(Port(name, width, direction))
    return ports


def module_ports(component, text: str, module: str) -> list[Port]:
    """Every port of the emitted module: the signature's, then clock and reset ports.

    The signature is the source of truth for names and widths; the Verilog text adds the domain
    ports (``clk``, ``rst``, ...) and cross-checks the rest.
    """
    from_signature = signature_ports(component)
    from_text = {port.name: port for port in verilog_ports(text, module)}
    for port in from_signature:
        if from_text.get(port.name) != port:
            raise ValueError(
                f"Port {port} of the signature does not match the emitted Verilog "
                f"({from_text.get(port.name)})")
    names = {port.name for port in from_signature}
    domain_ports = [port for name, port in sorted(from_text.items()) if name not in names]
    return from_signature + domain_ports


_CONST_PROCESS_RE = re.compile(
    r"^(?P<indent>[ \t]*)always @\*\n[ \t]*(?P<lhs>[^\n=;]+?) = (?P<rhs>[^\n;]+);[ \t]*$", re.M)
_CONST_TOKENS_RE = re.compile(r"\d+'[hdboHDBO][0-9a-fA-FxXzZ_]+|\d+|[{},\s]")
#: a long all-zero hex literal written digit by digit (Yosys writes memory inits so)
_ZERO_HEX_RE = re.compile(r"(?<![\w'])(\d+)'h0{64,}(?![0-9a-fA-FxXzZ_])")


def icarus_compat(text: str) -> tuple[str, int]:
    """Rewrite Yosys output for Icarus; return the text and the number of rewrites.

    Yosys writes a process that assigns only a constant as ``always @* x = 5'h00;`` without the
    ``$auto`` kick it gives every other combinational process. Such a block has no sensitivity,
    never runs in Icarus (any ``-g`` mode; "@* found no sensitivities") and leaves ``x`` at X.
    Verilator evaluates it at time 0. The value never changes, so ``initial x = 5'h00;`` is
    equivalent.

    Long all-zero hex literals are shortened to ``<width>'h0`` (the same value, zero-extended): Yosys
    writes a memory's initial words digit by digit, and Icarus' scanner stops at a token of
    more than about 16k characters ("input buffer overflow"), which the 512-column tile's code
    memory words (4 rows of 16,384 bits each) exceed.
    """
    rewrites = 0

    def replace(match):
        nonlocal rewrites
        if _CONST_TOKENS_RE.sub("", match["rhs"]):
            return match[0]     # not a constant: it has a sensitivity list, leave it
        rewrites += 1
        return f"{match['indent']}initial {match['lhs']} = {match['rhs']};"
    text = _CONST_PROCESS_RE.sub(replace, text)
    text, zeros = _ZERO_HEX_RE.subn(r"\1'h0", text)
    return text, rewrites + zeros


def port_stub(module: str, ports: list[Port], *, blackbox: bool = False) -> str:
    """Verilog of a module with ``ports`` and nothing inside: what a linter needs to check a
    design's instances of ``module`` (names, directions, widths) without elaborating it, and,
    with ``blackbox`` (the ``(* blackbox *)`` attribute), what a synthesis tool keeps as a black
    box."""
    check_module_name(module)
    if not ports:
        raise ValueError(f"Module {module!r} needs at least one port")
    lines = [f"// module {module}: its ports only"]
    if blackbox:
        lines.append("(* blackbox *)")
    lines.append(f"module {module}({', '.join(port.name for port in ports)});")
    for port in ports:
        width = "" if port.width == 1 else f"[{port.width - 1}:0] "
        lines.append(f"  {port.direction} {width}{port.name};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def sampled_outputs(ports: list[Port], sampled=()) -> list[Port]:
    """The output ports of the signature members named in ``sampled`` (``csr`` -> ``csr__*``)."""
    prefixes = tuple(f"{name}__" for name in sampled)
    return [port for port in ports if port.direction == "output" and prefixes
            and port.name.startswith(prefixes)]


def write_wrapper(path, module: str, ports: list[Port], *, wrapper: str | None = None,
                  clock: str = "clk", sampled=()) -> str:
    """Write a testbench wrapper around ``module``; return the wrapper's module name.

    The wrapper (module ``<module>_tb`` unless ``wrapper`` is given) drives ``clock`` (of the
    module, if it has one; of the wrapper in any case) from HDL
    with a 10 ns period, starting low so the first rising edge is at 5 ns, and exposes every
    other port of ``module`` as its own port, same name and width. It adds ``tb_cycle``, a
    64-bit count of rising clock edges, so a test can measure latencies without awaiting every
    edge. The plusarg ``+tb_max_ns=<n>`` stops the simulation after n ns (a watchdog against a
    test that waits forever: the HDL clock never lets the simulator run out of events). With
    ``TB_DUMP_FST`` defined it dumps every signal to ``waves.fst`` in the working
    directory (for Icarus; run vvp with ``-fst``).

    Inputs wider than ``WIDE_INPUT_BITS`` (the vector payloads) are registers of the wrapper,
    not ports, with the same names (initially 0); a test writes them through VPI like the
    ports. Verilator copies every toplevel input port into the model at every evaluation (twice
    per cycle), which for the 512 x 512 tile's row-write, target and input payloads (26 kbit)
    cost a tenth of the simulation time; a register is read in place.

    ``sampled`` names signature members (``"csr"``) whose ports bus-functional models drive,
    e.g. cocotbext-axi's AxiLiteMaster. Each output of those members reaches the wrapper's port
    of the same name through a register loaded at the rising edge of the clock, the live output
    stays visible as ``<name>__live``, and the wrapper adds ``tb_clk``, the inverse of the
    clock. A model that samples at ``RisingEdge(tb_clk)`` (the clock's falling edge) then reads
    the outputs as they were just before the last rising edge, with its own drives as the module
    took them at that edge, and what it drives reaches the module before the next rising edge:
    the handshakes it sees are the ones the module saw, in Verilator (whose ``RisingEdge``
    callback on an HDL clock comes after the clocked logic has run) as in Icarus. With the HDL
    clock a model must not sample at ``RisingEdge(clk)`` itself (shared/design/TOOLCHAIN.md).

    Note: an undriven input port of a toplevel is ``z`` in Icarus but 0 in Verilator; a test
    drives every input (``tb.runner.idle_inputs``) before releasing reset.
    """
    wrapper = wrapper or f"{module}_tb"
    names = [port.name for port in ports]   # a combinational module has no clock port: the
                                            # wrapper's clock then only paces the test
    sampled = list(sampled)
    sampled_ports = sampled_outputs(ports, sampled)
    for name in sampled:
        if not any(port.name.startswith(f"{name}__") for port in ports):
            raise ValueError(f"Module {module!r} has no ports of a member named {name!r}")
    for reserved in (CYCLE_COUNTER, MAX_NS_NAME) + ((TB_CLOCK,) if sampled else ()):
        if reserved in names:
            raise ValueError(f"Module {module!r} has a port named {reserved!r}, which the "
                             f"wrapper reserves")
    outer = [port for port in ports if port.name != clock
             and not (port.direction == "input" and port.width > WIDE_INPUT_BITS)]
    held = [port for port in ports if port.name != clock and port not in outer]

    def decl(port):
        width = "" if port.width == 1 else f"[{port.width - 1}:0] "
        return f"  {port.direction} wire {width}{port.name}"

    lines = [
        f"// Generated by hdl.verilog.write_wrapper: testbench wrapper of `{module}`.",
        "// The clock is generated here so that Python stays out of the per-cycle loop.",
        "`timescale 1ns/1ps",
        "",
        f"module {wrapper}" + (" (" if outer else ";"),
    ]
    if outer:
        lines.append(",\n".join(decl(port) for port in outer))
        lines.append(");")
    lines += [
        f"  reg {clock} = 1'b0;",
        f"  always #{CLOCK_HALF_PERIOD_NS} {clock} = ~{clock};",
        "",
    ]
    if sampled_ports:
        lines += [
            f"  // sampled ports ({', '.join(sampled)}): the models' clock, the inverse of {clock},",
            f"  // and the outputs as they were just before the last rising edge of {clock}",
            f"  reg {TB_CLOCK} = 1'b1;",
            f"  always #{CLOCK_HALF_PERIOD_NS} {TB_CLOCK} = ~{TB_CLOCK};",
        ]
        for port in sampled_ports:
            width = "" if port.width == 1 else f"[{port.width - 1}:0] "
            lines += [
                f"  wire {width}{port.name}{LIVE_SUFFIX};",
                f"  reg {width}{port.name}__sample = {port.width}'d0;",
                f"  always @(posedge {clock}) {port.name}__sample <= {port.name}{LIVE_SUFFIX};",
                f"  assign {port.name} = {port.name}__sample;",
            ]
        lines.append("")
    live = {port.name for port in sampled_ports}
    if held:
        lines.append("  // wide inputs: written by the test through VPI (no port copy per evaluation)")
        lines += [f"  reg [{port.width - 1}:0] {port.name} = {port.width}'d0;" for port in held]
        lines.append("")
    lines += [
        "  // rising clock edges since time 0",
        f"  reg [{CYCLE_COUNTER_BITS - 1}:0] {CYCLE_COUNTER} = {CYCLE_COUNTER_BITS}'d0;",
        f"  always @(posedge {clock})",
        f"    {CYCLE_COUNTER} <= {CYCLE_COUNTER} + {CYCLE_COUNTER_BITS}'d1;",
        "",
        f"  {module} dut (",
        ",\n".join(f"    .{name}({name}{LIVE_SUFFIX if name in live else ''})" for name in names),
        "  );",
        "",
        "  // +tb_max_ns=<n> ends the simulation at n ns: with a free-running HDL clock the",
        "  // simulator never runs out of events, so a test waiting for an event that never",
        "  // comes would otherwise run forever",
        f"  reg [63:0] {MAX_NS_NAME};",
        "  initial",
        f"    if ($value$plusargs(\"{MAX_NS_PLUSARG}=%d\", {MAX_NS_NAME})) begin",
        f"      #({MAX_NS_NAME});",
        f"      $display(\"{wrapper}: simulated-time limit of %0d ns reached\", {MAX_NS_NAME});",
        "      $finish;",
        "    end",
        "",
        f"`ifdef {DUMP_DEFINE}",
        "  initial begin",
        f"    $dumpfile(\"{DUMP_FILE}\");",
        f"    $dumpvars(0, {wrapper});",
        "  end",
        "`endif",
        "endmodule",
        "",
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)
    return wrapper


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    """The tile-size options shared by every command line of the kit (defaults: the chip's)."""
    from golden.spec import TileParams
    d = TileParams.__dataclass_fields__
    parser.add_argument("--rows", type=int, default=d["rows"].default)
    parser.add_argument("--cols", type=int, default=d["cols"].default)
    parser.add_argument("--in-bits", type=int, default=d["in_bits"].default)
    parser.add_argument("--out-bits", type=int, default=d["out_bits"].default)
    parser.add_argument("--code-bits", type=int, default=d["code_bits"].default)
    parser.add_argument("--devices", type=int, default=d["devices_per_weight"].default,
                        help="PCM devices per weight: 4 or 2")
    parser.add_argument("--f-factor", type=int, default=d["f_factor"].default)
    parser.add_argument("--eval-rows", type=int, default=d["eval_rows"].default,
                        help="rows the behavioral crossbar evaluates per cycle (power of two)")
    parser.add_argument("--fault-injection", action="store_true",
                        help="build the fault-injection hardware (docs/faults.md)")


def params_from_args(parser: argparse.ArgumentParser, args):
    """TileParams of parsed size options; an illegal value exits with TileParams' message."""
    from golden.spec import TileParams
    try:
        return TileParams(rows=args.rows, cols=args.cols, in_bits=args.in_bits,
                          out_bits=args.out_bits, code_bits=args.code_bits,
                          devices_per_weight=args.devices, f_factor=args.f_factor,
                          eval_rows=args.eval_rows,
                          fault_injection=bool(getattr(args, "fault_injection", False)))
    except (TypeError, ValueError) as error:
        parser.error(str(error))


def _module_name(text: str) -> str:
    try:
        return check_module_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    from golden.cli import writable_dir
    parser = argparse.ArgumentParser(
        prog="python -m hdl.verilog",
        description="Emit the tile (hdl.tile.Tile) as Verilog module 'tile' in DIR/tile.v.")
    add_size_arguments(parser)
    parser.add_argument("--name", type=_module_name, default="tile",
                        help="module name (and file stem): a Verilog identifier")
    parser.add_argument("--out", type=writable_dir, default="build", metavar="DIR",
                        help="output directory (created if needed; checked before emission)")
    parser.add_argument("--wrapper", action="store_true",
                        help="also write DIR/<name>_tb.v, the HDL-clock testbench wrapper")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    params = params_from_args(parser, args)
    from hdl.tile import Tile

    out = Path(args.out)
    path = out / f"{args.name}.v"
    start = time.perf_counter()
    component = Tile(params)
    text = emit(component, args.name, path,
                progress=lambda line: print(f"hdl.verilog: {line}", flush=True))
    seconds = time.perf_counter() - start
    print(f"hdl.verilog: {params} -> {path} ({len(text) / 1e6:.2f} MB) in {seconds:.1f} s")
    if args.wrapper:
        ports = module_ports(component, text, args.name)
        wrapper = write_wrapper(out / f"{args.name}_tb.v", args.name, ports)
        print(f"hdl.verilog: wrapper {wrapper} -> {out / (wrapper + '.v')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
