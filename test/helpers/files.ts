// Temporary input files and the checks the readers' tests share.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { GermError } from '../../lib/errors';

/** A fresh folder, removed after the calling test file; file() writes into it and returns the path. */
export function tempFiles(prefix: string): { dir: string; file: (name: string, data: string | Uint8Array) => string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file(name, data) {
      const p = path.join(dir, name);
      writeFileSync(p, data);
      return p;
    },
  };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The message of the GermError ERR_FORMAT that `work` must reject with. */
export async function formatError(work: Promise<unknown>): Promise<string> {
  const e = await work.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(GermError);
  expect((e as GermError).code).toBe('ERR_FORMAT');
  return (e as GermError).message;
}
