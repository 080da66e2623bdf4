#!/usr/bin/env bash
# The GPU test path, run on a machine with a CUDA GPU (the project's device
# machine: CUDA and CMake there, Node carried in by ../shared/tools/device-pack).
#
#   here:   ../shared/tools/device-pack        (packs node + node_modules into .device/)
#   there:  source .device/env.sh && npm run test:device
#
# Steps, each logged under $OUT (or ./device-out):
#   1. build the addon for the local GPU's architecture (native SASS) and run
#      the whole suite: CPU and CUDA cases, the CUDA ones against the CPU backend;
#   2. compute-sanitizer memcheck and racecheck over the CUDA cases;
#   3. rebuild as compute_75 PTX only (75-virtual), which the driver JIT-compiles,
#      so the sm_75 (RTX 2080 Ti) code paths run on this GPU, and run the CUDA cases;
#   4. the bench, on the native build.
# GERM_DEVICE_STEPS picks steps (default "test,sanitize,sm75"; add "bench").
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-device-out}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH
arch=${GERM_DEVICE_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)}
steps=${GERM_DEVICE_STEPS:-test,sanitize,sm75}
want() { [[ ",$steps," == *",$1,"* ]]; }
status=0
log() { echo "== $*" | tee -a "$out/summary.txt"; }
summarize() { node -e "const r=require(require('path').resolve('$1')); console.log('$2: ' + r.numPassedTests + ' passed, ' + r.numFailedTests + ' failed, ' + r.numPendingTests + ' skipped')" | tee -a "$out/summary.txt"; }

# vitest through node: the device machine has node (from device-pack) but may lack npm/npx.
vitest=(node node_modules/vitest/vitest.mjs)
log "GPU: $(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader)"
[ -d dist ] || node node_modules/tsup/dist/cli-default.js >/dev/null

log "build sm_$arch"
GERM_CUDA=on GERM_CUDA_ARCHS=$arch node scripts/build-native.js > "$out/build-native.log" 2>&1 || { log "build failed"; tail -30 "$out/build-native.log"; exit 1; }
if want test; then
  "${vitest[@]}" run --reporter=json --outputFile="$out/tests-native.json" > "$out/tests-native.log" 2>&1 || status=1
  summarize "$out/tests-native.json" "tests sm_$arch"
fi

cuda_only=(-t 'cuda:0')
want sanitize && for tool in memcheck racecheck; do
  log "compute-sanitizer $tool"
  compute-sanitizer --tool "$tool" --target-processes all --error-exitcode 86 --print-limit 20 \
    "${vitest[@]}" run --pool=forks --maxWorkers=1 "${cuda_only[@]}" test/elementwise.test.ts test/reduce.test.ts \
    test/matmul.test.ts test/layernorm.test.ts test/tensor.test.ts test/attention.test.ts \
    test/encoder_ops.test.ts test/encoder_model.test.ts test/quant.test.ts test/stats.test.ts test/lora.test.ts test/qgemm.test.ts \
    test/findings_native.test.ts > "$out/sanitizer-$tool.log" 2>&1
  rc=$?
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Tests " "$out/sanitizer-$tool.log" | tee -a "$out/summary.txt"
  [ $rc -eq 0 ] || { status=1; log "$tool exit $rc"; }
done

if want bench; then
  log "bench (sm_$arch build)"
  node --expose-gc dist/bench.js ${GERM_BENCH_ARGS:-} > "$out/bench.txt" 2> "$out/bench.err" || status=1
  cat "$out/bench.txt" | tee -a "$out/summary.txt"
fi

want sm75 || exit $status
log "build compute_75 PTX only (the sm_75 paths, JIT-compiled by the driver)"
GERM_CUDA=on GERM_CUDA_ARCHS=75-virtual node scripts/build-native.js > "$out/build-75.log" 2>&1 || { log "75-virtual build failed"; exit 1; }
"${vitest[@]}" run "${cuda_only[@]}" --reporter=json --outputFile="$out/tests-sm75.json" > "$out/tests-sm75.log" 2>&1 || status=1
summarize "$out/tests-sm75.json" "tests compute_75 PTX"
exit $status
