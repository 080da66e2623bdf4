// Intra-op thread pool for the CPU backend.
//
// One pool per process, sized from the GERM_NUM_THREADS environment variable or
// std::thread::hardware_concurrency(). parallel_for splits [0, n) into chunks of
// at least `grain` items and runs them on the pool and the calling thread, and
// returns when all are done. Nested calls from inside a task run serially, so a
// kernel may call helpers that themselves use parallel_for.
#pragma once
#include <cstdint>
#include <functional>

namespace germ::cpu {

int num_threads();
void set_num_threads(int n);  // takes effect for later parallel_for calls

// fn(begin, end) over disjoint ranges covering [0, n).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace germ::cpu
