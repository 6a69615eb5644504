#!/usr/bin/env bash
# Failing units (docs/render.md § Failures): a unit that fails is reported with its cause in
# events.jsonl, `shotfarm status` and the log, the other shots finish, and render exits 1.
#  1. one shot's output is blocked (a directory where its shot file goes): that shot fails with
#     the path, the other two are decoded;
#  2. the VAE's weights are truncated: every decode fails naming the file, every denoise still
#     finishes (its latent is kept for a later re-decode);
#  3. the text encoder's weights are truncated: its units fail and every shot reports the cause.
. "$(dirname "$0")/common.sh"
mkdir -p "$work/blocked/shots/alpha.two.take1.16x9.mkv/x"
SF_THREADS=1 render blocked 2 --cache "$work/c"
rc=$?
[ $rc = 1 ] || die "blocked output: exit $rc, want 1"
[ -s "$work/blocked/shots/alpha.one.take1.16x9.mkv" ] || die "alpha/one was not decoded"
[ -s "$work/blocked/shots/beta.three.take1.1x1.mkv" ] || die "beta/three was not decoded"
st=$("$sf" status "$work/blocked" --json)
python3 -c 'import json,sys; s={x["shot"]: x for x in json.loads(sys.argv[1])["shots"]}
assert s["alpha/two"]["state"] == "failed" and "alpha.two.take1.16x9.mkv" in s["alpha/two"]["error"], s
assert s["alpha/one"]["state"] == "done" and s["beta/three"]["state"] == "done", s' "$st" \
    || die "status after a blocked output: $st"
grep -q "alpha/two take 1 16:9 decode failed" "$work/blocked.log" || die "no failure line in the log"
txt=$("$sf" status "$work/blocked")
grep -q "^alpha/two .*failed" <<<"$txt" || die "status text: $txt"

cp -r "$work/model" "$work/badvae"
w="$work/badvae/vae/diffusion_pytorch_model.safetensors"
head -c 1000 "$w" >"$w.cut" && mv "$w.cut" "$w"
"$mpiexec" -np 2 "$sf" render "$campaign" -o "$work/novae" --model "$work/badvae" \
    --tokenizer "$tokenizer" --cache "$work/c" >"$work/novae.out" 2>"$work/novae.log"
rc=$?
[ $rc = 1 ] || die "truncated VAE: exit $rc, want 1"
[ "$(ls "$work/novae/latents/"*.h5 | wc -l)" = 3 ] || die "denoise units did not all finish"
python3 - "$work/novae/events.jsonl" <<'PY' || die "events after a truncated VAE"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
cpu = ("assemble", "master", "timeline", "qc", "contact")  # the CPU units after the decodes
failed = [e for e in ev if e["event"] == "failed" and e["kind"] not in cpu]
assert len(failed) == 3 and all(e["kind"] == "decode" for e in failed), failed
# every assembly and shot master needs a decoded shot: not run, each naming its cause
asm = [e for e in ev if e["event"] == "failed" and e["kind"] in cpu]
assert asm and all(e["error"].startswith("not run: ") for e in asm), asm
assert all("vae/diffusion_pytorch_model.safetensors" in e["error"] for e in failed), failed
assert all("rank" in e and "host" in e and "group" in e for e in failed), failed
assert sum(e["event"] == "finished" and e["kind"] == "denoise" for e in ev) == 3
PY
# 3. a broken text encoder: its units fail, and the units that need them are not run, each
#    naming the failed unit and its cause
cp -r "$work/model" "$work/badtext"
w="$work/badtext/text_encoder/model.safetensors"
head -c 1000 "$w" >"$w.cut" && mv "$w.cut" "$w"
"$sf" render "$campaign" -o "$work/notext" --model "$work/badtext" --tokenizer "$tokenizer" \
    --cache "$work/c3" >/dev/null 2>"$work/notext.log"
rc=$?
[ $rc = 1 ] || die "broken text encoder: exit $rc, want 1"
st=$("$sf" status "$work/notext" --json)
python3 -c 'import json,sys; s=json.loads(sys.argv[1])["shots"]
assert len(s) == 3 and all(x["state"] == "failed" for x in s), s
assert all("not run" in x["error"] and "text_encoder/model.safetensors" in x["error"] for x in s), s' \
    "$st" || die "status after a broken text encoder: $st"

# 4. a text encoder whose width does not fit the DiT: the denoise units say so and name the file
cp -r "$work/model" "$work/mismatch"
rm -rf "$work/mismatch/text_encoder"
"$sf" mkmodel --config tiny --text-dim 32 --dtype fp32 --component text \
    -o "$work/mismatch/text_encoder" 2>/dev/null || die "mkmodel text 32"
"$sf" render "$campaign" -o "$work/mism" --model "$work/mismatch" --tokenizer "$tokenizer" \
    --cache "$work/c4" >/dev/null 2>"$work/mism.log"
[ $? = 1 ] || die "mismatched text_dim: exit not 1"
grep -q "disagree on text_dim" "$work/mism.log" || die "mismatched text_dim: $(grep error "$work/mism.log" | head -3)"

# usage errors: one line, exit 2, before any unit runs (tp 2 needs ranks in pairs)
err=$("$sf" render "$campaign" -o "$work/x" --model "$work/model" --tp 2 2>&1 >/dev/null)
[ $? = 2 ] && grep -q "1 ranks, not a multiple of --tp 2" <<<"$err" || die "--tp 2 on 1 rank: $err"
err=$("$sf" render "$campaign" -o "$work/x" 2>&1 >/dev/null)
[ $? = 2 ] && grep -q "pass --model DIR" <<<"$err" || die "no model: $err"
err=$("$sf" render "$campaign" --model "$work/model" 2>&1 >/dev/null)
[ $? = 2 ] || die "no -o: $err"
"$sf" render --help | grep -q "^usage: \[mpirun" || die "render --help"
err=$("$sf" status "$work/nothing-here" 2>&1 >/dev/null)
[ $? = 1 ] && grep -q "manifest.json" <<<"$err" || die "status of a missing run: $err"
[ "$fail" = 0 ] && echo "render_failures: ok"
exit $fail
