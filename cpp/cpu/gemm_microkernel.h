// The GEMM register-blocked micro-kernel: one kMR x kNR tile of C from packed
// panels (see gemm_pack.h for their layout).
#pragma once
#include <cstdint>

namespace germ::cpu {

// 6 x 16 f32 accumulators are 12 AVX2 registers; with 2 for the B row and 1
// for the broadcast A value that is 15 of the 16 ymm registers, the classic
// Haswell/Zen BLIS shape (MR=6, NR=16).
constexpr int64_t kMR = 6;
constexpr int64_t kNR = 16;

// c[i * ldc + j] (+)= sum_p a[p * kMR + i] * b[p * kNR + j] for the full 6 x 16
// tile; `accumulate` false overwrites c, true adds to it. a and b are packed
// and zero-padded, so edges need no special case.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             bool accumulate);

// The best kernel for this CPU, chosen once at first use: AVX2+FMA when the CPU
// has both, otherwise a baseline x86-64 (SSE2) build of the same code.
// GERM_CPU_ISA=generic forces the baseline (to test it on an AVX2 machine).
MicroKernel gemm_microkernel();

// Which kernel gemm_microkernel() picked: "avx2+fma" or "generic".
const char* gemm_microkernel_name();

}  // namespace germ::cpu
