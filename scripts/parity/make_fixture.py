#!/usr/bin/env python3
"""Parity fixtures for germ's DNABERT-2 / GERM encoder, computed in float64.

  python3 scripts/parity/make_fixture.py --out test/fixtures/parity
  python3 scripts/parity/make_fixture.py --check-tokenizer path/to/tokenizer.json \
      [--sequences ACGT GATTACA ...] [--sequences-file seqs.txt] [--expected enc.json] [--dump out.json]

Fixture mode builds one small random model (hidden 64, 2 layers, 4 heads,
intermediate 128, a 256-token DNA BPE vocabulary, 3 labels) and writes it twice,
once per attention normalizer, with the same weights, so the two directories differ
only in how attention is normalised:

  <out>/softmax/   config.json  model.safetensors  tokenizer.json  expected.safetensors  expected.json
  <out>/softmax1/  the same files

The tokenizer.json is DNABERT-2's format: a BPE model trained by Hugging Face's
BpeTrainer on deterministic pseudo-random DNA, ids [UNK]=0 [CLS]=1 [SEP]=2 [PAD]=3
[MASK]=4, then A C G T N = 5..9 (germ's trainer layout), Whitespace pre-tokenizer,
TemplateProcessing [CLS] $A [SEP]. Expected outputs come from a NumPy float64
forward pass over the float32-rounded weights (one sequence at a time, no padding);
when PyTorch is importable, bench/baselines/dnabert2_torch.py is run as well (float64,
explicit and SDPA attention, per sequence and as a padded batch) and must agree to
1e-9, and its float32 error is recorded in expected.json as a guide to tolerances.
expected.json lists every key of expected.safetensors with its dtype, shape and meaning.

Check-tokenizer mode loads a tokenizer.json (e.g. one written by germ's TypeScript
trainer) with tokenizers.Tokenizer.from_file, encodes the given sequences and prints
JSON: the ids and tokens, any mismatch against --expected, and where HF's own
re-serialisation of the file differs from the file. Exit status 1 on a mismatch.

Needs numpy and tokenizers; safetensors is used when present (else a small writer
of the format below); torch only for the cross-check.
"""
import argparse
import json
import math
import os
import random
import struct
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench", "baselines"))
from alibi_slopes import alibi_slopes  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
ALPHABET = ["A", "C", "G", "T", "N"]
SEED = 20250501
VOCAB_SIZE = 256
LABELS = ["promoter", "enhancer", "other"]

SMALL_CONFIG = {
    "architectures": ["BertForSequenceClassification"],
    "model_type": "bert",
    "attention_normalizer": "softmax",
    "alibi_starting_size": 512,
    "attention_probs_dropout_prob": 0.0,
    "classifier_dropout": None,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 128,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "position_embedding_type": "absolute",
    "torch_dtype": "float32",
    "type_vocab_size": 2,
    "vocab_size": VOCAB_SIZE,
    # As transformers writes them: string keys in id2label; num_labels is implied.
    "id2label": {str(i): name for i, name in enumerate(LABELS)},
    "label2id": {name: i for i, name in enumerate(LABELS)},
}


# ----------------------------------------------------------------------------- DNA

MOTIFS = ["TATAAA", "CACGTG", "GGGCGG", "CCAAT", "TTGACA", "GCGCGC", "AATAAA", "CGCG"]


def pseudo_dna(rng: random.Random, n: int) -> str:
    """Markov-ish DNA with planted motifs, so BPE has real structure to find."""
    out = []
    prev = "A"
    # Each base prefers to repeat or to step to its successor: skewed pair counts.
    succ = {"A": "AT", "C": "CG", "G": "GA", "T": "TC"}
    while len(out) < n:
        r = rng.random()
        if r < 0.08:
            out.extend(rng.choice(MOTIFS))
        elif r < 0.45:
            out.append(rng.choice(succ[prev]))
        else:
            out.append(rng.choice("ACGT"))
        prev = out[-1]
    return "".join(out[:n])


