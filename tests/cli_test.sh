#!/usr/bin/env bash
# The tern command line end to end on a tiny synthetic model: gen-model, info,
# run (greedy and seeded sampling reproducible), bench in every format, and
# clear errors with a non-zero exit for bad flags and files.
#   cli_test.sh <tern> <work dir>
set -euo pipefail
tern=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/check_helpers.sh"

model=$work/tiny.gguf
"$tern" gen-model --preset tiny --seed 3 -o "$model" > "$work/gen.log" 2>&1 && [[ -s $model ]] && ok gen-model || bad gen-model
"$tern" gen-model --preset tiny --seed 3 -o "$work/again.gguf" > /dev/null 2>&1
cmp -s "$model" "$work/again.gguf" && ok "gen-model is deterministic" || bad "gen-model is deterministic"

"$tern" info -m "$model" > "$work/info.log" 2>&1
grep -q "activation: relu2, the architecture's (bitnet)" "$work/info.log" && grep -q "blk.\*.ffn_down.weight" "$work/info.log" &&
    grep -q "<- in use" "$work/info.log" && ok info || { bad info; cat "$work/info.log"; }
"$tern" info -m "$model" --activation silu | grep -q "activation: silu, set by the caller" && ok "info --activation" || bad "info --activation"

run() { "$tern" run -m "$model" -p "Hello" -n 12 --ignore-eos "$@" 2> /dev/null; }
[[ "$(run --temp 0)" == "$(run --temp 0)" ]] && ok "greedy run repeats" || bad "greedy run repeats"
[[ "$(run --seed 7)" == "$(run --seed 7)" ]] && ok "seeded sampling repeats" || bad "seeded sampling repeats"
"$tern" run -m "$model" -p "Hello" -n 4 > /dev/null 2> "$work/run.err"
grep -q "generation: .* tokens/s" "$work/run.err" && ok "run reports speed" || bad "run reports speed"

"$tern" bench -m "$model" -p 16 -n 4 -t 1,2 -r 2 -o json > "$work/bench.json" 2> /dev/null
[[ $(grep -c '"test"' "$work/bench.json") -eq 4 ]] && ok "bench json" || { bad "bench json"; cat "$work/bench.json"; }
# Generation rows carry the read probe of the model's weights and the share of
# the bound it sets; prompt rows carry neither.
node -e '
const rows = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const r of rows) {
    const tg = r.test.startsWith("tg");
    if (tg !== (r.read_gbs > 0 && r.bound_share > 0 && r.bound_share < 10)) process.exit(1);
    if (!tg && (r.read_gbs !== null || r.bound_share !== null)) process.exit(1);
}' "$work/bench.json" && ok "bench bound" || { bad "bench bound"; cat "$work/bench.json"; }
"$tern" bench -m "$model" -p 16 -n 4 -t 1 -r 1 -o csv 2> /dev/null | grep -q "^\"bitnet 4L/256 TQ2_0\"" && ok "bench csv" || bad "bench csv"
"$tern" bench -m "$model" -p 16 -n 4 -t 1 -r 1 2> /dev/null | grep -q "| pp16 |" && ok "bench md" || bad "bench md"
"$tern" bench -m "$model" -p 2,8 -n 0 -t 1 -r 1 2> /dev/null > "$work/bench_list.md"
grep -q "| pp2 |" "$work/bench_list.md" && grep -q "| pp8 |" "$work/bench_list.md" && ok "bench -p list" || bad "bench -p list"
"$tern" bench -m "$model" -p 16 -n 4 -t 1 -r 1 --profile 2> /dev/null | grep -qE "\| ternary tmad_(b3_)?gemv \|" &&
    ok "bench profile" || bad "bench profile"
# Energy: a machine without RAPL counters says so; with a (fake) counter tree
# every row carries joules per token.
TERN_POWERCAP_ROOT=$work/none "$tern" bench -m "$model" -p 16 -n 0 -t 1 -r 1 2> /dev/null |
    grep -q "energy per token: not measured (no RAPL energy counters under $work/none" &&
    ok "bench without energy counters" || bad "bench without energy counters"
mkdir -p "$work/powercap/intel-rapl:0" && echo 5000 > "$work/powercap/intel-rapl:0/energy_uj"
TERN_POWERCAP_ROOT=$work/powercap "$tern" bench -m "$model" -p 16 -n 0 -t 1 -r 1 -o json 2> /dev/null > "$work/energy.json"
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.exit(r[0].joules_per_token === 0 ? 0 : 1)' \
    "$work/energy.json" && ok "bench with energy counters" || { bad "bench with energy counters"; cat "$work/energy.json"; }

