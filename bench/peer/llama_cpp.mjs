#!/usr/bin/env node
// llama.cpp (the prebuilt CPU build npm's node-llama-cpp ships) on a GGUF file,
// for side-by-side runs with tern.
//   node llama_cpp.mjs logits MODEL --tokens "ID ID ..." [--steps N] [--threads T]
//       last-position logits after the tokens (no BOS added), then N greedy steps,
//       as the same JSON `tern eval` prints
//   node llama_cpp.mjs bench MODEL [--threads T] [--pp 512] [--tg 128] [--reps 3] [--vocab 32000]
//       prompt processing and generation tokens/s (median of reps, each from an
//       empty cache after one warm-up) and peak resident memory, as one JSON line
//   node llama_cpp.mjs embed MODEL [--threads T] [--tokens 128] [--reps 3] [--vocab 32000]
//       an embedding model's texts of that many (random) token ids, one per call
//       (node-llama-cpp's getEmbeddingFor, after one warm-up): tokens/s and
//       embeddings/s, medians of reps, as one JSON line
// Both take --mmap on|off (default off): llama.cpp maps the file by default,
// which on the development machines costs it 1.3-1.8x in generation; read into
// memory (llama-bench's -mmp 0) is its fastest mode there.
// node-llama-cpp is resolved from $TERN_PEER_DIR/node_modules.
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

const dir = process.env.TERN_PEER_DIR;
const entry = dir && path.join(dir, "node_modules/node-llama-cpp/dist/index.js");
if (!entry || !fs.existsSync(entry)) {
    console.error("llama_cpp.mjs: node-llama-cpp not found under $TERN_PEER_DIR (bench/peer/install.sh installs it)");
    process.exit(3);
}
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(entry).href);

const [command, modelPath, ...rest] = process.argv.slice(2);
const flag = (name, fallback) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : fallback;
};
if (!["logits", "bench", "embed"].includes(command) || !modelPath) {
    console.error("usage: llama_cpp.mjs logits|bench|embed MODEL [flags]");
    process.exit(2);
}
const threads = Number(flag("--threads", "1"));
const seconds = () => Number(process.hrtime.bigint()) / 1e9;

// Package energy in microjoules from the RAPL powercap counters (the zones tern
// bench reads; $TERN_POWERCAP_ROOT overrides the root), or null without them.
const powercap = process.env.TERN_POWERCAP_ROOT || "/sys/class/powercap";
const zones = (() => {
    try {
        return fs.readdirSync(powercap).filter((z) => /^intel-rapl:\d+$/.test(z))
            .filter((z) => { try { fs.readFileSync(`${powercap}/${z}/energy_uj`); return true; } catch { return false; } });
    } catch {
        return [];
    }
})();
const readEnergy = () => zones.map((z) => Number(fs.readFileSync(`${powercap}/${z}/energy_uj`, "utf8")));
const joulesSince = (before) => {
    const now = readEnergy();
    let uj = 0;
    zones.forEach((z, i) => {
        let d = now[i] - before[i];
        if (d < 0) {
            let range = 0;
            try { range = Number(fs.readFileSync(`${powercap}/${z}/max_energy_range_uj`, "utf8")); } catch {}
            d = range > before[i] ? range - before[i] + now[i] : 0;
        }
        uj += d;
    });
    return uj * 1e-6;
};

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const mmap = flag("--mmap", "off");
if (!["on", "off"].includes(mmap)) {
    console.error(`llama_cpp.mjs: --mmap is '${mmap}', expected on or off`);
    process.exit(2);
}
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: mmap === "on"});

// One token with greedy next-token generation (and its logits when asked).
const step = (token, logits) => [token, {generateNext: {token: true, logits, options: {temperature: 0}}}];

