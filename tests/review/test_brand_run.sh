#!/usr/bin/env bash
# The brand layer through a render (docs/brand.md), with the test-only decode stand-in
# SF_TEST_DECODE_COUNTER=1 (every model frame a flat colour): one 3 s shot delivered as a :04 in
# en and zh, FFV1, 24 fps, with an en/zh super from 0.5 s to 2 s, a logo and a 1 s end card
# (so the shot covers the 4 s spot's first 3 s only). Checked frame by frame (framemd5):
# - the en and zh files differ exactly on the super's frames (12..47) and nowhere else;
# - the end card is exactly the last 24 frames: all the same picture, frame 71 is not;
# - deliverables.json records the layer (texts per language, end card's first frame); QC finds
#   no freeze (the still end card is intended) and checked each language's file; the review
#   copies exist; the timeline (OTIO and EDL) ends the shot where the card starts, then the card;
# - a changed zh super re-assembles (new _v2 files, the shots reused), an unchanged one does not.
. "$(dirname "$0")/../render/common.sh"
export SF_TEST_DECODE_COUNTER=1 SF_THREADS=1
ffmpeg -v error -f lavfi -i color=white:s=40x20 -frames:v 1 -pix_fmt rgba "$work/logo.png" &&
    ffmpeg -v error -f lavfi -i color=0x2040a0:s=64x36 -frames:v 1 "$work/card.png" ||
    { echo "FAIL: ffmpeg cannot make the test images"; exit 1; }

# campaign ZH_TEXT: writes $work/c.yaml
campaign() {
    cat >"$work/c.yaml" <<EOF
campaign: brand
seed: 5
$tiny_model_yaml
sequences:
  - id: seq
    aspect: "16:9"
    shots:
      - {id: a, prompt: "a red kite", duration: 3}
    supers:
      - {text: {en: "Own the morning", zh: "$1"}, in: 0.5, out: 2, size: 0.08}
    logo: {file: logo.png, opacity: 0.6}
    end_card: {file: card.png, duration: 1}
deliverables: {lengths: [4], languages: [en, zh], codecs: [ffv1], resolution: 360, fps: 24,
               review_copies: true}
EOF
}
go() {
    "$mpiexec" -np 1 "$sf" render "$work/c.yaml" -o "$work/run" --model "$work/model" \
        --tokenizer "$tokenizer" --cache "$work/cache" >"$work/$1.out" 2>"$work/$1.log" ||
        { rc=$?; tail -5 "$work/$1.log"; die "render ($1) exited $rc"; }
}
# md5s NAME: one line per frame of out/NAME.mkv, its picture's md5
md5s() { ffmpeg -nostdin -v error -i "$work/run/out/$1.mkv" -map 0:v -f framemd5 - | grep -v '^#' |
         awk -F', *' '{print $6}'; }

campaign "拥抱清晨"
go first
spot=brand_seq_16x9_4s
md5s "${spot}_en" >"$work/en.md5"
md5s "${spot}_zh" >"$work/zh.md5"
[ "$(wc -l <"$work/en.md5")" = 96 ] || die "the :04 has $(wc -l <"$work/en.md5") frames, not 96"
paste -d' ' "$work/en.md5" "$work/zh.md5" | awk '
    { same = $1 == $2; f = NR - 1; super = f >= 12 && f < 48 }
    super && same { print "FAIL: frame " f " is the same in en and zh under the super"; bad = 1 }
    !super && !same { print "FAIL: frame " f " differs between en and zh outside the super"; bad = 1 }
    END { exit bad }' || fail=1
card=$(sed -n '73,96p' "$work/en.md5" | sort -u | wc -l)
[ "$card" = 1 ] || die "the end card's 24 frames are $card different pictures"
[ "$(sed -n 72p "$work/en.md5")" != "$(sed -n 73p "$work/en.md5")" ] ||
    die "frame 71 is already the end card"
python3 - "$work/run" <<'PY' || die "deliverables.json"
import json, os, sys
files = json.load(open(sys.argv[1] + "/out/deliverables.json"))["files"]
spots = {f["language"]: f for f in files if f["type"] == "spot" and f["current"]}
assert sorted(spots) == ["en", "zh"], spots.keys()
for lang, text in (("en", "Own the morning"), ("zh", "拥抱清晨")):
    b = spots[lang]["brand"]
    assert [s["text"] for s in b["supers"]] == [text], b
    assert b["supers"][0]["first_frame"] == 12 and b["supers"][0]["end_frame"] == 48, b
    assert b["end_card"]["first_frame"] == 72 and b["end_card"]["frames"] == 24, b
    assert b["logo"]["opacity"] == 0.6, b
    qc = spots[lang]["qc"]
    assert not qc["freeze"], qc  # the end card is a still the campaign intends
# each language's picture is its own: QC decoded every file, not one per codec
rec = json.load(open(sys.argv[1] + "/out/.units/seq.16x9.4s.qc.json"))
assert all(r["decoded"] == r["path"] for r in rec["results"]), rec["results"]
PY
ls "$work"/run/out/review/*_zh_review.mp4 >/dev/null 2>&1 || die "no zh review copy"
# the timeline: the shot up to the end card, then the card as a still clip (OTIO and EDL)
"${SF_BINARY_DIR:?}/pyenv/bin/python" - "$work/run/out/timelines/${spot}" <<'PY' || die "timeline"
import sys
import opentimelineio as otio
for path, kw in ((sys.argv[1] + ".otio", {}), (sys.argv[1] + ".edl", {"rate": 24})):
    track = otio.adapters.read_from_file(path, **kw).tracks[0]
    clips = list(track)
    got = [(c.range_in_parent().start_time.value, c.range_in_parent().duration.value) for c in clips]
    assert got == [(0, 72), (72, 24)], (path, got)
    assert "card.png" in clips[1].name or clips[1].media_reference.target_url.endswith("card.png"), path
PY

go same # nothing changed: nothing re-assembled
grep -q "12 units finished earlier and kept" "$work/same.log" ||
    die "an unchanged brand layer did not resume: $(grep started "$work/same.log")"
campaign "今天属于你"
go changed
python3 - "$work/run" <<'PY' || die "a changed super did not re-assemble"
import json, sys
files = json.load(open(sys.argv[1] + "/out/deliverables.json"))["files"]
cur = {f["language"]: f for f in files if f["type"] == "spot" and f["current"]}
assert cur["zh"]["version"] == 2 and cur["zh"]["brand"]["supers"][0]["text"] == "今天属于你", cur
PY
grep -q "denoise: started\|decode: started\|master: started" "$work/changed.log" &&
    die "a changed super rendered the shot again"
grep -q "assemble (2 languages): started" "$work/changed.log" || die "no assembly after the change"
[ $fail = 0 ] && echo "brand_run: ok"
exit $fail
