#!/usr/bin/env bash
# Every deliverable of the demo campaign (examples/demo, resolution 360), checked with ffprobe's
# JSON: codec, profile, pixel format, size, frame rate, exact frame count, colour tags,
# timecode, sound (48 kHz stereo, AAC in MP4 / PCM 24-bit in MOV) to the sample, the AI
# disclosure, and deliverables.json (names, versions, SHA-256 of every file). Then its sound
# (docs/sound.md): every mix measured with libavfilter's ebur128 (the ffmpeg program) against
# EBU R128, the stems summing to the mix, each line's onset in the dialogue stem within one
# frame of its start, the subtitles parsed by python3-srt and python3-webvtt, each MOV carrying
# its language's mix exactly; and that changing one line redoes only its language's sound.
. "$(dirname "$0")/../render/common.sh"
cp -r "$src/examples/demo" "$work/demo"
# the demo's model, as scripts/demo.sh renders it: the trained VACE pipeline (tiny-vace)
# committed in examples/models/demo (docs/demo-model.md), checked against its SHA-256
model=$src/examples/models/demo
(cd "$model" && sha256sum --quiet -c SHA256SUMS) || die "examples/models/demo does not match its SHA256SUMS"
SF_THREADS=1 "$mpiexec" -np 2 "$sf" render "$work/demo/campaign.yaml" -o "$work/run" \
    --model "$model" --tokenizer "$model/tokenizer/tokenizer.json" --cache "$work/cache" \
    >"$work/run.out" 2>"$work/run.log"
rc=$?
[ $rc = 0 ] || { tail -5 "$work/run.log"; die "demo render exited $rc"; }
# identity (issue 22): no unit skipped, the three bank units ran (the coach's with its clip's
# three samples), locker-room/door (continues talk) started after talk's decode
python3 "$src/tests/identity/check_events.py" "$work/run/events.jsonl" \
    "identity runner (4 refs),identity coach (7 refs),identity shoe (4 refs)" \
    "locker-room/talk take 1 9:16 decode" "locker-room/door take 1 9:16 denoise" ||
    die "the demo's identity bank or continuation"
# the long take (issue 23): a 15 s shot is 241 frames, denoised as 4 overlapping windows together
n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
    -of csv=p=0 "$work/run/shots/locker-room.lacing.take1.9x16.mkv")
[ "$n" = 241 ] || die "the 15 s shot locker-room/lacing has $n frames, not 241"
grep -q 'locker-room/lacing take 1 9:16 denoise: 4 windows of 21 latent frames (overlap 5) over 61' \
    "$work/run.log" || die "the 15 s shot was not denoised as 4 windows"
python3 - "$work/run" <<'PY' || die "the demo's deliverables"
import hashlib, json, os, subprocess, sys
run = sys.argv[1]
idx = json.load(open(run + "/out/deliverables.json"))
assert idx["format"] == "shotfarm.deliverables.v1" and idx["campaign"] == "stride-one-launch"
files = idx["files"]
size = {"16:9": (640, 360), "9:16": (360, 640), "1:1": (360, 360)}
want = set()
for i, seq in enumerate(("dawn-run", "locker-room")):
    for j, length in enumerate((15, 6)):
        for a in size:
            for lang in ("en", "es", "zh"):
                for ext in ("mp4", "mov"):
                    want.add("%s/out/STRD%04d_stride-one-launch_%s_%s_%ds_%s.%s" % (
                        run, 2 * i + j + 1, seq, a.replace(":", "x"), length, lang, ext))
spots = [f for f in files if f["type"] == "spot"]
masters = [f for f in files if f["type"] == "shot master"]
got = {f["path"] for f in spots}
assert got == want, (sorted(want - got)[:3], sorted(got - want)[:3])
# one ProRes master per shot (its selected take, in its sequence's aspect), with tail handles
assert len(masters) == 8 and all("/out/shots/stride-one-launch_" in f["path"] and
                                 f["codec"] == "prores" for f in masters), masters
shot_ms = {"street": 4000, "tracking": 3000, "shoe-closeup": 3500, "coach": 3000,
           "finish": 3000, "lacing": 15000, "talk": 5000, "door": 4000}  # examples/demo
