// The child process of the crash-catching properties (loaders.test.ts,
// inputs.test.ts): helpers_child.ts bundles this file with lib/ (esbuild) and
// runs it as `node child.js cases.json`. For each case it writes a line
// {"start": id} before the work and {"id", "ok", ...} after it, each with one
// synchronous write, so that when the process dies or hangs the parent knows
// which case did it. A case's outcome is a result (with a small summary of
// it) or a thrown error (its class, GermError code and message).
import { readFileSync, writeSync } from 'node:fs';
import * as germ from '../../lib/index';

export interface ChildCase {
  id: number;
  /** What to do with `path` / `args` (see run below). */
  kind: string;
  path?: string;
  /** Encoded with encodeArg (helpers_child.ts): JSON plus tags for values JSON has not. */
  args?: unknown[];
}

export interface ChildOutcome {
  id: number;
  ok: boolean;
  /** ok: a summary of the result (counts, lengths, values the parent checks). */
  summary?: Record<string, unknown>;
  /** !ok: the error's class name, whether it is a GermError, its code and message. */
  name?: string;
  germ?: boolean;
  code?: string;
  message?: string;
}

// Decodes the tags of helpers_child.ts's encodeArg; {$: 'tensor', ...} builds a tensor in this process.
function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  switch (o.$) {
    case 'NaN': return NaN;
    case 'Inf': return Infinity;
    case '-Inf': return -Infinity;
    case '-0': return -0;
    case 'undefined': return undefined;
    case 'bigint': return BigInt(o.v as string);
    case 'symbol': return Symbol('junk');
    case 'function': return () => 1;
    case 'f32': return Float32Array.from(decode(o.v) as number[]);
    case 'f64': return Float64Array.from(decode(o.v) as number[]);
    case 'i32': return Int32Array.from(o.v as number[]);
    case 'u8': return Uint8Array.from(o.v as number[]);
    case 'u16': return Uint16Array.from(o.v as number[]);
    case 'disposed': {
      const t = germ.tensor([1, 2], [2]);
      t.dispose();
      return t;
    }
    case 'tensor': return germ.tensor(Float32Array.from(o.data as number[]), o.shape as number[], { dtype: o.dtype as germ.DType });
    case 'obj': {
      // an object whose keys may be __proto__ & co., as own properties
      const out: Record<string, unknown> = {};
      for (const [k, x] of o.entries as [string, unknown][])
        Object.defineProperty(out, k, { value: decode(x), enumerable: true, writable: true, configurable: true });
      return out;
    }
    default: throw new Error(`child: unknown tag ${String(o.$)}`);
  }
}

async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

const hostValues = async (t: germ.Tensor): Promise<number[]> => Array.from((await t.data()) as ArrayLike<number>);

/** JSON has no NaN or infinities: those travel as 'NaN', 'Infinity', '-Infinity' (Number() reads them back). */
const finite = (x: number): number | string => (Number.isFinite(x) ? x : String(x));

/** Every tensor-valued result is read (so deferred native errors surface), summarised, and freed. */
async function summarise(r: unknown): Promise<Record<string, unknown>> {
  if (r instanceof germ.Tensor) {
    try {
      const data = await hostValues(r);
      return { shape: r.shape, dtype: r.dtype, data: data.length <= 64 ? data.map(finite) : data.length };
    } finally {
      r.dispose();
    }
  }
  if (r instanceof Float32Array) return { length: r.length, values: Array.from(r.subarray(0, 64), finite) };
  if (typeof r === 'string') return { string: r.slice(0, 200), length: r.length };
  if (r && typeof r === 'object' && 'dispose' in r && typeof r.dispose === 'function') {
    const parts = Object.values(r).filter((x): x is germ.Tensor => x instanceof germ.Tensor);
    for (const t of parts) await t.data();
    (r as { dispose(): void }).dispose();
    return { tensors: parts.length };
  }
  if (r && typeof r === 'object') {
    const ts = Object.values(r).filter((x): x is germ.Tensor => x instanceof germ.Tensor);
    for (const t of ts) {
      await t.data();
      t.dispose();
    }
    return { tensors: ts.length };
  }
  return { value: String(r) };
}

