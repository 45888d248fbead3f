// tern serve end to end with the official OpenAI client for Node, on 127.0.0.1
// only, every server started here and stopped by the end:
//   1. the API: models, chat completion streamed and not, completion; greedy
//      output equals the model's own greedy decoding (tern eval), token for token;
//      a conversation's next turn reuses the slot holding its earlier turns;
//   2. load and faults: 200 requests, 16 at a time, some abandoned mid-stream,
//      some malformed; every well-formed one gets its complete greedy answer,
//      every bad one a 4xx, the server stays up and /metrics adds up;
//   3. limits: a full queue answers 503 with Retry-After, an API key guards every
//      route but /health, oversized bodies get 413, SIGTERM exits cleanly.
//   node serve_test.mjs TERN NPM_NODE_MODULES WORK_DIR
import { execFileSync } from "node:child_process";
import { serve as startServe, stopped, base, post } from "./serve_helpers.mjs";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [tern, modules, work] = process.argv.slice(2);
const require = createRequire(path.resolve(modules) + "/");
let OpenAI;
try {
    OpenAI = require("openai").default;
} catch {
    console.log("SKIP: the openai package is not installed (scripts/setup.sh installs it)");
    process.exit(77);
}
mkdirSync(work, { recursive: true });
let failures = 0;
const check = (ok, what, detail = "") => {
    console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok || !detail ? "" : ": " + detail}`);
    if (!ok) failures++;
};

const model = `${work}/serve.gguf`;
execFileSync(tern, ["gen-model", "--arch", "bitnet-25", "--seed", "8", "-o", model], { stdio: "ignore" });

// Starts tern serve on the test model; resolves when it listens.
const serve = (extra = []) => startServe(tern, model, ["-t", "2", "-c", "512", ...extra]);

// The model's own greedy decoding of ids: tern eval's argmax at each step.
function greedy(ids, steps) {
    const out = JSON.parse(
        execFileSync(tern, ["eval", "-m", model, "-t", "2", "--tokens", ids.join(" "), "--steps", String(steps - 1)], {
            encoding: "utf8",
            maxBuffer: 1 << 28,
        }),
    );
    return out.steps.map((s) => s.greedy);
}

// --- 1. The API ---------------------------------------------------------------
let server = await serve(["-np", "4"]);
const client = new OpenAI({ baseURL: base(server) + "/v1", apiKey: "unused", maxRetries: 0 });
const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === "serve", "models list", JSON.stringify(models.data));

const chat = await client.chat.completions.create({
    model: "serve",
    messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
    max_tokens: 8,
    temperature: 0,
});
check(chat.object === "chat.completion" && chat.choices[0].message.role === "assistant", "chat completion");
check(chat.usage.completion_tokens === 8 && chat.usage.prompt_tokens > 5 && chat.choices[0].finish_reason === "length",
      "chat usage and finish_reason", JSON.stringify(chat.usage));

const stream = await client.chat.completions.create({
    model: "serve",
    messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
    max_tokens: 8,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
});
let streamed = "", chunks = 0, finish = null, usage = null;
for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    if (!chunk.choices.length) continue;
    streamed += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
}
check(streamed === chat.choices[0].message.content && chunks >= 3 && finish === "length" && usage?.completion_tokens === 8,
      "streamed chat equals the non-streamed one", JSON.stringify({ streamed, chunks, finish, usage }));

const prompt = [1014, 72, 101, 108, 108, 111, 44, 32, 116, 104, 101, 114, 101];
const completion = await client.completions.create({
    model: "serve", prompt, max_tokens: 12, temperature: 0, return_tokens: true,
});
const want = greedy(prompt, 12);
check(completion.object === "text_completion" && JSON.stringify(completion.choices[0].tokens) === JSON.stringify(want),
      "greedy completion equals the model's greedy decoding, token for token",
      JSON.stringify({ got: completion.choices[0].tokens, want }));

// A conversation's next turn resends the first: the slot holding it is reused,
// only the new tokens are evaluated, and the answer is the one a whole
// evaluation gives (cache_prompt: false, llama-server's switch).
const metricsText = async () => (await fetch(base(server) + "/metrics")).text();
const cachedTotal = (text) => Number((text.match(/^tern_prompt_tokens_cached_total (\S+)/m) ?? [0, 0])[1]);
const turn1 = [{ role: "system", content: "Be brief." }, { role: "user", content: "Name a colour." }];
const reply1 = await client.chat.completions.create({ model: "serve", messages: turn1, max_tokens: 8, temperature: 0 });
const turn2 = [...turn1, reply1.choices[0].message, { role: "user", content: "And another one?" }];
const cachedBefore = cachedTotal(await metricsText());
const reused = await client.chat.completions.create({ model: "serve", messages: turn2, max_tokens: 8, temperature: 0 });
const whole = await client.chat.completions.create({ model: "serve", messages: turn2, max_tokens: 8, temperature: 0,
                                                     cache_prompt: false });
const cachedAfter = cachedTotal(await metricsText());
const nCached = reused.usage.prompt_tokens_details?.cached_tokens;
check(nCached >= reply1.usage.prompt_tokens && nCached < reused.usage.prompt_tokens,
      "the second turn reuses the first turn's tokens", JSON.stringify({ turn1: reply1.usage, turn2: reused.usage }));
check(whole.usage.prompt_tokens_details?.cached_tokens === 0 &&
      whole.choices[0].message.content === reused.choices[0].message.content,
      "with reuse the answer equals a whole evaluation's",
      JSON.stringify({ reused: reused.choices[0].message.content, whole: whole.choices[0].message.content }));
check(cachedAfter - cachedBefore === nCached, "/metrics counts the reused prompt tokens",
      `${cachedAfter} - ${cachedBefore} vs ${nCached}`);

// --- 2. Load and faults ---------------------------------------------------------
// Greedy answers of a few prompts, each alone first.
const prompts = [[1014, 5, 9, 77], [1014, 300, 301], [1014, 42], [1014, 600, 2, 33, 8, 12, 13]];
const answers = [];
for (const p of prompts) {
    const r = await client.completions.create({ model: "serve", prompt: p, max_tokens: 16, temperature: 0, return_tokens: true });
    answers.push(r.choices[0].tokens);
}
const before = await (await fetch(base(server) + "/metrics")).text();
const metric = (text, name) => Number((text.match(new RegExp(`^${name} (\\S+)`, "m")) ?? [0, 0])[1]);
const statusCount = (text, s) => metric(text, `tern_requests_total\\{status="${s}"\\}`);

let complete = 0, wrong = 0, bad4xx = 0, badOther = 0, abandoned = 0, errors = [];
const malformed = [
    ["{not json", "not valid JSON"],
    [{ messages: "hi" }, "messages"],
    [{ messages: [{ role: "user", content: "x" }], max_tokens: "3" }, "max_tokens"],
    [{ messages: [{ role: "wizard", content: "x" }] }, "role"],
    [{ messages: [{ role: "user", content: "x" }], temperature: 9 }, "temperature"],
    [{ model: "gpt-4", messages: [{ role: "user", content: "x" }] }, "model"],
    [{ messages: [{ role: "user", content: "x" }], max_tokens: 100000 }, "max_tokens"],
];
async function one(i) {
    if (i % 10 === 3) {  // malformed: a 4xx naming the field
        const [body, field] = malformed[i % malformed.length];
        const r = await post(server, "/v1/chat/completions", body);
        const j = await r.json().catch(() => ({}));
        if (r.status >= 400 && r.status < 500 && JSON.stringify(j.error ?? {}).includes(field)) bad4xx++;
        else { badOther++; errors.push(`${r.status} ${JSON.stringify(j)}`); }
        return;
    }
    const k = i % prompts.length;
    if (i % 10 === 7) {  // abandoned mid-stream, long before its 480 tokens could be done
        const ac = new AbortController();
        try {
            const s = await client.completions.create(
                { model: "serve", prompt: prompts[k], max_tokens: 480, temperature: 0, stream: true },
                { signal: ac.signal });
            let n = 0;
            for await (const _ of s) if (++n === 3) ac.abort();
        } catch { /* the abort */ }
        abandoned++;
        return;
    }
    const r = await client.completions.create({ model: "serve", prompt: prompts[k], max_tokens: 16, temperature: 0, return_tokens: true });
    if (JSON.stringify(r.choices[0].tokens) === JSON.stringify(answers[k]) && r.usage.completion_tokens === answers[k].length) complete++;
    else { wrong++; errors.push(`request ${i}: ${JSON.stringify(r.choices[0].tokens)} vs ${JSON.stringify(answers[k])}`); }
}
const total = 200, concurrency = 16;
let next = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
        const i = next++;
        try { await one(i); } catch (e) { errors.push(`request ${i}: ${e}`); wrong++; }
    }
}));
const nBad = Array.from({ length: total }, (_, i) => i).filter((i) => i % 10 === 3).length;
const nAbandoned = Array.from({ length: total }, (_, i) => i).filter((i) => i % 10 === 7).length;
check(complete === total - nBad - nAbandoned && wrong === 0, `${complete} well-formed requests got their complete greedy answer`, errors.slice(0, 3).join("; "));
check(bad4xx === nBad && badOther === 0, `${bad4xx} malformed requests got a 4xx naming the field`, errors.slice(0, 3).join("; "));
check(abandoned === nAbandoned, `${abandoned} streams abandoned mid-way`);
const health = await fetch(base(server) + "/health");
check(health.status === 200, "the server stayed up");
// Abandoned streams free their slots: soon nothing is busy.
let after = "";
for (let t = 0; t < 50; t++) {
    after = await (await fetch(base(server) + "/metrics")).text();
    if (metric(after, "tern_slots_busy") === 0 && metric(after, "tern_queue_length") === 0) break;
    await new Promise((r) => setTimeout(r, 100));
}
check(metric(after, "tern_slots_busy") === 0 && metric(after, "tern_queue_length") === 0, "abandoned streams freed their slots");
const ok200 = statusCount(after, 200) - statusCount(before, 200);
const got400 = statusCount(after, 400) - statusCount(before, 400);
check(got400 === nBad && ok200 >= total - nBad - 1, "/metrics counts the responses",
      `200: ${ok200}, 400: ${got400}`);
check(metric(after, "tern_requests_cancelled_total") >= nAbandoned, "/metrics counts the abandoned streams",
      String(metric(after, "tern_requests_cancelled_total")));
const stop = await stopped(server);
check(stop.code === 0 && /stopped/.test(server.log()), "SIGTERM: clean exit", JSON.stringify(stop));

// --- 3. Limits ------------------------------------------------------------------
server = await serve(["-np", "1", "--queue", "1", "--api-key", "sesame"]);
const auth = { Authorization: "Bearer sesame" };
check((await fetch(base(server) + "/health")).status === 200, "/health needs no key");
const noKey = await fetch(base(server) + "/v1/models");
check(noKey.status === 401 && (await noKey.json()).error.type === "authentication_error", "a route without the key: 401");
check((await fetch(base(server) + "/v1/models", { headers: auth })).status === 200, "with the key: 200");
const big = await post(server, "/v1/completions", JSON.stringify({ prompt: "x".repeat(2 << 20) }), auth);
check(big.status === 413, "an oversized body: 413", String(big.status));
// One slot, one queue place: of six long requests at once, some are refused.
const burst = await Promise.all(Array.from({ length: 6 }, () =>
    post(server, "/v1/completions", { prompt: [1014, 5], max_tokens: 60, temperature: 0 }, auth)));
const refused = burst.filter((r) => r.status === 503);
check(refused.length >= 3 && refused.every((r) => r.headers.get("retry-after") === "1") &&
      burst.filter((r) => r.status === 200).length >= 1, "a full queue: 503 with Retry-After",
      burst.map((r) => r.status).join(","));
await Promise.all(burst.map((r) => r.text()));
const stop2 = await stopped(server, "SIGINT");
check(stop2.code === 0, "SIGINT: clean exit", JSON.stringify(stop2));

console.log(failures === 0 ? "all passed" : `${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
