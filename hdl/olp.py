"""Output landing pad: a window of pulse lanes becomes a vector of words."""
from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring, stream
from amaranth.lib.wiring import In, Out

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

        window_prev = Signal()
        pulse_prev = Signal(n)
        pending = Signal()
        overflow = Signal()
        counts = [Signal(wb, name=f"count_{c}") for c in range(n)]
        # the words live in one flat register that is the payload itself: assembling the
        # payload from per-lane words costs Verilator a chain of wide concatenations per cycle
        words = Signal(n * wb, name="words")

        window = self.lanes.window
        opening = window & ~window_prev
        closing = ~window & window_prev
        m.d.sync += [window_prev.eq(window), pulse_prev.eq(Mux(window, self.lanes.pulse, 0))]

        still_high = Signal()
        m.d.comb += still_high.eq((pulse_prev != 0) & closing)
        with m.If(opening):
            m.d.sync += words.eq(0)
        for c in range(n):
            pulse = self.lanes.pulse[c] & window
            word = words.word_select(c, wb)
            with m.If(opening):
                m.d.sync += counts[c].eq(pulse)
            with m.Elif(pulse):
                with m.If(counts[c] == top):
                    m.d.sync += overflow.eq(1)
                with m.Else():
                    m.d.sync += counts[c].eq(counts[c] + 1)
            with m.If(pulse):
                # while high, the word reads full scale: a lane still high when the window
                # closes has no falling edge of its own and saturates
                m.d.sync += word.eq(top)
            with m.Elif(pulse_prev[c]):
                # falling edge: latch the count (on the closing cycle the lane was high on the
                # window's last tick, so full scale stays)
                m.d.sync += word.eq(Mux(closing, top, counts[c]))
        m.d.comb += self.o.payload.as_value().eq(words)
        with m.If(opening):
            m.d.sync += overflow.eq(0)

        m.d.comb += [
            self.o.valid.eq(pending | closing),
            self.overrange.eq(closing & (still_high | overflow)),
        ]
        with m.If(closing & ~self.o.ready):
            m.d.sync += pending.eq(1)
        with m.If(pending & self.o.ready):
            m.d.sync += pending.eq(0)
        return m
