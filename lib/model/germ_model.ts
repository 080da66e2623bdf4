// GermModel: a DNABERT-2 or GERM checkpoint folder (config.json,
// model.safetensors, tokenizer.json) behind an asynchronous API for services.
// Requests are tokenized on the caller's tick, queued, and run in packed
// batches (see batcher.ts); every method returns a Promise and the model work
// runs on the device's executor thread, never on the event loop.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { defaultDevice } from '../devices';
import { type DType, optionsArg } from '../dtype';
import { GermError, invalidArgument } from '../errors';
import { type GermConfig, loadConfig } from '../io/config';
import { attentionProbabilities } from '../nn/attention_probs';
import { BertModel } from '../nn/bert_model';
import type { Tensor } from '../tensor';
import { BpeTokenizer } from '../tokenizer';
import { Batcher, type Job } from './batcher';
import type { Classification, EmbedOptions, Embedding, LoadOptions, MaskPrediction, ModelInfo, RequestOptions } from './types';

const MASK_TEXT = '[MASK]';

/** What a request asks for; jobs batch together only when it is the same. */
type RequestKind =
  | { kind: 'embed'; perToken: boolean; hiddenStates: boolean; attentions: boolean }
  | { kind: 'classify' }
  | { kind: 'mask'; topK: number };

function sameKind(a: RequestKind, b: RequestKind): boolean {
  const x = a as Record<string, unknown>, y = b as Record<string, unknown>;
  return a.kind === b.kind && Object.keys(x).every((k) => x[k] === y[k]);
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw invalidArgument(`GermModel: ${name} must be a positive integer, got ${v}`);
  return v;
}

function softmax(logits: Float32Array, start: number, n: number): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, logits[start + i]);
  const p = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) z += p[i] = Math.exp(logits[start + i] - m);
  return Float32Array.from(p, (x) => x / z);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

export class GermModel {
  private readonly batcher: Batcher<RequestKind>;
  private readonly special: { cls: number; sep: number; mask: number | undefined };
  private disposed = false;

  private constructor(readonly config: GermConfig, readonly tokenizer: BpeTokenizer, private readonly model: BertModel,
    limits: { maxBatchTokens: number; maxBatchSize: number }) {
    this.batcher = new Batcher<RequestKind>(limits, sameKind, (kind, jobs) => this.run(kind, jobs));
    const cls = tokenizer.tokenId('[CLS]'), sep = tokenizer.tokenId('[SEP]');
    if (cls === undefined || sep === undefined) throw new GermError('tokenizer.json has no [CLS] / [SEP] token', 'ERR_FORMAT');
    this.special = { cls, sep, mask: tokenizer.tokenId(MASK_TEXT) };
  }

  /**
   * Loads a checkpoint folder. A DNABERT-2 pytorch_model.bin must first be
   * converted to model.safetensors (README: one line of Python); germ never
   * unpickles.
   */
  static async load(dir: string, opts?: LoadOptions): Promise<GermModel> {
    const options = optionsArg(opts, 'GermModel.load');
    const device = options.device ?? defaultDevice();
    const dtype: DType = options.dtype ?? (device === 'cpu' ? 'f32' : 'f16');
    if (!['f32', 'f16', 'bf16'].includes(dtype)) throw invalidArgument(`GermModel.load: dtype must be f32, f16 or bf16, got ${dtype}`);
    const limits = {
      maxBatchTokens: positive('maxBatchTokens', options.maxBatchTokens, 16384),
      maxBatchSize: positive('maxBatchSize', options.maxBatchSize, 64),
    };
    // Each file is opened as a regular file (of bounded size for the JSON ones, io/text.ts):
    // a FIFO, folder or device is a GermError at once.
    const config = await loadConfig(dir);
    const weights = path.join(dir, 'model.safetensors');
    if (!(await exists(weights))) {
      const bin = (await exists(path.join(dir, 'pytorch_model.bin'))) ? ' (found pytorch_model.bin: convert it to safetensors as the README shows; germ never unpickles)' : '';
      throw invalidArgument(`GermModel.load: ${weights} not found${bin}`);
    }
    const tokenizer = await BpeTokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    if (tokenizer.vocabSize > config.vocabSize)
      throw new GermError(`tokenizer.json has ${tokenizer.vocabSize} tokens, more than the config's vocab_size ${config.vocabSize}`, 'ERR_FORMAT');
    const model = await BertModel.load(weights, config, device, dtype);
    try {
      return new GermModel(config, tokenizer, model, limits);
    } catch (e) {
      model.dispose(); // the constructor refused the tokenizer: the weights are freed, not left to the collector
      throw e;
    }
  }

