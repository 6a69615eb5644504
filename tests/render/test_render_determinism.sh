#!/usr/bin/env bash
# Determinism (docs/render.md § Determinism): the test campaign (two sequences, three shots,
# 64x64, 2 steps) rendered with -np 1, 2, 3, 5 at --tp 1 and with SF_THREADS=1 and 2 gives the
# same decoded frames (ffmpeg -f framemd5) and the same bytes in every final latent file and
# shot file. Each run uses its own cache so every run encodes its prompts itself.
. "$(dirname "$0")/common.sh"
SF_THREADS=1 render np1-t1 1 --cache "$work/c1" || { cat "$work/np1-t1.log"; die "np 1 threads 1"; }
SF_THREADS=2 render np1-t2 1 --cache "$work/c2" || die "np 1 threads 2"
SF_THREADS=1 render np2-t1 2 --cache "$work/c3" || die "np 2"
SF_THREADS=1 render np3-t1 3 --cache "$work/c4" || die "np 3"
SF_THREADS=1 render np5-t1 5 --cache "$work/c5" || die "np 5"
ref=$(frames np1-t1)
[ "$(grep -c '\.take1\.' <<<"$ref")" = 3 ] || die "np 1 made $(grep -c '\.take1\.' <<<"$ref") shot files, want 3: $ref"
# and the deliverables: alpha 16:9, beta 16:9 (reframed) and beta 1:1, each :03 in FFV1
[ "$(grep -c '_3s_en\.ffv1 ' <<<"$ref")" = 3 ] || die "np 1 made other deliverables: $ref"
for run in np1-t2 np2-t1 np3-t1 np5-t1; do
    got=$(frames $run)
    [ "$got" = "$ref" ] || { die "$run frames differ from np1-t1"; diff <(echo "$ref") <(echo "$got"); }
    for f in "$work"/np1-t1/shots/*.mkv "$work"/np1-t1/latents/*.h5; do
        rel=${f#"$work"/np1-t1/}
        cmp -s "$f" "$work/$run/$rel" || die "$run: $rel differs from np1-t1"
    done
done
# more than one group really ran units in the 3-rank run
groups=$(python3 -c 'import json,sys
print(len({json.loads(l).get("group") for l in open(sys.argv[1]) if "\"started\"" in l}))' "$work/np3-t1/events.jsonl")
[ "$groups" -ge 2 ] || die "np 3 ran every unit on one group ($groups)"
# the manifest records the determinism domain and hashes every input
python3 - "$work/np3-t1/manifest.json" <<'PY' || die "manifest"
import json, sys
m = json.load(open(sys.argv[1]))
d = m["determinism_domain"]
assert d["tp"] == 1 and d["cpu"][0]["simd_path"] and d["cpu"][0]["openblas_core"], d
assert "batched" in d["guidance_passes"], d
assert all(k in d["libraries"] for k in ("mpi", "hdf5", "libavcodec", "openblas")), d
paths = [i["path"] for i in m["inputs"]]
assert any(p.endswith("campaign.yaml") for p in paths) and any("vae/" in p for p in paths), paths
assert all(len(i["sha256"]) == 64 for i in m["inputs"])
assert m["world"]["ranks"] == 3 and m["world"]["groups"] == 3
PY
# the final tier (Euler, guidance 1: the conditional pass alone) agrees with itself across ranks
SF_THREADS=1 render fin1 1 --tier final --cache "$work/c1" || die "final tier np 1"
SF_THREADS=1 render fin2 2 --tier final --cache "$work/c1" || die "final tier np 2"
fin=$(frames fin1)
# 3 shots, 3 masters, 3 spots, and per edit (2) the mix, 2 stems and 2 subtitle files
[ "$(wc -l <<<"$fin")" = 19 ] && [ "$fin" = "$(frames fin2)" ] || die "final tier: np 1 and 2 differ"
[ "$fin" != "$ref" ] || die "final tier gave the draft's frames"

# a second run with a warm cache reuses the prompt encodings and gives the same frames
SF_THREADS=1 render np1-warm 1 --cache "$work/c1" || die "warm cache run"
grep -q "cached" "$work/np1-warm.log" || die "warm run did not reuse the prompt cache"
[ "$(frames np1-warm)" = "$ref" ] || die "warm-cache frames differ"
# status: every shot done, 2/2 steps
st=$("$sf" status "$work/np3-t1" --json) || die "status exit"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=d["shots"]
assert len(s)==3 and all(x["state"]=="done" and x["step"]==2 and x["steps"]==2 for x in s), s' "$st" \
    || die "status --json: $st"
[ "$fail" = 0 ] && echo "render_determinism: ok ($(wc -l <<<"$ref") shots identical over np 1,2,3,5 and threads 1,2)"
exit $fail
