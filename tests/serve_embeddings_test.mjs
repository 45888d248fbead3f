// tern serve's /v1/embeddings end to end with the official OpenAI client for
// Node, on 127.0.0.1 only: vectors equal tern embed's for the same texts (as
// floats and as the client's default base64), token-id inputs, usage, many
// concurrent requests batched together giving each its own vectors, and a 400
// naming the field for bad input; chat on an embedding model and embeddings on
// a generative one are 400s saying why.
//   node serve_embeddings_test.mjs TERN NPM_NODE_MODULES WORK_DIR
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

// A Qwen3-layout embedding model (last-token pooling, EOS appended) and a
// generative one.
const embedModel = `${work}/embed.gguf`, chatModel = `${work}/chat.gguf`;
execFileSync(tern, ["gen-model", "--arch", "qwen3", "--type", "i2_s", "--n-embd", "256", "--n-head", "4",
    "--n-head-kv", "2", "--head-dim", "96", "--n-ff", "640", "--n-layer", "2", "--seed", "5", "-o", embedModel],
    { stdio: "ignore" });
execFileSync(tern, ["gen-model", "--seed", "8", "-o", chatModel], { stdio: "ignore" });

const serve = (model, extra = []) => startServe(tern, model, ["-t", "2", "-c", "128", ...extra]);

// tern embed's vectors (TSV), one per text.
function embedCli(texts) {
    const out = execFileSync(tern, ["embed", "-m", embedModel, "-o", "tsv", "-f", "-"],
        { input: texts.join("\n") + "\n", stdio: ["pipe", "pipe", "ignore"] }).toString();
    return out.trim().split("\n").map((l) => l.split("\t").map(Number));
}
const maxDiff = (a, b) => a.length !== b.length ? Infinity : Math.max(...a.map((v, i) => Math.abs(v - b[i])));
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

const texts = ["hello world", "The quick brown fox jumps over the lazy dog.", "x",
    "Ünïcödé: 我想在apple工作 — нещо на Български 🚀"];
const want = embedCli(texts);
const server = await serve(embedModel, ["-np", "4"]);
try {
    const client = new OpenAI({ baseURL: base(server) + "/v1", apiKey: "none", maxRetries: 0 });
    // The client asks for base64 unless told otherwise, and decodes it.
    const b64 = await client.embeddings.create({ model: "embed", input: texts });
    check(b64.data.length === 4 && b64.data.every((d, i) => d.index === i && maxDiff(d.embedding, want[i]) < 1e-6),
        "base64 (the client's default): tern embed's vectors, in order",
        JSON.stringify(b64.data.map((d, i) => maxDiff(d.embedding, want[i]))));
    check(b64.data.every((d) => Math.abs(norm(d.embedding) - 1) < 1e-5), "vectors are L2-normalised");
    const floats = await client.embeddings.create({ model: "embed", input: texts[1], encoding_format: "float" });
    check(floats.data.length === 1 && maxDiff(floats.data[0].embedding, want[1]) < 1e-6 &&
        floats.object === "list" && floats.data[0].object === "embedding" && floats.model === "embed",
        "encoding_format float: one vector, OpenAI's response shape");
    const ids = execFileSync(tern, ["tokenize", "-m", embedModel, "--ids", "-p", texts[0]]).toString().trim();
    const tokenIds = JSON.parse(ids);
    check(floats.usage.prompt_tokens > 0 && floats.usage.total_tokens === floats.usage.prompt_tokens,
        "usage.prompt_tokens counted");
    const byIds = await client.embeddings.create({ model: "embed", input: [tokenIds, tokenIds.slice(0, -1)],
        encoding_format: "float" });
    check(maxDiff(byIds.data[0].embedding, want[0]) < 1e-6 && maxDiff(byIds.data[1].embedding, want[0]) < 1e-6 &&
        byIds.usage.prompt_tokens === 2 * tokenIds.length,
        "token-id inputs: the text's vector (EOS appended where the file adds one)");
    // 24 concurrent requests of 1-3 texts, on 4 slots: batched across requests.
    const jobs = [];
    for (let r = 0; r < 24; r++) {
        const pick = [r % 4, (r + 1) % 4, (r + 2) % 4].slice(0, 1 + (r % 3));
        jobs.push(client.embeddings.create({ model: "embed", input: pick.map((i) => texts[i]), encoding_format: "float" })
            .then((res) => res.data.every((d, k) => maxDiff(d.embedding, want[pick[k]]) < 1e-5)));
    }
    const results = await Promise.all(jobs);
    check(results.every(Boolean), "24 concurrent requests on 4 slots: each gets its own texts' vectors");
    // Bad input: a 400 naming the field.
    const bad = [
        [{ input: "" }, "input"], [{ input: [] }, "input"], [{ input: ["a", ""] }, "input[1]"],
        [{ input: 5 }, "input"], [{ input: [1, "a"] }, "input"], [{ input: [[1, 2], [999999]] }, "input[1]"],
        [{}, "input"], [{ input: "a ".repeat(400) }, "input"], [{ input: "a", encoding_format: "int8" }, "encoding_format"],
        [{ input: "a", dimensions: 64 }, "dimensions"], [{ input: "a", model: "other" }, "model"],
        [{ input: "a", user: 3 }, "user"],
    ];
    for (const [body, param] of bad) {
        const res = await post(server, "/v1/embeddings", body);
        const json = await res.json();
        check(res.status === 400 && json.error && json.error.param === param,
            `bad input ${JSON.stringify(body).slice(0, 40)}: 400 naming '${param}'`, `${res.status} ${JSON.stringify(json)}`);
    }
    const notJson = await post(server, "/v1/embeddings", "{nope");
    check(notJson.status === 400, "a body that is not JSON: 400");
    const chat = await post(server, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] });
    const chatJson = await chat.json();
    check(chat.status === 400 && /is an embedding model/.test(chatJson.error.message),
        "chat on an embedding model: 400 saying why", JSON.stringify(chatJson));
    const metrics = await (await fetch(base(server) + "/metrics")).text();
    const embedded = Number((metrics.match(/^tern_embeddings_total (\d+)/m) || [])[1]);
    check(embedded >= 4 + 1 + 2 + 48, "/metrics counts the inputs embedded", String(embedded));
} catch (e) {
    check(false, "embedding server", e.stack + "\n" + server.log());
} finally {
    await stopped(server);
}

const generative = await serve(chatModel);
try {
    const res = await post(generative, "/v1/embeddings", { input: "hello" });
    const json = await res.json();
    check(res.status === 400 && /is not an embedding model/.test(json.error.message),
        "/v1/embeddings on a generative model: 400 saying why", JSON.stringify(json));
} finally {
    await stopped(generative);
}
console.log(failures ? `${failures} failed` : "all passed");
process.exit(failures ? 1 : 0);
