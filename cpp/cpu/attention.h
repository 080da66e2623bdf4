// CPU attention: the same contract as the CUDA launchers
// (cuda/attention/attention_params.h), all normalisers, f32 / f16 / bf16,
// tiled online softmax (no [len_q, len_k] buffer), multithreaded over
// (batch, head, query block). The reference the CUDA kernels are tested against.
#pragma once
#include "../../contract/attention_params.h"

namespace germ::cpu {

void attention_forward(const kernels::AttentionParams& p);
void attention_backward(const kernels::AttentionGradParams& g);

}  // namespace germ::cpu
