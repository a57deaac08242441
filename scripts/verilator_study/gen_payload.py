"""Q3: 512 x 8-bit stream payload driving a 4096-bit output port.
  cat  : 512 separate 8-bit registers, output port = Cat(*words)  (comb)
  flat : one 4096-bit register written slice by slice, output port = that register
  sep  : baseline, 512 separate 8-bit registers each its own output port (no wide vector at all)
Words update under an enable active 25 % of cycles: w_i <= w_i + lane_i.
Usage: python gen_payload.py VARIANT N OUTDIR"""
import os, sys
os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
from amaranth import *
from amaranth.back import verilog

TAPS = 0xD800000000000000


class P(Elaboratable):
    def __init__(self, v, n):
        self.v, self.n = v, n
        if v == "sep":
            self.ports = [Signal(8, name=f"w{i}") for i in range(n)]
        else:
            self.payload = Signal(8 * n, name="payload")
            self.ports = [self.payload]

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync", reset_less=True)
        n = self.n
        ph = Signal(8)
        lfsr = Signal(64, init=0x123456789ABCDEF1)
        m.d.sync += [ph.eq(ph + 1), lfsr.eq(Mux(lfsr[0], (lfsr >> 1) ^ TAPS, lfsr >> 1))]
        en = ph[6:8] == 0b11
        lane = [lfsr[i % 64] ^ lfsr[(7 * i + i // 64 + 3) % 64] for i in range(n)]
        if self.v == "flat":
            words = [self.payload[8 * i:8 * i + 8] for i in range(n)]
        elif self.v == "sep":
            words = self.ports
        else:
            words = [Signal(8, name=f"w{i}") for i in range(n)]
            m.d.comb += self.payload.eq(Cat(*words))
        with m.If(en):
            for i in range(n):
                m.d.sync += words[i].eq(words[i] + lane[i])
        return m


def main():
    v, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    d = P(v, n)
    with open(os.path.join(out, "top.v"), "w") as f:
        f.write(verilog.convert(d, name="top", ports=[ClockSignal("sync")] + d.ports))
    L = ["static inline uint64_t checksum(Vtop* t) {", "  uint64_t h = 1469598103934665603ULL;"]
    if v == "sep":
        for k in range(n // 4):
            w = " | ".join(f"((uint32_t)t->w{4 * k + j} << {8 * j})" for j in range(4))
            L.append(f"  h = (h ^ (uint64_t)({w})) * 1099511628211ULL;")
    else:
        L.append(f"  for (int k = 0; k < {n // 4}; k++) h = (h ^ (uint64_t)t->payload[k]) * 1099511628211ULL;")
    L += ["  return h;", "}"]
    with open(os.path.join(out, "checksum.h"), "w") as f:
        f.write("\n".join(L) + "\n")


main()
