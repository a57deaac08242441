#!/bin/bash
# check.sh N [CYCLES]: compare per-cycle checksums of all variants under Verilator and Icarus.
# Reference for a,b,b2,c is a/vl.txt; for a3,b3 (different function: registered inputs) it is a3/vl.txt
cd "$(dirname "$0")"; N=$1; C=${2:-2000}
for v in a b b2 c a3 b3; do
  D=../../build/verilator_study/${v}_$N; [ -x $D/obj_dir/Vtop ] || continue
  $D/obj_dir/Vtop $C check > $D/vl.txt
  (cd $D && vvp -n iv | grep -v finish | head -n $C > iv.txt; vvp -n iv_kick | grep -v finish | head -n $C > iv_kick.txt)
done
for v in a b b2 c a3 b3; do
  D=../../build/verilator_study/${v}_$N; [ -x $D/obj_dir/Vtop ] || continue
  case $v in a3|b3) R=../../build/verilator_study/a3_$N/vl.txt;; *) R=../../build/verilator_study/a_$N/vl.txt;; esac
  for f in vl iv iv_kick; do
    F=$D/$f.txt
    if cmp -s $F $R; then echo "$v/$f: IDENTICAL to $R ($(wc -l < $F) cycles)"; else echo "$v/$f: DIFFERS from $R: $(diff $R $F | grep -c '^>') cycles differ, first: $(diff $R $F | grep '^>' | head -1)"; fi
  done
done
