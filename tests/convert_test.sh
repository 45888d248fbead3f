#!/usr/bin/env bash
# tern convert against an independent writer (hf_checkpoint_writer.py, numpy):
# each Hugging Face layout (BitNet packed, BitNet BF16 master weights, sharded
# ternary Llama) converts to I2_S, TQ2_0 and TQ1_0, loads, and its logits after
# eight tokens agree with a numpy forward pass of the original checkpoint
# (correlation >= 0.999, same argmax). Then what it must refuse, with the file,
# key or tensor named and no output left behind. Exit 77 (skipped) without numpy.
#   convert_test.sh <tern> <source dir> <work dir>
set -euo pipefail
tern=$1 src=$2 work=$3
py=/usr/bin/python3
if ! $py -c 'import numpy' 2> /dev/null; then
    echo "SKIP: $py has no numpy (scripts/setup.sh installs python3-numpy)"
    exit 77
fi
writer=$src/tests/hf_checkpoint_writer.py
rm -rf "$work" && mkdir -p "$work"
tokens="256 10 200 33 45 7 99 120"

for layout in bitnet-packed bitnet-bf16 llama-sharded; do
    $py "$writer" write $layout "$work/$layout"
    for type in i2_s tq2_0 tq1_0; do
        out=$work/$layout-$type.gguf
        "$tern" convert "$work/$layout" --type $type -o "$out" > "$work/log" 2>&1 ||
            { cat "$work/log"; exit 1; }
        "$tern" eval -m "$out" --tokens "$tokens" --lm-head file --cache-type f32 > "$work/eval.json"
        echo -n "$layout $type: "
        $py "$writer" compare "$work/$layout" "$tokens" "$work/eval.json"
    done
done
# The converted file names what it is.
"$tern" info -m "$work/llama-sharded-i2_s.gguf" | grep -q "architecture llama"
"$tern" info -m "$work/bitnet-packed-i2_s.gguf" | grep -q "architecture bitnet-25"

# Refusals: exit non-zero, say what and where, leave no file.
refuse() {  # refuse <expected message part> <dir> [args...]
    local want=$1 dir=$2
    shift 2
    rm -f "$work/refused.gguf"
    if "$tern" convert "$dir" -o "$work/refused.gguf" "$@" > "$work/log" 2>&1; then
        echo "FAIL: converting $dir should fail with '$want'"
        exit 1
    fi
    grep -qF -- "$want" "$work/log" || {
        echo "FAIL: expected '$want' in:"
        cat "$work/log"
        exit 1
    }
    [[ ! -e $work/refused.gguf && ! -e $work/refused.gguf.tmp ]] || {
        echo "FAIL: a refused conversion left a file"
        exit 1
    }
}
bad=$work/bad
cp -r "$work/bitnet-packed" "$bad"
sed -i 's/"BitNetForCausalLM"/"MistralForCausalLM"/' "$bad/config.json"
refuse "supported: BitNetForCausalLM, LlamaForCausalLM" "$bad"
cp "$work/bitnet-packed/config.json" "$bad/config.json"
# A packed byte of all ones holds the code 3 four times: not ternary.
$py - "$bad/model.safetensors" << 'PY'
import json, struct, sys
path = sys.argv[1]
raw = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
start = 8 + n + h["model.layers.1.mlp.up_proj.weight"]["data_offsets"][0]
raw[start + 5] = 0xFF
open(path, "wb").write(raw)
PY
refuse "tensor 'model.layers.1.mlp.up_proj.weight' row 0 column 5 holds the 2-bit code 3" "$bad"
head -c 100000 "$work/bitnet-packed/model.safetensors" > "$bad/model.safetensors"
refuse "(truncated file?)" "$bad"
rm "$bad/model.safetensors"
refuse "no model.safetensors or model.safetensors.index.json" "$bad"
cp "$work/bitnet-packed/model.safetensors" "$bad/"
sed -i 's/"hidden_size": 256/"hidden_size": 320/' "$bad/config.json"
refuse "hidden_size 320 is not a multiple of 128, the I2_S block" "$bad"
sed -i 's/"hidden_size": 320/"hidden_size": 256/; s/"intermediate_size": 512/"intermediate_size": 768/' "$bad/config.json"
refuse "expected [192, 256]" "$bad"
refuse "give the Hugging Face model directory" ""
echo "convert: all layouts agree with numpy; refusals named"
