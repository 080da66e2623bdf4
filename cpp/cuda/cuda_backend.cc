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

void CudaBackend::unary(kernels::UnaryOp op, kernels::KDType in_dt, kernels::KDType out_dt, const void* x, void* y,
                        const kernels::StridedIndex& idx, int64_t n, float alpha, float beta) {
  cuda_check(kernels::unary(op, in_dt, out_dt, x, y, idx, n, alpha, beta, stream_), "unary kernel");
}

void CudaBackend::binary(kernels::BinaryOp op, kernels::KDType dt, const void* a, const void* b, void* y,
                         const kernels::StridedIndex& idx, int64_t n) {
  cuda_check(kernels::binary(op, dt, a, b, y, idx, n, stream_), "binary kernel");
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

void CudaBackend::reduce(kernels::ReduceOp op, kernels::KDType dt, const void* x, void* y, int64_t outer, int64_t len,
                         int64_t inner) {
  // Scratch comes back to the allocator when this task ends; a later user of
  // the block is queued after this kernel on the same stream.
  StoragePtr scratch = scratch_floats(kernels::reduce_scratch_floats(outer, len, inner));
  cuda_check(kernels::reduce(op, dt, x, y, outer, len, inner,
                               scratch ? static_cast<float*>(scratch->data()) : nullptr, stream_),
               "reduce kernel");
}

void CudaBackend::gemm(const kernels::GemmArgs& args) { cuda_check(kernels::gemm(args, stream_), "gemm kernel"); }

bool CudaBackend::gemm_geglu_fusable(const kernels::GemmArgs& args) {
  cuda_check(cudaSetDevice(index_), "cudaSetDevice");  // the JavaScript thread asks
  return kernels::gemm_geglu_fusable(args);
}

void CudaBackend::gemm_geglu(const kernels::GemmArgs& args) {
  cuda_check(kernels::gemm_geglu(args, stream_), "gemm + GEGLU kernel");
}

bool CudaBackend::gemm_lora_fusable(const kernels::LoraGemmArgs& args) {
  cuda_check(cudaSetDevice(index_), "cudaSetDevice");  // the JavaScript thread asks
  return kernels::gemm_lora_fusable(args);
}

void CudaBackend::gemm_lora(const kernels::LoraGemmArgs& args) {
  cuda_check(kernels::gemm_lora(args, stream_), "fused LoRA forward kernel");
}

void CudaBackend::layernorm_forward(kernels::KDType dt, void* out, float* mean, float* rstd, const void* x,
                                    const void* residual, const void* weight, const void* bias, int64_t rows,
                                    int64_t cols, float eps) {
  cuda_check(kernels::layernorm_forward(dt, out, mean, rstd, x, residual, weight, bias, rows, cols, eps, stream_),
               "layernorm forward kernel");
}

void CudaBackend::layernorm_backward(kernels::KDType dt, void* dx, float* dweight, float* dbias, const void* dout,
                                     const void* x, const void* weight, const float* mean, const float* rstd,
                                     int64_t rows, int64_t cols) {
  StoragePtr scratch = scratch_floats(kernels::layernorm_backward_scratch_floats(rows, cols));
  cuda_check(kernels::layernorm_backward(dt, dx, dweight, dbias, dout, x, weight, mean, rstd, rows, cols,
                                           scratch ? static_cast<float*>(scratch->data()) : nullptr, stream_),
               "layernorm backward kernel");
}

StoragePtr CudaBackend::scratch_bytes(size_t count) { return count > 0 ? allocator_.allocate(count) : nullptr; }

int64_t CudaBackend::embedding(kernels::KDType dt, void* out, const void* table, const int32_t* ids, int64_t n,
                               int64_t vocab, int64_t hidden, bool check) {
  // The kernel lowers *flag to the first bad position (all ones: none); the
  // read-back waits for it, so only unchecked ids pay that sync.
  StoragePtr flag = check ? scratch_bytes(sizeof(unsigned long long)) : nullptr;
  auto* pflag = flag ? static_cast<unsigned long long*>(flag->data()) : nullptr;
  if (pflag) cuda_check(cudaMemsetAsync(pflag, 0xff, sizeof *pflag, stream_), "cudaMemsetAsync");
  cuda_check(kernels::embedding_forward(dt, out, table, ids, n, vocab, hidden, pflag, stream_), "embedding kernel");
  if (!pflag) return -1;
  unsigned long long first = 0;
  copy_to_host(&first, pflag, sizeof first);
  return first == ~0ull ? -1 : static_cast<int64_t>(first);
}

void CudaBackend::geglu(kernels::KDType dt, void* out, const void* x, int64_t ldx, const void* bias, int64_t rows,
                        int64_t inner) {
  cuda_check(kernels::geglu(dt, out, x, ldx, bias, rows, inner, stream_), "geglu kernel");
}

// The fused flash kernels take Softmax and Softmax1 on f16 / bf16 with head
// dims 32, 64 and 128; everything else (f32, other head dims, the clipped
// softmax baseline, bf16 on sm_75) runs the unfused kernels, which are exact
// but slow. A fused launch that reports cudaErrorNotSupported falls back too.
static bool fused_attention_fits(const kernels::AttentionParams& p) {
  return p.normalizer != kernels::AttnNormalizer::Clipped &&
         (p.dtype == kernels::KDType::F16 || p.dtype == kernels::KDType::BF16) &&
         (p.head_dim == 32 || p.head_dim == 64 || p.head_dim == 128);
}

void CudaBackend::attention_forward(const kernels::AttentionParams& p) {
  if (fused_attention_fits(p)) {
    const cudaError_t status = kernels::attention_forward(p, stream_);
    if (status != cudaErrorNotSupported) return cuda_check(status, "attention forward kernel");
    cudaGetLastError();
  }
  StoragePtr scratch = scratch_bytes(kernels::attention_naive_scratch_bytes(p));
  cuda_check(kernels::attention_naive_forward(p, scratch ? scratch->data() : nullptr, stream_),
               "attention forward kernel (unfused)");
}

void CudaBackend::attention_backward(const kernels::AttentionGradParams& g) {
  if (fused_attention_fits(g.fwd)) {
    StoragePtr scratch = scratch_bytes(kernels::attention_backward_scratch_bytes(g.fwd));
    const cudaError_t status = kernels::attention_backward(g, scratch ? scratch->data() : nullptr, stream_);
    if (status != cudaErrorNotSupported) return cuda_check(status, "attention backward kernel");
    cudaGetLastError();
  }
  StoragePtr scratch = scratch_bytes(kernels::attention_naive_scratch_bytes(g.fwd));
  cuda_check(kernels::attention_naive_backward(g, scratch ? scratch->data() : nullptr, stream_),
               "attention backward kernel (unfused)");
}

// quantization
void CudaBackend::quantize(const kernels::QuantArgs& a) { cuda_check(kernels::quantize(a, stream_), "quantize kernel"); }
void CudaBackend::dequantize(const kernels::DequantArgs& a) {
  cuda_check(kernels::dequantize(a, stream_), "dequantize kernel");
}
void CudaBackend::nf4_quantize(const kernels::Nf4Args& a) {
  cuda_check(kernels::nf4_quantize(a, stream_), "nf4 quantize kernel");
}
void CudaBackend::nf4_dequantize(const kernels::Nf4Args& a) {
  cuda_check(kernels::nf4_dequantize(a, stream_), "nf4 dequantize kernel");
}

// quantized GEMMs: split-K partial sums live in scratch for the task's duration
void CudaBackend::quantize_tokens(const kernels::TokenQuantArgs& a) {
  cuda_check(kernels::quantize_tokens(a, stream_), "token quantize kernel");
}
void CudaBackend::qgemm_int(const kernels::IntGemmArgs& a) {
  StoragePtr scratch = scratch_bytes(kernels::qgemm_int_workspace_bytes(a));
  cuda_check(kernels::qgemm_int(a, scratch ? scratch->data() : nullptr, stream_), "integer GEMM kernel (W8A8 / W4A4)");
}
void CudaBackend::qgemm_w4(const kernels::W4Args& a) {
  StoragePtr scratch = scratch_bytes(kernels::qgemm_w4_workspace_bytes(a));
  cuda_check(kernels::qgemm_w4(a, scratch ? scratch->data() : nullptr, stream_), "weight-only 4-bit GEMM kernel");
}
void CudaBackend::lora_merge(const kernels::LoraMergeArgs& a) {
  cuda_check(kernels::lora_merge(a, stream_), "LoRA merge kernel");
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
void CudaBackend::outlier_stats(kernels::KDType dt, const void* x, int64_t rows, int64_t cols,
                                const kernels::StatsState* prev, kernels::StatsState* state, float* row_kurt,
                                float* row_absmax, float* col_absmax) {
  StoragePtr scratch = scratch_bytes(kernels::outlier_stats_workspace_bytes(rows));
  cuda_check(kernels::outlier_stats(dt, x, rows, cols, prev, state, row_kurt, row_absmax, col_absmax,
                                    scratch ? scratch->data() : nullptr, stream_),
             "outlier stats kernel");
}

}  // namespace germ
