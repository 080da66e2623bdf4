// Dev harness for the cuda/ kernels (llm.c's dev/cuda style): every launcher
// against a float64 CPU reference on random inputs, odd shapes included, plus a
// few timing lines. Not part of the addon build.
//
//   nvcc -std=c++17 -O3 -arch=sm_90 -I cuda cuda/dev/kernel_check.cu \
//        cuda/elementwise/elementwise.cu cuda/reduce/reduce.cu \
//        cuda/gemm/gemm_dispatch.cu cuda/norm/layernorm.cu cuda/embedding/embedding.cu cuda/common/device_info.cu \
//        -o kernel_check
//   ./kernel_check            # everything, with timings
//   ./kernel_check --small    # small sizes only (for compute-sanitizer)
//   ./kernel_check --encoder-gemms   # x @ W^T at the encoder's shapes (cuda/dev/run_wgmma_ab.sh)
//
// Each check prints max abs error and max scaled error |got - ref| / (|ref| +
// scale) against its tolerance; the exit status is the number of failures.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>
#include <string>
#include <vector>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "dev_common.cuh"
#include "elementwise/elementwise.h"
#include "embedding/embedding.h"
#include "gemm/gemm.h"
#include "norm/layernorm.h"
#include "reduce/reduce.h"

using namespace germ::kernels;


static bool g_small = false;
static bool g_time_only = false;
static bool g_encoder_gemms = false;
static int g_failures = 0;
static std::mt19937_64 g_rng(1234);

// ---- host tensors of any KDType ------------------------------------------------------



static void upload(const DevBuf& d, const HostBuf& h, int64_t byte_offset = 0) {
  CHECK_CUDA(cudaMemcpy(d.as(byte_offset), h.bytes.data(), h.nbytes(), cudaMemcpyHostToDevice));
}
static void download(HostBuf& h, const DevBuf& d, int64_t byte_offset = 0) {
  CHECK_CUDA(cudaMemcpy(h.bytes.data(), d.as(byte_offset), h.nbytes(), cudaMemcpyDeviceToHost));
}

static const char* dtname(KDType t) {
  static const char* names[] = {"f32", "f16", "bf16", "i8", "i32", "u8"};
  return names[int(t)];
}

// Output rounding of each dtype, used as the relative tolerance floor.
static double eps_of(KDType t) {
  switch (t) {
    case KDType::F32: return 1.2e-7;
    case KDType::F16: return 9.8e-4;
    case KDType::BF16: return 7.9e-3;
    default: return 0;
  }
}

// Compare got[i] with ref[i] (i over `count` positions given by `at`). The scaled
// error is |got - ref| / (|ref| + scale); pass if it is <= tol everywhere. NaN and
// infinities must match exactly.
template <class At>
static void validate(const std::string& name, const HostBuf& got, const std::vector<double>& ref, int64_t count,
                     double scale, double tol, At at) {
  double max_abs = 0, max_scaled = 0;
  int64_t bad = -1;
  for (int64_t j = 0; j < count; ++j) {
    const int64_t i = at(j);
    const double g = got.get(i), r = ref[j];
    if (std::isnan(r) || std::isinf(r) || std::isnan(g) || std::isinf(g)) {
      const bool same = (std::isnan(r) && std::isnan(g)) || (g == r);
      if (!same && bad < 0) bad = i;
      if (!same) max_scaled = INFINITY;
      continue;
    }
    const double a = std::fabs(g - r), s = a / (std::fabs(r) + scale);
    max_abs = std::fmax(max_abs, a);
    if (s > max_scaled) { max_scaled = s; if (s > tol && bad < 0) bad = i; }
  }
  const bool ok = max_scaled <= tol;
  if (!ok) ++g_failures;
  std::printf("%-4s %-58s max_abs %.3e  scaled %.3e  (tol %.1e)", ok ? "ok" : "FAIL", name.c_str(), max_abs,
              max_scaled, tol);
  if (!ok && bad >= 0) std::printf("  first bad at %lld: got %.6g", (long long)bad, got.get(bad));
  std::printf("\n");
}
static void validate(const std::string& name, const HostBuf& got, const std::vector<double>& ref, double scale,
                     double tol) {
  validate(name, got, ref, int64_t(ref.size()), scale, tol, [](int64_t j) { return j; });
}

static StridedIndex contiguous(int64_t n) {
  StridedIndex s;
  s.ndim = 1; s.shape[0] = n; s.stride[0][0] = 1; s.stride[1][0] = 1;
  return s;
}

// ---- elementwise ----------------------------------------------------------------------

