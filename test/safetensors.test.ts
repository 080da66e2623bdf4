import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { SafetensorsFile, loadSafetensors, saveSafetensors, tensor } from '../lib/index';
import { describeDevices } from './helpers/devices';
import { roundBF16 } from './helpers/float16';

const dir = mkdtempSync(path.join(tmpdir(), 'germ-st-'));

/** A file built by hand from the format's definition, independent of saveSafetensors. */
function handMade(header: object | string, data: Uint8Array, declaredLength?: number): string {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  const file = path.join(dir, `hand-${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(file, Buffer.concat([prefix, json, data]));
  return file;
}

describeDevices('safetensors', (device) => {
  it('round-trips every dtype germ holds, with metadata', async () => {
    const file = path.join(dir, `rt-${device.replace(':', '')}.safetensors`);
    const src = {
      'bert.embeddings.word_embeddings.weight': tensor([1.5, -2, 3.25, 4, 5, 6], [2, 3], { device }),
      'half': tensor([0.1, -0.2, 65504], [3], { dtype: 'f16', device }),
      'brain': tensor([0.1, -0.2, 3e38], [3], { dtype: 'bf16', device }),
      'ids': tensor([7, -8, 2147483647], [3], { dtype: 'i32', device }),
      'q8': tensor(new Int8Array([-128, 0, 127]), [3], { device }),
      'packed4': tensor(new Uint8Array([0x12, 0xab]), [2], { device }),
      'empty': tensor([], [0, 4], { device }),
    };
    await saveSafetensors(file, src, { format: 'pt', germ: 'test' });
    const f = await SafetensorsFile.open(file);
    expect(f.metadata).toEqual({ format: 'pt', germ: 'test' });
    expect([...f.entries.keys()].sort()).toEqual(Object.keys(src).sort());
    await f.close();
    const back = await loadSafetensors(file, { device });
    for (const [name, t] of Object.entries(src)) {
      const b = back.get(name)!;
      expect(b.shape, name).toEqual(t.shape);
      expect(b.dtype, name).toBe(t.dtype);
      expect(b.device, name).toBe(device);
      expect(Array.from(await b.bytes()), name).toEqual(Array.from(await t.bytes()));
    }
  });

  it('reads a file written by hand from the format definition, casting on request', async () => {
    // f32 [2, 2] then bf16 [3]; header padded with spaces to 8 bytes as the reference writer does.
    const f32 = new Float32Array([1, 2, 3, 4]);
    const bf = new Uint16Array([0x3f80, 0xc000, 0x4049]); // 1, -2, 3.140625
    const data = new Uint8Array([...new Uint8Array(f32.buffer), ...new Uint8Array(bf.buffer)]);
    let header = JSON.stringify({ __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [16, 22] } });
    header += ' '.repeat((8 - (header.length % 8)) % 8);
    const file = handMade(header, data);
    const f = await SafetensorsFile.open(file);
    expect(Array.from(await (await f.read('a', { device })).data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await (await f.read('b', { device })).data())).toEqual([1, -2, 3.140625]);
    const half = await f.read('a', { device, dtype: 'bf16' });
    expect(half.dtype).toBe('bf16');
    expect(Array.from(await half.data())).toEqual([1, 2, 3, 4].map(roundBF16));
    await f.close();
  });
});

it('rejects malformed and truncated files with ERR_FORMAT, never reading out of bounds', async () => {
  const t = (o: number[]) => ({ x: { dtype: 'F32', shape: [2], data_offsets: o } });
  const eight = new Uint8Array(8);
  const cases: [string, () => string][] = [
    ['too short', () => { const f = path.join(dir, 'short.safetensors'); writeFileSync(f, new Uint8Array(5)); return f; }],
    ['header length past the end', () => handMade(t([0, 8]), eight, 1 << 30)],
    ['not JSON', () => handMade('{"x": ', eight)],
    ['not an object', () => handMade('[1, 2]', new Uint8Array(0))],
    ['unknown dtype', () => handMade({ x: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, eight)],
    ['negative dim', () => handMade({ x: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, eight)],
    ['byte count vs shape', () => handMade({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight)],
    ['truncated data', () => handMade(t([0, 8]), new Uint8Array(4))],
    ['reversed offsets', () => handMade(t([8, 0]), eight)],
    ['overlap', () => handMade({ ...t([0, 8]), y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12))],
    ['gap', () => handMade(t([4, 12]), new Uint8Array(12))],
    ['trailing bytes', () => handMade(t([0, 8]), new Uint8Array(12))],
    ['bad metadata', () => handMade({ __metadata__: { a: 1 }, ...t([0, 8]) }, eight)],
  ];
  for (const [what, make] of cases) {
    const file = make();
    await expect(SafetensorsFile.open(file), what).rejects.toMatchObject({ name: 'GermError', code: 'ERR_FORMAT' });
  }
  // A dtype germ does not hold opens fine and is refused, typed, when read.
  const f = await SafetensorsFile.open(handMade({ d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, eight));
  await expect(f.read('d')).rejects.toMatchObject({ code: 'ERR_DTYPE' });
  await expect(f.read('nope')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  await f.close();
});

it('saves atomically: a failed save leaves the old file whole and no temporary file behind', async () => {
  const file = path.join(dir, 'atomic.safetensors');
  await saveSafetensors(file, { w: tensor([1, 2, 3]) });
  const before = readFileSync(file);
  const gone = tensor([4, 5]);
  gone.dispose();
  await expect(saveSafetensors(file, { a: tensor([9]), b: gone })).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  expect(readFileSync(file).equals(before)).toBe(true);
  expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
});
