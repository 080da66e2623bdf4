// Dev harness for cuda/attention (llm.c dev/cuda style): the fused and naive
// launchers against a float64 CPU reference of the contract in
// attention_params.h, forward and backward, plus a --time mode.
//
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 cuda/dev/attention_check.cu \
//        cuda/attention/attention_fwd.cu cuda/attention/attention_bwd.cu \
//        cuda/attention/attention_naive.cu cuda/common/device_info.cu -o attention_check
//   ./attention_check           # every case (lengths 1, 7, 129, 1000 ...)
//   ./attention_check --small   # short sequences only (for compute-sanitizer)
//   ./attention_check --time    # TFLOP/s, f16, d=64, B=32, H=12, N = 512 .. 16384
//   ./attention_check --time-fwd  # forward only, N = 512 .. 4096
//
// Errors are max |got - ref| / max |ref| over the tensor (rows inside the
// sequences); lse is compared as |got - ref| / (1 + |ref|), infinities exactly.
// The exit status is the number of failures.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "dev_common.cuh"
#include "../attention/attention.h"
#include "../../contract/philox.h"

using namespace germ::kernels;

static bool g_small = false;
static int g_failures = 0;
static std::mt19937_64 g_rng(42);

// ---- host buffers ------------------------------------------------------------------


static void up(DevBuf& d, const void* h, size_t n) { CHECK_CUDA(cudaMemcpy(d.p, h, n, cudaMemcpyHostToDevice)); }
static void down(void* h, const DevBuf& d, size_t n) { CHECK_CUDA(cudaMemcpy(h, d.p, n, cudaMemcpyDeviceToHost)); }

static const char* dtname(KDType t) { return t == KDType::F32 ? "f32" : t == KDType::F16 ? "f16" : "bf16"; }
static const char* normname(AttnNormalizer n) {
  return n == AttnNormalizer::Softmax ? "softmax" : n == AttnNormalizer::Softmax1 ? "softmax1" : "clipped";
}

// ---- one case -----------------------------------------------------------------------

struct Case {
  std::string name;
  KDType dt = KDType::F16;
  int D = 64, H = 2;
  AttnNormalizer norm = AttnNormalizer::Softmax1;
  bool causal = false;
  int alibi = 0;  // 0 none, 1 symmetric, 2 causal
  float dropout = 0.0f;
  double qk_range = 1.0, scale_mul = 1.0;  // |s| ~ 1e4 case: wide q, k and a large scale
  std::vector<int> lq, lk;
  bool packed = true;
  int pad_stride = 0;  // extra elements per row (strided, e.g. fused qkv buffers)
  bool fused = true, naive = true;
};

struct Problem {
  Case c;
  int B;
  int64_t tq, tk, ld;  // rows of q / k and the row stride (all four tensors)
  std::vector<int> sq, sk;
  AttentionParams p;
  HostBuf q, k, v, dout;
  std::vector<float> slopes;
  // reference
  std::vector<double> o, lse, dq, dk, dv;
  Problem(const Case& cs, int64_t tq_, int64_t tk_, int64_t ld_)
      : c(cs), tq(tq_), tk(tk_), ld(ld_), q(cs.dt, tq_ * ld_), k(cs.dt, tk_ * ld_), v(cs.dt, tk_ * ld_),
        dout(cs.dt, tq_ * ld_) {}
};

