// The CLI's input: the format from --format or the file name, one record
// stream over FASTA or CSV, and its cutting into batches. '-' is stdin.
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { readCsv } from '../io/csv';
import { readFasta } from '../io/fasta';

export type InputFormat = 'fasta' | 'csv';
export const INPUT_FORMATS: readonly InputFormat[] = ['fasta', 'csv'];

export interface InputRecord {
  id: string;
  sequence: string;
  /** From a CSV label column. */
  label?: string;
  /** Where the record is, for messages: 'file:line'. */
  where: string;
}

export interface Input {
  records: AsyncGenerator<InputRecord>;
  /** Bytes of the file read so far (compressed bytes for .gz), and its size when known. */
  bytesRead(): number;
  totalBytes?: number;
}

const FASTA_NAME = /\.(fa|fasta|fna|ffn|frn|fas|seq)(\.gz)?$/i;
const CSV_NAME = /\.(csv|tsv)(\.gz)?$/i;

/** The format a file name implies ('-', stdin, is FASTA); undefined when it implies none. */
export function detectFormat(file: string): InputFormat | undefined {
  if (file === '-' || FASTA_NAME.test(file)) return 'fasta';
  if (CSV_NAME.test(file)) return 'csv';
  return undefined;
}

/**
 * Opens the input file (or stdin for '-') as a stream of records. A missing
 * file fails here, at once, before any model is loaded; the file itself is
 * opened when the records are first read.
 */
export function openInput(file: string, format: InputFormat, stdin: Readable, options: { maxRecordLength?: number } = {}): Input {
  const isStdin = file === '-';
  const source = isStdin ? '<stdin>' : file;
  const totalBytes = isStdin ? undefined : statSync(file).size;
  let stream: Readable | undefined;
  // The readers take gzip and the CSV delimiter from the name (.gz, .tsv).
  async function* records(): AsyncGenerator<InputRecord> {
    stream = isStdin ? stdin : createReadStream(file);
    const where = (line: number) => `${source}:${line}`;
    if (format === 'fasta') for await (const r of readFasta(stream, { source, maxRecordLength: options.maxRecordLength })) yield { id: r.id, sequence: r.sequence, where: where(r.line) };
    else for await (const r of readCsv(stream, { source })) yield { id: r.id, sequence: r.sequence, label: r.label, where: where(r.line) };
  }
  return {
    records: records(),
    bytesRead: () => (stream && 'bytesRead' in stream ? (stream.bytesRead as number) : 0),
    totalBytes,
  };
}

/** Groups a stream into arrays of up to `size` items, in order. */
export async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
