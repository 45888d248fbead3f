// tern serve's prompt cache: time to first token in a multi-turn conversation,
// with a slot's cached prefix reused and without (cache_prompt: false), in the
// same server and the same run. Each turn resends the whole conversation, as
// chat clients do: a document of --document tokens and a question of --question
// tokens first, then per turn the answer (greedy, --answer tokens) and a new
// question. Both conversations of a round use the same tokens, and their
// answers must be equal token for token.
//   node bench/prompt_cache_bench.mjs MODEL [--threads 2] [--rounds 3] [--turns 5]
//        [--document 1000] [--question 40] [--answer 64] [--prefill-chunk 256]
//        [--tern build/runtime/tern]
// Prints a markdown table of median time to first token per turn, with the
// range over rounds, and the ratio per round.
import path from "node:path";
import { startServer } from "./tern_serve.mjs";

const args = process.argv.slice(2);
const model = args[0];
const opt = (name, fallback) => {
    const i = args.indexOf("--" + name);
    return Number(i > 0 ? args[i + 1] : fallback);
};
const threads = opt("threads", 2), rounds = opt("rounds", 3), turns = opt("turns", 5);
const documentTokens = opt("document", 1000), questionTokens = opt("question", 40), answerTokens = opt("answer", 64);
const chunk = opt("prefill-chunk", 256);
const ternIndex = args.indexOf("--tern");
const tern = ternIndex > 0 ? args[ternIndex + 1] : "build/runtime/tern";
if (!model) {
    console.error("usage: node bench/prompt_cache_bench.mjs MODEL [--threads N] [--rounds N] [--turns N]");
    process.exit(2);
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
const range = (v, d = 0) => `${Math.min(...v).toFixed(d)}-${Math.max(...v).toFixed(d)}`;

const context = documentTokens + turns * (questionTokens + answerTokens) + 64;
const { server, port } = await startServer(tern, ["-m", model, "-t", String(threads), "-np", "2",
    "-c", String(context), "--prefill-chunk", String(chunk)]);

// Token ids from a seeded generator, away from the special tokens at the top.
function tokens(seed, n) {
    let x = seed >>> 0 || 1;
    return Array.from({ length: n }, () => {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        return 1000 + (x % 100000);
    });
}

// One streamed completion: time to the first event with text, the answer's tokens
// and the cached count the usage reports.
async function ask(prompt, cache) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ prompt, max_tokens: answerTokens, temperature: 0, stream: true, return_tokens: true,
                               cache_prompt: cache, stream_options: { include_usage: true } }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    let first = 0, body = "";
    const decoder = new TextDecoder();
    for await (const part of res.body) {
        if (!first) first = performance.now() - t0;
        body += decoder.decode(part, { stream: true });
    }
    const events = body.split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)));
    const usage = events.find((e) => e.usage).usage;
    return { ttft: first, cached: usage.prompt_tokens_details.cached_tokens, prompt: usage.prompt_tokens, body };
}

// A whole conversation; the answer of each turn is the greedy decoding, read
// back as tokens by a non-streamed request so that the next turn resends it.
async function conversation(seed, cache) {
    const out = [];
    let prompt = [...tokens(seed, documentTokens), ...tokens(seed + 1, questionTokens)];
    for (let t = 0; t < turns; t++) {
        const r = await ask(prompt, cache);
        const answer = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ prompt, max_tokens: answerTokens, temperature: 0, return_tokens: true,
                                   cache_prompt: cache }),
        }).then((x) => x.json());
        out.push({ ...r, answer: answer.choices[0].tokens });
        prompt = [...prompt, ...answer.choices[0].tokens, ...tokens(seed + 2 + t, questionTokens)];
    }
    return out;
}

await conversation(999, true);  // warm-up
const rows = Array.from({ length: turns }, () => ({ on: [], off: [], ratio: [], prompt: 0, cached: 0 }));
let mismatches = 0;
for (let r = 0; r < rounds; r++) {
    const seed = 100 * (r + 1);
    // Alternate which goes first: the host's drift hits both alike.
    const [a, b] = r % 2 ? [false, true] : [true, false];
    const first = await conversation(seed, a), second = await conversation(seed, b);
    const on = a ? first : second, off = a ? second : first;
    for (let t = 0; t < turns; t++) {
        rows[t].on.push(on[t].ttft);
        rows[t].off.push(off[t].ttft);
        rows[t].ratio.push(off[t].ttft / on[t].ttft);
        rows[t].prompt = on[t].prompt;
        rows[t].cached = on[t].cached;
        if (JSON.stringify(on[t].answer) !== JSON.stringify(off[t].answer)) mismatches++;
        if (off[t].cached !== 0) throw new Error("cache_prompt: false reused tokens");
    }
}
server.kill("SIGTERM");

console.log(`model ${path.basename(model)}, ${threads} threads, tern serve -np 2 --prefill-chunk ${chunk}; ` +
    `a ${documentTokens}-token document, ${questionTokens}-token questions, ${answerTokens}-token greedy answers; ` +
    `${rounds} rounds, medians (range)\n`);
console.log("| turn | prompt tokens | reused | time to first token, reused (ms) | whole prompt (ms) | speed-up |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
rows.forEach((x, t) => console.log(`| ${t + 1} | ${x.prompt} | ${x.cached} | ${median(x.on).toFixed(0)} (${range(x.on)}) | ` +
    `${median(x.off).toFixed(0)} (${range(x.off)}) | ${median(x.ratio).toFixed(1)}x (${range(x.ratio, 1)}) |`));
console.log(mismatches === 0 ? "\nanswers with and without reuse: equal, token for token"
                             : `\nanswers with and without reuse: ${mismatches} turns differ`);
process.exit(mismatches === 0 ? 0 : 1);
