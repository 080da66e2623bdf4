#include "task.h"
#include <new>

namespace germ::ops {

std::vector<StoragePtr> storages(std::initializer_list<const TensorPtr*> tensors) {
  std::vector<StoragePtr> out;
  for (const TensorPtr* t : tensors)
    if (t && *t) out.push_back((*t)->storage);
  return out;
}

namespace {

void note_reader(Storage& s, Ticket t) {
  for (Ticket& r : s.readers)
    if (r.executor == t.executor) { r.seq = t.seq; return; }
  s.readers.push_back(t);
}

}  // namespace

void submit(Backend& backend, std::vector<StoragePtr> reads, std::vector<StoragePtr> writes,
            std::function<void(Backend&)> body, std::function<void(ErrorPtr)> on_error) {
  Executor& self = backend.executor();
  std::vector<Ticket> foreign;
  for (const StoragePtr& s : reads)
    if (s->producer.executor && s->producer.executor != &self) foreign.push_back(s->producer);
  // Write-after-read across executors (in-place ops): wait for foreign readers.
  for (const StoragePtr& s : writes)
    for (const Ticket& r : s->readers)
      if (r.executor != &self) foreign.push_back(r);
  const std::vector<StoragePtr> read_list = reads;  // `reads` moves into the task
  Executor::Held held;  // what the queued task keeps alive, for the executor's byte bound
  held.reserve(reads.size() + writes.size());
  for (const auto* list : {&reads, &writes})
    for (const StoragePtr& s : *list) held.push_back(s.get());

  const uint64_t seq = self.submit([&backend, reads = std::move(reads), writes, foreign = std::move(foreign),
                                    body = std::move(body), on_error = std::move(on_error)]() {
    // Waiting only on tasks submitted earlier keeps the wait graph acyclic.
    for (const Ticket& t : foreign) t.executor->wait_for(t.seq);
    ErrorPtr error;
    for (const StoragePtr& s : reads)
      if ((error = s->error())) break;
    if (!error) {
      try {
        body(backend);
      } catch (const GermError& e) {
        error = std::make_shared<GermError>(e);
      } catch (const std::bad_alloc&) {
        error = std::make_shared<GermError>(ErrorCode::OutOfMemory, "out of host memory inside a " +
                                                                        backend.device().str() + " task");
      } catch (const std::exception& e) {
        error = std::make_shared<GermError>(ErrorCode::Internal, e.what());
      }
    }
    if (!error) return;
    for (const StoragePtr& s : writes) s->poison(error);
    if (on_error) on_error(error);
  }, std::move(held));
  for (const StoragePtr& s : writes) {
    s->producer = {&self, seq};
    s->readers.clear();  // every earlier read is ordered before this write now
  }
  for (const StoragePtr& s : read_list) note_reader(*s, {&self, seq});
}

}  // namespace germ::ops