let fixtureTokenizer: germ.BpeTokenizer | undefined;

async function run(c: ChildCase): Promise<Record<string, unknown>> {
  const args = (c.args ?? []).map(decode);
  const p = c.path!;
  switch (c.kind) {
    case 'safetensors': {
      const m = await germ.loadSafetensors(p);
      let elements = 0;
      for (const t of m.values()) {
        elements += (await t.data()).length;
        t.dispose();
      }
      return { tensors: m.size, elements };
    }
    case 'model': {
      const config = await germ.loadConfig(p).catch(() => undefined);
      const model = await germ.GermModel.load(p, { device: 'cpu' });
      try {
        const [e] = await model.embed('ACGTACGTNNACGT');
        const labels = model.info.numLabels;
        const cls = model.config.labels.length > 0 ? await model.classify('ACGTTGCA').catch((err: unknown) => err) : undefined;
        if (cls instanceof Error && !(cls instanceof germ.GermError)) throw cls;
        return { labels, hidden: e.mean.length, configLabels: config?.labels.length };
      } finally {
        await model.dispose();
      }
    }
    case 'tokenizer': {
      const tok = await germ.BpeTokenizer.fromFile(p);
      const enc = tok.encode('ACGTACGTNNNNACGTTTGA');
      return { vocabSize: tok.vocabSize, maxId: Math.max(...enc.ids), minId: Math.min(...enc.ids), n: enc.ids.length };
    }
    case 'fasta': {
      const recs = await drain(germ.readFasta(p));
      return { records: recs.length, bases: recs.reduce((a, r) => a + r.sequence.length, 0) };
    }
    case 'csv': {
      const recs = await drain(germ.readCsv(p));
      return { records: recs.length };
    }
    case 'dna': {
      fixtureTokenizer ??= await germ.BpeTokenizer.fromFile(p);
      const enc = fixtureTokenizer.encode(args[0] as string, (args[1] ?? {}) as germ.EncodeOptions);
      return { vocabSize: fixtureTokenizer.vocabSize, maxId: Math.max(...enc.ids), minId: Math.min(...enc.ids) };
    }
    case 'viewChain': {
      // args: a shape for zeros(), then [method, ...args] steps; the end is made contiguous and read
      const [shape, steps] = args as [number[], [string, ...unknown[]][]];
      const made: germ.Tensor[] = [germ.zeros(shape)];
      try {
        for (const [method, ...margs] of steps) {
          const t = made[made.length - 1] as unknown as Record<string, (...a: unknown[]) => germ.Tensor>;
          made.push(t[method](...margs));
        }
        const last = made[made.length - 1];
        return { shape: last.shape, ...(await summarise(last.contiguous())) };
      } finally {
        for (const t of made) t.dispose();
      }
    }
    case 'call': {
      // args[0]: the export's name, then its arguments; a method call when the name is 'Tensor.<method>'
      const [name, ...rest] = args as [string, ...unknown[]];
      if (name.startsWith('Tensor.')) {
        const [self, ...margs] = rest as [germ.Tensor, ...unknown[]];
        const method = (self as unknown as Record<string, (...a: unknown[]) => unknown>)[name.slice(7)];
        return summarise(await method.apply(self, margs));
      }
      const fn = (germ as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
      return summarise(await fn(...rest));
    }
    default:
      throw new Error(`child: unknown kind ${c.kind}`);
  }
}

function report(line: object): void {
  writeSync(1, `${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const cases = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ChildCase[];
  for (const c of cases) {
    report({ start: c.id });
    try {
      report({ id: c.id, ok: true, summary: await run(c) } satisfies ChildOutcome);
    } catch (e) {
      const err = e as { name?: unknown; code?: unknown; message?: unknown } | null;
      report({
        id: c.id, ok: false, name: String(err?.name ?? typeof e), germ: e instanceof germ.GermError,
        code: typeof err?.code === 'string' ? err.code : undefined, message: String(err?.message ?? e).slice(0, 400),
      } satisfies ChildOutcome);
    }
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`child: ${String((e as Error)?.stack ?? e)}\n`);
  process.exit(3);
});
