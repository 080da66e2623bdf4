// The backend interface: one instance per device, owning that device's
// executor (its stream), its allocator and its kernels.
//
// Threading: allocate() and memory_stats() are called on a JS thread; every
// other method runs on the backend's executor thread, inside a task.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "../../contract/attention_params.h"
#include "../../contract/kernel_types.h"
#include "../../contract/lora_args.h"
#include "../../contract/qgemm_args.h"
#include "../../contract/quant_math.h"
#include "device.h"
#include "error.h"
#include "executor.h"
#include "storage.h"

namespace germ::kernels {
struct StatsState;  // outlier statistics: cuda/stats/moments.h
}

namespace germ {

struct MemoryStats {
  int64_t allocated_bytes = 0;  // held by live storages
  int64_t reserved_bytes = 0;   // allocated plus cached for reuse
  int64_t peak_allocated_bytes = 0;
  int64_t alloc_calls = 0;      // requests served
  int64_t device_alloc_calls = 0;  // of which went to the system / cudaMalloc
};

struct DeviceInfo {
  std::string device;  // "cpu" or "cuda:N"
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int64_t total_memory = 0;
  int multiprocessors = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  Executor& executor() { return *executor_; }

  // Throws GermError(ERR_OUT_OF_MEMORY) when the memory is not there.
  virtual StoragePtr allocate(size_t nbytes) = 0;
  virtual MemoryStats memory_stats() = 0;
  virtual void empty_cache() {}

  // Kernels (executor thread). Pointers are into this device's storages.
  virtual void unary(kernels::UnaryOp op, kernels::KDType in_dt, kernels::KDType out_dt, const void* x, void* y,
                     const kernels::StridedIndex& idx, int64_t n, float alpha, float beta) = 0;
  virtual void binary(kernels::BinaryOp op, kernels::KDType dt, const void* a, const void* b, void* y,
                      const kernels::StridedIndex& idx, int64_t n) = 0;
  virtual void reduce(kernels::ReduceOp op, kernels::KDType dt, const void* x, void* y, int64_t outer, int64_t len,
                      int64_t inner) = 0;
  virtual void gemm(const kernels::GemmArgs& args) = 0;
  // GEMM with GEGLU in its epilogue (cuda/gemm/gemm.h): only backends with a
  // fused kernel say yes (asked on the JavaScript thread, before the output
  // exists); the op composes gemm + geglu everywhere else.
  virtual bool gemm_geglu_fusable(const kernels::GemmArgs&) { return false; }
  virtual void gemm_geglu(const kernels::GemmArgs&) {
    throw GermError(ErrorCode::Internal, "gemm_geglu: no fused kernel on " + device().str());
  }
  // The fused LoRA forward (kernels::LoraGemmArgs), asked and composed likewise.
  virtual bool gemm_lora_fusable(const kernels::LoraGemmArgs&) { return false; }
  virtual void gemm_lora(const kernels::LoraGemmArgs&) {
    throw GermError(ErrorCode::Internal, "gemm_lora: no fused kernel on " + device().str());
  }
  // residual: null, or added to x before the normalisation (addLayerNorm).
  virtual void layernorm_forward(kernels::KDType dt, void* out, float* mean, float* rstd, const void* x,
                                 const void* residual, const void* weight, const void* bias, int64_t rows,
                                 int64_t cols, float eps) = 0;
  virtual void layernorm_backward(kernels::KDType dt, void* dx, float* dweight, float* dbias, const void* dout,
                                  const void* x, const void* weight, const float* mean, const float* rstd,
                                  int64_t rows, int64_t cols) = 0;
  // Row gather out[i, :] = table[ids[i], :] (ids: n int32 in this device's
  // memory); an id outside [0, vocab) gives a zero row. With `check` it
  // returns the position of the first such id, or -1 (on CUDA this waits for
  // the kernel); without, it returns -1 at once.
  virtual int64_t embedding(kernels::KDType dt, void* out, const void* table, const int32_t* ids, int64_t n,
                            int64_t vocab, int64_t hidden, bool check) = 0;
  // GEGLU over rows of 2 * inner (row stride ldx) into contiguous [rows, inner].
  virtual void geglu(kernels::KDType dt, void* out, const void* x, int64_t ldx, const void* bias, int64_t rows,
                     int64_t inner) = 0;

  // Attention (contract: cuda/attention/attention_params.h). The sequence
  // arrays in the params point into this device's memory.
  virtual void attention_forward(const kernels::AttentionParams& p) = 0;
  virtual void attention_backward(const kernels::AttentionGradParams& g) = 0;
  virtual void fill_zero(void* dst, size_t nbytes) = 0;

  // --- outlier statistics (contract: cuda/stats/stats.h). x contiguous
  // [rows, cols], rows, cols >= 1; prev: null or one StatsState on this
  // device; state, row_kurt [rows], row_absmax [rows], col_absmax [cols]
  // are written.
  virtual void outlier_stats(kernels::KDType dt, const void* x, int64_t rows, int64_t cols,
                             const kernels::StatsState* prev, kernels::StatsState* state, float* row_kurt,
                             float* row_absmax, float* col_absmax) = 0;
  // Quantization (contract: cuda/quant/quant_math.h): uniform quantize /
  // dequantize, and NF4 with optional double quantization of its absmax.
  virtual void quantize(const kernels::QuantArgs& a) = 0;
  virtual void dequantize(const kernels::DequantArgs& a) = 0;
  virtual void nf4_quantize(const kernels::Nf4Args& a) = 0;
  virtual void nf4_dequantize(const kernels::Nf4Args& a) = 0;
  // Quantized GEMMs (contract: cuda/qgemm/qgemm_args.h): per-token int8
  // activation quantization (optionally smoothed), the integer GEMM (W8A8 /
  // W6A6 / W4A4), weight-only 4-bit (int4, NF4).
  virtual void quantize_tokens(const kernels::TokenQuantArgs& a) = 0;
  virtual void qgemm_int(const kernels::IntGemmArgs& a) = 0;
  virtual void qgemm_w4(const kernels::W4Args& a) = 0;
  // LoRA merge W += scale * B A in place (contract: cuda/lora/lora_args.h).
  virtual void lora_merge(const kernels::LoraMergeArgs& a) = 0;

  // Host memory the device can read fast, for uploads: pinned on CUDA. The
  // caller fills it on its own thread, then queues copy_from_host from it.
  virtual StoragePtr upload_buffer(size_t nbytes) = 0;

  // Copies between host memory and this device (executor thread). Both return
  // only when `host` may be reused or read (a pinned upload_buffer source may
  // still be in flight: it guards its own reuse).
  virtual void copy_from_host(void* device_dst, const void* host_src, size_t nbytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* device_src, size_t nbytes) = 0;
  // Returns when all work queued on the device has finished (executor thread).
  virtual void synchronize() {}

 protected:
  std::unique_ptr<Executor> executor_;
};

// The backend of a device, created on first use. Throws ERR_DEVICE for a
// CUDA device that does not exist or cannot run this binary, saying why
// (cpp/backend/cuda_status.h).
Backend& backend_for(Device device);
// Backends created so far (for draining at shutdown).
std::vector<Backend*> live_backends();

// What hardware is here: the CPU first, then each usable CUDA device.
std::vector<DeviceInfo> list_devices();
int cuda_device_count();     // as the driver reports (usable or not); 0 without a driver, a device or CUDA support
bool built_with_cuda();

}  // namespace germ
