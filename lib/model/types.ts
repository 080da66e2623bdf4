// The public shapes of GermModel's requests and results (lib/model/germ_model.ts).
import type { DType } from '../dtype';
import type { DnaOptions } from '../tokenizer';

export interface LoadOptions {
  /** 'cpu' or 'cuda:N'; default: the first GPU if there is one, else the CPU. */
  device?: string;
  /** Compute dtype of the weights and activations; default f16 on a GPU, f32 on the CPU. */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Largest number of tokens run in one packed batch (default 16384). */
  maxBatchTokens?: number;
  /** Largest number of sequences run in one packed batch (default 64). */
  maxBatchSize?: number;
}

export interface RequestOptions extends DnaOptions {
  /** Truncate each sequence to this many tokens (with [CLS] and [SEP]); default: no limit. */
  maxLength?: number;
}

export interface EmbedOptions extends RequestOptions {
  /** Also return each token's last hidden state (tokens x hidden, row-major). */
  perToken?: boolean;
  /** Also return the hidden state after the embeddings and after every layer. */
  hiddenStates?: boolean;
  /** Also return every layer's attention probabilities (heads x tokens x tokens). */
  attentions?: boolean;
}

export interface Embedding {
  /** Token ids the model saw, [CLS] and [SEP] included. */
  ids: Int32Array;
  /** Mean of the last hidden state over all tokens ([CLS] and [SEP] included), length hidden. */
  mean: Float32Array;
  /** [CLS] token's last hidden state, length hidden. */
  cls: Float32Array;
  /** tokens x hidden, when perToken was asked for. */
  tokens?: Float32Array;
  /** numLayers + 1 arrays of tokens x hidden, when hiddenStates was asked for. */
  hiddenStates?: Float32Array[];
  /** numLayers arrays of heads x tokens x tokens, when attentions was asked for. */
  attentions?: Float32Array[];
}

export interface Classification {
  /** Softmax over the classifier's logits. */
  probabilities: Float32Array;
  logits: Float32Array;
  /** Index of the most probable label, and its name from config.id2label. */
  labelId: number;
  label: string;
}

export interface MaskPrediction {
  /** Position of the [MASK] token among the encoded tokens. */
  position: number;
  /** The top candidates, most probable first. */
  candidates: { id: number; token: string; probability: number }[];
}

export interface ModelInfo {
  device: string;
  dtype: DType;
  hiddenSize: number;
  numLayers: number;
  numLabels: number;
  labels: string[];
  normalizer: 'softmax' | 'softmax1';
}
