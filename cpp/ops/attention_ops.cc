// attention: maps tensors and options onto kernels::AttentionParams.
//
// The kernels read one row per token at a row stride, so views whose rows are
// evenly spaced (e.g. q, k, v sliced out of a fused Wqkv output [B, S, 3, H, D])
// are read in place; anything else is made contiguous first. Sequence
// boundaries are host data (lengths / cu_seqlens arrays), validated here and
// uploaded with the op as one small i32 tensor, which also carries the ALiBi
// slopes this file derives when the user asks for ALiBi without giving them.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include "ops.h"
#include "task.h"

namespace germ::ops {

namespace {

using kernels::AttentionGradParams;
using kernels::AttentionParams;

struct Rows {
  TensorPtr t;           // the tensor read (maybe a contiguous copy)
  int64_t total = 0;     // rows (tokens)
  int64_t row_stride = 0;
  int64_t per_batch = 0;  // padded layout: tokens per batch entry (S)
};

[[noreturn]] void bad_shape(const std::string& msg) { throw GermError(ErrorCode::Shape, "attention: " + msg); }

// The stride between consecutive rows (tokens) of a [B, S, H, D] or [T, H, D]
// view whose rows are H*D contiguous elements, or nullopt when the rows are not
// evenly spaced. Padded row r = b * S + s. The stride of a dim of extent 1 is
// meaningless (any value), so it is never used: with S = 1 consecutive rows are
// batch entries (strides[0]), with B = 1 they are tokens (strides[1]), and only
// with fewer than two rows is H*D made up. A stride of 0 (a broadcast view) is
// a real, legal row stride: the kernels only read q, k, v, out and dout.
std::optional<int64_t> row_stride(const TensorImpl& x, bool packed, int64_t H, int64_t D) {
  const size_t n = x.shape.size();
  if ((D > 1 && x.strides[n - 1] != 1) || (H > 1 && x.strides[n - 2] != D)) return std::nullopt;
  if (packed) return x.shape[0] <= 1 ? H * D : x.strides[0];
  const int64_t B = x.shape[0], S = x.shape[1];
  if (B == 0 || S == 0 || (B == 1 && S == 1)) return H * D;
  if (S == 1) return x.strides[0];
  int64_t batch_stride = 0;
  if (B == 1 || (!__builtin_mul_overflow(S, x.strides[1], &batch_stride) && x.strides[0] == batch_stride))
    return x.strides[1];
  return std::nullopt;
}

// Rows of a [B, S, H, D] or [T, H, D] tensor, each H*D contiguous; a view
// whose rows are not evenly spaced is read through a contiguous copy.
Rows rows_of(const TensorPtr& t_in, bool packed) {
  const size_t n = t_in->shape.size();
  const int64_t H = t_in->shape[n - 2], D = t_in->shape[n - 1];
  Rows r;
  r.t = t_in;
  std::optional<int64_t> stride = row_stride(*t_in, packed, H, D);
  if (!stride) {
    r.t = contiguous(t_in);
    stride = row_stride(*r.t, packed, H, D);
  }
  r.per_batch = packed ? 0 : r.t->shape[1];
  r.total = packed ? r.t->shape[0] : r.t->shape[0] * r.t->shape[1];
  r.row_stride = *stride;
  if (r.total > INT32_MAX) bad_shape("more than 2^31 - 1 tokens");
  return r;
}

// Per-sequence (start, length) for queries and keys, checked against the rows.
struct Sequences {
  int32_t batch = 0, max_q = 0, max_k = 0;
  std::vector<int32_t> host;  // [start_q | len_q | start_k | len_k], each [batch]
  bool covers_all_q = true, covers_all_k = true;
};

std::vector<int32_t> from_cu(const std::vector<int32_t>& cu, int64_t total, const char* what, std::vector<int32_t>* lens) {
  if (cu.size() < 2 || cu.front() != 0)
    bad_shape(std::string(what) + " must start at 0 and have batch + 1 entries");
  for (size_t i = 1; i < cu.size(); ++i)
    if (cu[i] < cu[i - 1]) bad_shape(std::string(what) + " must not decrease");
  if (cu.back() != total)
    bad_shape(std::string(what) + " ends at " + std::to_string(cu.back()) + " but the tensor has " +
              std::to_string(total) + " tokens");
  std::vector<int32_t> starts(cu.begin(), cu.end() - 1);
  lens->clear();
  for (size_t i = 1; i < cu.size(); ++i) lens->push_back(cu[i] - cu[i - 1]);
  return starts;
}

Sequences sequences(const Rows& q, const Rows& k, bool packed, const AttentionOptions& o) {
  Sequences s;
  std::vector<int32_t> sq, lq, sk, lk;
  if (packed) {
    if (o.cu_seqlens_q.empty()) bad_shape("packed [tokens, heads, dim] inputs need cuSeqlens");
    sq = from_cu(o.cu_seqlens_q, q.total, "cuSeqlens", &lq);
    sk = from_cu(o.cu_seqlens_k.empty() ? o.cu_seqlens_q : o.cu_seqlens_k, k.total, "cuSeqlensK", &lk);
    if (sq.size() != sk.size()) bad_shape("cuSeqlens and cuSeqlensK describe different batch sizes");
  } else {
    const int64_t B = q.per_batch ? q.total / q.per_batch : q.t->shape[0];
    for (int64_t b = 0; b < B; ++b) {
      sq.push_back(static_cast<int32_t>(b * q.per_batch));
      sk.push_back(static_cast<int32_t>(b * k.per_batch));
    }
    auto lengths = [&](const std::vector<int32_t>& given, int64_t S, const char* what) {
      if (given.empty()) return std::vector<int32_t>(static_cast<size_t>(B), static_cast<int32_t>(S));
      if (static_cast<int64_t>(given.size()) != B)
        bad_shape(std::string(what) + " has " + std::to_string(given.size()) + " entries for a batch of " +
                  std::to_string(B));
      for (int32_t len : given)
        if (len < 0 || len > S)
          bad_shape(std::string(what) + " entry " + std::to_string(len) + " outside [0, " + std::to_string(S) + "]");
      return given;
    };
    // One lengths array serves queries and keys.
    lk = lengths(o.lengths, k.per_batch, "lengths");
    lq = lengths(o.lengths, q.per_batch, "lengths");
  }
  s.batch = static_cast<int32_t>(sq.size());
  int64_t covered_q = 0, covered_k = 0;
  for (int32_t b = 0; b < s.batch; ++b) {
    s.max_q = std::max(s.max_q, lq[b]);
    s.max_k = std::max(s.max_k, lk[b]);
    covered_q += lq[b];
    covered_k += lk[b];
  }
  s.covers_all_q = covered_q == q.total;
  s.covers_all_k = covered_k == k.total;
  for (auto* part : {&sq, &lq, &sk, &lk}) s.host.insert(s.host.end(), part->begin(), part->end());
  return s;
}

struct Prepared {
  Rows q, k, v;
  Sequences seq;
  TensorPtr seq_tensor, slopes;
  AttentionParams params;
};

Prepared prepare(const char* op, const TensorPtr& q_in, const TensorPtr& k_in, const TensorPtr& v_in,
                 const AttentionOptions& o) {
  require_same_device(op, {&q_in, &k_in, &v_in, &o.alibi_slopes});
  require_float(op, q_in);
  if (q_in->dtype != k_in->dtype || q_in->dtype != v_in->dtype)
    throw GermError(ErrorCode::Dtype, std::string(op) + ": q, k and v must share a dtype");
  const bool packed = q_in->ndim() == 3;
  if ((q_in->ndim() != 4 && !packed) || k_in->ndim() != q_in->ndim() || v_in->shape != k_in->shape)
    bad_shape("q, k, v must be [batch, seq, heads, dim] (or [tokens, heads, dim] with cuSeqlens), k and v alike; got " +
              shape_str(q_in->shape) + ", " + shape_str(k_in->shape) + ", " + shape_str(v_in->shape));
  const size_t n = q_in->shape.size();
  const int64_t H = q_in->shape[n - 2], D = q_in->shape[n - 1];
  if (k_in->shape[n - 2] != H || k_in->shape[n - 1] != D || (!packed && k_in->shape[0] != q_in->shape[0]))
    bad_shape("q " + shape_str(q_in->shape) + " and k " + shape_str(k_in->shape) + " differ in batch, heads or dim");
  if (H < 1 || D < 1) bad_shape("heads and dim must be at least 1");
  if (packed && !o.lengths.empty()) bad_shape("lengths are for the padded layout; packed inputs use cuSeqlens");
  if (!packed && !o.cu_seqlens_q.empty()) bad_shape("cuSeqlens needs packed [tokens, heads, dim] inputs");
  // The one range check of dropout: the kernels trust it.
  if (!(o.dropout_p >= 0.f && o.dropout_p < 1.f))
    throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": dropout must be in [0, 1), got " +
                                                    std::to_string(o.dropout_p));
  if (o.alibi_slopes) {
    require_dtype(op, o.alibi_slopes, DType::F32, "alibi slopes");
    if (o.alibi_slopes->shape != Shape{H}) bad_shape("alibi slopes must be [" + std::to_string(H) + "]");
  }

