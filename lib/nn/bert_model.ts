// The DNABERT-2 / GERM encoder (bert_layers.py's BertModel with its heads) on
// packed token batches: no padding, so a batch of unequal lengths costs only
// its real tokens.
//   embeddings  LayerNorm(word[id] + token_type[0])   (no position embeddings: ALiBi)
//   encoder     numLayers x BertLayer
//   pooler      tanh(dense(h[CLS]))
//   classifier  Linear(hidden, labels) on the pooled output
//   MLM head    decoder(LayerNorm(gelu(dense(h)))), decoder tied to the word embeddings + own bias
import type { DType } from '../dtype';
import { GermError } from '../errors';
import type { GermConfig } from '../io/config';
import { add, embedding, gelu, layerNorm, linear, matmul, tanh, tensor } from '../ops';
import type { Tensor } from '../tensor';
import { BertLayer, type PackedBatch } from './bert_layer';
import { WeightReader } from './weights';

interface Heads {
  pooler: { w: Tensor; b: Tensor } | null;
  classifier: { w: Tensor; b: Tensor } | null;
  mlm: { w: Tensor; b: Tensor; lnw: Tensor; lnb: Tensor; decoderBias: Tensor } | null;
}

export interface EncoderOutput {
  /** [T, hidden], the last layer's output. */
  last: Tensor;
  /** The embeddings' output and every layer's, when asked for (the last is `last` itself). */
  hidden: Tensor[];
  /** Each layer's fused q|k|v projection [T, 3H], when asked for. */
  qkv: Tensor[];
}

export class BertModel {
  private constructor(
    readonly config: GermConfig,
    readonly device: string,
    readonly dtype: DType,
    /** word_embeddings + token_type_embeddings[0]: the lookup table of the embeddings. */
    private readonly tokenTable: Tensor,
    private readonly wordEmbeddings: Tensor,
    private readonly embLn: { w: Tensor; b: Tensor },
    private readonly layers: BertLayer[],
    private readonly heads: Heads,
  ) {}

  static async load(file: string, config: GermConfig, device: string, dtype: DType): Promise<BertModel> {
    const reader = await WeightReader.open(file, device, dtype);
    let ok = false;
    try {
      const H = config.hiddenSize, V = config.vocabSize;
      const word = await reader.get('bert.embeddings.word_embeddings.weight', [V, H]);
      const types = await reader.get('bert.embeddings.token_type_embeddings.weight', [config.typeVocabSize, H]);
      const type0 = types.narrow(0, 0, 1);
      const tokenTable = reader.adopt(add(word, type0));
      type0.dispose();
      types.dispose();
      const embLn = {
        w: await reader.get('bert.embeddings.LayerNorm.weight', [H]),
        b: await reader.get('bert.embeddings.LayerNorm.bias', [H]),
      };
      const layers: BertLayer[] = [];
      for (let i = 0; i < config.numLayers; i++) layers.push(await BertLayer.load(reader, i, config));
      const pair = async (prefix: string, shape: number[]) => {
        const w = await reader.optional(`${prefix}.weight`, shape);
        const b = w && (await reader.get(`${prefix}.bias`, [shape[0]]));
        return w && b ? { w, b } : null;
      };
      const transform = await pair('cls.predictions.transform.dense', [H, H]);
      const heads: Heads = {
        pooler: await pair('bert.pooler.dense', [H, H]),
        classifier: await pair('classifier', [config.labels.length, H]),
        mlm: transform && {
          ...transform,
          lnw: await reader.get('cls.predictions.transform.LayerNorm.weight', [H]),
          lnb: await reader.get('cls.predictions.transform.LayerNorm.bias', [H]),
          decoderBias: await reader.get('cls.predictions.decoder.bias', [V]),
        },
      };
      ok = true;
      return new BertModel(config, device, dtype, tokenTable, word, embLn, layers, heads);
    } finally {
      await reader.close(!ok);
    }
  }

