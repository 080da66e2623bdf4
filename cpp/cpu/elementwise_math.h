// The f32 scalar math of every UnaryOp and BinaryOp, in one place.
//
// Both backends compute elementwise ops in f32 and round once into the output;
// these are the CPU's f32 formulas. NaN propagates through every op the way
// PyTorch's does (relu, clamp, maximum and minimum included), which is why the
// comparisons below are written with NaN in mind.
#pragma once
#include <cmath>
#include "../../contract/kernel_types.h"

namespace germ::cpu {

// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), written with erfc: 1 + erf cancels
// for x << 0 (gelu(-4) ~ -1e-4 would keep ~3 digits), erfc(-x / sqrt 2) is the
// same quantity without the cancellation (the CUDA kernels do the same).
inline float gelu_erf(float x) { return 0.5f * x * std::erfc(-x * 0.70710678118654752f); }

template <kernels::UnaryOp Op>
inline float unary_math(float x, float alpha, float beta) {
  using U = kernels::UnaryOp;
  if constexpr (Op == U::Identity) return x;
  else if constexpr (Op == U::Affine) return alpha * x + beta;
  else if constexpr (Op == U::Neg) return -x;
  else if constexpr (Op == U::Abs) return std::fabs(x);
  else if constexpr (Op == U::Exp) return std::exp(x);
  else if constexpr (Op == U::Log) return std::log(x);
  else if constexpr (Op == U::Sqrt) return std::sqrt(x);
  else if constexpr (Op == U::Rsqrt) return 1.0f / std::sqrt(x);
  else if constexpr (Op == U::Recip) return 1.0f / x;
  else if constexpr (Op == U::Square) return x * x;
  else if constexpr (Op == U::Tanh) return std::tanh(x);
  else if constexpr (Op == U::Sigmoid) return 1.0f / (1.0f + std::exp(-x));
  else if constexpr (Op == U::Relu) return x < 0.0f ? 0.0f : x;  // NaN stays NaN
  else if constexpr (Op == U::Silu) return x / (1.0f + std::exp(-x));
  else if constexpr (Op == U::Gelu) return gelu_erf(x);
  else if constexpr (Op == U::GeluTanh) {
    constexpr float kSqrt2OverPi = 0.79788456080286536f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
  }
  else if constexpr (Op == U::PowScalar) return std::pow(x, alpha);
  else if constexpr (Op == U::ClampScalar) {
    float lo = x < alpha ? alpha : x;  // NaN x stays NaN
    return beta < lo ? beta : lo;
  }
}

template <kernels::BinaryOp Op>
inline float binary_math(float a, float b) {
  using B = kernels::BinaryOp;
  if constexpr (Op == B::Add) return a + b;
  else if constexpr (Op == B::Sub) return a - b;
  else if constexpr (Op == B::Mul) return a * b;
  else if constexpr (Op == B::Div) return a / b;
  else if constexpr (Op == B::Maximum) return (a != a || b != b) ? a + b : (a < b ? b : a);
  else if constexpr (Op == B::Minimum) return (a != a || b != b) ? a + b : (b < a ? b : a);
  else if constexpr (Op == B::Pow) return std::pow(a, b);
}

}  // namespace germ::cpu
