#!/usr/bin/python3
"""An independent writer of BitNet embedding GGUF files (Qwen3 and Gemma3
backbones, laid out as bitnet.cpp's convert-bitnet-embedding-to-gguf.py writes
them) and a float64 numpy forward pass of what it wrote, for tern embed's tests.
Shares no code with tern.

    embedding_gguf_writer.py write LAYOUT FILE [--seed N]
    embedding_gguf_writer.py embed LAYOUT TEXT [--seed N]   -> JSON list: the embedding
    embedding_gguf_writer.py compare LAYOUT TERN_JSON TEXT... [--seed N]

Layouts (small, odd sizes; every matrix in I2_S with one scale per tensor after
the packed codes, embeddings and norms in F16, no output.weight):
    qwen3   hidden 256, 4 heads of 96 (not 256 / 4), 2 KV heads, FFN 640,
            2 layers, SiLU, QK norms, last-token pooling, EOS appended
    gemma3  hidden 384, 3 heads of 128, 1 KV head, FFN 768, 7 layers, GELU
            (tanh), embeddings times sqrt(hidden), post-attention and
            post-feed-forward norms, sliding window of 5 on every layer but each
            sixth, RoPE base 10000 on those, mean pooling, BOS prepended

The vocabulary is the 256 byte-level characters and a few control tokens, with
no merges: a text's tokens are its bytes (plus BOS / EOS as the file says), so
the reference tokenises without a BPE of its own. The "compare" command checks
tern's output (tern embed -o json, the texts in order) against the reference:
cosine similarity >= 0.999 for every text, exits 1 otherwise.
"""
import json
import struct
import sys

import numpy as np

LAYOUTS = {
    "qwen3": dict(arch="qwen3", E=256, H=4, HKV=2, hd=96, F=640, L=2, V=300, act="silu",
                  theta=1000000.0, eps=1e-6, pooling=3, post_norms=False, scaled=False, swa=0,
                  bos=None, eos=256, add_bos=False, add_eos=True, pre="qwen2"),
    "gemma3": dict(arch="gemma3", E=384, H=3, HKV=1, hd=128, F=768, L=7, V=300, act="gelu",
                   theta=1000000.0, eps=1e-6, pooling=1, post_norms=True, scaled=True, swa=5,
                   bos=2, eos=1, add_bos=True, add_eos=False, pre="default"),
}
SWA_PERIOD = 6        # Gemma 3: every sixth layer attends globally
SWA_ROPE_BASE = 10000.0

# GGUF value and tensor types.
U32, I32, F32, BOOL, STR, ARR = 4, 5, 6, 7, 8, 9
T_F32, T_F16, T_I2S = 0, 1, 36


def byte_chars():
    printable = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
    out, n = {}, 0
    for b in range(256):
        if b in printable:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


def vocabulary(c):
    """Token strings and types: bytes (normal), control tokens, unused padding."""
    bc = byte_chars()
    if c["arch"] == "qwen3":  # bytes first, then <|endoftext|> (EOS) and friends
        tokens = [bc[b] for b in range(256)] + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        types = [1] * 256 + [3, 3, 3]
    else:  # Gemma: <pad> <eos> <bos> first
        tokens = ["<pad>", "<eos>", "<bos>"] + [bc[b] for b in range(256)]
        types = [3, 3, 3] + [1] * 256
    while len(tokens) < c["V"]:
        tokens.append("[PAD%d]" % len(tokens))
        types.append(5)
    return tokens, types


def tokenize(c, text):
    first = 0 if c["arch"] == "qwen3" else 3
    ids = [first + b for b in text.encode("utf-8")]
    if c["add_bos"]:
        ids = [c["bos"]] + ids
    if c["add_eos"]:
        ids = ids + [c["eos"]]
    return ids


# ------------------------------------------------------------------ weights

