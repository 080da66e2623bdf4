"""ALiBi head slopes as DNABERT-2's bert_layers.py builds them (_get_alibi_head_slopes),
shared by the PyTorch model (dnabert2_torch.py) and the NumPy fixture builder; no torch."""
import math
from typing import List


def alibi_slopes(n_heads: int) -> List[float]:
    """Geometric for a power of two; else the closest power of two's slopes, then every
    other slope of twice as many."""
    def pow2(n):
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]
    if math.log2(n_heads).is_integer():
        return pow2(n_heads)
    c = 2 ** math.floor(math.log2(n_heads))
    return pow2(c) + alibi_slopes(2 * c)[0::2][: n_heads - c]
