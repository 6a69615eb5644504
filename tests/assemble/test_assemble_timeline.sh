#!/usr/bin/env bash
# The delivery time line (docs/deliverables.md): with the test-only decode stand-in
# (SF_TEST_DECODE_COUNTER=1: every model frame a solid colour naming its shot and frame), each
# delivery frame of a :05 cut of two 3 s shots must show the model frame the rule names, at
# 23.976, 25 and 29.97 (conform repeat), and the mix of its two neighbours with blend; exactly
# L x nominal frames; sound to the sample; timecode; names. With b continuing a, b's first 4
# frames (a's last 5 but the one a does not play) are rendered but never delivered: no frame
# plays twice at the cut, in the spot or in b's master. Then a changed selected_take
# re-assembles only that sequence, as version 2, and runs no denoise or decode.
. "$(dirname "$0")/../render/common.sh"
export SF_TEST_DECODE_COUNTER=1 SF_THREADS=1

# campaign FPS CONFORM TAKE [CUTS [B]]: writes $work/c.yaml (CUTS: seq's cuts mapping, e.g.
# '{"5": [b, a]}'; B: more of shot b, e.g. 'continues: a' with the VACE model)
campaign() {
    local cuts=${4:-"{}"} b=${5:-} config=tiny
    [ -n "$b" ] && config=tiny-vace
    cat >"$work/c.yaml" <<EOF
version: 1
campaign: timeline
seed: 3
model: {config: $config, dtype: fp32, tp: 1}
tiers:
  draft: {steps: 1, resolution: 64x64, sampler: euler, schedule: wan, shift: 3.0, guidance: 1.0}
sequences:
  - id: seq
    aspect: "16:9"
    shots:
      - {id: a, prompt: "a red kite", duration: 3, takes: 2, selected_take: $3}
      - {id: b, prompt: "a blue boat", duration: 3${b:+, $b}}
    cuts: $cuts
  - id: other
    aspect: "16:9"
    shots:
      - {id: c, prompt: "a green hill", duration: 6}
deliverables: {aspects: ["16:9"], lengths: [5], languages: [en, es], codecs: [ffv1, h264],
               resolution: 360, fps: $1, conform: $2, start_timecode: "10:00:00:00", code: TL}
EOF
}

# check RUN FPS CONFORM [TAKE [LEAD]]: every delivery frame of seq's :05 against the rule; the
# shot masters of a 3 s shot: 3 s at the rate plus the tail handle the render has. LEAD: shot b
# continues a, and its first LEAD frames (a's last, already played) are not delivered again
check() {
    local run=$1 fps=$2 conform=$3 take=${4:-1} lead=${5:-0}
    python3 - "$run" "$fps" "$conform" "$take" "$lead" <<'PY' || die "time line at $fps ($conform${5:+, b continues a})"
import json, subprocess, sys
from fractions import Fraction
run, fps, conform, take, lead_b = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
r = {"23.976": Fraction(24000, 1001), "25": Fraction(25), "29.97": Fraction(30000, 1001)}[fps]
nominal = {"23.976": 24, "25": 25, "29.97": 30}[fps]
files = json.load(open(run + "/out/deliverables.json"))["files"]
cur = {f["name"] + "." + f["codec"]: f for f in files if f["current"] and f["type"] == "spot"}
masters = {f["name"]: f for f in files if f["current"] and f["type"] == "shot master"}
assert {"timeline_seq_a_16x9_take%d" % take, "timeline_seq_b_16x9_take1",
        "timeline_other_c_16x9_take1"} <= set(masters) and len(masters) == 2 + take, sorted(masters)
names = sorted(cur)
assert set(names) == {"TL%04d_timeline_%s_16x9_5s_%s.%s" % (i + 1, s, l, c)
                   for i, s in enumerate(("seq", "other")) for l in ("en", "es") for c in ("ffv1", "h264")}, names
n = 5 * nominal
for name, f in cur.items():
    assert f["frames"] == n, f
    p = json.loads(subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams",
                                   "-of", "json", f["path"]], capture_output=True, check=True).stdout)
    v = [s for s in p["streams"] if s["codec_type"] == "video"][0]
    a = [s for s in p["streams"] if s["codec_type"] == "audio"][0]
    assert int(v["nb_read_packets"]) == n, (name, v["nb_read_packets"], n)
    assert Fraction(v["r_frame_rate"]) == r, v["r_frame_rate"]
    samples = n * 48000 * r.denominator // r.numerator
    if "duration_ts" in a:  # MP4 / MOV: the track's length (AAC's priming and padding cut)
        got = int(a["duration_ts"])
    else:  # Matroska: its DURATION tag, in nanoseconds
        h, m, sec = {k.lower(): x for k, x in a["tags"].items()}["duration"].split(":")
        got = round((int(h) * 3600 + int(m) * 60 + Fraction(sec)) * 48000)
    assert got == samples, (name, got, samples)
    tags = {k.lower(): x for k, x in v.get("tags", {}).items()}  # Matroska: TIMECODE
    tc = tags.get("timecode")
    assert tc == "10:00:00:00", (name, v.get("tags"))
