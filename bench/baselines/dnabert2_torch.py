"""DNABERT-2 (MosaicBERT) and GERM in plain PyTorch: the reference germ is checked
and benchmarked against.

The module tree and parameter names are those of DNABERT-2's `bert_layers.py`
(zhihan1996/DNABERT-2-117M, a copy of MosaicML's MosaicBERT), so a state dict of
that checkpoint loads as is:

  bert.embeddings.word_embeddings.weight            [V, H]
  bert.embeddings.token_type_embeddings.weight      [2, H]
  bert.embeddings.LayerNorm.{weight,bias}           [H]
  bert.encoder.layer.{i}.attention.self.Wqkv.{weight,bias}         [3H, H], [3H]
  bert.encoder.layer.{i}.attention.output.dense.{weight,bias}      [H, H], [H]
  bert.encoder.layer.{i}.attention.output.LayerNorm.{weight,bias}  [H]
  bert.encoder.layer.{i}.mlp.gated_layers.weight    [2I, H]   (no bias)
  bert.encoder.layer.{i}.mlp.wo.{weight,bias}       [H, I], [H]
  bert.encoder.layer.{i}.mlp.layernorm.{weight,bias} [H]
  bert.pooler.dense.{weight,bias}                   [H, H], [H]
  cls.predictions.transform.dense.{weight,bias}     [H, H], [H]
  cls.predictions.transform.LayerNorm.{weight,bias} [H]
  cls.predictions.decoder.{weight,bias}             [V, H] (tied to word_embeddings), [V]
  classifier.{weight,bias}                          [labels, H], [labels]

What it computes (as bert_layers.py does; dropout is inactive in eval()):
  x = LayerNorm(word[ids] + token_type[0])                       no position embeddings
  per layer:
    q|k|v = Wqkv x, split (three, heads, head_dim) in that order
    s = q k^T / sqrt(head_dim) + alibi + key_padding              alibi = -slope_h |i - j|
    p = softmax(s)   or, for GERM, softmax1(s) = exp(s) / (1 + sum exp(s))
    a = LayerNorm(dense(p v) + x)                                 post-LN
    g = gated_layers(a); x = LayerNorm(wo(gelu(g[:, :I]) * g[:, I:]) + a)   exact GELU
  pooled = tanh(pooler(x[:, 0]))
  mlm    = decoder(LayerNorm_1e-12(gelu(transform(x))))           decoder.weight = word embeddings
  logits = classifier(pooled)

`attention_normalizer` ("softmax" | "softmax1") is germ's own config key; it is
absent from DNABERT-2's config and means "softmax" there.

Two attention paths give the same numbers: "explicit" (matmul, bias, normalizer,
matmul; it can return the probabilities) and "sdpa" (F.scaled_dot_product_attention
with ALiBi as a float mask; softmax1 via an appended zero key and zero value, whose
logit is 0 -- what a PyTorch user of GERM runs).
"""
from __future__ import annotations

import json
import math
import sys
import os
import struct
import warnings
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alibi_slopes import alibi_slopes  # noqa: E402

NORMALIZERS = ("softmax", "softmax1")

# DNABERT-2-117M's config.json, plus what transformers' BertConfig and MosaicBERT's
# BertConfig fill in for keys that file leaves out.
DEFAULTS = {
    "vocab_size": 4096,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.0,
    "classifier_dropout": None,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "alibi_starting_size": 512,
    "pad_token_id": 0,
    "num_labels": 2,
    "attention_normalizer": "softmax",
}


def full_config(config: Optional[dict] = None) -> dict:
    """The config with defaults filled in; num_labels follows id2label when given."""
    cfg = dict(DEFAULTS)
    cfg.update(config or {})
    if (config or {}).get("num_labels") is None and isinstance(cfg.get("id2label"), dict):
        cfg["num_labels"] = len(cfg["id2label"])
    if cfg["attention_normalizer"] not in NORMALIZERS:
        raise ValueError(f"attention_normalizer must be one of {NORMALIZERS}, got {cfg['attention_normalizer']!r}")
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        raise ValueError("hidden_size must be a multiple of num_attention_heads")
    return cfg


