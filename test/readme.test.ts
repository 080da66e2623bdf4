// The README's API example must work as written: extract the ```ts blocks,
// point `from 'germ-dna'` at this checkout, run them, and check what they print.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { transformSync } from 'esbuild';
import { expect, it } from 'vitest';
import * as germ from '../lib/index';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

it('the README has TypeScript examples', () => {
  expect(blocks.length).toBeGreaterThan(0);
});

blocks.forEach((source, i) => {
  it(`README example ${i + 1} runs and prints what its comments say`, async () => {
    const body = source
      .replace(/import\s*\{([\s\S]*?)\}\s*from\s*'germ-dna';/g, 'const {$1} = __germ;')
      .replace(/import\s*\{([\s\S]*?)\}\s*from\s*'(node:[a-z/]+)';/g, "const {$1} = __require('$2');");
    // esbuild lowers `using` into helpers placed before the code, so the
    // example's promise is handed out through __done rather than returned.
    const js = transformSync(`__done((async () => {\n${body}\n})());`, { loader: 'ts', target: 'es2022' }).code;
    const printed: string[] = [];
    const log = (...args: unknown[]) => printed.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a, (_, v) =>
      ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v))).join(' '));
    let done: Promise<void> | undefined;
    new Function('__germ', '__require', 'console', '__done', js)(germ, createRequire(__filename), { log },
      (p: Promise<void>) => (done = p));
    await done;
    expect(printed.length).toBeGreaterThan(0);
    // Each `// ...` comment that follows a console.log with literal values must match the output.
    if (source.includes('[3, 3, 3, 3, 7.5, 7.5, 7.5, 7.5]')) expect(printed).toContain('[3,3,3,3,7.5,7.5,7.5,7.5]');
    if (source.includes('ERR_SHAPE matmul')) expect(printed).toContain('ERR_SHAPE matmul: inner dims differ in [1, 3] @ [2, 1]');
    if (source.includes('trainBpe')) {
      expect(printed[0]).toBe('[CLS] [SEP] ACGTACGT');
      expect(printed).toContain('["ACG","CGT","GTA"]');
      expect(printed).toContain('ERR_INVALID_ARGUMENT');
      expect(printed[printed.length - 1]).toBe('true');
    }
    if (source.includes('GermModel.load')) {
      expect(printed[0]).toBe('softmax1 ["promoter","enhancer","other"]');
      expect(printed[1]).toMatch(/^64 \d+$/);
      expect(printed[2]).toBe('3 100'); // GATTACA is 5 tokens: 4 heads x 5 x 5
      expect(printed[4]).toMatch(/^\d+ \[".+",".+",".+"\]$/);
    }
    if (source.includes('quantizeNf4')) expect(printed).toEqual(['[64,-127,32,127,127,-32,0,64]', '[2,2]', '128']);
    if (source.includes('OutlierStats')) expect(printed).toEqual(['6.133', '1.117', '6.133']);
    if (source.includes('saveSafetensors')) expect(printed).toEqual(['[3]', '["cls.predictions.bias"] {"format":"pt"}', 'f16']);
    if (source.includes('quantizedLinear'))
      expect(printed).toEqual(['["14.96","0.53","1.52","-10.53"]', '[14577,2080,1024,-20225]', 'f16 ["15.43","1.00","0.41","0.00"]']);
    if (source.includes('doctor()')) expect(printed.slice(1)).toEqual(['true', 'true true']);
    if (source.includes('LoraLinear')) expect(printed).toEqual(['[7,2]', '[3,2] [2,4] [6,0]', '[3,2,0,1]', '[1,0.0079,0,1]']);
  });
});
