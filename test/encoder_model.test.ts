// GermModel against the parity fixture: a small random DNABERT-2-architecture
// model whose outputs scripts/parity/make_fixture.py computed in float64
// (NumPy, cross-checked against a PyTorch port of bert_layers.py), for softmax
// and softmax1. CPU everywhere; CUDA where a GPU is present.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GermError, GermModel, loadSafetensors, type Tensor } from '../lib/index';
import { loadConfig } from '../lib/io/config';
import { BertModel } from '../lib/nn/bert_model';
import { expectClose } from './helpers/compare';
import { describeDevices } from './helpers/devices';

const FIXTURES = path.join(__dirname, 'fixtures', 'parity');

interface Fixture {
  texts: string[];
  full: number;
  expected: Map<string, Float32Array | Int32Array>;
}

async function fixture(normalizer: string): Promise<Fixture> {
  const dir = path.join(FIXTURES, normalizer);
  const meta = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8'));
  const tensors = await loadSafetensors(path.join(dir, 'expected.safetensors'));
  const expected = new Map<string, Float32Array | Int32Array>();
  for (const [k, t] of tensors) {
    expected.set(k, (await t.data()) as Float32Array | Int32Array);
    t.dispose();
  }
  return { texts: meta.sequences.map((s: { text: string }) => s.text), full: meta.full_sequences, expected };
}

// Tolerances against the float64 reference (hidden values are O(1) after each
// LayerNorm): f32 accumulates ~1e-6 per op; f16 / bf16 round every activation
// (2^-11 / 2^-8 relative) through 2 layers.
const TOL = { f32: { atol: 2e-4, rtol: 1e-4 }, f16: { atol: 3e-2, rtol: 2e-2 }, bf16: { atol: 2e-1, rtol: 5e-2 } } as const;

function dtypesFor(device: string): ('f32' | 'f16' | 'bf16')[] {
  return device === 'cpu' ? ['f32', 'bf16'] : ['f32', 'f16', 'bf16'];
}

for (const normalizer of ['softmax', 'softmax1'] as const) {
  describeDevices(`GermModel parity (${normalizer})`, (device) => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await fixture(normalizer);
    });

    it('tokenizes as Hugging Face tokenizers did', async () => {
      const model = await GermModel.load(path.join(FIXTURES, normalizer), { device, dtype: 'f32' });
      const ids = fx.expected.get('input_ids')!, cu = fx.expected.get('cu_seqlens')!;
      fx.texts.forEach((t, i) => expect(Array.from(model.tokenizer.encode(t).ids)).toEqual(Array.from(ids.subarray(cu[i], cu[i + 1]))));
      await model.dispose();
    });

    for (const dtype of dtypesFor(device)) {
      it(`embed, classify, hidden states, attentions: ${dtype}`, async () => {
        const tol = TOL[dtype];
        const model = await GermModel.load(path.join(FIXTURES, normalizer), { device, dtype });
        expect(model.info).toMatchObject({ device, dtype, hiddenSize: 64, numLayers: 2, numLabels: 3, normalizer });
        const H = 64, cu = fx.expected.get('cu_seqlens')!, full = fx.full;
        const emb = await model.embed(fx.texts, { perToken: true });
        const last = fx.expected.get('last_hidden_state')!, meanRef = fx.expected.get('mean_pooled')!;
        emb.forEach((e, i) => {
          expect(e.ids.length).toBe(cu[i + 1] - cu[i]);
          expectClose(e.tokens!, last.subarray(cu[i] * H, cu[i + 1] * H), tol, `last hidden, sequence ${i}`);
          expectClose(e.mean, meanRef.subarray(i * H, (i + 1) * H), tol, `mean pooled, sequence ${i}`);
          expectClose(e.cls, last.subarray(cu[i] * H, (cu[i] + 1) * H), tol, `cls, sequence ${i}`);
        });

        // Per-layer hidden states and layer-0 attention of the full sequences.
        const insp = await model.embed(fx.texts.slice(0, full), { hiddenStates: true, attentions: true });
        const hs = fx.expected.get('hidden_states')!, T = cu[full];
        for (let l = 0; l < 3; l++)
          insp.forEach((e, i) =>
            expectClose(e.hiddenStates![l], hs.subarray((l * T + cu[i]) * H, (l * T + cu[i + 1]) * H), tol, `hidden ${l}, seq ${i}`));
        expectClose(insp[0].attentions![0], fx.expected.get('attention_probs.layer0.seq0')!,
          { atol: dtype === 'f32' ? 1e-5 : 2 * tol.rtol, rtol: 0 }, 'attention probabilities');

        const cls = await model.classify(fx.texts);
        const logits = fx.expected.get('logits')!;
        cls.forEach((c, i) => {
          expectClose(c.logits, logits.subarray(i * 3, i * 3 + 3), tol, `logits ${i}`);
          expect(c.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          expect(c.label).toBe(['promoter', 'enhancer', 'other'][c.labelId]);
        });
        await model.dispose();
      });
    }

    it('MLM logits of every token (f32)', async () => {
      const dir = path.join(FIXTURES, normalizer);
      const model = await BertModel.load(path.join(dir, 'model.safetensors'), await loadConfig(dir), device, 'f32');
      const ids = fx.expected.get('input_ids')! as Int32Array, cu = fx.expected.get('cu_seqlens')! as Int32Array;
      const T = cu[fx.full];
      const out = model.forward(ids.slice(0, T), { cuSeqlens: cu.slice(0, fx.full + 1) });
      const logits: Tensor = model.mlmLogits(out.last);
      expectClose((await logits.data()) as Float32Array, fx.expected.get('mlm_logits')!, TOL.f32, 'mlm logits');
      logits.dispose();
      out.last.dispose();
      model.dispose();
    });
  });
}

