// Integer GEMM (W8A8 / W6A6 / W4A4) and per-token activation quantization
// on the CPU (contract: cuda/qgemm/qgemm_args.h). The dot products are exact int32 sums (integer
// addition is associative, so the compiler may vectorise them freely and the
// result still equals the CUDA kernel's bit for bit); the rescale is
// qgemm_math.h's, shared with the kernels.
//
// Parallel over output tiles of kMB rows x kNB weight rows: a tile's kNB
// weight rows (kNB * k bytes, 48 KiB at k = 768) stay in L2 while its kMB
// token rows stream past them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../contract/qgemm_math.h"
#include "dtype_access.h"
#include "ops.h"
#include "qgemm_epilogue.h"
#include "thread_pool.h"

namespace germ::cpu {

namespace {

constexpr int64_t kMB = 16, kNB = 64;

int32_t dot_i8(const int8_t* a, const int8_t* b, int64_t k) {
  int32_t s = 0;
  for (int64_t i = 0; i < k; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}

}  // namespace

void quantize_tokens(const kernels::TokenQuantArgs& a) {
  if (a.rows <= 0 || a.cols <= 0) return;
  const kernels::QRange range = kernels::quant_range(a.bits, true);
  parallel_for(a.rows, std::max<int64_t>(1, (64 << 10) / a.cols), [&](int64_t begin, int64_t end) {
    std::vector<float> v(static_cast<size_t>(a.cols));
    for (int64_t r = begin; r < end; ++r) {
      load_as_float(a.x_dtype, a.x, r * a.cols, a.cols, v.data());
      if (a.smooth)
        for (int64_t c = 0; c < a.cols; ++c) v[c] /= a.smooth[c];
      // fmin / fmax skip NaN, like quantize() and the kernel's fminf / fmaxf
      float mn = std::numeric_limits<float>::infinity(), mx = -mn;
      for (int64_t c = 0; c < a.cols; ++c) {
        mn = std::fmin(mn, v[c]);
        mx = std::fmax(mx, v[c]);
      }
      const kernels::QParams p = kernels::quant_params(mn, mx, 1.f, a.bits, true);
      a.scale[r] = p.scale;
      if (a.bits == 4) {
        uint8_t* q = static_cast<uint8_t*>(a.q) + r * ((a.cols + 1) / 2);
        for (int64_t c = 0; c < a.cols; c += 2)
          q[c / 2] = kernels::pack_nibbles(kernels::quant_code(v[c], p, range),
                                           c + 1 < a.cols ? kernels::quant_code(v[c + 1], p, range) : 0);
      } else {
        int8_t* q = static_cast<int8_t*>(a.q) + r * a.cols;
        for (int64_t c = 0; c < a.cols; ++c) q[c] = static_cast<int8_t>(kernels::quant_code(v[c], p, range));
      }
    }
  });
}

namespace {

// rows x k codes as plain int8 (W4A4's nibbles unpacked; the int8 loop then
// serves both, and sums are exact either way).
std::vector<int8_t> unpack_rows(const int8_t* packed, int64_t rows, int64_t k) {
  std::vector<int8_t> out(static_cast<size_t>(rows * k));
  const int64_t stride = (k + 1) / 2;
  parallel_for(rows, std::max<int64_t>(1, (64 << 10) / std::max<int64_t>(k, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t c = 0; c < k; ++c) out[r * k + c] = static_cast<int8_t>(kernels::int_code(packed + r * stride, c, 4));
  });
  return out;
}

}  // namespace

void qgemm_int(const kernels::IntGemmArgs& a_in) {
  if (a_in.m <= 0 || a_in.n <= 0) return;
  kernels::IntGemmArgs a = a_in;
  std::vector<int8_t> xu, wu;
  if (a.bits == 4) {
    xu = unpack_rows(a.xq, a.m, a.k);
    wu = unpack_rows(a.wq, a.n, a.k);
    a.xq = xu.data();
    a.wq = wu.data();
  }
  const int64_t tiles_m = (a.m + kMB - 1) / kMB, tiles_n = (a.n + kNB - 1) / kNB;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 20) / (kMB * kNB * std::max<int64_t>(a.k, 1)));
  const bool raw = a.ep.out_dtype == KDType::I32;
  parallel_for(tiles_m * tiles_n, grain, [&](int64_t begin, int64_t end) {
    float v[kNB];
    int32_t acc[kNB];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t i0 = (t % tiles_m) * kMB, j0 = (t / tiles_m) * kNB;
      const int64_t mb = std::min(kMB, a.m - i0), nb = std::min(kNB, a.n - j0);
      for (int64_t i = i0; i < i0 + mb; ++i) {
        for (int64_t j = 0; j < nb; ++j) acc[j] = dot_i8(a.xq + i * a.k, a.wq + (j0 + j) * a.k, a.k);
        if (raw) {
          std::copy(acc, acc + nb, static_cast<int32_t*>(a.ep.y) + i * a.n + j0);
          continue;
        }
        for (int64_t j = 0; j < nb; ++j) v[j] = kernels::int_rescale(acc[j], a.sx[i], a.sw[(j0 + j) * a.sw_stride]);
        store_epilogue(a.ep, a.n, i, j0, v, nb);
      }
    }
  });
}

}  // namespace germ::cpu
