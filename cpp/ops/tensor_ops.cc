// Creation, device movement, views, casts and host reads.
#include <cstring>
#include "../cpu/parallel_copy.h"
#include "indexing.h"
#include "ops.h"
#include "task.h"

namespace germ::ops {

using kernels::UnaryOp;

TensorPtr from_host(const void* data, size_t nbytes, DType dtype, const Shape& shape, Device device) {
  Backend& be = backend_for(device);
  TensorPtr t = empty(be, dtype, shape);
  const size_t want = static_cast<size_t>(t->numel() * dtype_size(dtype));
  if (nbytes != want)
    throw GermError(ErrorCode::Shape, "tensor: " + std::to_string(nbytes) + " bytes of data for shape " +
                                          shape_str(shape) + " of " + dtype_name(dtype) + " (needs " +
                                          std::to_string(want) + ")");
  if (!device.is_cuda()) {
    // A fresh storage no task knows yet: fill it right here.
    cpu::parallel_copy(t->data(), data, nbytes);
    return t;
  }
  // The caller's buffer belongs to JavaScript and may change after we return:
  // copy it now, into memory the device DMAs from directly, and upload it on
  // the device's stream.
  StoragePtr staged = be.upload_buffer(nbytes);
  cpu::parallel_copy(staged->data(), data, nbytes);
  void* dst = t->data();
  const void* src = staged->data();
  submit(be, {staged}, {t->storage}, [dst, src, nbytes](Backend& b) { b.copy_from_host(dst, src, nbytes); });
  return t;
}

TensorPtr full(const Shape& shape, DType dtype, Device device, double value) {
  const float v = static_cast<float>(value);
  TensorPtr one = from_host(&v, sizeof v, DType::F32, {1}, device);
  // Broadcast the single element (stride 0) into the new tensor, casting once.
  TensorPtr out = empty(backend_for(device), dtype, shape);
  const int64_t n = out->numel();
  kernels::StridedIndex idx;
  idx.ndim = 1;
  idx.shape[0] = n;
  idx.stride[0][0] = 0;
  const kernels::UnaryArgs a{UnaryOp::Identity, kd(DType::F32), kd(dtype), one->data(), out->data(), idx, n};
  submit(backend_for(device), storages({&one}), {out->storage}, [a](Backend& b) {
    if (a.n) b.unary(a);
  });
  return out;
}

TensorPtr view(const TensorPtr& t, const Shape& shape, const Shape& strides, int64_t offset) {
  auto v = std::make_shared<TensorImpl>(*t);
  v->shape = shape;
  v->strides = strides;
  v->offset = offset;
  check_view_bounds(*v);
  return v;
}

TensorPtr contiguous(const TensorPtr& t) {
  if (t->is_contiguous()) return t;
  return unary(UnaryOp::Identity, t);
}

TensorPtr cast(const TensorPtr& t, DType dtype) {
  if (t->dtype == dtype) return t;
  Backend& be = backend_for(t->device());
  TensorPtr out = empty(be, dtype, t->shape);
  const kernels::StridedIndex idx = make_index(t->shape, t->strides);
  const int64_t n = t->numel();
  const kernels::UnaryArgs a{UnaryOp::Identity, kd(t->dtype), kd(dtype), t->data(), out->data(), idx, n};
  submit(be, storages({&t}), {out->storage}, [a](Backend& b) {
    if (a.n) b.unary(a);
  });
  return out;
}

TensorPtr to_device(const TensorPtr& t, Device device) {
  if (t->device() == device) return t;
  if (t->device().is_cuda() && device.is_cuda()) return to_device(to_device(t, Device::cpu()), device);
  const TensorPtr src = contiguous(t);
  Backend& dst_be = backend_for(device);
  TensorPtr out = empty(dst_be, src->dtype, src->shape);
  const size_t nbytes = static_cast<size_t>(src->numel() * dtype_size(src->dtype));
  const void* from = src->data();
  void* to = out->data();
  // Both directions run on the CUDA side's executor, the one that owns the
  // stream: an upload waits for the CPU producer of `src` (cross-executor
  // ticket), a download returns only when the bytes are on the host.
  if (device.is_cuda()) {
    submit(dst_be, storages({&src}), {out->storage}, [=](Backend& b) {
      if (nbytes) b.copy_from_host(to, from, nbytes);
    });
  } else {
    submit(backend_for(src->device()), storages({&src}), {out->storage}, [=](Backend& b) {
      if (nbytes) b.copy_to_host(to, from, nbytes);
    });
  }
  return out;
}

void read_bytes(const TensorPtr& t, ReadDone done) {
  const TensorPtr src = contiguous(t);
  const size_t nbytes = static_cast<size_t>(src->numel() * dtype_size(src->dtype));
  const void* from = src->data();
  submit(
      backend_for(src->device()), storages({&src}), {},
      [=](Backend& b) {
        auto bytes = std::make_shared<std::vector<uint8_t>>(nbytes);
        if (nbytes) b.copy_to_host(bytes->data(), from, nbytes);
        done(std::move(bytes), nullptr);
      },
      [done](ErrorPtr e) { done(nullptr, std::move(e)); });
}

void synchronize(Device device, std::function<void(std::shared_ptr<const GermError>)> done) {
  submit(
      backend_for(device), {}, {},
      [done](Backend& b) {
        b.synchronize();
        done(nullptr);
      },
      done);
}

}  // namespace germ::ops