// The contract, in double.
static void reference(Problem& P) {
  const Case& c = P.c;
  const int H = c.H, D = c.D;
  const AttentionParams& p = P.p;
  const uint32_t thr = dropout_threshold(c.dropout);
  const double rd = c.dropout > 0 ? 1.0 / (1.0 - c.dropout) : 1.0;
  const double cz = double(p.clip_zeta) - p.clip_gamma;
  P.o.assign(P.tq * H * D, 0); P.lse.assign(H * P.tq, 0);
  P.dq.assign(P.tq * H * D, 0); P.dk.assign(P.tk * H * D, 0); P.dv.assign(P.tk * H * D, 0);
  for (int b = 0; b < P.B; ++b) {
    const int lq = c.lq[b], lk = c.lk[b], diag = lk - lq;
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < lq; ++i) {
        const int64_t qr = P.sq[b] + i, grow = int64_t(h) * P.tq + qr;
        std::vector<double> s(lk, -INFINITY), pr(lk, 0), pt(lk, 0), dp(lk, 0);
        std::vector<bool> vis(lk, false), keep(lk, true);
        double m = -INFINITY;
        for (int j = 0; j < lk; ++j) {
          if (c.causal && j > i + diag) continue;
          const int64_t kr = P.sk[b] + j;
          double acc = 0;
          for (int d = 0; d < D; ++d) acc += P.q.get(qr * P.ld + h * D + d) * P.k.get(kr * P.ld + h * D + d);
          double sv = acc * p.scale;
          if (c.alibi) {
            const double dist = double(i + diag - j);
            sv -= double(P.slopes[h]) * (c.alibi == 1 ? std::fabs(dist) : dist);
          }
          s[j] = sv; vis[j] = true; m = std::max(m, sv);
        }
        const bool s1 = c.norm == AttnNormalizer::Softmax1;
        if (s1) m = std::max(m, 0.0);
        const double base = std::isinf(m) ? 0.0 : m;
        double den = s1 ? std::exp(-base) : 0.0;
        for (int j = 0; j < lk; ++j) if (vis[j]) den += std::exp(s[j] - base);
        P.lse[grow] = den > 0 ? base + std::log(den) : -INFINITY;
        for (int j = 0; j < lk; ++j) {
          if (!vis[j] || den <= 0) continue;
          pr[j] = std::exp(s[j] - base) / den;
          pt[j] = c.norm == AttnNormalizer::Clipped ? std::min(std::max(cz * pr[j] + p.clip_gamma, 0.0), 1.0) : pr[j];
          if (c.dropout > 0) keep[j] = dropout_keep(p.seed, p.offset, grow, j, thr);
        }
        // forward
        for (int j = 0; j < lk; ++j) {
          const double w = keep[j] ? pt[j] * rd : 0.0;
          if (w == 0) continue;
          for (int d = 0; d < D; ++d) P.o[(qr * H + h) * D + d] += w * P.v.get((P.sk[b] + j) * P.ld + h * D + d);
        }
        // backward
        double dsum = 0;
        for (int j = 0; j < lk; ++j) {
          if (!vis[j] || den <= 0) continue;
          double dpt = 0;
          for (int d = 0; d < D; ++d)
            dpt += P.dout.get(qr * P.ld + h * D + d) * P.v.get((P.sk[b] + j) * P.ld + h * D + d);
          double g = keep[j] ? dpt * rd : 0.0;
          if (c.norm == AttnNormalizer::Clipped) {
            const double lin = cz * pr[j] + p.clip_gamma;
            g = (lin > 0 && lin < 1) ? g * cz : 0.0;
          }
          dp[j] = g; dsum += pr[j] * g;
        }
        for (int j = 0; j < lk; ++j) {
          if (!vis[j] || den <= 0) continue;
          const double ds = pr[j] * (dp[j] - dsum) * p.scale, w = keep[j] ? pt[j] * rd : 0.0;
          const int64_t kr = P.sk[b] + j;
          for (int d = 0; d < D; ++d) {
            P.dq[(qr * H + h) * D + d] += ds * P.k.get(kr * P.ld + h * D + d);
            P.dk[(kr * H + h) * D + d] += ds * P.q.get(qr * P.ld + h * D + d);
            P.dv[(kr * H + h) * D + d] += w * P.dout.get(qr * P.ld + h * D + d);
          }
        }
      }
  }
}

// max |got - ref| / max |ref| over rows inside the sequences.
static double rel_err(const Problem& P, const HostBuf& got, const std::vector<double>& ref, bool keys,
                      double* max_abs) {
  double mref = 0, merr = 0;
  for (int b = 0; b < P.B; ++b) {
    const int len = keys ? P.c.lk[b] : P.c.lq[b];
    const int64_t s0 = keys ? P.sk[b] : P.sq[b];
    for (int64_t r = s0; r < s0 + len; ++r)
      for (int x = 0; x < P.c.H * P.c.D; ++x) {
        const double g = got.get(r * P.ld + x), f = ref[r * P.c.H * P.c.D + x];
        if (!std::isfinite(g)) return INFINITY;
        mref = std::max(mref, std::fabs(f));
        merr = std::max(merr, std::fabs(g - f));
      }
  }
  *max_abs = merr;
  return mref > 0 ? merr / mref : merr;
}
static double lse_err(const Problem& P, const std::vector<float>& got) {
  double e = 0;
  for (int b = 0; b < P.B; ++b)
    for (int h = 0; h < P.c.H; ++h)
      for (int i = 0; i < P.c.lq[b]; ++i) {
        const int64_t idx = int64_t(h) * P.tq + P.sq[b] + i;
        const double g = got[idx], r = P.lse[idx];
        if (std::isinf(r) || std::isinf(g) || std::isnan(g)) { if (g != r) return INFINITY; continue; }
        e = std::max(e, std::fabs(g - r) / (1 + std::fabs(r)));
      }
  return e;
}