# Architectures: bitnet.cpp's 2B4T layout and a ternary Llama, at odd sizes.
m25=$work/b25.gguf mll=$work/llama.gguf
"$tern" gen-model --arch bitnet-25 --type i2_s --n-layer 2 --n-vocab 1000 --seed 4 -o "$m25" > /dev/null 2>&1
"$tern" gen-model --arch llama --n-embd 768 --n-head 6 --n-head-kv 2 --n-ff 1280 --embedding q6_k --head q4_k \
    --n-layer 2 --seed 4 -o "$mll" > /dev/null 2>&1
"$tern" info -m "$m25" > "$work/info25.log" 2>&1
grep -q "architecture bitnet-25" "$work/info25.log" && grep -q "LM head: output.weight (untied, F16)" "$work/info25.log" &&
    grep -q "ternary matrices I2_S x14" "$work/info25.log" && grep -q "chat format: bitnet, recognised" "$work/info25.log" &&
    grep -q "activation: relu2, the architecture's (bitnet-25)" "$work/info25.log" && ok "info bitnet-25" ||
    { bad "info bitnet-25"; cat "$work/info25.log"; }
"$tern" info -m "$mll" > "$work/infoll.log" 2>&1
grep -q "architecture llama" "$work/infoll.log" && grep -q "RoPE interleaved" "$work/infoll.log" &&
    grep -q "no sub-norms" "$work/infoll.log" && grep -q "activation: silu" "$work/infoll.log" &&
    grep -q "output.weight (untied, Q4_K)" "$work/infoll.log" && grep -q "token_embd.weight Q6_K" "$work/infoll.log" &&
    ok "info llama" || { bad "info llama"; cat "$work/infoll.log"; }
"$tern" run -m "$mll" -p "Hello" -n 4 --temp 0 --lm-head file > /dev/null 2>&1 && ok "run llama, file head" || bad "run llama, file head"

# Chat: one turn with -p; two turns interactively (the second evaluates only its
# own tokens, after the first answer, and starts by closing it), /reset.
"$tern" chat -m "$m25" -p "Hi there" --system "Be brief." -n 4 --temp 0 --verbose-prompt > "$work/chat1.out" 2> "$work/chat1.err" &&
    grep -qF "System: Be brief.<|eot_id|>User: Hi there<|eot_id|>Assistant: " "$work/chat1.err" && ok "chat -p" ||
    { bad "chat -p"; cat "$work/chat1.err"; }
printf 'Hello\nAnd then?\n/reset\nAgain\n' | "$tern" chat -m "$m25" -n 5 --temp 0 --verbose-prompt > "$work/chat2.out" 2> "$work/chat2.err"
grep -a "^\[prompt" "$work/chat2.err" > "$work/chat2.prompts"
second=$(sed -n 2p "$work/chat2.prompts") third=$(sed -n 3p "$work/chat2.prompts")
[[ $(wc -l < "$work/chat2.prompts") -eq 3 && $second == *"at position "[1-9]* && $third == *"at position 0]" ]] &&
    grep -aqF "<|eot_id|>User: And then?<|eot_id|>Assistant: " "$work/chat2.err" &&
    grep -aq "(conversation reset)" "$work/chat2.err" && ok "chat turns keep the cache, /reset" ||
    { bad "chat turns keep the cache, /reset"; cat "$work/chat2.err"; }
"$tern" chat -m "$mll" -p "Hi" -n 2 --temp 0 --verbose-prompt > /dev/null 2> "$work/chat4.err"
grep -aqF "<|start_header_id|>user<|end_header_id|>" "$work/chat4.err" && ok "chat llama3 format" ||
    { bad "chat llama3 format"; cat "$work/chat4.err"; }
