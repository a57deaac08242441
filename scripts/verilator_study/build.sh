#!/bin/bash
# [GEN=gen_payload.py PFX=p_] build.sh VARIANT N  -> ../../build/verilator_study/VARIANT_N/obj_dir/Vtop (Verilator) and ../../build/verilator_study/VARIANT_N/iv (Icarus)
set -e
cd "$(dirname "$0")"; HERE=$(pwd)
V=$1; N=$2; D=../../build/verilator_study/${PFX}${V}_${N}
export AMARANTH_USE_YOSYS=builtin
"${PYTHON:-$(cd ../.. && pwd)/.venv/bin/python}" ${GEN:-gen.py} "$V" "$N" "$D"
cd "$D"
cp "$HERE/harness.cpp" .
verilator --cc --exe --build -Wall -Wno-DECLFILENAME -Wno-UNUSED -Wno-WIDTH \
  -O3 --x-assign fast --x-initial fast --noassert --output-split-cfuncs 300 \
  -CFLAGS -O2 -CFLAGS -I.. -CFLAGS -I$PWD --top-module top top.v harness.cpp -o Vtop > verilator.log 2>&1 \
  || { cat verilator.log | grep -v '^g++\|^ccache' | tail -40; exit 1; }
grep -oE '%(Warning|Error)-[A-Z]+' verilator.log | sort | uniq -c || true
if [ -f tb_iverilog.v ]; then
  iverilog -g2012 -o iv top.v tb_iverilog.v > iverilog.log 2>&1 && iverilog -g2012 -o iv_kick top.v tb_iverilog_kick.v >> iverilog.log 2>&1 || { cat iverilog.log; exit 1; }
fi
echo "built $D"
