# amaranth: UnusedElaboratable=no
"""hdl.verilog: port lists, the HDL-clock wrapper, the Icarus rewrite and the command line."""
import re
import subprocess
import sys

import pytest
from golden.spec import TileParams
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hdl.verilog import (Port, emit, icarus_compat, main, module_ports, signature_ports,
                         verilog_ports, write_wrapper, WIDE_INPUT_BITS)


class _Pair(wiring.Component):
    """A registered stream pass-through with a flag: nested, struct and 1-bit ports."""
    def __init__(self):
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(4, 3))),
            "o": Out(stream.Signature(data.ArrayLayout(4, 3))),
            "flag": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        with m.If(self.o.ready | ~self.o.valid):
            m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        m.d.comb += [self.i.ready.eq(self.o.ready | ~self.o.valid), self.flag.eq(self.o.valid)]
        return m


def test_ports_follow_the_signature(tmp_path):
    component = _Pair()
    text = emit(component, "pair", tmp_path / "pair.v")
    assert "/work" not in text and "\\src" not in text      # emit_src=False
    assert signature_ports(component) == [
        Port("i__payload", 12, "input"), Port("i__valid", 1, "input"),
        Port("i__ready", 1, "output"), Port("o__payload", 12, "output"),
        Port("o__valid", 1, "output"), Port("o__ready", 1, "input"),
        Port("flag", 1, "output")]
    ports = module_ports(component, text, "pair")
    assert ports[-2:] == [Port("clk", 1, "input"), Port("rst", 1, "input")]
    assert sorted(ports, key=lambda p: p.name) == sorted(verilog_ports(text, "pair"),
                                                         key=lambda p: p.name)


def test_wrapper_exposes_every_port_but_the_clock(tmp_path):
    component = _Pair()
    text = emit(component, "pair", tmp_path / "pair.v")
    ports = module_ports(component, text, "pair")
    name = write_wrapper(tmp_path / "pair_tb.v", "pair", ports)
    assert name == "pair_tb"
    wrapper = (tmp_path / "pair_tb.v").read_text()
    assert wrapper.startswith("//") and "`timescale 1ns/1ps" in wrapper
    assert "always #5 clk = ~clk;" in wrapper
    outer = [Port(name, int(msb) + 1 if msb else 1, direction) for direction, msb, name in
             re.findall(r"^  (input|output) wire (?:\[(\d+):0\] )?(\w+)", wrapper, re.M)]
    assert sorted(outer, key=str) == sorted(
        (p for p in ports if p.name != "clk"
         and (p.direction == "output" or p.width <= WIDE_INPUT_BITS)), key=str)
    assert "pair dut (" in wrapper and "    .clk(clk)" in wrapper


def test_wrapper_holds_wide_inputs_as_registers(tmp_path):
    ports = [Port("clk", 1, "input"), Port("narrow", WIDE_INPUT_BITS, "input"),
             Port("wide", WIDE_INPUT_BITS + 1, "input"), Port("out", 200, "output")]
    write_wrapper(tmp_path / "x_tb.v", "x", ports)
    wrapper = (tmp_path / "x_tb.v").read_text()
    assert f"  input wire [{WIDE_INPUT_BITS - 1}:0] narrow,\n  output wire [199:0] out\n);" \
        in wrapper
    assert f"  reg [{WIDE_INPUT_BITS}:0] wide = {WIDE_INPUT_BITS + 1}'d0;" in wrapper
    assert "    .wide(wide)" in wrapper


def test_wrapper_of_a_combinational_module_still_has_a_clock(tmp_path):
    write_wrapper(tmp_path / "x_tb.v", "x", [Port("a", 1, "input"), Port("b", 2, "output")])
    wrapper = (tmp_path / "x_tb.v").read_text()
    assert "always #5 clk = ~clk;" in wrapper and ".clk(" not in wrapper
    assert "  input wire a,\n  output wire [1:0] b\n);" in wrapper


def test_wrapper_refuses_reserved_names(tmp_path):
    with pytest.raises(ValueError, match="has a port named 'tb_cycle', which the wrapper"):
        write_wrapper(tmp_path / "x_tb.v", "x", [Port("clk", 1, "input"),
                                                 Port("tb_cycle", 1, "output")])


