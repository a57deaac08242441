"""Local controller: sequences one MVM and tracks its phase, latency and input source."""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .types import InputSource, Phase

__all__ = ["LocalController"]


class LocalController(wiring.Component):
    """Phase tracking and admission control (docs/spec.md section 7).

    The blocks are self-timed by their pulse windows, so the phase follows from which block is
    active; the controller admits a new MVM only in IDLE (from the ILP when ``source`` is HOST,
    from an external window when it is LANES), counts the latency from the admission and
    signals a collision when an external window opens while the tile is busy.

    Members
    -------
    source : In(InputSource)
        ``CTRL.input_source``.
    accept_host : Out(1)
        Combinational: the ILP may take the vector this cycle.
    ext_window : In(1)
        ``lanes_in.window``.
    ext_gate : Out(1)
        Combinational: pass ``lanes_in`` to the crossbar this cycle.
    integrating, evaluating, converting, emitting, outputting : In(1)
        Activity of the blocks (crossbar window, crossbar MAC, ``done``, ramp window, OLP valid).
    array_engaged : In(1)
        The crossbar's registered activity (``Crossbar.engaged``).
    y_first : In(1)
        First cycle of ``y.valid`` (the OLP's window just closed).
    calibrating : In(1)
        The calibrator is busy (``Phase.CALIBRATE`` when no block is active).
    hold : In(1)
        A calibration command starts this cycle: no host vector is admitted.
    phase : Out(Phase)
    busy : Out(1)
    mvm_done : Out(1)
        One cycle with ``y_first``.
    latency : Out(32)
        Cycles since admission, valid with ``mvm_done``.
    collision : Out(1)
        One cycle: an external window opened while the tile was busy.
    settling : Out(1)
        The external-window edge detector still holds a window that has ended.
    """

    phase: Out(Phase)
    busy: Out(1)
    source: In(InputSource)
    accept_host: Out(1)
    ext_window: In(1)
    ext_gate: Out(1)
    integrating: In(1)
    evaluating: In(1)
    array_engaged: In(1)
    converting: In(1)
    emitting: In(1)
    outputting: In(1)
    y_first: In(1)
    calibrating: In(1)
    hold: In(1)
    mvm_done: Out(1)
    latency: Out(32)
    collision: Out(1)
    settling: Out(1)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.integrating):
            m.d.comb += self.phase.eq(Phase.INTEGRATE)
        with m.Elif(self.evaluating):
            m.d.comb += self.phase.eq(Phase.EVALUATE)
        with m.Elif(self.converting):
            m.d.comb += self.phase.eq(Phase.CONVERT)
        with m.Elif(self.emitting):
            m.d.comb += self.phase.eq(Phase.EMIT)
        with m.Elif(self.outputting):
            m.d.comb += self.phase.eq(Phase.OUTPUT)
        with m.Elif(self.calibrating):
            m.d.comb += self.phase.eq(Phase.CALIBRATE)
        with m.Else():
            m.d.comb += self.phase.eq(Phase.IDLE)
        idle = self.phase == Phase.IDLE
        m.d.comb += self.busy.eq(~idle)

        m.d.comb += self.accept_host.eq(idle & ~self.hold & (self.source == InputSource.HOST))

        ext_prev = Signal()
        ext_active = Signal()
        m.d.sync += ext_prev.eq(self.ext_window)
        opening = self.ext_window & ~ext_prev
        # every phase but INTEGRATE (which an opening external window itself starts)
        # (a calibration starting this cycle does not block an external window: the window
        # makes the tile busy combinationally, and the CAL_CMD write is refused as BUSY_WRITE)
        quiet = ~(self.array_engaged | self.converting | self.emitting | self.outputting
                  | self.calibrating)
        admit = opening & quiet & (self.source == InputSource.LANES)
        with m.If(admit):
            m.d.sync += ext_active.eq(1)
        with m.If(~self.ext_window):
            m.d.sync += ext_active.eq(0)
        m.d.comb += [
            self.ext_gate.eq(self.ext_window & (admit | ext_active)),
            self.collision.eq(opening & ~quiet & (self.source == InputSource.LANES)),
            self.settling.eq(ext_prev | ext_active),
        ]

        counter = Signal(32)
        with m.If(idle):
            m.d.sync += counter.eq(1)
        with m.Else():
            m.d.sync += counter.eq(counter + 1)
        m.d.comb += [self.mvm_done.eq(self.y_first), self.latency.eq(counter)]
        return m
