#!/usr/bin/env bash
# Identity across shots (issue 22; docs/render.md § Identity bank): the identity test campaign on
# a tiny Wan2.1-VACE pipeline.
#  1. -np 2 renders it with no unit skipped: the bank units run, every shot file exists;
#  2. -np 1 with a cache of its own gives the same bytes in every shot file and latent;
#  3. one of the shoe's reference images is replaced (a new PNG from ffmpeg) and the run
#     directory relaunched: exactly the bank's shoe unit and the denoise, decode and master units
#     of the two shots showing the shoe run again (and sequence alpha's assembly); their shot
#     files change, the other two are byte-identical.
. "$(dirname "$0")/common.sh"
vrender a2 2 "$campaign" --cache "$work/c1" || { tail -5 "$work/a2.log"; die "np 2 render"; }
vrender a1 1 "$campaign" --cache "$work/c2" || { tail -5 "$work/a1.log"; die "np 1 render"; }
[ "$fail" = 0 ] || exit 1
python3 - "$work/a2/events.jsonl" <<'PY' || die "np 2 events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert not [e for e in ev if e["event"] == "skipped"], "a unit was skipped"
bank = {e["unit"] for e in ev if e["event"] == "finished" and e.get("kind") == "identity"}
assert bank == {"identity runner (2 refs)", "identity shoe (3 refs)", "identity coach (1 refs)"}, bank
PY
ref=$(shotsum a2)
[ "$(wc -l <<<"$ref")" = 4 ] || die "np 2 made $(wc -l <<<"$ref") shot files, want 4"
[ "$(shotsum a1)" = "$ref" ] || { die "np 1 and np 2 shot files differ"; diff <(echo "$ref") <(shotsum a1); }
for f in "$work"/a2/latents/*.h5; do
    cmp -s "$f" "$work/a1/latents/$(basename "$f")" || die "latent $(basename "$f"): np 1 and 2 differ"
done
"$sf" status "$work/a2" | grep -q "identity bank" || die "status has no identity bank row"

# 3. a new picture for the shoe's second reference, then the same run directory again
ffmpeg -hide_banner -loglevel error -y -f lavfi \
    -i "color=c=0x20c040:s=48x64,drawbox=x=8:y=8:w=32:h=24:color=0xff2020:t=fill" \
    -frames:v 1 -pix_fmt rgb24 "$work/camp/refs/shoe-2.png" || die "ffmpeg"
vrender a2 2 "$campaign" --cache "$work/c1" || { tail -5 "$work/a2.log"; die "relaunch after the new reference"; }
python3 - "$work/a2/events.jsonl" <<'PY' || die "the relaunch ran other units"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
last = max(e.get("attempt", 0) for e in ev if e["event"] == "run")
start = max(i for i, e in enumerate(ev) if e["event"] == "run" and e["attempt"] == last)
done = [e for e in ev[start:] if e["event"] == "finished"]
ran = sorted(e["unit"] for e in done if e["kind"] in ("identity", "denoise", "decode"))
want = sorted(["identity shoe (3 refs)", "alpha/run take 1 16:9 denoise", "alpha/run take 1 16:9 decode",
               "alpha/shoe take 1 16:9 denoise", "alpha/shoe take 1 16:9 decode"])
assert ran == want, f"relaunch ran {ran}, want {want}"
masters = sorted(e["unit"] for e in done if e["kind"] == "master")
assert masters == ["alpha/run take 1 16:9 master", "alpha/shoe take 1 16:9 master"], masters
assert all(e["unit"].startswith("alpha ") for e in done if e["kind"] == "assemble"), done
PY
got=$(shotsum a2)
for shot in alpha.run alpha.shoe; do
    [ "$(grep "^$shot\." <<<"$ref")" != "$(grep "^$shot\." <<<"$got")" ] || die "$shot did not change"
done
for shot in alpha.street beta.coach; do
    [ "$(grep "^$shot\." <<<"$ref")" = "$(grep "^$shot\." <<<"$got")" ] || die "$shot changed"
done
[ "$fail" = 0 ] && echo "identity_refs: ok (np 1 = np 2 with references; a new shoe reference re-rendered exactly alpha/run and alpha/shoe)"
exit $fail
