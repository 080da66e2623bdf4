#!/bin/bash
# Build the kernel_check harness twice (native sm_90, and compute_75 PTX only,
# which the driver JIT-compiles: the Turing code path running on a newer GPU),
# run both, and run the small sizes under compute-sanitizer memcheck/racecheck.
# Logs go to ${OUT:-/tmp/kernel_check}.
set -u
OUT=${OUT:-/tmp/kernel_check}; mkdir -p "$OUT"
SRC="cuda/dev/kernel_check.cu cuda/elementwise/elementwise.cu cuda/reduce/reduce.cu cuda/gemm/gemm_dispatch.cu cuda/norm/layernorm.cu cuda/embedding/embedding.cu cuda/common/device_info.cu"
B=/tmp/kc_build; mkdir -p $B
nvcc -std=c++17 -O3 -arch=sm_90 -I cuda $SRC -o $B/kc90 > "$OUT/build90.log" 2>&1 &
nvcc -std=c++17 -O3 -gencode arch=compute_75,code=compute_75 -I cuda $SRC -o $B/kc75 > "$OUT/build75.log" 2>&1 &
# A/B: the large tensor-core tile without the 2-blocks-per-SM register cap.
nvcc -std=c++17 -O3 -arch=sm_90 -DGERM_TC_LARGE_MIN_BLOCKS=1 -I cuda $SRC -o $B/kc90_mb1 > "$OUT/build90_mb1.log" 2>&1 &
wait
cat "$OUT"/build*.log
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
( timeout 200 $SAN --tool memcheck --leak-check full $B/kc90 --small > "$OUT/memcheck.log" 2>&1; echo "memcheck rc $?" >> "$OUT/memcheck.log" ) &
( timeout 200 $SAN --tool racecheck $B/kc90 --small > "$OUT/racecheck.log" 2>&1; echo "racecheck rc $?" >> "$OUT/racecheck.log" ) &
timeout 120 $B/kc90 > "$OUT/check_sm90.log" 2>&1; echo "sm90 rc $?" >> "$OUT/check_sm90.log"
timeout 100 $B/kc75 > "$OUT/check_compute75.log" 2>&1; echo "compute75 rc $?" >> "$OUT/check_compute75.log"
wait
# Timings on a quiet GPU (the runs above share it with the sanitizers).
timeout 30 $B/kc90 --time > "$OUT/time_sm90.log" 2>&1; echo "rc $?" >> "$OUT/time_sm90.log"
timeout 30 $B/kc90_mb1 --time > "$OUT/time_sm90_minblocks1.log" 2>&1; echo "rc $?" >> "$OUT/time_sm90_minblocks1.log"
timeout 40 $B/kc75 --time > "$OUT/time_compute75.log" 2>&1; echo "rc $?" >> "$OUT/time_compute75.log"
for f in check_sm90 check_compute75; do echo "== $f"; grep -E "^FAIL|device|failure|rc " "$OUT/$f.log"; done
for f in time_sm90 time_sm90_minblocks1 time_compute75; do echo "== $f"; grep -E "^(FAIL|time)|failure|rc " "$OUT/$f.log"; done
for f in memcheck racecheck; do echo "== $f"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|failure|rc |Error" "$OUT/$f.log" | head -8; done
