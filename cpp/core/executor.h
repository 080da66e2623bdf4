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
#include <vector>

namespace germ {

class Storage;

// Backpressure. JavaScript issues ops faster than a device runs them, and a
// queued task keeps the buffers it reads and writes alive even after JS
// disposed them, so an unbounded queue is unbounded memory (a loop of 100,000
// small ops each disposed at once once held 2.95 GB). The bounds, stated here
// once, per executor:
//   - kMaxQueuedOps tasks submitted and not finished, or
//   - kMaxQueuedBytes of distinct buffers held by those tasks (a buffer that
//     many queued tasks share, such as a weight, counts once).
// A submit() that finds either bound exceeded blocks the submitting thread
// until the queue has drained to kResumeFraction of both (or is empty), then
// queues its task.
// The executor never waits on the JS thread (a task waits only for earlier
// tasks of other executors, and completions reach JS through a non-blocking,
// unbounded thread-safe function: cpp/napi/completions.cc), so a blocked JS
// thread is always woken. Submits from an executor thread itself (or another
// executor's) never block: that could wait on its own queue, or on a task that
// waits for it.
constexpr size_t kMaxQueuedOps = 1024;
constexpr size_t kMaxQueuedBytes = size_t(1) << 30;  // 1 GiB
constexpr double kResumeFraction = 0.75;

class Executor {
 public:
  // The storages a task keeps alive until it has run (for the byte bound).
  using Held = std::vector<Storage*>;

  // `on_start` runs once on the executor thread before any task (e.g. cudaSetDevice).
  explicit Executor(std::string name, std::function<void()> on_start = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues fn and returns its sequence number (1, 2, ...). Thread-safe. May
  // block while the queue is over its bounds (see kMaxQueuedOps); `held` are
  // the buffers fn keeps alive until it has run.
  uint64_t submit(std::function<void()> fn, Held held = {});
  // Blocks until the task with this sequence number has finished.
  void wait_for(uint64_t seq);
  // Blocks until every task submitted so far has finished.
  void drain();
  const std::string& name() const { return name_; }
  // True when called from this executor's own thread (inside a task).
  bool on_executor_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  struct Item {
    std::function<void()> fn;
    Held held;
  };
  void loop();
  bool over_bounds(double fraction) const;  // with mu_ held

  std::string name_;
  std::function<void()> on_start_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Item> queue_;
  // Bytes of the distinct storages queued tasks hold, each counted on the
  // executor that queued it first (Storage::queued_holds, Storage::charged_to).
  std::atomic<size_t> held_bytes_{0};
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
