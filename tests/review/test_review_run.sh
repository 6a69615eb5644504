#!/usr/bin/env bash
# The review outputs of a render (docs/review.md), with the test-only decode stand-in
# SF_TEST_DECODE_COUNTER=1 (every model frame a colour naming its shot and frame):
# - timelines: every spot's .otio loads with the opentimelineio package, its clips tile the spot
#   and each covers exactly the delivery frames whose picture comes from its shot (read back from
#   the delivered file), its media are the shot masters, the dialogue lines are markers; the
#   EDL, read by OTIO's cmx_3600 adapter, has the same cuts, sources and markers. At 23.976
#   (repeat) and 29.97 (blend), with a cut that reorders shots, lengths that cut the last shot
#   short, and a reframed aspect;
# - contact sheet: one row per shot and take, each tile the frame it names, selected takes green;
# - QC verdicts in deliverables.json; the AI disclosure (tool, version, model hash) in every
#   file's metadata;
# - report.html opens in headless Chromium with no console error, every video and image loading
#   (page_check.py; the screenshot is kept in the test's build directory), and `shotfarm report`
#   writes the same page again.
. "$(dirname "$0")/../render/common.sh"
export SF_TEST_DECODE_COUNTER=1 SF_THREADS=1
py=${SF_BINARY_DIR:?}/pyenv/bin/python
[ -x "$py" ] || { echo "FAIL: $py missing: run scripts/setup.sh (it installs tests/requirements.txt)"; exit 1; }

# campaign FPS CONFORM CODECS REVIEW_COPIES: writes $work/c.yaml
campaign() {
    cat >"$work/c.yaml" <<EOF
version: 1
campaign: edit
seed: 5
elements:
  - {id: coach, description: "a coach"}
model: {config: tiny, dtype: fp32, tp: 1}
tiers:
  draft: {steps: 1, resolution: 64x64, sampler: euler, schedule: wan, shift: 3.0, guidance: 1.0}
sequences:
  - id: seq
    aspect: "16:9"
    shots:
      - id: a
        prompt: "a red kite"
        duration: 3
        dialogue:
          - {speaker: coach, language: en, start: 0.5, text: "Push! Own the morning!"}
          - {speaker: coach, language: zh, start: 0.5, text: "加油！", phonetic: "jia1 you2!"}
      - {id: b, prompt: "a blue boat", duration: 3.5, takes: 2, selected_take: 2}
      - {id: c, prompt: "a green hill", duration: 3.5}
    cuts: {"6": [c, a]}
deliverables: {aspects: ["16:9", "1:1"], lengths: [8, 6], languages: [en, zh], codecs: [$3],
               resolution: 360, fps: $1, conform: $2, reframe: true, code: ED, review_copies: $4}
EOF
}

# the review outputs at 23.976; at 29.97 (blend) the timelines only
for spec in "23.976 repeat ffv1,h264 true" "29.97 blend ffv1 false"; do
    set -- $spec
    campaign "$1" "$2" "${3/,/, }" "$4"
    run="$work/r${1/./}"
    "$mpiexec" -np 2 "$sf" render "$work/c.yaml" -o "$run" --model "$work/model" \
        --tokenizer "$tokenizer" --cache "$work/cache" >"$run.out" 2>"$run.log"
    rc=$?
    [ $rc = 0 ] || { grep -m 12 -E "error|warning|fail" "$run.log"; tail -5 "$run.log"
                     die "render at $1 exited $rc"; continue; }
    "$py" - "$run" "$1" <<'PY' || die "timelines at $1 ($2)"
import glob, json, os, subprocess, sys
from fractions import Fraction
import opentimelineio as otio
run, fps = sys.argv[1], sys.argv[2]
r = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001)}[fps]
nominal = {"23.976": 24, "29.97": 30}[fps]
tc0 = 3600 * nominal  # 01:00:00:00
files = json.load(open(run + "/out/deliverables.json"))["files"]
spots = {f["name"]: f for f in files if f["type"] == "spot" and f["codec"] == "ffv1"}
masters = {f["path"]: f for f in files if f["type"] == "shot master"}
otios = sorted(glob.glob(run + "/out/timelines/*.otio"))
names = sorted(os.path.basename(p)[:-5] for p in otios)
want = sorted("ED%04d_edit_seq_%s_%ds" % (i + 1, a, l) for i, l in enumerate((8, 6))
              for a in ("16x9", "1x1"))