def alibi_bias(n_heads: int, n: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """[H, n, n]: -slope_h * |i - j|, for any n (DNABERT-2 rebuilds past alibi_starting_size)."""
    pos = torch.arange(n, device=device)
    rel = (pos[None, :] - pos[:, None]).abs().to(dtype)
    slopes = torch.tensor(alibi_slopes(n_heads), device=device, dtype=dtype)
    return -slopes[:, None, None] * rel[None]


def softmax1(scores: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(s_i) / (1 + sum_j exp(s_j)): softmax with a null key of logit 0 and value 0.
    Shifted by max(max_j s_j, 0), so it neither overflows nor divides by zero (rows
    that are all -inf give zeros)."""
    m = scores.amax(dim=dim, keepdim=True).clamp_min(0)
    e = torch.exp(scores - m)
    return e / (torch.exp(-m) + e.sum(dim=dim, keepdim=True))


def gelu_exact(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="none")


def activation(name: str):
    # transformers' ACT2FN names that BERT configs use; "gelu" is the exact (erf) one.
    table = {
        "gelu": gelu_exact,
        "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
        "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "relu": F.relu,
        "silu": F.silu,
        "swish": F.silu,
        "tanh": torch.tanh,
    }
    if name not in table:
        raise ValueError(f"hidden_act {name!r} is not supported")
    return table[name]


class BertEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"], padding_idx=cfg["pad_token_id"])
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])
        self.dropout = nn.Dropout(cfg["hidden_dropout_prob"])

    def forward(self, input_ids, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class BertUnpadSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.num_heads = cfg["num_attention_heads"]
        self.head_dim = cfg["hidden_size"] // self.num_heads
        self.p_dropout = cfg["attention_probs_dropout_prob"]
        self.normalizer = cfg["attention_normalizer"]
        self.Wqkv = nn.Linear(cfg["hidden_size"], 3 * cfg["hidden_size"])

    def forward(self, x, bias, impl="explicit", want_probs=False):
        """x [B, N, H*D]. Returns (context [B, N, H*D], probs [B, heads, N, N] or None).

        explicit: bias [1 or B, heads, N, N] (ALiBi + key padding) in the dtype the
        scores are computed in (f32 for half inputs). sdpa: bias is the SDPA float
        mask in q's dtype, with an extra zero column for softmax1's null key
        (Dnabert2.attention_bias builds both)."""
        B, N, _ = x.shape
        qkv = self.Wqkv(x).view(B, N, 3, self.num_heads, self.head_dim)
        q, k, v = (qkv[:, :, t].transpose(1, 2) for t in range(3))  # [B, heads, N, D]
        probs = None
        if impl == "sdpa":
            if want_probs:
                raise ValueError("attention probabilities need impl='explicit'")
            if self.normalizer == "softmax1":
                zero = q.new_zeros(B, self.num_heads, 1, self.head_dim)
                k = torch.cat([k, zero], dim=2)
                v = torch.cat([v, zero], dim=2)
            p = self.p_dropout if self.training else 0.0
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
        elif impl == "explicit":
            # Half precision: scores and normalizer in f32, as a careful user would.
            acc = torch.float32 if q.dtype in (torch.float16, torch.bfloat16) else q.dtype
            scores = torch.matmul(q.to(acc), k.to(acc).transpose(-1, -2)) / math.sqrt(self.head_dim)
            scores = scores + bias.to(acc)
            probs = softmax1(scores) if self.normalizer == "softmax1" else torch.softmax(scores, dim=-1)
            dropped = F.dropout(probs, self.p_dropout, self.training) if self.p_dropout else probs
            ctx = torch.matmul(dropped.to(v.dtype), v)
        else:
            raise ValueError(f"attention impl must be 'explicit' or 'sdpa', got {impl!r}")
        return ctx.transpose(1, 2).reshape(B, N, self.num_heads * self.head_dim), (probs if want_probs else None)


class BertSelfOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])
        self.dropout = nn.Dropout(cfg["hidden_dropout_prob"])

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class BertUnpadAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self = BertUnpadSelfAttention(cfg)
        self.output = BertSelfOutput(cfg)

    def forward(self, x, bias, impl="explicit", want_probs=False):
        ctx, probs = self.self(x, bias, impl, want_probs)
        return self.output(ctx, x), probs


class BertGatedLinearUnitMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.intermediate_size = cfg["intermediate_size"]
        self.gated_layers = nn.Linear(cfg["hidden_size"], 2 * cfg["intermediate_size"], bias=False)
        self.act = nn.GELU(approximate="none")  # fixed in bert_layers.py, whatever hidden_act says
        self.wo = nn.Linear(cfg["intermediate_size"], cfg["hidden_size"])
        self.dropout = nn.Dropout(cfg["hidden_dropout_prob"])
        self.layernorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, x):
        g = self.gated_layers(x)
        h = self.act(g[..., : self.intermediate_size]) * g[..., self.intermediate_size:]
        return self.layernorm(self.wo(self.dropout(h)) + x)


class BertLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = BertUnpadAttention(cfg)
        self.mlp = BertGatedLinearUnitMLP(cfg)

    def forward(self, x, bias, impl="explicit", want_probs=False):
        a, probs = self.attention(x, bias, impl, want_probs)
        return self.mlp(a), probs


class BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(cfg) for _ in range(cfg["num_hidden_layers"])])


class BertPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.activation = nn.Tanh()

    def forward(self, hidden):
        return self.activation(self.dense(hidden[:, 0]))


class BertModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg)


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.act = activation(cfg["hidden_act"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=1e-12)  # hard-coded 1e-12 in bert_layers.py

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, cfg, word_embeddings: nn.Parameter):
        super().__init__()
        self.transform = BertPredictionHeadTransform(cfg)
        self.decoder = nn.Linear(cfg["hidden_size"], cfg["vocab_size"])
        self.decoder.weight = word_embeddings  # tied; decoder.bias is its own

    def forward(self, x):
        return self.decoder(self.transform(x))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, cfg, word_embeddings):
        super().__init__()
        self.predictions = BertLMPredictionHead(cfg, word_embeddings)


class Dnabert2(nn.Module):
    """Encoder + pooler + MLM head + sequence classifier under DNABERT-2's names."""

    def __init__(self, config: Optional[dict] = None):
        super().__init__()
        cfg = full_config(config)
        self.config = cfg
        self.bert = BertModel(cfg)
        self.cls = BertOnlyMLMHead(cfg, self.bert.embeddings.word_embeddings.weight)
        drop = cfg["classifier_dropout"] if cfg["classifier_dropout"] is not None else cfg["hidden_dropout_prob"]
        self.dropout = nn.Dropout(drop)
        self.classifier = nn.Linear(cfg["hidden_size"], cfg["num_labels"])

    def attention_bias(self, n, attention_mask, device, dtype, impl="explicit"):
        """[1 or B, heads, n, n]: ALiBi, plus -inf on padded keys (DNABERT-2 adds -10000:
        the same zero weight in f32/f64). Rebuilt per call, for any n. For impl
        'sdpa' and softmax1, one more zero column: the null key's logit."""
        bias = alibi_bias(self.config["num_attention_heads"], n, device, dtype)[None]
        if attention_mask is not None:
            keep = attention_mask.to(torch.bool)[:, None, None, :]
            bias = bias.masked_fill(~keep, float("-inf"))
        if impl == "sdpa" and self.config["attention_normalizer"] == "softmax1":
            bias = torch.cat([bias, bias.new_zeros(*bias.shape[:-1], 1)], dim=-1)
        return bias

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, impl="explicit",
                output_hidden_states=True, output_attentions=False, mlm=True, classify=True):
        """input_ids [B, N] (padded on the right), attention_mask [B, N] of 1/0 or None.

        Returns a dict:
          last_hidden_state [B, N, H] (zeros at padded positions, as DNABERT-2's pad_input)
          hidden_states     list of L+1 [B, N, H]: embeddings output, then each layer's output
          attentions        list of L [B, heads, N, N] probabilities over the real keys (the
                            softmax1 null key's share is 1 - row sum); None unless asked
          pooled            [B, H] tanh(dense(h[:, 0]))
          mean_pooled       [B, H] mean of last_hidden_state over unpadded tokens (CLS/SEP included)
          mlm_logits        [B, N, V] or None
          logits            [B, num_labels] classifier(dropout(pooled)) or None
        """
        if impl not in ("explicit", "sdpa"):
            raise ValueError(f"attention impl must be 'explicit' or 'sdpa', got {impl!r}")
        if output_attentions:
            impl = "explicit"  # SDPA does not return probabilities
        x = self.bert.embeddings(input_ids, token_type_ids)
        acc = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        bias = self.attention_bias(input_ids.shape[1], attention_mask, x.device, acc, impl)
        if impl == "sdpa":
            bias = bias.to(x.dtype)  # SDPA wants the float mask in the query's dtype
        keep = None if attention_mask is None else attention_mask.to(x.dtype)[..., None]
        if keep is not None:
            x = x * keep
        hidden = [x] if output_hidden_states else None
        attns = [] if output_attentions else None
        for layer in self.bert.encoder.layer:
            x, probs = layer(x, bias, impl, output_attentions)
            if keep is not None:
                x = x * keep
            if output_hidden_states:
                hidden.append(x)
            if output_attentions:
                attns.append(probs)
        pooled = self.bert.pooler(x)
        if keep is None:
            mean = x.mean(dim=1)
        else:
            mean = x.sum(dim=1) / keep.sum(dim=1)
        return {
            "last_hidden_state": x,
            "hidden_states": hidden,
            "attentions": attns,
            "pooled": pooled,
            "mean_pooled": mean,
            "mlm_logits": self.cls.predictions(x) if mlm else None,
            "logits": self.classifier(self.dropout(pooled)) if classify else None,
        }


def build(config: Optional[dict] = None) -> Dnabert2:
    """A Dnabert2 module for a config dict (DNABERT-2's config.json keys, plus
    germ's "attention_normalizer"); weights as PyTorch initialises them."""
    return Dnabert2(config)


def init_weights(model: Dnabert2, std: float = 0.02, seed: Optional[int] = None) -> Dnabert2:
    """BERT's initialisation (normal(0, std) weights, zero biases, unit LayerNorm)."""
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layernorm" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32).to(p.dtype) * std)
    return model


TIED_KEY = "cls.predictions.decoder.weight"
WORD_KEY = "bert.embeddings.word_embeddings.weight"


def hf_state_dict(model: Dnabert2, include_tied: bool = False) -> Dict[str, torch.Tensor]:
    """The state dict under DNABERT-2's names; the tied decoder weight only if asked
    (transformers' safetensors writer leaves it out, a torch.save'd state dict has it)."""
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    if not include_tied:
        sd.pop(TIED_KEY, None)
    return sd


def load_hf_state_dict(model: Dnabert2, sd: Dict[str, torch.Tensor], strict_heads: bool = False):
    """Loads DNABERT-2 names (a leading 'model.' is dropped, as bert_layers.py does).
    The decoder stays tied to the word embeddings; a stored decoder.weight must equal
    them (or stands in for them when only it is stored). Missing pooler/classifier/MLM-head weights (a BertForMaskedLM checkpoint has
    no pooler or classifier) keep their initial values unless strict_heads.
    Returns (missing, unexpected)."""
    sd = {(k[len("model."):] if k.startswith("model.") else k): v for k, v in sd.items()}
    tied = sd.pop(TIED_KEY, None)
    if tied is not None and WORD_KEY not in sd:
        sd[WORD_KEY] = tied  # a deduplicating converter may have kept only the decoder's name
    elif tied is not None and not torch.equal(tied.float(), sd[WORD_KEY].float()):
        raise ValueError(f"{TIED_KEY} differs from {WORD_KEY}; this model ties them")
    own = model.state_dict()
    own.pop(TIED_KEY)
    missing = sorted(k for k in own if k not in sd)
    unexpected = sorted(k for k in sd if k not in own)
    encoder_missing = [k for k in missing if k.startswith("bert.embeddings") or k.startswith("bert.encoder")]
    if encoder_missing or (strict_heads and missing):
        raise KeyError(f"missing weights: {missing[:8]}{' ...' if len(missing) > 8 else ''}")
    with torch.no_grad():
        for k, v in sd.items():
            if k in own:
                if tuple(own[k].shape) != tuple(v.shape):
                    raise ValueError(f"{k}: shape {tuple(v.shape)} != model's {tuple(own[k].shape)}")
                own[k].copy_(v.to(own[k].dtype))
    if missing:
        warnings.warn(f"weights not in the checkpoint, left as initialised: {missing}")
    return missing, unexpected


_ST_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
              "BOOL": torch.bool}


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """safetensors.torch.load_file, or a small reader of the format where that is missing."""
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        dt = _ST_DTYPES[meta["dtype"]]
        t = torch.frombuffer(bytearray(data[base + a: base + b]), dtype=dt) if b > a else torch.empty(0, dtype=dt)
        out[name] = t.reshape(meta["shape"])
    return out


def load_pretrained(model_dir: str, dtype=torch.float32, device="cpu", config_overrides: Optional[dict] = None):
    """config.json + model.safetensors (or pytorch_model.bin) from a directory."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(config_overrides or {})
    model = build(cfg)
    st = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(st):
        sd = read_safetensors(st)
    else:
        sd = torch.load(os.path.join(model_dir, "pytorch_model.bin"), map_location="cpu", weights_only=True)
    load_hf_state_dict(model, sd)
    return model.to(device=device, dtype=dtype).eval()


def pad_batch(seqs: List[List[int]], pad_id: int = 3):
    """Right-padded input_ids [B, N] and attention_mask [B, N] from id lists."""
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask
