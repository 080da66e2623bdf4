// Host launcher of the LoRA merge (contract: lora_args.h).
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/lora_args.h"

namespace germ::kernels {

// One pass over W; r in [1, kLoraMaxRank].
cudaError_t lora_merge(const LoraMergeArgs& a, cudaStream_t stream);

}  // namespace germ::kernels
