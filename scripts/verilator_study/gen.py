"""Synthetic landing-pad-like design, variants:
  a : one sync domain, block updates under m.If(enable)
  b2: same as b, plus the free-running logic in a domain "core" whose clock is assigned from clk
  b : per-block gated clock domains (clk & en_latched_on_negedge)
  a3/b3: like a/b, but each block first registers its inputs (lane, a, b) in its own
         domain / under its own enable, so the block's next-state logic reads only block registers
  c : like a but per-column state packed into wide vectors (one Signal per field)
Usage: python gen.py VARIANT N OUTDIR
Writes OUTDIR/top.v, OUTDIR/ports.json, OUTDIR/checksum.h, OUTDIR/tb_iverilog.v
"""
import json, os, random, re, sys

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
from amaranth import *
from amaranth.lib.memory import Memory
from amaranth.back import verilog

TAPS = 0xD800000000000000  # x^64+x^63+x^61+x^60+1 (Galois, right shift)
DEPTH = 16


def rom_init(n):
    rnd = random.Random(1234)
    rows = []
    for _ in range(DEPTH):
        v = 0
        for i in range(n):
            v |= rnd.randrange(512) << (9 * i)
        rows.append(v)
    return rows


class Design(Elaboratable):
    def __init__(self, variant, n):
        self.variant, self.n = variant, n
        self.res = [Signal(8, name=f"res{i}") for i in range(n)]
        self.sat = [Signal(1, name=f"sat{i}") for i in range(n)]
        self.acc = [Signal(signed(24), name=f"acc{i}") for i in range(n)]
        self.cnt = [Signal(8, name=f"cnt{i}") for i in range(n)]
        self.ports = self.res + self.sat + self.acc + self.cnt

    def elaborate(self, platform):
        n, v = self.n, self.variant
        m = Module()
        m.domains.sync = ClockDomain("sync", reset_less=True)

        # free-running top-level state (always active)
        ph = Signal(8)
        lfsr = Signal(64, init=0x123456789ABCDEF1)
        if v == "b2":
            # amaranth.sim-safe: free-running logic also in a comb-derived domain so that
            # core_clk, ga_clk and gb_clk all rise in the same delta cycle
            m.domains.core = ClockDomain("core", reset_less=True)
            m.d.comb += ClockSignal("core").eq(ClockSignal("sync"))
            dS = m.d.core
        else:
            dS = m.d.sync
        dS.__iadd__(ph.eq(ph + 1))
        dS.__iadd__(lfsr.eq(Mux(lfsr[0], (lfsr >> 1) ^ TAPS, lfsr >> 1)))
        enA = ph[6:8] == 0b11      # 25 % of cycles, 0 at ph=0
        enB = ph[5]                # 50 % of cycles, 0 at ph=0
        lane = [lfsr[i % 64] ^ lfsr[(7 * i + i // 64 + 3) % 64] for i in range(n)]

        m.submodules.rom = rom = Memory(shape=unsigned(9 * n), depth=DEPTH, init=rom_init(n))
        rpa = rom.read_port(domain="comb")
        rpb = rom.read_port(domain="comb")
        m.d.comb += [rpa.addr.eq(ph[0:4]), rpb.addr.eq(ph[4:8] ^ 5)]

        if v in ("b", "b2", "b3"):
            enA_l = Signal(name="enA_l")   # init 0 == enA at reset state
            enB_l = Signal(name="enB_l")
            m.domains.neg = ClockDomain("neg", clk_edge="neg", reset_less=True)
            m.domains.ga = ClockDomain("ga", reset_less=True)
            m.domains.gb = ClockDomain("gb", reset_less=True)
            m.d.comb += [
                ClockSignal("neg").eq(ClockSignal("sync")),
                ClockSignal("ga").eq(ClockSignal("sync") & enA_l),
                ClockSignal("gb").eq(ClockSignal("sync") & enB_l),
            ]
            m.d.neg += [enA_l.eq(enA), enB_l.eq(enB)]
            dA, dB = m.d.ga, m.d.gb
            ctxA = ctxB = None
        else:
            dA = dB = m.d.sync

        if v in ("a", "b", "b2", "a3", "b3"):
            prev = [Signal(name=f"prev{i}") for i in range(n)]
            cols = [(self.cnt[i], self.res[i], self.sat[i], self.acc[i], prev[i]) for i in range(n)]

            regin = v in ("a3", "b3")

            def blockA():
                for i, (cnt, res, sat, acc, pv) in enumerate(cols):
                    if regin:   # block registers its own input in its own domain
                        lr = Signal(name=f"lane_r{i}")
                        dA.__iadd__(lr.eq(lane[i]))
                        lane[i] = lr
                    dA.__iadd__(pv.eq(lane[i]))
                    with m.If(lane[i]):
                        with m.If(cnt == 255):
                            dA.__iadd__(sat.eq(1))
                        with m.Else():
                            dA.__iadd__(cnt.eq(cnt + 1))
                    with m.If(pv & ~lane[i]):
                        dA.__iadd__([res.eq(cnt), cnt.eq(0)])

            def blockB():
                for i, (cnt, res, sat, acc, pv) in enumerate(cols):
                    a = rpa.data[9 * i:9 * i + 9].as_signed()
                    j = (i + 1) % n
                    b = rpb.data[9 * j:9 * j + 9].as_signed()
                    if regin:
                        ar, br = Signal(signed(9), name=f"a_r{i}"), Signal(signed(9), name=f"b_r{i}")
                        dB.__iadd__([ar.eq(a), br.eq(b)])
                        a, b = ar, br
                    dB.__iadd__(acc.eq(acc + a * b))

            if v in ("a", "a3"):
                with m.If(enA):
                    blockA()
                with m.If(enB):
                    blockB()
            else:
                blockA()
                blockB()
        elif v == "c":
            # packed: one wide register per field; ports are slices (comb)
            W_cnt, W_res, W_sat, W_prev, W_acc = (Signal(8 * n, name="cntv"), Signal(8 * n, name="resv"),
                                                  Signal(n, name="satv"), Signal(n, name="prevv"),
                                                  Signal(24 * n, name="accv"))
            for i in range(n):
                m.d.comb += [self.cnt[i].eq(W_cnt[8 * i:8 * i + 8]), self.res[i].eq(W_res[8 * i:8 * i + 8]),
                             self.sat[i].eq(W_sat[i]), self.acc[i].eq(W_acc[24 * i:24 * i + 24])]
            with m.If(enA):
                for i in range(n):
                    cnt = W_cnt[8 * i:8 * i + 8]
                    pv = W_prev[i]
                    m.d.sync += pv.eq(lane[i])
                    with m.If(lane[i]):
                        with m.If(cnt == 255):
                            m.d.sync += W_sat[i].eq(1)
                        with m.Else():
                            m.d.sync += cnt.eq(cnt + 1)
                    with m.If(pv & ~lane[i]):
                        m.d.sync += [W_res[8 * i:8 * i + 8].eq(cnt), cnt.eq(0)]
            with m.If(enB):
                for i in range(n):
                    a = rpa.data[9 * i:9 * i + 9].as_signed()
                    j = (i + 1) % n
                    b = rpb.data[9 * j:9 * j + 9].as_signed()
                    acc = W_acc[24 * i:24 * i + 24]
                    m.d.sync += acc.eq(acc.as_signed() + a * b)
        return m


def checksum_cpp(ports):
    lines = ["static inline uint64_t checksum(Vtop* t) {", "  uint64_t h = 1469598103934665603ULL;"]
    for name, w in ports:
        lines.append(f"  h = (h ^ (uint64_t)(t->{name} & 0x{(1 << w) - 1:x}ULL)) * 1099511628211ULL;")
    lines += ["  return h;", "}"]
    return "\n".join(lines) + "\n"


def tb_iverilog(ports, ncycles, kick=None):
    conns = ", ".join(f".{n}({n})" for n, w in ports)
    decl = "\n".join(f"  wire [{w - 1}:0] {n};" for n, w in ports)
    upd = "\n".join(f"    h = (h ^ {{{64 - w}'d0, {n}}}) * 64'd1099511628211;" for n, w in ports)
    kick = "" if kick is None else f"    #1 dut.{kick} = 1'b1;  // re-trigger all yosys always @* blocks (Icarus time-0 workaround)"
    return f"""`timescale 1ns/1ps
module tb;
  reg clk = 0;
{decl}
  reg [63:0] h;
  integer c;
  top dut(.clk(clk), {conns});
  initial begin
{kick}
    for (c = 0; c < {ncycles}; c = c + 1) begin
      #5 clk = 1;
      #1;
    h = 64'd1469598103934665603;
{upd}
    $display("%0d %016x", c, h);
      #4 clk = 0;
    end
    $finish;
  end
endmodule
"""


def main():
    variant, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    d = Design(variant, n)
    v = verilog.convert(d, name="top", ports=[ClockSignal("sync")] + d.ports)
    with open(os.path.join(out, "top.v"), "w") as f:
        f.write(v)
    ports = [(s.name, len(s)) for s in d.ports]
    with open(os.path.join(out, "ports.json"), "w") as f:
        json.dump(ports, f)
    with open(os.path.join(out, "checksum.h"), "w") as f:
        f.write(checksum_cpp(ports))
    with open(os.path.join(out, "tb_iverilog.v"), "w") as f:
        f.write(tb_iverilog(ports, int(os.environ.get("TB_CYCLES", "2000"))))
    mm = re.search(r"reg (\\\S*dump_module\S*) ", v)
    with open(os.path.join(out, "tb_iverilog_kick.v"), "w") as f:
        f.write(tb_iverilog(ports, int(os.environ.get("TB_CYCLES", "2000")), mm.group(1) + " " if mm else None))


if __name__ == "__main__":
    main()