describeDevices('GermModel API', (device) => {
  const dir = path.join(FIXTURES, 'softmax1');
  let model: GermModel;
  beforeAll(async () => {
    model = await GermModel.load(dir, { device, dtype: 'f32', maxBatchSize: 3 });
  });
  afterAll(async () => {
    await model.dispose();
  });

  it('batches concurrent requests without changing their results', async () => {
    const seqs = ['ACGTACGTTAGC', 'GATTACA', 'A', 'CCCCGGGGAAAATTTT'.repeat(5), 'TTGACA', 'NNACGTN'];
    const alone: Float32Array[] = [];
    for (const s of seqs) alone.push((await model.embed(s))[0].mean);
    const together = await Promise.all(seqs.map((s) => model.embed([s])));
    together.forEach((r, i) => expectClose(r[0].mean, alone[i], { atol: 1e-5, rtol: 1e-5 }, `sequence ${i}`));
  });

  it('fillMask ranks the MLM head over the vocabulary at each [MASK]', async () => {
    const preds = await model.fillMask('ACGTACGT[MASK]TTGACA[MASK]', { topK: 3 });
    expect(preds.length).toBe(2);
    for (const p of preds) {
      expect(p.candidates.length).toBe(3);
      const probs = p.candidates.map((c) => c.probability);
      expect([...probs].sort((a, b) => b - a)).toEqual(probs);
      expect(probs[0]).toBeGreaterThan(0);
      expect(probs[0]).toBeLessThanOrEqual(1);
      expect(model.tokenizer.idToken(p.candidates[0].id)).toBe(p.candidates[0].token);
    }
  });

  it('truncates to maxLength keeping [CLS] and [SEP]', async () => {
    const [e] = await model.embed('ACGT'.repeat(100), { maxLength: 8 });
    expect(e.ids.length).toBe(8);
    expect(e.ids[0]).toBe(1);
    expect(e.ids[7]).toBe(2);
  });

  it('rejects bad input with typed errors and keeps serving', async () => {
    await expect(model.embed(['ACGT', 'ACXT'])).rejects.toThrow(/sequence 1: .*position 2/);
    await expect(model.embed('')).rejects.toBeInstanceOf(GermError);
    await expect(model.fillMask('ACGT')).rejects.toThrow(/no \[MASK\]/);
    const [ok] = await model.embed('ACGT');
    expect(ok.mean.length).toBe(64);
  });

  it('load errors name the problem', async () => {
    await expect(GermModel.load(path.join(FIXTURES, 'missing'), { device })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(GermModel.load(dir, { device, dtype: 'i8' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('a disposed model rejects new requests', async () => {
    const m = await GermModel.load(dir, { device, dtype: 'f32' });
    const pending = m.embed('ACGTACGT');
    await m.dispose();
    await expect(pending).resolves.toHaveLength(1);
    await expect(m.embed('ACGT')).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  });
});
