// One DNABERT-2 / GERM encoder layer (bert_layers.py's BertLayer), post-LN, on
// packed (unpadded) tokens [T, hidden]:
//   qkv = h Wqkv^T + b                  [T, 3H]: q | k | v, then heads inside each
//   ctx = attention(q, k, v)            fused: softmax or softmax1, symmetric ALiBi, varlen
//   h1  = LayerNorm(ctx Wo^T + bo + h)  fused residual + LayerNorm
//   g   = h1 Wg^T                       [T, 2I], no bias
//   h2  = LayerNorm(geglu(g) Wwo^T + bwo + h1)   geglu = gelu(g[:, :I]) * g[:, I:]
import { attention } from '../attention';
import type { GermConfig } from '../io/config';
import { type PackedWeight, addLayerNormOut, linear, linearGeglu, packGeglu } from '../ops';
import type { Tensor } from '../tensor';
import type { WeightReader } from './weights';

/** What one forward over a packed batch needs besides the hidden states. */
export interface PackedBatch {
  /** [B + 1] token offsets of the sequences. */
  cuSeqlens: Int32Array;
}

/** q, k or v of a fused [T, 3H] projection as a [T, heads, dim] view (no copy). */
export function qkvPart(qkv: Tensor, part: 0 | 1 | 2, heads: number): Tensor {
  const H = qkv.shape[1] / 3;
  const cols = qkv.narrow(1, part * H, H);
  try {
    return cols.unflatten(1, [heads, H / heads]);
  } finally {
    cols.dispose();
  }
}

export class BertLayer {
  private constructor(
    private readonly cfg: GermConfig,
    private readonly w: Record<'wqkv' | 'bqkv' | 'wo' | 'bo' | 'ln1w' | 'ln1b' | 'wwo' | 'bwo' | 'ln2w' | 'ln2b', Tensor>
      & { wg: PackedWeight },
  ) {}

  static async load(reader: WeightReader, index: number, cfg: GermConfig): Promise<BertLayer> {
    const p = `bert.encoder.layer.${index}`;
    const H = cfg.hiddenSize, I = cfg.intermediateSize;
    // gated_layers packed once for linearGeglu: the GEGLU then runs in the
    // GEMM's epilogue where the device can.
    const wgRaw = await reader.get(`${p}.mlp.gated_layers.weight`, [2 * I, H]);
    const wg = packGeglu(wgRaw);
    wgRaw.dispose();
    return new BertLayer(cfg, {
      wqkv: await reader.get(`${p}.attention.self.Wqkv.weight`, [3 * H, H]),
      bqkv: await reader.get(`${p}.attention.self.Wqkv.bias`, [3 * H]),
      wo: await reader.get(`${p}.attention.output.dense.weight`, [H, H]),
      bo: await reader.get(`${p}.attention.output.dense.bias`, [H]),
      ln1w: await reader.get(`${p}.attention.output.LayerNorm.weight`, [H]),
      ln1b: await reader.get(`${p}.attention.output.LayerNorm.bias`, [H]),
      wg,
      wwo: await reader.get(`${p}.mlp.wo.weight`, [H, I]),
      bwo: await reader.get(`${p}.mlp.wo.bias`, [H]),
      ln2w: await reader.get(`${p}.mlp.layernorm.weight`, [H]),
      ln2b: await reader.get(`${p}.mlp.layernorm.bias`, [H]),
    });
  }

  /**
   * h [T, H] -> the layer's output [T, H]. With keepQkv, the fused projection
   * is returned too (for inspecting attention probabilities); the caller
   * disposes it.
   */
  forward(h: Tensor, batch: PackedBatch, keepQkv = false): { out: Tensor; qkv: Tensor | null } {
    const { w, cfg } = this;
    const T = h.shape[0], H = cfg.hiddenSize, heads = cfg.numHeads;
    const qkv = linear(h, w.wqkv, w.bqkv);
    const [q, k, v] = [0, 1, 2].map((i) => qkvPart(qkv, i as 0 | 1 | 2, heads));
    const ctx = attention(q, k, v, { normalizer: cfg.normalizer, alibi: true, cuSeqlens: batch.cuSeqlens });
    for (const t of [q, k, v]) t.dispose();
    const ctx2 = ctx.reshape([T, H]);
    const attnOut = linear(ctx2, w.wo, w.bo);
    ctx.dispose();
    ctx2.dispose();
    const ln1 = addLayerNormOut(attnOut, h, w.ln1w, w.ln1b, cfg.layerNormEps);
    attnOut.dispose();
    const act = linearGeglu(ln1, w.wg);
    const mlpOut = linear(act, w.wwo, w.bwo);
    act.dispose();
    const ln2 = addLayerNormOut(mlpOut, ln1, w.ln2w, w.ln2b, cfg.layerNormEps);
    mlpOut.dispose();
    ln1.dispose();
    if (!keepQkv) qkv.dispose();
    return { out: ln2, qkv: keepQkv ? qkv : null };
  }

  dispose(): void {
    for (const t of Object.values(this.w)) t.dispose();
  }
}
