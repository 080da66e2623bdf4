"""Baselines for germ's bench, timed in the same run on the same GPU.

Reads a JSON job list on stdin, prints one JSON object on stdout:
  {"matmul": [{"dtype", "m", "k", "n", "ms"}...], "h2d": {"pinned_gbs", "pageable_gbs"}, "device": name}
matmul is torch.matmul (cuBLAS) on x[m, k] @ W[n, k]^T, the nn.Linear layout
germ's bench uses; times are CUDA-event means over many launches after warm-up.
nf4_matmul ([{"m", "k", "n", "block", "ms"}]) is QLoRA's base layer the way
bitsandbytes-style code runs it: dequantize the NF4 weight (double-quantized
absmax) to f16, then cuBLAS; written in plain PyTorch (no bitsandbytes).
"""
import json
import sys

import torch
from cuda_timing import time_ms


NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]


def time_nf4_matmul(m, k, n, block):
    """Dequantize-then-matmul per call: codes (two per byte) -> NF4 values, absmax
    from 8-bit codes x second-level scale + offset, times the values, f16, cuBLAS."""
    dev = "cuda"
    lut = torch.tensor(NF4, device=dev, dtype=torch.float32)
    dyn = torch.linspace(-1, 1, 256, device=dev)  # stands in for the dynamic map: same gather cost
    packed = torch.randint(0, 256, (n * k // 2,), device=dev, dtype=torch.uint8)
    nblocks = n * k // block
    qabsmax = torch.randint(0, 256, (nblocks,), device=dev, dtype=torch.uint8)
    absmax2 = torch.rand((nblocks + 255) // 256, device=dev)
    offset = torch.tensor(0.05, device=dev)
    x = torch.randn(m, k, device=dev, dtype=torch.float16)

    def run():
        codes = torch.stack((packed & 15, packed >> 4), dim=1).reshape(-1).long()
        absmax = dyn[qabsmax.long()] * absmax2.repeat_interleave(256)[:nblocks] + offset
        w = (lut[codes].view(nblocks, block) * absmax[:, None]).to(torch.float16).view(n, k)
        return torch.matmul(x, w.t())

    iters = max(5, min(200, int(2e12 / (2.0 * m * k * n))))
    return time_ms(run, iters, warmup=3)


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
    for job in jobs.get("nf4_matmul", []):
        ms = time_nf4_matmul(job["m"], job["k"], job["n"], job["block"])
        out.setdefault("nf4_matmul", []).append({**job, "ms": ms})
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