static void report(const std::string& what, double err, double abs_err, double tol) {
  const bool ok = err <= tol;
  if (!ok) ++g_failures;
  std::printf("%-4s %-78s rel %.2e abs %.2e (tol %.0e)\n", ok ? "ok" : "FAIL", what.c_str(), err, abs_err, tol);
}

static double tol_fwd(KDType t) { return t == KDType::F32 ? 1e-4 : t == KDType::F16 ? 5e-3 : 3e-2; }
static double tol_bwd(KDType t) { return t == KDType::F32 ? 1e-3 : t == KDType::F16 ? 2e-2 : 8e-2; }

static void run_case(const Case& c) {
  const int B = int(c.lq.size());
  std::vector<int> sq(B), sk(B);
  int64_t tq = 0, tk = 0;
  const int mq = *std::max_element(c.lq.begin(), c.lq.end()), mk = *std::max_element(c.lk.begin(), c.lk.end());
  for (int b = 0; b < B; ++b) {
    sq[b] = int(tq); sk[b] = int(tk);
    tq += c.packed ? c.lq[b] : mq;
    tk += c.packed ? c.lk[b] : mk;
  }
  const int64_t ld = int64_t(c.H) * c.D + c.pad_stride;
  Problem P(c, std::max<int64_t>(tq, 1), std::max<int64_t>(tk, 1), ld);
  P.B = B; P.sq = sq; P.sk = sk;
  std::uniform_real_distribution<double> u(-1, 1);
  for (int64_t i = 0; i < P.q.n; ++i) P.q.set(i, c.qk_range * u(g_rng));
  for (int64_t i = 0; i < P.k.n; ++i) P.k.set(i, c.qk_range * u(g_rng));
  for (int64_t i = 0; i < P.v.n; ++i) P.v.set(i, u(g_rng));
  for (int64_t i = 0; i < P.dout.n; ++i) P.dout.set(i, u(g_rng));
  for (int h = 0; h < c.H; ++h) P.slopes.push_back(float(std::pow(2.0, -8.0 * (h + 1) / c.H)));

  const size_t esz = size_t(kdtype_size(c.dt)), tbytes_q = size_t(P.tq * ld) * esz, tbytes_k = size_t(P.tk * ld) * esz;
  DevBuf dq_(tbytes_q), dk_(tbytes_k), dv_(tbytes_k), dout_(tbytes_q), o_(tbytes_q), lse_(P.tq * c.H * 4);
  DevBuf gq(tbytes_q), gk(tbytes_k), gv(tbytes_k), slopes(c.H * 4), ints(4 * B * 4);
  up(dq_, P.q.bytes.data(), tbytes_q); up(dk_, P.k.bytes.data(), tbytes_k); up(dv_, P.v.bytes.data(), tbytes_k);
  up(dout_, P.dout.bytes.data(), tbytes_q); up(slopes, P.slopes.data(), c.H * 4);
  std::vector<int32_t> iv;
  iv.insert(iv.end(), sq.begin(), sq.end()); iv.insert(iv.end(), c.lq.begin(), c.lq.end());
  iv.insert(iv.end(), sk.begin(), sk.end()); iv.insert(iv.end(), c.lk.begin(), c.lk.end());
  up(ints, iv.data(), iv.size() * 4);
  const int32_t* ip = static_cast<const int32_t*>(ints.p);

  AttentionParams& p = P.p;
  p.dtype = c.dt; p.normalizer = c.norm; p.batch = B; p.heads = c.H; p.head_dim = c.D;
  p.total_q = P.tq; p.total_k = P.tk; p.max_len_q = mq; p.max_len_k = mk;
  p.seq_q_start = ip; p.seq_q_len = ip + B; p.seq_k_start = ip + 2 * B; p.seq_k_len = ip + 3 * B;
  p.q = dq_.p; p.k = dk_.p; p.v = dv_.p; p.o = o_.p; p.lse = static_cast<float*>(lse_.p);
  p.q_row_stride = p.k_row_stride = p.v_row_stride = p.o_row_stride = ld;
  p.scale = float(c.scale_mul / std::sqrt(double(c.D)));
  p.causal = c.causal;
  p.alibi_slopes = c.alibi ? static_cast<const float*>(slopes.p) : nullptr;
  p.alibi_symmetric = c.alibi == 1;
  p.clip_zeta = 1.03f; p.clip_gamma = -0.03f;
  p.dropout_p = c.dropout; p.seed = 0x1234abcd5678ull; p.offset = 7;
  reference(P);

  char tag[200];
  std::snprintf(tag, sizeof tag, "%s %s d%d %s%s alibi%d drop%.1f %s", c.name.c_str(), dtname(c.dt), c.D,
                normname(c.norm), c.causal ? " causal" : "", c.alibi, c.dropout, c.packed ? "packed" : "padded");
  DevBuf gdq(tbytes_q), gdk(tbytes_k), gdv(tbytes_k);
  AttentionGradParams g;
  g.fwd = p; g.dout = dout_.p; g.dout_row_stride = ld;
  g.dq = gdq.p; g.dk = gdk.p; g.dv = gdv.p; g.dq_row_stride = g.dk_row_stride = g.dv_row_stride = ld;
  HostBuf ho(c.dt, P.tq * ld), hq(c.dt, P.tq * ld), hk(c.dt, P.tk * ld), hv(c.dt, P.tk * ld);
  std::vector<float> hlse(P.tq * c.H);
  double a;
  auto check_all = [&](const char* path, bool big) {
    down(ho.bytes.data(), o_, tbytes_q); down(hlse.data(), lse_, hlse.size() * 4);
    double e = rel_err(P, ho, P.o, false, &a);
    report(std::string(path) + " fwd O   " + tag, e, a, tol_fwd(c.dt));
    report(std::string(path) + " fwd lse " + tag, lse_err(P, hlse), 0, big ? 1e-4 : 1e-5);
  };
  auto check_grads = [&](const char* path, bool big) {
    down(hq.bytes.data(), gdq, tbytes_q); down(hk.bytes.data(), gdk, tbytes_k); down(hv.bytes.data(), gdv, tbytes_k);
    // |s| ~ 1e4: P is one-hot and dS = P (dP - D) cancels: finite and coarse is the claim.
    const double tb = big ? 0.15 : tol_bwd(c.dt);
    double e = rel_err(P, hq, P.dq, false, &a); report(std::string(path) + " bwd dQ  " + tag, e, a, tb);
    e = rel_err(P, hk, P.dk, true, &a); report(std::string(path) + " bwd dK  " + tag, e, a, tb);
    e = rel_err(P, hv, P.dv, true, &a); report(std::string(path) + " bwd dV  " + tag, e, a, tb);
  };
  const bool big = c.qk_range > 1.5;
  if (c.fused) {
    if (!attention_fused_supported(p) || !attention_backward_fused_supported(g)) {
      std::printf("skip fused %s: not supported on this build/device\n", tag);
    } else {
      CHECK_CUDA(attention_forward(p, 0)); CHECK_CUDA(cudaDeviceSynchronize());
      check_all("fused", big);
      DevBuf scratch(attention_backward_scratch_bytes(p));
      CHECK_CUDA(attention_backward(g, scratch.p, 0)); CHECK_CUDA(cudaDeviceSynchronize());
      check_grads("fused", big);
    }
  }
  if (c.naive) {
    CHECK_CUDA(cudaMemset(o_.p, 0, tbytes_q));
    DevBuf scratch(attention_naive_scratch_bytes(p));
    CHECK_CUDA(attention_naive_forward(p, scratch.p, 0)); CHECK_CUDA(cudaDeviceSynchronize());
    check_all("naive", big);
    CHECK_CUDA(attention_naive_backward(g, scratch.p, 0)); CHECK_CUDA(cudaDeviceSynchronize());
    check_grads("naive", big);
  }
}