assert any("_tracking_16x9_take2" in f["path"] for f in masters)  # its selected_take
for f in masters:
    sid = f["name"].split("_")[2]
    body = shot_ms[sid] * 24000 // (1001 * 1000)
    model = -(-shot_ms[sid] * 16 // 1000)
    model = model + (-(model - 1)) % 4  # Wan's 4n+1
    have = model * 24000 // (16 * 1001)
    assert f["frames"] == min(max(have, body), body + 12), (sid, f["frames"], body, have)
assert all(f["current"] and f["version"] == 1 for f in files)
# in a fixed order (name, version, path), not the order the units finished in
key = [(f["name"], f["version"], f["path"]) for f in files]
assert key == sorted(key), "deliverables.json is not in (name, version, path) order"
for f in files:
    digest = hashlib.sha256(open(f["path"], "rb").read()).hexdigest()
    assert digest == f["sha256"] and os.path.getsize(f["path"]) == f["bytes"], f["path"]
for f in spots + masters:
    p = json.loads(subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams",
                                   "-show_format", "-of", "json", f["path"]],
                                  capture_output=True, check=True).stdout)
    v = [s for s in p["streams"] if s["codec_type"] == "video"]
    a = [s for s in p["streams"] if s["codec_type"] == "audio"]
    d = [s for s in p["streams"] if s["codec_type"] == "data"]
    assert len(v) == 1 and len(a) == 1, f["path"]
    v, a = v[0], a[0]
    frames = f["frames"]
    if f["type"] == "spot":
        length = 15 if "_15s_" in f["path"] else 6
        assert frames == length * 24, f
    w, h = size[f["aspect"]]
    where = os.path.basename(f["path"])
    if f["codec"] == "h264":
        assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "High", "yuv420p"), (where, v)
        assert (a["codec_name"], a["profile"]) == ("aac", "LC"), (where, a)
        assert p["format"]["format_name"].startswith("mov,mp4")
    else:
        assert (v["codec_name"], v["profile"], v["pix_fmt"], v["codec_tag_string"]) == \
            ("prores", "HQ", "yuv422p10le", "apch"), (where, v)
        assert a["codec_name"] == "pcm_s24le", (where, a)
    assert (v["width"], v["height"]) == (w, h), (where, v["width"], v["height"])
    assert v["r_frame_rate"] == "24000/1001" and int(v["nb_read_packets"]) == frames, (where, v)
    assert (v["color_range"], v["color_space"], v["color_transfer"], v["color_primaries"]) == \
        ("tv", "bt709", "bt709", "bt709"), (where, v)
    assert v["tags"]["timecode"] == "01:00:00:00" and d and d[0]["codec_tag_string"] == "tmcd", where
    assert (int(a["sample_rate"]), a["channels"]) == (48000, 2), (where, a)
    assert int(a["duration_ts"]) == frames * 2002, (where, a["duration_ts"], frames * 2002)
    assert "AI-generated" in p["format"]["tags"]["comment"], where
print("demo deliverables:", len(spots), "spots and", len(masters), "shot masters checked")
PY
# the review outputs (docs/review.md): every spot file QC'd, and every one of the demo's 12
# passes (issue 26; the demo model's decoder once pulsed at 4 Hz and BT.1702 flagged 10 of them),
# a timeline per spot, a contact sheet per sequence, report.html
python3 - "$work/run" <<'PY' || die "the demo's review outputs"
import glob, json, os, re, sys
run = sys.argv[1]
files = json.load(open(run + "/out/deliverables.json"))["files"]
spots = [f for f in files if f["type"] == "spot"]
for f in spots:
    q = f["qc"]
    assert q["pass"] == (q["failures"] == ""), f
    assert q["frames"] == f["frames"] and q["flashes"]["standard"] == "ITU-R BT.1702", f
    assert q["pass"], (f["path"], q["failures"])
page = open(run + "/report.html").read()
assert "QC: all 12 spots passed" in page
assert page.count("<video ") == 12 and "AI-generated video" in page
assert len(glob.glob(run + "/out/timelines/*.otio")) == 12 and len(glob.glob(run + "/out/timelines/*.edl")) == 12
assert sorted(os.path.basename(p) for p in glob.glob(run + "/out/review/*.png")) == \
    ["stride-one-launch_dawn-run_contact.png", "stride-one-launch_locker-room_contact.png"]
