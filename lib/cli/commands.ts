// What `germ embed`, `germ classify` and `germ info` do, once the arguments
// are parsed. Input is streamed in batches of --batch-size sequences: the next
// batch is read while the model runs the current one, and results are written
// in input order.
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { GermError } from '../errors';
import { GermModel } from '../model/germ_model';
import type { Classification, Embedding, LoadOptions, RequestOptions } from '../model/types';
import { normalizeDna } from '../tokenizer';
import { type InputFormat, type InputRecord, batches, detectFormat, openInput } from './input';
import { classificationHeader, classificationLine, embeddingLine, openSink } from './output';
import { createProgress } from './progress';

export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
}

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {}

export interface ModelOptions {
  device?: string;
  dtype?: LoadOptions['dtype'];
  json?: boolean;
}

export interface RunOptions extends ModelOptions {
  format?: InputFormat;
  pooling: 'mean' | 'cls';
  batchSize: number;
  maxLength?: number;
  mapUnknownToN?: boolean;
  output?: string;
  /** --max-record-length: the longest FASTA record read, in bases (default: readFasta's). */
  maxRecordLength?: number;
  /** --progress / --no-progress; undefined: on when stderr is a terminal (and --json is not on stdout). */
  progress?: boolean;
}

async function withModel<T>(modelDir: string, o: ModelOptions, use: (model: GermModel) => Promise<T>): Promise<T> {
  const model = await GermModel.load(modelDir, { device: o.device, dtype: o.dtype });
  try {
    return await use(model);
  } finally {
    model.dispose();
  }
}

/** Validates each record's DNA here, so an error names the record and where it is. */
function sequencesOf(batch: InputRecord[], options: RequestOptions): string[] {
  return batch.map((r) => {
    try {
      return normalizeDna(r.sequence, options);
    } catch (e) {
      if (e instanceof GermError) throw new GermError(`${r.where}: record "${r.id}": ${e.message}`, e.code);
      throw e;
    }
  });
}

/**
 * Streams the input through `step` batch by batch, writing what it returns.
 * `step` gets a batch and its normalized sequences and returns the text to write.
 */
async function run(io: CliIO, modelDir: string, inputFile: string, o: RunOptions,
  start: (model: GermModel) => string,
  step: (model: GermModel, batch: InputRecord[], seqs: string[], request: RequestOptions) => Promise<string>): Promise<void> {
  const format = o.format ?? detectFormat(inputFile);
  if (!format) throw new UsageError(`cannot tell the format of ${inputFile} from its name; pass --format fasta or --format csv`);
  const input = openInput(inputFile, format, io.stdin, { maxRecordLength: o.maxRecordLength });
  const request: RequestOptions = { maxLength: o.maxLength, mapUnknownToN: o.mapUnknownToN };
  await withModel(modelDir, o, async (model) => {
    const sink = openSink(o.output, io.stdout);
    const toStdout = o.output === undefined || o.output === '-';
    const progress = createProgress(io.stderr, input.totalBytes, o.progress ?? (o.json && toStdout ? false : undefined));
    const chunks = batches(input.records, o.batchSize);
    let done = 0;
    try {
      await sink.write(start(model));
      // Read the next batch while the model runs this one.
      let next = chunks.next();
      for (;;) {
        const r = await next;
        if (r.done) break;
        next = chunks.next();
        next.catch(() => undefined); // awaited on the next turn; dropped if this one fails
        await sink.write(await step(model, r.value, sequencesOf(r.value, request), request));
        done += r.value.length;
        progress.update(done, input.bytesRead());
      }
      await sink.close();
    } catch (e) {
      await sink.abort();
      throw e;
    } finally {
      progress.stop();
      void chunks.return(undefined).catch(() => undefined);
    }
  });
}

export async function embedCommand(io: CliIO, modelDir: string, input: string, o: RunOptions): Promise<void> {
  await run(io, modelDir, input, o, () => '', async (model, batch, seqs, request) => {
    const out: Embedding[] = await model.embed(seqs, request);
    return out.map((e, i) => embeddingLine(batch[i].id, o.pooling === 'cls' ? e.cls : e.mean, o.json ?? false)).join('');
  });
}

export async function classifyCommand(io: CliIO, modelDir: string, input: string, o: RunOptions): Promise<void> {
  let labelled = 0, correct = 0;
  let labels: string[] = [];
  await run(io, modelDir, input, o, (model) => {
    labels = model.info.labels;
    return o.json ? '' : classificationHeader(labels);
  }, async (model, batch, seqs, request) => {
    const out: Classification[] = await model.classify(seqs, request);
    return out.map((c, i) => {
      const truth = batch[i].label;
      if (truth !== undefined) {
        labelled++;
        // DNABERT-2's CSVs hold class indices; others may hold the label names.
        if (truth === c.label || truth === String(c.labelId)) correct++;
      }
      return classificationLine(batch[i].id, c, labels, o.json ?? false);
    }).join('');
  });
  if (labelled > 0)
    io.stderr.write(`accuracy: ${(correct / labelled).toFixed(4)} (${correct} of ${labelled} labelled sequences)\n`);
}

export async function infoCommand(io: CliIO, modelDir: string, o: ModelOptions): Promise<void> {
  await withModel(modelDir, o, async (model) => {
    // The model's own summary, plus a few config.json keys it does not carry (the load has read the file).
    const config = model.config.raw;
    const num = (key: string) => (typeof config[key] === 'number' ? (config[key] as number) : undefined);
    const info = { model: path.resolve(modelDir), ...model.info,
      numHeads: num('num_attention_heads'), intermediateSize: num('intermediate_size'), vocabSize: num('vocab_size') };
    if (o.json) {
      io.stdout.write(JSON.stringify(info) + '\n');
      return;
    }
    const rows: [string, unknown][] = [
      ['model', info.model], ['attention', info.normalizer], ['hidden size', info.hiddenSize], ['layers', info.numLayers],
      ['heads', info.numHeads], ['intermediate', info.intermediateSize], ['vocabulary', info.vocabSize],
      ['labels', `${info.numLabels}${info.labels.length ? `: ${info.labels.join(', ')}` : ''}`],
      ['device', info.device], ['dtype', info.dtype],
    ];
    io.stdout.write(rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${k.padEnd(13)}${v}\n`).join(''));
  });
}