static void run_checks() {
  const int L = g_small ? 65 : 1000;
  std::vector<Case> cases;
  for (KDType dt : {KDType::F16, KDType::BF16})
    for (int D : {32, 64, 128}) {
      Case c; c.dt = dt; c.D = D;
      c.name = "varlen"; c.lq = c.lk = {1, 7, 129, L}; c.alibi = 1; c.naive = D != 128 || !g_small;
      cases.push_back(c);
      Case d; d.dt = dt; d.D = D; d.H = 3;
      d.name = "padded-cross"; d.packed = false; d.causal = true; d.alibi = 2; d.norm = AttnNormalizer::Softmax;
      d.lq = {129, 7, 1, 64}; d.lk = {100, 129, 7, 64}; d.pad_stride = 8;
      cases.push_back(d);
    }
  auto add = [&](Case c) { cases.push_back(c); };
  Case base; base.dt = KDType::F16; base.D = 64; base.lq = base.lk = {7, 129, 200}; base.name = "f16";
  for (auto n : {AttnNormalizer::Softmax, AttnNormalizer::Softmax1}) {
    Case c = base; c.norm = n;
    c.causal = true; c.name = "causal-cross"; c.lq = {7, 129, 3, 200}; c.lk = {129, 7, 200, 200}; add(c);
    c = base; c.norm = n; c.dropout = 0.1f; c.alibi = 1; c.name = "dropout"; add(c);
    c.causal = true; c.alibi = 2; add(c);
    c = base; c.norm = n; c.qk_range = 8; c.scale_mul = 40; c.name = "scores~1e4"; add(c);
    c = base; c.norm = n; c.lq = {5, 7, 3, 70}; c.lk = {0, 9, 0, 70}; c.name = "no-keys"; add(c);
    c.causal = true; c.lq = {5, 70, 3}; c.lk = {0, 3, 2}; c.name = "no-keys-causal"; add(c);  // rows with no visible key
    c = base; c.norm = n; c.pad_stride = 3 * 64 * 2; c.alibi = 1; c.name = "strided"; add(c);
  }
  {  // bf16 dropout and d=128 causal long
    Case c = base; c.dt = KDType::BF16; c.dropout = 0.1f; c.alibi = 1; c.name = "dropout"; add(c);
    c = base; c.D = 128; c.causal = true; c.lq = c.lk = {L, 129}; c.name = "long-causal"; add(c);
  }
  // The naive path alone: clipped softmax and f32, any head_dim.
  for (KDType dt : {KDType::F32, KDType::F16, KDType::BF16})
    for (auto n : {AttnNormalizer::Clipped, AttnNormalizer::Softmax, AttnNormalizer::Softmax1}) {
      Case c; c.dt = dt; c.norm = n; c.D = 48; c.fused = false; c.name = "naive-only";
      c.lq = {1, 7, 129}; c.lk = {3, 7, 129}; c.causal = n != AttnNormalizer::Softmax; c.alibi = 2;
      add(c);
      c.dropout = 0.1f; c.causal = false; c.alibi = 1; c.D = 64; c.lq = {0, 33}; c.lk = {5, 40}; add(c);
    }
  for (const Case& c : cases) run_case(c);
}

