// Regression tests for the fuzzing report's file findings: loaders that hang
// on a FIFO or give a plain EISDIR, temporary files left by killed saves,
// a tensor leaked by every GermModel.load, and FASTA records (gzip bombs)
// with no length limit.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../lib/cli/output';
import { GermError, GermModel, SafetensorsFile, leakedTensors, loadSafetensors, readFasta, saveSafetensors, tensor } from '../lib/index';
import { native, nativePath } from '../lib/native';
import { germ } from './helpers/cli';
import { collect, tempFiles } from './helpers/files';
import { type TinyModel, createTinyModel, randomDna } from './helpers/tiny_model';

const { dir } = tempFiles('germ-findings-files-');
let tiny: TinyModel;

beforeAll(async () => {
  const modelDir = path.join(dir, 'model');
  mkdirSync(modelDir);
  tiny = await createTinyModel({ dir: modelDir });
});

/** A copy of the tiny model folder with `name` replaced by what `make` puts there. */
function modelWith(name: string, make: (file: string) => void): string {
  const d = path.join(dir, `model-${name}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(d);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json'])
    if (f !== name) writeFileSync(path.join(d, f), readFileSync(path.join(tiny.dir, f)));
  make(path.join(d, name));
  return d;
}

function mkfifo(file: string): void {
  const r = spawnSync('mkfifo', [file]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
}

/** Opens a FIFO for writing and closes it, so a reader stuck in open() sees end-of-file. */
function releaseFifo(file: string): void {
  try {
    closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: no reader waits
  }
}

/** Settles `work` within `ms`, or rejects with 'hung'. */
async function settlesWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('hung')), ms)));
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

async function typedError(work: Promise<unknown>, codes: string[], mentions: string): Promise<GermError> {
  const e = await settlesWithin(work.then(() => undefined, (err: unknown) => err), 5000).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(GermError);
  expect(codes).toContain((e as GermError).code);
  expect((e as GermError).message).toContain(mentions);
  return e as GermError;
}

describe('finding 10: loaders refuse FIFOs and folders with a typed error, at once', () => {
  it('model.safetensors as a FIFO: GermModel.load, loadSafetensors and SafetensorsFile.open', async () => {
    let fifo = '';
    const d = modelWith('model.safetensors', (f) => mkfifo((fifo = f)));
    try {
      await typedError(GermModel.load(d, { device: 'cpu' }), ['ERR_FORMAT', 'ERR_INVALID_ARGUMENT'], fifo);
      await typedError(loadSafetensors(fifo), ['ERR_FORMAT', 'ERR_INVALID_ARGUMENT'], fifo);
      await typedError(SafetensorsFile.open(fifo), ['ERR_FORMAT', 'ERR_INVALID_ARGUMENT'], fifo);
    } finally {
      for (let i = 0; i < 4; i++) releaseFifo(fifo);
    }
  });

  it('config.json or tokenizer.json as a FIFO: GermModel.load', async () => {
    for (const name of ['config.json', 'tokenizer.json']) {
      let fifo = '';
      const d = modelWith(name, (f) => mkfifo((fifo = f)));
      try {
        await typedError(GermModel.load(d, { device: 'cpu' }), ['ERR_FORMAT', 'ERR_INVALID_ARGUMENT'], fifo);
      } finally {
        releaseFifo(fifo);
      }
    }
  });

  it('a folder named model.safetensors, config.json or tokenizer.json', async () => {
    for (const name of ['model.safetensors', 'config.json', 'tokenizer.json']) {
      let folder = '';
      const d = modelWith(name, (f) => mkdirSync((folder = f)));
      await typedError(GermModel.load(d, { device: 'cpu' }), ['ERR_FORMAT', 'ERR_INVALID_ARGUMENT'], folder);
    }
    const folder = path.join(dir, 'folder.safetensors');
    mkdirSync(folder);
    await typedError(loadSafetensors(folder), ['ERR_FORMAT', 'ERR_INVALID_ARGUMENT'], folder);
  });

  it('config.json as a link to /dev/zero, or over the size limit (16 MiB): typed errors, at once', async () => {
    let link = '';
    const d = modelWith('config.json', (f) => symlinkSync('/dev/zero', (link = f)));
    await typedError(GermModel.load(d, { device: 'cpu' }), ['ERR_INVALID_ARGUMENT'], link);
    let big = '';
    const d2 = modelWith('config.json', (f) => truncateSync(((big = f), writeFileSync(f, '{}'), f), 17 * 2 ** 20));
    const e = await typedError(GermModel.load(d2, { device: 'cpu' }), ['ERR_FORMAT'], big);
    expect(e.message).toContain(String(16 * 2 ** 20));
  });

  it('germ info on a model folder whose config.json is a FIFO fails with exit code 1', async () => {
    let fifo = '';
    const d = modelWith('config.json', (f) => mkfifo((fifo = f)));
    try {
      const r = await settlesWithin(germ(['info', d, '--device', 'cpu']), 5000);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(fifo);
    } finally {
      releaseFifo(fifo);
    }
  });
});

// ---- temporary files of killed saves

/** Our temporary files: `.<target name>.<pid>.<8 hex>.tmp` beside the target. */
function tempsOf(target: string): string[] {
  const base = path.basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\.${base}\\.\\d+\\.[0-9a-f]{8}\\.tmp$`);
  return readdirSync(path.dirname(target)).filter((n) => re.test(n));
}

let childScript: string | undefined;

/**
 * A node child that saves (safetensors: 'st', or `germ embed -o`: 'cli') to argv target, prints
 * "mid" once the temporary file is partly written, and then stalls the save
 * (a long pbkdf2 occupies the one libuv thread its file writes need) with its
 * event loop free, so a signal finds it mid-save.
 */
function childSource(): string {
  if (childScript) return childScript;
  const src = `
    import { pbkdf2 } from 'node:crypto';
    import { readdirSync, statSync } from 'node:fs';
    import path from 'node:path';
    import { main } from '../lib/cli/main';
    import { saveSafetensors, tensor } from '../lib/index';
    const [mode, target, expected, ...rest] = process.argv.slice(2);
    const dir = path.dirname(target), base = path.basename(target);
    let said = false;
    const watch = () => {
      if (said) return;
      for (const n of readdirSync(dir)) {
        if (!n.startsWith('.' + base + '.') || !n.endsWith('.tmp')) continue;
        const size = statSync(path.join(dir, n), { throwIfNoEntry: false })?.size ?? 0;
        if (size > 0 && size < Number(expected)) {
          said = true;
          pbkdf2('x', 'y', 1e9, 32, 'sha512', () => undefined);
          process.stdout.write('mid\\n');
          return;
        }
      }
      setImmediate(watch);
    };
    if (mode === 'st') {
      const weights = {};
      for (let i = 0; i < 48; i++) weights['t' + i] = tensor(new Float32Array(1 << 19).fill(i), [1 << 19]);
      setImmediate(watch);
      saveSafetensors(target, weights).then(() => process.stdout.write('done\\n'));
    } else {
      setImmediate(watch);
      main(rest).then((code) => process.stdout.write('done ' + code + '\\n'));
    }
  `;
  const out = path.join(dir, 'child.js');
  buildSync({ stdin: { contents: src, resolveDir: __dirname, loader: 'ts' }, bundle: true, platform: 'node', format: 'cjs',
    outfile: out, logLevel: 'silent' });
  return (childScript = out);
}

