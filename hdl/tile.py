"""Tile top: host streams and registers around ILP -> crossbar -> ramp/EN -> OLP."""
from amaranth.hdl import ClockSignal, DomainRenamer, Instance, Module, ResetSignal, Signal, Mux
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out, connect

from golden.spec import ErrorBit, TileParams
from .types import (InputSource, Phase, PulseLanesSignature, input_layout, output_layout,
                    row_write_layout)
from .ilp import InputLandingPad
from .crossbar import Crossbar
from .ramp import RampConverter
from .olp import OutputLandingPad
from .controller import LocalController
from .csr import AXI4LiteSignature, TileRegisters
from .programmer import RowProgrammer, command_layout
from .calibration import Calibrator
from .faults import FaultMemory, merge_codes
from .clocking import add_core_domains, add_gated_domain
from .verilog import instance_ports

__all__ = ["Tile", "SEPARATE_BLOCKS", "tile_block"]

#: The tile's largest blocks: their clock domains (the block's own domain names, ``sync``
#: first) and the tile's domain each is clocked by. ``hdl.verilog.emit`` converts them in
#: processes of their own when a tile is wide (``Tile.separate``).
SEPARATE_BLOCKS = {
    "programmer": {"sync": "prog"},
    "crossbar": {"sync": "core", "count": "count", "mac": "mac", "sample": "sample"},
    "ramp": {"sync": "emit"},
}


def tile_block(params: TileParams, name: str):
    """Block ``name`` of ``SEPARATE_BLOCKS`` as the tile builds it (its domains under their own
    names)."""
    if name == "programmer":
        return RowProgrammer(params)
    if name == "crossbar":
        return Crossbar(params, count_domain="count", mac_domain="mac", sample_domain="sample")
    if name == "ramp":
        return RampConverter(params)
    raise ValueError(f"name must be one of {sorted(SEPARATE_BLOCKS)}, not {name!r}")


def domain_ports(domain: str) -> tuple[str, str]:
    """Clock and reset port names of ``domain`` in a separately emitted block (``hdl.verilog``:
    ``clk``/``rst`` for ``sync``, ``<domain>_clk``/``<domain>_rst`` otherwise)."""
    return ("clk", "rst") if domain == "sync" else (f"{domain}_clk", f"{domain}_rst")


