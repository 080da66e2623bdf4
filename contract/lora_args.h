// Contract of the LoRA merge (cuda/lora/lora_merge.cu and cpp/cpu/lora_merge.cc),
// plain C++ so the CPU-only build includes it too.
//
//   W[i, j] = round(scale * acc[i, j] + W[i, j]),  acc[i, j] = sum_k B[i, k] A[k, j]
//
// in f32: acc summed over k = 0 .. r-1 in that order, then one rounding into
// W's dtype (what matmulInto(W, B, A, {alpha: scale, beta: 1}) computes).
// W [out, in] has unit column stride and row stride ldw >= in; A [r, in] and
// B [out, r] are contiguous, W's dtype, and do not overlap W.
#pragma once
#include <cstdint>
#include "kernel_types.h"

namespace germ::kernels {

constexpr int64_t kLoraMaxRank = 128;

struct LoraMergeArgs {
  KDType dtype = KDType::F32;  // f32, f16 or bf16
  void* w = nullptr;
  int64_t ldw = 0;
  const void* a = nullptr;  // [r, in]
  const void* b = nullptr;  // [out, r]
  int64_t out = 0, in = 0, r = 0;
  float scale = 1.f;
};

}  // namespace germ::kernels