static double ref_unary(UnaryOp op, double x, double a, double b) {
  switch (op) {
    case UnaryOp::Identity: return x;
    case UnaryOp::Affine: return a * x + b;
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Rsqrt: return 1 / std::sqrt(x);
    case UnaryOp::Recip: return 1 / x;
    case UnaryOp::Square: return x * x;
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::Relu: return x < 0 ? 0 : x;
    case UnaryOp::Silu: return x / (1 + std::exp(-x));
    case UnaryOp::Gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case UnaryOp::GeluTanh: return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case UnaryOp::PowScalar: return std::pow(x, a);
    case UnaryOp::ClampScalar: return std::fmin(std::fmax(x, a), b);
  }
  return x;
}
static double ref_binary(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Maximum: return std::fmax(a, b);
    case BinaryOp::Minimum: return std::fmin(a, b);
    case BinaryOp::Pow: return std::pow(a, b);
  }
  return a;
}

static void check_unary_ops() {
  const int64_t n = g_small ? 1003 : 1000003;
  const KDType pairs[][2] = {{KDType::F32, KDType::F32}, {KDType::F16, KDType::F16}, {KDType::BF16, KDType::F32},
                             {KDType::F32, KDType::BF16}};
  for (auto& pr : pairs) {
    for (int o = 0; o <= int(UnaryOp::ClampScalar); ++o) {
      const UnaryOp op = UnaryOp(o);
      const bool positive = op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::PowScalar;
      const float alpha = op == UnaryOp::PowScalar ? 1.7f : -0.5f, beta = 0.75f;
      HostBuf x(pr[0], n), y(pr[1], n);
      x.fill_uniform(g_rng, positive ? 0.05 : -4, 4);
      DevBuf dx(x.nbytes()), dy(y.nbytes());
      upload(dx, x);
      CHECK_CUDA(unary({op, pr[0], pr[1], dx.p, dy.p, contiguous(n), n, alpha, beta}, 0));
      download(y, dy);
      std::vector<double> ref(n);
      // The reference is rounded into the output dtype too (so overflow to inf
      // in f16 is expected), and errors are scaled by at least the dtype's
      // smallest normal (subnormal outputs keep only absolute precision).
      HostBuf r1(pr[1], 1);
      for (int64_t i = 0; i < n; ++i) { r1.set(0, ref_unary(op, x.get(i), alpha, beta)); ref[i] = r1.get(0); }
      // f32 math (expf, tanhf, erff, powf) is a few ulp; then one output rounding.
      const double tol = 2e-6 + eps_of(pr[1]);
      validate("unary op " + std::to_string(o) + " " + dtname(pr[0]) + "->" + dtname(pr[1]) + " n=" + std::to_string(n),
               y, ref, pr[1] == KDType::F16 ? 6.1e-5 : 1e-6, tol);
    }
  }
}

static void check_casts() {
  const KDType all[] = {KDType::F32, KDType::F16, KDType::BF16, KDType::I8, KDType::I32, KDType::U8};
  const int64_t n = 4099;
  for (KDType a : all) {
    for (KDType b : all) {
      HostBuf x(a, n), y(b, n);
      x.fill_uniform(g_rng, -400, 400);
      for (int64_t i = 0; i < 16; ++i) x.set(i, double(i) - 8.5);  // exact .5 ties: round to even
      std::vector<double> ref(n);
      for (int64_t i = 0; i < n; ++i) {
        HostBuf one(b, 1);
        one.set(0, x.get(i));  // the same f32 -> dtype rounding the kernels do (ints: saturate)
        ref[i] = one.get(0);
      }
      // Once aligned (vector path), once offset by one element (scalar path).
      for (int64_t off : {0, 1}) {
        DevBuf dx(x.nbytes() + 64), dy(y.nbytes() + 64);
        upload(dx, x, off * kdtype_size(a));
        CHECK_CUDA(unary({UnaryOp::Identity, a, b, dx.as(off * kdtype_size(a)), dy.as(off * kdtype_size(b)),
                          contiguous(n), n}, 0));
        download(y, dy, off * kdtype_size(b));
        validate(std::string("cast ") + dtname(a) + "->" + dtname(b) + (off ? " misaligned" : " aligned"), y, ref, 1e-30,
                 0);
      }
    }
  }
}

