"""Behavioral model of the analog array: conductance codes, integration, capacitor saturation."""
from functools import reduce
import operator

from amaranth.hdl import Cat, Const, Module, Signal, Mux, signed, unsigned
from amaranth.lib import memory, wiring, stream
from amaranth.lib.wiring import In, Out

from golden import noise as gnoise
from golden import rng as grng
from golden.spec import TileParams
from .rng import irwin_hall, mix32_signal
from .bitslice import ripple
from .types import PulseLanesSignature, any_of, cell_layout, row_write_layout

__all__ = ["Crossbar"]


class Crossbar(wiring.Component):
    """The PCM crossbar and its per-column capacitors (docs/spec.md sections 3-4).

    Not a synthesis target: it stands for the analog array. While the input window is open it
    counts each lane's high ticks (the lane's duration) and latches its polarity; when the window
    closes it multiplies and accumulates ``eval_rows`` rows per cycle against the code memory
    (``evaluate_cycles`` = ``ceil(rows / eval_rows) + 1``, the +1 being the memory's read
    latency), which equals the physical
    integration because the array is linear. On the cycle after, ``done`` pulses and ``charge``
    holds the saturated column charges until the next window closes.

    Members
    -------
    lanes : In(PulseLanesSignature(params.rows))
        Input pulse window.
    prog : In(stream.Signature(row_write_layout(params)))
        Row writes of conductance codes; ready while no window is open or being evaluated and
        ``prog_hi`` offers none.
    prog_hi : In(stream.Signature(row_write_layout(params)))
        Row writes with priority over ``prog`` (the tile's row programmer), through a write
        port of their own.
    charge : Out(signed(charge_bits)).array(cols)
        Column charges clamped to +-charge_max, one signal per column (separate signals, not
        one wide vector: Verilator rebuilds a wide vector assembled from parts on every
        evaluation, which dominated the 512 x 512 tile's simulation time).
    conductance : In(1)
        Conductance read (``golden.calibration``): every device current steered the same way,
        ``F * (G+ + G-) + (g+ + g-)`` per cell; sampled on the cycle the window closes.
    noise_seed, noise_sigma, mvm_index : In
        Read noise (``golden.noise``): sampled on the cycle the window closes; the first
        evaluation cycle starts each accumulator from its column's noise instead of 0.

    Domains: the lane counters run in ``count_domain``, the multiply-accumulate (and the code
    memory's read port) in ``mac_domain``, the values sampled when the window closes (read-noise
    key and sigma, ``conductance``) in ``sample_domain``, the row writes in ``sync``. The tile
    gives the first three gated clocks (``hdl/clocking.py``; ``sample_domain`` runs on
    ``closing``); the multiply-accumulate reads only registers of these domains, so it costs a
    simulator nothing outside EVALUATE, and the per-column read noise, a function of the
    sampled values alone, is computed once per MVM.
    done : Out(1)
        One cycle after the last evaluation cycle.
    conductance_read : Out(1)
        The last window was a conductance read (``conductance`` as sampled when it closed).
    cap_sat : Out(1)
        Some column's charge was clamped (valid with ``done``).
    evaluating : Out(1)
        The multiply-accumulate is running (the EVALUATE phase).
    counting : Out(1)
        The lane counters need their clock: a window is open or closed last cycle.
    closing : Out(1)
        The window closed: open last cycle, not this one (a function of registers).
    engaged : Out(1)
        Registered: a window was open last cycle or the multiply-accumulate is running (no
        combinational path from ``lanes``, for admission control).
    overrange : Out(1)
        High on every tick a lane is high beyond 2^in_bits - 1 ticks (its count saturates).
    bad_row : Out(1)
        One cycle: a row write (of either stream) named a row >= rows and was dropped.
    dead_lanes : In(rows)
        Only with ``params.fault_injection``. Dead input lanes (FAULT_LANES, docs/faults.md):
        their pulses are not counted, so their duration is 0.
    dead_cols : In(cols)
        Only with ``params.fault_injection``. Dead columns (FAULT_COLS): their ``charge`` is 0
        (read noise included) and never saturates.
    """

    def __init__(self, params: TileParams, *, count_domain: str = "sync",
                 mac_domain: str = "sync", sample_domain: str = "sync"):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        for what, name in (("count_domain", count_domain), ("mac_domain", mac_domain),
                           ("sample_domain", sample_domain)):
            if not isinstance(name, str) or not name:
                raise TypeError(f"{what} must be a domain name, not {name!r}")
        self.params = params
        self._count_domain, self._mac_domain = count_domain, mac_domain
        self._sample_domain = sample_domain
        super().__init__({
            "lanes": In(PulseLanesSignature(params.rows)),
            "prog": In(stream.Signature(row_write_layout(params))),
            "prog_hi": In(stream.Signature(row_write_layout(params))),
            "noise_seed": In(32),
            "noise_sigma": In(gnoise.NOISE_SIGMA_BITS),
            "mvm_index": In(32),
            "conductance": In(1),
            "charge": Out(signed(params.charge_bits)).array(params.cols),
            "done": Out(1),
            "conductance_read": Out(1),
            "cap_sat": Out(1),
            "evaluating": Out(1),
            "counting": Out(1),
            "closing": Out(1),
            "engaged": Out(1),
            "overrange": Out(1),
            "bad_row": Out(1),
            **({"dead_lanes": In(params.rows), "dead_cols": In(params.cols)}
               if params.fault_injection else {}),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ib = p.in_bits
        count_max = (1 << ib) - 1

        # the code memory: one memory per row of a group (row r is word r // eval_rows of
        # memory r % eval_rows), all read at the same address, so a read returns the group's
        # eval_rows rows. Each word is a flat row of cols cells (cell c at bits
        # [c * cell_bits, (c + 1) * cell_bits)). Several narrower memories rather than one
        # word of all the group's rows: Yosys reads a memory's initial contents as one
        # constant, and its time grows faster than the constant's length. At least two words:
        # a one-word memory has a zero-width address, which Verilator rejects (rows <=
        # eval_rows); the second word is then never written nor used
        R = p.eval_rows
        cells = cell_layout(p)
        word_bits = p.cols * cells.size
        write_ports = {"prog": [], "prog_hi": []}
        read_ports = []
        for k in range(R):
            m.submodules[f"codes_{k}"] = codes = memory.Memory(
                shape=unsigned(word_bits), depth=max(2, p.eval_groups), init=[])
            write_ports["prog"].append(codes.write_port())
            read_ports.append(codes.read_port(domain=self._mac_domain))
            write_ports["prog_hi"].append(codes.write_port())
        count, mac = m.d[self._count_domain], m.d[self._mac_domain]

        # -- duration counting while the window is open ---------------------------------------
        window_prev = Signal()
        window = self.lanes.window
        opening = window & ~window_prev
        closing = ~window & window_prev
        count += window_prev.eq(window)

        # the lane counters, bit-sliced: plane j holds bit j of every lane's count, so one tick
        # is a ripple-carry increment over ``in_bits`` vectors of ``rows`` bits
        planes = [Signal(p.rows, name=f"count_plane_{j}") for j in range(ib)]
        signs = Signal(p.rows)
        pulse = Signal(p.rows)
        full = Signal(p.rows)            # lanes whose count is at count_max
        live = self.lanes.pulse
        if p.fault_injection:
            live = live & ~self.dead_lanes     # a dead lane's pulses never reach its word line
        m.d.comb += [pulse.eq(Mux(window, live, 0)),
                     full.eq(reduce(operator.and_, planes))]
        with m.If(opening):
            count += [planes[0].eq(pulse), signs.eq(pulse & self.lanes.sign)]
            count += [plane.eq(0) for plane in planes[1:]]
        with m.Else():
            # a saturated count stays at count_max
            count += [dst.eq(v) for dst, v in
                      zip(planes, ripple(m, "count_carry", planes, pulse & ~full))]
            count += signs.eq((signs & ~pulse) | (self.lanes.sign & pulse))
        m.d.comb += self.overrange.eq(~opening & (pulse & full).any())

        # -- group-serial multiply-accumulate (eval_rows rows per cycle) ----------------------
        # Its registers live in ``mac`` and its logic reads only registers of ``mac`` and
        # ``count`` (plus values sampled when the window closes): with gated clocks per domain
        # (hdl/clocking.py) the 512-column datapath costs nothing outside EVALUATE.
        groups = p.eval_groups
        row_bits = max(1, groups.bit_length())
        active = Signal()
        row = Signal(row_bits)           # group the read port is addressed with (0 when idle)
        done = Signal()
        acc = [Signal(signed(p.accumulator_bits), name=f"acc_{c}") for c in range(p.cols)]
        key = Signal(32)                 # read-noise key, sampled when the window closes
        sigma = Signal(gnoise.NOISE_SIGMA_BITS)
        conductance = Signal()

        m.d.comb += [self.evaluating.eq(closing | active), self.engaged.eq(window_prev | active),
                     self.counting.eq(window | window_prev), self.closing.eq(closing),
                     self.conductance_read.eq(conductance)]
        mac += done.eq(0)
        m.d.comb += [rd.addr.eq(row) for rd in read_ports]
        next_key = mix32_signal(
            m, self.noise_seed ^ mix32_signal(m, self.mvm_index, "key_index_hash"), "key_next")
        with m.If(closing):
            mac += [active.eq(1), row.eq(1)]
            m.d[self._sample_domain] += [
                key.eq(next_key), sigma.eq(self.noise_sigma), conductance.eq(self.conductance)]
        with m.Elif(active):
            mac += row.eq(row + 1)
            with m.If(row == groups):
                mac += [active.eq(0), done.eq(1), row.eq(0)]

        # -- read noise (golden.noise): added on the first evaluation cycle. It is a function of
        # the registers sampled when the window closed only, so a simulator computes it once
        # per MVM (when ``sample_domain`` ticks), not on every evaluation cycle
        first = Signal()
        m.d.comb += first.eq(active & (row == 1))
        noise = []
        constants = grng.column_constants(p.cols)
        for c in range(p.cols):
            n = Signal(signed(11), name=f"noise_n_{c}")
            value = Signal(signed(p.accumulator_bits), name=f"noise_{c}")
            u = mix32_signal(m, key + int(constants[c]), f"noise_u_{c}")
            m.d.comb += [n.eq(irwin_hall(u)),
                         value.eq((n * sigma).shift_right(gnoise.NOISE_SHIFT))]
            noise.append(value)

        # the group's durations, registered alongside the memory's read data (same latency),
        # as accumulator-wide two's-complement words: the multiply-accumulate then reads only
        # ``mac`` registers and runs in unsigned arithmetic modulo 2^W, which equals the signed
        # result because every charge fits W = accumulator_bits signed bits (a simulator
        # evaluates unsigned products far faster than sign-extended ones)
        W = p.accumulator_bits
        # the groups leave the counter planes by shifting: a copy of the planes (and the
        # signs) taken when the window closes moves down by eval_rows lanes per cycle, so each
        # cycle reads fixed bit positions
        pad = groups * R - p.rows
        padded = [Cat(plane, Const(0, pad)) for plane in planes] + [Cat(signs, Const(0, pad))]
        pending = [Signal(groups * R, name=f"pending_{j}") for j in range(ib + 1)]
        durations = [Signal(W, name=f"duration_{k}") for k in range(R)]

        def load_group(source):
            for k, d in enumerate(durations):
                magnitude = Cat(*(source[j][k] for j in range(ib)))
                m.d[self._mac_domain] += d.eq(Mux(source[ib][k], -magnitude, magnitude))
            m.d[self._mac_domain] += [dst.eq(src[R:]) for dst, src in zip(pending, source)]

        with m.If(closing):
            load_group(padded)
        with m.Elif(active):
            load_group(pending)

        # a cell adds d (F G+ + g+) + d' (F G- + g-) (2-PCM: d G+ + d' G-), d its row's signed
        # duration: d' = -d in an MVM, d' = d in a conductance read (every device current
        # counts positive). d' is computed once per row of the group, from ``mac`` and
        # ``sample`` registers, so each column has one datapath for both kinds of read
        minus_durations = [Signal(W, name=f"minus_duration_{k}") for k in range(R)]
        m.d.comb += [dm.eq(Mux(conductance, d, -d))
                     for dm, d in zip(minus_durations, durations)]

        def scaled(code):
            return code if p.f_factor == 1 else p.f_factor * code

        def cell_currents(cell):
            # (plus, minus): the cell's weight is plus - minus, both unsigned
            if p.devices_per_weight == 4:
                return scaled(cell.gp) + cell.lp, scaled(cell.gm) + cell.lm
            return cell.gp, cell.gm

        # cell c of row k of the group: one constant slice of memory k's read data
        def read_cell(k, c):
            return cells(read_ports[k].data[c * cells.size:(c + 1) * cells.size])

        with m.If(active):
            for c in range(p.cols):
                total = Mux(first, noise[c].as_unsigned()[:W], acc[c].as_unsigned())
                for k in range(R):
                    plus, minus = cell_currents(read_cell(k, c))
                    total = (total + (durations[k] * plus)[:W]
                             + (minus_durations[k] * minus)[:W])
                mac += acc[c].eq(total[:W])

        # -- capacitor saturation -------------------------------------------------------------
        clipped = [Signal(name=f"clipped_{c}") for c in range(p.cols)]
        for c in range(p.cols):
            hi, lo = p.charge_max, -p.charge_max
            over = (acc[c] > hi) | (acc[c] < lo)
            clamped = Mux(acc[c] > hi, hi, Mux(acc[c] < lo, lo, acc[c]))
            if p.fault_injection:
                # a dead column's capacitor gets no charge at all (golden.faults): the mask
                # acts here, outside the multiply-accumulate
                dead = self.dead_cols[c]
                over, clamped = over & ~dead, Mux(dead, 0, clamped)
            m.d.comb += [clipped[c].eq(over), self.charge[c].eq(clamped)]
        m.d.comb += [self.done.eq(done), self.cap_sat.eq(any_of(clipped))]

        # -- row writes: two write ports per memory, so neither stream's payload passes a
        # multiplexer ------------------------------------------------------------------------
        busy = window | active | closing
        lane_bits = (R - 1).bit_length()
        for stream_, ports, ready in ((self.prog_hi, write_ports["prog_hi"], ~busy),
                                      (self.prog, write_ports["prog"],
                                       ~busy & ~self.prog_hi.valid)):
            m.d.comb += stream_.ready.eq(ready)
            row_index = stream_.payload.row
            for port in ports:
                m.d.comb += [port.addr.eq(row_index[lane_bits:]),
                             port.data.eq(stream_.payload.codes.as_value())]
            with m.If(stream_.valid & stream_.ready):
                with m.If(row_index < p.rows):
                    if R > 1:
                        m.d.comb += [port.en.eq(row_index[:lane_bits] == k)
                                     for k, port in enumerate(ports)]
                    else:
                        m.d.comb += ports[0].en.eq(1)
                with m.Else():
                    m.d.comb += self.bad_row.eq(1)
        return m