if (command === "embed") {
    const n = Number(flag("--tokens", "128")), reps = Number(flag("--reps", "3"));
    const vocab = Number(flag("--vocab", "32000"));
    const context = await model.createEmbeddingContext({contextSize: n + 16, batchSize: n + 16, threads});
    let state = 11;
    const randomIds = () => Array.from({length: n}, () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) % vocab);
    await context.getEmbeddingFor(randomIds());
    const tps = [];
    for (let i = 0; i < reps; i++) {
        const ids = randomIds();
        const start = seconds();
        await context.getEmbeddingFor(ids);
        tps.push(n / (seconds() - start));
    }
    const median = [...tps].sort((x, y) => x - y)[tps.length >> 1];
    console.log(JSON.stringify({runtime: "llama.cpp", mmap: mmap === "on", threads, tokens: n, tps: median,
                                embeddings_per_s: median / n, all: tps}));
    await context.dispose();
} else if (command === "logits") {
    const ids = flag("--tokens", "").split(/[\s,]+/).filter(Boolean).map(Number);
    const steps = Number(flag("--steps", "0"));
    const context = await model.createContext({contextSize: Math.max(64, ids.length + steps + 8),
                                               batchSize: Math.max(32, ids.length), threads, sequences: 1});
    const seq = context.getSequence();
    const out = [];
    let input = ids.map((t, i) => (i === ids.length - 1 ? step(t, true) : t));
    let position = ids.length - 1;
    for (let s = 0; s <= steps; s++) {
        const result = await seq.controlledEvaluate(input);
        const next = result[input.length - 1].next;
        const logits = new Array(next.logits.size);
        for (const [id, v] of next.logits.entries()) logits[id] = v;
        out.push({position, greedy: next.token, logits});
        input = [step(next.token, true)];
        position += 1;
    }
    console.log(JSON.stringify({runtime: "llama.cpp", steps: out}));
} else {
    const pp = Number(flag("--pp", "512")), tg = Number(flag("--tg", "128")), reps = Number(flag("--reps", "3"));
    const context = await model.createContext({contextSize: Math.max(pp, tg) + 64, batchSize: Math.max(pp, 32),
                                               threads, sequences: 1});
    const seq = context.getSequence();
    let state = 7;
    const vocab = Number(flag("--vocab", "32000"));  // ids drawn below this
    const randomIds = (n) => Array.from({length: n}, () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) % vocab);
    const prompt = async (n) => {
        await seq.clearHistory();
        const ids = randomIds(n);
        const start = seconds();
        await seq.controlledEvaluate(ids.map((t, i) => (i === n - 1 ? step(t, false) : t)));
        return n / (seconds() - start);
    };
    const generate = async (n) => {
        await seq.clearHistory();
        let token = randomIds(1)[0];
        const start = seconds();
        for (let i = 0; i < n; i++) token = (await seq.controlledEvaluate([step(token, false)]))[0].next.token;
        return n / (seconds() - start);
    };
    const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    // Returns tokens/s of each repetition and joules per token over them all.
    const run = async (f, n) => {
        if (n <= 0) return [[], null];
        await f(Math.min(n, 16));
        const r = [];
        const before = readEnergy();
        for (let i = 0; i < reps; i++) r.push(await f(n));
        return [r, zones.length ? joulesSince(before) / (n * reps) : null];
    };
    const [ppAll, ppJoules] = await run(prompt, pp), [tgAll, tgJoules] = await run(generate, tg);
    console.log(JSON.stringify({runtime: "llama.cpp", mmap: mmap === "on", threads, pp, tg, pp_tps: pp ? median(ppAll) : null, pp_all: ppAll,
                                tg_tps: tg ? median(tgAll) : null, tg_all: tgAll,
                                pp_joules_per_token: ppJoules, tg_joules_per_token: tgJoules,
                                energy: zones.length ? `RAPL (${zones.join(", ")})` : `no RAPL energy counters under ${powercap}`,
                                peak_rss_mib: process.resourceUsage().maxRSS / 1024}));
}
await model.dispose();
await llama.dispose();
