// The runtime's promises: work off the main thread, safe concurrency, typed
// errors for every bad input, and a process that lives on after them.
import { expect, it } from 'vitest';
import { GermError, devices, matmul, memoryStats, synchronize, tensor, zeros } from '../lib/index';
import { read } from './helpers/check';
import { expectClose } from './helpers/compare';
import { HAS_CUDA, describeDevices } from './helpers/devices';
import { randn } from './helpers/random';
import { matmul64 } from './helpers/reference';

describeDevices('runtime', (device) => {
  it('never blocks the event loop: timers fire while a large matmul runs', async () => {
    const n = device === 'cpu' ? 1536 : 4096;
    const a = tensor(randn(n * n, 1), [n, n], { device }), b = tensor(randn(n * n, 2), [n, n], { device });
    const started = performance.now();
    const c = matmul(a, b); // returns at once
    const submitMs = performance.now() - started;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const data = c.data();
    await data;
    clearInterval(timer);
    const totalMs = performance.now() - started;
    // The call itself only queues the work; the loop kept turning while it ran.
    expect(submitMs).toBeLessThan(totalMs);
    expect(ticks).toBeGreaterThan(0);
  });

  it('many concurrent callers get their own right answers', async () => {
    const jobs = Array.from({ length: 24 }, (_, i) => {
      const m = 3 + (i % 5), k = 8 + i, n = 4 + (i % 3);
      const x = randn(m * k, 100 + i), y = randn(k * n, 200 + i);
      return { want: Array.from(matmul64(x, y, 1, m, k, n), Math.fround),
        got: read(matmul(tensor(x, [m, k], { device }), tensor(y, [k, n], { device }))) };
    });
    const results = await Promise.all(jobs.map((j) => j.got));
    results.forEach((r, i) => expectClose(r, jobs[i].want, { atol: 1e-5, rtol: 1e-5 }, `job ${i}`));
    await synchronize(device);
  });

  it('bad input is a typed GermError and loses nothing', async () => {
    const ok = tensor([1, 2, 3], undefined, { device });
    const cases: [() => unknown, string][] = [
      [() => tensor([1, 2, 3], [2, 2], { device }), 'ERR_SHAPE'],
      [() => tensor([1], [-1], { device }), 'ERR_SHAPE'],
      [() => tensor([1], [1.5], { device }), 'ERR_SHAPE'],
      [() => tensor([1], undefined, { device, dtype: 'f64' as never }), 'ERR_DTYPE'],
      [() => tensor([1], undefined, { device: 'tpu:0' }), 'ERR_DEVICE'],
      [() => tensor([1], undefined, { device: 'cuda:99' }), 'ERR_DEVICE'],
      [() => tensor('ACGT' as never), 'ERR_INVALID_ARGUMENT'],
      [() => tensor(new Uint16Array(2), undefined, { device }), 'ERR_DTYPE'],
      [() => zeros([2 ** 40, 2 ** 20], { device }), 'ERR_SHAPE'],
      [() => ok.sum(5), 'ERR_SHAPE'],
      [() => ok.transpose(0, 3), 'ERR_SHAPE'],
    ];
    for (const [fn, code] of cases) {
      let caught: unknown;
      try {
        fn();
      } catch (e) {
        caught = e;
      }
      expect(caught, `expected ${code}`).toBeInstanceOf(GermError);
      expect((caught as GermError).code).toBe(code);
    }
    expect(Array.from(await ok.data())).toEqual([1, 2, 3]);
  });

  it('out of memory is ERR_OUT_OF_MEMORY, and the device works on afterwards', async () => {
    // 2^48 f32 elements: a petabyte, more than any host or GPU has.
    expect(() => zeros([2 ** 24, 2 ** 24], { device })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_MEMORY' }));
    expect(Array.from(await read(tensor([4, 5], undefined, { device }).add(1)))).toEqual([5, 6]);
  });

  it('reuses device memory across steps instead of allocating each time', async () => {
    const before = memoryStats(device);
    for (let i = 0; i < 20; i++) {
      const x = zeros([256, 256], { device });
      const y = x.add(1);
      x.dispose();
      await read(y);
    }
    const after = memoryStats(device);
    expect(after.allocCalls - before.allocCalls).toBeGreaterThanOrEqual(40);
    if (device !== 'cpu') expect(after.deviceAllocCalls - before.deviceAllocCalls).toBeLessThan(10);
  });
});

it('devices() lists the GPUs, or none', () => {
  const list = devices();
  expect(Array.isArray(list)).toBe(true);
  expect(list.length > 0).toBe(HAS_CUDA);
  for (const d of list) {
    expect(d.device).toMatch(/^cuda:\d+$/);
    expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
    expect(d.totalMemory).toBeGreaterThan(0);
  }
});

it('loads and computes in worker threads alongside the main thread', async () => {
  const { Worker } = await import('node:worker_threads');
  const root = `${__dirname}/..`;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(require.resolve('node-gyp-build', { paths: [workerData.root] }))(workerData.root);
    const a = addon.fromHost(new Float32Array([1, 2, 3, 4]), [2, 2], 'f32', 'cpu');
    addon.matmul(a, a, null, false, false, 1).read().then((b) => parentPort.postMessage(Array.from(new Float32Array(b))));`;
  const runs = Array.from({ length: 3 }, () => new Promise<number[]>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { root } });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  }));
  const main = read(matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 2, 3, 4], [2, 2])));
  for (const r of await Promise.all(runs)) expect(r).toEqual([7, 10, 15, 22]);
  expect(Array.from(await main)).toEqual([7, 10, 15, 22]);
});
