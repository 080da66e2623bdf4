// Dynamic batching of concurrent requests. Every sequence of every request is
// one job; jobs wait in arrival order and the next forward pass takes as many
// compatible jobs (same key: same kind of result asked for) as fit the limits.
// Passes run one at a time, each awaiting its results, so while one runs on
// the device the event loop keeps accepting requests, and they form the next
// batch.
import { GermError } from '../errors';

export interface Job<K, R = unknown> {
  ids: Int32Array;
  /** Jobs batch together only with keys the batcher's `same` calls equal. */
  key: K;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export interface BatchLimits {
  maxBatchTokens: number;
  maxBatchSize: number;
}

export class Batcher<K> {
  private queue: Job<K>[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly limits: BatchLimits, private readonly same: (a: K, b: K) => boolean,
    private readonly runGroup: (key: K, jobs: Job<K>[]) => Promise<void>) {}

  /** Queues jobs; each settles through its own resolve / reject. */
  push(jobs: Job<K>[]): void {
    if (this.closed) {
      for (const j of jobs) j.reject(new GermError('the model was disposed', 'ERR_DISPOSED'));
      return;
    }
    this.queue.push(...jobs);
    if (!this.running) this.running = this.drain();
  }

  /** The next group: the oldest job's key, in arrival order, within the limits (one job always fits). */
  private take(): Job<K>[] {
    const key = this.queue[0].key;
    const group: Job<K>[] = [], rest: Job<K>[] = [];
    let tokens = 0;
    for (const job of this.queue) {
      const fits = this.same(job.key, key) && group.length < this.limits.maxBatchSize &&
        (group.length === 0 || tokens + job.ids.length <= this.limits.maxBatchTokens);
      if (fits) {
        group.push(job);
        tokens += job.ids.length;
      } else {
        rest.push(job);
      }
    }
    this.queue = rest;
    return group;
  }

  private async drain(): Promise<void> {
    // Let the current tick's other requests join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const group = this.take();
      try {
        await this.runGroup(group[0].key, group);
      } catch (e) {
        for (const j of group) j.reject(e);
      }
    }
    this.running = null;
  }

  /** Refuses new jobs; resolves once every job already queued has run. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