  Prepared p;
  p.q = rows_of(q_in, packed);
  p.k = rows_of(k_in, packed);
  p.v = rows_of(v_in, packed);
  p.seq = sequences(p.q, p.k, packed, o);
  // Derived slopes ride in the sequence upload, after its 4 * batch entries. No
  // element to bias (an empty q): none are built, whatever the head count.
  const size_t slopes_at = p.seq.host.size();
  const bool derive = o.alibi_default && !o.alibi_slopes && q_in->numel() > 0;
  if (derive) {
    if (H > kAlibiMaxHeads)
      throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": alibi: true builds slopes for at most " +
                                                      std::to_string(kAlibiMaxHeads) + " heads, q has " +
                                                      std::to_string(H) + " heads");
    const std::vector<float> slopes = alibi_slopes(static_cast<double>(H));
    p.seq.host.resize(slopes_at + slopes.size());
    std::memcpy(p.seq.host.data() + slopes_at, slopes.data(), slopes.size() * sizeof(float));
  }
  const Device dev = q_in->device();
  p.seq_tensor = from_host(p.seq.host.data(), p.seq.host.size() * sizeof(int32_t), DType::I32,
                           {static_cast<int64_t>(p.seq.host.size())}, dev);
  p.slopes = o.alibi_slopes ? contiguous(o.alibi_slopes) : nullptr;