class Tile(wiring.Component):
    """One analog tile with its digital periphery (docs/spec.md).

    Members
    -------
    x : In(stream.Signature(input_layout(params)))
        Input vectors from the host (used when ``CTRL.input_source`` is HOST).
    y : Out(stream.Signature(output_layout(params)))
        Output vectors, one per MVM.
    prog : In(stream.Signature(row_write_layout(params)))
        Row writes of conductance codes.
    target : In(stream.Signature(command_layout(params)))
        Closed-loop programming: a row index and its target weights; the row programmer
        (program-and-verify against the behavioral PCM devices, docs/programming.md) writes
        the resulting codes into the array, with priority over ``prog``. ``ready`` is high only
        on cycles the programmer's gated clock runs (docs/spec.md section 9, Clocking).
    csr : In(AXI4LiteSignature())
        Configuration and status registers.
    lanes_in : In(PulseLanesSignature(params.rows))
        Pulse lanes from the mesh (used when ``CTRL.input_source`` is LANES).
    lanes_out : Out(PulseLanesSignature(params.cols))
        The tile's output pulse window, for the mesh.
    phase : Out(Phase)
    busy : Out(1)
    prog_busy : Out(1)
        The row programmer is running (or its result waits for the array).
    error : Out(1)
        Some ERROR bit is set.
    input_source : Out(InputSource)
        ``CTRL.input_source`` (the chip checks routes into the tile against it).
    active : Out(1)
        Some register of the tile may change on the next clock edge even with every input idle
        (no stream ``valid``, no AXI request, no window on ``lanes_in``). While ``active`` is
        low and the inputs are idle, a clock edge changes nothing.

    With ``clock_gate=True`` the tile stops its own clock while it is not ``active`` and its
    inputs are idle (every domain, ``core`` included, is gated by that condition, sampled on
    the falling edge): an idle tile on a chip costs a simulator nothing. Its ports then must
    change only on rising clock edges (driven by registers), which holds on a chip; the
    behaviour is cycle for cycle that of the tile without the gate.
    """

    def __init__(self, params: TileParams = TileParams(), *, clock_gate: bool = False):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        if not isinstance(clock_gate, bool):
            raise TypeError(f"clock_gate must be a bool, not {clock_gate!r}")
        self.clock_gate = clock_gate
        self.params = params
        self._separate = None
        #: ``hdl.verilog.emit``'s ``separate`` for this tile (None: by its width)
        self.emit_separately = None
        super().__init__({
            "x": In(stream.Signature(input_layout(params))),
            "y": Out(stream.Signature(output_layout(params))),
            "prog": In(stream.Signature(row_write_layout(params))),
            "target": In(stream.Signature(command_layout(params))),
            "csr": In(AXI4LiteSignature()),
            "lanes_in": In(PulseLanesSignature(params.rows)),
            "lanes_out": Out(PulseLanesSignature(params.cols)),
            "phase": Out(Phase),
            "busy": Out(1),
            "prog_busy": Out(1),
            "error": Out(1),
            "active": Out(1),
            "input_source": Out(InputSource),
        })

    def separate(self, prefix: str) -> list:
        """Instantiate the blocks of ``SEPARATE_BLOCKS`` as Verilog modules ``<prefix>_<block>``
        instead of elaborating them (the tile then only converts to Verilog); returns
        ``[(module name, block name)]``, each to be emitted from ``tile_block`` with its
        domains as clock and reset ports (:func:`domain_ports`)."""
        self._separate = prefix
        return [(f"{prefix}_{name}", name) for name in SEPARATE_BLOCKS]

    def _block(self, m, name):
        """Block ``name``: the component in its tile domains, or (after :meth:`separate`) an
        interface of its signature wired to an instance of its module."""
        domains = SEPARATE_BLOCKS[name]
        block = tile_block(self.params, name)
        if self._separate is None:
            m.submodules[name] = DomainRenamer(domains["sync"])(block)
            return block
        block._MustUse__silence = True      # only its signature is used
        iface = block.signature.create(path=(name,))
        ports = {}
        for own, tile_domain in domains.items():
            clk, rst = domain_ports(own)
            ports[f"i_{clk}"] = ClockSignal(tile_domain)
            ports[f"i_{rst}"] = ResetSignal(tile_domain)
        m.submodules[name] = Instance(f"{self._separate}_{name}",
                                      **ports, **instance_ports(block.signature, iface))
        return iface

    def elaborate(self, platform):
        m = Module()
        p = self.params
        # clock domains (hdl/clocking.py): the registers, the controller and the calibrator run
        # in ``core``; every block with per-lane or per-column state has a gated clock that
        # runs only in the phases it works in: the ILP's latched words (``load``, while it can
        # take a vector), its window and the crossbar's lane counters (``count``, the input
        # window and the cycles a vector may arrive), the values the crossbar samples when the
        # window closes (``sample``), its multiply-accumulate (``mac``, EVALUATE), the ramp and
        # the OLP (``emit``, CONVERT to OUTPUT) and the row programmer (``prog``, while it is
        # busy or offered a command); the configuration registers the ramp reads (CTRL,
        # RAMP_SHIFT, EN_WINDOW, GAIN, OFFSET) tick only when written (``cfg``)
        gate = Signal(name="tile_gate") if self.clock_gate else None
        add_core_domains(m, gate)
        regs = TileRegisters(p, cfg_domain="cfg")
        ilp = InputLandingPad(p, load_domain="load")
        xbar = self._block(m, "crossbar")
        ramp = self._block(m, "ramp")
        olp = OutputLandingPad(p.cols, p.out_bits)
        ctl = LocalController()
        cal = Calibrator(p)
        prg = self._block(m, "programmer")
        for name, block in (("regs", regs), ("controller", ctl), ("calibrator", cal)):
            m.submodules[name] = DomainRenamer("core")(block)
        m.submodules.ilp = DomainRenamer("count")(ilp)
        m.submodules.olp = DomainRenamer("emit")(olp)
        emit_prev = Signal()
        m.d.core += emit_prev.eq(ramp.lanes.window)
        add_gated_domain(m, "cfg", regs.writing | cal.gain_we, gate=gate)
        # the ILP takes a vector only on a cycle its clocks run: ``load`` runs while it could
        # take one (idle, and the host or the calibrator may offer), a function of registers
        # alone and high in the reset state, so x.ready is never high on a cycle it is off
        can_load = Signal()
        m.d.comb += can_load.eq(ilp.fill.ready & (ctl.accept_host | cal.load))
        add_gated_domain(m, "load", can_load, running_after_reset=True, gate=gate)
        add_gated_domain(m, "count", xbar.counting | ilp.lanes.window | can_load,
                         running_after_reset=True, gate=gate)
        add_gated_domain(m, "mac", xbar.evaluating | xbar.done, gate=gate)
        add_gated_domain(m, "sample", xbar.closing, gate=gate)
        add_gated_domain(m, "emit", ramp.start | ramp.lanes.window | emit_prev | olp.o.valid,
                         gate=gate)
        prog_clock = add_gated_domain(m, "prog", prg.busy | self.target.valid, gate=gate)
        connect(m, wiring.flipped(self.csr), regs.bus)

        # a command is taken only on a cycle the programmer's clock runs
        m.d.comb += [
            prg.cmd.payload.eq(self.target.payload),
            prg.cmd.valid.eq(self.target.valid & prog_clock),
            self.target.ready.eq(prg.cmd.ready & prog_clock),
        ]

        # row writes: the programmer's results first, then the host's (each through a write
        # port of its own)
        connect(m, prg.result, xbar.prog_hi)
        if p.fault_injection:
            # the fault memory (docs/faults.md): stuck devices per row, written through
            # FAULT_MASK and FAULT_LEVEL at FAULT_ROW; a host row write stores the stuck codes
            # of its row's stuck devices, the row programmer samples its row's faults with the
            # command (its result already holds them), and FAULT_ROW reads back
            faults = FaultMemory(m, p, domain="core")
            faults.connect_writes(regs.fault_we, regs.fault_row, regs.fault_word,
                                  regs.fault_data)
            _, _, fault_row_word = faults.read(regs.fault_row)
            prog_stuck, prog_full, _ = faults.read(self.prog.payload.row)
            target_stuck, target_full, _ = faults.read(self.target.payload.row)
            m.d.comb += [regs.fault_row_word.eq(fault_row_word),
                         prg.stuck.eq(target_stuck), prg.stuck_full.eq(target_full),
                         xbar.dead_lanes.eq(regs.dead_lanes), xbar.dead_cols.eq(regs.dead_cols),
                         xbar.prog.valid.eq(self.prog.valid), self.prog.ready.eq(xbar.prog.ready),
                         xbar.prog.payload.row.eq(self.prog.payload.row),
                         xbar.prog.payload.codes.eq(merge_codes(
                             m, self.prog.payload.codes.as_value(), prog_stuck, prog_full, p))]
        else:
            connect(m, wiring.flipped(self.prog), xbar.prog)
        m.d.comb += [
            prg.seed.eq(regs.prog_seed),
            prg.tol.eq(regs.prog_tol),
            prg.pulse_gain.eq(regs.prog_gain),
            prg.noise_scale.eq(regs.prog_noise),
            prg.max_iter.eq(regs.prog_max_iter),
            regs.prog_busy.eq(prg.busy),
            self.prog_busy.eq(prg.busy),
            regs.prog_converged.eq(prg.converged),
            regs.prog_bad_target.eq(prg.bad_target),
            regs.prog_iter_msp.eq(prg.iterations_msp),
            regs.prog_iter_lsp.eq(prg.iterations_lsp),
            regs.prog_iter_total.eq(prg.iterations),
            regs.prog_fail_count.eq(prg.fail_count),
            regs.prog_fail_mask.eq(prg.fail_mask),
            regs.prog_row_done.eq(prg.result.valid & prg.result.ready
                                  & (prg.result.payload.row < p.rows)),
        ]

        # external lanes pass a landing register: the tile sees the mesh's window one cycle
        # after it reaches the port (docs/spec.md section 7), and no per-lane logic hangs on
        # the input port itself
        lanes_in = PulseLanesSignature(p.rows).create(path=("lanes_in_q",))
        m.d.core += [
            lanes_in.window.eq(self.lanes_in.window),
            lanes_in.pulse.eq(self.lanes_in.pulse),
            lanes_in.sign.eq(self.lanes_in.sign),
        ]

        # calibration (docs/spec.md section 10): its vector enters through the ILP, its read
        # steers every device current the same way, its result goes to GAIN, not to y
        m.d.comb += [
            cal.start.eq(regs.cal_start), cal.op.eq(regs.cal_op), cal.scope.eq(regs.cal_scope),
            cal.ilp_ready.eq(ilp.fill.ready),
            cal.read_done.eq(xbar.done),
            xbar.conductance.eq(cal.conductance),
            regs.cal_busy.eq(cal.busy),
            regs.cal_reference_valid.eq(cal.reference_valid),
            regs.cal_skipped.eq(cal.skipped),
            regs.cal_clipped.eq(cal.clipped),
            regs.cal_finished.eq(cal.finished),
            regs.cal_gain_we.eq(cal.gain_we),
            regs.cal_gain_col.eq(cal.gain_col),
            regs.cal_gain_value.eq(cal.gain_value),
            regs.cal_dead_count.eq(cal.dead_count),
            regs.cal_dead_mask.eq(cal.dead_mask),
            ctl.calibrating.eq(cal.busy),
            ctl.hold.eq(regs.cal_start),
        ]
        for c in range(p.cols):
            m.d.comb += [cal.charge[c].eq(xbar.charge[c]), cal.gain[c].eq(regs.gain[c])]

        # admission: host vectors through the ILP (the calibrator's through its fill stream),
        # or an external window
        m.d.comb += [
            ilp.fill.payload.eq(regs.cal_input),
            ilp.fill.valid.eq(cal.load),
            ilp.i.payload.eq(self.x.payload),
            ilp.i.valid.eq(self.x.valid & ctl.accept_host),
            ctl.source.eq(regs.input_source),
            self.x.ready.eq(ilp.i.ready & ctl.accept_host),
            ilp.mode.eq(regs.input_mode),
            ctl.ext_window.eq(lanes_in.window),
        ]
        from_lanes = (regs.input_source == InputSource.LANES) & ~cal.busy
        with m.If(from_lanes):
            m.d.comb += [
                xbar.lanes.window.eq(ctl.ext_gate),
                xbar.lanes.pulse.eq(Mux(ctl.ext_gate, lanes_in.pulse, 0)),
                xbar.lanes.sign.eq(Mux(ctl.ext_gate, lanes_in.sign, 0)),
            ]
        with m.Else():
            m.d.comb += [
                xbar.lanes.window.eq(ilp.lanes.window),
                xbar.lanes.pulse.eq(ilp.lanes.pulse),
                xbar.lanes.sign.eq(ilp.lanes.sign),
            ]

        # crossbar -> ramp -> lanes_out and OLP -> y
        for c in range(p.cols):
            m.d.comb += [
                ramp.charge[c].eq(xbar.charge[c]),
                ramp.gain[c].eq(regs.gain[c]),
                ramp.offset[c].eq(regs.offset[c]),
            ]
        m.d.comb += [
            xbar.noise_seed.eq(regs.noise_seed),
            xbar.noise_sigma.eq(regs.noise_sigma),
            xbar.mvm_index.eq(regs.mvm_count),
            # a calibration's read is a conductance read; it goes to the calibrator, not the ramp
            ramp.start.eq(xbar.done & ~xbar.conductance_read),
            ramp.ramp_shift.eq(regs.ramp_shift),
            ramp.activation.eq(regs.activation),
            ramp.en_lo.eq(regs.en_lo),
            ramp.en_hi.eq(regs.en_hi),
        ]
        connect(m, ramp.lanes, olp.lanes)
        m.d.comb += [
            self.lanes_out.window.eq(ramp.lanes.window),
            self.lanes_out.pulse.eq(ramp.lanes.pulse),
            self.lanes_out.sign.eq(ramp.lanes.sign),
        ]
        connect(m, olp.o, wiring.flipped(self.y))

        # controller
        olp_closing = Signal()
        m.d.comb += olp_closing.eq(emit_prev & ~ramp.lanes.window)
        m.d.comb += [
            ctl.integrating.eq(xbar.lanes.window),
            ctl.evaluating.eq(xbar.evaluating),
            ctl.array_engaged.eq(xbar.engaged),
            ctl.converting.eq(xbar.done & ~xbar.conductance_read),
            ctl.emitting.eq(ramp.lanes.window),
            ctl.outputting.eq(olp.o.valid),
            ctl.y_first.eq(olp_closing),
            regs.busy.eq(ctl.busy),
            regs.phase.eq(ctl.phase),
            regs.mvm_done.eq(ctl.mvm_done),
            regs.latency.eq(ctl.latency),
            self.phase.eq(ctl.phase),
            self.busy.eq(ctl.busy),
            self.error.eq(regs.error != 0),
            self.input_source.eq(regs.input_source),
        ]
        events = regs.events
        bad_target_prev = Signal()
        m.d.core += bad_target_prev.eq(prg.bad_target)

        # what keeps the tile's registers moving with idle inputs (see ``active``)
        m.d.comb += self.active.eq(ctl.busy | ctl.settling | prg.busy | cal.busy | regs.active
                                   | lanes_in.window | emit_prev | olp.o.valid
                                   | (bad_target_prev ^ prg.bad_target))
        if gate is not None:
            m.d.comb += gate.eq(self.active | self.x.valid | self.prog.valid | self.target.valid
                                | self.csr.awvalid | self.csr.wvalid | self.csr.arvalid
                                | self.lanes_in.window)
        m.d.comb += [
            events[ErrorBit.BAD_ROW].eq(xbar.bad_row),
            events[ErrorBit.CAP_SAT].eq(xbar.done & xbar.cap_sat),
            events[ErrorBit.OUT_SAT].eq(ramp.out_sat),
            events[ErrorBit.LANE_OVERRANGE].eq(xbar.overrange | olp.overrange),
            events[ErrorBit.LANE_COLLISION].eq(ctl.collision),
            events[ErrorBit.BAD_TARGET].eq(prg.bad_target & ~bad_target_prev),
            events[ErrorBit.PROG_FAIL].eq(prg.result.valid & prg.result.ready & ~prg.converged),
            events[ErrorBit.CAL_DEAD].eq(cal.dead_event),
        ]
        return m