# the pictures of seq's English FFV1 file: mean colour of every frame
path = cur["TL0001_timeline_seq_16x9_5s_en.ffv1"]["path"]
# decoded as Y'CbCr (no RGB conversion by ffmpeg), averaged to 8x8, then back to RGB with the
# BT.709 limited-range equations: exact to a fraction of a code value
import struct
raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vf", "scale=8:8:flags=area",
                      "-f", "rawvideo", "-pix_fmt", "yuv444p10le", "-"],
                     capture_output=True, check=True).stdout
assert len(raw) == n * 384, len(raw)
def rgb(f):
    v = struct.unpack_from("<192H", raw, f * 384)
    y, cb, cr = ((sum(v[64 * c:64 * (c + 1)]) / 64 - (64, 512, 512)[c]) / (876, 896, 896)[c]
                 for c in range(3))
    r, b = y + 1.5748 * cr, y + 1.8556 * cb
    return 255 * r, 255 * (y - 0.2126 * r - 0.0722 * b) / 0.7152
T = [0, 3000]                        # shot starts, ms
starts = [-(-16 * t // 1000) for t in T]
lead = [0, lead_b]                   # b's first model frame delivered
frames = [49, 49 + lead_b]           # 3 s -> 49 model frames; lead + 48 -> 4n + 1 (4 -> 53)
shots = {k: "%s/shots/seq.%s.take%d.16x9.mkv" % (run, s, t) for k, s, t in ((0, "a", take), (1, "b", 1))}
for k, path in shots.items():
    got = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert int(got) == frames[k], (path, got, frames[k])
bad = []
for f in range(n):
    R, G = rgb(f)
    k = 0 if G < 70 else 1           # G = 40 + 60 k
    if conform == "repeat":
        cm = -(-(f + 1) * 16 * r.denominator // r.numerator) - 1   # ceil((f+1) 16/r) - 1
        want_k = 1 if cm >= starts[1] else 0
        want_r = 5 * min(cm - starts[want_k] + lead[want_k], frames[want_k] - 1)
    else:
        p = Fraction(f * 16) / r
        cm = int(p)
        want_k = 1 if cm >= starts[1] else 0
        local = cm - starts[want_k] + lead[want_k]
        w = Fraction(int((f * 16 * r.denominator * 256) // r.numerator) % 256, 256)
        if local + 1 >= frames[want_k] or (want_k == 0 and cm + 1 >= starts[1]):
            w = 0
        want_r = float(5 * (local + w))
    if k != want_k or abs(R - want_r) > 1.5:
        bad.append((f, k, round(R, 1), want_k, float(want_r)))
assert not bad, "frames from the wrong source (frame, shot, R, want shot, want R): %s" % bad[:8]
# a continuation plays no frame twice: b's first delivered frame is its model frame lead_b
if lead_b:
    fb = min(f for f in range(n) if rgb(f)[1] >= 70)
    assert abs(rgb(fb)[0] - 5 * lead_b) <= 1.5, ("b starts at its frame", rgb(fb)[0] / 5, "want", lead_b)
for name, f in masters.items():
    body = (6 if "_c_" in name else 3) * r.numerator // r.denominator
    have = (97 if "_c_" in name else 49) * r.numerator // (16 * r.denominator)  # frames - lead
    assert f["frames"] == min(max(have, body), body + 12) and f["codec"] == "prores", (name, f)
PY
}

# render_to NAME TAG: renders $work/c.yaml into $work/NAME at -np 2; logs in $work/TAG.log
render_to() {
    "$mpiexec" -np 2 "$sf" render "$work/c.yaml" -o "$work/$1" --model "$work/model" \
        --tokenizer "$tokenizer" --cache "$work/cache" >"$work/$2.out" 2>"$work/$2.log"
    rc=$?
    [ $rc = 0 ] || tail -5 "$work/$2.log"
}

for spec in "23.976 repeat" "25 repeat" "29.97 repeat" "29.97 blend"; do
    set -- $spec
    campaign "$1" "$2" 1
    name="r${1/./}-$2"
    render_to "$name" "$name"
    [ $rc = 0 ] || { die "render at $1 ($2) exited $rc"; continue; }
    check "$work/$name" "$1" "$2"
done

# b continues a (VACE): its first 5 frames are a's last 5, of which a plays 4 (44..47 of 0..48);
# b renders 4 + 48 -> 53 frames and the spot and b's master start at its frame 4
"$sf" mkmodel --config tiny-vace --dtype fp32 --vae-dim 8 -o "$work/vace" 2>"$work/mkvace.log" ||
    die "mkmodel tiny-vace: $(tail -2 "$work/mkvace.log")"
campaign 23.976 repeat 1 "{}" "continues: a"
"$mpiexec" -np 2 "$sf" render "$work/c.yaml" -o "$work/cont" --model "$work/vace" \
    --tokenizer "$tokenizer" --cache "$work/cache" >"$work/cont.out" 2>"$work/cont.log"
rc=$?
if [ $rc = 0 ]; then check "$work/cont" 23.976 repeat 1 4; else die "render with b continuing a exited $rc: $(tail -3 "$work/cont.log")"; fi

# a changed selected_take: only seq's assembly runs again (both takes exist), as version 2
campaign 25 repeat 2
render_to r25-repeat take
[ $rc = 0 ] || die "render with selected_take 2 exited $rc"
python3 - "$work/r25-repeat" <<'PY' || die "a changed selected_take"
import json, os, sys
run = sys.argv[1]
ev = [json.loads(l) for l in open(run + "/events.jsonl")]
last = max(i for i, e in enumerate(ev) if e["event"] == "run")
ran = sorted(e["unit"] for e in ev[last:] if e["event"] == "dispatched")
# with the spot's review units (its QC and timeline) and the sequence's contact sheet
assert ran == ["seq 16:9 5s assemble (2 languages)", "seq 16:9 5s qc", "seq 16:9 5s timeline",
               "seq contact sheet", "seq/a take 2 16:9 master"], ran
files = json.load(open(run + "/out/deliverables.json"))["files"]
seq = [f for f in files if "_seq_" in f["name"] and f["type"] == "spot"]
# the master of shot a is now its take 2 (a new name, version 1); take 1's stays, not current
ma = sorted((f["name"], f["current"]) for f in files if f["type"] == "shot master" and "_seq_a_" in f["name"])
assert ma == [("timeline_seq_a_16x9_take1", True), ("timeline_seq_a_16x9_take2", True)], ma
assert sorted((f["version"], f["current"]) for f in seq) == [(1, False)] * 4 + [(2, True)] * 4, seq
assert all(os.path.exists(f["path"]) for f in seq)
assert all(f["version"] == 1 and f["current"] for f in files if "_other_" in f["name"])
assert all(f["path"].endswith("_v2.mkv") or f["path"].endswith("_v2.mp4") for f in seq if f["version"] == 2)
PY
check "$work/r25-repeat" 25 repeat 2

# a changed cuts entry: only that length's assembly runs again (version 3), no shot, no master
campaign 25 repeat 2 '{"5": [b, a]}'
render_to r25-repeat cut
[ $rc = 0 ] || die "render with a changed cut exited $rc"
python3 - "$work/r25-repeat" <<'PY' || die "a changed cuts entry"
import json, sys
run = sys.argv[1]
ev = [json.loads(l) for l in open(run + "/events.jsonl")]
last = max(i for i, e in enumerate(ev) if e["event"] == "run")
ran = sorted(e["unit"] for e in ev[last:] if e["event"] == "dispatched")
assert ran == ["seq 16:9 5s assemble (2 languages)", "seq 16:9 5s qc", "seq 16:9 5s timeline"], ran
files = json.load(open(run + "/out/deliverables.json"))["files"]
cur = [f for f in files if f["current"] and f["type"] == "spot" and "_seq_" in f["name"]]
assert len(cur) == 4 and all(f["version"] == 3 for f in cur), cur
PY
# a damaged deliverables.json: the unit that needs it fails before it encodes, naming the file
# and the fix; nothing is delivered or overwritten, and the shots are kept
printf '{"files": [' >"$work/r25-repeat/out/deliverables.json"
before=$(ls "$work/r25-repeat/out")
campaign 25 repeat 2 '{"5": [a, b]}'
render_to r25-repeat damaged
[ $rc = 1 ] || die "a damaged deliverables.json: exit $rc, want 1"
grep -q "out/deliverables.json: .*it was edited or damaged: move it away and render again" \
    "$work/damaged.log" || die "no line naming the damaged index: $(grep error "$work/damaged.log")"
[ "$(ls "$work/r25-repeat/out")" = "$before" ] || die "files were delivered beside a damaged index"
# a damaged shot file (a disk error, a hand edit): the spot that reads it fails naming the
# file and the fix; deleting it and running again remakes the shot and the spot
rm -f "$work/r25-repeat/out/deliverables.json"
shot="$work/r25-repeat/shots/seq.b.take1.16x9.mkv"
head -c 2000 "$shot" >"$shot.cut" && mv "$shot.cut" "$shot"
campaign 25 repeat 2 '{"5": [b, a]}'
render_to r25-repeat badshot
[ $rc = 1 ] || die "a damaged shot file: exit $rc, want 1"
grep -q "seq.b.take1.16x9.mkv: .*delete it and run the same render again" "$work/badshot.log" ||
    die "no line naming the damaged shot: $(grep error "$work/badshot.log")"
rm -f "$shot"
render_to r25-repeat remade
[ $rc = 0 ] || die "after deleting the damaged shot: exit $rc"
[ $fail = 0 ] && echo "assemble_timeline: ok"
exit $fail