def make_weights(c, seed):
    """Float64 values of every tensor, as stored (norms and embedding rounded to
    F16, matrices ternary with one scale each)."""
    rng = np.random.default_rng(seed)
    E, F, Q, KV, hd = c["E"], c["F"], c["H"] * c["hd"], c["HKV"] * c["hd"], c["hd"]
    half = lambda a: np.asarray(a, dtype=np.float16).astype(np.float64)
    w = {"token_embd.weight": half(rng.uniform(-0.1, 0.1, (c["V"], E))),
         "output_norm.weight": half(rng.uniform(0.5, 1.5, E))}
    norms = {"attn_norm": E, "ffn_norm": E, "attn_q_norm": hd, "attn_k_norm": hd,
             "attn_q_norm_in": E, "attn_k_norm_in": E, "attn_v_norm_in": E,
             "attn_output_norm_in": Q, "ffn_gate_norm_in": E, "ffn_up_norm_in": E,
             "ffn_down_norm_in": F}
    if c["post_norms"]:
        norms.update({"post_attention_norm": E, "post_ffw_norm": E})
    mats = {"attn_q": (Q, E), "attn_k": (KV, E), "attn_v": (KV, E), "attn_output": (E, Q),
            "ffn_gate": (F, E), "ffn_up": (F, E), "ffn_down": (E, F)}
    for l in range(c["L"]):
        for name, n in norms.items():
            w["blk.%d.%s.weight" % (l, name)] = half(rng.uniform(0.5, 1.5, n))
        for name, (rows, cols) in mats.items():
            codes = rng.integers(-1, 2, (rows, cols))
            scale = float(np.float32(rng.uniform(0.75, 1.25) / np.sqrt(cols * 2.0 / 3.0)))
            w["blk.%d.%s.weight" % (l, name)] = (codes, scale)
    return w


def i2s_bytes(codes, scale):
    """bitnet.cpp's I2_S: the row-major codes (-1, 0, 1 as 0, 1, 2) in blocks of
    128, value j of a block in byte j % 32 at bits 6 - 2 (j // 32); then the f32
    scale in a 32-byte tail."""
    q = (codes.reshape(-1) + 1).astype(np.uint8).reshape(-1, 4, 32)
    packed = (q[:, 0] << 6) | (q[:, 1] << 4) | (q[:, 2] << 2) | q[:, 3]
    tail = np.zeros(32, dtype=np.uint8)
    tail[:4] = np.frombuffer(struct.pack("<f", scale), dtype=np.uint8)
    return packed.reshape(-1).tobytes() + tail.tobytes()


# ------------------------------------------------------------------ GGUF

def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv_bytes(key, vtype, value):
    out = gguf_string(key) + struct.pack("<I", vtype)
    if vtype == U32:
        return out + struct.pack("<I", value)
    if vtype == F32:
        return out + struct.pack("<f", value)
    if vtype == BOOL:
        return out + struct.pack("<B", 1 if value else 0)
    if vtype == STR:
        return out + gguf_string(value)
    etype, items = value
    out += struct.pack("<IQ", etype, len(items))
    if etype == STR:
        return out + b"".join(gguf_string(s) for s in items)
    return out + b"".join(struct.pack("<i", v) for v in items)


def write(layout, path, seed):
    c = LAYOUTS[layout]
    a = c["arch"]
    w = make_weights(c, seed)
    tokens, types = vocabulary(c)
    kv = [("general.architecture", STR, a), ("general.name", STR, "independent " + layout),
          ("general.file_type", U32, 40),
          (a + ".block_count", U32, c["L"]), (a + ".context_length", U32, 2048),
          (a + ".embedding_length", U32, c["E"]), (a + ".feed_forward_length", U32, c["F"]),
          (a + ".attention.head_count", U32, c["H"]),
          (a + ".attention.head_count_kv", U32, c["HKV"]), (a + ".vocab_size", U32, c["V"]),
          (a + ".rope.dimension_count", U32, c["hd"]),
          (a + ".attention.key_length", U32, c["hd"]),
          (a + ".attention.value_length", U32, c["hd"]),
          (a + ".rope.freq_base", F32, c["theta"]),
          (a + ".attention.layer_norm_rms_epsilon", F32, c["eps"]),
          (a + ".pooling_type", U32, c["pooling"]),
          ("tokenizer.ggml.model", STR, "gpt2"), ("tokenizer.ggml.pre", STR, c["pre"]),
          ("tokenizer.ggml.tokens", ARR, (STR, tokens)),
          ("tokenizer.ggml.token_type", ARR, (I32, types)),
          ("tokenizer.ggml.merges", ARR, (STR, [])),
          ("tokenizer.ggml.eos_token_id", U32, c["eos"]),
          ("tokenizer.ggml.bos_token_id", U32, c["bos"] if c["bos"] is not None else c["eos"]),
          ("tokenizer.ggml.add_bos_token", BOOL, c["add_bos"]),
          ("tokenizer.ggml.add_eos_token", BOOL, c["add_eos"])]
    if c["swa"]:
        kv.append((a + ".attention.sliding_window", U32, c["swa"]))
    infos, blobs, offset = [], [], 0
    for name, value in w.items():
        if isinstance(value, tuple):
            codes, scale = value
            dims, ttype, raw = [codes.shape[1], codes.shape[0]], T_I2S, i2s_bytes(codes, scale)
        else:
            dims = list(reversed(value.shape))
            ttype, raw = T_F16, value.astype(np.float16).tobytes()
        infos.append(gguf_string(name) + struct.pack("<I", len(dims)) +
                     b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ttype, offset))
        pad = (-len(raw)) % 32
        blobs.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kv))
    head += b"".join(kv_bytes(*e) for e in kv) + b"".join(infos)
    head += b"\0" * ((-len(head)) % 32)
    with open(path, "wb") as f:
        f.write(head + b"".join(blobs))