  get hasClassifier(): boolean {
    return this.heads.pooler !== null && this.heads.classifier !== null;
  }
  get hasMlmHead(): boolean {
    return this.heads.mlm !== null;
  }

  /** ids [T] packed, cuSeqlens [B + 1] -> the encoder's output. */
  forward(ids: Int32Array, batch: PackedBatch, options: { hiddenStates?: boolean; qkv?: boolean } = {}): EncoderOutput {
    const { config: cfg } = this;
    const emb = embedding(this.tokenTable, ids);
    const ln = layerNorm(emb, this.embLn.w, this.embLn.b, cfg.layerNormEps);
    emb.dispose();
    ln.mean.dispose();
    ln.rstd.dispose();
    let h = ln.out;
    const hidden: Tensor[] = [], qkv: Tensor[] = [];
    for (const layer of this.layers) {
      const r = layer.forward(h, batch, options.qkv ?? false);
      if (options.hiddenStates) hidden.push(h);
      else h.dispose();
      if (r.qkv) qkv.push(r.qkv);
      h = r.out;
    }
    if (options.hiddenStates) hidden.push(h);
    return { last: h, hidden, qkv };
  }

  /** Mean of each sequence's tokens: [B, hidden], one GEMM with a [B, T] averaging matrix. */
  meanPool(last: Tensor, cuSeqlens: Int32Array): Tensor {
    const B = cuSeqlens.length - 1, T = last.shape[0];
    const avg = new Float32Array(B * T);
    for (let b = 0; b < B; b++) {
      const n = cuSeqlens[b + 1] - cuSeqlens[b];
      avg.fill(1 / n, b * T + cuSeqlens[b], b * T + cuSeqlens[b + 1]);
    }
    const a = tensor(avg, [B, T], { dtype: this.dtype, device: this.device });
    const out = matmul(a, last);
    a.dispose();
    return out;
  }

  /** Rows of the last hidden state at these token positions ([CLS] of each sequence, say). */
  rows(last: Tensor, positions: Int32Array): Tensor {
    return embedding(last, positions);
  }

  /** Classifier logits [B, labels] from the [CLS] rows [B, hidden]. */
  classify(cls: Tensor): Tensor {
    const { pooler, classifier } = this.heads;
    if (!pooler || !classifier)
      throw new GermError('classify: this checkpoint has no pooler / classifier weights (bert.pooler.dense, classifier)', 'ERR_INVALID_ARGUMENT');
    const dense = linear(cls, pooler.w, pooler.b);
    const pooled = tanh(dense);
    dense.dispose();
    const logits = linear(pooled, classifier.w, classifier.b);
    pooled.dispose();
    return logits;
  }

  /** MLM logits [R, vocab] for hidden rows [R, hidden]. */
  mlmLogits(rows: Tensor): Tensor {
    const mlm = this.heads.mlm;
    if (!mlm) throw new GermError('fillMask: this checkpoint has no MLM head (cls.predictions.*)', 'ERR_INVALID_ARGUMENT');
    const dense = linear(rows, mlm.w, mlm.b);
    const act = gelu(dense);
    dense.dispose();
    // bert_layers.py's BertPredictionHeadTransform hard-codes eps 1e-12.
    const ln = layerNorm(act, mlm.lnw, mlm.lnb, 1e-12);
    act.dispose();
    ln.mean.dispose();
    ln.rstd.dispose();
    const logits = linear(ln.out, this.wordEmbeddings, mlm.decoderBias);
    ln.out.dispose();
    return logits;
  }

  dispose(): void {
    this.tokenTable.dispose();
    this.wordEmbeddings.dispose();
    this.embLn.w.dispose();
    this.embLn.b.dispose();
    for (const l of this.layers) l.dispose();
    const { pooler, classifier, mlm } = this.heads;
    for (const group of [pooler, classifier, mlm]) if (group) for (const t of Object.values(group)) t.dispose();
  }
}
