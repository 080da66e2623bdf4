// The CPU backend's kernels: the same op codes and layouts as the CUDA
// launchers in cuda/*/ (see cuda/common/kernel_types.h), without a stream.
// Each runs to completion on the intra-op pool before returning. These are the
// reference the CUDA results are tested against, so they accumulate in f32 or
// better and round once into the output, exactly like the GPU kernels.
#pragma once
#include <cstdint>
#include "../../contract/elementwise_args.h"
#include "../../contract/embedding_args.h"
#include "../../contract/kernel_types.h"
#include "../../contract/layernorm_args.h"
#include "../../contract/lora_args.h"
#include "../../contract/qgemm_args.h"
#include "../../contract/quant_math.h"
#include "../../contract/reduce_args.h"
#include "../../contract/stats_args.h"

namespace germ::cpu {

using kernels::BinaryOp;
using kernels::GemmArgs;
using kernels::KDType;
using kernels::ReduceOp;
using kernels::StridedIndex;
using kernels::UnaryOp;

// Argument structs: contract/elementwise_args.h (unary, binary, geglu),
// reduce_args.h, layernorm_args.h, embedding_args.h, stats_args.h.
void unary(const kernels::UnaryArgs& args);
void binary(const kernels::BinaryArgs& args);
void reduce(const kernels::ReduceArgs& args);

// kernels::GemmArgs contract (contract/kernel_types.h). Cache-blocked and
// packed, multithreaded over tiles.
void gemm(const kernels::GemmArgs& args);

void layernorm_forward(const kernels::LayerNormArgs& args);
void layernorm_backward(const kernels::LayerNormGradArgs& args);

// Checks every id first when args.check, returning the first bad position (the
// output is then never read); else -1.
int64_t embedding(const kernels::EmbeddingArgs& args);

void geglu(const kernels::GegluArgs& args);

// --- outlier statistics (stats.cc): f64 accumulation.
void outlier_stats(const kernels::OutlierStatsArgs& args);
// --- quantization (quant.cc, quant_nf4.cc): the layouts and arithmetic of
// cuda/quant/quant_math.h, the same codes as the CUDA kernels bit for bit.
void quantize(const kernels::QuantArgs& args);
void dequantize(const kernels::DequantArgs& args);
void nf4_quantize(const kernels::Nf4Args& args);
void nf4_dequantize(const kernels::Nf4Args& args);
// --- quantized GEMMs (qgemm.cc, qgemm_w4.cc; contract: cuda/qgemm/qgemm_args.h)
void quantize_tokens(const kernels::TokenQuantArgs& args);
void qgemm_int(const kernels::IntGemmArgs& args);  // exact int32 dot products
void qgemm_w4(const kernels::W4Args& args);
// --- LoRA (lora_merge.cc; contract: cuda/lora/lora_args.h)
void lora_merge(const kernels::LoraMergeArgs& args);

}  // namespace germ::cpu
