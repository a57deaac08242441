"""Input landing pad: a stream of input words becomes one window of pulse lanes."""
from functools import reduce
import operator

from amaranth.hdl import Module, Signal, Mux, unsigned
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from golden.spec import TileParams
from .bitslice import ripple, to_planes
from .storage import held_word
from .types import InputMode, PulseLanesSignature, input_layout

__all__ = ["InputLandingPad"]


class InputLandingPad(wiring.Component):
    """Turns each accepted input vector into pulse durations (docs/spec.md section 2).

    On the handshake cycle the words are latched; the window opens on the next cycle and lasts
    ``D + 1`` ticks, D being the mode's longest duration. Lane i is high for the first d_i ticks
    with ``sign`` = polarity of word i. ``i.ready`` is low while a window is open.

    The lanes are generated bit-sliced: the latched words are transposed once into ``in_bits``
    magnitude planes of ``rows`` bits, and each lane's remaining duration is a down-counter
    held as planes too, so one tick costs a few operations on ``rows``-bit vectors instead of
    one comparison per lane.

    Members
    -------
    i : In(stream.Signature(input_layout(params)))
        Input vectors.
    fill : In(stream.Signature(unsigned(params.in_bits)))
        One word for every lane (the calibrator's vector); taken before ``i`` when both are
        offered (``i.ready`` is low while ``fill.valid`` is high).
    mode : In(InputMode)
        Word interpretation, sampled on the handshake.
    lanes : Out(PulseLanesSignature(params.rows))
        The pulse window.

    Domains: the latched words (and ``fill``'s word) live in ``load_domain``, the window (its tick counter and
    down-counters) in ``sync``. The tile clocks ``load_domain`` only on cycles the pad can take
    a vector, so the transposition is evaluated once per vector; a handshake must fall on a
    cycle both clocks run.
    """

    def __init__(self, params: TileParams, *, load_domain: str = "sync"):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        if not isinstance(load_domain, str) or not load_domain:
            raise TypeError(f"load_domain must be a domain name, not {load_domain!r}")
        self.params = params
        self._load_domain = load_domain
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "fill": In(stream.Signature(unsigned(params.in_bits))),
            "mode": In(InputMode),
            "lanes": Out(PulseLanesSignature(params.rows)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ib = p.in_bits
        load = m.d[self._load_domain]

        active = Signal()
        tick = Signal(ib)
        last_tick = Signal(ib)
        signed_mode = Signal()
        # the accepted words are kept raw, loaded straight from the port (hdl.storage)
        take_fill = self.fill.valid & self.fill.ready
        take = self.i.valid & self.i.ready
        words = held_word(m, "words", input_layout(p), domain=self._load_domain,
                          data=self.i.payload, enable=take, registered_read=True)
        fill_word = Signal(ib)
        uniform = Signal()              # the window is of ``fill_word`` on every lane
        m.d.comb += [self.fill.ready.eq(~active), self.i.ready.eq(~active & ~self.fill.valid)]
        with m.If(take_fill | take):
            is_signed = self.mode == InputMode.SIGNED
            load += [signed_mode.eq(is_signed), uniform.eq(take_fill)]
            with m.If(take_fill):
                load += fill_word.eq(self.fill.payload)
            m.d.sync += [
                active.eq(1),
                tick.eq(0),
                last_tick.eq(Mux(is_signed, 1 << (ib - 1), (1 << ib) - 1)),
            ]
        with m.Elif(active):
            m.d.sync += tick.eq(tick + 1)
            with m.If(tick == last_tick):
                m.d.sync += active.eq(0)

        # magnitudes and polarities, bit-sliced (evaluated when ``words`` changes): a negative
        # word is negated as ~w + 1, the +1 rippling through the planes
        planes = to_planes(m, "word_plane", words.as_value(), p.rows, ib)
        raw = []
        for j, plane in enumerate(planes):
            chosen = Signal(p.rows, name=f"raw_plane_{j}")
            m.d.comb += chosen.eq(Mux(uniform, fill_word[j].replicate(p.rows), plane))
            raw.append(chosen)
        negative = Signal(p.rows)
        m.d.comb += negative.eq(Mux(signed_mode, raw[ib - 1], 0))
        flipped = [Signal(p.rows, name=f"flipped_{j}") for j in range(ib)]
        m.d.comb += [f.eq(r ^ negative) for f, r in zip(flipped, raw)]
        magnitude = [Signal(p.rows, name=f"magnitude_{j}") for j in range(ib)]
        m.d.comb += [dst.eq(v) for dst, v in
                     zip(magnitude, ripple(m, "negate_carry", flipped, negative))]

        # remaining ticks per lane: the magnitudes on the first tick, then down-counters
        remaining = [Signal(p.rows, name=f"remaining_{j}") for j in range(ib)]
        current = []
        first = tick == 0
        for j in range(ib):
            plane = Signal(p.rows, name=f"current_{j}")
            m.d.comb += plane.eq(Mux(first, magnitude[j], remaining[j]))
            current.append(plane)
        high = Signal(p.rows)
        m.d.comb += high.eq(Mux(active, reduce(operator.or_, current), 0))
        with m.If(active):
            m.d.sync += [dst.eq(v) for dst, v in
                         zip(remaining, ripple(m, "borrow", current, high, down=True))]

        m.d.comb += [
            self.lanes.window.eq(active),
            self.lanes.pulse.eq(high),
            self.lanes.sign.eq(Mux(active, negative, 0)),
        ]
        return m