  get info(): ModelInfo {
    const c = this.config;
    return {
      device: this.model.device, dtype: this.model.dtype, hiddenSize: c.hiddenSize, numLayers: c.numLayers,
      numLabels: c.labels.length, labels: [...c.labels], normalizer: c.normalizer,
    };
  }

  /** Embeddings: mean-pooled and [CLS] always; per-token states, all hidden states, attentions on request. */
  embed(seqs: string | string[], options: EmbedOptions = {}): Promise<Embedding[]> {
    const kind: RequestKind = { kind: 'embed', perToken: !!options.perToken, hiddenStates: !!options.hiddenStates,
      attentions: !!options.attentions };
    return this.submit<Embedding>(seqs, kind, options);
  }

  /** Class probabilities from the sequence-classification head (DNABERT-2's fine-tuned models). */
  classify(seqs: string | string[], options: RequestOptions = {}): Promise<Classification[]> {
    if (!this.model.hasClassifier) return Promise.reject(invalidArgument('classify: this checkpoint has no pooler / classifier weights'));
    return this.submit<Classification>(seqs, { kind: 'classify' }, options);
  }

  /**
   * The MLM head's predictions at each [MASK] of a DNA text such as
   * "ACGT[MASK]TTGA" (each [MASK] is one token), most probable first.
   */
  async fillMask(seq: string, options: RequestOptions & { topK?: number } = {}): Promise<MaskPrediction[]> {
    if (!this.model.hasMlmHead) throw invalidArgument('fillMask: this checkpoint has no MLM head (cls.predictions.*)');
    if (this.special.mask === undefined) throw new GermError('fillMask: tokenizer.json has no [MASK] token', 'ERR_FORMAT');
    const topK = positive('topK', options.topK, 5);
    const ids = this.encodeMasked(seq, options);
    const [r] = await this.enqueue<MaskPrediction[]>([ids], { kind: 'mask', topK });
    return r;
  }

  /** Refuses new requests (ERR_DISPOSED), lets those already made finish, then frees the weights. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.batcher.close();
    this.model.dispose();
  }

  // ---- requests -> jobs

  private encode(seq: string, options: RequestOptions): Int32Array {
    const ids = this.tokenizer.encode(seq, options).ids;
    return this.truncate(ids, options.maxLength);
  }

  /** Keeps [CLS] ... and the final [SEP] within maxLength tokens. */
  private truncate(ids: Int32Array, maxLength: number | undefined): Int32Array {
    if (maxLength === undefined || ids.length <= maxLength) return ids;
    if (!Number.isSafeInteger(maxLength) || maxLength < 2) throw invalidArgument(`maxLength must be an integer >= 2, got ${maxLength}`);
    const out = ids.slice(0, maxLength);
    out[maxLength - 1] = ids[ids.length - 1];
    return out;
  }

  private encodeMasked(seq: string, options: RequestOptions): Int32Array {
    if (typeof seq !== 'string') throw invalidArgument(`fillMask: the sequence must be a string, got ${typeof seq}`);
    const pieces = seq.split(MASK_TEXT);
    if (pieces.length < 2) throw invalidArgument(`fillMask: the sequence has no ${MASK_TEXT}`);
    const ids: number[] = [this.special.cls];
    pieces.forEach((piece, i) => {
      if (i > 0) ids.push(this.special.mask!);
      if (piece.length > 0) ids.push(...this.tokenizer.encode(piece, { ...options, addSpecialTokens: false }).ids);
    });
    ids.push(this.special.sep);
    return this.truncate(Int32Array.from(ids), options.maxLength);
  }