  AttentionParams& a = p.params;
  a.dtype = kd(q_in->dtype);
  a.normalizer = o.normalizer;
  a.batch = p.seq.batch;
  a.heads = static_cast<int32_t>(H);
  a.head_dim = static_cast<int32_t>(D);
  a.total_q = p.q.total;
  a.total_k = p.k.total;
  a.max_len_q = p.seq.max_q;
  a.max_len_k = p.seq.max_k;
  const int32_t* seq = static_cast<const int32_t*>(p.seq_tensor->data());
  a.seq_q_start = seq;
  a.seq_q_len = seq + a.batch;
  a.seq_k_start = seq + 2 * a.batch;
  a.seq_k_len = seq + 3 * a.batch;
  a.q = p.q.t->data();
  a.q_row_stride = p.q.row_stride;
  a.k = p.k.t->data();
  a.k_row_stride = p.k.row_stride;
  a.v = p.v.t->data();
  a.v_row_stride = p.v.row_stride;
  a.scale = o.scale ? *o.scale : 1.f / std::sqrt(static_cast<float>(D));
  a.causal = o.causal;
  a.alibi_slopes = p.slopes ? static_cast<const float*>(p.slopes->data())
                 : derive   ? reinterpret_cast<const float*>(seq + slopes_at)
                            : nullptr;
  a.alibi_symmetric = o.alibi_symmetric.value_or(!o.causal);
  a.clip_zeta = o.clip_zeta;
  a.clip_gamma = o.clip_gamma;
  a.dropout_p = o.dropout_p;
  a.seed = o.seed;
  return p;
}

// The slopes of n heads, n a power of two: start^1 .. start^n with start =
// 2^(-8/n), in double (as Python's math builds them), like lib/ once did.
void power_of_two_slopes(int64_t n, std::vector<double>* out) {
  const double start = std::pow(2.0, -8.0 / static_cast<double>(n));
  for (int64_t i = 0; i < n; ++i) out->push_back(start * std::pow(start, static_cast<double>(i)));
}

}  // namespace

// A geometric sequence starting at 2^(-8/n) for n a power of two; for other
// head counts, the slopes of the nearest lower power of two followed by every
// other slope of twice that count (one level: twice a power of two is one).
std::vector<float> alibi_slopes(double heads) {
  if (!(heads >= 1 && heads <= static_cast<double>(kAlibiMaxHeads) && heads == std::floor(heads))) {
    char got[32];
    std::snprintf(got, sizeof got, "%.17g", heads);
    throw GermError(ErrorCode::InvalidArgument, "alibiSlopes: heads must be an integer in [1, " +
                                                    std::to_string(kAlibiMaxHeads) + "], got " + got);
  }
  const int64_t n = static_cast<int64_t>(heads);
  int64_t closest = 1;
  while (closest * 2 <= n) closest *= 2;
  std::vector<double> s;
  power_of_two_slopes(closest, &s);
  if (closest != n) {
    std::vector<double> twice;
    power_of_two_slopes(2 * closest, &twice);
    for (int64_t i = 0; i < n - closest; ++i) s.push_back(twice[2 * i]);
  }
  return std::vector<float>(s.begin(), s.end());
}