assert names == want, (names, want)
for path in otios:
    name = os.path.basename(path)[:-5]
    spot = spots[name + "_en"]
    n = spot["frames"]
    tl = otio.adapters.read_from_file(path)
    assert tl.global_start_time.to_frames() == tc0, tl.global_start_time
    track = tl.tracks[0]
    clips = list(track.find_clips())
    assert tl.duration().to_frames() == n, (name, tl.duration(), n)
    # which shot every delivery frame shows, from the delivered pictures (G = 40 + 60 x the
    # shot's place in its sequence)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", spot["path"], "-vf",
                          "scale=1:1:flags=area,format=rgb24", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    assert len(raw) == 3 * n, (len(raw), n)
    shown = ["abc"[round((raw[3 * f + 1] - 40) / 60)] for f in range(n)]
    at = 0
    for cl in clips:
        rng = cl.range_in_parent()
        first, count = rng.start_time.to_frames(), rng.duration.to_frames()
        assert first == at and count > 0, (name, cl.name, first, at)
        at += count
        shot = cl.name.split("/")[1].split(" ")[0]          # "seq/a take 1"
        assert set(shown[first:first + count]) == {shot}, (name, cl.name, shown[first:first + count])
        # frame for frame: the frames before and after belong to other shots
        assert first == 0 or shown[first - 1] != shot, (name, cl.name)
        ref = cl.media_reference
        src = ref.target_url[len("file://"):]
        m = masters[src]
        assert m["current"] and "_%s_16x9_take%d" % (shot, 2 if shot == "b" else 1) in src, (src, m)
        assert ref.available_range.duration.to_frames() == m["frames"], (src, m["frames"])
        assert ref.available_range.start_time.to_frames() == tc0
        assert cl.source_range.start_time.to_frames() == tc0  # the master starts at the cut
        assert count <= m["frames"]
        mk = [(x.name, x.comment, x.marked_range.start_time.to_frames() - tc0) for x in cl.markers]
        if shot == "a":
            lines = [("coach (en)", "Push! Own the morning!", int(Fraction(1, 2) * r)),
                     ("coach (zh)", "加油！", int(Fraction(1, 2) * r))]
            assert mk == [l for l in lines if l[2] < count], (name, mk)
        else:
            assert mk == [], mk
    assert at == n, (name, at, n)
    assert "AI-generated" in tl.metadata["shotfarm"]["disclosure"]
    # the EDL: the same cuts, sources and markers
    edl = otio.adapters.read_from_file(path[:-5] + ".edl", adapter_name="cmx_3600", rate=float(r))
    eclips = list(edl.tracks[0].find_clips())
    assert len(eclips) == len(clips), (name, len(eclips), len(clips))
    for a, b in zip(clips, eclips):
        ra, rb = a.range_in_parent(), b.range_in_parent()
        assert (ra.start_time.to_frames(), ra.duration.to_frames()) == \
            (rb.start_time.to_frames(), rb.duration.to_frames()), (name, a.name, ra, rb)
        assert a.source_range.start_time.to_frames() == b.source_range.start_time.to_frames()
        assert b.media_reference.target_url == a.media_reference.target_url[len("file://"):], \
            (b.media_reference.target_url, a.media_reference.target_url)
        assert b.name == os.path.basename(b.media_reference.target_url), b.name
        assert [x.marked_range.start_time.to_frames() for x in b.markers] == \
            [x.marked_range.start_time.to_frames() for x in a.markers], (name, a.name)
print("timelines at", fps, ":", len(otios), "edits checked")
PY
    [ "$1" = 23.976 ] || continue
    # contact sheet, QC verdicts, disclosure
    python3 - "$run" <<'PY' || die "contact sheet, QC verdicts or disclosure"
import json, subprocess, sys
run = sys.argv[1]
png = run + "/out/review/edit_seq_contact.png"
p = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", png],
                              capture_output=True, check=True).stdout)["streams"][0]
T, gap = 160, 4  # tiles 160 x 160 (the shots are 64 x 64), 4 px apart and around
rows = [("a", 0, 1, 49), ("b", 1, 0, 57), ("b", 1, 1, 57), ("c", 2, 1, 57)]  # shot, place, selected, frames
assert (p["width"], p["height"]) == (gap + 5 * (T + gap), gap + len(rows) * (T + gap)), p
W = p["width"]
raw = subprocess.run(["ffmpeg", "-v", "error", "-i", png, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                     capture_output=True, check=True).stdout
def px(x, y):
    return tuple(raw[3 * (y * W + x):3 * (y * W + x) + 3])
for r, (shot, k, sel, frames) in enumerate(rows):
    y = gap + r * (T + gap) + T - 10             # below the captions
    card = px(gap + 10, y)
    assert card == ((30, 110, 50) if sel else (64, 64, 64)), (shot, r, card)
    for c in range(4):
        m = c * (frames - 1) // 3                  # the frame this tile shows
        got = px(gap + (c + 1) * (T + gap) + T // 2, y)
        want = ((5 * m) % 256, 40 + 60 * k, 128)
        assert all(abs(g - w) <= 2 for g, w in zip(got, want)), (shot, r, c, got, want)
    text = px(gap + 12, gap + r * (T + gap) + 14)  # the label's box, darker than the card
    assert text != card, (shot, r, "no label drawn")
files = json.load(open(run + "/out/deliverables.json"))["files"]
spots = [f for f in files if f["type"] == "spot"]
assert len(spots) == 16 and all(f["qc"]["pass"] is True and f["qc"]["failures"] == "" for f in spots), \
    [(f["name"], f.get("qc")) for f in spots if not f.get("qc", {}).get("pass")]
assert all(f["qc"]["flashes"]["standard"] == "ITU-R BT.1702" and
           f["qc"]["levels"]["standard"] == "EBU R 103" for f in spots)
assert not any("qc" in f for f in files if f["type"] == "shot master")
ident = json.load(open(run + "/manifest.json"))["identity"]
videos = [f for f in files if f["type"] in ("spot", "shot master")]  # not the sound's files
for f in videos:
    tags = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", f["path"]],
                                     capture_output=True, check=True).stdout)["format"]["tags"]
    c = {k.lower(): v for k, v in tags.items()}["comment"]
    assert c.startswith("AI-generated video") and "shotfarm 0." in c, (f["path"], c)
    assert all(ident[k] in c for k in ("transformer", "vae", "text_encoder")), (f["path"], c)