// ---- timing ---------------------------------------------------------------------------

static void run_timing(bool fwd_only) {
  const int B = 32, H = 12, D = 64;
  std::printf("time: f16, d=%d, B=%d, H=%d, bidirectional; forward 4*B*H*N^2*d flops, backward 2.5x that\n", D, B, H);
  for (int N : {512, 1024, 4096, 16384}) {
    if (fwd_only && N > 4096) break;
    const int64_t rows = int64_t(B) * N, ld = int64_t(H) * D;
    const size_t bytes = size_t(rows * ld) * 2;
    DevBuf q(bytes), k(bytes), v(bytes), o(bytes), dout(bytes), dq(bytes), dk(bytes), dv(bytes), lse(rows * H * 4);
    DevBuf slopes(H * 4), ints(4 * B * 4);
    {
      std::vector<__half> hb(rows * ld);
      std::uniform_real_distribution<float> u(-1, 1);
      for (auto& x : hb) x = __float2half(u(g_rng));
      up(q, hb.data(), bytes); up(k, hb.data(), bytes); up(v, hb.data(), bytes); up(dout, hb.data(), bytes);
      std::vector<float> sl(H);
      for (int h = 0; h < H; ++h) sl[h] = float(std::pow(2.0, -8.0 * (h + 1) / H));
      up(slopes, sl.data(), H * 4);
      std::vector<int32_t> iv(4 * B);
      for (int b = 0; b < B; ++b) { iv[b] = b * N; iv[B + b] = N; iv[2 * B + b] = b * N; iv[3 * B + b] = N; }
      up(ints, iv.data(), iv.size() * 4);
    }
    const int32_t* ip = static_cast<const int32_t*>(ints.p);
    AttentionParams p;
    p.dtype = KDType::F16; p.batch = B; p.heads = H; p.head_dim = D; p.total_q = p.total_k = rows;
    p.max_len_q = p.max_len_k = N;
    p.seq_q_start = ip; p.seq_q_len = ip + B; p.seq_k_start = ip + 2 * B; p.seq_k_len = ip + 3 * B;
    p.q = q.p; p.k = k.p; p.v = v.p; p.o = o.p; p.lse = static_cast<float*>(lse.p);
    p.q_row_stride = p.k_row_stride = p.v_row_stride = p.o_row_stride = ld;
    p.scale = 0.125f;
    AttentionGradParams g;
    g.dout = dout.p; g.dq = dq.p; g.dk = dk.p; g.dv = dv.p;
    g.dout_row_stride = g.dq_row_stride = g.dk_row_stride = g.dv_row_stride = ld;
    for (int variant = 0; variant < 2; ++variant) {
      p.normalizer = variant == 0 ? AttnNormalizer::Softmax1 : AttnNormalizer::Softmax;
      p.alibi_slopes = variant == 0 ? static_cast<const float*>(slopes.p) : nullptr;
      g.fwd = p;
      DevBuf scratch(attention_backward_scratch_bytes(p));
      const int iters = N >= 4096 ? 5 : 20;
      cudaEvent_t e0, e1;
      CHECK_CUDA(cudaEventCreate(&e0)); CHECK_CUDA(cudaEventCreate(&e1));
      CHECK_CUDA(attention_forward(p, 0)); CHECK_CUDA(attention_backward(g, scratch.p, 0));
      CHECK_CUDA(cudaDeviceSynchronize());
      CHECK_CUDA(cudaEventRecord(e0));
      for (int it = 0; it < iters; ++it) CHECK_CUDA(attention_forward(p, 0));
      CHECK_CUDA(cudaEventRecord(e1)); CHECK_CUDA(cudaEventSynchronize(e1));
      float ms_f; CHECK_CUDA(cudaEventElapsedTime(&ms_f, e0, e1)); ms_f /= iters;
      const double fl = 4.0 * B * H * double(N) * N * D;
      if (fwd_only) {
        std::printf("time N=%-6d %-22s fwd %7.3f ms %6.1f TFLOP/s\n", N,
                    variant == 0 ? "softmax1+alibi" : "softmax (no bias)", ms_f, fl / ms_f * 1e-9);
        cudaEventDestroy(e0); cudaEventDestroy(e1);
        continue;
      }
      CHECK_CUDA(cudaEventRecord(e0));
      for (int it = 0; it < iters; ++it) {
        CHECK_CUDA(attention_forward(p, 0)); CHECK_CUDA(attention_backward(g, scratch.p, 0));
      }
      CHECK_CUDA(cudaEventRecord(e1)); CHECK_CUDA(cudaEventSynchronize(e1));
      float ms_fb; CHECK_CUDA(cudaEventElapsedTime(&ms_fb, e0, e1)); ms_fb /= iters;
      std::printf("time N=%-6d %-22s fwd %7.3f ms %6.1f TFLOP/s | fwd+bwd %8.3f ms %6.1f TFLOP/s | bwd %6.1f TFLOP/s\n",
                  N, variant == 0 ? "softmax1+alibi" : "softmax (no bias)", ms_f, fl / ms_f * 1e-9, ms_fb,
                  3.5 * fl / ms_fb * 1e-9, 2.5 * fl / (ms_fb - ms_f) * 1e-9);
      cudaEventDestroy(e0); cudaEventDestroy(e1);
    }
  }
}

int main(int argc, char** argv) {
  bool time = false, fwd_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--small")) g_small = true;
    if (!std::strcmp(argv[i], "--time")) time = true;
    if (!std::strcmp(argv[i], "--time-fwd")) time = fwd_only = true;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  if (time) run_timing(fwd_only);
  else run_checks();
  std::printf("%d failure(s)\n", g_failures);
  return g_failures;
}
