# Baseline for attention_check --time: PyTorch SDPA, f16, B=32, H=12, d=64,
# bidirectional, same FLOP counts (forward 4*B*H*N^2*d, backward 2.5x).
import sys, torch
from torch.nn.attention import sdpa_kernel, SDPBackend
import torch.nn.functional as F

B, H, D = 32, 12, 64
def bench(fn, iters):
    fn(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(iters): fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / iters

print("torch", torch.__version__, torch.cuda.get_device_name())
for backend in [SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION]:
    for N in [512, 1024, 4096, 16384]:
        q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.float16, requires_grad=True) for _ in range(3))
        do = torch.randn_like(q)
        it = 5 if N >= 4096 else 20
        fl = 4.0 * B * H * N * N * D
        try:
            with sdpa_kernel(backend):
                tf = bench(lambda: F.scaled_dot_product_attention(q, k, v), it)
                def fb():
                    o = F.scaled_dot_product_attention(q, k, v)
                    o.backward(do)
                tfb = bench(fb, it)
            print(f"sdpa {backend.name:16s} N={N:<6d} fwd {tf:8.3f} ms {fl/tf*1e-9:6.1f} TFLOP/s | fwd+bwd {tfb:8.3f} ms {3.5*fl/tfb*1e-9:6.1f} TFLOP/s")
        except Exception as ex:
            print(f"sdpa {backend.name} N={N} failed: {ex}".splitlines()[0])
        del q, k, v, do
        torch.cuda.empty_cache()
