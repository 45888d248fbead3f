#!/usr/bin/env bash
# The trained model in models/bitnet-tiny-sotu (scripts/train_tiny.py) through
# tern convert, to each ternary type:
#  - tern perplexity on its held-out text (file-precision head, F32 cache)
#    equals the training script's own evaluation of the same quantised model
#    (eval.json) within 0.5%, and the three types agree within 0.05%;
#  - greedy continuations of 32 tokens follow the script's, step for step;
#  - tern run and tern chat print text.
#   trained_model_test.sh <tern> <model dir> <work dir>
set -euo pipefail
tern=$1 hf=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
py=/usr/bin/python3
field() { $py -c "import json,sys; print(json.load(open('$hf/eval.json'))$1)"; }
expected=$(field "['perplexity']['ppl']")
ctx=$(field "['perplexity']['ctx']")
declare -A ppl
for type in i2_s tq2_0 tq1_0; do
    model=$work/tiny-$type.gguf
    "$tern" convert "$hf" --type $type -o "$model" > /dev/null 2>&1
    ppl[$type]=$("$tern" perplexity -m "$model" -f "$hf/heldout.txt" -c "$ctx" --lm-head file \
        --cache-type f32 2> /dev/null | sed -n 's/^Final estimate: PPL = \([0-9.]*\).*/\1/p')
    echo "$type: perplexity ${ppl[$type]} (training script: $expected)"
    $py -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a / b - 1) <= 0.005 else 1)" \
        "${ppl[$type]}" "$expected" || { echo "FAIL: more than 0.5% from the script's"; exit 1; }
done
for type in tq2_0 tq1_0; do
    $py -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a / b - 1) <= 0.0005 else 1)" \
        "${ppl[$type]}" "${ppl[i2_s]}" || { echo "FAIL: $type differs from i2_s"; exit 1; }
done

# Greedy continuations: fed the script's tokens, every step's argmax is the
# script's next token, or within 0.01 of it (a near tie that float rounding
# decides either way; counted and shown).
n=$(field "['greedy'].__len__()")
for ((i = 0; i < n; i++)); do
    tokens=$(field "['greedy'][$i]['tokens']" | tr -d '[],')
    want=$(field "['greedy'][$i]['greedy']" | tr -d '[],')
    "$tern" eval -m "$work/tiny-i2_s.gguf" --tokens "$tokens" --follow "${want% *}" --lm-head file \
        --cache-type f32 > "$work/eval.json"
    $py - "$work/eval.json" "$want" << 'PY'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
want = [int(t) for t in sys.argv[2].split()]
ties = 0
for step, w in zip(steps, want):
    logits = step["logits"]
    if step["greedy"] != w:
        gap = max(logits) - logits[w]
        if gap > 0.01:
            sys.exit(f"FAIL: position {step['position']}: tern's argmax {step['greedy']}, the script's {w}, {gap:.4f} apart")
        ties += 1
print(f"greedy: {len(want)} steps follow the script's" + (f" ({ties} near ties)" if ties else ", identical"))
PY
done

out=$("$tern" run -m "$work/tiny-i2_s.gguf" -p "The Congress" -n 24 --seed 1 2> /dev/null)
echo "tern run: $out"
words() { echo "$1" | grep -oE '[A-Za-z]{2,}' | wc -l; }
[[ $(words "$out") -ge 8 ]] || { echo "FAIL: tern run printed no text"; exit 1; }
out=$(printf 'What should the Congress do this year?\n' |
    "$tern" chat -m "$work/tiny-i2_s.gguf" -n 32 --seed 1 2> /dev/null)
echo "tern chat: $out"
[[ $(words "$out") -ge 5 ]] || { echo "FAIL: tern chat printed no text"; exit 1; }
