import { expect, it } from 'vitest';
import { GermError, leakedTensors, ones, tensor, zeros } from '../lib/index';
import { describeDevices } from './helpers/devices';
import { roundBF16, roundF16 } from './helpers/float16';
import { randn } from './helpers/random';

describeDevices('tensor', (device) => {
  it('round-trips every dtype from typed arrays and number[]', async () => {
    const f = tensor(new Float32Array([1.5, -2, 3.25, 4]), [2, 2], { device });
    expect(f.shape).toEqual([2, 2]);
    expect(f.dtype).toBe('f32');
    expect(f.device).toBe(device);
    expect(Array.from(await f.data())).toEqual([1.5, -2, 3.25, 4]);
    expect(Array.from(await tensor([7, -8, 9], [3], { dtype: 'i32', device }).data())).toEqual([7, -8, 9]);
    expect(Array.from(await tensor(new Int8Array([-128, 5, 127]), undefined, { device }).data())).toEqual([-128, 5, 127]);
    expect(Array.from(await tensor(new Uint8Array([0, 200, 255]), undefined, { device }).data())).toEqual([0, 200, 255]);
    const big = tensor(new Int32Array([2147483647, -2147483648]), undefined, { device });
    expect(Array.from(await big.data())).toEqual([2147483647, -2147483648]);
  });

  it('rounds to f16 and bf16 to nearest-even, as IEEE 754 defines', async () => {
    const x = randn(4096, 1, 3);
    // Edge values: ties, the f16 max, overflow, subnormals, signed zero.
    x.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 7e4, 2 ** -24, 2 ** -25, 3 * 2 ** -26, -0, 1e-9]);
    for (const [dtype, round] of [['f16', roundF16], ['bf16', roundBF16]] as const) {
      const got = await tensor(x, undefined, { dtype, device }).data();
      for (let i = 0; i < x.length; i++) expect(Object.is(got[i], round(x[i])) || got[i] === round(x[i]), `${dtype} ${x[i]} -> ${got[i]}`).toBe(true);
    }
  });

  it('casts floats to integers rounding to nearest-even and saturating', async () => {
    const x = tensor([2.5, 3.5, -2.5, 300, -300, 1e10, -1e10, 0.49], undefined, { device });
    expect(Array.from(await x.cast('i8').data())).toEqual([2, 4, -2, 127, -128, 127, -128, 0]);
    expect(Array.from(await x.cast('u8').data())).toEqual([2, 4, 0, 255, 0, 255, 0, 0]);
    expect(Array.from(await x.cast('i32').data())).toEqual([2, 4, -2, 300, -300, 2147483647, -2147483648, 0]);
  });

  it('fills, views and copies without touching the source', async () => {
    expect(Array.from(await zeros([2, 3], { device }).data())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await ones([3], { device, dtype: 'bf16' }).data())).toEqual([1, 1, 1]);
    const x = tensor([0, 1, 2, 3, 4, 5], [2, 3], { device });
    expect(Array.from(await x.transpose().data())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(x.transpose().shape).toEqual([3, 2]);
    expect(Array.from(await x.narrow(1, 1, 2).data())).toEqual([1, 2, 4, 5]);
    expect(Array.from(await x.reshape([3, -1]).data())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(await x.transpose().reshape([6]).data())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(x.unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(Array.from(await x.permute([1, 0]).contiguous().data())).toEqual([0, 3, 1, 4, 2, 5]);
    const back = x.to('cpu').to(device);
    expect(Array.from(await back.data())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => x.reshape([4, 2])).toThrow(GermError);
    expect(() => x.narrow(1, 2, 2)).toThrow(/outside/);
  });

  it('handles empty tensors', async () => {
    const e = zeros([0, 4], { device });
    expect(e.size).toBe(0);
    expect((await e.data()).length).toBe(0);
    expect((await e.sum(0).data()).length).toBe(4);
  });

  it('dispose frees, use after dispose is a typed error, and `using` disposes', async () => {
    const x = tensor([1, 2, 3], undefined, { device });
    x.dispose();
    x.dispose(); // twice is fine
    expect(x.disposed).toBe(true);
    expect(() => x.shape).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    let escaped;
    {
      using y = tensor([1], undefined, { device });
      escaped = y;
    }
    expect(escaped.disposed).toBe(true);
  });

  it('counts tensors freed by the garbage collector instead of dispose()', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return expect.fail('run vitest with --expose-gc (vitest.config.ts sets it)');
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await settle(); // earlier tests' garbage first
    const before = leakedTensors();
    (() => {
      for (let i = 0; i < 20; i++) tensor([i], undefined, { device });
    })();
    for (let i = 0; i < 10 && leakedTensors() - before < 20; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(leakedTensors() - before).toBeGreaterThanOrEqual(20);
  });
});