def test_icarus_rewrite_only_touches_constant_processes():
    text = ("  always @*\n    events[7:3] = 5'h00;\n"
            "  always @*\n    y = a;\n"
            "  always @*\n    z = { 1'h0, 2'h3 };\n")
    new, count = icarus_compat(text)
    assert count == 2
    # long all-zero hex literals shrink (Icarus' scanner limit); others are kept
    wide = ("  initial mem[0] = 65536'h" + "0" * 16384 + ";\n  initial v = 8'h00 | 8'h0a;\n"
            "  initial w = 300'h" + "0" * 74 + "1;\n")
    new_wide, zeros = icarus_compat(wide)
    assert new_wide == ("  initial mem[0] = 65536'h0;\n  initial v = 8'h00 | 8'h0a;\n"
                        "  initial w = 300'h" + "0" * 74 + "1;\n")
    assert zeros == 1
    assert new == ("  initial events[7:3] = 5'h00;\n"
                   "  always @*\n    y = a;\n"
                   "  initial z = { 1'h0, 2'h3 };\n")


@pytest.mark.parametrize("argv, message", [
    (["--rows", "0"], "rows must be in [1, 4096], not 0"),
    (["--devices", "3"], "devices_per_weight must be 2 or 4, not 3"),
    (["--devices", "2", "--f-factor", "2"], "f_factor only applies to 4-PCM cells"),
    (["--eval-rows", "3"], "eval_rows must be a power of two, not 3"),
])
def test_cli_rejects_bad_parameters(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_exit_status_from_a_shell(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hdl.verilog", "--cols", "5000", "--out",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == \
        "python -m hdl.verilog: error: cols must be in [1, 4096], not 5000"


@pytest.mark.parametrize("name", ["tile top", "1tile", "module", "wire", "", "tile-2"])
def test_emit_refuses_a_name_no_verilog_module_can_have(name, tmp_path):
    with pytest.raises(ValueError, match="module name must be a Verilog identifier"):
        emit(object(), name, tmp_path / "pair.v")     # refused before elaboration
    assert not list(tmp_path.iterdir())


def test_cli_checks_the_output_directory_before_emitting(capsys, tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    with pytest.raises(SystemExit) as exit_info:
        main(["--rows", "1", "--cols", "1", "--out", str(blocked / "sub")])
    assert exit_info.value.code == 2
    assert f"argument --out: cannot write to directory '{blocked / 'sub'}'" in \
        capsys.readouterr().err


class _InitMemory(wiring.Component):
    """A memory with signed, non-zero initial contents and a read port."""
    addr: In(3)
    data: Out(signed(7))

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=signed(7), depth=6,
                                               init=[-64, 63, -1, 0, 17, -5])
        rd = mem.read_port(domain="comb")
        m.d.comb += [rd.addr.eq(self.addr), self.data.eq(rd.data)]
        return m


@pytest.mark.parametrize("make", [lambda: _InitMemory(),
                                  lambda: __import__("hdl.tile", fromlist=["Tile"]).Tile(
                                      TileParams(rows=8, cols=6, in_bits=4, out_bits=4,
                                                 code_bits=3, charge_bits=12))],
                         ids=["init_memory", "tile_8x6"])
def test_emission_shortcuts_leave_the_text_unchanged(tmp_path, make):
    """hdl.verilog.emit's shortcuts in Amaranth's back end (memory contents from one integer,
    no cycle check) write exactly the text of Amaranth's own conversion."""
    own = emit(make(), "dut", tmp_path / "own.v", fast=False)
    assert emit(make(), "dut", tmp_path / "fast.v") == own
    assert emit(make(), "dut", tmp_path / "nocheck.v", check_cycles=False) == own


def test_combinational_cycles_are_still_found_in_small_blocks(tmp_path):
    class Loop(wiring.Component):
        o: Out(1)

        def elaborate(self, platform):
            m = Module()
            a = Signal()
            m.d.comb += [a.eq(~a), self.o.eq(a)]
            return m

    with pytest.raises(Exception, match="[Cc]ombinational cycle"):
        emit(Loop(), "dut", tmp_path / "loop.v")


def test_tile_shell_ports_and_the_chip_instances(tmp_path):
    """hdl.chip.slot.TileShell: every port of the slot under its single-underscore name, same
    width and direction, the tile's ``x``/``y`` streams and wide payloads not among them; the
    slot instantiates the emitted tile by its double-underscore ports; a hierarchical chip
    instantiates the shell with those names; bad arguments are named."""
    from golden.chip.params import ChipParams
    from hdl.chip.chip import SHELL_MODULE, TILE_MODULE, Chip, TileShell
    from hdl.chip.slot import TileSlot
    from hdl.tile import Tile
    t = TileParams(rows=4, cols=4, in_bits=3, out_bits=3, code_bits=2, charge_bits=10)
    p = ChipParams(tile=t, grid_rows=1, grid_cols=2, empty=(), group_lanes=2, pair_rows=(0,),
                   prog_bus_bits=5)
    tile_text = emit(Tile(t, clock_gate=True), TILE_MODULE, tmp_path / "tile.v")
    slot_text = emit(TileSlot(p, tile_module=TILE_MODULE), "slot", tmp_path / "slot.v")
    shell_text = emit(TileShell(p), SHELL_MODULE, tmp_path / "tile_hier.v")
    tile_ports = {q.name: q for q in module_ports(Tile(t, clock_gate=True), tile_text,
                                                  TILE_MODULE)}
    slot_ports = {q.name: q for q in module_ports(TileSlot(p), slot_text, "slot")}
    shell_ports = {q.name: q for q in module_ports(TileShell(p), shell_text, SHELL_MODULE)}
    assert {n.replace("__", "_") for n in slot_ports} == set(shell_ports)
    for name, port in slot_ports.items():
        shell = shell_ports[name.replace("__", "_")]
        assert (shell.width, shell.direction) == (port.width, port.direction), name
    assert shell_ports["load_data"].width == 5
    assert not {n for n in shell_ports if n.split("_")[0] in ("x", "y", "prog", "target")}
    # the slot passes the tile's registers and lanes through under the tile's own names
    for name, tile_name in (("csr_awaddr", "csr__awaddr"), ("csr_rdata", "csr__rdata"),
                            ("lanes_in_pulse", "lanes_in__pulse"),
                            ("lanes_out_window", "lanes_out__window"), ("busy", "busy")):
        assert (shell_ports[name].width, shell_ports[name].direction) == \
            (tile_ports[tile_name].width, tile_ports[tile_name].direction), name
    for name in tile_ports:
        if name not in ("clk", "rst"):
            assert re.search(rf"\.{name}\(", shell_text), name
    chip = Chip(p, tile_module=TILE_MODULE, hierarchical=True)
    extra = chip.extra_modules()
    for _, module in extra:
        module._MustUse__silence = True
    assert [name for name, _ in extra] == [TILE_MODULE, SHELL_MODULE]
    assert chip.verilator_hier_blocks() == [SHELL_MODULE]
    text = emit(chip, "chip", tmp_path / "chip.v")
    assert len(re.findall(rf"^\s*{SHELL_MODULE} tile_\d", text, re.M)) == 2
    assert ".load_data(" in text and ".load__data(" not in text
    with pytest.raises(ValueError, match="hierarchical needs tile_module='tile'"):
        Chip(p, hierarchical=True)
    with pytest.raises(TypeError, match="hierarchical must be a bool, not 1"):
        Chip(p, tile_module=TILE_MODULE, hierarchical=1)


@pytest.mark.rtl
def test_chip_lint_view(tmp_path):
    """hdl.chip.emit writes tile_hier_ports.v, the tile position's ports and nothing else:
    the same ports as tile_hier.v; Verilator lints the chip's instances against it, and the
    position on its own, as `make lint-chip` does; a port missing from it is an error."""
    from golden.chip.params import ChipParams
    from hdl.chip.chip import SHELL_MODULE
    from hdl.chip.emit import emit_chip
    from hdl.verilog import port_stub
    t = TileParams(rows=4, cols=4, in_bits=3, out_bits=3, code_bits=2, charge_bits=10)
    p = ChipParams(tile=t, grid_rows=2, grid_cols=2, empty=(), group_lanes=2, pair_rows=(0,),
                   prog_bus_bits=5)
    emit_chip(p, tmp_path, quiet=True)
    stub = (tmp_path / f"{SHELL_MODULE}_ports.v").read_text()
    shell = (tmp_path / f"{SHELL_MODULE}.v").read_text()
    assert verilog_ports(stub, SHELL_MODULE) == verilog_ports(shell, SHELL_MODULE)
    assert "awake" in {port.name for port in verilog_ports(stub, SHELL_MODULE)}
    lint = ["verilator", "--lint-only", "-Wno-WIDTH", "-Wno-CASEINCOMPLETE", "--top-module"]
    for top, files in (("tile_hier", ["tile.v", "tile_hier.v"]),
                       ("chip", [f"{SHELL_MODULE}_ports.v", "chip.v"])):
        result = subprocess.run(lint + [top] + files, cwd=tmp_path, capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stderr
    ports = [port for port in verilog_ports(stub, SHELL_MODULE) if port.name != "awake"]
    (tmp_path / "short.v").write_text(port_stub(SHELL_MODULE, ports))
    result = subprocess.run(lint + ["chip", "short.v", "chip.v"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "awake" in result.stderr
    with pytest.raises(ValueError, match="needs at least one port"):
        port_stub(SHELL_MODULE, [])
    with pytest.raises(ValueError, match="module name must be a Verilog identifier"):
        port_stub("module", ports)
