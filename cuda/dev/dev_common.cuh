// Shared by the standalone kernel harnesses in cuda/dev/ (llm.c's dev/cuda
// style): a fatal CUDA check (fine in a harness, never in the addon) and a host
// buffer of any element type that rounds exactly like the kernels do.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "../../contract/kernel_types.h"

using namespace germ::kernels;

#define CHECK_CUDA(x)                                                                            \
  do {                                                                                           \
    cudaError_t e_ = (x);                                                                        \
    if (e_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));    \
      std::exit(100);                                                                            \
    }                                                                                            \
  } while (0)

struct HostBuf {
  KDType dt;
  int64_t n;
  std::vector<uint8_t> bytes;
  HostBuf(KDType d, int64_t count) : dt(d), n(count), bytes(size_t(count * kdtype_size(d)) + 16) {}
  double get(int64_t i) const {
    const uint8_t* p = bytes.data() + i * kdtype_size(dt);
    switch (dt) {
      case KDType::F32: { float v; std::memcpy(&v, p, 4); return v; }
      case KDType::F16: { __half v; std::memcpy(&v, p, 2); return __half2float(v); }
      case KDType::BF16: { __nv_bfloat16 v; std::memcpy(&v, p, 2); return __bfloat162float(v); }
      case KDType::I8: return double(int8_t(*p));
      case KDType::U8: return double(*p);
      case KDType::I32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    }
    return 0;
  }
  // Rounds like the kernels: f32 first, then the element type (ints: nearest
  // even, saturating, NaN -> 0).
  void set(int64_t i, double x) {
    uint8_t* p = bytes.data() + i * kdtype_size(dt);
    const float f = float(x);
    auto to_int = [](float v, double lo, double hi) -> double {
      if (std::isnan(v)) return 0;
      return std::fmin(std::fmax(std::nearbyint(double(v)), lo), hi);
    };
    switch (dt) {
      case KDType::F32: std::memcpy(p, &f, 4); break;
      case KDType::F16: { __half h = __float2half_rn(f); std::memcpy(p, &h, 2); break; }
      case KDType::BF16: { __nv_bfloat16 h = __float2bfloat16_rn(f); std::memcpy(p, &h, 2); break; }
      case KDType::I8: *p = uint8_t(int8_t(to_int(f, -128, 127))); break;
      case KDType::U8: *p = uint8_t(to_int(f, 0, 255)); break;
      case KDType::I32: { int32_t v = int32_t(to_int(f, -2147483648.0, 2147483520.0)); std::memcpy(p, &v, 4); break; }
    }
  }
  void fill_uniform(std::mt19937_64& rng, double lo, double hi) {
    std::uniform_real_distribution<double> u(lo, hi);
    for (int64_t i = 0; i < n; ++i) set(i, u(rng));
  }
  size_t nbytes() const { return size_t(n * kdtype_size(dt)); }
};

// Device memory with 256 zeroed bytes of slack past `bytes`, for vector reads
// that run past the last element.
struct DevBuf {
  void* p = nullptr;
  size_t bytes = 0;
  explicit DevBuf(size_t b) : bytes(b) { CHECK_CUDA(cudaMalloc(&p, b + 256)); CHECK_CUDA(cudaMemset(p, 0, b + 256)); }
  ~DevBuf() { cudaFree(p); }
  DevBuf(const DevBuf&) = delete;
  template <class T = void> T* as(int64_t byte_offset = 0) const { return reinterpret_cast<T*>(static_cast<uint8_t*>(p) + byte_offset); }
};