interface ChildResult {
  signal: NodeJS.Signals | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the child and sends `signal` when it says "mid"; resolves when it exits. */
function runChild(args: string[], signal: NodeJS.Signals): Promise<ChildResult> {
  native();
  const child: ChildProcess = spawn(process.execPath, [childSource(), ...args], {
    env: { ...process.env, GERM_NATIVE_PATH: nativePath(), UV_THREADPOOL_SIZE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('mid\n') && child.signalCode === null && child.exitCode === null) child.kill(signal);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('exit', (code, sig) => {
    clearTimeout(timer);
    resolve({ code, signal: sig, stdout, stderr });
  }));
}

/** The bytes a child's safetensors save writes: 48 f32 tensors of 2^19 elements, plus the header. */
const ST_TOTAL = 48 * 4 * (1 << 19);

describe('temporary files of killed saves', () => {
  it('SIGKILL mid-save leaves a temporary file; the next save to the same target sweeps it', async () => {
    const target = path.join(dir, 'killed', 'model.safetensors');
    mkdirSync(path.dirname(target));
    const r = await runChild(['st', target, String(ST_TOTAL)], 'SIGKILL');
    expect(r.stdout).toContain('mid');
    expect(r.signal).toBe('SIGKILL');
    const left = tempsOf(target);
    expect(left).toHaveLength(1);
    expect(existsSync(target)).toBe(false);

    // Not ours, or not stale: left alone.
    const keep = [
      `.model.safetensors.${process.pid}.0123abcd.tmp`, // a live writer (this process)
      `.other.safetensors.${left[0].split('.')[3]}.0123abcd.tmp`, // another target
      '.model.safetensors.12.notours.tmp',
      'model.safetensors.tmp',
    ];
    for (const n of keep) writeFileSync(path.join(path.dirname(target), n), 'x');
    await saveSafetensors(target, { w: tensor([1, 2, 3]) });
    expect(tempsOf(target).sort()).toEqual([keep[0]]);
    for (const n of keep) expect(existsSync(path.join(path.dirname(target), n))).toBe(true);
    const back = await loadSafetensors(target);
    expect(Array.from(await back.get('w')!.data())).toEqual([1, 2, 3]);
    for (const t of back.values()) t.dispose();
  });

  it('the CLI output sweeps a stale temporary file of its target too', async () => {
    const target = path.join(dir, 'stale-out', 'out.tsv');
    mkdirSync(path.dirname(target));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = path.join(path.dirname(target), `.out.tsv.${dead}.deadbeef.tmp`);
    writeFileSync(stale, 'partial');
    const sink = openSink(target, process.stdout);
    await sink.write('a\n');
    await sink.close();
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(path.dirname(target))).toEqual(['out.tsv']);
  });

  it('SIGTERM mid-save: no temporary file remains, the target is absent, and the process dies of SIGTERM', async () => {
    const target = path.join(dir, 'termed', 'model.safetensors');
    mkdirSync(path.dirname(target));
    const r = await runChild(['st', target, String(ST_TOTAL)], 'SIGTERM');
    expect(r.stdout).toContain('mid');
    expect(r.stdout).not.toContain('done');
    expect(r.signal).toBe('SIGTERM');
    expect(tempsOf(target)).toEqual([]);
    expect(existsSync(target)).toBe(false);
  });

  it('SIGTERM mid-save over an old file: the old file stays whole', async () => {
    const target = path.join(dir, 'termed-old', 'model.safetensors');
    mkdirSync(path.dirname(target));
    await saveSafetensors(target, { old: tensor([7, 8]) });
    const r = await runChild(['st', target, String(ST_TOTAL)], 'SIGTERM');
    expect(r.signal).toBe('SIGTERM');
    expect(tempsOf(target)).toEqual([]);
    const back = await loadSafetensors(target);
    expect([...back.keys()]).toEqual(['old']);
    for (const t of back.values()) t.dispose();
  });

  it('Ctrl-C (SIGINT) during `germ embed -o`: no temporary file, no output file, and the process dies of SIGINT', async () => {
    const target = path.join(dir, 'cli-int', 'out.tsv');
    mkdirSync(path.dirname(target));
    const input = path.join(dir, 'cli-int.fa');
    writeFileSync(input, Array.from({ length: 200 }, (_, i) => `>s${i}\n${randomDna(60, i)}\n`).join(''));
    const r = await runChild(['cli', target, String(1e12), 'embed', tiny.dir, input, '--device', 'cpu', '--batch-size', '1',
      '-o', target, '--no-progress'], 'SIGINT');
    expect(r.stdout).toContain('mid');
    expect(r.signal).toBe('SIGINT');
    expect(readdirSync(path.dirname(target))).toEqual([]);
  });
});

// ---- leaked tensors

describe('GermModel.load leaks nothing', () => {
  async function settle(): Promise<void> {
    const gc = (globalThis as { gc?: () => void }).gc!;
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Tensors the garbage collector freed during `work`, run three times. */
  async function leaks(work: () => Promise<unknown>): Promise<number> {
    await settle();
    const before = leakedTensors();
    for (let i = 0; i < 3; i++) await work();
    await settle();
    return leakedTensors() - before;
  }

  it('leakedTensors() is unchanged after load + dispose + gc', async () => {
    if (!(globalThis as { gc?: () => void }).gc) return expect.fail('run vitest with --expose-gc');
    expect(await leaks(async () => (await GermModel.load(tiny.dir, { device: 'cpu' })).dispose())).toBe(0);
  });

  it('a load that fails after the weights are read frees them (no more leaked than by a good load)', async () => {
    if (!(globalThis as { gc?: () => void }).gc) return expect.fail('run vitest with --expose-gc');
    // A tokenizer without [CLS]: refused by the GermModel constructor, after BertModel.load.
    const d = modelWith('tokenizer.json', (f) => writeFileSync(f, readFileSync(path.join(tiny.dir, 'tokenizer.json'), 'utf8')
      .replaceAll('[CLS]', '[XLS]')));
    await expect(GermModel.load(d, { device: 'cpu' })).rejects.toMatchObject({ code: 'ERR_FORMAT' });
    const good = await leaks(async () => (await GermModel.load(tiny.dir, { device: 'cpu' })).dispose());
    const failed = await leaks(() => GermModel.load(d, { device: 'cpu' }).catch(() => undefined));
    expect(failed).toBe(good);
  });
});

// ---- FASTA record and line limits

describe('readFasta: record and line length limits', () => {
  const codes = (e: unknown) => (e as GermError).code;

  it('a gzipped single-line record over maxRecordLength: ERR_FORMAT naming the record and the limit', async () => {
    const gz = gzipSync(Buffer.from(`>ok\nACGT\n>chr1 big\n${'A'.repeat(2_000_000)}\n`));
    const seen: string[] = [];
    const e = await (async () => {
      for await (const r of readFasta(Readable.from([gz]), { gzip: true, maxRecordLength: 10_000 })) seen.push(r.id);
    })().then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(GermError);
    expect(codes(e)).toBe('ERR_FORMAT');
    expect((e as Error).message).toContain('chr1');
    expect((e as Error).message).toContain('10000');
    expect(seen).toEqual(['ok']);
  });

  it('a record of many lines over the limit too; one exactly at the limit reads', async () => {
    const line = 'ACGT'.repeat(15);
    const text = `>r1\n${`${line}\n`.repeat(100)}>r2\n${`${line}\n`.repeat(101)}`;
    const e = await collect(readFasta(Readable.from([text]), { maxRecordLength: 6000 })).catch((err: unknown) => err);
    expect(codes(e)).toBe('ERR_FORMAT');
    expect((e as Error).message).toContain('r2');
    const ok = await collect(readFasta(Readable.from([`>r1\n${`${line}\n`.repeat(100)}`]), { maxRecordLength: 6000 }));
    expect(ok[0].sequence).toHaveLength(6000);
  });

  it('memory stays bounded: an endless line fails long before its end', async () => {
    let pulled = 0;
    const chunk = 'A'.repeat(1 << 16);
    async function* endless() {
      yield '>endless\n';
      for (let i = 0; i < 512; i++) {
        pulled += chunk.length;
        yield chunk;
      }
    }
    const e = await collect(readFasta(Readable.from(endless()), { maxRecordLength: 100_000 })).catch((err: unknown) => err);
    expect(codes(e)).toBe('ERR_FORMAT');
    expect((e as Error).message).toContain('endless');
    expect(pulled).toBeLessThan(1 << 20);
  });

  it('a header line cannot grow without bound either', async () => {
    async function* header() {
      yield '>';
      for (let i = 0; i < 512; i++) yield 'x'.repeat(1 << 16);
    }
    const e = await collect(readFasta(Readable.from(header()), { maxRecordLength: 100_000 })).catch((err: unknown) => err);
    expect(codes(e)).toBe('ERR_FORMAT');
    expect((e as Error).message).toContain('100000');
  });

  it('maxRecordLength must be a positive integer a string can hold', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 40])
      await expect(collect(readFasta(Readable.from(['>a\nA\n']), { maxRecordLength: bad }))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('germ embed --max-record-length: a longer record fails with exit 1 and names it', async () => {
    const input = path.join(dir, 'long.fa');
    writeFileSync(input, `>short\n${randomDna(50, 1)}\n>toolong\n${randomDna(500, 2)}\n`);
    const r = await germ(['embed', tiny.dir, input, '--device', 'cpu', '--max-record-length', '100']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('toolong');
    expect(r.stderr).toContain('100');
    const ok = await germ(['embed', tiny.dir, input, '--device', 'cpu']);
    expect(ok.code).toBe(0);
  });
});

afterAll(() => {
  if (childScript) rmSync(childScript, { force: true });
});


describe('readFasta on a folder', () => {
  it('is ERR_INVALID_ARGUMENT naming the path, not a plain EISDIR', async () => {
    const folder = path.join(dir, 'folder.fa');
    mkdirSync(folder);
    const e = await collect(readFasta(folder)).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(GermError);
    expect((e as GermError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((e as GermError).message).toContain(folder);
  });
});
