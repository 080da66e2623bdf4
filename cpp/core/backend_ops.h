// The list of backend kernels, from which Backend's interface and both
// backends' declarations are generated (X(return type, name, argument struct),
// the structs in contract/), so a kernel's signature is stated once.
#pragma once
#include "../../contract/attention_params.h"
#include "../../contract/elementwise_args.h"
#include "../../contract/embedding_args.h"
#include "../../contract/kernel_types.h"
#include "../../contract/layernorm_args.h"
#include "../../contract/lora_args.h"
#include "../../contract/qgemm_args.h"
#include "../../contract/quant_math.h"
#include "../../contract/reduce_args.h"
#include "../../contract/stats_args.h"

// Kernels every backend runs. embedding returns the position of the first id
// outside [0, vocab) when args.check (on CUDA that waits for the kernel), else
// -1. Attention here is the reference path (exact on every input).
#define GERM_BACKEND_KERNELS(X)                                  \
  X(void, unary, kernels::UnaryArgs)                             \
  X(void, binary, kernels::BinaryArgs)                           \
  X(void, reduce, kernels::ReduceArgs)                           \
  X(void, gemm, kernels::GemmArgs)                               \
  X(void, layernorm_forward, kernels::LayerNormArgs)             \
  X(void, layernorm_backward, kernels::LayerNormGradArgs)        \
  X(int64_t, embedding, kernels::EmbeddingArgs)                  \
  X(void, geglu, kernels::GegluArgs)                             \
  X(void, attention_forward, kernels::AttentionParams)           \
  X(void, attention_backward, kernels::AttentionGradParams)      \
  X(void, outlier_stats, kernels::OutlierStatsArgs)              \
  X(void, quantize, kernels::QuantArgs)                          \
  X(void, dequantize, kernels::DequantArgs)                      \
  X(void, nf4_quantize, kernels::Nf4Args)                        \
  X(void, nf4_dequantize, kernels::Nf4Args)                      \
  X(void, quantize_tokens, kernels::TokenQuantArgs)              \
  X(void, qgemm_int, kernels::IntGemmArgs)                       \
  X(void, qgemm_w4, kernels::W4Args)                             \
  X(void, lora_merge, kernels::LoraMergeArgs)

// Fused kernels a backend may have for some arguments only. The op asks
// backend.supports(args) once, on the JavaScript thread before queuing, and
// queues either the fused kernel or its composition of the kernels above, so
// a fused kernel never falls back on its own.
#define GERM_BACKEND_FUSED_KERNELS(X)                            \
  X(void, gemm_geglu, kernels::GemmGegluArgs)                    \
  X(void, gemm_lora, kernels::LoraGemmArgs)                      \
  X(void, attention_forward_fused, kernels::AttentionParams)     \
  X(void, attention_backward_fused, kernels::AttentionGradParams)

// A backend's override of one kernel, and of supports() for a fused one.
#define GERM_OVERRIDE_KERNEL(ret, name, Args) ret name(const Args& args) override;
#define GERM_OVERRIDE_FUSED_KERNEL(ret, name, Args) \
  bool supports(const Args& args) override;         \
  ret name(const Args& args) override;