static void check_strided_and_broadcast() {
  // Transposed read: out [53, 37] from x [37, 53].
  {
    const int64_t R = 37, C = 53;
    HostBuf x(KDType::F16, R * C), y(KDType::F32, R * C);
    x.fill_uniform(g_rng, -2, 2);
    StridedIndex s;
    s.ndim = 2; s.shape[0] = C; s.shape[1] = R; s.stride[0][0] = 1; s.stride[0][1] = C;
    DevBuf dx(x.nbytes()), dy(y.nbytes());
    upload(dx, x);
    CHECK_CUDA(unary({UnaryOp::Silu, KDType::F16, KDType::F32, dx.p, dy.p, s, R * C}, 0));
    download(y, dy);
    std::vector<double> ref(R * C);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < R; ++r) ref[c * R + r] = ref_unary(UnaryOp::Silu, x.get(r * C + c), 0, 0);
    validate("unary silu transposed f16->f32 37x53", y, ref, 1e-6, 1e-6);
  }
  // Broadcast: a [7, 1, 13] op b [1, 5, 13] -> y [7, 5, 13], every op and float dtype.
  for (KDType dt : {KDType::F32, KDType::F16, KDType::BF16}) {
    for (int o = 0; o <= int(BinaryOp::Pow); ++o) {
      const int64_t D0 = 7, D1 = 5, D2 = 13, n = D0 * D1 * D2;
      HostBuf a(dt, D0 * D2), b(dt, D1 * D2), y(dt, n);
      a.fill_uniform(g_rng, 0.1, 3); b.fill_uniform(g_rng, -2, 2);
      StridedIndex s;
      s.ndim = 3; s.shape[0] = D0; s.shape[1] = D1; s.shape[2] = D2;
      s.stride[0][0] = D2; s.stride[0][1] = 0; s.stride[0][2] = 1;
      s.stride[1][0] = 0; s.stride[1][1] = D2; s.stride[1][2] = 1;
      DevBuf da(a.nbytes()), db(b.nbytes()), dy(y.nbytes());
      upload(da, a); upload(db, b);
      CHECK_CUDA(binary({BinaryOp(o), dt, da.p, db.p, dy.p, s, n}, 0));
      download(y, dy);
      std::vector<double> ref(n);
      for (int64_t i = 0; i < D0; ++i)
        for (int64_t j = 0; j < D1; ++j)
          for (int64_t k = 0; k < D2; ++k) ref[(i * D1 + j) * D2 + k] = ref_binary(BinaryOp(o), a.get(i * D2 + k), b.get(j * D2 + k));
      validate("binary op " + std::to_string(o) + " broadcast 7x1x13,1x5x13 " + dtname(dt), y, ref, 1e-6,
               1e-6 + eps_of(dt));
    }
  }
  // Contiguous vector path (and a tail), plus a NaN through Maximum.
  for (KDType dt : {KDType::F32, KDType::BF16}) {
    const int64_t n = g_small ? 1029 : (1 << 20) + 3;
    HostBuf a(dt, n), b(dt, n), y(dt, n);
    a.fill_uniform(g_rng, -3, 3); b.fill_uniform(g_rng, -3, 3);
    a.set(5, NAN);
    DevBuf da(a.nbytes()), db(b.nbytes()), dy(y.nbytes());
    upload(da, a); upload(db, b);
    CHECK_CUDA(binary({BinaryOp::Maximum, dt, da.p, db.p, dy.p, contiguous(n), n}, 0));
    download(y, dy);
    std::vector<double> ref(n);
    for (int64_t i = 0; i < n; ++i) ref[i] = std::isnan(a.get(i)) ? NAN : std::fmax(a.get(i), b.get(i));
    validate(std::string("binary maximum contiguous, NaN propagates, ") + dtname(dt), y, ref, 1e-6, 0);
  }
  // n > 2^31: a u8 copy of 2^31 + 17 elements (int64 indexing), sampled check.
  if (!g_small) {
    const int64_t n = (int64_t(1) << 31) + 17;
    HostBuf x(KDType::U8, n), y(KDType::U8, n);
    for (int64_t i = 0; i < n; ++i) x.bytes[i] = uint8_t((i * 2654435761u) >> 7);
    DevBuf dx(x.nbytes()), dy(y.nbytes());
    upload(dx, x);
    StridedIndex s = contiguous(n);
    CHECK_CUDA(unary({UnaryOp::Identity, KDType::U8, KDType::U8, dx.p, dy.p, s, n}, 0));
    download(y, dy);
    int64_t diff = 0;
    for (int64_t i = 0; i < n; ++i) diff += x.bytes[i] != y.bytes[i];
    // And the strided path over the same n (shape [2, n/2 + ...] is not needed: ndim 1, stride 1 but misaligned).
    const bool ok = diff == 0;
    if (!ok) ++g_failures;
    std::printf("%-4s %-58s mismatches %lld\n", ok ? "ok" : "FAIL", "u8 copy n = 2^31 + 17", (long long)diff);
  }
}

// ---- reduce ----------------------------------------------------------------------------

