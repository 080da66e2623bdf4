// A typed, strided view of a Storage: the native object behind a JS Tensor.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>
#include "dtype.h"
#include "storage.h"

namespace germ {

using Shape = std::vector<int64_t>;

struct TensorImpl {
  StoragePtr storage;
  DType dtype = DType::F32;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements, from storage->data()

  Device device() const { return storage->device(); }
  int64_t numel() const;
  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  bool is_contiguous() const;
  // Address of element 0 of the view.
  void* data() const { return static_cast<char*>(storage->data()) + offset * dtype_size(dtype); }
};

using TensorPtr = std::shared_ptr<TensorImpl>;

int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

// Wraps a whole storage as a contiguous tensor.
TensorPtr contiguous_tensor(StoragePtr storage, DType dtype, Shape shape);

// Checks that a view stays inside its storage; throws ERR_SHAPE otherwise.
void check_view_bounds(const TensorImpl& t);

}  // namespace germ
