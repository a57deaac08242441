"""Input landing pad: a stream of input words becomes one window of pulse lanes."""
from amaranth.hdl import Module, Signal, Mux, unsigned
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from golden.spec import TileParams
from .types import InputMode, PulseLanesSignature, input_layout

__all__ = ["InputLandingPad"]


class InputLandingPad(wiring.Component):
    """Turns each accepted input vector into pulse durations (docs/spec.md section 2).

    On the handshake cycle the words are latched; the window opens on the next cycle and lasts
    ``D + 1`` ticks, D being the mode's longest duration. Lane i is high for the first d_i ticks
    with ``sign`` = polarity of word i. ``i.ready`` is low while a window is open.

    Members
    -------
    i : In(stream.Signature(input_layout(params)))
        Input vectors.
    mode : In(InputMode)
        Word interpretation, sampled on the handshake.
    lanes : Out(PulseLanesSignature(params.rows))
        The pulse window.
    """

    def __init__(self, params: TileParams):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self.params = params
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "mode": In(InputMode),
            "lanes": Out(PulseLanesSignature(params.rows)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ib = p.in_bits

        active = Signal()
        tick = Signal(ib)
        last_tick = Signal(ib)
        # the accepted words are kept raw and decoded from the register: no per-lane logic
        # depends on the input port (Verilator re-evaluates input-fed logic on every eval)
        words = Signal(input_layout(p))
        signed_mode = Signal()

        m.d.comb += self.i.ready.eq(~active)
        with m.If(self.i.valid & self.i.ready):
            is_signed = self.mode == InputMode.SIGNED
            m.d.sync += [
                words.eq(self.i.payload),
                signed_mode.eq(is_signed),
                active.eq(1),
                tick.eq(0),
                last_tick.eq(Mux(is_signed, 1 << (ib - 1), (1 << ib) - 1)),
            ]
        with m.Elif(active):
            m.d.sync += tick.eq(tick + 1)
            with m.If(tick == last_tick):
                m.d.sync += active.eq(0)

        m.d.comb += self.lanes.window.eq(active)
        with m.If(active):      # per-lane decode only while the window is open
            for r in range(p.rows):
                word = words[r]
                negative = signed_mode & word[ib - 1]
                magnitude = Mux(negative, (-word)[:ib], word)
                m.d.comb += [
                    self.lanes.pulse[r].eq(tick < magnitude),
                    self.lanes.sign[r].eq(negative),
                ]
        return m
