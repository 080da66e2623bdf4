"""PyTorch baseline for bench/lora.ts: reads a JSON job list on stdin, prints
timings (ms, CUDA-event means) as JSON on stdout.

  {"cases": [{"m", "k", "n", "r", "dtype"}], "merge": [{"k", "n", "r", "dtype"}]}

For each case: the base layer F.linear(x, W, b), and the unfused LoRA forward
PEFT runs, F.linear(x, W, b) + s * F.linear(F.linear(x, A), B) (two extra
cuBLAS GEMMs and an add). For each merge: W.addmm_(B, A, alpha=s) in place.
"""
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __import__("os").path.dirname(__file__))
from cuda_timing import time_ms  # noqa: E402

DT = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}


def main():
    jobs = json.load(sys.stdin)
    dev = "cuda"
    out = {"torch": torch.__version__, "cases": [], "merge": []}
    for c in jobs.get("cases", []):
        dt = DT[c["dtype"]]
        m, k, n, r = c["m"], c["k"], c["n"], c["r"]
        x = torch.randn(m, k, device=dev, dtype=dt)
        w = torch.randn(n, k, device=dev, dtype=dt) * 0.02
        b = torch.randn(n, device=dev, dtype=dt)
        a = torch.randn(r, k, device=dev, dtype=dt) * 0.02
        bb = torch.randn(n, r, device=dev, dtype=dt) * 0.02
        s = 16.0 / r
        iters = max(20, min(500, int(2e11 / (2 * m * k * n))))
        base = time_ms(lambda: F.linear(x, w, b), iters, 5)
        lora = time_ms(lambda: F.linear(x, w, b) + s * F.linear(F.linear(x, a), bb), iters, 5)
        out["cases"].append({**c, "base_ms": base, "lora_ms": lora})
    for c in jobs.get("merge", []):
        dt = DT[c["dtype"]]
        k, n, r = c["k"], c["n"], c["r"]
        w = torch.randn(n, k, device=dev, dtype=dt) * 0.02
        a = torch.randn(r, k, device=dev, dtype=dt) * 0.02
        bb = torch.randn(n, r, device=dev, dtype=dt) * 0.02
        out["merge"].append({**c, "ms": time_ms(lambda: w.addmm_(bb, a, alpha=16.0 / r), 50, 5)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
