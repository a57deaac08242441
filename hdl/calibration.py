"""Drift calibration on the local controller: conductance read, reference store, gain update.

Bit-exact with ``golden.calibration`` (contract: docs/spec.md section 10).
"""
from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from golden.calibration import CalOp, CalScope
from golden.spec import TileParams
from .rng import gated

__all__ = ["Calibrator"]


class Calibrator(wiring.Component):
    """Runs one calibration command (``CAL_CMD``) at a time.

    Sequence (cycles as ``golden.calibration.calibration_cycles``):

    1. ``load`` (1 cycle): the vector ``CAL_INPUT`` on every row goes into the ILP;
    2. the conductance read: the crossbar integrates and evaluates with ``conductance`` high
       (all device currents the same way); ``read_done`` is the crossbar's ``done`` cycle;
    3. the column walk: ``REFERENCE`` stores ``(GAIN[c], charge[c])`` in the reference memory,
       one column per cycle; ``COMPENSATE`` (``GLOBAL`` after a pass summing ``|r|`` and ``|q|``)
       spends ``gain_bits + 3`` cycles per column: fetch, set-up, ``gain_bits`` restoring
       division steps of ``floor((2 N + D) / (2 D))``, write of ``GAIN[c]``.

    Members
    -------
    start : In(1)
        One cycle: a legal ``CAL_CMD`` write is carried out; ``op``/``scope`` are valid with it.
    op, scope : In(1)
    ilp_ready : In(1)
        The ILP can take the vector (always, the tile being idle when ``start`` is accepted).
    load : Out(1)
        Offer the calibration vector to the ILP this cycle: ``CAL_INPUT`` on every row, through
        the ILP's ``fill`` stream (``load`` is its ``valid``, ``ilp_ready`` its ``ready``).
    conductance : Out(1)
        The crossbar reads conductances (held from the load through the read).
    read_done : In(1)
        The crossbar's ``done``: the column charges are valid from this cycle on.
    charge : In(signed(charge_bits)).array(cols)
        The crossbar's clamped column charges.
    gain : In(unsigned(gain_bits)).array(cols)
        The ``GAIN`` registers (stored by ``REFERENCE``).
    gain_we, gain_col, gain_value : Out
        Write of one ``GAIN`` register.
    busy : Out(1)
        From ``load`` to the last walk cycle (the tile shows ``Phase.CALIBRATE`` while no
        block is active).
    finished : Out(1)
        One cycle, the command's last: ``skipped``/``clipped``/``reference_valid`` take their
        new values at its end.
    skipped, clipped : Out(range(cols + 1))
        ``CAL_SKIPPED``, ``CAL_CLIPPED`` of the last COMPENSATE (0 after a REFERENCE).
    reference_valid : Out(1)
        A REFERENCE has completed since reset.
    dead_mask : Out(cols), dead_count : Out(range(cols + 1))
        ``CAL_DEAD_MASK`` / ``CAL_DEAD`` (docs/faults.md): the columns whose read was 0 in the
        last command (set as the walk visits each column: STORE, FETCH).
    dead_event : Out(1)
        One cycle, with ``finished``: the command found a dead column (``ERROR.cal_dead``).
    """

    def __init__(self, params: TileParams):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self.params = p = params
        super().__init__({
            "start": In(1),
            "op": In(1),
            "scope": In(1),
            "ilp_ready": In(1),
            "load": Out(1),
            "conductance": Out(1),
            "read_done": In(1),
            "charge": In(signed(p.charge_bits)).array(p.cols),
            "gain": In(unsigned(p.gain_bits)).array(p.cols),
            "gain_we": Out(1),
            "gain_col": Out(max(1, (p.cols - 1).bit_length())),
            "gain_value": Out(p.gain_bits),
            "busy": Out(1),
            "finished": Out(1),
            "skipped": Out(range(p.cols + 1)),
            "clipped": Out(range(p.cols + 1)),
            "reference_valid": Out(1),
            "dead_mask": Out(p.cols),
            "dead_count": Out(range(p.cols + 1)),
            "dead_event": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        cb, gb = p.charge_bits, p.gain_bits
        cmax = p.charge_max
        gmax = (1 << gb) - 1
        mag_bits = cb - 1                                   # |charge| <= charge_max
        sum_bits = mag_bits + p.cols.bit_length()
        n_bits = gb + sum_bits
        rem_bits = n_bits + 2                               # 2 N + D
        div_bits = sum_bits + 1 + gb                        # 2 D << gain_bits

        # at least two words: a one-word memory (one column) has a zero-width address, which
        # Verilator rejects; the second word is then never written nor read
        ref = memory.Memory(shape=data.StructLayout({"charge": signed(cb), "gain": unsigned(gb)}),
                            depth=max(2, p.cols), init=[])
        m.submodules.reference = ref
        wr = ref.write_port()
        rd = ref.read_port(domain="sync")

        op = Signal()
        scope = Signal()
        col = Signal(max(1, (p.cols - 1).bit_length()))
        last_col = col == p.cols - 1
        q_reg = Signal(signed(cb))          # charge[col], latched on FETCH (and in SUM)
        s_ref = Signal(sum_bits)
        s_now = Signal(sum_bits)
        summing_first = Signal()            # first SUM cycle: the read port has no data yet
        skip = Signal()
        clip = Signal()
        g0 = Signal(gb)
        rem = Signal(rem_bits)
        dv = Signal(div_bits)
        quo = Signal(gb)
        step = Signal(range(gb + 1))

        # the charge and gain of the walking column: multiplexers evaluated only while walking
        walk = Signal()
        charge_col = gated(m, walk, "cal_charge_col", signed(cb), Array(self.charge)[col])
        gain_col = gated(m, walk, "cal_gain_col", unsigned(gb), Array(self.gain)[col])

        m.d.comb += [rd.addr.eq(col), self.gain_col.eq(col)]
        # a column is reported dead when the walk visits it (STORE, FETCH) and its read is 0
        visiting = Signal()
        dead_now = Signal()
        m.d.comb += dead_now.eq(visiting & (charge_col == 0))
        with m.If(visiting):
            m.d.sync += [self.dead_mask.bit_select(col, 1).eq(dead_now),
                         self.dead_count.eq(self.dead_count + dead_now)]
        m.d.comb += self.dead_event.eq(self.finished & ((self.dead_count != 0) | dead_now))
        def magnitude(v):
            return Mux(v < 0, -v, v)

        with m.FSM(name="cal_state"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [op.eq(self.op), scope.eq(self.scope)]
                    m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += [self.busy.eq(1), self.conductance.eq(1),
                             self.load.eq(1)]
                with m.If(self.ilp_ready):
                    m.next = "READ"
            with m.State("READ"):
                m.d.comb += [self.busy.eq(1), self.conductance.eq(1)]
                with m.If(self.read_done):
                    m.d.sync += [col.eq(0), s_ref.eq(0), s_now.eq(0), summing_first.eq(1),
                                 self.skipped.eq(0), self.clipped.eq(0),
                                 self.dead_count.eq(0)]
                    with m.If(op == CalOp.REFERENCE):
                        m.next = "STORE"
                    with m.Elif(scope == CalScope.GLOBAL):
                        m.next = "SUM"
                    with m.Else():
                        m.next = "FETCH"
            with m.State("STORE"):
                m.d.comb += [self.busy.eq(1), walk.eq(1), visiting.eq(1),
                             wr.addr.eq(col), wr.data.charge.eq(charge_col),
                             wr.data.gain.eq(gain_col), wr.en.eq(1)]
                with m.If(last_col):
                    m.d.comb += self.finished.eq(1)
                    m.d.sync += [self.reference_valid.eq(1), col.eq(0)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += col.eq(col + 1)
            with m.State("SUM"):
                # cycle k reads column k and adds column k - 1 (k >= 1); SUM_LAST adds the last
                m.d.comb += [self.busy.eq(1), walk.eq(1)]
                m.d.sync += [summing_first.eq(0), q_reg.eq(charge_col)]
                with m.If(~summing_first):
                    m.d.sync += [s_ref.eq(s_ref + magnitude(rd.data.charge)),
                                 s_now.eq(s_now + magnitude(q_reg))]
                with m.If(last_col):
                    m.d.sync += col.eq(0)
                    m.next = "SUM_LAST"
                with m.Else():
                    m.d.sync += col.eq(col + 1)
            with m.State("SUM_LAST"):
                m.d.comb += [self.busy.eq(1)]
                m.d.sync += [s_ref.eq(s_ref + magnitude(rd.data.charge)),
                             s_now.eq(s_now + magnitude(q_reg))]
                m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += [self.busy.eq(1), walk.eq(1), visiting.eq(1)]
                m.d.sync += q_reg.eq(charge_col)
                m.next = "SETUP"
            with m.State("SETUP"):
                m.d.comb += [self.busy.eq(1)]
                r = rd.data.charge
                g = rd.data.gain
                n = Signal(n_bits)
                d = Signal(sum_bits)
                no_signal = Signal()
                with m.If(scope == CalScope.GLOBAL):
                    m.d.comb += [n.eq(g * s_ref), d.eq(s_now),
                                 no_signal.eq((s_ref == 0) | (s_now == 0))]
                with m.Else():
                    m.d.comb += [
                        n.eq(g * magnitude(r)), d.eq(magnitude(q_reg)),
                        no_signal.eq((r == 0) | (q_reg == 0) | (r == cmax) | (r == -cmax)
                                     | (q_reg == cmax) | (q_reg == -cmax)
                                     | ((r < 0) != (q_reg < 0))),
                    ]
                big = Signal(rem_bits)
                m.d.comb += big.eq(2 * n + d)
                m.d.sync += [
                    g0.eq(g), skip.eq(no_signal),
                    clip.eq(big >= (d << (gb + 1))),
                    rem.eq(big), dv.eq(d << gb), quo.eq(0), step.eq(0),
                ]
                m.next = "DIVIDE"
            with m.State("DIVIDE"):
                m.d.comb += [self.busy.eq(1)]
                take = rem >= dv
                m.d.sync += [
                    rem.eq(Mux(take, rem - dv, rem)),
                    quo.eq(Cat(take, quo[:-1]) if gb > 1 else take),
                    dv.eq(dv >> 1),
                    step.eq(step + 1),
                ]
                with m.If(step == gb - 1):
                    m.next = "WRITE"
            with m.State("WRITE"):
                m.d.comb += [self.busy.eq(1), self.gain_we.eq(1)]
                with m.If(skip):
                    m.d.comb += self.gain_value.eq(g0)
                    m.d.sync += self.skipped.eq(self.skipped + 1)
                with m.Elif(clip):
                    m.d.comb += self.gain_value.eq(gmax)
                    m.d.sync += self.clipped.eq(self.clipped + 1)
                with m.Else():
                    m.d.comb += self.gain_value.eq(quo)
                with m.If(last_col):
                    m.d.comb += self.finished.eq(1)
                    m.d.sync += col.eq(0)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += col.eq(col + 1)
                    m.next = "FETCH"
        return m
