// End-to-end encoder: a DNABERT-2-117M-sized model (hidden 768, 12 layers, 12
// heads, intermediate 3072, vocab 4096; random weights), softmax1, forward of
// a batch of full-length sequences through embeddings, the layers, pooler and
// classifier, against the same architecture in PyTorch
// (bench/baselines/torch_encoder.py: eager and torch.compile, SDPA with an
// ALiBi float mask and the null column for softmax1) in the same run.
// GPU: f16, batch 32, 128 and 512 tokens. CPU: f32, batch 8, 128 tokens,
// all cores for both.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Tensor, saveSafetensors, synchronize, tensor } from '../lib/index';
import { parseConfig } from '../lib/io/config';
import { BertModel } from '../lib/nn/bert_model';
import { progress, record } from './report';

const CONFIG = {
  hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 4096,
  type_vocab_size: 2, layer_norm_eps: 1e-12, attention_normalizer: 'softmax1', id2label: { 0: 'no', 1: 'yes' },
};

interface TorchRow { normalizer: string; seq: number; mode: string; ms: number | null; seq_per_s: number | null; error?: string }

function torchRows(args: string[]): TorchRow[] | string {
  const python = process.env.GERM_BENCH_PYTHON ?? 'python3';
  const script = path.join(__dirname, '..', 'bench', 'baselines', 'torch_encoder.py');
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `PyTorch baseline unavailable: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`;
  return (JSON.parse(r.stdout) as { rows: TorchRow[] }).rows;
}

/** A model folder with random weights (scaled like a trained BERT's: std 0.02, LayerNorm 1 / 0). */
async function randomCheckpoint(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'germ-bench-encoder-'));
  const H = 768, I = 3072, V = 4096;
  let seed = 1;
  const normal = (shape: number[]): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1), s = seed++;
    return tensor(new Float32Array(n).map((_, i) => 0.035 * Math.sin(i * 12.9898 + s * 78.233)), shape, { dtype: 'f16' });
  };
  const fill = (n: number, v: number): Tensor => tensor(new Float32Array(n).fill(v), [n], { dtype: 'f16' });
  const w: Record<string, Tensor> = {
    'bert.embeddings.word_embeddings.weight': normal([V, H]),
    'bert.embeddings.token_type_embeddings.weight': normal([2, H]),
    'bert.embeddings.LayerNorm.weight': fill(H, 1), 'bert.embeddings.LayerNorm.bias': fill(H, 0),
    'bert.pooler.dense.weight': normal([H, H]), 'bert.pooler.dense.bias': fill(H, 0),
    'classifier.weight': normal([2, H]), 'classifier.bias': fill(2, 0),
  };
  for (let l = 0; l < 12; l++) {
    const p = `bert.encoder.layer.${l}`;
    Object.assign(w, {
      [`${p}.attention.self.Wqkv.weight`]: normal([3 * H, H]), [`${p}.attention.self.Wqkv.bias`]: fill(3 * H, 0),
      [`${p}.attention.output.dense.weight`]: normal([H, H]), [`${p}.attention.output.dense.bias`]: fill(H, 0),
      [`${p}.attention.output.LayerNorm.weight`]: fill(H, 1), [`${p}.attention.output.LayerNorm.bias`]: fill(H, 0),
      [`${p}.mlp.gated_layers.weight`]: normal([2 * I, H]),
      [`${p}.mlp.wo.weight`]: normal([H, I]), [`${p}.mlp.wo.bias`]: fill(H, 0),
      [`${p}.mlp.layernorm.weight`]: fill(H, 1), [`${p}.mlp.layernorm.bias`]: fill(H, 0),
    });
  }
  await saveSafetensors(path.join(dir, 'model.safetensors'), w);
  for (const t of Object.values(w)) t.dispose();
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(CONFIG));
  return dir;
}

/** ms per forward (embeddings -> classifier logits) of B sequences of N tokens. */
/** B packed sequences of N tokens: a forward's ids and cumulative lengths. */
function packedBatch(B: number, N: number): { ids: Int32Array; cu: Int32Array } {
  return {
    ids: new Int32Array(B * N).map((_, i) => 5 + ((i * 2654435761) >>> 0) % 4000),
    cu: Int32Array.from({ length: B + 1 }, (_, b) => b * N),
  };
}

