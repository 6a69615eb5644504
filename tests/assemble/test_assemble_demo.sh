#!/usr/bin/env bash
# Every deliverable of the demo campaign (examples/demo, resolution 360), checked with ffprobe's
# JSON: codec, profile, pixel format, size, frame rate, exact frame count, colour tags,
# timecode, sound (48 kHz stereo, AAC in MP4 / PCM 24-bit in MOV) to the sample, the AI
# disclosure, and deliverables.json (names, versions, SHA-256 of every file).
. "$(dirname "$0")/../render/common.sh"
cp -r "$src/examples/demo" "$work/demo"
# the demo's shots show elements with references: a VACE pipeline (tiny-vace), as scripts/demo.sh
"$sf" mkmodel --config tiny-vace --dtype fp32 --vae-dim 8 -o "$work/vace" 2>"$work/mkvace.log" \
    || { cat "$work/mkvace.log"; exit 1; }
SF_THREADS=1 "$mpiexec" -np 2 "$sf" render "$work/demo/campaign.yaml" -o "$work/run" \
    --model "$work/vace" --tokenizer "$tokenizer" --cache "$work/cache" \
    >"$work/run.out" 2>"$work/run.log"
rc=$?
[ $rc = 0 ] || { tail -5 "$work/run.log"; die "demo render exited $rc"; }
# identity (issue 22): no unit skipped, the three bank units ran (the coach's with its clip's
# three samples), locker-room/door (continues talk) started after talk's decode
python3 - "$work/run/events.jsonl" <<'PY' || die "the demo's identity bank or continuation"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert not [e for e in ev if e["event"] == "skipped"], "a unit was skipped"
bank = {e["unit"] for e in ev if e["event"] == "finished" and e.get("kind") == "identity"}
assert bank == {"identity runner (4 refs)", "identity coach (7 refs)", "identity shoe (4 refs)"}, bank
at = {(e["event"], e.get("unit")): i for i, e in enumerate(ev)}
assert at[("finished", "locker-room/talk take 1 9:16 decode")] < \
    at[("started", "locker-room/door take 1 9:16 denoise")]
PY
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
           "finish": 3000, "lacing": 6500, "talk": 5000, "door": 4000}  # examples/demo
assert any("_tracking_16x9_take2" in f["path"] for f in masters)  # its selected_take
for f in masters:
    sid = f["name"].split("_")[2]
    body = shot_ms[sid] * 24000 // (1001 * 1000)
    model = -(-shot_ms[sid] * 16 // 1000)
    model = model + (-(model - 1)) % 4  # Wan's 4n+1
    have = model * 24000 // (16 * 1001)
    assert f["frames"] == min(max(have, body), body + 12), (sid, f["frames"], body, have)
assert all(f["current"] and f["version"] == 1 for f in files)
for f in files:
    digest = hashlib.sha256(open(f["path"], "rb").read()).hexdigest()
    assert digest == f["sha256"] and os.path.getsize(f["path"]) == f["bytes"], f["path"]
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
# a second launch delivers nothing new and keeps every file as it was
before=$(stat -c '%n %i %Y' "$work/run/out/"*.mp4 "$work/run/out/"*.mov | md5sum)
SF_THREADS=1 "$mpiexec" -np 2 "$sf" render "$work/demo/campaign.yaml" -o "$work/run" \
    --model "$work/vace" --tokenizer "$tokenizer" --cache "$work/cache" \
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
[ $fail = 0 ] && echo "assemble_demo: ok"
exit $fail
