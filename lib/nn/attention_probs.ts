// Attention probabilities for inspection (what DNABERT-2's users ask for and
// the fused kernel never stores): scores q k^T on the device from a layer's
// kept q|k|v projection, then ALiBi and the normaliser on the host in float64,
// per sequence: heads x n x n floats, row-major. For softmax1 a row sums to
// less than 1; the rest is the null key's share.
import { alibiSlopes } from '../alibi';
import type { GermConfig } from '../io/config';
import { matmul } from '../ops';
import type { Tensor } from '../tensor';
import { qkvPart } from './bert_layer';

export async function attentionProbabilities(qkv: Tensor, cuSeqlens: Int32Array, cfg: GermConfig): Promise<Float32Array[]> {
  const heads = cfg.numHeads, d = cfg.hiddenSize / heads, scale = 1 / Math.sqrt(d);
  const slopes = alibiSlopes(heads);
  const q = qkvPart(qkv, 0, heads), k = qkvPart(qkv, 1, heads);
  const out: Float32Array[] = [];
  try {
    for (let b = 0; b + 1 < cuSeqlens.length; b++) {
      const s = cuSeqlens[b], n = cuSeqlens[b + 1] - s;
      // [n, heads, d] -> [heads, n, d], f32 so the scores are not rounded to f16.
      const views = [q, k].map((t) => t.narrow(0, s, n).permute([1, 0, 2]));
      const [qh, kh] = views.map((t) => t.cast('f32'));
      const scores = matmul(qh, kh, { transB: true, alpha: scale });
      for (const t of [...views, qh, kh]) t.dispose();
      const sc = (await scores.data()) as Float32Array;
      scores.dispose();
      const p = new Float32Array(heads * n * n);
      const row = new Float64Array(n);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < n; i++) {
          const base = (h * n + i) * n;
          let m = cfg.normalizer === 'softmax1' ? 0 : -Infinity;
          for (let j = 0; j < n; j++) {
            row[j] = sc[base + j] - slopes[h] * Math.abs(i - j);
            if (row[j] > m) m = row[j];
          }
          let z = cfg.normalizer === 'softmax1' ? Math.exp(-m) : 0;
          for (let j = 0; j < n; j++) z += row[j] = Math.exp(row[j] - m);
          for (let j = 0; j < n; j++) p[base + j] = row[j] / z;
        }
      }
      out.push(p);
    }
  } finally {
    q.dispose();
    k.dispose();
  }
  return out;
}