/** Embeddings -> classifier logits of a packed batch (the caller disposes the logits). */
function logitsOf(model: BertModel, { ids, cu }: { ids: Int32Array; cu: Int32Array }): Tensor {
  const out = model.forward(ids, { cuSeqlens: cu });
  const cls = model.rows(out.last, cu.subarray(0, cu.length - 1));
  const logits = model.classify(cls);
  for (const t of [out.last, cls]) t.dispose();
  return logits;
}

async function germMs(model: BertModel, B: number, N: number, iters: number): Promise<number> {
  const batch = packedBatch(B, N);
  const once = () => logitsOf(model, batch).dispose();
  for (let i = 0; i < 2; i++) once();
  await synchronize(model.device);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) once();
  const queued = performance.now();
  await synchronize(model.device);
  const ms = (performance.now() - t0) / iters;
  // Host time to issue a forward against the whole time: near 1 means the
  // JavaScript side, not the device, sets the pace.
  progress(`encoder ${model.device} N=${N}: ${ms.toFixed(2)} ms/forward, issuing took ${((queued - t0) / iters).toFixed(2)} ms`);
  return ms;
}

/**
 * What a Node service sees: `clients` concurrent callers, each running
 * forwards and awaiting its logits on the host, while a 1 ms timer measures
 * how late the event loop gets to it. The loop is busy only while a forward's
 * ops are issued (synchronous JavaScript); nothing waits on the device.
 */
async function eventLoopDelay(model: BertModel, B: number, N: number, clients: number, rounds: number): Promise<string> {
  const batch = packedBatch(B, N);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let r = 0; r < rounds; r++) {
      const logits = logitsOf(model, batch);
      await logits.data();
      logits.dispose();
      await new Promise<void>((resolve) => setImmediate(resolve));  // let other callers and timers in
    }
  }));
  const ms = (performance.now() - t0) / (clients * rounds);
  h.disable();
  return `${clients} concurrent callers: ${ms.toFixed(2)} ms/forward, event-loop delay p50 ${(h.percentile(50) / 1e6).toFixed(2)} ms, ` +
    `p99 ${(h.percentile(99) / 1e6).toFixed(2)} ms, max ${(h.max / 1e6).toFixed(2)} ms`;
}

export async function benchEncoder(device: string): Promise<void> {
  const gpu = device !== 'cpu';
  const B = gpu ? 32 : 8, lengths = gpu ? [128, 512] : [128];
  progress(`encoder ${device}: PyTorch baseline (eager, torch.compile)`);
  const base = torchRows(['--device', gpu ? 'cuda' : 'cpu', '--batch', String(B), '--seq', lengths.join(','),
    '--normalizers', 'softmax1', '--modes', gpu ? 'eager,compile' : 'eager', '--iters', gpu ? '50' : '3', ...(gpu ? [] : ['--threads', String(cpus().length)])]);
  if (typeof base === 'string') progress(base);
  const dir = await randomCheckpoint();
  try {
    const model = await BertModel.load(path.join(dir, 'model.safetensors'), parseConfig(CONFIG), device, gpu ? 'f16' : 'f32');
    for (const N of lengths) {
      const ms = await germMs(model, B, N, gpu ? Math.round(12288 / N) : 3);
      if (gpu) progress(`encoder ${device} N=${N}: ${await eventLoopDelay(model, B, N, 4, Math.round(2048 / N))}`);
      const seqs = (m: number) => `${((B * 1000) / m).toFixed(0)} seq/s`;
      for (const mode of gpu ? ['eager', 'compile'] : ['eager']) {
        const row = typeof base === 'string' ? undefined : base.find((r) => r.seq === N && r.mode === mode);
        record({ bench: 'encoder', case: `${device} B=${B} N=${N} softmax1 ${gpu ? 'f16' : 'f32'}`, germ: seqs(ms),
          baselineName: `torch ${mode}`.padEnd(13), baseline: row?.ms ? seqs(row.ms) : (row?.error ?? 'n/a').slice(0, 40),
          ratio: row?.ms ? row.ms / ms : null });
      }
    }
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
