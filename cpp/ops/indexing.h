// Shape arithmetic for elementwise ops: broadcasting and the collapse of a
// strided iteration into the fewest dims (kernels::StridedIndex).
#pragma once
#include <string>
#include "../core/tensor.h"

namespace germ::ops {

// NumPy broadcasting of two shapes; throws ERR_SHAPE naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Strides of `t` seen through the broadcast `out_shape` (0 on broadcast dims).
Shape broadcast_strides(const TensorImpl& t, const Shape& out_shape);

// Builds the kernel index for iterating `out_shape` with up to two operands'
// strides, dropping size-1 dims and merging dims that are contiguous for every
// operand. Throws ERR_SHAPE if more than kMaxDims dims remain.
kernels::StridedIndex make_index(const Shape& out_shape, const Shape& stride0, const Shape& stride1 = {});

}  // namespace germ::ops
