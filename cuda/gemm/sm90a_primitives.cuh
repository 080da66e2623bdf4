// The Hopper building blocks the sm_90a GEMMs share (gemm_wgmma_sm90a.cu,
// ../qgemm/int_gemm_wgmma_sm90a.cu): mbarriers, TMA bulk tensor loads, wgmma
// fences and descriptors, setmaxnreg, and, host side, the tensor maps of
// K-contiguous operands. Included only by *_sm90a.cu files (built for sm_90a
// alone), so the PTX needs no architecture guards beyond the kernels' own.
//
// Shared-memory layout of an operand tile: rows of 128 bytes (64 f16 / bf16,
// or 128 int8), 16-byte chunks XOR-swizzled by (row % 8)
// (CU_TENSOR_MAP_SWIZZLE_128B, wgmma's "128B swizzle" K-major layout); 8-row
// groups 1024 bytes apart, so a descriptor's stride byte offset is 1024 and
// stepping K by 32 bytes (k16 of f16, k32 of int8) adds 32 to its start address.
// The descriptor counts bytes, so nothing in it depends on the element size.
#pragma once
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cstdint>
#include <mutex>

namespace germ::kernels::gemm_detail {

// ---- device: PTX wrappers ------------------------------------------------------

__device__ __forceinline__ uint32_t shared_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}
// TMA: box at (c0 = k, c1 = row, c2 = batch) of `map` into shared memory at
// `dst`, completing `bar` with its byte count. Out-of-range elements are zeros.
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap* map, uint32_t bar, int c0, int c1,
                                            int c2) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], "
      "[%2];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(bar), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// The accumulators are written by the tensor cores behind the compiler's
// back: pin them so no read or write of them moves across a wgmma fence/wait.
template <int N>
__device__ __forceinline__ void pin_registers(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void pin_registers(int32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}
template <int R>
__device__ __forceinline__ void regs_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
}
template <int R>
__device__ __forceinline__ void regs_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
}

// wgmma matrix descriptor of a K-major, 128-byte-swizzled tile starting at
// shared address `addr`: start >> 4 (bits 0-13), leading byte offset (unused
// by swizzled K-major layouts; 1 by convention, bits 16-29), stride byte
// offset 1024 >> 4 (bits 32-45), swizzle mode 1 = 128 B (bits 62-63).
__device__ __forceinline__ uint64_t tile_desc(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (uint64_t(1) << 16) | (uint64_t(1024 >> 4) << 32) |
         (uint64_t(1) << 62);
}

// ---- host: tensor maps -------------------------------------------------------------

// cuTensorMapEncodeTiled is a driver function; the runtime is linked
// statically and libcuda is loaded by it at run time, so take the entry point
// from the runtime rather than linking libcuda.
inline PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult status;
    // The by-version query arrived in CUDA 12.5 and its unversioned form left in
    // 13.0; the shipped binary is built with 12.4, developers may use 13.
#if CUDART_VERSION >= 12050
    const cudaError_t err = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000,
                                                             cudaEnableDefault, &status);
#else
    const cudaError_t err = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &ptr, cudaEnableDefault, &status);
#endif
    if (err == cudaSuccess && status == cudaDriverEntryPointSuccess)
      fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(ptr);
    (void)cudaGetLastError();
  });
  return fn;
}

// A 3-D map (k, rows, batch) over a K-contiguous operand of `elem`-byte
// elements (`type`), read in boxes of 128 bytes of K x box_rows x 1 with
// 128-byte swizzle; the copy engine zero-fills what lies past k, rows or
// batch. ld and batch_stride count elements. false when the copy engine cannot
// describe it (alignment, strides); the caller then takes another kernel.
inline bool encode_kmajor_operand(CUtensorMap* map, CUtensorMapDataType type, int64_t elem, const void* ptr,
                                  int64_t rows, int64_t k, int64_t ld, int64_t batch, int64_t batch_stride,
                                  int box_rows) {
  auto encode = tensor_map_encoder();
  if (encode == nullptr) return false;
  // With one batch entry the batch stride is never stepped; any legal value will do.
  const int64_t bstride = batch > 1 ? batch_stride : ld * rows;
  if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0 || (ld * elem) % 16 != 0 || (bstride * elem) % 16 != 0 ||
      bstride <= 0 || (ld * elem) >= (int64_t(1) << 40) || (bstride * elem) >= (int64_t(1) << 40))
    return false;
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(k), static_cast<cuuint64_t>(rows),
                              static_cast<cuuint64_t>(batch)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(ld * elem), static_cast<cuuint64_t>(bstride * elem)};
  const cuuint32_t box[3] = {static_cast<cuuint32_t>(128 / elem), static_cast<cuuint32_t>(box_rows), 1};
  const cuuint32_t unit[3] = {1, 1, 1};
  return encode(map, type, 3, const_cast<void*>(ptr), dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

}  // namespace germ::kernels::gemm_detail
