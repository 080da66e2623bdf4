"""PyTorch baseline for germ's end-to-end encoder bench: a DNABERT-2-117M sized
model (hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 4096; random
weights) run forward as a PyTorch user of DNABERT-2 / GERM would run it.

  python3 bench/baselines/torch_encoder.py [--device cuda] [--batch 32] [--seq 128,512]
      [--normalizers softmax1,softmax] [--modes eager,compile] [--iters N] [--warmup N]
  python3 bench/baselines/torch_encoder.py --device cpu [--batch 8] [--seq 128] [--threads N]

Prints one JSON object:
  {"device", "torch", "dtype", "batch", "threads", "model": {...}, "what",
   "rows": [{"normalizer", "seq", "mode", "ms", "seq_per_s", "tokens_per_s",
             "iters", "compile_s"?, "error"?}]}
(ms / seq_per_s / tokens_per_s are null where a mode failed, e.g. a compile error
or OOM; "error" then says why.)

What is timed: one forward of a [batch, seq] batch with no padding (every sequence
full length, attention_mask None) through embeddings, the 12 layers and the pooler
+ classifier, under torch.inference_mode(); no MLM head. Attention is
F.scaled_dot_product_attention with ALiBi as a float mask built each forward (as
DNABERT-2 adds its cached ALiBi to the padding mask each forward); softmax1 appends
a zero key and zero value (logit 0) to every head -- the "sdpa" path of
dnabert2_torch.py. "eager" is the module as is, "compile" is torch.compile(model)
with the default mode (the compile itself is not timed; compile_s reports it).
CUDA: f16 weights and activations, CUDA-event means over --iters forwards after
--warmup. CPU: f32, torch.set_num_threads(--threads, default all cores),
wall-clock means.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnabert2_torch as dt  # noqa: E402

DNABERT2_117M = {
    "vocab_size": 4096,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "num_labels": 2,
}


def parse_list(s, conv=str):
    return [conv(x) for x in s.split(",") if x.strip()]


def make_model(normalizer, device, dtype):
    torch.manual_seed(0)
    model = dt.build(dict(DNABERT2_117M, attention_normalizer=normalizer))
    dt.init_weights(model, std=0.02, seed=0)
    return model.to(device=device, dtype=dtype).eval()


def forward_fn(model, impl):
    def fwd(ids):
        out = model(ids, impl=impl, output_hidden_states=False, mlm=False, classify=True)
        return out["logits"]
    return fwd


def time_cuda(fn, ids, iters, warmup):
    from cuda_timing import time_ms
    return time_ms(lambda: fn(ids), iters, warmup)


def time_cpu(fn, ids, iters, warmup):
    for _ in range(warmup):
        fn(ids)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn(ids)
    return (time.perf_counter() - t0) * 1000.0 / iters


def main(argv=None):
    ap = argparse.ArgumentParser(description="DNABERT-2-117M / GERM forward throughput in PyTorch")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--batch", type=int, default=None, help="default 32 on cuda, 8 on cpu")
    ap.add_argument("--seq", default=None, help="comma list of token counts; default 128,512 on cuda, 128 on cpu")
    ap.add_argument("--normalizers", default="softmax1,softmax")
    ap.add_argument("--modes", default="eager,compile")
    ap.add_argument("--impl", default="sdpa", choices=["sdpa", "explicit"], help="attention path (default sdpa)")
    ap.add_argument("--iters", type=int, default=None, help="default 20 on cuda, 3 on cpu")
    ap.add_argument("--warmup", type=int, default=None, help="default 3 on cuda, 1 on cpu")
    ap.add_argument("--threads", type=int, default=None, help="cpu threads (default: all cores)")
    ap.add_argument("--dtype", default=None, choices=["f16", "bf16", "f32"], help="default f16 on cuda, f32 on cpu")
    args = ap.parse_args(argv)

    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print("torch sees no CUDA device", file=sys.stderr)
        return 2
    batch = args.batch or (32 if cuda else 8)
    seqs = parse_list(args.seq or ("128,512" if cuda else "128"), int)
    iters = args.iters or (20 if cuda else 3)
    warmup = args.warmup if args.warmup is not None else (3 if cuda else 1)
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[args.dtype or ("f16" if cuda else "f32")]
    threads = None
    if not cuda:
        threads = args.threads or os.cpu_count() or 1
        torch.set_num_threads(threads)
    else:
        torch.backends.cuda.matmul.allow_tf32 = False  # f32 runs (if asked) stay exact f32, like germ's
    device = "cuda" if cuda else "cpu"
    timer = time_cuda if cuda else time_cpu

    out = {
        "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "dtype": {torch.float16: "f16", torch.bfloat16: "bf16", torch.float32: "f32"}[dtype],
        "batch": batch,
        "threads": threads,
        "impl": args.impl,
        "model": dict(DNABERT2_117M),
        "what": "forward of [batch, seq] token ids, no padding: embeddings + 12 layers + pooler + classifier, inference_mode",
        "rows": [],
    }
    for normalizer in parse_list(args.normalizers):
        model = make_model(normalizer, device, dtype)
        for seq in seqs:
            g = torch.Generator().manual_seed(seq)
            ids = torch.randint(5, DNABERT2_117M["vocab_size"], (batch, seq), generator=g)
            ids[:, 0], ids[:, -1] = 1, 2  # [CLS] ... [SEP]
            ids = ids.to(device)
            for mode in parse_list(args.modes):
                row = {"normalizer": normalizer, "seq": seq, "mode": mode, "ms": None, "seq_per_s": None,
                       "tokens_per_s": None, "iters": iters}
                try:
                    fn = forward_fn(model, args.impl)
                    with torch.inference_mode():
                        if mode == "compile":
                            torch._dynamo.reset()
                            fn = torch.compile(fn)
                            t0 = time.perf_counter()
                            fn(ids)
                            if cuda:
                                torch.cuda.synchronize()
                            row["compile_s"] = round(time.perf_counter() - t0, 2)
                        elif mode != "eager":
                            raise ValueError(f"unknown mode {mode!r}")
                        ms = timer(fn, ids, iters, warmup)
                    row["ms"] = ms
                    row["seq_per_s"] = batch * 1000.0 / ms
                    row["tokens_per_s"] = batch * seq * 1000.0 / ms
                except Exception as e:  # compile failure, OOM: recorded, not fatal
                    row["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}"
                if cuda:
                    torch.cuda.empty_cache()
                out["rows"].append(row)
                print(f"{normalizer} seq={seq} {mode}: {row['ms']} ms", file=sys.stderr, flush=True)
        del model
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
