#!/usr/bin/env bash
# Identity across shots (issue 22; docs/render.md § Identity bank): the identity test campaign on
# a tiny Wan2.1-VACE pipeline.
#  1. -np 2 renders it with no unit skipped: the bank units run, every shot file exists, and
#     alpha/tail's denoise (it continues alpha/shoe) starts only after alpha/shoe's decode;
#  2. -np 1 with a cache of its own gives the same bytes in every shot file and latent;
#  3. one of the shoe's reference images, the coach's reference clip and beta/key's key art (its
#     first_frame) are replaced (new files from ffmpeg) and the run directory relaunched:
#     exactly the bank's shoe and coach units and the denoise, decode and master units of the
#     two shots showing the shoe, of alpha/tail, which continues one of them, of beta/coach
#     (one of its four references is the clip's first sample) and of beta/key run again; their
#     shot files change, alpha/street's is byte-identical.
. "$(dirname "$0")/common.sh"
vrender a2 2 "$campaign" --cache "$work/c1" || { tail -5 "$work/a2.log"; die "np 2 render"; }
vrender a1 1 "$campaign" --cache "$work/c2" || { tail -5 "$work/a1.log"; die "np 1 render"; }
[ "$fail" = 0 ] || exit 1
python3 "$src/tests/identity/check_events.py" "$work/a2/events.jsonl" \
    "identity runner (2 refs),identity shoe (3 refs),identity coach (4 refs)" \
    "alpha/shoe take 1 16:9 decode" "alpha/tail take 1 16:9 denoise" || die "np 2 events"
ref=$(shotsum a2)
[ "$(wc -l <<<"$ref")" = 6 ] || die "np 2 made $(wc -l <<<"$ref") shot files, want 6"
[ "$(shotsum a1)" = "$ref" ] || { die "np 1 and np 2 shot files differ"; diff <(echo "$ref") <(shotsum a1); }
for f in "$work"/a2/latents/*.h5; do
    cmp -s "$f" "$work/a1/latents/$(basename "$f")" || die "latent $(basename "$f"): np 1 and 2 differ"
done
for e in runner shoe coach; do
    "$sf" status "$work/a2" | grep -q "^identity bank ($e) *done" || die "status has no done bank row for $e"
done

# 3. a new picture for the shoe's second reference, a new clip for the coach and new key art for
#    beta/key, then the same run directory again
ffmpeg -hide_banner -loglevel error -y -f lavfi \
    -i "color=c=0x20c040:s=48x64,drawbox=x=8:y=8:w=32:h=24:color=0xff2020:t=fill" \
    -frames:v 1 -pix_fmt rgb24 "$work/camp/refs/shoe-2.png" || die "ffmpeg"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=s=96x64" -frames:v 1 -pix_fmt rgb24 \
    "$work/camp/refs/key.png" || die "ffmpeg"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=s=64x64:r=8:d=4" -c:v libx264 \
    -pix_fmt yuv420p "$work/camp/refs/coach-clip.mp4" || die "ffmpeg"
vrender a2 2 "$campaign" --cache "$work/c1" || { tail -5 "$work/a2.log"; die "relaunch after the new reference"; }
# relaunched BANK SHOT...: the last launch ran the bank units BANK (comma-separated, may be
# empty) and the denoise, decode and master units of exactly the SHOTs (at their sequence's
# aspect), and assembled only their sequences
relaunched() {
    python3 - "$work/a2/events.jsonl" "$1" "${@:2}" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
bank = [b for b in sys.argv[2].split(",") if b]
shots = sys.argv[3:]
aspect = lambda s: "16:9" if s.startswith("alpha/") else "9:16"
last = max(e.get("attempt", 0) for e in ev if e["event"] == "run")
start = max(i for i, e in enumerate(ev) if e["event"] == "run" and e["attempt"] == last)
done = [e for e in ev[start:] if e["event"] == "finished"]
ran = sorted(e["unit"] for e in done if e["kind"] in ("identity", "denoise", "decode", "master"))
want = sorted(bank + [f"{s} take 1 {aspect(s)} {k}" for s in shots for k in ("denoise", "decode", "master")])
assert ran == want, f"relaunch ran {ran}, want {want}"
seqs = {s.split("/")[0] for s in shots}
assert all(e["unit"].split(" ")[0] in seqs for e in done if e["kind"] == "assemble"), done
PY
}
# changed BEFORE AFTER SHOT...: SHOTs differ between the two shotsum listings, all others equal
changed() {
    local before=$1 after=$2 shot
    shift 2
    for shot in alpha.run alpha.street alpha.shoe alpha.tail beta.coach beta.key; do
        if [[ " $* " == *" $shot "* ]]; then
            [ "$(grep "^$shot\." <<<"$before")" != "$(grep "^$shot\." <<<"$after")" ] || die "$shot did not change"
        else
            [ "$(grep "^$shot\." <<<"$before")" = "$(grep "^$shot\." <<<"$after")" ] || die "$shot changed"
        fi
    done
}
relaunched "identity shoe (3 refs),identity coach (4 refs)" alpha/run alpha/shoe alpha/tail \
    beta/coach beta/key || die "the relaunch after the new reference, clip and key art ran other units"
changed "$ref" "$(shotsum a2)" alpha.run alpha.shoe alpha.tail beta.coach beta.key
[ "$fail" = 0 ] && echo "identity_refs: ok (np 1 = np 2 with references, key art and a continuation; a new shoe reference, coach clip and key art re-rendered exactly alpha/run, alpha/shoe, alpha/tail (continues alpha/shoe), beta/coach and beta/key)"
exit $fail
