"""Output landing pad: a window of pulse lanes becomes a vector of words."""
from functools import reduce
import operator

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring, stream
from amaranth.lib.wiring import In, Out

from .bitslice import from_planes, ripple
from .rng import gated
from .types import PulseLanesSignature

__all__ = ["OutputLandingPad"]


class OutputLandingPad(wiring.Component):
    """One counter and one falling-edge detector per lane (docs/spec.md section 6).

    The window's first tick clears the counters; each lane's counter advances on every tick the
    lane is high and its word is latched on the lane's falling edge. On the first tick after the
    window closes, ``o.valid`` rises with the words and stays high until accepted. A lane still
    high when the window closes saturates at ``2^word_bits - 1`` and pulses ``overrange``.

    Members
    -------
    lanes : In(PulseLanesSignature(lanes))
        Incoming pulse window.
    o : Out(stream.Signature(ArrayLayout(unsigned(word_bits), lanes)))
        Captured words.
    overrange : Out(1)
        Combinational, one cycle: a lane was still high (or overflowed) at the window's end.
    """

    def __init__(self, lanes: int, word_bits: int):
        if not isinstance(lanes, int) or lanes < 1:
            raise TypeError(f"Lane count must be a positive integer, not {lanes!r}")
        if not isinstance(word_bits, int) or word_bits < 1:
            raise TypeError(f"Word width must be a positive integer, not {word_bits!r}")
        self.n_lanes = lanes
        self.word_bits = word_bits
        super().__init__({
            "lanes": In(PulseLanesSignature(lanes)),
            "o": Out(stream.Signature(data.ArrayLayout(unsigned(word_bits), lanes))),
            "overrange": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n, wb = self.n_lanes, self.word_bits
        top = (1 << wb) - 1

        # bit-sliced: plane j of the counters (and of the latched words) holds bit j of every
        # lane, so one tick is a few operations on ``lanes``-bit vectors
        window_prev = Signal()
        pulse_prev = Signal(n)
        pending = Signal()
        overflow = Signal()
        counts = [Signal(n, name=f"count_plane_{j}") for j in range(wb)]
        latched = [Signal(n, name=f"word_plane_{j}") for j in range(wb)]
        # the payload: one flat register, loaded from the planes when the window closes
        words = Signal(n * wb, name="words")

        window = self.lanes.window
        opening = window & ~window_prev
        closing = ~window & window_prev
        pulse = Signal(n)
        full = Signal(n)                 # lanes whose counter is at 2^word_bits - 1
        falling = Signal(n)
        m.d.comb += [
            pulse.eq(Mux(window, self.lanes.pulse, 0)),
            full.eq(reduce(operator.and_, counts)),
            falling.eq(pulse_prev & ~pulse),
        ]
        m.d.sync += [window_prev.eq(window), pulse_prev.eq(pulse)]

        still_high = Signal()
        m.d.comb += still_high.eq((pulse_prev != 0) & closing)
        with m.If(opening):
            m.d.sync += [counts[0].eq(pulse), overflow.eq(0)]
            m.d.sync += [plane.eq(0) for plane in counts[1:]]
        with m.Else():
            with m.If((pulse & full).any()):
                m.d.sync += overflow.eq(1)
            # a full counter stays full
            m.d.sync += [dst.eq(v) for dst, v in
                         zip(counts, ripple(m, "count_carry", counts, pulse & ~full))]
        # while high, a lane's word reads full scale (a lane still high when the window closes
        # has no falling edge of its own and saturates); on its falling edge it latches the
        # count (full scale on the closing cycle: the lane was high on the window's last tick)
        held = Signal(n)
        m.d.comb += held.eq(Mux(opening, 0, ~pulse & ~falling))
        for j, plane in enumerate(latched):
            m.d.sync += plane.eq(pulse | (falling & Mux(closing, falling, counts[j]))
                                 | (held & plane))
        # the word-major payload, built on the closing cycle only
        closing_words = gated(m, closing, "closing_words", n * wb,
                              from_planes(latched, n))
        with m.If(closing):
            m.d.sync += words.eq(closing_words)
        m.d.comb += self.o.payload.as_value().eq(Mux(closing, closing_words, words))

        m.d.comb += [
            self.o.valid.eq(pending | closing),
            self.overrange.eq(closing & (still_high | overflow)),
        ]
        with m.If(closing & ~self.o.ready):
            m.d.sync += pending.eq(1)
        with m.If(pending & self.o.ready):
            m.d.sync += pending.eq(0)
        return m