static void check_reduce() {
  struct Shape { int64_t outer, len, inner; };
  std::vector<Shape> shapes = {{1000, 37, 1}, {65, 5000, 1}, {3, 77, 129}, {5, 1, 1}, {1, 13, 1},
                               {1, 0, 1},     {4, 0, 3},     {1, 300007, 1}, {2, 3, 1000}};
  if (!g_small) shapes.push_back({1, (1 << 24) + 5, 1});
  for (KDType dt : {KDType::F32, KDType::F16, KDType::BF16}) {
    for (const Shape& s : shapes) {
      for (int o = 0; o <= int(ReduceOp::Min); ++o) {
        const ReduceOp op = ReduceOp(o);
        HostBuf x(dt, std::max<int64_t>(1, s.outer * s.len * s.inner)), y(dt, s.outer * s.inner);
        x.fill_uniform(g_rng, -1, 1);
        const bool with_nan = op == ReduceOp::Max && s.len > 2;
        if (with_nan) x.set(s.inner + 0, NAN);  // row 0 / column 0, second element
        DevBuf dx(x.nbytes()), dy(y.nbytes());
        const ReduceArgs ra{op, dt, dx.p, dy.p, s.outer, s.len, s.inner};
        const int64_t sf = reduce_scratch_floats(ra);
        DevBuf scratch(std::max<int64_t>(sf, 1) * sizeof(float));
        upload(dx, x);
        CHECK_CUDA(reduce(ra, sf ? scratch.as<float>() : nullptr, 0));
        download(y, dy);
        std::vector<double> ref(s.outer * s.inner);
        double scale = 1e-6;
        for (int64_t a = 0; a < s.outer; ++a)
          for (int64_t c = 0; c < s.inner; ++c) {
            double acc = op == ReduceOp::Max ? -INFINITY : op == ReduceOp::Min ? INFINITY : 0, mag = 0;
            for (int64_t l = 0; l < s.len; ++l) {
              const double v = x.get((a * s.len + l) * s.inner + c);
              mag += std::fabs(v);
              if (op == ReduceOp::Max) acc = (std::isnan(v) || std::isnan(acc)) ? NAN : std::fmax(acc, v);
              else if (op == ReduceOp::Min) acc = std::fmin(acc, v);
              else acc += v;
            }
            if (op == ReduceOp::Mean) { acc = s.len ? acc / double(s.len) : NAN; mag = s.len ? mag / s.len : 0; }
            ref[a * s.inner + c] = acc;
            scale = std::fmax(scale, mag);  // summation error is relative to sum |x|, not |sum x|
          }
        char name[128];
        std::snprintf(name, sizeof name, "reduce op %d [%lld,%lld,%lld] %s%s", o, (long long)s.outer, (long long)s.len,
                      (long long)s.inner, dtname(dt), with_nan ? " +NaN" : "");
        validate(name, y, ref, scale, 1e-6 + eps_of(dt));
      }
    }
  }
}

// ---- layernorm ---------------------------------------------------------------------------

