// The CPU backend's intra-op pool (see thread_pool.h for the contract).
//
// Design: every parallel_for call becomes a Job holding an atomic "next chunk"
// counter. The job is queued; idle workers wake, claim chunks of the job at the
// head of the queue until none are left, then move on. The calling thread claims
// chunks of its own job too, so a call always makes progress even when every
// worker is busy with another caller's job, and several threads may call
// parallel_for at once without serialising whole calls.
//
// Workers sleep on a condition variable when there is nothing queued: no spin.
// A thread_local flag marks "running inside a task"; a nested parallel_for sees
// it and runs serially, which keeps the pool free of deadlocks by construction.
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace germ::cpu {
namespace {

// Upper bound on pool size; beyond this a typo in GERM_NUM_THREADS would only
// cost memory and scheduler churn.
constexpr int kMaxThreads = 256;

// Chunks per participating thread: a few per thread lets fast threads pick up
// the slack of slow ones (other load on the machine, uneven GEMM edge tiles).
constexpr int64_t kChunksPerThread = 4;

thread_local bool t_inside_task = false;

int threads_from_environment() {
  if (const char* s = std::getenv("GERM_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && v >= 1) return static_cast<int>(std::min<long>(v, kMaxThreads));
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min<unsigned>(hw, kMaxThreads));
}

// One parallel_for call. Lives on the caller's stack, so the caller must not
// return while any worker may still touch it: a worker registers itself in
// `participants` (under the pool mutex) before it looks at the job, and the
// caller waits until every chunk is finished and no participant is left.
struct Job {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;
  int64_t chunk = 0;       // items per chunk (the last may be shorter)
  int64_t num_chunks = 0;
  std::atomic<int64_t> next{0};  // next chunk to claim
  int64_t finished = 0;          // guarded by Pool::mu_
  int participants = 0;          // workers inside run_chunks, guarded by Pool::mu_
  std::exception_ptr error;      // first exception, guarded by Pool::mu_
  std::condition_variable done_cv;
};

class Pool {
 public:
  Pool() : target_threads_(threads_from_environment()) {}

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int num_threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return target_threads_;
  }

  void set_num_threads(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    target_threads_ = std::clamp(n, 1, kMaxThreads);
  }

  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    int threads = num_threads();
    if (t_inside_task || threads <= 1 || n <= grain) {
      fn(0, n);
      return;
    }

    Job job;
    job.fn = &fn;
    job.n = n;
    int64_t wanted = std::min<int64_t>(n / grain, threads * kChunksPerThread);
    job.chunk = (n + wanted - 1) / wanted;  // >= grain because wanted <= n / grain
    job.num_chunks = (n + job.chunk - 1) / job.chunk;

    {
      std::lock_guard<std::mutex> lock(mu_);
      ensure_workers_locked(threads - 1);
      queue_.push_back(&job);
    }
    // Wake only as many workers as could usefully help.
    int64_t helpers = std::min<int64_t>(threads - 1, job.num_chunks - 1);
    for (int64_t i = 0; i < helpers; ++i) work_cv_.notify_one();

    run_chunks(job);

    std::unique_lock<std::mutex> lock(mu_);
    job.done_cv.wait(lock, [&] { return done_locked(job); });
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  // Spawn workers up to `count`; never shrinks (a lower target just leaves
  // surplus workers asleep, see worker_loop). If the OS refuses a thread, go on
  // with the workers there are: the caller runs any chunk nobody else claims.
  void ensure_workers_locked(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      int index = static_cast<int>(workers_.size());
      try {
        workers_.emplace_back([this, index] { worker_loop(index); });
      } catch (const std::system_error&) {
        return;
      }
    }
  }

  static bool done_locked(const Job& job) {
    return job.finished == job.num_chunks && job.participants == 0;
  }

  // Claims and runs chunks of `job` until none are left unclaimed.
  void run_chunks(Job& job) {
    bool was_inside = t_inside_task;
    t_inside_task = true;
    for (;;) {
      int64_t c = job.next.fetch_add(1, std::memory_order_relaxed);
      if (c >= job.num_chunks) break;
      if (c == job.num_chunks - 1) dequeue(job);  // last chunk claimed: stop advertising it
      int64_t begin = c * job.chunk;
      int64_t end = std::min(job.n, begin + job.chunk);
      std::exception_ptr err;
      try {
        (*job.fn)(begin, end);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (err && !job.error) job.error = err;
      if (++job.finished == job.num_chunks && done_locked(job)) job.done_cv.notify_all();
    }
    t_inside_task = was_inside;
  }

  void dequeue(Job& job) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(queue_.begin(), queue_.end(), &job);
    if (it != queue_.end()) queue_.erase(it);
  }

  void worker_loop(int index) {
    t_inside_task = true;  // anything a worker runs is a task: nested calls go serial
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      // Workers with index >= target-1 sit out after set_num_threads lowered it.
      work_cv_.wait(lock, [&] {
        return stopping_ || (!queue_.empty() && index < target_threads_ - 1);
      });
      if (stopping_) return;
      Job* job = queue_.front();
      ++job->participants;  // pins the job on its caller's stack (see Job)
      lock.unlock();
      run_chunks(*job);
      lock.lock();
      if (--job->participants == 0 && done_locked(*job)) job->done_cv.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Job*> queue_;
  std::vector<std::thread> workers_;
  int target_threads_;
  bool stopping_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return pool().num_threads(); }

void set_num_threads(int n) { pool().set_num_threads(n); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  pool().parallel_for(n, grain, fn);
}

}  // namespace germ::cpu
