#!/usr/bin/env bash
# What tern's faster settings cost in quality, on a trained model: perplexity of a
# text and KL divergence from the most exact run (2-bit weights, the file's LM
# head, F32 KV cache), for each stored weight form, LM head and cache type.
# Prints a Markdown table (the README's).
#   bench/quality_table.sh [MODEL.gguf] [TEXT] [extra tern perplexity flags]
# Defaults: the converted trained model and its held-out text.
set -euo pipefail
cd "$(dirname "$0")/.."
tern=${TERN:-build/runtime/tern}
model=build/models/tiny-sotu.gguf text=models/bitnet-tiny-sotu/heldout.txt
if [[ $# -gt 0 && $1 != -* ]]; then model=$1 && shift; fi
if [[ $# -gt 0 && $1 != -* ]]; then text=$1 && shift; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { "$tern" perplexity -m "$model" -f "$text" "$@" 2> /dev/null; }
ppl_of() { sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 ± \2/p'; }
base=$(run --weights 2 --lm-head file --cache-type f32 --kl-divergence-base "$work/base.kld" "$@")
echo "model: $model; text: $text; $(echo "$base" | head -1 | sed 's/^perplexity: //')"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo
echo "| weights | LM head | KV cache | perplexity | PPL / base | mean KL divergence | same top-1 | tokens/s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for weights in 2 1.6; do
    for head in file int8 int4; do
        for cache in f32 f16; do
            out=$(run --weights $weights --lm-head $head --cache-type $cache \
                --kl-divergence-base "$work/base.kld" --kl-divergence "$@")
            ppl=$(echo "$out" | ppl_of)
            ratio=$(echo "$out" | sed -n 's/^Mean PPL(Q)\/PPL(base): *\([0-9.]*\).*/\1/p')
            kld=$(echo "$out" | sed -n 's/^Mean    KLD: *\([0-9.e+-]*\) +\/- \([0-9.e+-]*\).*/\1 ± \2/p')
            top=$(echo "$out" | sed -n 's/^Same top p: *\([0-9.]*\) +\/- \([0-9.]*\).*/\1 ± \2 %/p')
            tps=$(echo "$out" | sed -n 's/.* s: \([0-9.]*\) tokens\/s$/\1/p')
            name="$weights-bit"
            [[ $weights == 2 && $head == file && $cache == f32 ]] && name="2-bit (base)"
            echo "| $name | $head | $cache | $ppl | $ratio | $kld | $top | $tps |"
        done
    done
done
