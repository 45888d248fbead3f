// tern serve under load: aggregate generated tokens/s and time to first token at
// 1, 2, 4, 8 and 16 concurrent streams, against tern bench's single-stream
// generation on the same model in the same run. Clients are the official OpenAI
// client for Node (npm `openai`, the one scripts/setup.sh installs), streaming.
//   node bench/serve_bench.mjs MODEL [--threads 2] [--rounds 3] [--tokens 64]
//        [--levels 1,2,4,8,16] [--tern build/runtime/tern] [--modules build/npm/node_modules]
// Prints a markdown table; medians over rounds, with the range. The steady rate
// counts only the time when every stream of a level is generating, and is set
// against tern bench's prompt rate at that batch (the same rows through the
// same GEMMs, no server).
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { startServer } from "./tern_serve.mjs";

const args = process.argv.slice(2);
const model = args[0];
const opt = (name, fallback) => {
    const i = args.indexOf("--" + name);
    return i > 0 ? args[i + 1] : fallback;
};
const threads = Number(opt("threads", "2"));
const rounds = Number(opt("rounds", "3"));
const tokens = Number(opt("tokens", "64"));
const levels = opt("levels", "1,2,4,8,16").split(",").map(Number);
const tern = opt("tern", "build/runtime/tern");
const modules = opt("modules", "build/npm/node_modules");
if (!model) {
    console.error("usage: node bench/serve_bench.mjs MODEL [--threads N] [--rounds N] [--tokens N]");
    process.exit(2);
}
const OpenAI = createRequire(path.resolve(modules) + "/")("openai").default;
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
const range = (v) => `${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)}`;

// tern bench's generation speed (tg at --tokens) on the same model and threads.
function ternBench() {
    const rows = JSON.parse(execFileSync(tern, ["bench", "-m", model, "-p", "0", "-n", String(tokens),
        "-t", String(threads), "-r", "1", "-o", "json"], { encoding: "utf8" }));
    return rows.find((r) => r.test.startsWith("tg")).tps_mean;
}

const maxLevel = Math.max(...levels);
const { server, port, log } = await startServer(tern, ["-m", model, "-t", String(threads),
    "-np", String(maxLevel), "-c", String(64 + tokens + 16)]);
const reserved = (log.match(/KV cache [^;]*/) ?? [""])[0];
const name = path.basename(model, ".gguf");
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "x", maxRetries: 0, timeout: 600000 });

// One streamed request: a 32-token prompt of its own, `tokens` tokens back. The
// stream is read as raw server-sent events (the first event is the first token;
// the usage event before [DONE] counts them): a light client, since it shares
// the machine's cores with the server. The openai client checks the first.
async function stream(seed) {
    const prompt = Array.from({ length: 32 }, (_, i) => 1000 + ((seed * 7919 + i * 104729) % 100000));
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: name, prompt, max_tokens: tokens, temperature: 0, stream: true,
                               stream_options: { include_usage: true } }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    // Each part's arrival time and the events it completes, for the steady rate.
    let first = 0, tail = "", pending = "";
    const events = [];
    const decoder = new TextDecoder();
    for await (const part of res.body) {
        const now = performance.now();
        if (!first) first = now - t0;
        const text = decoder.decode(part, { stream: true });
        tail = (tail + text).slice(-4096);
        const split = (pending + text).split("\n\n");  // events end with a blank line
        pending = split.pop();
        events.push({ at: now, count: split.length });
    }
    const usage = tail.match(/"usage":\{[^}]*"completion_tokens":(\d+)/);
    return { ttft: first, n: usage ? Number(usage[1]) : 0, events };
}

// Tokens per second while every stream of a level is generating: from the last
// first token to the first stream's end, so that neither the prompts nor the
// tail of streams finishing at different times count.
function steadyRate(out) {
    const from = Math.max(...out.map((o) => o.events[0].at));
    const to = Math.min(...out.map((o) => o.events[o.events.length - 1].at));
    if (to <= from) return 0;
    let n = 0;
    for (const o of out) for (const e of o.events) if (e.at > from && e.at <= to) n += e.count;
    return n / ((to - from) / 1000);
}

// tern bench's prompt rate at m tokens: what a step of m sequences' integer work
// allows (m rows through the same GEMMs).
function ppRate(m) {
    const rows = JSON.parse(execFileSync(tern, ["bench", "-m", model, "-p", String(m), "-n", "0",
        "-t", String(threads), "-r", "3", "-o", "json"], { encoding: "utf8" }));
    return rows.find((r) => r.test.startsWith("pp")).tps_mean;
}

// The same through the official client, once: the API is what clients expect.
const checked = await client.completions.create({ model: name, prompt: [1000, 1001], max_tokens: 4, temperature: 0 });
if (checked.usage.completion_tokens < 1) throw new Error("the openai client got no tokens");

const before = ternBench();
await stream(0);  // warm-up
// Rounds outermost, every concurrency level once per round: the host's drift
// (its bandwidth moves 20-50% within minutes) hits all levels of a round alike,
// and ratios are taken within rounds.
const results = levels.map((c) => ({ c, tps: [], ttft: [], ratio: [], steady: [] }));
for (let r = 0; r < rounds; r++) {
    for (const res of results) {
        const c = res.c;
        const t0 = performance.now();
        const out = await Promise.all(Array.from({ length: c }, (_, i) => stream(r * 1000 + c * 17 + i)));
        const seconds = (performance.now() - t0) / 1000;
        res.tps.push(out.reduce((a, o) => a + o.n, 0) / seconds);
        res.ttft.push(median(out.map((o) => o.ttft)));
        res.steady.push(steadyRate(out));
    }
    const one = results.find((x) => x.c === 1)?.tps[r];
    for (const res of results) res.ratio.push(one ? res.tps[r] / one : 0);
}
const after = ternBench();
server.kill("SIGTERM");
const pp = Object.fromEntries(levels.filter((c) => c > 1).map((c) => [c, ppRate(c)]));

const single = median(results.find((r) => r.c === 1)?.tps ?? [0]);
console.log(`model ${path.basename(model)}, ${threads} threads, ${tokens} tokens per request after a ` +
    `32-token prompt, ${rounds} rounds; ${reserved}`);
console.log(`tern bench tg${tokens} (same threads, before / after): ${before.toFixed(1)} / ${after.toFixed(1)} tokens/s\n`);
console.log("| streams | aggregate tokens/s | vs 1 stream (median of rounds) | per stream | time to first token, ms " +
    "| steady tokens/s (all streams generating) | steady vs tern bench pp at that batch |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
    const m = median(r.tps), steady = median(r.steady);
    const share = pp[r.c] ? `${(100 * steady / pp[r.c]).toFixed(0)}% of pp${r.c} ${pp[r.c].toFixed(1)}` : "";
    console.log(`| ${r.c} | ${m.toFixed(1)} (${range(r.tps)}) | ${median(r.ratio).toFixed(2)}x | ${(m / r.c).toFixed(1)} | ` +
        `${median(r.ttft).toFixed(0)} (${range(r.ttft)}) | ${steady.toFixed(1)} (${range(r.steady)}) | ${share} |`);
}
console.log(`\none stream through the server: ${(100 * single / ((before + after) / 2)).toFixed(0)}% of tern bench tg`);
