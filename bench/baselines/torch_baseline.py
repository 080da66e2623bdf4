"""Baselines for germ's bench, timed in the same run on the same GPU.

Reads a JSON job list on stdin, prints one JSON object on stdout:
  {"matmul": [{"dtype", "m", "k", "n", "ms"}...], "h2d": {"pinned_gbs", "pageable_gbs"}, "device": name}
matmul is torch.matmul (cuBLAS) on x[m, k] @ W[n, k]^T, the nn.Linear layout
germ's bench uses; times are CUDA-event means over many launches after warm-up.
"""
import json
import sys

import torch
from cuda_timing import time_ms


def main():
    jobs = json.load(sys.stdin)
    dtypes = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
    # germ's f32 matmul is exact f32 (no TF32); compare like with like.
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "matmul": []}
    for job in jobs.get("matmul", []):
        dt = dtypes[job["dtype"]]
        x = torch.randn(job["m"], job["k"], device="cuda", dtype=dt)
        w = torch.randn(job["n"], job["k"], device="cuda", dtype=dt)
        flops = 2.0 * job["m"] * job["k"] * job["n"]
        iters = max(5, min(200, int(2e12 / flops)))
        ms = time_ms(lambda: torch.matmul(x, w.t()), iters, warmup=3)
        out["matmul"].append({**job, "ms": ms})
    if "h2d_bytes" in jobs:
        nbytes = jobs["h2d_bytes"]
        dev = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
        pinned = torch.empty(nbytes, dtype=torch.uint8, pin_memory=True)
        pageable = torch.empty(nbytes, dtype=torch.uint8)
        pinned_ms = time_ms(lambda: dev.copy_(pinned, non_blocking=True), 10, warmup=3)
        pageable_ms = time_ms(lambda: dev.copy_(pageable), 5, warmup=3)
        out["h2d"] = {"bytes": nbytes, "pinned_gbs": nbytes / pinned_ms / 1e6, "pageable_gbs": nbytes / pageable_ms / 1e6}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
