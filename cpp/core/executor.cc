#include "executor.h"
#include "storage.h"
#include <chrono>

namespace germ {

namespace {

// How long an idle executor polls for the next task before it sleeps. Model
// code issues ops every few microseconds; a sleeping thread must be woken by a
// futex call on the JavaScript thread for each of them (several microseconds
// per op, measured as most of the per-op cost of a queued forward pass), while
// a polling one is not asleep, so submit()'s notify finds no waiter and costs
// nothing. After the burst the thread sleeps again, so idle costs no CPU.
// On a single core the spin would only keep the submitting thread off the CPU,
// so there the executor sleeps at once.
constexpr auto kIdleSpin = std::chrono::microseconds(100);
const bool kSpinWhenIdle = std::thread::hardware_concurrency() >= 2;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// The executor whose thread this is, if any: its submits never block.
thread_local const Executor* t_current = nullptr;

}  // namespace

Executor::Executor(std::string name, std::function<void()> on_start)
    : name_(std::move(name)), on_start_(std::move(on_start)), thread_([this] { loop(); }) {}

Executor::~Executor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Executor::over_bounds(double fraction) const {
  const uint64_t ops = submitted_ - completed_;
  return static_cast<double>(ops) >= fraction * kMaxQueuedOps ||
         (ops > 0 && static_cast<double>(held_bytes_.load()) > fraction * static_cast<double>(kMaxQueuedBytes));
}

uint64_t Executor::submit(std::function<void()> fn, Held held) {
  uint64_t seq;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Backpressure (bounds and deadlock freedom: executor.h). Only threads that
    // are no executor's wait, and only while this queue is not empty (so one
    // of its completions will wake them).
    if (t_current == nullptr && over_bounds(1.0))
      done_cv_.wait(lock, [&] { return !over_bounds(kResumeFraction); });
    for (Storage* s : held)
      if (s->queued_holds.fetch_add(1) == 0) {
        s->charged_to.store(this);
        held_bytes_ += s->nbytes();
      }
    queue_.push_back(Item{std::move(fn), std::move(held)});
    queued_.store(queue_.size(), std::memory_order_release);
    seq = ++submitted_;
  }
  work_cv_.notify_one();
  return seq;
}

void Executor::wait_for(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return completed_ >= seq; });
}

void Executor::drain() {
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = submitted_;
  }
  wait_for(target);
}

void Executor::loop() {
  t_current = this;
  if (on_start_) on_start_();
  for (;;) {
    Item task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (kSpinWhenIdle && queue_.empty() && !stop_) {
        lock.unlock();
        const auto until = std::chrono::steady_clock::now() + kIdleSpin;
        while (queued_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) cpu_relax();
        lock.lock();
      }
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
      queued_.store(queue_.size(), std::memory_order_release);
    }
    // Tasks are wrapped by the op layer (cpp/ops/task.cc), which catches every
    // exception, so nothing escapes here; the catch is a last line of defence
    // that keeps the sequence numbers moving.
    try {
      task.fn();
    } catch (...) {
    }
    // Discharge what the task held (while it still holds it), then let go of
    // it, so a submit woken by the byte bound finds the memory back.
    for (Storage* s : task.held) {
      Executor* charged = s->charged_to.load();  // stable while this task holds s
      if (s->queued_holds.fetch_sub(1) == 1) charged->held_bytes_ -= s->nbytes();
    }
    task.fn = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++completed_;
    }
    done_cv_.notify_all();
  }
}

}  // namespace germ
