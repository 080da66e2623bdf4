// gemm(): validates the arguments, picks a kernel and launches it.
//
// Choice, in order:
//   1. nothing to write (m, n or batch == 0)             -> return
//   2. f32                                               -> SIMT (exact f32 FMA)
//   3. f16/bf16, tensor cores usable and operands aligned -> mma.sync kernel
//      else                                              -> SIMT with guarded loads
//   4. tile: the 128x128 config when its grid fills the GPU at least once,
//      otherwise the 32x32 one (small M, or small problems).
//   On compute 9.0 with the sm_90a kernel built, step 3 first offers large
//   x @ W^T problems to the wgmma kernel (gemm_wgmma_sm90a.cu).
//
// "Tensor cores usable" is decided by the code that will actually run, not by
// the device alone: cudaFuncGetAttributes(...).ptxVersion of the loaded
// tensor-core kernel tells whether it was built from sm_80+ code (cp.async ring,
// bf16 MMA) or from the compute_75 PTX that a driver JIT-compiles for a newer
// GPU (register-staged pipeline, f16 only). That keeps a compute_75-only build
// correct on an H100, and keeps the shared-memory size the host requests in step
// with the pipeline depth the kernel was compiled with. Cached per device.
#include "gemm.h"
#include <cstdlib>
#include "../common/launch_utils.cuh"
#ifdef GERM_HAVE_SM90A
#include "gemm_sm90a.h"
#endif
#include "gemm_simt.cuh"
#include "gemm_tensorcore.cuh"

namespace germ::kernels {
namespace {

using namespace gemm_detail;

constexpr int64_t kMaxGridZ = 65535;

struct ArchInfo {
  int code_arch = 0;  // PTX arch of the loaded tensor-core kernel (75, 80, 86, 89, 90)
  int cc = 0;         // the device's compute capability (10 * major + minor)
  int sm_count = 0;
  int max_smem_optin = 0;
};

cudaError_t arch_info(ArchInfo* out) {
  DeviceInfo d;
  const cudaError_t e = device_info(&d);
  if (e != cudaSuccess) return e;
  out->sm_count = d.sm_count;
  out->cc = d.cc;
  out->max_smem_optin = d.max_smem_optin;
  // pre-Turing or no tensor-core image: 1, SIMT only
  out->code_arch = d.cc >= 75 && d.code_arch > 0 ? d.code_arch : 1;
  return cudaSuccess;
}

GemmParams to_params(const GemmArgs& a) {
  GemmParams p{};
  p.m = a.m; p.n = a.n; p.k = a.k; p.batch = a.batch;
  p.a = a.a; p.lda = a.lda; p.stride_a = a.stride_a;
  p.b = a.b; p.ldb = a.ldb; p.stride_b = a.stride_b;
  p.c = a.c; p.ldc = a.ldc; p.stride_c = a.stride_c;
  p.bias = a.bias; p.alpha = a.alpha; p.beta = a.beta;
  p.trans_a = a.trans_a; p.trans_b = a.trans_b;
  return p;
}

dim3 grid_for(const GemmParams& p, int bm, int bn) {
  const int64_t tiles = ceil_div(p.m, bm) * ceil_div(p.n, bn);
  return dim3(static_cast<unsigned>(tiles), 1, static_cast<unsigned>(p.batch < kMaxGridZ ? p.batch : kMaxGridZ));
}

template <class Tr, typename T>
cudaError_t launch_simt(const GemmParams& p, cudaStream_t stream) {
  gemm_simt_kernel<Tr, T><<<grid_for(p, Tr::BM, Tr::BN), Tr::kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

template <class Tr, typename T, bool kTA, bool kTB>
cudaError_t launch_tc(const GemmParams& p, const ArchInfo& arch, cudaStream_t stream) {
  const int stages = arch.code_arch >= 80 ? Tr::kStagesAsync : Tr::kStagesRegs;
  const int smem = Tr::smem_bytes(kTA, kTB, stages);
  auto kernel = gemm_tc_kernel<Tr, T, kTA, kTB>;
  if (smem > 48 * 1024) {
    if (smem > arch.max_smem_optin) return cudaErrorInvalidConfiguration;
    // Raising the dynamic limit is per function; it is cheap, so just do it.
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    if (e != cudaSuccess) return e;
  }
  kernel<<<grid_for(p, Tr::BM, Tr::BN), Tr::kThreads, smem, stream>>>(p);
  return cudaGetLastError();
}

template <class Tr, typename T>
cudaError_t launch_tc_trans(const GemmParams& p, const ArchInfo& arch, cudaStream_t stream) {
  if (p.trans_a) {
    return p.trans_b ? launch_tc<Tr, T, true, true>(p, arch, stream) : launch_tc<Tr, T, true, false>(p, arch, stream);
  }
  return p.trans_b ? launch_tc<Tr, T, false, true>(p, arch, stream) : launch_tc<Tr, T, false, false>(p, arch, stream);
}

// The tensor-core loaders move 16-byte chunks: every row start must be 16-byte
// aligned, so base pointers, leading dimensions and batch strides must be too.
bool tc_aligned(const GemmParams& p) {
  auto ok = [&](const void* ptr, int64_t ld, int64_t stride) {
    return aligned_to(ptr, 16) && ld % 8 == 0 && (p.batch == 1 || stride % 8 == 0);
  };
  return ok(p.a, p.lda, p.stride_a) && ok(p.b, p.ldb, p.stride_b);
}

bool large_tiles_fill_gpu(const GemmParams& p, int bm, int bn, int sm_count) {
  return ceil_div(p.m, bm) * ceil_div(p.n, bn) * p.batch >= sm_count;
}

}  // namespace

#ifdef GERM_HAVE_SM90A
bool sm90a_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("GERM_DISABLE_SM90A");
    return v == nullptr || v[0] == '\0' || v[0] == '0';
  }();
  return enabled;
}

