"""PyTorch attention baselines for germ's bench (same run, same GPU).

stdin: {"cases": [{"B", "H", "N", "D"}...], "modes": [...]}; stdout: JSON list of
{"B","H","N","D","mode","fwd_ms","fwdbwd_ms"} (null where a mode failed, e.g. OOM).
Modes:
  flash       SDPA, plain softmax, no bias, flash backend forced (FlashAttention-2).
  sdpa        SDPA, plain softmax, no bias, PyTorch's own backend choice (cuDNN on
              Hopper): the fastest path PyTorch offers.
  mask_null   what a PyTorch user of GERM runs: softmax1 + ALiBi as an additive
              float mask, softmax1 via a zero null key/value column (logit 0).
  flex        FlexAttention (torch.compile'd) with an ALiBi score_mod and the null column.
Layout [B, H, N, D] (SDPA's), f16. Times are CUDA-event means after warm-up.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from alibi_slopes import alibi_slopes as slopes
from cuda_timing import time_ms


def make(mode, B, H, N, D):
    q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.float16, requires_grad=True) for _ in range(3))
    do = torch.randn(B, H, N, D, device="cuda", dtype=torch.float16)
    if mode == "flash":
        def fwd():
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v)
        return fwd, do, (q, k, v)
    if mode == "sdpa":
        def fwd():
            return F.scaled_dot_product_attention(q, k, v)
        return fwd, do, (q, k, v)
    s = torch.tensor(slopes(H), device="cuda", dtype=torch.float32)
    zero = torch.zeros(B, H, 1, D, device="cuda", dtype=torch.float16)
    if mode == "mask_null":
        i = torch.arange(N, device="cuda")
        bias = -s[:, None, None] * (i[None, :, None] - i[None, None, :]).abs()  # [H, N, N]
        mask = torch.cat([bias, torch.zeros(H, N, 1, device="cuda")], dim=-1).to(torch.float16)[None]
        def fwd():
            return F.scaled_dot_product_attention(q, torch.cat([k, zero], 2), torch.cat([v, zero], 2), attn_mask=mask)
        return fwd, do, (q, k, v)
    from torch.nn.attention.flex_attention import flex_attention
    flex = torch.compile(flex_attention, dynamic=False)
    def score_mod(score, b, h, qi, kj):
        return torch.where(kj == N, torch.zeros_like(score), score - s[h] * (qi - kj).abs())
    def fwd():
        return flex(q, torch.cat([k, zero], 2), torch.cat([v, zero], 2), score_mod=score_mod)
    return fwd, do, (q, k, v)


def main():
    job = json.load(sys.stdin)
    out = []
    for c in job["cases"]:
        B, H, N, D = c["B"], c["H"], c["N"], c["D"]
        for mode in job["modes"]:
            row = {**c, "mode": mode, "fwd_ms": None, "fwdbwd_ms": None}
            try:
                fwd, do, leaves = make(mode, B, H, N, D)
                flops = 4.0 * B * H * N * N * D
                iters = max(3, min(100, int(2e13 / flops)))
                with torch.no_grad():
                    row["fwd_ms"] = time_ms(fwd, iters, warmup=2)
                def step():
                    fwd().backward(do)
                row["fwdbwd_ms"] = time_ms(step, iters, warmup=2)
            except Exception as e:  # OOM or an unsupported backend: recorded, not fatal
                row["error"] = str(e).split("\n")[0][:200]
            torch.cuda.empty_cache()
            out.append(row)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