def training_corpus(seed: int):
    rng = random.Random(seed)
    return [pseudo_dna(rng, rng.randint(200, 800)) for _ in range(400)]


def fixture_texts(seed: int):
    """(name, text) in fixture order; the long one (past 512 tokens) is added later."""
    rng = random.Random(seed + 1)
    s60 = pseudo_dna(rng, 60)
    s300 = pseudo_dna(rng, 300)
    withn = pseudo_dna(rng, 20) + "NNNN" + pseudo_dna(rng, 10) + "N" + pseudo_dna(rng, 13)
    lower = pseudo_dna(rng, 30).lower()
    return [
        ("bases60", s60),
        ("one_base", "A"),
        ("bases7", "GATTACA"),
        ("bases300", s300),
        ("with_n", withn),
        ("lower_case", lower),
    ]


# ----------------------------------------------------------------------- tokenizer

def _merges_of(model_json):
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model_json["merges"]]


def train_tokenizer(corpus, vocab_size=VOCAB_SIZE):
    """BpeTrainer over ACGT, then the vocabulary renumbered to put N at 9 (the
    trainer would sort N between G and T), keeping every merge as trained."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    base = Tokenizer(models.BPE(unk_token="[UNK]"))
    base.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - 1, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=["A", "C", "G", "T"], show_progress=False)
    base.train_from_iterator(corpus, trainer=trainer)
    trained = json.loads(base.to_str())["model"]
    old = sorted(trained["vocab"].items(), key=lambda kv: kv[1])
    want = SPECIALS + ["A", "C", "G", "T"]
    got = [t for t, _ in old[: len(want)]]
    if got != want:
        raise RuntimeError(f"BpeTrainer laid out the vocabulary as {got}, expected {want}")
    vocab = {t: i for i, t in enumerate(SPECIALS + ALPHABET)}
    for t, _ in old[len(want):]:
        vocab[t] = len(vocab)
    merges = _merges_of(trained)

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="[UNK]", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(SPECIALS)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 1), ("[SEP]", 2)],
    )
    for i, t in enumerate(SPECIALS + ALPHABET):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    return tok


# ---------------------------------------------------------------------- safetensors

_NP_TO_ST = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32",
             "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}
_ST_TO_NP = {v: k for k, v in _NP_TO_ST.items()}


def _write_atomic(path, data: bytes):
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def safetensors_bytes(tensors, metadata=None) -> bytes:
    """The safetensors format by hand: u64 LE header length, JSON header (name ->
    dtype, shape, [begin, end) byte offsets into the data), padded with spaces to a
    multiple of 8, then the little-endian row-major data. Tensors in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NP_TO_ST[a.dtype.name], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def save_safetensors(path, tensors, metadata=None):
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    try:
        from safetensors.numpy import save
        data = save(tensors, metadata=metadata)
    except ImportError:
        data = safetensors_bytes(tensors, metadata)
    _write_atomic(path, data)
    back = load_safetensors(path)  # whichever wrote it, read it back by hand
    for k, v in tensors.items():
        if back[k].dtype != v.dtype or back[k].shape != v.shape or not np.array_equal(back[k], v):
            raise RuntimeError(f"{path}: {k} did not read back unchanged")


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        dt = np.dtype(_ST_TO_NP[meta["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data, dtype=dt, count=(b - a) // dt.itemsize, offset=8 + n + a).reshape(meta["shape"]).astype(dt.newbyteorder("="))
    return out


# -------------------------------------------------------------------------- weights

def weight_names(cfg):
    names = ["bert.embeddings.word_embeddings.weight", "bert.embeddings.token_type_embeddings.weight",
             "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias"]
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        names += [p + "attention.self.Wqkv.weight", p + "attention.self.Wqkv.bias",
                  p + "attention.output.dense.weight", p + "attention.output.dense.bias",
                  p + "attention.output.LayerNorm.weight", p + "attention.output.LayerNorm.bias",
                  p + "mlp.gated_layers.weight", p + "mlp.wo.weight", p + "mlp.wo.bias",
                  p + "mlp.layernorm.weight", p + "mlp.layernorm.bias"]
    names += ["bert.pooler.dense.weight", "bert.pooler.dense.bias",
              "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
              "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
              "cls.predictions.decoder.bias", "classifier.weight", "classifier.bias"]
    return names


def weight_shape(name, cfg):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    L = len(cfg["id2label"])
    if name.endswith("word_embeddings.weight"):
        return (V, H)
    if name.endswith("token_type_embeddings.weight"):
        return (cfg["type_vocab_size"], H)
    if "Wqkv" in name:
        return (3 * H, H) if name.endswith("weight") else (3 * H,)
    if "gated_layers" in name:
        return (2 * I, H)
    if ".wo." in name:
        return (H, I) if name.endswith("weight") else (H,)
    if name == "cls.predictions.decoder.bias":
        return (V,)
    if name.startswith("classifier"):
        return (L, H) if name.endswith("weight") else (L,)
    return (H, H) if name.endswith("weight") and "LayerNorm" not in name and "layernorm" not in name else (H,)


def make_weights(cfg, seed):
    """Seeded, at scales that keep every part of the network visibly non-linear:
    LayerNorm gains near 1 and non-zero biases, attention logits of order 1 so that
    softmax and softmax1 differ."""
    rs = np.random.RandomState(seed)
    out = {}
    for name in weight_names(cfg):
        shape = weight_shape(name, cfg)
        z = rs.standard_normal(shape)
        if "LayerNorm" in name or "layernorm" in name:
            w = 1.0 + 0.1 * z if name.endswith("weight") else 0.1 * z
        elif "embeddings" in name:
            w = 0.5 * z
        elif name.endswith("bias"):
            w = 0.1 * z
        elif "Wqkv" in name:
            w = 0.15 * z
        else:
            w = 0.2 * z
        out[name] = w.astype(np.float32)
    return out


# ------------------------------------------------------- float64 NumPy reference

_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_forward(W, cfg, ids, normalizer):
    """One unpadded sequence, float64. W: name -> float64 array."""
    H, nh, I = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    D, eps, n = H // nh, cfg["layer_norm_eps"], len(ids)
    ids = np.asarray(ids)
    x = W["bert.embeddings.word_embeddings.weight"][ids] + W["bert.embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["bert.embeddings.LayerNorm.weight"], W["bert.embeddings.LayerNorm.bias"], eps)
    pos = np.arange(n)
    alibi = -np.asarray(alibi_slopes(nh))[:, None, None] * np.abs(pos[None, :] - pos[:, None])[None].astype(np.float64)
    hidden, probs_all = [x], []
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        qkv = x @ W[p + "attention.self.Wqkv.weight"].T + W[p + "attention.self.Wqkv.bias"]
        q, k, v = (qkv[:, t * H:(t + 1) * H].reshape(n, nh, D).transpose(1, 0, 2) for t in range(3))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(D) + alibi
        if normalizer == "softmax1":
            m = np.maximum(s.max(-1, keepdims=True), 0.0)
            e = np.exp(s - m)
            pr = e / (np.exp(-m) + e.sum(-1, keepdims=True))
        else:
            e = np.exp(s - s.max(-1, keepdims=True))
            pr = e / e.sum(-1, keepdims=True)
        probs_all.append(pr)
        ctx = (pr @ v).transpose(1, 0, 2).reshape(n, H)
        a = layer_norm(ctx @ W[p + "attention.output.dense.weight"].T + W[p + "attention.output.dense.bias"] + x,
                       W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        g = a @ W[p + "mlp.gated_layers.weight"].T
        h = gelu(g[:, :I]) * g[:, I:]
        x = layer_norm(h @ W[p + "mlp.wo.weight"].T + W[p + "mlp.wo.bias"] + a,
                       W[p + "mlp.layernorm.weight"], W[p + "mlp.layernorm.bias"], eps)
        hidden.append(x)
    pooled = np.tanh(x[0] @ W["bert.pooler.dense.weight"].T + W["bert.pooler.dense.bias"])
    t = gelu(x @ W["cls.predictions.transform.dense.weight"].T + W["cls.predictions.transform.dense.bias"])
    t = layer_norm(t, W["cls.predictions.transform.LayerNorm.weight"], W["cls.predictions.transform.LayerNorm.bias"], 1e-12)
    mlm = t @ W["bert.embeddings.word_embeddings.weight"].T + W["cls.predictions.decoder.bias"]
    logits = pooled @ W["classifier.weight"].T + W["classifier.bias"]
    return {"last": x, "hidden": hidden, "probs": probs_all, "pooled": pooled, "mean": x.mean(0),
            "mlm": mlm, "logits": logits}


# ------------------------------------------------------------- PyTorch cross-check

def torch_crosscheck(W32, cfg, seqs, ref, normalizer, model_dir):
    """dnabert2_torch in float64 (explicit/SDPA, per sequence and padded batch) against
    the NumPy reference; then the saved float32 model in float32. None without torch."""
    try:
        import torch
    except ImportError:
        return None
    sys.path.insert(0, os.path.join(ROOT, "bench", "baselines"))
    import dnabert2_torch as dt

    torch.manual_seed(0)
    c = dict(cfg, attention_normalizer=normalizer)
    model = dt.build(c).double().eval()
    dt.load_hf_state_dict(model, {k: torch.from_numpy(v) for k, v in W32.items()}, strict_heads=True)
    worst = {}

    def note(key, a, b):
        d = float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))
        worst[key] = max(worst.get(key, 0.0), d)

    with torch.no_grad():
        for impl in ("explicit", "sdpa"):
            for i, s in enumerate(seqs):
                o = model(torch.tensor([s]), impl=impl, output_attentions=(impl == "explicit" and i == 0))
                r = ref[i]
                note(f"{impl}/single/last_hidden_state", o["last_hidden_state"][0].numpy(), r["last"])
                note(f"{impl}/single/mlm_logits", o["mlm_logits"][0].numpy(), r["mlm"])
                note(f"{impl}/single/logits", o["logits"][0].numpy(), r["logits"])
                for l, h in enumerate(o["hidden_states"]):
                    note(f"{impl}/single/hidden_states", h[0].numpy(), r["hidden"][l])
                if o["attentions"] is not None:
                    note("explicit/single/attentions", o["attentions"][0][0].numpy(), r["probs"][0])
            ids, mask = dt.pad_batch(seqs)
            o = model(ids, attention_mask=mask, impl=impl)
            for i, s in enumerate(seqs):
                n = len(s)
                note(f"{impl}/batch/last_hidden_state", o["last_hidden_state"][i, :n].numpy(), ref[i]["last"])
                note(f"{impl}/batch/pooled", o["pooled"][i].numpy(), ref[i]["pooled"])
                note(f"{impl}/batch/mean_pooled", o["mean_pooled"][i].numpy(), ref[i]["mean"])
                note(f"{impl}/batch/logits", o["logits"][i].numpy(), ref[i]["logits"])
                if n < ids.shape[1] and float(o["last_hidden_state"][i, n:].abs().max()) != 0.0:
                    raise RuntimeError("padded positions are not zero")
        bad = {k: v for k, v in worst.items() if not v < 1e-9}
        if bad:
            raise RuntimeError(f"dnabert2_torch (float64) disagrees with the NumPy reference: {bad}")

        # The saved float32 files, run in float32: what a float32 implementation can hope for.
        m32 = dt.load_pretrained(model_dir, dtype=torch.float32)
        f32 = {}
        for i, s in enumerate(seqs):
            o = m32(torch.tensor([s]), impl="explicit")
            for key, got, want in (("last_hidden_state", o["last_hidden_state"][0], ref[i]["last"]),
                                   ("pooled", o["pooled"][0], ref[i]["pooled"]),
                                   ("mlm_logits", o["mlm_logits"][0], ref[i]["mlm"]),
                                   ("logits", o["logits"][0], ref[i]["logits"])):
                d = float(np.max(np.abs(got.double().numpy() - want)))
                f32[key] = max(f32.get(key, 0.0), d)
    return {"torch": torch.__version__, "float64_max_abs_diff": worst, "float32_max_abs_diff": f32}


# -------------------------------------------------------------------------- fixture

def encode_all(tok, texts):
    out = []
    for name, text in texts:
        raw = tok.encode(text)
        up = tok.encode(text.upper())
        out.append({"name": name, "text": text, "ids": list(up.ids), "tokens": list(up.tokens),
                    "hf_raw_ids": list(raw.ids)})
    return out


def long_text(tok, seed, min_tokens=516):
    """A sequence whose encoding has at least min_tokens ids (ALiBi past 512)."""
    rng = random.Random(seed + 2)
    text = pseudo_dna(rng, 1500)
    while len(tok.encode(text).ids) < min_tokens:
        text += pseudo_dna(rng, 20)
    return text


KEY_DOCS = {
    "input_ids": "ids the model reads, all sequences concatenated: HF tokenizers' encoding of the upper-cased text ([CLS] ... [SEP]); sequence i is input_ids[cu_seqlens[i]:cu_seqlens[i+1]]",
    "cu_seqlens": "cumulative token counts, [0, n0, n0+n1, ...]",
    "hf_raw_input_ids": "HF tokenizers' encoding of each text exactly as written (lower case becomes one [UNK] per base, since the tokenizer has no normalizer); germ upper-cases first, so only input_ids feed the model",
    "hf_raw_cu_seqlens": "cumulative token counts of hf_raw_input_ids",
    "last_hidden_state": "encoder output per token, all sequences concatenated like input_ids",
    "pooled": "tanh(pooler.dense(last_hidden_state[CLS])) per sequence",
    "mean_pooled": "mean of last_hidden_state over every token of the sequence, [CLS] and [SEP] included",
    "logits": "classifier(pooled) per sequence (dropout inactive)",
    "mlm_logits": "MLM head on every token of the first full_sequences sequences (tokens 0 .. cu_seqlens[full_sequences]); decoder weight = word embeddings",
    "hidden_states": "[num_hidden_layers + 1, tokens of the first full_sequences sequences, hidden]: embeddings output (after its LayerNorm), then each layer's output; the last equals last_hidden_state there",
    "attention_probs.layer0.seq0": "layer 0 attention probabilities of sequence 0 [heads, query, key] over its real keys; for softmax1 the null key's share is 1 - row sum",
}


def build_fixture(out_dir, seed=SEED):
    corpus = training_corpus(seed)
    tok = train_tokenizer(corpus)
    tok2 = train_tokenizer(corpus)
    if tok.to_str() != tok2.to_str():
        raise RuntimeError("BPE training is not deterministic here")
    texts = fixture_texts(seed)
    texts.append(("long_past_512_tokens", long_text(tok, seed)))
    encs = encode_all(tok, texts)
    n_full = len(encs) - 1  # the long sequence keeps only per-token last hidden states and per-sequence outputs

    cfg = dict(SMALL_CONFIG)
    W32 = make_weights(cfg, seed)
    W = {k: v.astype(np.float64) for k, v in W32.items()}
    seqs = [e["ids"] for e in encs]
    cu = np.cumsum([0] + [len(s) for s in seqs]).astype(np.int32)
    raw_cu = np.cumsum([0] + [len(e["hf_raw_ids"]) for e in encs]).astype(np.int32)

    refs = {nz: [np_forward(W, cfg, s, nz) for s in seqs] for nz in ("softmax", "softmax1")}
    summary = {}
    for nz in ("softmax", "softmax1"):
        other = refs["softmax1" if nz == "softmax" else "softmax"]
        diff = {
            "last_hidden_state": max(float(np.abs(a["last"] - b["last"]).max()) for a, b in zip(refs[nz], other)),
            "pooled": max(float(np.abs(a["pooled"] - b["pooled"]).max()) for a, b in zip(refs[nz], other)),
            "logits": max(float(np.abs(a["logits"] - b["logits"]).max()) for a, b in zip(refs[nz], other)),
        }
        summary[nz] = diff

    written = {}
    for idx, nz in enumerate(("softmax", "softmax1")):
        d = os.path.join(out_dir, nz)
        os.makedirs(d, exist_ok=True)
        ref = refs[nz]
        c = dict(cfg, attention_normalizer=nz)
        _write_atomic(os.path.join(d, "config.json"), (json.dumps(c, indent=2) + "\n").encode())
        _write_atomic(os.path.join(d, "tokenizer.json"), tok.to_str(pretty=True).encode())
        # softmax: the tied decoder weight left out (transformers' safetensors writer);
        # softmax1: stored as a copy (a torch.save'd state dict converted as is). A loader must take both.
        weights = dict(W32)
        stored_decoder = nz == "softmax1"
        if stored_decoder:
            weights["cls.predictions.decoder.weight"] = W32["bert.embeddings.word_embeddings.weight"].copy()
        save_safetensors(os.path.join(d, "model.safetensors"), weights, {"format": "pt"})

        T_full = int(cu[n_full])
        exp = {
            "input_ids": np.concatenate([np.asarray(s, np.int32) for s in seqs]),
            "cu_seqlens": cu,
            "hf_raw_input_ids": np.concatenate([np.asarray(e["hf_raw_ids"], np.int32) for e in encs]),
            "hf_raw_cu_seqlens": raw_cu,
            "last_hidden_state": np.concatenate([r["last"] for r in ref]).astype(np.float32),
            "pooled": np.stack([r["pooled"] for r in ref]).astype(np.float32),
            "mean_pooled": np.stack([r["mean"] for r in ref]).astype(np.float32),
            "logits": np.stack([r["logits"] for r in ref]).astype(np.float32),
            "mlm_logits": np.concatenate([r["mlm"] for r in ref[:n_full]]).astype(np.float32),
            "hidden_states": np.stack([np.concatenate([r["hidden"][l] for r in ref[:n_full]])
                                       for l in range(cfg["num_hidden_layers"] + 1)]).astype(np.float32),
            "attention_probs.layer0.seq0": ref[0]["probs"][0].astype(np.float32),
        }
        assert exp["mlm_logits"].shape[0] == T_full and exp["hidden_states"].shape[1] == T_full
        save_safetensors(os.path.join(d, "expected.safetensors"), exp, {"format": "np"})

        cross = torch_crosscheck(W32, cfg, seqs, ref, nz, d)
        meta = {
            "what": "germ parity fixture: a small random DNABERT-2-architecture model and its outputs, computed in float64 by scripts/parity/make_fixture.py (NumPy; checked against bench/baselines/dnabert2_torch.py when torch is present)",
            "attention_normalizer": nz,
            "seed": seed,
            "weights": "config.json + model.safetensors (float32, DNABERT-2 names); same weights in softmax/ and softmax1/",
            "decoder_weight_stored": stored_decoder,
            "decoder_weight_note": "cls.predictions.decoder.weight is tied to bert.embeddings.word_embeddings.weight; softmax/ leaves it out of model.safetensors, softmax1/ stores an identical copy",
            "reference_precision": "float64 over the float32 weights; stored as float32",
            "full_sequences": n_full,
            "sequences": [
                {"index": i, "name": e["name"], "text": e["text"], "bases": len(e["text"]), "tokens": len(e["ids"]),
                 "offset": int(cu[i]), "ids": e["ids"], "token_strings": e["tokens"], "hf_raw_ids": e["hf_raw_ids"],
                 "full": i < n_full}
                for i, e in enumerate(encs)
            ],
            "keys": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "what": KEY_DOCS[k]} for k, v in exp.items()},
            "max_abs_diff_vs_other_normalizer": summary[nz],
            "torch_crosscheck": cross,
        }
        _write_atomic(os.path.join(d, "expected.json"), (json.dumps(meta, indent=1) + "\n").encode())
        written[nz] = {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))}
    return written, summary, encs


