#include "cpu_backend.h"
#include <cstring>
#include "../cpu/attention.h"
#include "../cpu/ops.h"

namespace germ {

CpuBackend::CpuBackend() { executor_ = std::make_unique<Executor>("germ-cpu"); }

// Each kernel is the cpp/cpu/ function of the same name.
#define GERM_CPU_KERNEL(ret, name, Args) \
  ret CpuBackend::name(const Args& args) { return cpu::name(args); }
GERM_BACKEND_KERNELS(GERM_CPU_KERNEL)
#undef GERM_CPU_KERNEL

void CpuBackend::fill_zero(void* dst, size_t nbytes) { std::memset(dst, 0, nbytes); }

void CpuBackend::copy_from_host(void* dst, const void* src, size_t nbytes) { std::memcpy(dst, src, nbytes); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t nbytes) { std::memcpy(dst, src, nbytes); }

}  // namespace germ