std::array<TensorPtr, 2> attention_forward(const TensorPtr& q, const TensorPtr& k, const TensorPtr& v,
                                           const AttentionOptions& o) {
  Prepared p = prepare("attention", q, k, v, o);
  Backend& be = backend_for(q->device());
  TensorPtr out = empty(be, q->dtype, q->shape);
  TensorPtr lse = empty(be, DType::F32, {p.params.heads, p.params.total_q});
  AttentionParams a = p.params;
  a.o = out->data();
  a.o_row_stride = static_cast<int64_t>(a.heads) * a.head_dim;
  a.lse = static_cast<float*>(lse->data());
  // Rows outside every sequence (padding) are never written by the kernels.
  const bool zero = !p.seq.covers_all_q;
  const size_t out_bytes = static_cast<size_t>(out->numel() * dtype_size(out->dtype));
  const size_t lse_bytes = static_cast<size_t>(lse->numel()) * sizeof(float);
  const bool fused = a.batch > 0 && a.total_q > 0 && be.supports(a);
  submit(be, storages({&p.q.t, &p.k.t, &p.v.t, &p.seq_tensor, &p.slopes}), {out->storage, lse->storage},
         [a, zero, fused, out_bytes, lse_bytes](Backend& b) {
           if (zero) {
             b.fill_zero(a.o, out_bytes);
             b.fill_zero(a.lse, lse_bytes);
           }
           if (fused) b.attention_forward_fused(a);
           else if (a.batch > 0 && a.total_q > 0) b.attention_forward(a);
         });
  return {out, lse};
}

std::array<TensorPtr, 3> attention_backward(const TensorPtr& dout_in, const TensorPtr& q, const TensorPtr& k,
                                            const TensorPtr& v, const TensorPtr& out_in, const TensorPtr& lse_in,
                                            const AttentionOptions& o) {
  const char* op = "attentionBackward";
  require_same_device(op, {&dout_in, &q, &out_in, &lse_in});
  if (dout_in->shape != q->shape || out_in->shape != q->shape || dout_in->dtype != q->dtype || out_in->dtype != q->dtype)
    bad_shape("dout and out must match q " + shape_str(q->shape) + " " + dtype_name(q->dtype));
  Prepared p = prepare(op, q, k, v, o);
  require_dtype(op, lse_in, DType::F32, "lse");
  if (lse_in->shape != Shape{p.params.heads, p.params.total_q})
    bad_shape("lse must be [heads, tokens] = " + shape_str({p.params.heads, p.params.total_q}));
  const bool packed = q->ndim() == 3;
  const Rows dout = rows_of(dout_in, packed), out = rows_of(out_in, packed);
  const TensorPtr lse = contiguous(lse_in);
  Backend& be = backend_for(q->device());
  TensorPtr dq = empty(be, q->dtype, q->shape), dk = empty(be, k->dtype, k->shape), dv = empty(be, v->dtype, v->shape);

  AttentionGradParams g;
  g.fwd = p.params;
  g.fwd.o = const_cast<void*>(out.t->data());
  g.fwd.o_row_stride = out.row_stride;
  g.fwd.lse = static_cast<float*>(lse->data());
  const int64_t row = static_cast<int64_t>(g.fwd.heads) * g.fwd.head_dim;
  g.dout = dout.t->data();
  g.dout_row_stride = dout.row_stride;
  g.dq = dq->data();
  g.dq_row_stride = row;
  g.dk = dk->data();
  g.dk_row_stride = row;
  g.dv = dv->data();
  g.dv_row_stride = row;
  const size_t q_bytes = static_cast<size_t>(dq->numel() * dtype_size(dq->dtype));
  const size_t k_bytes = static_cast<size_t>(dk->numel() * dtype_size(dk->dtype));
  const bool fused = g.fwd.batch > 0 && g.fwd.total_q > 0 && be.supports(g);
  submit(be, storages({&p.q.t, &p.k.t, &p.v.t, &p.seq_tensor, &p.slopes, &dout.t, &out.t, &lse}),
         {dq->storage, dk->storage, dv->storage}, [g, fused, q_bytes, k_bytes](Backend& b) {
           // Gradients of padding rows (and of keys no query sees) are zero.
           b.fill_zero(g.dq, q_bytes);
           b.fill_zero(g.dk, k_bytes);
           b.fill_zero(g.dv, k_bytes);
           if (fused) b.attention_backward_fused(g);
           else if (g.fwd.batch > 0 && g.fwd.total_q > 0) b.attention_backward(g);
         });
  return {dq, dk, dv};
}

}  // namespace germ::ops
