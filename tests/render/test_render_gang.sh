#!/usr/bin/env bash
# Windows of one shot on several groups at once (issue 23; docs/windows.md § Gang): the 15 s
# shot of tests/fault/windows.yaml (4 windows, 4 steps, 64x64 on the tiny model) renders with
# -np 1, 2 and 3 at tp 1, one thread per rank:
#  1. the denoise unit runs as an elastic gang of 1, 2 and 3 groups (the dispatched event's
#     groups; member 1 of 2 runs windows 2 .. 3), and its final latent and decoded frames are
#     byte-identical for every gang size;
#  2. a gang of 3 stopped by SIGUSR1 after step 2 exits 75; relaunched on 2 groups, the gang
#     leader's checkpoint is given to both members and the final latent is np 1's, bit for bit;
#  3. at tp 2, a gang of two groups (-np 4) gives one group's (-np 2) latent bytes, and is
#     within the tp tolerance (1e-5·max|ref|) of -np 3 at tp 1;
#  4. --cfg-parallel (docs/windows.md § Guidance branches): -np 2 runs the windowed unit as a
#     gang of 2 groups sharing its windows (both passes each), and the shot cut as one window
#     as a pair of groups (member 1 the unconditional pass); -np 1 both passes on one group:
#     the same latent bytes; the manifest and the unit's key record the split mode (the
#     key differs from the batched run's), and a relaunch without --cfg-parallel is refused.
# Each launch stops once what is checked is written (the deliverables are other tests').
. "$(dirname "$0")/../fault/common.sh"
cp "$here/windows.yaml" "$campaign"
latent=latents/long.walk.take1.16x9.h5
shot=shots/long.walk.take1.16x9.mkv
DECODED='"event": *"finished".*decode'
# dispatched NAME NP: this launch dispatched the denoise unit once, to a gang of NP groups
dispatched() {
    tail -n +$((ev_base + 1)) "$work/$1/events.jsonl" | python3 -c '
import json, sys
d = [e for e in map(json.loads, sys.stdin) if e["event"] == "dispatched" and e.get("kind") == "denoise"]
assert len(d) == 1, d
groups = d[0].get("groups", [d[0].get("group")])
assert len(groups) == int(sys.argv[1]), (groups, sys.argv[1])' "$2" ||
        die "$1: the denoise unit did not run once as a gang of $2"
}
# gang NP: renders into $work/npNP until the shot's decode finished, then stops the launch
gang() {
    launch np$1 run $1
    wait_events np$1 "$DECODED" 1 120 || { await 5; log_tail np$1 run 20; die "np $1: no decode (exit $rc)"; }
    kill -9 $(pgrep -P "$lpid") "$lpid" 2>/dev/null
    wait "$lpid" 2>/dev/null
    dispatched np$1 $1
}

# 1. gangs of 1, 2, 3
gang 1
gang 2
gang 3
grep -q "windows 2 .. 3 on gang member 1 of 2" "$work/np2.run.log" ||
    die "np 2: member 1 did not report windows 2 .. 3: $(grep -m2 'gang member' "$work/np2.run.log")"
ref=$(ffmpeg -loglevel error -i "$work/np1/$shot" -f framemd5 - | md5sum | cut -c1-32)
for np in 2 3; do
    cmp -s "$work/np1/$latent" "$work/np$np/$latent" || die "np $np: the latent differs from np 1's"
    got=$(ffmpeg -loglevel error -i "$work/np$np/$shot" -f framemd5 - | md5sum | cut -c1-32)
    [ "$got" = "$ref" ] || die "np $np: decoded frames differ from np 1's"
done

# 2. a gang of 3 interrupted after step 2, resumed as a gang of 2
SF_FAULT_STEP_DELAY_MS=300 launch sig USR1 3
wait_events sig "$STEP" 2 60 || { await 5; die "np 3: the launch ended (exit $rc) before step 2"; }
kill -USR1 "$lpid"
await 60
[ $rc = 75 ] || { die "np 3, SIGUSR1: exit $rc, want 75"; log_tail sig USR1; }
launch sig resume 2
wait_events sig '"event": *"finished".*denoise' 1 120 ||
    { await 5; log_tail sig resume 20; die "np 2 resume: no finished denoise (exit $rc)"; }
kill -9 $(pgrep -P "$lpid") "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null
dispatched sig 2
grep -q '"event": *"started".*denoise.*"step": *[1-9]' <(tail -n +$((ev_base + 1)) "$work/sig/events.jsonl") ||
    die "np 2: the relaunch did not resume the denoise unit from a checkpoint"
cmp -s "$work/np1/$latent" "$work/sig/$latent" || die "np 3 -> 2 resumed: the latent differs from np 1's"