# Ctrl-C stops the answer, not the program: the next line is still read.
big=$work/big25.gguf
"$tern" gen-model --arch bitnet-25 --n-embd 1024 --n-head 8 --n-head-kv 2 --n-ff 2816 --n-layer 16 -o "$big" > /dev/null 2>&1
mkfifo "$work/chat.in"
"$tern" chat -m "$big" -t 1 -n 100000 < "$work/chat.in" > "$work/chat3.out" 2> "$work/chat3.err" &
chat_pid=$!
exec 3> "$work/chat.in"
echo "Tell me a long story" >&3
# Interrupt once the answer streams (past "> ", the prompt), however slowly the model loads.
for _ in $(seq 600); do (($(wc -c < "$work/chat3.out") > 8)) && break; sleep 0.1; done
kill -INT "$chat_pid"
sleep 1
echo "/exit" >&3
exec 3>&-
if wait "$chat_pid" && grep -aq "stopped by Ctrl-C" "$work/chat3.err"; then ok "chat Ctrl-C stops the answer"; else
    bad "chat Ctrl-C stops the answer"; cat "$work/chat3.err"; fi
expect_error chat-format "chat format 'chatml' is not known (expected llama3, bitnet, falcon3)" chat -m "$m25" -p hi --chat-format chatml
expect_error unknown-arch "--arch is 'gpt2', expected one of bitnet, bitnet-25, llama" gen-model --arch gpt2 -o "$work/x.gguf"
expect_error odd-hidden "--n-embd 320 is not a multiple of 256, the TQ2_0 block" gen-model --n-embd 320 -o "$work/x.gguf"

expect_error unknown-command "unknown command 'walk'" walk
expect_error unknown-flag "unknown argument '--tempo'" run -m "$model" -p hi --tempo 1
expect_error missing-value "--prompt needs a value" run -m "$model" --prompt
expect_error bad-number "--temp is 'hot', expected a number" run -m "$model" -p hi --temp hot
expect_error bad-threads "--threads is '1,x'" bench -m "$model" -t 1,x
expect_error missing-model "--model is required" bench
expect_error bad-cache-type "--cache-type is 'q8_0', expected one of f16, f32" run -m "$model" -p hi --cache-type q8_0
"$tern" bench -m "$model" -p 8 -n 4 -t 1 -r 1 -o json --cache-type f32 2> /dev/null | grep -q '"cache_type": "f32"' &&
    "$tern" bench -m "$model" -p 8 -n 4 -t 1 -r 1 -o json 2> /dev/null | grep -q '"cache_type": "f16"' &&
    ok "bench --cache-type (f16 by default)" || bad "bench --cache-type (f16 by default)"
expect_error bad-weights "--weights is '3', expected one of tuned, 2, 1.6" run -m "$model" -p hi --weights 3
first_row() { node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"))[0]; console.log(r.bits_per_weight.toFixed(2), r.lm_head)'; }
[[ $("$tern" bench -m "$model" -p 8 -n 4 -t 1 -r 1 -o json --weights 1.6 --lm-head int4 2> /dev/null | first_row) =~ ^1\.[5-9][0-9]\ int4$ ]] &&
    [[ $("$tern" bench -m "$model" -p 8 -n 4 -t 1 -r 1 -o json --weights 2 2> /dev/null | first_row) == "2.00 int8" ]] &&
    ok "bench --weights and --lm-head int4" || bad "bench --weights and --lm-head int4"
printf 'The mill by the river turned grain into flour for a hundred years.' > "$work/text.txt"
"$tern" compare-heads -m "$model" --text "$work/text.txt" 2> /dev/null | grep -q '^| int4 | ' &&
    ok "compare-heads" || bad "compare-heads"
expect_error compare-heads-no-text "compare-heads: cannot read --text" compare-heads -m "$model" --text "$work/none.txt"
expect_error huge-context "--ctx-size is '1000000000', expected an integer from 1 to 1048576" run -m "$model" -p hi -c 1000000000
expect_error huge-parallel "--parallel is '5000000', expected an integer from 1 to 256" serve -m "$model" -np 5000000
expect_error no-file "nope.gguf: cannot open" info -m "$work/nope.gguf"
printf 'GGUF' > "$work/short.gguf"
expect_error short-file "short.gguf: truncated: version" info -m "$work/short.gguf"
expect_error bad-choice "--type is 'q4_0', expected one of tq2_0, tq1_0, i2_s, f32, f16, bf16" gen-model --type q4_0 -o "$work/x.gguf"
expect_error bad-bundle "no bundle for target 'x86-64-sse9'" info --bundle x86-64-sse9
expect_error bad-preset "--preset is 'huge'" gen-model --preset huge -o "$work/x.gguf"

echo "$passed passed, $fail failed"
((fail == 0))
