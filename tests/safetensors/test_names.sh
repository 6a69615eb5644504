#!/usr/bin/env bash
# `mkmodel --list` against the state_dict() names and shapes of diffusers' WanTransformer3DModel
# and the official WanModel (tests/fixtures/names, scripts/golden/dit_names.py) for tiny, 1.3B and
# 14B, name by name and shape by shape; then the tiny model's written files, read back through
# `inspect --json`, against the same lists. Also the CLI's refusals: one line, non-zero exit.
set -u
sf=${SF_SHOTFARM:?}
fix=${SF_SOURCE_DIR:?}/tests/fixtures/names
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for cfg in tiny wan2.1-t2v-1.3b wan2.1-t2v-14b; do
    for layout in diffusers official; do
        "$sf" mkmodel --config $cfg --layout $layout --component dit --list | cut -f1,2 | sort > "$work/got"
        sort "$fix/$cfg.$layout.txt" > "$work/want"
        if ! diff "$work/want" "$work/got" > "$work/diff"; then
            echo "FAIL: mkmodel --list --config $cfg --layout $layout differs from $fix/$cfg.$layout.txt:"
            head -20 "$work/diff"
            fail=1
        fi
    done
done
# written files: every name and shape, in both layouts and every dtype
for layout in diffusers official; do
    for dtype in bf16 fp16 fp32; do
        out="$work/tiny-$layout-$dtype"
        "$sf" mkmodel --layout $layout --dtype $dtype --component dit -o "$out" 2>/dev/null || { echo "FAIL: mkmodel $layout $dtype"; fail=1; continue; }
        "$sf" inspect --json "$out" > "$work/inspect.json" || { echo "FAIL: inspect $out"; fail=1; continue; }
        python3 - "$work/inspect.json" "$dtype" > "$work/got" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
want = {"bf16": "BF16", "fp16": "F16", "fp32": "F32"}[sys.argv[2]]
assert d["dit"]["config"]["name"] == "tiny", d["dit"]["config"]
for t in d["tensors"]:
    assert t["dtype"] == want, t
    print("%s\t%s" % (t["name"], ",".join(str(x) for x in t["shape"])))
PY
        sort -o "$work/got" "$work/got"
        sort "$fix/tiny.$layout.txt" > "$work/want"
        diff -q "$work/want" "$work/got" >/dev/null || { echo "FAIL: written tiny $layout $dtype differs from the reference list"; diff "$work/want" "$work/got" | head; fail=1; }
    done
done
# pipeline form
SF_THREADS=1 "$sf" mkmodel -o "$work/pipe" 2>/dev/null
for f in model_index.json transformer/config.json transformer/diffusion_pytorch_model.safetensors; do
    [ -f "$work/pipe/$f" ] || { echo "FAIL: pipeline lacks $f"; fail=1; }
done
"$sf" inspect --summary "$work/pipe" | grep -q "^kind: *diffusers pipeline" || { echo "FAIL: inspect pipeline kind"; fail=1; }
# reproducible: same seed, same bytes (whatever the thread count); another seed, other bytes
SF_THREADS=3 "$sf" mkmodel --component dit -o "$work/again" 2>/dev/null
cmp -s "$work/pipe/transformer/diffusion_pytorch_model.safetensors" "$work/again/diffusion_pytorch_model.safetensors" || { echo "FAIL: same seed, different bytes"; fail=1; }
"$sf" mkmodel --component dit --seed 9 -o "$work/deeper/seed9" 2>/dev/null
[ -f "$work/deeper/seed9/config.json" ] || { echo "FAIL: -o with missing parents"; fail=1; }
cmp -s "$work/again/diffusion_pytorch_model.safetensors" "$work/deeper/seed9/diffusion_pytorch_model.safetensors" && { echo "FAIL: seed ignored"; fail=1; }
# custom sizes
"$sf" mkmodel --dim 96 --heads 3 --layers 1 --ffn-dim 64 --text-dim 16 --component dit -o "$work/custom" 2>/dev/null
"$sf" inspect --json "$work/custom" | python3 -c 'import json,sys; c=json.load(sys.stdin)["dit"]["config"]; assert (c["dim"],c["n_heads"],c["n_layers"],c["ffn_dim"],c["text_dim"])==(96,3,1,64,16), c' || { echo "FAIL: custom config"; fail=1; }
# refusals: exit status and one line on stderr naming the file
err=$("$sf" mkmodel --dim 100 --heads 3 --list 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -q "^shotfarm mkmodel: config custom: dim 100 is not divisible by 3 heads" <<<"$err" || { echo "FAIL: bad dims: rc $rc: $err"; fail=1; }
err=$("$sf" mkmodel --layout comfy --list 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] || { echo "FAIL: bad layout rc $rc"; fail=1; }
printf 'PK\003\004' > "$work/dit.pth"
err=$("$sf" inspect "$work/dit.pth" 2>&1 >/dev/null); rc=$?
[ $rc != 0 ] && [ $(wc -l <<<"$err") = 1 ] && grep -q "dit.pth: is a PyTorch pickle" <<<"$err" || { echo "FAIL: pickle: rc $rc: $err"; fail=1; }
head -c 100 "$work/pipe/transformer/diffusion_pytorch_model.safetensors" > "$work/trunc.safetensors"
err=$("$sf" inspect "$work/trunc.safetensors" 2>&1 >/dev/null); rc=$?
[ $rc != 0 ] && [ $(wc -l <<<"$err") = 1 ] && grep -q "trunc.safetensors: truncated" <<<"$err" || { echo "FAIL: truncated: rc $rc: $err"; fail=1; }
sed -i 's/"ffn_dim": 256/"ffn_dim": 512/' "$work/pipe/transformer/config.json"
err=$("$sf" inspect "$work/pipe" 2>&1 >/dev/null); rc=$?
[ $rc != 0 ] && [ $(wc -l <<<"$err") = 1 ] && grep -q "ffn.net.0.proj.weight' has shape \[256, 128\] but .*expects \[512, 128\]" <<<"$err" || { echo "FAIL: config mismatch: rc $rc: $err"; fail=1; }
[ "$fail" = 0 ] && echo "st_names_golden: ok"
exit $fail
