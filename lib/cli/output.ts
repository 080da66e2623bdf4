// The CLI's output: where lines go (stdout, or a file written atomically), and
// how embeddings and classifications become TSV or JSON Lines.
//
// Numbers are float32 values printed with the fewest digits that read back as
// the same float32 (at most 9 significant digits). TSV fields escape backslash,
// tab, CR and LF as \\ \t \r \n, so every record stays one line of fixed width.
import type { Writable } from 'node:stream';
import { AtomicWriter } from '../io/atomic';
import type { Classification } from '../model/types';

export interface Sink {
  /** Writes text; resolves once it is written (stdout: once the stream has taken it). */
  write(text: string): Promise<void>;
  /** Flushes; a file is renamed into place only now. */
  close(): Promise<void>;
  /** After a failure: a file's partial output is removed. */
  abort(): Promise<void>;
}

function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * stdout when `file` is undefined or '-'; else an atomic write (io/atomic.ts):
 * a temporary file beside `file`, renamed over it on close, removed on abort,
 * on SIGINT / SIGTERM, or by the next run's sweep if this process is killed.
 */
export function openSink(file: string | undefined, stdout: Writable): Sink {
  if (file === undefined || file === '-') return { write: (text) => write(stdout, text), close: async () => {}, abort: async () => {} };
  const opening = AtomicWriter.open(file);
  opening.catch(() => undefined); // reported by the first write or close
  return {
    write: async (text) => (await opening).write(text),
    close: async () => (await opening).commit(),
    abort: async () => (await opening.catch(() => undefined))?.abort(),
  };
}

/** The shortest decimal that reads back as the same float32. */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 6; p < 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(Number(x.toPrecision(9)));
}

/** JSON has no NaN or Infinity: those are written as null. */
function jsonFloat(x: number): string {
  return Number.isFinite(x) ? formatFloat(x) : 'null';
}

function tsvField(s: string): string {
  return s.replace(/[\\\t\r\n]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\r': '\\r', '\n': '\\n' })[c]!);
}

function floats(values: ArrayLike<number>, format: (x: number) => string, sep: string): string {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = format(values[i]);
  return out.join(sep);
}

/** One embedding: `id<TAB>v0<TAB>v1...` or `{"id":...,"embedding":[...]}`. */
export function embeddingLine(id: string, values: Float32Array, json: boolean): string {
  return json
    ? `{"id":${JSON.stringify(id)},"embedding":[${floats(values, jsonFloat, ',')}]}\n`
    : `${tsvField(id)}\t${floats(values, formatFloat, '\t')}\n`;
}

/** The TSV header of classifications: id, label, then one probability column per label name. */
export function classificationHeader(labels: readonly string[]): string {
  return ['id', 'label', ...labels].map(tsvField).join('\t') + '\n';
}

/** One classification: a TSV row under classificationHeader, or `{"id","label","probabilities":{name:p}}`. */
export function classificationLine(id: string, c: Classification, labels: readonly string[], json: boolean): string {
  if (!json) return `${tsvField(id)}\t${tsvField(c.label)}\t${floats(c.probabilities, formatFloat, '\t')}\n`;
  const probs = labels.map((name, i) => `${JSON.stringify(name)}:${jsonFloat(c.probabilities[i])}`).join(',');
  return `{"id":${JSON.stringify(id)},"label":${JSON.stringify(c.label)},"probabilities":{${probs}}}\n`;
}