print("demo QC: all %d spot files passed" % len(spots))
PY
# the sound (system python: the Debian packages python3-srt and python3-webvtt)
/usr/bin/python3 - "$work/run" <<'PY' || die "the demo's sound"
import json, re, struct, subprocess, sys
import srt, webvtt
run = sys.argv[1]
files = json.load(open(run + "/out/deliverables.json"))["files"]
sound = [f for f in files if f["type"] in ("mix", "stem", "subtitles")]
assert len(sound) == 2 * 2 * 3 * 5, len(sound)  # sequences x lengths x languages x 5 files
def pcm(path):  # 24-bit stereo WAV (WAVE_FORMAT_EXTENSIBLE, as 24-bit should be) -> ints
    b = open(path, "rb").read()
    assert b[:4] == b"RIFF" and b[8:12] == b"WAVE", path
    at, fmt, raw = 12, None, None
    while at + 8 <= len(b):
        cid, size = b[at:at + 4], struct.unpack("<I", b[at + 4:at + 8])[0]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", b[at + 8:at + 24])
        elif cid == b"data":
            raw = b[at + 8:at + 8 + size]
        at += 8 + size + (size & 1)
    tag, ch, rate, _, align, bits = fmt
    assert tag in (1, 0xFFFE) and (ch, rate, bits, align) == (2, 48000, 24, 6), (path, fmt)
    return [int.from_bytes(raw[i:i + 3], "little", signed=True) for i in range(0, len(raw), 3)]
