"""Ramp comparator with per-column gain/offset and EN-window activation."""
from functools import reduce
import operator

from amaranth.hdl import Cat, Module, Signal, Const, Mux, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.spec import EN_LO_BITS, TileParams
from .bitslice import ripple
from .rng import gated
from .types import Activation, PulseLanesSignature, any_of

__all__ = ["RampConverter"]


class RampConverter(wiring.Component):
    """Converts column charges to output pulse durations (docs/spec.md section 5).

    On the ``start`` cycle (the CONVERT phase) each column's duration
    ``y = clamp(round_half_up(Qs * gain / 2^(ramp_shift + gain_frac_bits)) + offset, lo, hi) - lo``
    is registered; the emit window opens on the next cycle for ``out_max + 1`` ticks and
    output lane c is high for its first y ticks.

    Members
    -------
    charge : In(signed(charge_bits)).array(cols)
        Saturated column charges, sampled on ``start`` (one signal per column).
    start : In(1)
        Convert now.
    ramp_shift, activation, en_lo, en_hi, gain, offset : In
        Configuration registers (``CTRL``, ``RAMP_SHIFT``, ``EN_WINDOW``, ``GAIN``, ``OFFSET``;
        gain and offset one signal per column).
    lanes : Out(PulseLanesSignature(params.cols))
        Output pulse window (the EMIT phase).
    out_sat : Out(1)
        Combinational, on ``start``: some column's value lay above the EN window.
    """

    def __init__(self, params: TileParams):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self.params = params
        p = params
        super().__init__({
            "charge": In(signed(p.charge_bits)).array(p.cols),
            "start": In(1),
            "ramp_shift": In(range(p.ramp_shift_max + 1)),
            "activation": In(Activation),
            "en_lo": In(signed(EN_LO_BITS)),
            "en_hi": In(signed(p.en_hi_bits)),
            "gain": In(unsigned(p.gain_bits)).array(p.cols),
            "offset": In(signed(p.offset_bits)).array(p.cols),
            "lanes": Out(PulseLanesSignature(p.cols)),
            "out_sat": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ob = p.out_bits

        # EN window of the selected activation
        lo, hi = Signal(signed(p.en_hi_bits)), Signal(signed(p.en_hi_bits))
        with m.Switch(self.activation):
            for act in (Activation.RELU, Activation.IDENTITY, Activation.HARD_SIGMOID):
                with m.Case(act):
                    a_lo, a_hi = p.activation_window(act.value)
                    m.d.comb += [lo.eq(a_lo), hi.eq(a_hi)]
            with m.Default():
                m.d.comb += [lo.eq(self.en_lo), hi.eq(self.en_hi)]

        # shared shift, rounding constant and window span
        width = p.charge_bits + p.gain_bits + 2
        shift = Signal(range(p.ramp_shift_max + p.gain_frac_bits + 1))
        half = Signal(signed(width))
        span = Signal(signed(18))
        m.d.comb += [
            shift.eq(self.ramp_shift + p.gain_frac_bits),
            half.eq((Const(1, unsigned(width)) << shift) >> 1),
            span.eq(hi - lo),
        ]

        # the durations go into bit planes (plane j holds bit j of every column's duration),
        # which count down during the window: one tick is a few operations on ``cols``-bit
        # vectors instead of one comparison per column
        durations = []
        above = []
        # the per-column conversion is computed only on the start cycle (gated)
        for c in range(p.cols):
            product = gated(m, self.start, f"product_{c}", signed(width),
                            self.charge[c] * self.gain[c])
            z = gated(m, self.start, f"z_{c}", signed(width + 1),
                      ((product + half) >> shift) + self.offset[c])
            # each comparison once, gated: a comparison used twice would be computed on every
            # evaluation, outside the start condition
            over = gated(m, self.start, f"above_{c}", 1, z > hi)
            under = gated(m, self.start, f"below_{c}", 1, z < lo)
            above.append(over)
            durations.append(gated(m, self.start, f"y_{c}", ob,
                                   Mux(under, 0, Mux(over, span, z - lo))))
        m.d.comb += self.out_sat.eq(any_of(above))      # each flag is 0 unless start

        # emit window: out_max + 1 ticks; lane c is high while its down-counter is not zero
        active = Signal()
        tick = Signal(ob)
        remaining = [Signal(p.cols, name=f"remaining_{j}") for j in range(ob)]
        high = Signal(p.cols)
        m.d.comb += high.eq(Mux(active, reduce(operator.or_, remaining), 0))
        with m.If(self.start):
            m.d.sync += [active.eq(1), tick.eq(0)]
            m.d.sync += [plane.eq(Cat(*(d[j] for d in durations)))
                         for j, plane in enumerate(remaining)]
        with m.Elif(active):
            m.d.sync += tick.eq(tick + 1)
            with m.If(tick == p.out_max):
                m.d.sync += active.eq(0)
            m.d.sync += [dst.eq(v) for dst, v in
                         zip(remaining, ripple(m, "borrow", remaining, high, down=True))]
        m.d.comb += [self.lanes.window.eq(active), self.lanes.pulse.eq(high)]
        return m
