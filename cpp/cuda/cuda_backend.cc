#include "cuda_backend.h"
#include <algorithm>
#include <cstring>
#include "../../cuda/attention/attention.h"
#include "../../cuda/elementwise/elementwise.h"
#include "../../cuda/embedding/embedding.h"
#include "../../cuda/gemm/gemm.h"
#include "../../cuda/lora/lora.h"
#include "../../cuda/norm/layernorm.h"
#include "../../cuda/qgemm/qgemm.h"
#include "../../cuda/quant/quant.h"
#include "../../cuda/reduce/reduce.h"
#include "../../cuda/stats/stats.h"
#include "cuda_check.h"

namespace germ {

CudaBackend::CudaBackend(int index) : index_(index), allocator_(index) {
  // The stream is made on the executor thread, which is the only thread that
  // ever enqueues work on it; the constructor waits for it to exist.
  cudaError_t status = cudaSuccess;
  executor_ = std::make_unique<Executor>("germ-cuda:" + std::to_string(index), [this, &status] {
    status = cudaSetDevice(index_);
    if (status == cudaSuccess) status = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
  });
  executor_->submit([] {});
  executor_->drain();
  cuda_check(status, "creating the device stream");
}

CudaBackend::~CudaBackend() {
  executor_.reset();
  for (int i = 0; i < 2; ++i) {
    if (staging_done_[i]) cudaEventDestroy(staging_done_[i]);
    if (staging_[i]) cudaFreeHost(staging_[i]);
  }
  if (stream_) cudaStreamDestroy(stream_);
}

// Kernels whose launcher takes the args and the stream, nothing else.
#define GERM_CUDA_KERNEL(name, Args, what) \
  void CudaBackend::name(const Args& args) { cuda_check(kernels::name(args, stream_), what); }
GERM_CUDA_KERNEL(unary, kernels::UnaryArgs, "unary kernel")
GERM_CUDA_KERNEL(binary, kernels::BinaryArgs, "binary kernel")
GERM_CUDA_KERNEL(gemm, kernels::GemmArgs, "gemm kernel")
GERM_CUDA_KERNEL(gemm_lora, kernels::LoraGemmArgs, "fused LoRA forward kernel")
GERM_CUDA_KERNEL(layernorm_forward, kernels::LayerNormArgs, "layernorm forward kernel")
GERM_CUDA_KERNEL(geglu, kernels::GegluArgs, "geglu kernel")
GERM_CUDA_KERNEL(quantize, kernels::QuantArgs, "quantize kernel")
GERM_CUDA_KERNEL(dequantize, kernels::DequantArgs, "dequantize kernel")
GERM_CUDA_KERNEL(nf4_quantize, kernels::Nf4Args, "nf4 quantize kernel")
GERM_CUDA_KERNEL(nf4_dequantize, kernels::Nf4Args, "nf4 dequantize kernel")
GERM_CUDA_KERNEL(quantize_tokens, kernels::TokenQuantArgs, "token quantize kernel")
GERM_CUDA_KERNEL(lora_merge, kernels::LoraMergeArgs, "LoRA merge kernel")
#undef GERM_CUDA_KERNEL

void CudaBackend::gemm_geglu(const kernels::GemmGegluArgs& args) {
  cuda_check(kernels::gemm_geglu(args.gemm, stream_), "gemm + GEGLU kernel");
}

void CudaBackend::use_device_here() { cuda_check(cudaSetDevice(index_), "cudaSetDevice"); }

bool CudaBackend::supports(const kernels::GemmGegluArgs& args) {
  use_device_here();
  return kernels::gemm_geglu_fusable(args.gemm);
}

bool CudaBackend::supports(const kernels::LoraGemmArgs& args) {
  use_device_here();
  return kernels::gemm_lora_fusable(args);
}

bool CudaBackend::supports(const kernels::AttentionParams& p) {
  use_device_here();
  return kernels::attention_fused_supported(p);
}

bool CudaBackend::supports(const kernels::AttentionGradParams& g) {
  use_device_here();
  return kernels::attention_backward_fused_supported(g);
}

StoragePtr CudaBackend::allocate(size_t nbytes) {
  try {
    return allocator_.allocate(nbytes);
  } catch (const GermError& e) {
    // JavaScript issues ops ahead of the device, and the buffers of queued
    // tasks stay allocated until the tasks run. Out of memory may only mean
    // that: let the queue drain (the memory of everything disposed comes back)
    // and try once more before reporting it. Not on the executor thread
    // itself, which would wait for its own queue.
    if (e.code() != ErrorCode::OutOfMemory || executor_->on_executor_thread()) throw;
  }
  executor_->drain();
  return allocator_.allocate(nbytes);
}

StoragePtr CudaBackend::scratch_floats(int64_t count) {
  return count > 0 ? allocator_.allocate(static_cast<size_t>(count) * sizeof(float)) : nullptr;
}

StoragePtr CudaBackend::scratch_bytes(size_t count) { return count > 0 ? allocator_.allocate(count) : nullptr; }

// Scratch comes back to the allocator when the task ends; a later user of the
// block is queued after the kernel on the same stream.
void CudaBackend::reduce(const kernels::ReduceArgs& args) {
  StoragePtr scratch = scratch_floats(kernels::reduce_scratch_floats(args));
  cuda_check(kernels::reduce(args, scratch ? static_cast<float*>(scratch->data()) : nullptr, stream_),
             "reduce kernel");
}

void CudaBackend::layernorm_backward(const kernels::LayerNormGradArgs& args) {
  StoragePtr scratch = scratch_floats(kernels::layernorm_backward_scratch_floats(args));
  cuda_check(kernels::layernorm_backward(args, scratch ? static_cast<float*>(scratch->data()) : nullptr, stream_),
             "layernorm backward kernel");
}

int64_t CudaBackend::embedding(const kernels::EmbeddingArgs& args) {
  // The kernel lowers *flag to the first bad position (all ones: none); the
  // read-back waits for it, so only unchecked ids pay that sync.
  StoragePtr flag = args.check ? scratch_bytes(sizeof(unsigned long long)) : nullptr;
  auto* pflag = flag ? static_cast<unsigned long long*>(flag->data()) : nullptr;
  if (pflag) cuda_check(cudaMemsetAsync(pflag, 0xff, sizeof *pflag, stream_), "cudaMemsetAsync");
  cuda_check(kernels::embedding_forward(args, pflag, stream_), "embedding kernel");
  if (!pflag) return -1;
  unsigned long long first = 0;
  copy_to_host(&first, pflag, sizeof first);
  return first == ~0ull ? -1 : static_cast<int64_t>(first);
}

// Fused or naive was chosen on the JavaScript thread (supports() above).
void CudaBackend::attention_forward_fused(const kernels::AttentionParams& p) {
  cuda_check(kernels::attention_forward(p, stream_), "attention forward kernel");
}

void CudaBackend::attention_backward_fused(const kernels::AttentionGradParams& g) {
  StoragePtr scratch = scratch_bytes(kernels::attention_backward_scratch_bytes(g.fwd));
  cuda_check(kernels::attention_backward(g, scratch ? scratch->data() : nullptr, stream_), "attention backward kernel");
}

void CudaBackend::attention_forward(const kernels::AttentionParams& p) {
  StoragePtr scratch = scratch_bytes(kernels::attention_naive_scratch_bytes(p));
  cuda_check(kernels::attention_naive_forward(p, scratch ? scratch->data() : nullptr, stream_),
             "attention forward kernel (unfused)");
}

void CudaBackend::attention_backward(const kernels::AttentionGradParams& g) {
  StoragePtr scratch = scratch_bytes(kernels::attention_naive_scratch_bytes(g.fwd));
  cuda_check(kernels::attention_naive_backward(g, scratch ? scratch->data() : nullptr, stream_),
             "attention backward kernel (unfused)");
}

// quantized GEMMs: split-K partial sums live in scratch for the task's duration
void CudaBackend::qgemm_int(const kernels::IntGemmArgs& a) {
  StoragePtr scratch = scratch_bytes(kernels::qgemm_int_workspace_bytes(a));
  cuda_check(kernels::qgemm_int(a, scratch ? scratch->data() : nullptr, stream_), "integer GEMM kernel (W8A8 / W4A4)");
}
void CudaBackend::qgemm_w4(const kernels::W4Args& a) {
  StoragePtr scratch = scratch_bytes(kernels::qgemm_w4_workspace_bytes(a));
  cuda_check(kernels::qgemm_w4(a, scratch ? scratch->data() : nullptr, stream_), "weight-only 4-bit GEMM kernel");
}

void CudaBackend::fill_zero(void* dst, size_t nbytes) {
  cuda_check(cudaMemsetAsync(dst, 0, nbytes, stream_), "cudaMemsetAsync");
}

void CudaBackend::ensure_staging() {
  if (staging_[0]) return;
  for (int i = 0; i < 2; ++i) {
    cuda_check(cudaHostAlloc(&staging_[i], kStagingBytes, cudaHostAllocDefault), "cudaHostAlloc (staging)");
    cuda_check(cudaEventCreateWithFlags(&staging_done_[i], cudaEventDisableTiming), "cudaEventCreate");
  }
}

void CudaBackend::copy_from_host(void* dst, const void* src, size_t nbytes) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, src) == cudaSuccess && attr.type == cudaMemoryTypeHost) {
    // Already page-locked (an upload_buffer): one DMA, no staging copy.
    cuda_check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync H2D");
    return;
  }
  cudaGetLastError();
  ensure_staging();
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<const char*>(src);
  for (size_t done = 0, i = 0; done < nbytes; done += kStagingBytes, i ^= 1) {
    const size_t len = std::min(kStagingBytes, nbytes - done);
    cuda_check(cudaEventSynchronize(staging_done_[i]), "cudaEventSynchronize");  // buffer i free again
    std::memcpy(staging_[i], s + done, len);
    cuda_check(cudaMemcpyAsync(d + done, staging_[i], len, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync H2D");
    cuda_check(cudaEventRecord(staging_done_[i], stream_), "cudaEventRecord");
  }
  // The caller's host buffer is fully copied into staging: it may go now.
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t nbytes) {
  ensure_staging();
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<const char*>(src);
  // Chunk i+1's DMA is queued before chunk i is copied out of staging.
  size_t pending_off = 0, pending_len = 0;
  int pending_buf = -1;
  for (size_t done = 0, i = 0; done < nbytes; done += kStagingBytes, i ^= 1) {
    const size_t len = std::min(kStagingBytes, nbytes - done);
    cuda_check(cudaMemcpyAsync(staging_[i], s + done, len, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync D2H");
    cuda_check(cudaEventRecord(staging_done_[i], stream_), "cudaEventRecord");
    if (pending_buf >= 0) {
      cuda_check(cudaEventSynchronize(staging_done_[pending_buf]), "cudaEventSynchronize");
      std::memcpy(d + pending_off, staging_[pending_buf], pending_len);
    }
    pending_buf = static_cast<int>(i);
    pending_off = done;
    pending_len = len;
  }
  if (pending_buf >= 0) {
    cuda_check(cudaEventSynchronize(staging_done_[pending_buf]), "cudaEventSynchronize");
    std::memcpy(d + pending_off, staging_[pending_buf], pending_len);
  }
  // Surface asynchronous kernel faults here, where a caller is waiting.
  cuda_check(cudaGetLastError(), "device work before a host read");
}

void CudaBackend::synchronize() { cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

// --- outlier statistics: per-block partials in scratch, merged on the stream.
void CudaBackend::outlier_stats(const kernels::OutlierStatsArgs& args) {
  StoragePtr scratch = scratch_bytes(kernels::outlier_stats_workspace_bytes(args));
  cuda_check(kernels::outlier_stats(args, scratch ? scratch->data() : nullptr, stream_), "outlier stats kernel");
}

}  // namespace germ
