// GERM_HD marks the contract's small functions that both the CUDA kernels and
// the CPU backend call: host and device under nvcc, plain inline in the
// CPU-only build, which sees no CUDA headers.
#pragma once

#if defined(__CUDACC__)
#define GERM_HD __host__ __device__ __forceinline__
#else
#define GERM_HD inline
#endif
