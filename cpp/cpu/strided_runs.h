// Walks a StridedIndex operand in runs along its innermost dim.
//
// An elementwise op visits output elements [start, start + count) in order; for
// input operand `operand` that is a sequence of runs of constant element stride
// (1 when contiguous, 0 when broadcast). Handing whole runs to the caller keeps
// the index arithmetic (a div/mod per dim) out of the per-element loop, so the
// loops over a run vectorise.
#pragma once
#include <algorithm>
#include <cstdint>
#include "../../contract/kernel_types.h"

namespace germ::cpu {

// fn(src_offset, src_stride, run_length, dst_position) for each run, where
// src_offset is in elements of the operand and dst_position counts from start.
template <class Fn>
void for_each_strided_run(const kernels::StridedIndex& idx, int operand, int64_t start,
                          int64_t count, Fn&& fn) {
  const int nd = idx.ndim;
  if (nd <= 0) {  // a 0-d view: treat as contiguous (one element in practice)
    fn(start, int64_t{1}, count, int64_t{0});
    return;
  }
  const int64_t* shape = idx.shape;
  const int64_t* stride = idx.stride[operand];

  // Multi-index of `start`, innermost dim last.
  int64_t pos[kernels::kMaxDims];
  int64_t rem = start, offset = 0;
  for (int d = nd - 1; d >= 0; --d) {
    int64_t extent = shape[d] > 0 ? shape[d] : 1;
    pos[d] = rem % extent;
    rem /= extent;
    offset += pos[d] * stride[d];
  }

  const int last = nd - 1;
  int64_t done = 0;
  while (done < count) {
    int64_t run = std::min(count - done, shape[last] - pos[last]);
    fn(offset, stride[last], run, done);
    done += run;
    if (done >= count) break;
    // Step to the start of the next innermost row: carry through outer dims.
    offset -= pos[last] * stride[last];
    pos[last] = 0;
    for (int d = last - 1; d >= 0; --d) {
      offset += stride[d];
      if (++pos[d] < shape[d]) break;
      offset -= pos[d] * stride[d];
      pos[d] = 0;
    }
  }
}

}  // namespace germ::cpu