// With a residual (addLayerNorm) the forward normalises round(x + residual) and
// the backward is handed that sum as its x.
static void check_layernorm() {
  struct Shape { int64_t rows, cols; };
  std::vector<Shape> shapes = {{257, 768}, {33, 4099}, {7, 16384}, {1, 1}, {3, 1025}, {1000, 31}};
  for (bool with_res : {false, true})
  for (KDType dt : {KDType::F32, KDType::F16, KDType::BF16}) {
    for (const Shape& s : shapes) {
      const int64_t R = s.rows, C = s.cols, n = R * C;
      HostBuf x(dt, n), res(dt, n), w(dt, C), b(dt, C), dout(dt, n), out(dt, n), dx(dt, n);
      HostBuf mean(KDType::F32, R), rstd(KDType::F32, R), dw(KDType::F32, C), db(KDType::F32, C);
      x.fill_uniform(g_rng, -2, 3); w.fill_uniform(g_rng, 0.5, 1.5); b.fill_uniform(g_rng, -0.5, 0.5); dout.fill_uniform(g_rng, -1, 1);
      res.fill_uniform(g_rng, -1, 1);
      DevBuf d_x(x.nbytes()), d_res(res.nbytes()), d_w(w.nbytes()), d_b(b.nbytes()), d_dout(dout.nbytes()),
          d_out(out.nbytes()), d_dx(dx.nbytes()), d_mean(R * 4), d_rstd(R * 4), d_dw(C * 4), d_db(C * 4);
      const LayerNormGradArgs ga{dt, d_dx.p, d_dw.as<float>(), d_db.as<float>(), d_dout.p, d_x.p, d_w.p,
                                 d_mean.as<float>(), d_rstd.as<float>(), R, C};
      DevBuf scratch(layernorm_backward_scratch_floats(ga) * sizeof(float));
      upload(d_x, x); upload(d_res, res); upload(d_w, w); upload(d_b, b); upload(d_dout, dout);
      const float eps = 1e-5f;
      CHECK_CUDA(layernorm_forward({dt, d_out.p, d_mean.as<float>(), d_rstd.as<float>(), d_x.p,
                                    with_res ? d_res.p : nullptr, d_w.p, d_b.p, R, C, eps}, 0));
      if (with_res) {  // the LayerNorm input is now the rounded sum
        for (int64_t i = 0; i < n; ++i) x.set(i, x.get(i) + res.get(i));
        upload(d_x, x);
      }
      CHECK_CUDA(layernorm_backward(ga, scratch.as<float>(), 0));
      download(out, d_out); download(mean, d_mean); download(rstd, d_rstd);
      download(dx, d_dx); download(dw, d_dw); download(db, d_db);

      std::vector<double> r_out(n), r_mean(R), r_rstd(R), r_dx(n), r_dw(C, 0), r_db(C, 0);
      for (int64_t r = 0; r < R; ++r) {
        double m = 0, v = 0;
        for (int64_t c = 0; c < C; ++c) m += x.get(r * C + c);
        m /= C;
        for (int64_t c = 0; c < C; ++c) v += (x.get(r * C + c) - m) * (x.get(r * C + c) - m);
        const double rs = 1 / std::sqrt(v / C + eps);
        r_mean[r] = m; r_rstd[r] = rs;
        double mg = 0, mgx = 0;
        for (int64_t c = 0; c < C; ++c) {
          const double xh = (x.get(r * C + c) - m) * rs, g = dout.get(r * C + c) * w.get(c);
          r_out[r * C + c] = xh * w.get(c) + b.get(c);
          mg += g; mgx += g * xh;
          r_dw[c] += dout.get(r * C + c) * xh; r_db[c] += dout.get(r * C + c);
        }
        mg /= C; mgx /= C;
        for (int64_t c = 0; c < C; ++c) {
          const double xh = (x.get(r * C + c) - m) * rs, g = dout.get(r * C + c) * w.get(c);
          r_dx[r * C + c] = rs * (g - mg - xh * mgx);
        }
      }
      char tag[96];
      std::snprintf(tag, sizeof tag, "[%lld,%lld] %s%s", (long long)R, (long long)C, dtname(dt),
                    with_res ? " +residual" : "");
      const double t = 1e-5 + eps_of(dt);
      validate(std::string("layernorm fwd out ") + tag, out, r_out, 1.0, t);  // outputs are O(1)
      validate(std::string("layernorm fwd mean ") + tag, mean, r_mean, 1e-2, 1e-5);
      validate(std::string("layernorm fwd rstd ") + tag, rstd, r_rstd, 1e-2, 1e-5);
      // dx involves a cancellation (g - mean(g) - ...): scale the error by 1.
      validate(std::string("layernorm bwd dx ") + tag, dx, r_dx, 1.0, 2e-5 + eps_of(dt));
      validate(std::string("layernorm bwd dweight ") + tag, dw, r_dw, std::sqrt(double(R)), 2e-5);
      validate(std::string("layernorm bwd dbias ") + tag, db, r_db, std::sqrt(double(R)), 2e-5);
    }
  }
}

// ---- embedding and geglu ------------------------------------------------------------------

