// config.json of a DNABERT-2 / GERM checkpoint: DNABERT-2's Hugging Face keys
// (BertConfig, as MosaicBERT's bert_layers.py reads them) plus germ's own.
//
// germ's keys:
//   attention_normalizer  "softmax" (DNABERT-2; the default when absent, so a
//                         DNABERT-2 checkpoint loads as is) or "softmax1" (GERM)
// The label count comes from id2label when present (transformers writes no
// num_labels), else num_labels, else 2 (transformers' default).
import path from 'node:path';
import { ALIBI_MAX_HEADS } from '../alibi';
import { describeValue } from '../dtype';
import { GermError } from '../errors';
import { MAX_VOCAB } from '../tokenizer/bpe';
import { MAX_CONFIG_BYTES, readJsonFile } from './text';

export type AttentionNormalizer = 'softmax' | 'softmax1';

export interface GermConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  vocabSize: number;
  typeVocabSize: number;
  layerNormEps: number;
  normalizer: AttentionNormalizer;
  /** Class names in id order (id2label, or "LABEL_i"). */
  labels: string[];
  /** The parsed file, every key kept (for writing it back). */
  raw: Record<string, unknown>;
}

function bad(source: string, message: string): GermError {
  return new GermError(`config ${source}: ${message}`, 'ERR_FORMAT');
}

/**
 * The largest value each size in config.json may have. Far above any DNA model
 * (DNABERT-2: hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 4096,
 * 2 labels, 512 positions), and low enough that a corrupt or hostile file fails
 * at once with ERR_FORMAT instead of allocating for minutes (1e9 label names)
 * or asking for weights no checkpoint holds. Bounded here, once.
 */
export const CONFIG_LIMITS = Object.freeze({
  hidden_size: 65536,
  num_hidden_layers: 1024,
  num_attention_heads: ALIBI_MAX_HEADS,
  intermediate_size: 262144,
  /** Token ids must fit tokenizer.json's id range. */
  vocab_size: MAX_VOCAB,
  type_vocab_size: 1024,
  /** Also bounds the entries of id2label. */
  num_labels: 65536,
  max_position_embeddings: 2 ** 24,
});

type SizeKey = keyof typeof CONFIG_LIMITS;

/** A size: a positive integer up to its CONFIG_LIMITS entry (the fallback when absent). */
function size(raw: Record<string, unknown>, key: SizeKey, source: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  const max = CONFIG_LIMITS[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > max)
    throw bad(source, `"${key}" must be a positive integer up to ${max}, got ${JSON.stringify(raw[key])}`);
  return v;
}

function labelsOf(raw: Record<string, unknown>, source: string): string[] {
  const id2label = raw.id2label;
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) throw bad(source, '"id2label" must be an object');
    const entries = Object.entries(id2label as Record<string, unknown>);
    if (entries.length > CONFIG_LIMITS.num_labels)
      throw bad(source, `"id2label" has ${entries.length} labels, more than the limit ${CONFIG_LIMITS.num_labels}`);
    const labels = new Array<string>(entries.length);
    for (const [k, name] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || labels[i] !== undefined || typeof name !== 'string')
        throw bad(source, `"id2label" must map 0..${entries.length - 1} to names, got "${k}": ${JSON.stringify(name)}`);
      labels[i] = name;
    }
    if (entries.length > 0) return labels;
  }
  const n = size(raw, 'num_labels', source, 2);
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

export function parseConfig(json: unknown, source = 'config.json'): GermConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(source, 'not a JSON object');
  const raw = json as Record<string, unknown>;
  const hiddenSize = size(raw, 'hidden_size', source, 768);
  const numHeads = size(raw, 'num_attention_heads', source, 12);
  // Not used (ALiBi needs no position table), but a file's sizes are all checked.
  if (raw.max_position_embeddings !== undefined && raw.max_position_embeddings !== null)
    size(raw, 'max_position_embeddings', source);
  if (hiddenSize % numHeads !== 0) throw bad(source, `hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const eps = raw.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) throw bad(source, `"layer_norm_eps" must be a positive number, got ${JSON.stringify(eps)}`);
  const normalizer = raw.attention_normalizer ?? 'softmax';
  if (normalizer !== 'softmax' && normalizer !== 'softmax1')
    throw bad(source, `"attention_normalizer" must be "softmax" or "softmax1", got ${JSON.stringify(normalizer)}`);
  const act = raw.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw bad(source, `"hidden_act" ${JSON.stringify(act)} is not supported (DNABERT-2 uses "gelu")`);
  return {
    hiddenSize,
    numLayers: size(raw, 'num_hidden_layers', source, 12),
    numHeads,
    intermediateSize: size(raw, 'intermediate_size', source, 3072),
    vocabSize: size(raw, 'vocab_size', source, 4096),
    typeVocabSize: size(raw, 'type_vocab_size', source, 2),
    layerNormEps: eps,
    normalizer,
    labels: labelsOf(raw, source),
    raw,
  };
}

/** Reads and validates dir/config.json. */
export async function loadConfig(dir: string): Promise<GermConfig> {
  if (typeof dir !== 'string')
    throw new GermError(`loadConfig: dir must be a folder path (a string), got ${describeValue(dir)}`, 'ERR_INVALID_ARGUMENT');
  const file = path.join(dir, 'config.json');
  // A regular file of bounded size: a folder, FIFO or missing file is a GermError naming it.
  return parseConfig(await readJsonFile(file, 'config', MAX_CONFIG_BYTES), file);
}
