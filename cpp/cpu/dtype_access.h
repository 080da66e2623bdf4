// Loading and storing any KDType as f32: the one piece of code every CPU op
// uses to read its inputs and round into its output.
//
// Ops work on small f32 blocks (kBlock elements, on the stack): gather +
// convert a block of each input, compute in f32, convert + store the block.
// Keeping the conversion out of the math loops means 6 loaders and 6 storers
// instead of one instantiation per (dtype pair, op).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include "../../contract/kernel_types.h"
#include "half.h"

namespace germ::cpu {

using kernels::KDType;

// Elements per f32 block: 4 KiB, so a few blocks stay in L1.
constexpr int64_t kBlock = 1024;

// Calls fn(T{}) with T the storage type of dt (float, Half, BFloat16, int8_t,
// int32_t, uint8_t) and returns what it returns.
template <class Fn>
decltype(auto) dispatch_dtype(KDType dt, Fn&& fn) {
  switch (dt) {
    case KDType::F32: return fn(float{});
    case KDType::F16: return fn(Half{});
    case KDType::BF16: return fn(BFloat16{});
    case KDType::I8: return fn(int8_t{});
    case KDType::I32: return fn(int32_t{});
    case KDType::U8: return fn(uint8_t{});
  }
  throw std::invalid_argument("germ cpu: unknown dtype code " +
                              std::to_string(static_cast<int>(dt)));
}

// dst[i] = float(base[start + i]) for i < count.
void load_as_float(KDType dt, const void* base, int64_t start, int64_t count, float* dst);

// dst[i] = float(operand `operand` of idx at output element start + i).
void load_strided_as_float(KDType dt, const void* base, const kernels::StridedIndex& idx,
                           int operand, int64_t start, int64_t count, float* dst);

// base[start + i] = round(src[i]) into dt, for i < count.
void store_from_float(KDType dt, const float* src, void* base, int64_t start, int64_t count);

// v[i] = float(round(v[i]) into dt), in place: what a store and a reload give.
void round_through(KDType dt, float* v, int64_t count);

}  // namespace germ::cpu