# denoised NAME NP GROUPS [ARGS]: renders into $work/NAME with -np NP until the denoise unit
# finished, then stops the launch; the unit ran once, as a gang of GROUPS
denoised() {
    local name=$1 np=$2 groups=$3
    shift 3
    launch $name run $np "$@"
    wait_events $name '"event": *"finished".*denoise' 1 120 || { await 5; log_tail $name run 20; die "$name: no finished denoise (exit $rc)"; }
    kill -9 $(pgrep -P "$lpid") "$lpid" 2>/dev/null
    wait "$lpid" 2>/dev/null
    dispatched $name $groups
}

# 3. tensor parallel: two groups of tp 2 (-np 4) give one group of tp 2's (-np 2) bytes
denoised tp2 2 1 --tp 2
denoised tp4 4 2 --tp 2
cmp -s "$work/tp2/$latent" "$work/tp4/$latent" || die "tp 2: the gang of 2 groups' latent differs from one group's"
# -np 3 at tp 1 (a gang of 3 groups) against -np 4 at tp 2 (a gang of 2): tp changes the
# reduction order, so within the tp tolerance of render_tp, 1e-5·max|ref| (worst element printed)
h5dump -d /latent -b LE -o "$work/np3.bin" "$work/np3/$latent" >/dev/null &&
    h5dump -d /latent -b LE -o "$work/tp4.bin" "$work/tp4/$latent" >/dev/null || die "h5dump of the np 3 / tp 4 latents"
python3 "$src/tests/render/latent_close.py" "$work/np3.bin" "$work/tp4.bin" "np 4 tp 2 vs np 3 tp 1" 1e-5 --differ ||
    die "np 4 at tp 2: the latent is not within 1e-5 of np 3 at tp 1 (or is bit-identical)"

# 4. --cfg-parallel: the windowed shot keeps its gang of windows (each member both passes of
#    its windows); the same shot as one window (tier window 64 >= its 61 latent frames) is a
#    pair of groups, one branch each; one group gives the same bytes either way
denoised cfg1 1 1 --cfg-parallel
denoised cfg2 2 2 --cfg-parallel
grep -q "guidance passes split, both on gang member 1 of 2" "$work/cfg2.run.log" &&
    grep -q "windows 2 .. 3 on gang member 1 of 2" "$work/cfg2.run.log" ||
    die "cfg np 2: member 1 did not run both passes of windows 2 .. 3: $(grep -m2 'gang member' "$work/cfg2.run.log")"
cmp -s "$work/cfg1/$latent" "$work/cfg2/$latent" || die "cfg: the windows gang's latent differs from one group's"
windowed=$campaign
campaign=$work/one-window.yaml
sed 's/^    guidance: 5.0$/    guidance: 5.0\n    window: 64/' "$windowed" >"$campaign"
grep -q "window: 64" "$campaign" || die "one-window campaign: no window key"
denoised pair1 1 1 --cfg-parallel
denoised pair2 2 2 --cfg-parallel
grep -q "guidance passes split, uncond on gang member 1 of 2" "$work/pair2.run.log" ||
    die "cfg np 2, one window: member 1 did not report the unconditional branch"
cmp -s "$work/pair1/$latent" "$work/pair2/$latent" || die "cfg: the pair of groups' latent differs from one group's"
cmp -s "$work/pair1/$latent" "$work/cfg1/$latent" && die "cfg: one window gave the 4 windows' latent"
campaign=$windowed
python3 - "$work/np1/manifest.json" "$work/cfg1/manifest.json" <<'PY' || die "cfg: the manifest does not record the split mode"
import json, sys
b, c = (json.load(open(p)) for p in sys.argv[1:])
assert c["determinism_domain"]["guidance_passes"].startswith("split"), c["determinism_domain"]
assert c["identity"]["guidance_passes"].startswith("split"), c["identity"]
key = lambda m: [u["key"] for u in m["units"] if "denoise" in u["name"]]
assert key(b) and key(c) and key(b) != key(c), (key(b), key(c))
PY
launch cfg1 batched 1
await 60
[ $rc = 2 ] && grep -q "guidance_passes" "$work/cfg1.batched.log" ||
    { log_tail cfg1 batched 5; die "cfg: a relaunch without --cfg-parallel was not refused (exit $rc)"; }

[ "$fail" = 0 ] && echo "render_gang: ok (gangs of 1, 2, 3: the same latent bytes and frames; 3 -> SIGUSR1 -> resumed on 2: the same latent; tp 2: 2 groups = 1 and within 1e-5 of np 3 at tp 1; --cfg-parallel: windows gang and branch pair = 1 group, mode recorded, a change refused)"
exit $fail