# ------------------------------------------------------------------ check tokenizer

def json_diff(a, b, path="", out=None, limit=30):
    """Paths where two JSON values differ (at most limit)."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}/{k}: only in HF's re-serialisation ({json.dumps(b[k])[:80]})")
            elif k not in b:
                out.append(f"{path}/{k}: only in the file ({json.dumps(a[k])[:80]})")
            else:
                json_diff(a[k], b[k], f"{path}/{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} in the file, {len(b)} in HF's")
        for i, (x, y) in enumerate(zip(a, b)):
            json_diff(x, y, f"{path}/{i}", out, limit)
    elif a != b:
        out.append(f"{path}: {json.dumps(a)[:60]} in the file, {json.dumps(b)[:60]} in HF's")
    return out


def load_expected(path):
    """[(sequence, ids)] from a JSON list of {sequence|text, ids}, or an object holding
    such a list under "encodings" or "sequences" (so a fixture's expected.json works)."""
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("encodings", data.get("sequences"))
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a list of {{sequence, ids}}")
    out = []
    for e in data:
        seq = e.get("sequence", e.get("text"))
        # A fixture's expected.json: "ids" encode the upper-cased text, "hf_raw_ids" the text as written.
        ids = e.get("hf_raw_ids", e.get("ids"))
        if not isinstance(seq, str) or not isinstance(ids, list):
            raise SystemExit(f"{path}: entry {e!r:.80} lacks a sequence/text string or an ids list")
        out.append((seq, ids))
    return out


def check_tokenizer(args):
    import tokenizers
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(args.check_tokenizer)
    expected = load_expected(args.expected) if args.expected else []
    seqs = list(args.sequences or [])
    if args.sequences_file:
        with open(args.sequences_file) as f:
            seqs += [ln.strip() for ln in f if ln.strip() and not ln.startswith(">")]
    seqs += [s for s, _ in expected if s not in seqs]
    if not seqs:
        seqs = [t for _, t in fixture_texts(SEED)]
    encs = []
    for s in seqs:
        e = tok.encode(s)
        encs.append({"sequence": s, "ids": list(e.ids), "tokens": list(e.tokens)})
    by_seq = {e["sequence"]: e["ids"] for e in encs}
    mismatches = [{"sequence": s, "expected": ids, "hf": by_seq[s]} for s, ids in expected if by_seq[s] != ids]
    with open(args.check_tokenizer) as f:
        original = json.load(f)
    report = {
        "tokenizer": args.check_tokenizer,
        "tokenizers_version": tokenizers.__version__,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "reserialisation_differences": json_diff(original, json.loads(tok.to_str())),
        "expected_checked": len(expected),
        "mismatches": mismatches,
        "encodings": encs,
    }
    text = json.dumps(report, indent=1)
    if args.dump:
        _write_atomic(args.dump, (text + "\n").encode())
    print(text)
    return 1 if mismatches else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="fixture directory to write (e.g. test/fixtures/parity)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--check-tokenizer", metavar="TOKENIZER_JSON", help="encode with HF tokenizers and print JSON")
    ap.add_argument("--sequences", nargs="*", help="sequences to encode (check mode)")
    ap.add_argument("--sequences-file", help="one sequence per line; '>' lines skipped (check mode)")
    ap.add_argument("--expected", help="JSON [{sequence, ids}] to compare HF's ids with (check mode)")
    ap.add_argument("--dump", help="also write the check report here")
    args = ap.parse_args(argv)
    if args.check_tokenizer:
        return check_tokenizer(args)
    if not args.out:
        ap.error("give --out DIR or --check-tokenizer FILE")
    written, summary, encs = build_fixture(args.out, args.seed)
    total = sum(sum(v.values()) for v in written.values())
    print(json.dumps({"out": args.out, "bytes": written, "total_bytes": total,
                      "tokens_per_sequence": [len(e["ids"]) for e in encs],
                      "softmax_vs_softmax1_max_abs_diff": summary["softmax"]}, indent=1))
    if total > 2 * 1024 * 1024:
        print(f"warning: fixture is {total} bytes, over 2 MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
