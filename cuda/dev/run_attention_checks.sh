#!/bin/bash
# Device run for the attention kernels: build the harness for sm_90 and as
# compute_75 PTX only (JIT-compiled by the driver: the Turing code path on a
# newer GPU), run both, compute-sanitizer memcheck / racecheck on --small,
# then timings (ours and PyTorch SDPA). Logs under ${OUT:-/tmp/attn_check}.
set -u
OUT=${OUT:-/tmp/attn_check}; mkdir -p "$OUT"
SRC="cuda/dev/attention_check.cu cuda/attention/attention_fwd.cu cuda/attention/attention_bwd.cu cuda/attention/attention_naive.cu cuda/common/device_info.cu"
F="-std=c++17 -O3 --expt-relaxed-constexpr"
B=/tmp/ac_build; mkdir -p $B
nvcc $F -arch=sm_90 $SRC -o $B/ac90 > "$OUT/build.log" 2>&1 &
nvcc $F -gencode arch=compute_75,code=compute_75 $SRC -o $B/ac75 >> "$OUT/build.log" 2>&1 &
wait; cat "$OUT/build.log"
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
( timeout ${T_SAN:-170} $SAN --tool memcheck $B/ac90 --small > "$OUT/memcheck.log" 2>&1; echo "memcheck rc $?" >> "$OUT/memcheck.log" ) &
( timeout ${T_SAN:-170} $SAN --tool racecheck $B/ac90 --small > "$OUT/racecheck.log" 2>&1; echo "racecheck rc $?" >> "$OUT/racecheck.log" ) &
( timeout ${T_CHK:-160} $B/ac90 > "$OUT/check_sm90.log" 2>&1; echo "sm90 rc $?" >> "$OUT/check_sm90.log" ) &
( timeout ${T_CHK:-160} $B/ac75 > "$OUT/check_c75.log" 2>&1; echo "c75 rc $?" >> "$OUT/check_c75.log" ) &
wait
timeout 70 $B/ac90 --time > "$OUT/time.log" 2>&1; echo "rc $?" >> "$OUT/time.log"
[ -n "${SDPA:-}" ] && PYTHONUNBUFFERED=1 timeout 70 python3 cuda/dev/attention_sdpa_bench.py > "$OUT/sdpa.log" 2>&1
for f in check_sm90 check_c75; do echo "== $f"; grep -E "^FAIL|^skip|device|failure|rc " "$OUT/$f.log" | head -40; done
for f in memcheck racecheck; do echo "== $f"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|rc |Error|failure" "$OUT/$f.log" | head -8; done
cat "$OUT/time.log"; if [ -f "$OUT/sdpa.log" ]; then cat "$OUT/sdpa.log"; fi
