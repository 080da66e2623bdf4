// An in-order task queue served by one dedicated thread: the "stream" of a
// device. Every op on a device is a task here, so ops on one device run in the
// order JavaScript issued them, off the main thread, while the event loop goes
// on. On CUDA the task only enqueues kernels on the device's stream; on CPU it
// runs the kernel on the intra-op pool.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace germ {

class Executor {
 public:
  // `on_start` runs once on the executor thread before any task (e.g. cudaSetDevice).
  explicit Executor(std::string name, std::function<void()> on_start = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues fn and returns its sequence number (1, 2, ...). Thread-safe.
  uint64_t submit(std::function<void()> fn);
  // Blocks until the task with this sequence number has finished.
  void wait_for(uint64_t seq);
  // Blocks until every task submitted so far has finished.
  void drain();
  const std::string& name() const { return name_; }
  // True when called from this executor's own thread (inside a task).
  bool on_executor_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void loop();

  std::string name_;
  std::function<void()> on_start_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::function<void()>> queue_;
  std::atomic<size_t> queued_{0};  // queue_.size(), readable without the lock (the idle spin)
  uint64_t submitted_ = 0, completed_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// Where the current contents of a buffer come from: task `seq` of `executor`.
struct Ticket {
  Executor* executor = nullptr;
  uint64_t seq = 0;
};

}  // namespace germ
