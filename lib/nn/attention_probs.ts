// Attention probabilities for inspection (what DNABERT-2's users ask for and
// the fused kernel never stores), computed unfused on the model's device in f32
// from a layer's kept q|k|v projection, per sequence: heads x n x n floats,
// row-major. For softmax1 a row sums to less than 1; the rest is the null
// key's share. Only the |i - j| distance matrix is built on the host (n^2), so
// the event loop does no O(heads n^2) work.
import { alibiSlopes } from '../alibi';
import type { GermConfig } from '../io/config';
import { div, exp, matmul, max, maximum, mul, neg, sub, sum, tensor } from '../ops';
import type { Tensor } from '../tensor';
import { qkvPart } from './bert_layer';

export async function attentionProbabilities(qkv: Tensor, cuSeqlens: Int32Array, cfg: GermConfig): Promise<Float32Array[]> {
  const heads = cfg.numHeads, d = cfg.hiddenSize / heads, device = qkv.device;
  const slopes = tensor(alibiSlopes(heads), [heads, 1, 1], { device });
  const q = qkvPart(qkv, 0, heads), k = qkvPart(qkv, 1, heads);
  const out: Float32Array[] = [];
  const temps: Tensor[] = [slopes, q, k];
  const t = <T extends Tensor>(x: T): T => (temps.push(x), x);
  try {
    for (let b = 0; b + 1 < cuSeqlens.length; b++) {
      const s = cuSeqlens[b], n = cuSeqlens[b + 1] - s;
      // [n, heads, d] -> [heads, n, d], in f32 so the scores are not rounded to f16.
      const [qh, kh] = [q, k].map((x) => t(t(t(x.narrow(0, s, n)).permute([1, 0, 2])).cast('f32')));
      const dist = new Float32Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) dist[i * n + j] = Math.abs(i - j);
      const bias = t(mul(slopes, t(tensor(dist, [1, n, n], { device }))));
      const scores = t(sub(t(matmul(qh, kh, { transB: true, alpha: 1 / Math.sqrt(d) })), bias));
      let m = t(max(scores, -1, true));
      if (cfg.normalizer === 'softmax1') m = t(maximum(m, t(tensor([0], [1, 1, 1], { device }))));
      const e = t(exp(t(sub(scores, m))));
      let z = t(sum(e, -1, true));
      if (cfg.normalizer === 'softmax1') z = t(z.add(t(exp(t(neg(m))))));
      out.push((await t(div(e, z)).data()) as Float32Array);
    }
  } finally {
    for (const x of temps) x.dispose();
  }
  return out;
}
