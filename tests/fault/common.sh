# Shared by the fault tests (issue 16): the render tests' tiny fp32 pipeline and helpers
# (tests/render/common.sh), the fault campaign (3 shots, 64x64, 4 UniPC steps), and launches
# that run in the background so a test can kill or signal them while it watches events.jsonl.
# Every launch checkpoints every step (--ckpt-every 1) and shares one prompt cache.
. "$(dirname "${BASH_SOURCE[0]}")/../render/common.sh"
here=$src/tests/fault
# SF_KEEP_WORK=1 keeps the work directory (run dirs, logs, snapshots) for a post-mortem
[ -n "${SF_KEEP_WORK:-}" ] && { trap - EXIT; echo "work directory: $work (kept)"; }
campaign=$work/campaign.yaml # a copy: tests edit it in place between launches
cp "$here/campaign.yaml" "$campaign"
faultlib() { python3 "$here/faultlib.py" "$@"; }
export SF_THREADS=1

# launch NAME TAG NP [args...]: starts `render $campaign -o $work/NAME` under mpirun in the
# background (pid in $lpid); stdout/stderr in $work/NAME.TAG.{out,log}. Appends "TAG LINE" to
# $work/NAME.launches, LINE being the index of this launch's first line in events.jsonl.
launch() {
    local name=$1 tag=$2 np=$3
    shift 3
    local base=0
    [ -f "$work/$name/events.jsonl" ] && base=$(wc -l <"$work/$name/events.jsonl")
    echo "$tag $base" >>"$work/$name.launches"
    ev_base=$base
    "$mpiexec" -np "$np" "$sf" render "$campaign" -o "$work/$name" --model "$work/model" \
        --tokenizer "$tokenizer" --cache "$work/cache" --ckpt-every 1 "$@" \
        >"$work/$name.$tag.out" 2>"$work/$name.$tag.log" &
    lpid=$!
}

# await [SECONDS]: waits for the launch $lpid to end and sets $rc to its exit status; a launch
# still running after SECONDS (default 60) is killed and gives rc=124.
await() {
    local limit=$(( ${1:-60} * 10 )) i=0
    while kill -0 "$lpid" 2>/dev/null && [ $i -lt $limit ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$lpid" 2>/dev/null; then
        kill -9 $(pgrep -P "$lpid") "$lpid" 2>/dev/null
        wait "$lpid" 2>/dev/null
        rc=124
        return
    fi
    wait "$lpid"
    rc=$?
}

# run_to_end NAME TAG NP [args...]: a launch in the foreground (at most 120 s); sets $rc.
run_to_end() {
    launch "$@"
    await 120
}

# wait_events NAME REGEX N [SECONDS]: waits until the current launch of NAME (lines from
# $ev_base on) has N lines of events.jsonl matching REGEX (grep -E; "$STEP" matches a step
# event, "$STEP.*beta/three" one of that shot); returns 1 if the launch ended or SECONDS
# (default 30) passed first.
STEP='"event": *"step"'
wait_events() {
    local ev="$work/$1/events.jsonl" limit=$(( ${4:-30} * 20 )) i=0 n
    while [ $i -lt $limit ]; do
        n=$(tail -n +$((ev_base + 1)) "$ev" 2>/dev/null | grep -Ec "$2")
        [ "$n" -ge "$3" ] && return 0
        kill -0 "$lpid" 2>/dev/null || return 1
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# reference: the uninterrupted render every fault test compares against ($work/ref).
reference() {
    run_to_end ref 1 2
    [ $rc = 0 ] || { cat "$work/ref.1.log"; echo "FAIL: the reference render exited $rc"; exit 1; }
}

# same_as_ref NAME: the decoded frames (framemd5) of every shot and the bytes of every final
# latent of $work/NAME equal the reference's; prints what differs.
same_as_ref() {
    local got want f rel
    want=$(frames ref)
    got=$(frames "$1")
    [ "$got" = "$want" ] || { die "$1: decoded frames differ from the uninterrupted render";
                              diff <(echo "$want") <(echo "$got"); }
    for f in "$work"/ref/latents/*.h5; do
        rel=${f#"$work"/ref/}
        cmp -s "$f" "$work/$1/$rel" || die "$1: $rel differs from the uninterrupted render"
    done
}

# log_tail NAME TAG: the last lines of a launch's log, for failure messages.
log_tail() { echo "--- $1 launch $2 (last lines of its log)"; tail -n "${3:-8}" "$work/$1.$2.log"; }

# verifies FILE: `shotfarm inspect FILE` exits 0 and says "verified: yes"
verifies() { "$sf" inspect "$1" 2>/dev/null | grep -Eq "^verified: +yes"; }

# every_ckpt_verifies NAME: every checkpoint in $work/NAME/ckpt/ verifies (count in $ckpts).
every_ckpt_verifies() {
    local f n=0
    for f in "$work/$1"/ckpt/*.h5; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        verifies "$f" || die "$1: ${f#"$work"/} does not verify: $("$sf" inspect "$f" 2>&1 | grep -m1 "error\|verified")"
    done
    ckpts=$n
}

# finish_run MIN SNAPSHOT...: the last launch of $work/run (no fault hooks) must exit 0 with the
# reference's result, and each launch after a death (snapshot i, faultlib.py snapshot) must
# resume as the snapshot says; at least MIN units must resume from k > 0 (count in $k).
finish_run() {
    local min=$1 out
    shift
    unset SF_FAULT_STEP_DELAY_MS
    launch run final 2
    await 120
    [ $rc = 0 ] || { die "the last launch exited $rc, want 0"; log_tail run final 20; }
    same_as_ref run
    out=$(faultlib resumes "$work/run" "$work/run.launches" "$@") || die "resume points:"
    echo "$out"
    k=$(sed -n 's/^resumed from a checkpoint (k > 0): //p' <<<"$out")
    [ "${k:-0}" -ge "$min" ] || die "only ${k:-0} units resumed from a checkpoint (k > 0); want >= $min"
}

# one_error_line NAME TAG TEXT WHAT: the launch's log has exactly one error line, containing TEXT
one_error_line() {
    local lines
    lines=$(grep "error: " "$work/$1.$2.log")
    echo "$4: $lines"
    [ "$(wc -l <<<"$lines")" = 1 ] && grep -qi "$3" <<<"$lines" \
        || die "$4: want one error line containing \"$3\""
}