  private submit<R>(seqs: string | string[], kind: RequestKind, options: RequestOptions): Promise<R[]> {
    try {
      const list = typeof seqs === 'string' ? [seqs] : seqs;
      if (!Array.isArray(list)) throw invalidArgument('expected a DNA string or an array of them');
      return this.enqueue<R>(list.map((s, i) => {
        try {
          return this.encode(s, options);
        } catch (e) {
          if (e instanceof GermError && list.length > 1) throw new GermError(`sequence ${i}: ${e.message}`, e.code);
          throw e;
        }
      }), kind);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private enqueue<R>(idsList: Int32Array[], kind: RequestKind): Promise<R[]> {
    if (this.disposed) return Promise.reject(new GermError('the model was disposed', 'ERR_DISPOSED'));
    const jobs: Job<RequestKind>[] = [];
    const all = Promise.all(idsList.map((ids) => new Promise<R>((resolve, reject) => {
      jobs.push({ ids, key: kind, resolve: resolve as (r: unknown) => void, reject });
    })));
    this.batcher.push(jobs);
    return all;
  }

  // ---- one packed forward pass over a group of jobs

  private async run(kind: RequestKind, jobs: Job<RequestKind>[]): Promise<void> {
    const cu = new Int32Array(jobs.length + 1);
    jobs.forEach((j, i) => (cu[i + 1] = cu[i] + j.ids.length));
    const ids = new Int32Array(cu[jobs.length]);
    jobs.forEach((j, i) => ids.set(j.ids, cu[i]));
    const starts = cu.subarray(0, jobs.length);
    const embed = kind.kind === 'embed' ? kind : null;
    const owned: Tensor[] = [];
    const keep = <T extends Tensor>(t: T): T => (owned.push(t), t);
    try {
      const out = this.model.forward(ids, { cuSeqlens: cu }, { hiddenStates: !!embed?.hiddenStates, qkv: !!embed?.attentions });
      owned.push(out.last, ...out.hidden, ...out.qkv);
      if (kind.kind === 'embed') await this.finishEmbed(jobs, cu, out, kind, keep);
      else if (kind.kind === 'classify') await this.finishClassify(jobs, keep(this.model.classify(keep(this.model.rows(out.last, starts)))));
      else await this.finishMask(jobs, cu, ids, out.last, kind.topK, keep);
    } finally {
      for (const t of owned) if (!t.disposed) t.dispose();
    }
  }

  private async finishEmbed(jobs: Job<RequestKind>[], cu: Int32Array, out: { last: Tensor; hidden: Tensor[]; qkv: Tensor[] },
    asked: { perToken: boolean; hiddenStates: boolean; attentions: boolean }, keep: <T extends Tensor>(t: T) => T): Promise<void> {
    const H = this.config.hiddenSize;
    const [mean, cls] = await Promise.all([
      keep(this.model.meanPool(out.last, cu)).data() as Promise<Float32Array>,
      keep(this.model.rows(out.last, cu.subarray(0, jobs.length))).data() as Promise<Float32Array>,
    ]);
    const tokens = asked.perToken ? ((await out.last.data()) as Float32Array) : null;
    const hidden = asked.hiddenStates ? ((await Promise.all(out.hidden.map((t) => t.data()))) as Float32Array[]) : null;
    const probs = asked.attentions ? await Promise.all(out.qkv.map((q) => attentionProbabilities(q, cu, this.config))) : null;
    jobs.forEach((job, b) => {
      const s = cu[b], e = cu[b + 1];
      const r: Embedding = { ids: job.ids, mean: mean.slice(b * H, (b + 1) * H), cls: cls.slice(b * H, (b + 1) * H) };
      if (tokens) r.tokens = tokens.slice(s * H, e * H);
      if (hidden) r.hiddenStates = hidden.map((h) => h.slice(s * H, e * H));
      if (probs) r.attentions = probs.map((layer) => layer[b]);
      job.resolve(r);
    });
  }

  private async finishClassify(jobs: Job<RequestKind>[], logitsT: Tensor): Promise<void> {
    const C = this.config.labels.length;
    const logits = (await logitsT.data()) as Float32Array;
    jobs.forEach((job, b) => {
      const probabilities = softmax(logits, b * C, C);
      let best = 0;
      for (let c = 1; c < C; c++) if (probabilities[c] > probabilities[best]) best = c;
      job.resolve({ probabilities, logits: logits.slice(b * C, (b + 1) * C), labelId: best, label: this.config.labels[best] });
    });
  }

  private async finishMask(jobs: Job<RequestKind>[], cu: Int32Array, ids: Int32Array, last: Tensor, topK: number,
    keep: <T extends Tensor>(t: T) => T): Promise<void> {
    const positions: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] === this.special.mask) positions.push(i);
    const V = this.config.vocabSize;
    const logits = positions.length
      ? ((await keep(this.model.mlmLogits(keep(this.model.rows(last, Int32Array.from(positions))))).data()) as Float32Array)
      : new Float32Array(0);
    const vocab = this.tokenizer.vocabSize;
    let r = 0;
    jobs.forEach((job, b) => {
      const preds: MaskPrediction[] = [];
      for (; r < positions.length && positions[r] < cu[b + 1]; r++) {
        // Only ids the tokenizer knows (the config's vocab may be padded past it).
        const p = softmax(logits, r * V, V);
        const order = Array.from({ length: vocab }, (_, i) => i).sort((x, y) => p[y] - p[x]).slice(0, topK);
        preds.push({
          position: positions[r] - cu[b],
          candidates: order.map((id) => ({ id, token: this.tokenizer.idToken(id) ?? '', probability: p[id] })),
        });
      }
      job.resolve(preds);
    });
  }
}
