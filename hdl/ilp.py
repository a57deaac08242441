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
        durations = [Signal(ib, name=f"duration_{r}") for r in range(p.rows)]
        signs = Signal(p.rows)

        m.d.comb += self.i.ready.eq(~active)
        with m.If(self.i.valid & self.i.ready):
            signed_mode = self.mode == InputMode.SIGNED
            for r in range(p.rows):
                word = self.i.payload[r]
                negative = signed_mode & word[ib - 1]
                magnitude = Mux(negative, (-word)[:ib], word)
                m.d.sync += [durations[r].eq(magnitude), signs[r].eq(negative)]
            m.d.sync += [
                active.eq(1),
                tick.eq(0),
                last_tick.eq(Mux(signed_mode, 1 << (ib - 1), (1 << ib) - 1)),
            ]
        with m.Elif(active):
            m.d.sync += tick.eq(tick + 1)
            with m.If(tick == last_tick):
                m.d.sync += active.eq(0)

        m.d.comb += [
            self.lanes.window.eq(active),
            self.lanes.sign.eq(Mux(active, signs, 0)),
        ]
        for r in range(p.rows):
            m.d.comb += self.lanes.pulse[r].eq(active & (tick < durations[r]))
        return m