namespace {
// A compute 9.0 device running this build's sm_90a code, not switched off:
// where the fused Hopper-only kernels (GEGLU, LoRA) can run at all.
bool sm90a_ready() {
  ArchInfo arch;
  return arch_info(&arch) == cudaSuccess && arch.cc == 90 && arch.code_arch >= 90 && sm90a_enabled();
}

template <class Args>
cudaError_t run_sm90a(cudaError_t (*launch)(const Args&, int, cudaStream_t), const Args& args, int64_t m,
                      cudaStream_t stream) {
  ArchInfo arch;
  const cudaError_t e = arch_info(&arch);
  if (e != cudaSuccess) return e;
  if (m == 0) return cudaSuccess;
  return launch(args, arch.sm_count, stream);
}
}  // namespace

bool gemm_geglu_fusable(const GemmArgs& args) { return sm90a_ready() && gemm_geglu_sm90a_accepts(args); }
cudaError_t gemm_geglu(const GemmArgs& args, cudaStream_t stream) {
  return run_sm90a(gemm_geglu_sm90a, args, args.m, stream);
}
bool gemm_lora_fusable(const LoraGemmArgs& args) { return sm90a_ready() && gemm_lora_sm90a_accepts(args); }
cudaError_t gemm_lora(const LoraGemmArgs& args, cudaStream_t stream) {
  return run_sm90a(gemm_lora_sm90a, args, args.base.m, stream);
}
#else
// Built without sm_90a: the fused Hopper kernels do not exist, and callers compose.
bool gemm_geglu_fusable(const GemmArgs&) { return false; }
cudaError_t gemm_geglu(const GemmArgs&, cudaStream_t) { return cudaErrorNotSupported; }
bool gemm_lora_fusable(const LoraGemmArgs&) { return false; }
cudaError_t gemm_lora(const LoraGemmArgs&, cudaStream_t) { return cudaErrorNotSupported; }
#endif

cudaError_t gemm(const GemmArgs& args, cudaStream_t stream) {
  if (args.m < 0 || args.n < 0 || args.k < 0 || args.batch < 0) return cudaErrorInvalidValue;
  if (args.m == 0 || args.n == 0 || args.batch == 0) return cudaSuccess;
  if (args.c == nullptr || (args.k > 0 && (args.a == nullptr || args.b == nullptr))) return cudaErrorInvalidValue;
  // Leading dimensions must cover a row of the stored matrix.
  const int64_t a_row = args.trans_a ? args.m : args.k, b_row = args.trans_b ? args.k : args.n;
  if (args.ldc < args.n || (args.k > 0 && (args.lda < a_row || args.ldb < b_row))) return cudaErrorInvalidValue;
  // Grid x counts tiles; even the small tiles of a 2^31 x 2^31 output fit.
  if (ceil_div(args.m, TcSmall::BM) * ceil_div(args.n, TcSmall::BN) > 0x7fffffff) return cudaErrorInvalidValue;

  ArchInfo arch;
  cudaError_t e = arch_info(&arch);
  if (e != cudaSuccess) return e;
  const GemmParams p = to_params(args);
  const bool big_simt = large_tiles_fill_gpu(p, SimtLarge::BM, SimtLarge::BN, arch.sm_count);

  if (args.dtype == KDType::F32) {
    return big_simt ? launch_simt<SimtLarge, float>(p, stream) : launch_simt<SimtSmall, float>(p, stream);
  }
  return dispatch_float_dtype(args.dtype, [&](auto t) -> cudaError_t {
    using T = decltype(t);
    if constexpr (std::is_same<T, float>::value) {
      return cudaErrorInvalidValue;  // handled above
    } else {
      const bool tc_arch = std::is_same<T, __half>::value ? arch.code_arch >= 75 : arch.code_arch >= 80;
#ifdef GERM_HAVE_SM90A
      // Hopper: wgmma + TMA for x @ W^T once the problem fills the GPU with
      // 128 x 128 tiles (smaller ones stream the weight better through the
      // small mma.sync tiles). It declines layouts and alignments it cannot
      // take, and those fall through.
      if (arch.cc == 90 && arch.code_arch >= 90 && sm90a_enabled() &&
          large_tiles_fill_gpu(p, TcLarge::BM, TcLarge::BN, arch.sm_count)) {
        bool launched = false;
        const cudaError_t err = gemm_sm90a(args, arch.sm_count, stream, &launched);
        if (launched || err != cudaSuccess) return err;
      }
#endif
      if (tc_arch && tc_aligned(p)) {
        return large_tiles_fill_gpu(p, TcLarge::BM, TcLarge::BN, arch.sm_count)
                   ? launch_tc_trans<TcLarge, T>(p, arch, stream)
                   : launch_tc_trans<TcSmall, T>(p, arch, stream);
      }
      return big_simt ? launch_simt<SimtLarge, T>(p, stream) : launch_simt<SimtSmall, T>(p, stream);
    }
  });
}

}  // namespace germ::kernels
