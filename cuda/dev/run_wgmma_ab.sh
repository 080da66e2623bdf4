#!/bin/bash
# A/B of the Hopper GEMM variants at the encoder's shapes, timed with CUDA
# events (no Node in the loop): kernel_check built with the sm_90a wgmma kernel
# once per GERM_WGMMA_FORCE (0 = the dispatcher's choice, 1 = cooperative
# 128x128, 2 = cooperative 128x256, 3 = ping-pong 128x128), plus the mma.sync
# build (no sm_90a). Logs in ${OUT:-/tmp/wgmma_ab}.
set -u
OUT=${OUT:-/tmp/wgmma_ab}; mkdir -p "$OUT"
SRC="cuda/dev/kernel_check.cu cuda/elementwise/elementwise.cu cuda/reduce/reduce.cu cuda/gemm/gemm_dispatch.cu cuda/norm/layernorm.cu cuda/embedding/embedding.cu cuda/common/device_info.cu"
B=/tmp/wgmma_ab; mkdir -p $B
for f in 0 1 2 3; do
  ( nvcc -std=c++17 -O3 --expt-relaxed-constexpr -gencode=arch=compute_90a,code=sm_90a -DGERM_WGMMA_FORCE=$f \
      -I. -c cuda/gemm/gemm_wgmma_sm90a.cu -o $B/wgmma$f.o &&
    nvcc -std=c++17 -O3 -arch=sm_90 -DGERM_HAVE_SM90A=1 -I cuda $SRC $B/wgmma$f.o -o $B/kc$f ) > "$OUT/build$f.log" 2>&1 &
done
nvcc -std=c++17 -O3 -arch=sm_90 -I cuda $SRC -o $B/kcmma > "$OUT/build_mma.log" 2>&1 &
wait
for f in 0 1 2 3 mma; do
  echo "== variant $f"; timeout 60 $B/kc$f --encoder-gemms 2>&1 | grep -E "^(FAIL|time)|failure"
done
