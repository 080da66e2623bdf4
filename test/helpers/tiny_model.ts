// A tiny GERM / DNABERT-2 model folder with random weights, as Hugging Face
// lays it out: config.json (DNABERT-2's keys plus germ's attention_normalizer),
// model.safetensors (DNABERT-2's weight names) and tokenizer.json (BPE trained
// here on random DNA).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveSafetensors } from '../../lib/io/safetensors';
import { tensor } from '../../lib/ops';
import type { Tensor } from '../../lib/tensor';
import { trainBpe } from '../../lib/tokenizer';
import { randn, rng } from './random';

export interface TinyModelOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  /** Asked of the BPE trainer; the vocabulary may come out smaller. */
  vocabSize?: number;
  /** Class names, in id order (config.id2label). */
  labels?: string[];
  normalizer?: 'softmax' | 'softmax1';
  seed?: number;
  /** Where to create it; default a new folder under the OS temp dir. */
  dir?: string;
}

export interface TinyModel {
  dir: string;
  hidden: number;
  layers: number;
  vocabSize: number;
  labels: string[];
}

/** Random DNA over ACGT. */
export function randomDna(n: number, seed: number): string {
  const r = rng(seed);
  let s = '';
  for (let i = 0; i < n; i++) s += 'ACGT'[Math.floor(r() * 4)];
  return s;
}

export async function createTinyModel(options: TinyModelOptions = {}): Promise<TinyModel> {
  const { hidden: H = 32, layers: L = 2, heads = 4, intermediate: I = 64, labels = ['negative', 'positive'],
    normalizer = 'softmax1', seed = 1 } = options;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'germ-tiny-model-')));
  const C = labels.length;

  const corpus = Array.from({ length: 64 }, (_, i) => randomDna(200, seed * 1000 + i));
  const tokenizer = trainBpe(corpus, { vocabSize: options.vocabSize ?? 64 });
  const V = tokenizer.vocabSize;
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));

  let k = seed * 7919;
  const normal = (shape: number[], scale = 0.2): Tensor => tensor(randn(shape.reduce((a, b) => a * b, 1), k++, scale), shape);
  const fill = (n: number, v: number): Tensor => tensor(new Float32Array(n).fill(v), [n]);
  const layerNorm = (prefix: string) => ({ [`${prefix}.weight`]: fill(H, 1), [`${prefix}.bias`]: fill(H, 0) });

  const weights: Record<string, Tensor> = {
    'bert.embeddings.word_embeddings.weight': normal([V, H], 1),
    'bert.embeddings.token_type_embeddings.weight': normal([2, H]),
    ...layerNorm('bert.embeddings.LayerNorm'),
    'bert.pooler.dense.weight': normal([H, H]),
    'bert.pooler.dense.bias': normal([H], 0.02),
    'cls.predictions.transform.dense.weight': normal([H, H]),
    'cls.predictions.transform.dense.bias': normal([H], 0.02),
    ...layerNorm('cls.predictions.transform.LayerNorm'),
    'cls.predictions.decoder.bias': normal([V], 0.02),
    'classifier.weight': normal([C, H]),
    'classifier.bias': normal([C], 0.02),
  };
  for (let i = 0; i < L; i++) {
    const p = `bert.encoder.layer.${i}`;
    Object.assign(weights, {
      [`${p}.attention.self.Wqkv.weight`]: normal([3 * H, H]),
      [`${p}.attention.self.Wqkv.bias`]: normal([3 * H], 0.02),
      [`${p}.attention.output.dense.weight`]: normal([H, H]),
      [`${p}.attention.output.dense.bias`]: normal([H], 0.02),
      ...layerNorm(`${p}.attention.output.LayerNorm`),
      [`${p}.mlp.gated_layers.weight`]: normal([2 * I, H]),
      [`${p}.mlp.wo.weight`]: normal([H, I]),
      [`${p}.mlp.wo.bias`]: normal([H], 0.02),
      ...layerNorm(`${p}.mlp.layernorm`),
    });
  }
  try {
    await saveSafetensors(path.join(dir, 'model.safetensors'), weights, { format: 'pt' });
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }

  const config = {
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    hidden_size: H,
    num_hidden_layers: L,
    num_attention_heads: heads,
    intermediate_size: I,
    vocab_size: V,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    type_vocab_size: 2,
    max_position_embeddings: 512,
    alibi_starting_size: 512,
    attention_probs_dropout_prob: 0,
    hidden_dropout_prob: 0.1,
    num_labels: C,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    attention_normalizer: normalizer,
    torch_dtype: 'float32',
  };
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return { dir, hidden: H, layers: L, vocabSize: V, labels };
}