// Gathers rows (every copy width: 2-, 4-, 12- and 1536-byte rows; a table base
// only 4-byte aligned) with a few out-of-range ids, which must give zero rows
// and report the first bad position.
static void check_embedding() {
  struct Case { KDType dt; int64_t vocab, hidden, n, table_offset; };
  const std::vector<Case> cases = {{KDType::F16, 3, 1, 5, 0}, {KDType::F32, 9, 3, 17, 0}, {KDType::BF16, 300, 768, 1000, 0},
                                   {KDType::F16, 50, 6, 77, 12}, {KDType::F32, 4096, 768, 4096, 0}};
  for (const Case& c : cases) {
    HostBuf table(c.dt, c.vocab * c.hidden), out(c.dt, c.n * c.hidden);
    table.fill_uniform(g_rng, -3, 3);
    std::vector<int32_t> ids(c.n);
    for (int64_t i = 0; i < c.n; ++i) ids[i] = int32_t((i * 7919 + 13) % c.vocab);
    const int64_t first_bad = c.n / 2;
    ids[first_bad] = int32_t(c.vocab);
    ids[c.n - 1] = -1;
    DevBuf d_table(table.nbytes() + c.table_offset), d_out(out.nbytes()), d_ids(c.n * 4), d_bad(8);
    upload(d_table, table, c.table_offset);
    CHECK_CUDA(cudaMemcpy(d_ids.p, ids.data(), c.n * 4, cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemset(d_bad.p, 0xff, 8));
    CHECK_CUDA(embedding_forward({c.dt, d_out.p, d_table.as(c.table_offset), d_ids.as<int32_t>(), c.n, c.vocab,
                                  c.hidden, true},
                                 d_bad.as<unsigned long long>(), 0));
    download(out, d_out);
    unsigned long long bad = 0;
    CHECK_CUDA(cudaMemcpy(&bad, d_bad.p, 8, cudaMemcpyDeviceToHost));
    std::vector<double> ref(c.n * c.hidden);
    for (int64_t i = 0; i < c.n; ++i)
      for (int64_t j = 0; j < c.hidden; ++j)
        ref[i * c.hidden + j] = ids[i] >= 0 && ids[i] < c.vocab ? table.get(ids[i] * c.hidden + j) : 0.0;
    char tag[96];
    std::snprintf(tag, sizeof tag, "embedding [%lld,%lld] n=%lld %s +%lldB", (long long)c.vocab, (long long)c.hidden,
                  (long long)c.n, dtname(c.dt), (long long)c.table_offset);
    validate(tag, out, ref, 1e-30, 0.0);  // a copy: exact
    const bool flag_ok = bad == (unsigned long long)first_bad;
    if (!flag_ok) ++g_failures;
    std::printf("%-4s %s: first bad position %llu (want %lld)\n", flag_ok ? "ok" : "FAIL", tag, bad, (long long)first_bad);
  }
}

static double gelu_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

// Contiguous rows (16-byte packets), odd widths (scalar path), a padded row
// stride, with and without bias.
static void check_geglu() {
  struct Case { int64_t rows, inner, ldx_pad; };
  const std::vector<Case> cases = {{1, 1, 0}, {5, 7, 0}, {1000, 5, 3}, {17, 768, 0}, {64, 3072, 8}, {257, 3072, 0}};
  for (KDType dt : {KDType::F32, KDType::F16, KDType::BF16})
    for (const Case& c : cases)
      for (bool with_bias : {false, true}) {
        const int64_t ldx = 2 * c.inner + c.ldx_pad;
        HostBuf x(dt, c.rows * ldx), b(dt, 2 * c.inner), out(dt, c.rows * c.inner);
        x.fill_uniform(g_rng, -4, 4); b.fill_uniform(g_rng, -0.5, 0.5);
        DevBuf d_x(x.nbytes()), d_b(b.nbytes()), d_out(out.nbytes());
        upload(d_x, x); upload(d_b, b);
        CHECK_CUDA(geglu({dt, d_out.p, d_x.p, ldx, with_bias ? d_b.p : nullptr, c.rows, c.inner}, 0));
        download(out, d_out);
        std::vector<double> ref(c.rows * c.inner);
        for (int64_t r = 0; r < c.rows; ++r)
          for (int64_t j = 0; j < c.inner; ++j) {
            const double bg = with_bias ? b.get(j) : 0, bu = with_bias ? b.get(c.inner + j) : 0;
            ref[r * c.inner + j] = gelu_ref(x.get(r * ldx + j) + bg) * (x.get(r * ldx + c.inner + j) + bu);
          }
        char tag[96];
        std::snprintf(tag, sizeof tag, "geglu [%lld,%lld] ldx %lld %s%s", (long long)c.rows, (long long)c.inner,
                      (long long)ldx, dtname(dt), with_bias ? " +bias" : "");
        validate(tag, out, ref, 1e-3, 2e-5 + eps_of(dt));  // outputs are O(1); the tail is tiny
      }
}

// ---- gemm ----------------------------------------------------------------------------------

struct GemmCase {
  KDType dt; bool ta, tb; int64_t m, n, k, batch;
  int64_t pad = 0;          // extra elements per leading dim (3 breaks 16-byte alignment; -1: round up to 8)
  int64_t base_offset = 0;  // elements added to A's and B's base pointers
  float alpha = 1, beta = 0; bool bias = false;
};

static void check_gemm_case(const GemmCase& g, bool sample_only = false) {
  const int64_t a_rows = g.ta ? g.k : g.m, a_cols = g.ta ? g.m : g.k;
  const int64_t b_rows = g.tb ? g.n : g.k, b_cols = g.tb ? g.k : g.n;
  // pad < 0: leading dims rounded up to a multiple of 8 (odd shapes that still
  // take the tensor-core path); pad > 0: that many extra elements.
  auto ld_of = [&](int64_t cols) { return g.pad < 0 ? (cols + 7) / 8 * 8 : cols + g.pad; };
  const int64_t lda = ld_of(a_cols), ldb = ld_of(b_cols), ldc = ld_of(g.n);
  const int64_t sa = a_rows * lda, sb = b_rows * ldb, sc = g.m * ldc;
  HostBuf A(g.dt, sa * g.batch), B(g.dt, sb * g.batch), C(g.dt, sc * g.batch), bias(g.dt, g.n), out(g.dt, sc * g.batch);
  A.fill_uniform(g_rng, -1, 1); B.fill_uniform(g_rng, -1, 1); C.fill_uniform(g_rng, -1, 1); bias.fill_uniform(g_rng, -1, 1);
  if (g.beta == 0) for (int64_t i = 0; i < C.n; ++i) C.set(i, NAN);  // beta == 0 must not read C
  const int64_t esz = kdtype_size(g.dt), off = g.base_offset * esz;
  DevBuf dA(A.nbytes() + 64), dB(B.nbytes() + 64), dC(C.nbytes()), dbias(bias.nbytes());
  upload(dA, A, off); upload(dB, B, off); upload(dC, C); upload(dbias, bias);
  GemmArgs args;
  args.dtype = g.dt; args.trans_a = g.ta; args.trans_b = g.tb;
  args.m = g.m; args.n = g.n; args.k = g.k; args.batch = g.batch;
  args.a = dA.as(off); args.lda = lda; args.stride_a = sa;
  args.b = dB.as(off); args.ldb = ldb; args.stride_b = sb;
  args.c = dC.p; args.ldc = ldc; args.stride_c = sc;
  args.bias = g.bias ? dbias.p : nullptr; args.alpha = g.alpha; args.beta = g.beta;
  CHECK_CUDA(gemm(args, 0));
  CHECK_CUDA(cudaDeviceSynchronize());
  download(out, dC);

  // Reference on all outputs, or on 97 sampled ones for the big timing shapes.
  std::vector<int64_t> pos;
  if (sample_only) {
    std::uniform_int_distribution<int64_t> bi(0, g.batch - 1), mi(0, g.m - 1), ni(0, g.n - 1);
    for (int s = 0; s < 97; ++s) pos.push_back(bi(g_rng) * sc + mi(g_rng) * ldc + ni(g_rng));
  } else {
    for (int64_t b = 0; b < g.batch; ++b)
      for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) pos.push_back(b * sc + i * ldc + j);
  }
  std::vector<double> ref(pos.size());
  double rms = 0;
  for (size_t p = 0; p < pos.size(); ++p) {
    const int64_t b = pos[p] / sc, i = (pos[p] % sc) / ldc, j = pos[p] % ldc;
    double acc = 0;
    for (int64_t kk = 0; kk < g.k; ++kk) {
      const double av = A.get(b * sa + (g.ta ? kk * lda + i : i * lda + kk));
      const double bv = B.get(b * sb + (g.tb ? j * ldb + kk : kk * ldb + j));
      acc += av * bv;
    }
    double v = g.alpha * acc;
    if (g.beta != 0) v += g.beta * C.get(pos[p]);
    if (g.bias) v += bias.get(j);
    ref[p] = v;
    rms += v * v;
  }
  rms = std::sqrt(rms / std::max<size_t>(1, pos.size())) + 1e-3;
  // f32: exact FMA accumulation, error ~ sqrt(k) ulps of the partial sums.
  // f16/bf16: inputs are exact in f32, accumulation f32, one output rounding.
  const double tol = g.dt == KDType::F32 ? 1e-6 * std::sqrt(double(g.k) + 1) : 2 * eps_of(g.dt);
  char name[160];
  std::snprintf(name, sizeof name, "gemm %s %c%c m%lld n%lld k%lld b%lld%s%s%s%s", dtname(g.dt), g.ta ? 'T' : 'N',
                g.tb ? 'T' : 'N', (long long)g.m, (long long)g.n, (long long)g.k, (long long)g.batch,
                g.pad ? " pad" : "", g.base_offset ? " offset" : "", g.beta != 0 ? " beta" : "", g.bias ? " bias" : "");
  validate(name, out, ref, int64_t(pos.size()), rms, tol, [&](int64_t p) { return pos[p]; });
}

