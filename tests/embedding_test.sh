#!/usr/bin/env bash
# tern embed on BitNet embedding files of both backbones (qwen3, gemma3) written
# by an independent writer (embedding_gguf_writer.py, which shares no code with
# tern): cosine >= 0.999 to its float64 forward pass, on every bundle this CPU
# runs; texts batched together give the vectors they give one at a time; tern
# info describes the model; clear errors for what an embedding model cannot do.
# Random weights: no semantic check is possible, so pooling, normalisation and
# tokens are what is checked exactly.
#   embedding_test.sh <tern> <work dir>     (exit 77: no python3-numpy)
set -euo pipefail
tern=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
writer=$here/embedding_gguf_writer.py
/usr/bin/python3 -c "import numpy" 2> /dev/null || { echo "skipped: needs python3-numpy"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
source "$here/check_helpers.sh"

# Mixed text: ASCII, accents, CJK, Cyrillic, emoji; long enough (64+ tokens)
# for gemma3's window of 5 to matter and for several kernel tiles.
texts=(
    "Hello world, this is a test of embeddings."
    "Ünïcödé text: 我想在apple工作 — нещо на Български 🚀"
    "x"
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs, 1234567890 times."
)
printf '%s\n' "${texts[@]}" > "$work/texts.txt"

bundles=$("$tern" info | awk '/runs here/ {print $1}')
for layout in qwen3 gemma3; do
    model=$work/$layout.gguf
    /usr/bin/python3 "$writer" write $layout "$model"
    for bundle in $bundles; do
        "$tern" embed -m "$model" -f "$work/texts.txt" --bundle "$bundle" -t 2 -o json \
            > "$work/$layout-$bundle.json" 2> "$work/$layout-$bundle.err"
        if /usr/bin/python3 "$writer" compare $layout "$work/$layout-$bundle.json" "${texts[@]}" \
            > "$work/cmp.log"; then
            ok "$layout on $bundle: cosine >= 0.999 to the float64 reference ($(awk '{print $7}' "$work/cmp.log" | sort -n | head -1 | tr -d ,))"
        else
            bad "$layout on $bundle"; cat "$work/cmp.log" "$work/$layout-$bundle.err"
        fi
    done
    # One text at a time (GEMV for the one-token text, other tiles) against
    # the batch of four: the same vectors.
    : > "$work/single.tsv"
    for t in "${texts[@]}"; do "$tern" embed -m "$model" -p "$t" -o tsv 2> /dev/null >> "$work/single.tsv"; done
    "$tern" embed -m "$model" -f "$work/texts.txt" -b 4 -o tsv > "$work/batch.tsv" 2> /dev/null
    "$tern" embed -m "$model" -f "$work/texts.txt" -b 3 -ub 7 -o tsv > "$work/batch3.tsv" 2> /dev/null
    /usr/bin/python3 - "$work/single.tsv" "$work/batch.tsv" "$work/batch3.tsv" << 'EOF' && ok "$layout: batched = one at a time" || bad "$layout: batched = one at a time"
import sys
import numpy as np
a, b, c = (np.loadtxt(p, ndmin=2) for p in sys.argv[1:])
assert a.shape == b.shape == c.shape == (4, a.shape[1]), (a.shape, b.shape, c.shape)
d = max(np.abs(a - b).max(), np.abs(a - c).max())
print("largest difference", d)
sys.exit(0 if d < 1e-5 else 1)
EOF
    # Unnormalised vectors are the normalised ones times their norm.
    "$tern" embed -m "$model" -p "${texts[0]}" --no-normalize -o tsv > "$work/raw.tsv" 2> /dev/null
    /usr/bin/python3 -c "
import sys, numpy as np
raw = np.loadtxt('$work/raw.tsv'); unit = np.loadtxt('$work/single.tsv', ndmin=2)[0]
n = np.linalg.norm(raw)
sys.exit(0 if n > 0 and abs(n - 1) > 1e-3 and np.abs(raw / n - unit).max() < 1e-6 else 1)" &&
        ok "$layout: --no-normalize" || bad "$layout: --no-normalize"
done

"$tern" info -m "$work/qwen3.gguf" > "$work/info.log" 2>&1
grep -q "embedding model: 256 floats per text, last pooling (EOS appended" "$work/info.log" &&
    grep -q "head size 96" "$work/info.log" && grep -q "per-projection input norms, QK head norms" "$work/info.log" &&
    ok "info qwen3" || { bad "info qwen3"; cat "$work/info.log"; }
"$tern" info -m "$work/gemma3.gguf" > "$work/info.log" 2>&1
grep -q "embedding model: 384 floats per text, mean pooling" "$work/info.log" &&
    grep -q "a window of 5 positions (RoPE base 10000) except every 6th layer" "$work/info.log" &&
    grep -q "activation: gelu" "$work/info.log" && ok "info gemma3" || { bad "info gemma3"; cat "$work/info.log"; }

# tern's own writer: the embedding shapes and options.
"$tern" gen-model --arch qwen3 --type i2_s --n-embd 256 --n-head 4 --n-head-kv 2 --head-dim 96 \
    --n-ff 640 --n-layer 2 --n-vocab 512 -o "$work/gen-qwen3.gguf" > /dev/null 2>&1 &&
    "$tern" embed -m "$work/gen-qwen3.gguf" -p "hello" -o tsv 2> /dev/null | awk '{exit NF == 256 ? 0 : 1}' &&
    ok "gen-model --arch qwen3" || bad "gen-model --arch qwen3"
"$tern" gen-model --arch gemma3 --type tq2_0 --n-embd 256 --n-head 2 --n-head-kv 1 --head-dim 128 \
    --n-ff 512 --n-layer 7 --swa 4 --pooling cls -o "$work/gen-gemma3.gguf" > /dev/null 2>&1 &&
    "$tern" info -m "$work/gen-gemma3.gguf" > "$work/info.log" 2>&1 && grep -q "cls pooling" "$work/info.log" &&
    ok "gen-model --arch gemma3" ||
    bad "gen-model --arch gemma3"

expect_error "run on an embedding model" "is an embedding model" run -m "$work/qwen3.gguf" -p hi -n 2
"$tern" gen-model --preset tiny -o "$work/tiny.gguf" > /dev/null 2>&1
expect_error "embed on a generative model" "is not an embedding model" embed -m "$work/tiny.gguf" -p hi
"$tern" embed -m "$work/tiny.gguf" -p hi --pooling mean -o tsv > /dev/null 2>&1 &&
    ok "embed a generative model with --pooling" || bad "embed a generative model with --pooling"
expect_error "text longer than the context" "more than the context of 8" embed -m "$work/qwen3.gguf" -c 8 -p "${texts[3]}"
"$tern" embed -m "$work/qwen3.gguf" -c 8 --truncate -p "${texts[3]}" -o tsv > /dev/null 2>&1 &&
    ok "--truncate" || bad "--truncate"
expect_error "no text" "give one of -p TEXT or -f FILE" embed -m "$work/qwen3.gguf"
: > "$work/empty.txt"
expect_error "empty file" "no texts" embed -m "$work/qwen3.gguf" -f "$work/empty.txt"

echo "$passed passed, $fail failed"
((fail == 0))
