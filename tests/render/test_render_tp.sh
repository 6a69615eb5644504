#!/usr/bin/env bash
# Tensor parallel in render (docs/render.md § Tensor parallel): the test campaign at tp 2 gives
# the same decoded frames (ffmpeg -f framemd5) and the same latent and shot bytes with -np 2
# (one group) and -np 4 (two groups); its final latents agree with the tp 1 run's within
# 1e-5·max|ref| (tp changes the reduction order, so tp 1 and 2 are different determinism
# domains; measured 3.6e-7); groups, not ranks, are the workers; the campaign's model.tp is
# used when --tp is not given, and --tp overrides it; a tp that does not split the model is
# refused with one line (exit 2); a unit failing in a group is reported while the others finish.
. "$(dirname "$0")/common.sh"
sed 's/^  tp: 1$/  tp: 2/' "$campaign" >"$work/campaign-tp2.yaml"
grep -q '^  tp: 2$' "$work/campaign-tp2.yaml" || die "could not make the tp 2 campaign"
SF_THREADS=1 render tp1 1 --cache "$work/c1" || { cat "$work/tp1.log"; die "tp 1"; }
SF_THREADS=1 render tp2-np2 2 --tp 2 --cache "$work/c2" || { cat "$work/tp2-np2.log"; die "tp 2 np 2"; }
# the campaign says tp 2 and --tp is not given
campaign=$work/campaign-tp2.yaml
SF_THREADS=1 render tp2-np4 4 --cache "$work/c3" || { cat "$work/tp2-np4.log"; die "tp 2 np 4"; }
ref=$(frames tp2-np2)
[ "$(grep -c '\.take1\.' <<<"$ref")" = 3 ] || die "tp 2 np 2 made $(grep -c '\.take1\.' <<<"$ref") shot files, want 3: $ref"
[ "$(frames tp2-np4)" = "$ref" ] || { die "tp 2: np 4 frames differ from np 2"; diff <(echo "$ref") <(frames tp2-np4); }
for f in "$work"/tp2-np2/shots/*.mkv "$work"/tp2-np2/latents/*.h5; do
    rel=${f#"$work"/tp2-np2/}
    cmp -s "$f" "$work/tp2-np4/$rel" || die "tp 2: np 4's $rel differs from np 2's"
done
# tp 1 and tp 2 latents: the same within 1e-5·max|ref| (worst element printed)
for f in "$work"/tp1/latents/*.h5; do
    b=$(basename "$f")
    h5dump -d /latent -b LE -o "$work/ref.bin" "$f" >/dev/null &&
        h5dump -d /latent -b LE -o "$work/got.bin" "$work/tp2-np2/latents/$b" >/dev/null ||
        { die "h5dump $b"; continue; }
    python3 "$src/tests/render/latent_close.py" "$work/ref.bin" "$work/got.bin" "$b: tp 2 vs tp 1" 1e-5 ||
        die "$b: tp 2 latent not within tolerance of tp 1"
done
# the DiT really ran sharded: tp 2 sums in another order, so its bits are not tp 1's
differ=0
for f in "$work"/tp1/latents/*.h5; do
    cmp -s "$f" "$work/tp2-np2/latents/$(basename "$f")" || differ=1
done
[ $differ = 1 ] || die "tp 2 latents are bit-identical to tp 1: was the DiT sharded?"
# two groups of two ran units; only leaders (ranks 0 and 2) reported; the manifest says tp 2
python3 - "$work/tp2-np4/events.jsonl" "$work/tp2-np4/manifest.json" "$work/tp2-np2/manifest.json" <<'PY' || die "events / manifest of the tp 2 runs"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
cpu = ("sound", "assemble", "master", "timeline", "qc", "contact")  # CPU units: on a lane, never a group
started = [e for e in ev if e["event"] == "started" and e["kind"] not in cpu]
assert {e["group"] for e in started} == {0, 1}, started
assert all("lane" in e for e in ev if e["event"] == "started" and e["kind"] in cpu)
assert {e["rank"] for e in ev if "rank" in e} <= {0, 2}, {e["rank"] for e in ev if "rank" in e}
for path, ranks in ((sys.argv[2], 4), (sys.argv[3], 2)):
    m = json.load(open(path))
    assert m["determinism_domain"]["tp"] == 2, m["determinism_domain"]
    assert m["world"] == {"ranks": ranks, "nodes": 1, "tp": 2, "groups": ranks // 2}, m["world"]
PY
# a failing unit in a group: alpha/two's latent path is blocked, so the leader fails to write
# it after the sharded passes while its partner finished; the failure is reported with the path,
# the other shots finish, and every rank stops (no hang)
mkdir -p "$work/blocked/latents/alpha.two.take1.16x9.h5/x"
SF_THREADS=1 render blocked 2 --tp 2 --cache "$work/c2"
rc=$?
[ $rc = 1 ] || die "tp 2 with a blocked latent: exit $rc, want 1"
[ -s "$work/blocked/shots/alpha.one.take1.16x9.mkv" ] && [ -s "$work/blocked/shots/beta.three.take1.1x1.mkv" ] \
    || die "tp 2 with a blocked latent: the other shots were not decoded"
st=$("$sf" status "$work/blocked" --json)
python3 -c 'import json,sys; s={x["shot"]: x for x in json.loads(sys.argv[1])["shots"]}
assert s["alpha/two"]["state"] == "failed" and "alpha.two.take1.16x9.h5" in s["alpha/two"]["error"], s
assert s["alpha/one"]["state"] == "done" and s["beta/three"]["state"] == "done", s' "$st" \
    || die "status after a blocked latent at tp 2: $st"
# a degree the tiny DiT's 4 heads cannot take: one line, exit 2, nothing rendered
campaign=$src/tests/render/campaign.yaml
SF_THREADS=1 render tp3 3 --tp 3 --cache "$work/c1"
rc=$?
[ $rc = 2 ] || die "--tp 3: exit $rc, want 2"
n=$(grep -c "error:" "$work/tp3.log")
[ "$n" = 1 ] && grep -q "does not divide the 4 attention heads of .*; valid degrees: 1 2 4" "$work/tp3.log" \
    || { cat "$work/tp3.log"; die "--tp 3: want one line naming the heads and the valid degrees"; }
[ ! -e "$work/tp3/shots" ] || die "--tp 3 rendered shots"
[ "$fail" = 0 ] && echo "render_tp: ok (3 shots identical at tp 2 over np 2 and 4; latents within 1e-5 of tp 1)"
exit $fail