static void check_gemm() {
  std::vector<GemmCase> cases;
  for (KDType dt : {KDType::F16, KDType::BF16, KDType::F32}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      cases.push_back({dt, ta, tb, 1, 7, 13, 1});                                // odd ld: guarded fallback
      cases.push_back({dt, ta, tb, 1, 7, 13, 1, -1});                            // same shape, tensor cores
      cases.push_back({dt, ta, tb, 17, 33, 65, 1});
      cases.push_back({dt, ta, tb, 17, 33, 65, 1, -1});
      cases.push_back({dt, ta, tb, 16, 2304, 768, 1});
      cases.push_back({dt, ta, tb, 130, 250, 100, 3, 0, 0, 0.5f, -1.25f, true});    // batched, epilogue
      if (!g_small) cases.push_back({dt, ta, tb, 1512, 1544, 72, 1, -1});        // large tiles, ragged M/N/K edges
      cases.push_back({dt, ta, tb, 100, 90, 37, 2, -1, 0, 2.0f, 1.0f, true});    // ragged, batched, epilogue
      cases.push_back({dt, ta, tb, 45, 37, 29, 2, 3, 0});                        // lda % 8 != 0 -> fallback
      cases.push_back({dt, ta, tb, 45, 37, 40, 1, 0, 1});                        // misaligned base -> fallback
    }
    cases.push_back({dt, false, true, 128, 2304, 768, 1, 0, 0, 1, 0, true});     // nn.Linear: x @ W^T + b
    cases.push_back({dt, false, true, 64, 96, 0, 2, 0, 0, 1, 0.5f, true});       // k == 0: beta*C + bias
  }
  for (const GemmCase& c : cases) check_gemm_case(c);
}

