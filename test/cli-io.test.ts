// The CLI's pieces that need no model: format detection, batching, number
// formatting and the TSV / JSON Lines writers.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batches, detectFormat } from '../lib/cli/input';
import { classificationHeader, classificationLine, embeddingLine, formatFloat, openSink } from '../lib/cli/output';
import type { Classification } from '../lib/model/types';
import { tempFiles } from './helpers/files';
import { randn } from './helpers/random';

const { dir } = tempFiles('germ-cli-io-');

describe('detectFormat', () => {
  it('knows FASTA and CSV names, gzipped too, and stdin', () => {
    for (const f of ['a.fa', 'a.fasta', 'A.FNA', 'x/y.fa.gz', 'b.fas', '-']) expect(detectFormat(f)).toBe('fasta');
    for (const f of ['train.csv', 'dev.tsv', 'test.csv.gz']) expect(detectFormat(f)).toBe('csv');
    for (const f of ['a.txt', 'a.gz', 'fa', 'a.fa.bz2']) expect(detectFormat(f)).toBeUndefined();
  });
});

describe('batches', () => {
  it('cuts a stream into arrays of at most n, in order', async () => {
    async function* items() {
      for (let i = 0; i < 7; i++) yield i;
    }
    const out: number[][] = [];
    for await (const b of batches(items(), 3)) out.push(b);
    expect(out).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });
});

describe('formatFloat', () => {
  it('prints the shortest decimal that reads back as the same float32', () => {
    expect(formatFloat(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat(1)).toBe('1');
    expect(formatFloat(-2.5)).toBe('-2.5');
    expect(formatFloat(Math.fround(1e-7))).toBe('1e-7');
    expect(formatFloat(Math.fround(123456.789))).toBe('123456.79');
    for (const x of randn(2000, 3, 10)) {
      const s = formatFloat(x);
      expect(Math.fround(Number(s))).toBe(x);
      expect(s.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
    }
  });
});

describe('writers', () => {
  const c: Classification = { probabilities: new Float32Array([0.25, 0.75]), logits: new Float32Array([0, 1]), labelId: 1, label: 'b' };

  it('TSV: id then values; tabs and newlines in ids escaped', () => {
    expect(embeddingLine('s1', new Float32Array([0.5, -1, 3]), false)).toBe('s1\t0.5\t-1\t3\n');
    expect(embeddingLine('a\tb\nc\\d', new Float32Array([1]), false)).toBe('a\\tb\\nc\\\\d\t1\n');
    expect(classificationHeader(['a', 'b'])).toBe('id\tlabel\ta\tb\n');
    expect(classificationLine('s1', c, ['a', 'b'], false)).toBe('s1\tb\t0.25\t0.75\n');
  });

  it('JSON Lines: one object per line; NaN as null', () => {
    expect(JSON.parse(embeddingLine('x"y', new Float32Array([0.5, NaN]), true))).toEqual({ id: 'x"y', embedding: [0.5, null] });
    expect(embeddingLine('s', new Float32Array([1]), true)).toBe('{"id":"s","embedding":[1]}\n');
    expect(classificationLine('s1', c, ['a', 'b'], true)).toBe('{"id":"s1","label":"b","probabilities":{"a":0.25,"b":0.75}}\n');
  });
});

describe('openSink', () => {
  it('writes a file only when closed, and leaves nothing when aborted', async () => {
    const out = path.join(dir, 'out.tsv');
    const sink = openSink(out, process.stdout);
    await sink.write('a\n');
    expect(readdirSync(dir)).not.toContain('out.tsv');
    await sink.write('b\n');
    await sink.close();
    expect(readFileSync(out, 'utf8')).toBe('a\nb\n');

    const failed = openSink(path.join(dir, 'failed.tsv'), process.stdout);
    await failed.write('partial\n');
    await failed.abort();
    expect(readdirSync(dir)).toEqual(['out.tsv']);
  });

  it('reports an unwritable folder', async () => {
    const sink = openSink(path.join(dir, 'no', 'such', 'dir.tsv'), process.stdout);
    await expect(sink.write('x\n').then(() => sink.close())).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