print("contact sheet, QC verdicts of", len(spots), "spot files and the disclosure of", len(videos), "files checked")
# review copies: one per spot and language, H.264, the spot's frames and timecode, burn-ins at
# the top left (version code), top right (timecode) and bottom centre (NOT FOR AIR) where the
# spot is one flat colour, and the picture elsewhere unchanged
import glob, os
copies = sorted(glob.glob(run + "/out/review/*_review.mp4"))
ffv1 = {f["name"]: f for f in spots if f["codec"] == "ffv1"}
assert [os.path.basename(p) for p in copies] == sorted(n + "_review.mp4" for n in ffv1), copies
def frame(path, n=0):
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vf", "select=eq(n\\,%d)" % n,
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return out
for p in copies:
    f = ffv1[os.path.basename(p)[:-len("_review.mp4")]]
    pr = json.loads(subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams",
                                    "-show_format", "-of", "json", p], capture_output=True, check=True).stdout)
    v = [s for s in pr["streams"] if s["codec_type"] == "video"][0]
    assert (v["codec_name"], int(v["nb_read_packets"]), v["width"], v["height"]) == \
        ("h264", f["frames"], f["width"], f["height"]), (p, v)
    assert v["tags"]["timecode"] == "01:00:00:00", v["tags"]
    assert pr["format"]["tags"]["comment"].startswith("REVIEW COPY, NOT FOR AIR. AI-generated"), pr["format"]
    W, H = f["width"], f["height"]
    a, b = frame(f["path"], 5), frame(p, 5)
    def spread(img, x0, y0, x1, y1):  # max - min of the green channel in a box
        g = [img[3 * (y * W + x) + 1] for y in range(y0, y1) for x in range(x0, x1)]
        return max(g) - min(g)
    boxes = {"version": (0, 0, W // 3, H // 8), "timecode": (2 * W // 3, 0, W, H // 8),
             "NOT FOR AIR": (W // 3, 3 * H // 4, 2 * W // 3, H)}
    for what, box in boxes.items():
        assert spread(a, *box) <= 2, (p, what, "the spot is not flat there")
        assert spread(b, *box) >= 100, (p, what, "no burn-in")
    c = (W // 2, H // 2)
    pa, pb = a[3 * (c[1] * W + c[0]):][:3], b[3 * (c[1] * W + c[0]):][:3]
    assert all(abs(x - y) <= 6 for x, y in zip(pa, pb)), (p, tuple(pa), tuple(pb))
    # the subtitles: shot a's line (0.5 s into it) is on screen above NOT FOR AIR while it is
    # read, and nothing is there before it; in the :08 spots shot a comes first
    if "_8s_" in p:
        fs = H // 18
        sub = (W // 5, H - 6 * fs, 4 * W // 5, H - 3 * fs)
        assert spread(frame(p, 3), *sub) <= 12, (p, "a subtitle before the line")
        assert spread(frame(p, 20), *sub) >= 100, (p, "no subtitle while the line is read")
        assert spread(frame(f["path"], 20), *sub) <= 2, (p, "the spot itself carries a subtitle")
# the copies carry their language's mix
for p in copies:
    a = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-select_streams", "a",
                                   "-of", "json", p], capture_output=True, check=True).stdout)["streams"]
    assert len(a) == 1 and a[0]["codec_name"] == "aac", (p, a)
print(len(copies), "review copies checked")
PY
    # the report: loads clean in Chromium (4 H.264 spots, one contact sheet), screenshot kept
    shot="$PWD/review_report.png"
    python3 "$src/tests/review/page_check.py" "$run/report.html" "$shot" --expect-videos 4 \
        --expect-images 1 || die "report.html in Chromium"
    grep -q 'id="qc-summary">QC: all 4 spots passed' "$run/report.html" || die "report: QC summary"
    grep -q 'AI-generated video' "$run/report.html" || die "report: no disclosure"
    cp "$run/report.html" "$work/report.first"
    "$sf" report "$run" >"$work/report.out" || die "shotfarm report exited $?"
    grep -q "report.html: 4 spots, 0 failed QC" "$work/report.out" || die "report: $(cat "$work/report.out")"
    cmp -s "$run/report.html" "$work/report.first" || die "shotfarm report wrote another page"
done
[ $fail = 0 ] && echo "review_run: ok"
exit $fail
