// concat_rows: stacks tensors along dim 0 into one contiguous tensor. Each
// part fills a contiguous slab of the output, so the copy is the existing
// strided identity kernel once per part: no kernel of its own. LoRA uses it
// to build [W; A] once when an adapter is attached (lib/lora/).
#include <algorithm>
#include "indexing.h"
#include "ops.h"
#include "task.h"

namespace germ::ops {

TensorPtr concat_rows(const std::vector<TensorPtr>& parts) {
  const char* op = "catRows";
  if (parts.empty()) throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": no tensors to concatenate");
  const TensorPtr& first = parts[0];
  std::string shapes;
  for (const TensorPtr& p : parts) shapes += (shapes.empty() ? "" : ", ") + shape_str(p->shape);
  int64_t rows = 0;
  for (const TensorPtr& p : parts) {
    require_same_device(op, {&first, &p});
    if (p->dtype != first->dtype)
      throw GermError(ErrorCode::Dtype, std::string(op) + ": dtypes differ (" + dtype_name(first->dtype) + " and " +
                                            dtype_name(p->dtype) + ") in " + shapes);
    if (p->ndim() < 1 || p->ndim() != first->ndim() ||
        !std::equal(p->shape.begin() + 1, p->shape.end(), first->shape.begin() + 1))
      throw GermError(ErrorCode::Shape, std::string(op) + ": all but the first dim must match, got " + shapes);
    rows += p->shape[0];
  }
  Shape out_shape = first->shape;
  out_shape[0] = rows;
  Backend& be = backend_for(first->device());
  TensorPtr out = empty(be, first->dtype, out_shape);

  struct Slab {
    kernels::StridedIndex idx;
    const void* src;
    int64_t n, offset_bytes;
  };
  std::vector<Slab> slabs;
  std::vector<StoragePtr> reads;
  int64_t offset = 0;
  for (const TensorPtr& p : parts) {
    const int64_t n = p->numel();
    if (n) slabs.push_back({make_index(p->shape, p->strides), p->data(), n, offset});
    offset += n * dtype_size(p->dtype);
    reads.push_back(p->storage);
  }
  const kernels::KDType dt = kd(first->dtype);
  char* dst = static_cast<char*>(out->data());
  submit(be, std::move(reads), {out->storage}, [slabs = std::move(slabs), dt, dst](Backend& b) {
    kernels::UnaryArgs a;
    a.in_dt = a.out_dt = dt;
    for (const Slab& s : slabs) {
      a.x = s.src;
      a.y = dst + s.offset_bytes;
      a.idx = s.idx;
      a.n = s.n;
      b.unary(a);
    }
  });
  return out;
}

}  // namespace germ::ops
