// Where an encoder layer's time goes: each op of one DNABERT-2-117M layer
// (f16, softmax1, packed batch of 32 sequences) timed alone, queued back to
// back, at the shapes the whole-model bench (bench/encoder.ts) runs, then the
// layer's sum against one whole layer issued as the model issues it. A whole
// layer slower than the sum of its ops means time between ops (issue cost,
// synchronisation), not in them.
import { type Tensor, addLayerNormOut, attention, geglu, linear, matmul, tensor } from '../lib/index';
import { qkvPart } from '../lib/nn/bert_layer';
import { progress, record } from './report';
import { timeMs } from './timing';

const H = 768, I = 3072, HEADS = 12, B = 32;

export async function benchEncoderParts(device: string): Promise<void> {
  const rand = (shape: number[], scale: number): Tensor =>
    tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (Math.random() - 0.5) * scale), shape,
      { dtype: 'f16', device });
  const w = {
    qkv: rand([3 * H, H], 0.07), bqkv: rand([3 * H], 0.1), o: rand([H, H], 0.07), bo: rand([H], 0.1),
    g: rand([2 * I, H], 0.07), wo: rand([H, I], 0.035), bwo: rand([H], 0.1), lnw: rand([H], 0.1), lnb: rand([H], 0.1),
  };
  for (const N of [128, 512]) {
    const T = B * N;
    const cu = Int32Array.from({ length: B + 1 }, (_, b) => b * N);
    const h = rand([T, H], 2), qkv = rand([T, 3 * H], 2), ctx = rand([T, H], 2), gated = rand([T, 2 * I], 2);
    const act = rand([T, I], 2);
    const reps = N === 128 ? 60 : 20;
    const parts: [string, () => void][] = [
      ['Wqkv linear', () => linear(h, w.qkv, w.bqkv).dispose()],
      ['attention', () => {
        const [q, k, v] = [0, 1, 2].map((i) => qkvPart(qkv, i as 0 | 1 | 2, HEADS));
        attention(q, k, v, { normalizer: 'softmax1', alibi: true, cuSeqlens: cu }).dispose();
        for (const t of [q, k, v]) t.dispose();
      }],
      ['output linear', () => linear(ctx, w.o, w.bo).dispose()],
      ['residual + LayerNorm', () => addLayerNormOut(ctx, h, w.lnw, w.lnb, 1e-12).dispose()],
      ['gated_layers matmul', () => matmul(h, w.g, { transB: true }).dispose()],
      ['GEGLU', () => geglu(gated).dispose()],
      ['wo linear', () => linear(act, w.wo, w.bwo).dispose()],
      ['residual + LayerNorm', () => addLayerNormOut(ctx, h, w.lnw, w.lnb, 1e-12).dispose()],
    ];
    let sum = 0;
    for (const [name, run] of parts) {
      progress(`encoder parts N=${N}: ${name}`);
      const ms = await timeMs(device, reps, run);
      sum += ms;
      record({ bench: 'enc-parts', case: `${device} N=${N} ${name}`, germ: `${(ms * 1000).toFixed(1)} us`,
        baselineName: 'timed alone', baseline: '', ratio: null });
    }
    // One layer as BertLayer.forward issues it, chained.
    const layer = () => {
      const q3 = linear(h, w.qkv, w.bqkv);
      const [q, k, v] = [0, 1, 2].map((i) => qkvPart(q3, i as 0 | 1 | 2, HEADS));
      const c = attention(q, k, v, { normalizer: 'softmax1', alibi: true, cuSeqlens: cu });
      const c2 = c.reshape([T, H]);
      const a = linear(c2, w.o, w.bo);
      const ln1 = addLayerNormOut(a, h, w.lnw, w.lnb, 1e-12);
      const gt = matmul(ln1, w.g, { transB: true });
      const ac = geglu(gt);
      const m = linear(ac, w.wo, w.bwo);
      const ln2 = addLayerNormOut(m, ln1, w.lnw, w.lnb, 1e-12);
      for (const t of [q3, q, k, v, c, c2, a, ln1, gt, ac, m, ln2]) t.dispose();
    };
    const whole = await timeMs(device, reps, layer);
    record({ bench: 'enc-parts', case: `${device} N=${N} whole layer`, germ: `${(whole * 1000).toFixed(1)} us`,
      baselineName: 'sum of its ops', baseline: `${(sum * 1000).toFixed(1)} us`, ratio: sum / whole });
    for (const t of [h, qkv, ctx, gated, act]) t.dispose();
  }
  for (const t of Object.values(w)) t.dispose();
}
