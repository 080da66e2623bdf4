// The op layer: validation on the calling (JS) thread, output allocation, and
// one queued task per op. Every function returns at once; the work runs on the
// device's executor. Errors in arguments throw GermError here, synchronously,
// naming the op and the shapes; failures during execution poison the outputs.
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include "../core/backend.h"
#include "../core/tensor.h"

namespace germ::ops {

// --- creation, movement, views (tensor_ops.cc)
TensorPtr from_host(const void* data, size_t nbytes, DType dtype, const Shape& shape, Device device);
TensorPtr full(const Shape& shape, DType dtype, Device device, double value);
TensorPtr to_device(const TensorPtr& t, Device device);
TensorPtr view(const TensorPtr& t, const Shape& shape, const Shape& strides, int64_t offset);
TensorPtr contiguous(const TensorPtr& t);  // t itself when already contiguous
TensorPtr cast(const TensorPtr& t, DType dtype);

// Reads the tensor's elements (row-major, its own dtype) into host memory.
// `done` runs on an executor thread with the bytes, or with the error that
// poisoned the tensor.
using ReadDone = std::function<void(std::shared_ptr<std::vector<uint8_t>> bytes, std::shared_ptr<const GermError> error)>;
void read_bytes(const TensorPtr& t, ReadDone done);
// Runs `done` once every op queued so far on the device has finished.
void synchronize(Device device, std::function<void(std::shared_ptr<const GermError>)> done);

// --- elementwise (elementwise_ops.cc)
TensorPtr unary(kernels::UnaryOp op, const TensorPtr& x, float alpha = 0.f, float beta = 0.f);
TensorPtr binary(kernels::BinaryOp op, const TensorPtr& a, const TensorPtr& b);

// --- reductions (reduce_ops.cc): over one axis, or all axes when nullopt
TensorPtr reduce(kernels::ReduceOp op, const TensorPtr& x, std::optional<int64_t> axis, bool keepdim);

// --- matmul (matmul_ops.cc)
struct MatmulOptions {
  bool trans_a = false, trans_b = false;
  float alpha = 1.f;
};
// a [..., m, k], b [..., k, n] or [k, n] (shared across the batch); with
// trans_b, b is [..., n, k] (the nn.Linear weight). bias [n] optional.
TensorPtr matmul(const TensorPtr& a, const TensorPtr& b, const TensorPtr& bias, const MatmulOptions& opts);
// The GEMM arguments of x [rows, k] @ w [n, k]^T over contiguous operands (the
// nn.Linear product the fused ops hand their kernels); output, bias, alpha and
// beta left at their defaults for the caller to fill.
kernels::GemmArgs linear_gemm_args(DType dtype, const void* x, const void* w, int64_t rows, int64_t n, int64_t k);

// --- in-place GEMM and row concatenation (matmul_ops.cc, concat_ops.cc): the
// building blocks of LoRA (lib/lora/)
struct MatmulIntoOptions {
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 1.f;
};
// c = alpha * op(a) @ op(b) + beta * c, written into c's own memory (the one
// op family that writes in place). All 2-D, one float dtype, one device. c
// needs a unit column stride (any row stride: a column slice of a wider
// buffer is fine); a and b may be any views but must not overlap c's
// elements (ERR_INVALID_ARGUMENT). f32 accumulation, one rounding per element.
void matmul_into(const TensorPtr& c, const TensorPtr& a, const TensorPtr& b, const MatmulIntoOptions& opts);
// w [out, in] += scale * b [out, r] @ a [r, in] in place (lora_ops.cc): what
// matmul_into(w, b, a, {alpha: scale, beta: 1}) computes, in one pass over w.
// Same layout and aliasing rules as matmul_into; r in 1..128.
void lora_merge(const TensorPtr& w, const TensorPtr& a, const TensorPtr& b, float scale);
// LoRA forward over the stacked weight [W; A] [out + r, in] (+ bias [out + r],
// zeros in its last r entries) and B [out, r]: returns [M, out + r] holding
// y = x W^T + b + scale (x A^T) B^T in its first out columns and x A^T in its
// last r (what the backward keeps). One fused kernel where the backend has it,
// else one GEMM over [W; A] and a rank-r GEMM into y.
TensorPtr lora_forward(const TensorPtr& x, const TensorPtr& stacked, const TensorPtr& bias, const TensorPtr& b,
                       int64_t rank, float scale);
// parts [n_i, ...rest] (same dtype, device and trailing dims) -> contiguous [sum n_i, ...rest].
TensorPtr concat_rows(const std::vector<TensorPtr>& parts);

// --- LayerNorm (layernorm_ops.cc): over the last dim
// returns {out, mean [rows] f32, rstd [rows] f32}. residual: null (layerNorm),
// or shaped like x (addLayerNorm: normalises x + residual, the sum rounded
// once to x's dtype, in one read of each).
// With save_stats false (inference) mean and rstd are neither computed into
// memory nor returned (null).
std::array<TensorPtr, 3> layernorm_forward(const TensorPtr& x, const TensorPtr& residual, const TensorPtr& weight,
                                           const TensorPtr& bias, float eps, bool save_stats = true);
// returns {dx, dweight, dbias}; the parameter gradients have the weight's dtype
std::array<TensorPtr, 3> layernorm_backward(const TensorPtr& dout, const TensorPtr& x, const TensorPtr& weight,
                                            const TensorPtr& mean, const TensorPtr& rstd);

// --- encoder ops (encoder_ops.cc)
// Row gather: table [V, H] (float), ids i32 of any shape on the table's
// device -> [...ids.shape, H]. An out-of-range id fails the op with
// ERR_INVALID_ARGUMENT naming the id and its position (when the output is
// read: the ids are checked where they live, on the device's executor).
TensorPtr embedding(const TensorPtr& table, const TensorPtr& ids);
// Host ids [n]: checked here, synchronously, then uploaded to the table's device.
TensorPtr embedding(const TensorPtr& table, const std::vector<int32_t>& ids);
// x [..., 2I] (last dim contiguous; rows may be strided), bias [2I] or null
// -> [..., I] = gelu(x[..., :I] + b[:I]) * (x[..., I:] + b[I:]), exact GELU.
TensorPtr geglu(const TensorPtr& x, const TensorPtr& bias);
// The gated MLP's first half, gelu(x Wg^T) * (x Wu^T), from one weight w [2I, H]
// whose rows come in blocks of kGegluBlock (contract/kernel_types.h): 64 rows
// of Wg, then the same 64 rows of Wu (I a multiple of 64). x [..., H] ->
// [..., I]. Fused into the GEMM where the backend has the kernel; else x w^T
// and geglu over the blocks.
using kernels::kGegluBlock;
TensorPtr linear_geglu(const TensorPtr& x, const TensorPtr& w);

// --- packed weights (pack_ops.cc): a weight rearranged once, at load, into
// the layout its fused op reads, so that no caller knows a kernel's tiles.
// The layout travels with the packed tensor as an opaque code.
enum class GegluLayout : int32_t {
  Halves = 0,   // [Wg; Wu] as given: x w^T, then geglu
  Blocked = 1,  // linear_geglu's kGegluBlock interleave
};
struct PackedGeglu {
  TensorPtr w;
  GegluLayout layout;
};
// DNABERT-2's gated_layers weight [Wg; Wu] [2I, H] (float) in the layout
// linear_geglu_packed runs fastest from: Blocked when I is a multiple of
// kGegluBlock (one layout for every device: the fused kernel reads it and the
// unfused path costs the same on it), else Halves (w itself).
PackedGeglu pack_geglu(const TensorPtr& w);
// linear_geglu over a weight in `layout`.
TensorPtr linear_geglu_packed(const TensorPtr& x, const TensorPtr& w, GegluLayout layout);

// --- attention (attention_ops.cc). q [B, Sq, H, D] with k, v [B, Sk, H, D]
// (padded batch; optional per-sequence lengths), or q [Tq, H, D] with k, v
// [Tk, H, D] and cu_seqlens (packed varlen). Contract of the math:
// contract/attention_params.h.
// Every default of the attention options is stated here, and every range is
// checked in attention_ops.cc: the bindings and lib/ pass what the user gave.
struct AttentionOptions {
  kernels::AttnNormalizer normalizer = kernels::AttnNormalizer::Softmax1;
  std::optional<float> scale;  // default 1 / sqrt(D)
  bool causal = false;
  TensorPtr alibi_slopes;      // f32 [H] on the same device, or null
  bool alibi_default = false;  // ALiBi with alibi_slopes(H) (alibi_slopes null)
  std::optional<bool> alibi_symmetric;  // default: |i - j| unless causal (then i - j)
  // The clipped softmax's stretch (Bondarenko et al. 2023's zeta 1, gamma -0.03).
  float clip_zeta = 1.f, clip_gamma = -0.03f;
  float dropout_p = 0.f;  // in [0, 1)
  uint64_t seed = 0;
  std::vector<int32_t> cu_seqlens_q, cu_seqlens_k;  // packed: [B + 1] each (k defaults to q's)
  std::vector<int32_t> lengths;                     // padded: [B], optional (queries and keys)
};
// The most heads ALiBi slopes are built for (lib/alibi.ts's ALIBI_MAX_HEADS
// is this number, for config.json limits): far above any model's count, low
// enough that a corrupt count fails at once.
constexpr int64_t kAlibiMaxHeads = 4096;
// ALiBi slopes (Press et al. 2022) as DNABERT-2's bert_layers.py builds them,
// rounded once to f32; heads in [1, kAlibiMaxHeads] (else ERR_INVALID_ARGUMENT).
std::vector<float> alibi_slopes(double heads);
// returns {out (like q), lse [H, total_q] f32}
std::array<TensorPtr, 2> attention_forward(const TensorPtr& q, const TensorPtr& k, const TensorPtr& v,
                                           const AttentionOptions& o);
// returns {dq, dk, dv}, shaped like q, k, v
std::array<TensorPtr, 3> attention_backward(const TensorPtr& dout, const TensorPtr& q, const TensorPtr& k,
                                            const TensorPtr& v, const TensorPtr& out, const TensorPtr& lse,
                                            const AttentionOptions& o);

// --- outlier statistics (stats_ops.cc). x float [..., C] (leading dims are
// tokens; 1-D is one token), non-empty; prev: null or a state it returned.
// returns {state u8 [64] (kernels::StatsState: prev merged with x's moments),
// token kurtosis f32 [...], token max |x| f32 [...], channel max |x| f32 [C]}
std::array<TensorPtr, 4> outlier_stats(const TensorPtr& x, const TensorPtr& prev);
// --- quantization (quant_ops.cc; layouts and arithmetic: cuda/quant/quant_math.h)
// Channel: x [out, in], one scale per row. Token: x [..., hidden], one scale
// per row computed on the fly. Group: groups of group_size along the last dim
// (it must divide it). Tensor: one scale.
enum class QuantGranularity { Tensor, Channel, Token, Group };
struct QuantizeOptions {
  int bits = 8;  // 8, 6 or 4
  bool symmetric = true;
  QuantGranularity granularity = QuantGranularity::Channel;
  int64_t group_size = 128;
  float clip = 1.f;         // in (0, 1], for every scale, when clip_tensor is null
  TensorPtr clip_tensor;    // f32 shaped like the scales, or null
};
// returns {q, scale f32, zero f32 (null when symmetric)}. q: i8 (symmetric
// 8/6-bit), u8 (asymmetric 8/6-bit), u8 [..., ceil(last / 2)] (4-bit).
std::array<TensorPtr, 3> quantize(const TensorPtr& x, const QuantizeOptions& o);
struct DequantizeOptions {
  int bits = 8;
  bool symmetric = true;
  QuantGranularity granularity = QuantGranularity::Channel;
  int64_t group_size = 128;
  Shape shape;             // of the tensor that was quantized
  DType dtype = DType::F32;  // of the result (a float)
};
TensorPtr dequantize(const TensorPtr& q, const TensorPtr& scale, const TensorPtr& zero, const DequantizeOptions& o);
// NF4 over x flattened, blocks of `block` (even): returns {codes u8
// [ceil(n / 2)], absmax (f32 [nblocks]; with double_quant the u8 codes of the
// double-quantized absmax), absmax2 f32 [ceil(nblocks / 256)] or null,
// offset f32 [1] or null}.
std::array<TensorPtr, 4> quantize_nf4(const TensorPtr& x, int64_t block, bool double_quant);
TensorPtr dequantize_nf4(const TensorPtr& codes, const TensorPtr& absmax, const TensorPtr& absmax2,
                         const TensorPtr& offset, int64_t block, const Shape& shape, DType dtype);

// --- quantized GEMMs (qgemm_ops.cc; contract: cuda/qgemm/qgemm_args.h).
// x [..., k] float; smooth f32 [k] or null (SmoothQuant: x / smooth is what
// is quantized); bits 8, 6 or 4. returns {q (i8 like x; 4-bit: u8 [...,
// ceil(k / 2)] packed), scale f32 [...]}: the layout of quantize(x,
// {granularity: 'token'}), which it equals without smooth.
std::array<TensorPtr, 2> quantize_tokens(const TensorPtr& x, const TensorPtr& smooth, int bits);
// What follows the dot products: bias [n] (any float dtype; applied in f32),
// exact GELU, the output dtype (f32 / f16 / bf16; integer GEMMs also i32 = the raw
// int32 sums, with no bias or GELU).
struct QLinearOptions {
  TensorPtr bias;
  bool gelu = false;
  DType out_dtype = DType::F32;
};
// Integer GEMM (W8A8, W6A6 with bits 8; W4A4 with bits 4): xq [..., k] i8
// (4-bit: u8 [..., ceil(k / 2)], packed) with sx f32 [...] (one scale per
// token), wq [n, k] likewise with sw f32 [n] (per channel) or [1] (per
// tensor) -> y [..., n].
TensorPtr qlinear_int(const TensorPtr& xq, const TensorPtr& sx, const TensorPtr& wq, const TensorPtr& sw, int bits,
                      int64_t k, const QLinearOptions& o);
// A 4-bit weight [n, k] as lib/quant stores it: uniform int4 (q u8 [n, k/2],
// scale / zero f32 per tensor, channel or group) or NF4 (codes u8 [n k / 2],
// absmax f32 [nblocks], or u8 codes with absmax2 and offset under double
// quantization; k must be a multiple of the block).
struct W4Weight {
  kernels::W4Codes codes = kernels::W4Codes::Int4Sym;
  TensorPtr q, scale, zero, absmax2, offset;
  QuantGranularity granularity = QuantGranularity::Group;  // int4 only
  int64_t group = 0;  // int4 group size, or the NF4 block size
  Shape shape;        // [n, k]
};
// x f16 / bf16 [..., k] -> y [..., n] = epilogue(x @ dequantize(w, x.dtype)^T).
TensorPtr qlinear_w4(const TensorPtr& x, const W4Weight& w, const QLinearOptions& o);

// --- shared checks (checks.cc)
void require_same_device(const char* op, std::initializer_list<const TensorPtr*> ts);
void require_float(const char* op, const TensorPtr& t);
void require_dtype(const char* op, const TensorPtr& t, DType dtype, const char* what);
// Whether two 2-D views may share an element (the in-place ops' aliasing check):
// the same storage and overlapping spans, unless both are rows with one
// leading dim whose column ranges are disjoint.
bool may_overlap(const TensorImpl& x, const TensorImpl& y);
TensorPtr empty(Backend& backend, DType dtype, const Shape& shape);

}  // namespace germ::ops
