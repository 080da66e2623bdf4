// Uniform quantize / dequantize on the CPU (contract and arithmetic:
// cuda/quant/quant_math.h, shared with the CUDA kernels so codes agree
// exactly). Scale groups (rows, or groups along a row) are independent, so
// they are spread over the pool; the Tensor grain first folds the whole
// tensor's min/max in parallel (exact, so order does not matter).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dtype_access.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {

using kernels::QParams;
using kernels::QuantGrain;

namespace {

struct MinMax {
  float mn = std::numeric_limits<float>::infinity(), mx = -std::numeric_limits<float>::infinity();
  void add(const float* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      mn = std::fmin(mn, v[i]);  // fmin/fmax skip NaN, like the kernels' fminf/fmaxf
      mx = std::fmax(mx, v[i]);
    }
  }
};

MinMax tensor_minmax(KDType dt, const void* x, int64_t n) {
  const int64_t chunk = 1 << 16, nchunks = (n + chunk - 1) / chunk;
  std::vector<MinMax> part(static_cast<size_t>(nchunks));
  parallel_for(nchunks, 1, [&](int64_t begin, int64_t end) {
    float buf[kBlock];
    for (int64_t c = begin; c < end; ++c)
      for (int64_t i = c * chunk; i < std::min(n, (c + 1) * chunk); i += kBlock) {
        const int64_t m = std::min(kBlock, n - i);
        load_as_float(dt, x, i, m, buf);
        part[c].add(buf, m);
      }
  });
  MinMax all;
  for (const MinMax& p : part) {
    all.mn = std::fmin(all.mn, p.mn);
    all.mx = std::fmax(all.mx, p.mx);
  }
  return all;
}

// Codes of one segment of `len` values (v) into row r at column c0.
void write_codes(const kernels::QuantArgs& a, const float* v, int64_t len, int64_t r, int64_t c0, QParams p) {
  const kernels::QRange range = kernels::quant_range(a.bits, a.symmetric);
  if (a.bits == 4) {
    uint8_t* q = static_cast<uint8_t*>(a.q) + r * ((a.cols + 1) / 2) + c0 / 2;
    for (int64_t j = 0; 2 * j < len; ++j) {
      const int lo = kernels::quant_code(v[2 * j], p, range);
      const int hi = 2 * j + 1 < len ? kernels::quant_code(v[2 * j + 1], p, range) : 0;
      q[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
    }
  } else if (a.symmetric) {
    int8_t* q = static_cast<int8_t*>(a.q) + r * a.cols + c0;
    for (int64_t j = 0; j < len; ++j) q[j] = static_cast<int8_t>(kernels::quant_code(v[j], p, range));
  } else {
    uint8_t* q = static_cast<uint8_t*>(a.q) + r * a.cols + c0;
    for (int64_t j = 0; j < len; ++j) q[j] = static_cast<uint8_t>(kernels::quant_code(v[j], p, range));
  }
}

}  // namespace

void quantize(const kernels::QuantArgs& a) {
  if (a.rows <= 0 || a.cols <= 0) return;
  const bool given = a.grain == QuantGrain::Tensor;
  QParams fixed{1.f, 0.f};
  if (given) {
    const MinMax m = tensor_minmax(a.x_dtype, a.x, a.rows * a.cols);
    fixed = kernels::quant_params(m.mn, m.mx, a.clip ? a.clip[0] : a.clip_scalar, a.bits, a.symmetric);
    a.scale[0] = fixed.scale;
    if (a.zero) a.zero[0] = fixed.zero;
  }
  const int64_t seg_len = a.grain == QuantGrain::Group ? a.group : a.cols;
  const int64_t segs_per_row = a.cols / seg_len, n_segs = a.rows * segs_per_row;
  const int64_t grain = std::max<int64_t>(1, (64 << 10) / seg_len);
  parallel_for(n_segs, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> v(static_cast<size_t>(seg_len));
    for (int64_t s = begin; s < end; ++s) {
      const int64_t r = s / segs_per_row, c0 = (s % segs_per_row) * seg_len;
      load_as_float(a.x_dtype, a.x, r * a.cols + c0, seg_len, v.data());
      QParams p = fixed;
      if (!given) {
        MinMax m;
        m.add(v.data(), seg_len);
        p = kernels::quant_params(m.mn, m.mx, a.clip ? a.clip[s] : a.clip_scalar, a.bits, a.symmetric);
        a.scale[s] = p.scale;
        if (a.zero) a.zero[s] = p.zero;
      }
      write_codes(a, v.data(), seg_len, r, c0, p);
    }
  });
}

void dequantize(const kernels::DequantArgs& a) {
  if (a.rows <= 0 || a.cols <= 0) return;
  const int64_t qcols = a.bits == 4 ? (a.cols + 1) / 2 : a.cols;
  parallel_for(a.rows, std::max<int64_t>(1, (64 << 10) / a.cols), [&](int64_t begin, int64_t end) {
    float buf[kBlock];
    for (int64_t r = begin; r < end; ++r)
      for (int64_t c0 = 0; c0 < a.cols; c0 += kBlock) {
        const int64_t m = std::min(kBlock, a.cols - c0);
        for (int64_t j = 0; j < m; ++j) {
          const int64_t c = c0 + j;
          int code;
          if (a.bits == 4)
            code = kernels::unpack_nibble(static_cast<const uint8_t*>(a.q)[r * qcols + c / 2], int(c & 1), a.symmetric);
          else if (a.symmetric)
            code = static_cast<const int8_t*>(a.q)[r * a.cols + c];
          else
            code = static_cast<const uint8_t*>(a.q)[r * a.cols + c];
          const int64_t si = kernels::scale_index(a.grain, r, c, a.cols, a.group);
          buf[j] = kernels::dequant_value(code, {a.scale[si], a.zero ? a.zero[si] : 0.f});
        }
        store_from_float(a.out_dtype, buf, a.out, r * a.cols + c0, m);
      }
  });
}

}  // namespace germ::cpu
