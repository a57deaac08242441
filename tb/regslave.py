"""An AXI4-Lite slave with REGISTERED ready signals: a legal AXI timing the chip does not use
today, on which the bus-functional models of tb/chipdrv.py must still be correct.

``awready``, ``wready`` and ``arready`` are flip-flops, raised one cycle ahead when the slave
will have room and withheld on pseudo-random cycles (a 16-bit LFSR). AW and W are taken
independently into holding registers; the write is carried out when both are held and the B
channel is free. Registers (byte address = 4 x index; the two low bits select byte lanes
only through ``wstrb``, as AXI4-Lite has it): 0 .. REGS - 1 read/write with ``wstrb``;
WRITES and READS count the transactions carried out (a lost or doubled transaction shows even
where the data would hide it); any other address answers SLVERR (writes ignored, reads 0).
"""
from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from hdl.csr import AXI4LiteSignature

__all__ = ["RegisteredReadySlave", "REGS", "WRITES", "READS", "ADDR_BITS", "OKAY", "SLVERR"]

ADDR_BITS = 6
REGS = 8
WRITES, READS = 8, 9
OKAY, SLVERR = 0, 2
#: Feedback taps of the 16-bit Fibonacci LFSR that withholds the ready signals
_LFSR_TAPS = (15, 13, 12, 10)


class RegisteredReadySlave(wiring.Component):
    bus: In(AXI4LiteSignature(ADDR_BITS))

    def elaborate(self, platform):
        m = Module()
        b = self.bus
        regs = Array(Signal(32, name=f"reg_{k}") for k in range(REGS))
        writes, reads = Signal(32), Signal(32)
        lfsr = Signal(16, init=0xACE1)
        m.d.sync += lfsr.eq(Cat(lfsr[1:], Cat(*(lfsr[t] for t in _LFSR_TAPS)).xor()))
        go_w, go_a, go_r = lfsr[0], lfsr[5], lfsr[9]

        # -- write: AW and W held independently, then carried out when B is free ---------------
        aw_held, w_held = Signal(), Signal()
        aw_addr, w_data, w_strb = Signal(ADDR_BITS), Signal(32), Signal(4)
        awready, wready, bvalid, bresp = Signal(), Signal(), Signal(), Signal(2)
        m.d.comb += [b.awready.eq(awready), b.wready.eq(wready), b.bvalid.eq(bvalid),
                     b.bresp.eq(bresp)]
        aw_take, w_take = b.awvalid & awready, b.wvalid & wready
        carry = aw_held & w_held & ~bvalid
        index = aw_addr[2:]
        with m.If(carry):
            m.d.sync += [aw_held.eq(0), w_held.eq(0), bvalid.eq(1), writes.eq(writes + 1)]
            with m.If(index < REGS):
                m.d.sync += [regs[index].eq(Cat(*(Mux(w_strb[k], w_data[8 * k:8 * k + 8],
                                                      regs[index][8 * k:8 * k + 8])
                                                  for k in range(4)))),
                             bresp.eq(OKAY)]
            with m.Else():
                m.d.sync += bresp.eq(SLVERR)
        with m.Elif(bvalid & b.bready):
            m.d.sync += bvalid.eq(0)
        # a beat taken on the cycle of a carry-out is held for the next write
        with m.If(aw_take):
            m.d.sync += [aw_held.eq(1), aw_addr.eq(b.awaddr)]
        with m.If(w_take):
            m.d.sync += [w_held.eq(1), w_data.eq(b.wdata), w_strb.eq(b.wstrb)]
        # ready is registered: raised for the next cycle when its holding register will be free
        m.d.sync += [awready.eq(~((aw_held & ~carry) | aw_take) & go_a),
                     wready.eq(~((w_held & ~carry) | w_take) & go_w)]

        # -- read: registered arready, the answer on the cycle after the address -------------
        arready, rvalid, rdata, rresp = Signal(), Signal(), Signal(32), Signal(2)
        m.d.comb += [b.arready.eq(arready), b.rvalid.eq(rvalid), b.rdata.eq(rdata),
                     b.rresp.eq(rresp)]
        ar_take = b.arvalid & arready
        r_index = b.araddr[2:]
        with m.If(ar_take):
            m.d.sync += [rvalid.eq(1), reads.eq(reads + 1), rresp.eq(OKAY)]
            with m.If(r_index < REGS):
                m.d.sync += rdata.eq(regs[r_index])
            with m.Elif(r_index == WRITES):
                m.d.sync += rdata.eq(writes)
            with m.Elif(r_index == READS):
                m.d.sync += rdata.eq(reads)
            with m.Else():
                m.d.sync += [rdata.eq(0), rresp.eq(SLVERR)]
        with m.Elif(rvalid & b.rready):
            m.d.sync += rvalid.eq(0)
        r_busy = (rvalid & ~b.rready) | ar_take
        m.d.sync += arready.eq(~r_busy & go_r)
        return m