// ---- timing ------------------------------------------------------------------------------

static void time_gemm(KDType dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, int iters) {
  const int64_t esz = kdtype_size(dt);
  DevBuf A(m * k * esz), B(k * n * esz), C(m * n * esz);
  // Small random values (in bits: a pattern that is a finite f16/bf16).
  HostBuf hA(dt, m * k), hB(dt, k * n);
  hA.fill_uniform(g_rng, -1, 1); hB.fill_uniform(g_rng, -1, 1);
  upload(A, hA); upload(B, hB);
  GemmArgs g;
  g.dtype = dt; g.trans_a = ta; g.trans_b = tb; g.m = m; g.n = n; g.k = k;
  g.a = A.p; g.lda = ta ? m : k; g.b = B.p; g.ldb = tb ? k : n; g.c = C.p; g.ldc = n;
  for (int i = 0; i < 3; ++i) CHECK_CUDA(gemm(g, 0));
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0); cudaEventCreate(&e1);
  cudaEventRecord(e0);
  for (int i = 0; i < iters; ++i) CHECK_CUDA(gemm(g, 0));
  cudaEventRecord(e1);
  CHECK_CUDA(cudaEventSynchronize(e1));
  float ms = 0;
  cudaEventElapsedTime(&ms, e0, e1);
  const double s = ms / 1e3 / iters;
  const double bytes = double(m * k + k * n + m * n) * esz;
  std::printf("time gemm %-4s %c%c m%-5lld n%-5lld k%-5lld %9.1f us  %7.1f TFLOP/s  %7.1f GB/s\n", dtname(dt),
              ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)m, (long long)n, (long long)k, s * 1e6,
              2.0 * m * n * k / s / 1e12, bytes / s / 1e9);
  cudaEventDestroy(e0); cudaEventDestroy(e1);
}

__global__ void probe_kernel() {}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    g_small |= std::strcmp(argv[i], "--small") == 0;
    g_time_only |= std::strcmp(argv[i], "--time") == 0;
    g_encoder_gemms |= std::strcmp(argv[i], "--encoder-gemms") == 0;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  cudaFuncAttributes fa;
  CHECK_CUDA(cudaFuncGetAttributes(&fa, probe_kernel));
  std::printf("device %s (sm_%d%d, %d SMs); this binary runs code built for compute_%d%s\n", prop.name, prop.major,
              prop.minor, prop.multiProcessorCount, fa.ptxVersion, g_small ? "; --small" : "");

  if (g_encoder_gemms) {
    // x @ W^T at DNABERT-2's layer shapes (32 x 128 and 32 x 512 tokens) and
    // 4096^3: sampled correctness, then timings (for A/B of GEMM variants).
    check_gemm_case({KDType::F16, false, true, 4096, 2304, 768, 1}, true);
    check_gemm_case({KDType::BF16, false, true, 4096, 768, 3072, 1}, true);
    check_gemm_case({KDType::F16, false, true, 16384, 6144, 768, 1}, true);
    for (int64_t m : {4096, 16384})
      for (auto nk : {std::pair<int64_t, int64_t>{2304, 768}, {768, 768}, {6144, 768}, {768, 3072}})
        time_gemm(KDType::F16, false, true, m, nk.first, nk.second, m == 4096 ? 100 : 25);
    time_gemm(KDType::F16, false, true, 4096, 4096, 4096, 20);
    std::printf("%d failure(s)\n", g_failures);
    return g_failures;
  }
  if (!g_time_only) {
    check_unary_ops();
    check_casts();
    check_strided_and_broadcast();
    check_reduce();
    check_layernorm();
    check_embedding();
    check_geglu();
    check_gemm();
  }
  if (!g_small) {
    // Big-shape correctness on sampled outputs, then timings.
    check_gemm_case({KDType::F16, false, true, 4096, 4096, 4096, 1}, true);
    check_gemm_case({KDType::BF16, false, false, 4096, 4096, 4096, 1}, true);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) time_gemm(KDType::F16, ta, tb, 4096, 4096, 4096, 20);
    time_gemm(KDType::BF16, false, true, 4096, 4096, 4096, 20);
    time_gemm(KDType::F32, false, true, 4096, 4096, 4096, 5);
    for (int64_t m : {16, 64, 128}) time_gemm(KDType::F16, false, true, m, 2304, 768, 200);
    time_gemm(KDType::F16, false, true, 16, 768, 3072, 200);
  }
  std::printf("%d failure(s)\n", g_failures);
  return g_failures;
}
