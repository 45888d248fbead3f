#!/usr/bin/env node
// Compares two logit dumps step by step (tern eval's JSON and llama_cpp.mjs
// logits'): Pearson correlation and top-1 token per step. Exit 1 if any step's
// correlation is below --min-corr or the top-1 tokens differ, unless the two
// candidates are a near tie: within --tie of each other in both dumps (two
// runtimes that round differently may order such a pair either way).
//   node compare_logits.mjs A.json B.json [--min-corr 0.998] [--tie 0]
import fs from "node:fs";

const [fileA, fileB, ...rest] = process.argv.slice(2);
const flag = (name, fallback) => {
    const i = rest.indexOf(name);
    return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const minCorr = flag("--min-corr", 0.998), tie = flag("--tie", 0);
const a = JSON.parse(fs.readFileSync(fileA, "utf8")).steps;
const b = JSON.parse(fs.readFileSync(fileB, "utf8")).steps;
const argmax = (v) => v.reduce((best, x, k) => (x > v[best] ? k : best), 0);
const corr = (x, y) => {
    const n = x.length;
    const mx = x.reduce((s, v) => s + v, 0) / n, my = y.reduce((s, v) => s + v, 0) / n;
    let sxy = 0, sxx = 0, syy = 0;
    for (let k = 0; k < n; k++) {
        sxy += (x[k] - mx) * (y[k] - my);
        sxx += (x[k] - mx) ** 2;
        syy += (y[k] - my) ** 2;
    }
    return sxy / Math.sqrt(sxx * syy);
};
let ok = a.length === b.length && a.length > 0;
if (!ok) console.log(`step counts differ: ${a.length} and ${b.length}`);
console.log("| position | correlation | max abs diff | top-1 A | top-1 B |");
console.log("| --- | --- | --- | --- | --- |");
for (let s = 0; s < Math.min(a.length, b.length); s++) {
    const x = a[s].logits, y = b[s].logits;
    if (x.length !== y.length) {
        console.log(`position ${a[s].position}: ${x.length} and ${y.length} logits`);
        ok = false;
        continue;
    }
    const c = corr(x, y);
    let maxDiff = 0;
    for (let k = 0; k < x.length; k++) maxDiff = Math.max(maxDiff, Math.abs(x[k] - y[k]));
    const ta = argmax(x), tb = argmax(y);
    const nearTie = ta !== tb && Math.abs(x[ta] - x[tb]) <= tie && Math.abs(y[ta] - y[tb]) <= tie;
    const note = nearTie ? ` (near tie: ${x[ta].toFixed(3)}/${x[tb].toFixed(3)} and ${y[ta].toFixed(3)}/${y[tb].toFixed(3)})` : "";
    console.log(`| ${a[s].position} | ${c.toFixed(6)} | ${maxDiff.toFixed(4)} | ${ta} | ${tb}${note} |`);
    if (!(c >= minCorr) || (ta !== tb && !nearTie)) ok = false;
}
console.log(ok ? "agree" : `DISAGREE (minimum correlation ${minCorr}, same top-1 required unless within ${tie} in both)`);
process.exit(ok ? 0 : 1);
