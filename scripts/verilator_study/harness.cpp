// Bare Verilator harness: ./Vtop NCYCLES [check]
//  check: print "cycle checksum" after every posedge (same format as tb_iverilog.v)
#include "Vtop.h"
#include "verilated.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "checksum.h"

int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    bool check = argc > 2 && !strcmp(argv[2], "check");
    VerilatedContext* ctx = new VerilatedContext;
    Vtop* t = new Vtop{ctx};
    t->clk = 0;
    t->eval();
    auto t0 = std::chrono::steady_clock::now();
    uint64_t acc = 0;
    for (long c = 0; c < n; c++) {
        t->clk = 1;
        t->eval();
        if (check) printf("%ld %016llx\n", c, (unsigned long long)checksum(t));
        t->clk = 0;
        t->eval();
    }
    auto t1 = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(t1 - t0).count();
    if (!check) printf("cycles=%ld seconds=%.4f cps=%.0f final=%016llx\n", n, s, n / s,
                       (unsigned long long)checksum(t));
    t->final();
    delete t;
    return 0;
}