# ------------------------------------------------------------------ forward pass

def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def bitlinear(x, codes, scale):
    """BitNet b1.58: per-token absmax int8 activations, ternary weights."""
    s = 127.0 / np.maximum(np.max(np.abs(x), axis=-1, keepdims=True), 1e-30)
    q = np.clip(np.round(x * s), -128, 127) / s
    return q @ (codes.T * scale)


def rope(x, pos, theta, hd):
    """NEOX pairs (i, i + hd/2) of every head; x: [T, heads, hd]."""
    half = hd // 2
    freq = theta ** (-2.0 * np.arange(half) / hd)
    ang = pos[:, None] * freq[None, :]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


def activation(c, g):
    if c["act"] == "silu":
        return g / (1.0 + np.exp(-g))
    return 0.5 * g * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (g + 0.044715 * g ** 3)))


def embed(layout, text, seed):
    c = LAYOUTS[layout]
    w = make_weights(c, seed)
    ids = tokenize(c, text)
    T, E, H, HKV, hd, eps = len(ids), c["E"], c["H"], c["HKV"], c["hd"], c["eps"]
    x = w["token_embd.weight"][ids]
    if c["scaled"]:
        x = x * np.sqrt(E)
    pos = np.arange(T, dtype=np.float64)
    for l in range(c["L"]):
        g = lambda name: w["blk.%d.%s.weight" % (l, name)]
        lin = lambda name, inp: bitlinear(rmsnorm(inp, g(name + "_norm_in"), eps), *g(name))
        local = c["swa"] > 0 and (l + 1) % SWA_PERIOD != 0
        theta = SWA_ROPE_BASE if local else c["theta"]
        h = rmsnorm(x, g("attn_norm"), eps)
        q = rmsnorm(lin("attn_q", h).reshape(T, H, hd), g("attn_q_norm"), eps)
        k = rmsnorm(lin("attn_k", h).reshape(T, HKV, hd), g("attn_k_norm"), eps)
        v = lin("attn_v", h).reshape(T, HKV, hd)
        q, k = rope(q, pos, theta, hd), rope(k, pos, theta, hd)
        att = np.zeros((T, H, hd))
        for t in range(T):
            lo = max(0, t + 1 - c["swa"]) if local else 0
            for head in range(H):
                kvh = head // (H // HKV)
                s = k[lo:t + 1, kvh] @ q[t, head] / np.sqrt(hd)
                p = np.exp(s - s.max())
                att[t, head] = (p / p.sum()) @ v[lo:t + 1, kvh]
        o = lin("attn_output", att.reshape(T, H * hd))
        if c["post_norms"]:
            o = rmsnorm(o, g("post_attention_norm"), eps)
        x = x + o
        h = rmsnorm(x, g("ffn_norm"), eps)
        d = lin("ffn_down", activation(c, lin("ffn_gate", h)) * lin("ffn_up", h))
        if c["post_norms"]:
            d = rmsnorm(d, g("post_ffw_norm"), eps)
        x = x + d
    x = rmsnorm(x, w["output_norm.weight"], eps)
    v = x.mean(axis=0) if c["pooling"] == 1 else x[0] if c["pooling"] == 2 else x[-1]
    return v / np.linalg.norm(v)


def main(argv):
    seed = 1
    if "--seed" in argv:
        i = argv.index("--seed")
        seed = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    cmd = argv[1]
    if cmd == "write":
        write(argv[2], argv[3], seed)
    elif cmd == "embed":
        print(json.dumps(list(embed(argv[2], argv[3], seed))))
    elif cmd == "compare":
        got = json.load(open(argv[3]))["data"]
        texts = argv[4:]
        if len(got) != len(texts):
            print("tern gave %d embeddings for %d texts" % (len(got), len(texts)))
            return 1
        worst = 1.0
        for i, text in enumerate(texts):
            want = embed(argv[2], text, seed)
            v = np.asarray(got[i]["embedding"], dtype=np.float64)
            cos = float(v @ want / (np.linalg.norm(v) * np.linalg.norm(want)))
            norm = float(np.linalg.norm(v))
            print("%s text %d (%d bytes): cosine %.6f, |v| %.6f" % (argv[2], i, len(text), cos, norm))
            worst = min(worst, cos)
            if abs(norm - 1.0) > 1e-4:
                print("not L2-normalised")
                return 1
        return 0 if worst >= 0.999 else 1
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
