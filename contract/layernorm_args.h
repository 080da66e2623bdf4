// Arguments of LayerNorm over the last dim (cuda/norm, cpp/cpu/layernorm.cc):
// x, out, dout, dx contiguous [rows, cols] of dt; weight, bias [cols] of dt;
// mean, rstd f32 [rows].
#pragma once
#include <cstdint>
#include "kernel_types.h"

namespace germ::kernels {

// residual: null, or [rows, cols] added to x first (round(x + residual) is
// normalised: addLayerNorm). mean and rstd are written for the backward.
struct LayerNormArgs {
  KDType dt = KDType::F32;
  void* out = nullptr;
  float* mean = nullptr;
  float* rstd = nullptr;
  const void* x = nullptr;
  const void* residual = nullptr;
  const void* weight = nullptr;
  const void* bias = nullptr;
  int64_t rows = 0, cols = 0;
  float eps = 0.f;
};

// dweight, dbias: f32 [cols], overwritten.
struct LayerNormGradArgs {
  KDType dt = KDType::F32;
  void* dx = nullptr;
  float* dweight = nullptr;
  float* dbias = nullptr;
  const void* dout = nullptr;
  const void* x = nullptr;
  const void* weight = nullptr;
  const float* mean = nullptr;
  const float* rstd = nullptr;
  int64_t rows = 0, cols = 0;
};

}  // namespace germ::kernels
