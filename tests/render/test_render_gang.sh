#!/usr/bin/env bash
# Windows of one shot on several groups at once (issue 23; docs/windows.md § Gang): the 15 s
# shot of tests/fault/windows.yaml (4 windows) renders with -np 1, 2 and 3 at tp 1, one thread
# per rank; the denoise unit runs as an elastic gang of 1, 2 and 3 groups (the dispatched
# event's groups), and its final latent and decoded frames are byte-identical for every gang
# size. Each launch stops once the shot file is written (the deliverables are other tests').
. "$(dirname "$0")/common.sh"
campaign=$src/tests/fault/windows.yaml
latent=latents/long.walk.take1.16x9.h5
shot=shots/long.walk.take1.16x9.mkv
# gang NP: renders into $work/npNP until the shot's decode finished, then stops the launch
gang() {
    local name=np$1
    SF_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$mpiexec" -np "$1" "$sf" render \
        "$campaign" -o "$work/$name" --model "$work/model" --tokenizer "$tokenizer" \
        --cache "$work/cache" >"$work/$name.out" 2>"$work/$name.log" &
    local pid=$! t=0
    until grep -qs '"event": *"finished".*decode' "$work/$name/events.jsonl"; do
        kill -0 $pid 2>/dev/null || break
        [ $t -ge 1200 ] && break
        sleep 0.5
        t=$((t + 1))
    done
    kill -9 $(pgrep -P $pid) $pid 2>/dev/null
    wait $pid 2>/dev/null
    [ -f "$work/$name/$shot" ] || { tail -20 "$work/$name.log"; die "np $1: no shot file"; return; }
    python3 - "$work/$name/events.jsonl" "$1" <<'PY' || die "np $1: the denoise unit did not run as a gang of $1"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
d = [e for e in ev if e["event"] == "dispatched" and e.get("kind") == "denoise"]
want = int(sys.argv[2])
assert len(d) == 1, d
groups = d[0].get("groups", [d[0].get("group")])
assert len(groups) == want, (groups, want)
PY
}
gang 1
gang 2
gang 3
grep -q "windows 2 .. 3 on gang member 1 of 2" "$work/np2.log" ||
    die "np 2: member 1 did not report windows 2 .. 3: $(grep -m2 'gang member' "$work/np2.log")"
ref=$(ffmpeg -loglevel error -i "$work/np1/$shot" -f framemd5 - | md5sum | cut -c1-32)
for np in 2 3; do
    cmp -s "$work/np1/$latent" "$work/np$np/$latent" || die "np $np: the latent differs from np 1's"
    got=$(ffmpeg -loglevel error -i "$work/np$np/$shot" -f framemd5 - | md5sum | cut -c1-32)
    [ "$got" = "$ref" ] || die "np $np: decoded frames differ from np 1's"
done
[ "$fail" = 0 ] && echo "render_gang: ok (gangs of 1, 2, 3: the same latent bytes and frames)"
exit $fail
