// A block of memory on one device, shared by the tensors that view it.
//
// Lifetime: held by shared_ptr from every TensorImpl that views it and from
// every queued task that reads or writes it, so dispose() in JavaScript while a
// task is still queued is safe; the memory goes back to its allocator when the
// last holder lets go.
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>
#include "device.h"
#include "error.h"
#include "executor.h"

namespace germ {

class Storage {
 public:
  using Release = std::function<void(void*, size_t)>;
  Storage(Device device, void* data, size_t nbytes, Release release)
      : device_(device), data_(data), nbytes_(nbytes), release_(std::move(release)) {}
  ~Storage() {
    if (release_) release_(data_, nbytes_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // The task that last wrote this storage. Set on the submitting thread right
  // after the task is queued; read by later submits to order across devices.
  Ticket producer;

  // The latest task of each executor that reads this storage. Only ops that
  // write in place (matmulInto, loraMerge) need it: such a write must wait for
  // reads queued on other executors (an upload of a CPU weight runs on the CUDA
  // executor) so they still see the old contents. Touched on the JS thread
  // only, like `producer`; one entry per executor, so it stays tiny.
  std::vector<Ticket> readers;

  // Backpressure (cpp/core/executor.h): how many queued tasks hold this
  // storage, and the executor whose held bytes count it; the first task to
  // hold it charges its executor, the last one to let go discharges it.
  std::atomic<uint32_t> queued_holds{0};
  std::atomic<Executor*> charged_to{nullptr};

  // An op that should have filled this storage failed asynchronously: the
  // failure travels with the data, and reading it (or anything computed from
  // it) rejects with this error, like a sticky CUDA error but per tensor.
  void poison(std::shared_ptr<const GermError> e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = std::move(e);
  }
  std::shared_ptr<const GermError> error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  Device device_;
  void* data_;
  size_t nbytes_;
  Release release_;
  mutable std::mutex mu_;
  std::shared_ptr<const GermError> error_;
};

using StoragePtr = std::shared_ptr<Storage>;

}  // namespace germ
