// NF4 blockwise quantization with QLoRA double quantization on the CPU
// (contract and arithmetic: cuda/quant/quant_math.h, shared with
// cuda/quant/nf4.cu; the mean follows the kernel's summation order, so the
// stored bytes agree exactly).
#include <algorithm>
#include <cmath>
#include <vector>

#include "dtype_access.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {

namespace {

// The order of nf4.cu's mean_kernel: kMeanThreads strided partial sums, halving tree.
float deterministic_mean(const float* v, int64_t n) {
  double part[kernels::kMeanThreads];
  for (int t = 0; t < kernels::kMeanThreads; ++t) {
    double s = 0.0;
    for (int64_t i = t; i < n; i += kernels::kMeanThreads) s += double(v[i]);
    part[t] = s;
  }
  for (int half = kernels::kMeanThreads / 2; half > 0; half /= 2)
    for (int t = 0; t < half; ++t) part[t] += part[t + half];
  return float(part[0] / double(n));
}

void double_quantize(const kernels::Nf4Args& a, int64_t nblocks) {
  const float off = deterministic_mean(a.absmax, nblocks);
  a.offset[0] = off;
  const kernels::DynamicMap map = kernels::make_dynamic_map();
  const int64_t ngroups = (nblocks + kernels::kDoubleQuantBlock - 1) / kernels::kDoubleQuantBlock;
  parallel_for(ngroups, 64, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      const int64_t i0 = g * kernels::kDoubleQuantBlock, len = std::min(kernels::kDoubleQuantBlock, nblocks - i0);
      float m = 0.f;
      for (int64_t j = 0; j < len; ++j) m = std::fmax(m, std::fabs(a.absmax[i0 + j] - off));
      a.absmax2[g] = m;
      const float inv = kernels::inv_absmax(m);
      for (int64_t j = 0; j < len; ++j) {
        const float v = std::fmin(std::fmax(kernels::mul_rn(a.absmax[i0 + j] - off, inv), -1.f), 1.f);
        a.qabsmax[i0 + j] = static_cast<uint8_t>(kernels::dynamic_code(map.v, v));
      }
    }
  });
}

}  // namespace

void nf4_quantize(const kernels::Nf4Args& a) {
  if (a.n <= 0) return;
  const int64_t nblocks = (a.n + a.block - 1) / a.block;
  parallel_for(nblocks, std::max<int64_t>(1, (64 << 10) / a.block), [&](int64_t begin, int64_t end) {
    std::vector<float> v(static_cast<size_t>(a.block));
    for (int64_t b = begin; b < end; ++b) {
      const int64_t i0 = b * a.block, len = std::min(a.block, a.n - i0);
      load_as_float(a.dtype, a.x, i0, len, v.data());
      float m = 0.f;
      for (int64_t j = 0; j < len; ++j) m = std::fmax(m, std::fabs(v[j]));
      a.absmax[b] = m;
      const float inv = kernels::inv_absmax(m);
      for (int64_t j = 0; j < len; j += 2) {
        const int lo = kernels::nf4_code(kernels::mul_rn(v[j], inv));
        const int hi = j + 1 < len ? kernels::nf4_code(kernels::mul_rn(v[j + 1], inv)) : 0;
        a.codes[(i0 + j) / 2] = static_cast<uint8_t>(lo | (hi << 4));
      }
    }
  });
  if (a.qabsmax) double_quantize(a, nblocks);
}

void nf4_dequantize(const kernels::Nf4Args& a) {
  if (a.n <= 0) return;
  const kernels::DynamicMap map = kernels::make_dynamic_map();
  float nf4[16];
  for (int k = 0; k < 16; ++k) nf4[k] = kernels::nf4_value(k);
  const int64_t nchunks = (a.n + kBlock - 1) / kBlock;
  parallel_for(nchunks, 16, [&](int64_t begin, int64_t end) {
    float buf[kBlock];
    for (int64_t ch = begin; ch < end; ++ch) {
      const int64_t i0 = ch * kBlock, m = std::min(kBlock, a.n - i0);
      for (int64_t j = 0; j < m; ++j) {
        const int64_t i = i0 + j, b = i / a.block;
        const float am = a.qabsmax ? kernels::add_rn(kernels::mul_rn(map.v[a.qabsmax[b]],
                                                                     a.absmax2[b / kernels::kDoubleQuantBlock]),
                                                     a.offset[0])
                                   : a.absmax[b];
        buf[j] = kernels::mul_rn(nf4[(a.codes[i / 2] >> (4 * (i & 1))) & 15], am);
      }
      store_from_float(a.dtype, buf, a.out, i0, m);
    }
  });
}

}  // namespace germ::cpu
