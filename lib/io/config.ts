// config.json of a DNABERT-2 / GERM checkpoint: DNABERT-2's Hugging Face keys
// (BertConfig, as MosaicBERT's bert_layers.py reads them) plus germ's own.
//
// germ's keys:
//   attention_normalizer  "softmax" (DNABERT-2; the default when absent, so a
//                         DNABERT-2 checkpoint loads as is) or "softmax1" (GERM)
// The label count comes from id2label when present (transformers writes no
// num_labels), else num_labels, else 2 (transformers' default).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GermError } from '../errors';

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

function positiveInt(raw: Record<string, unknown>, key: string, source: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
    throw bad(source, `"${key}" must be a positive integer, got ${JSON.stringify(raw[key])}`);
  return v;
}

function labelsOf(raw: Record<string, unknown>, source: string): string[] {
  const id2label = raw.id2label;
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) throw bad(source, '"id2label" must be an object');
    const entries = Object.entries(id2label as Record<string, unknown>);
    const labels = new Array<string>(entries.length);
    for (const [k, name] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || labels[i] !== undefined || typeof name !== 'string')
        throw bad(source, `"id2label" must map 0..${entries.length - 1} to names, got "${k}": ${JSON.stringify(name)}`);
      labels[i] = name;
    }
    if (entries.length > 0) return labels;
  }
  const n = positiveInt(raw, 'num_labels', source, 2);
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

export function parseConfig(json: unknown, source = 'config.json'): GermConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(source, 'not a JSON object');
  const raw = json as Record<string, unknown>;
  const hiddenSize = positiveInt(raw, 'hidden_size', source, 768);
  const numHeads = positiveInt(raw, 'num_attention_heads', source, 12);
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
    numLayers: positiveInt(raw, 'num_hidden_layers', source, 12),
    numHeads,
    intermediateSize: positiveInt(raw, 'intermediate_size', source, 3072),
    vocabSize: positiveInt(raw, 'vocab_size', source, 4096),
    typeVocabSize: positiveInt(raw, 'type_vocab_size', source, 2),
    layerNormEps: eps,
    normalizer,
    labels: labelsOf(raw, source),
    raw,
  };
}

/** Reads and validates dir/config.json. */
export async function loadConfig(dir: string): Promise<GermConfig> {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new GermError(`config ${file}: ${(e as Error).message}`, 'ERR_INVALID_ARGUMENT');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(file, `not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(json, file);
}