def ebur128(path):
    err = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", path, "-af",
                          "ebur128=peak=true:framelog=info", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    i = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])
    tp = float(re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", err)[-1])
    s = [float(x) for x in re.findall(r" S:\s*(-?[\d.]+)", err)]
    return i, max(s[29:]) if len(s) > 29 else max(s), tp  # S from 3 s on (a full window)
# the edits (examples/demo): shots in play order with their durations, lines per shot
shots = {"dawn-run": [("street", 4000), ("tracking", 3000), ("shoe-closeup", 3500),
                      ("coach", 3000), ("finish", 3000)],
         "locker-room": [("lacing", 15000), ("talk", 5000), ("door", 4000)]}
cuts = {("dawn-run", 6): ["shoe-closeup", "finish"], ("locker-room", 15): ["talk", "door", "lacing"],
        ("locker-room", 6): ["lacing"]}
lines = {("coach", "en"): (500, "Push! Own the morning!"),
         ("coach", "es"): (500, "¡Vamos! ¡La mañana es tuya!"),
         ("coach", "zh"): (500, "加油！早晨属于你！"),
         ("talk", "en"): (1000, "Today is yours."), ("talk", "es"): (1000, "Hoy es tu día."),
         ("talk", "zh"): (1000, "今天属于你。")}
def at(before_ms, start_ms):  # docs/sound.md: the shot's first delivery frame + start
    model = -(-16 * before_ms // 1000)
    frame = model * 24000 // (16 * 1001)
    return frame * 48000 * 1001 // 24000 + start_ms * 48
n_lines = 0
for i, seq in enumerate(("dawn-run", "locker-room")):
    for j, length in enumerate((15, 6)):
        base = "%s/out/sound/STRD%04d_stride-one-launch_%s_%ds" % (run, 2 * i + j + 1, seq, length)
        order = cuts.get((seq, length), [s for s, _ in shots[seq]])
        dur = dict(shots[seq])
        samples = length * 24 * 2002
        for lang in ("en", "es", "zh"):
            mix, dia, mus = (pcm("%s_%s_%s.wav" % (base, lang, r)) for r in ("mix", "dialogue", "music"))
            assert len(mix) == len(dia) == len(mus) == 2 * samples, (base, lang, len(mix))
            assert all(d + m == x for d, m, x in zip(dia, mus, mix)), (base, lang, "stems != mix")
            I, S, TP = ebur128("%s_%s_mix.wav" % (base, lang))
            print("%s %s: I %.1f LUFS, S max %.1f LUFS, true peak %.1f dBTP" % (base.split("/")[-1], lang, I, S, TP))
            assert abs(I - -23.0) <= 0.5 and S <= -18.0 and TP <= -1.0, (base, lang, I, S, TP)
            rec = [f for f in files if f["path"] == "%s_%s_mix.wav" % (base, lang)][0]
            assert rec["loudness"]["true_peak_dbtp"] <= -1 and rec["current"], rec
            # each line's onset in the dialogue stem, within one frame (2002 samples) of its start
            want, before = [], 0
            for s in order:
                if before * 48 < samples and (s, lang) in lines:
                    start, text = lines[(s, lang)]
                    want.append((at(before, start), text))
                before += dur[s]
            for onset, text in want:
                lo = max(0, onset - 2 * 2002)
                first = next(k for k in range(lo, samples) if abs(dia[2 * k]) > 8388608 * 0.003)
                assert abs(first - onset) <= 2002, (base, lang, text, first, onset)
                assert all(abs(v) <= 8388608 * 0.003 for v in dia[2 * lo:2 * onset - 2 * 2002 + 2]), \
                    (base, lang, "sound before the line")
                n_lines += 1
            # subtitles: standard parsers, one cue per line, at its onset
            subs = list(srt.parse(open("%s_%s.srt" % (base, lang), encoding="utf-8").read()))
            vtt = webvtt.read("%s_%s.vtt" % (base, lang))
            assert [s.content for s in subs] == [t for _, t in want], (base, lang, subs)
            assert [c.text for c in vtt] == [t for _, t in want], (base, lang)
            for s, c, (onset, _) in zip(subs, vtt, want):
                assert abs(s.start.total_seconds() - onset / 48000) <= 0.001, (s.start, onset)
                assert abs(c.start_in_seconds - int(onset / 48)) <= 1 or \
                    abs(c.start_in_seconds - onset / 48000) <= 0.001, (c.start, onset)
                assert s.end > s.start and s.end.total_seconds() <= samples / 48000
# each ProRes/MOV spot carries its language's mix, the 24-bit values exactly
for f in files:
    if f["type"] == "spot" and f["codec"] == "prores" and "_16x9_" in f["path"]:
        m = re.search(r"(STRD\d{4}_stride-one-launch_[a-z-]+)_16x9_(\d+s)_(\w\w)\.mov$", f["path"])
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", f["path"], "-map", "0:a", "-f", "s32le",
                              "-"], capture_output=True, check=True).stdout
        got = [v >> 8 for v in struct.unpack("<%di" % (len(raw) // 4), raw)]
        mix = pcm("%s/out/sound/%s_%s_%s_mix.wav" % (run, m.group(1), m.group(2), m.group(3)))
        assert got == mix, (f["path"], "audio differs from the mix")
print("demo sound:", len(sound), "files,", n_lines, "line onsets checked")
PY
# a second launch delivers nothing new and keeps every file as it was
before=$(stat -c '%n %i %Y' "$work/run/out/"*.mp4 "$work/run/out/"*.mov | md5sum)
SF_THREADS=1 "$mpiexec" -np 2 "$sf" render "$work/demo/campaign.yaml" -o "$work/run" \
    --model "$model" --tokenizer "$model/tokenizer/tokenizer.json" --cache "$work/cache" \
    >"$work/run2.out" 2>"$work/run2.log" || die "the second launch exited $?"
[ "$(stat -c '%n %i %Y' "$work/run/out/"*.mp4 "$work/run/out/"*.mov | md5sum)" = "$before" ] ||
    die "a second launch touched the deliverables"
python3 - "$work/run/events.jsonl" <<'PY' || die "a second launch dispatched units"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
last = max(i for i, e in enumerate(ev) if e["event"] == "run")
assert not [e["unit"] for e in ev[last:] if e["event"] == "dispatched"]
assert sum(e["event"] == "reused" and e["kind"] == "assemble" for e in ev[last:]) == 12
PY
# one changed line (the es line of the coach) redoes only the es sound of the edits showing it,
# and the spots that carry it
sed -i 's/¡Vamos! ¡La mañana es tuya!/¡Vamos! ¡Es tu mañana!/' "$work/demo/campaign.yaml"
SF_THREADS=1 "$mpiexec" -np 2 "$sf" render "$work/demo/campaign.yaml" -o "$work/run" \
    --model "$model" --tokenizer "$model/tokenizer/tokenizer.json" --cache "$work/cache" \
    >"$work/run3.out" 2>"$work/run3.log" || die "the launch after a line changed exited $?"
python3 - "$work/run" <<'PY' || die "a changed line redid more (or less) than its language's sound"
import json, sys
run = sys.argv[1]
ev = [json.loads(l) for l in open(run + "/events.jsonl")]
last = max(i for i, e in enumerate(ev) if e["event"] == "run")
ran = sorted(e["unit"] for e in ev[last:] if e["event"] == "dispatched")
# with each re-assembled spot's review units (its QC and timeline)
assert ran == sorted(["dawn-run 15s sound es"] +
                     ["dawn-run %s 15s %s" % (a, k) for a in ("16:9", "1:1", "9:16")
                      for k in ("assemble (3 languages)", "qc", "timeline")]), ran
files = json.load(open(run + "/out/deliverables.json"))["files"]
v2 = sorted(f["name"] for f in files if f["version"] == 2 and f["type"] != "spot")
assert v2 == sorted("STRD0001_stride-one-launch_dawn-run_15s_es" + s for s in
                    ("", "", "_dialogue", "_mix", "_music")), v2
key = [(f["name"], f["version"], f["path"]) for f in files]  # each _v2 right after its v1
assert key == sorted(key), "deliverables.json is not in (name, version, path) order"
PY
[ $fail = 0 ] && echo "assemble_demo: ok"
exit $fail
