// tern serve under load: aggregate generated tokens/s and time to first token at
// 1, 2, 4, 8 and 16 concurrent streams, against tern bench's single-stream
// generation on the same model in the same run. Clients are the official OpenAI
// client for Node (npm `openai`, the one scripts/setup.sh installs), streaming.
//   node bench/serve_bench.mjs MODEL [--threads 2] [--rounds 3] [--tokens 64]
//        [--levels 1,2,4,8,16] [--tern build/runtime/tern] [--modules build/npm/node_modules]
// Prints a markdown table; medians over rounds, with the range.
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

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
const server = spawn(tern, ["serve", "-m", model, "--port", "0", "-t", String(threads),
    "-np", String(maxLevel), "-c", String(64 + tokens + 16)], { stdio: ["ignore", "ignore", "pipe"] });
process.on("exit", () => server.kill("SIGTERM"));  // also when a request fails
let log = "";
const port = await new Promise((resolve, reject) => {
    server.stderr.on("data", (d) => {
        log += d;
        const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
        if (m) resolve(Number(m[1]));
    });
    server.on("exit", (c) => reject(new Error("tern serve exited " + c + "\n" + log)));
});
const reserved = (log.match(/KV cache [^;]*/) ?? [""])[0];
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "x", maxRetries: 0, timeout: 600000 });

// One streamed request: a 32-token prompt of its own, `tokens` tokens back.
async function stream(seed) {
    const prompt = Array.from({ length: 32 }, (_, i) => 1000 + ((seed * 7919 + i * 104729) % 100000));
    const t0 = performance.now();
    let first = 0, n = 0;
    const s = await client.completions.create({ model: path.basename(model, ".gguf"), prompt, max_tokens: tokens, temperature: 0,
        stream: true, stream_options: { include_usage: true } }, {});
    for await (const chunk of s) {
        if (!first && chunk.choices?.[0]?.text) first = performance.now() - t0;
        if (chunk.usage) n = chunk.usage.completion_tokens;
    }
    return { ttft: first, n };
}

const before = ternBench();
await stream(0);  // warm-up
const results = [];
for (const c of levels) {
    const tps = [], ttft = [];
    for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        const out = await Promise.all(Array.from({ length: c }, (_, i) => stream(r * 1000 + c * 17 + i)));
        const seconds = (performance.now() - t0) / 1000;
        tps.push(out.reduce((a, o) => a + o.n, 0) / seconds);
        ttft.push(median(out.map((o) => o.ttft)));
    }
    results.push({ c, tps, ttft });
}
const after = ternBench();
server.kill("SIGTERM");

const single = median(results.find((r) => r.c === 1)?.tps ?? [0]);
console.log(`model ${path.basename(model)}, ${threads} threads, ${tokens} tokens per request after a ` +
    `32-token prompt, ${rounds} rounds; ${reserved}`);
console.log(`tern bench tg${tokens} (same threads, before / after): ${before.toFixed(1)} / ${after.toFixed(1)} tokens/s\n`);
console.log("| streams | aggregate tokens/s | vs 1 stream | per stream | time to first token, ms |");
console.log("| ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
    const m = median(r.tps);
    console.log(`| ${r.c} | ${m.toFixed(1)} (${range(r.tps)}) | ${(m / single).toFixed(2)}x | ${(m / r.c).toFixed(1)} | ` +
        `${median(r.ttft).toFixed(0)} (${range(r.ttft)}) |`);
}
console.log(`\none stream through the server: ${(100 * single / ((before + after) / 2)).toFixed(0)}% of tern bench tg`);
