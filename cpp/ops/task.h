// Queues one op on its device's executor.
//
// Runs on the JS thread: it records which storages the task reads and writes,
// so that (1) a read of a storage last written on another device's executor
// waits for that write, (2) the storages stay alive until the task ran, and
// (3) a failure inside the task poisons what it writes, and anything that
// reads a poisoned storage fails with the same error instead of computing on
// garbage.
#pragma once
#include <functional>
#include <vector>
#include "../core/backend.h"
#include "../core/tensor.h"

namespace germ::ops {

using ErrorPtr = std::shared_ptr<const GermError>;

// `on_error`, when given, also hears of the failure (the body's own, or the
// poison of an input it was not run for); it runs on the executor thread.
void submit(Backend& backend, std::vector<StoragePtr> reads, std::vector<StoragePtr> writes,
            std::function<void(Backend&)> body, std::function<void(ErrorPtr)> on_error = {});

// Tensor-level convenience: storages of the given tensors.
std::vector<StoragePtr> storages(std::initializer_list<const TensorPtr*> tensors);

}  // namespace germ::ops
