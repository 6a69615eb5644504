#!/usr/bin/env bash
# Heartbeat (issue 29 § cut link; docs/testing.md § fault): a rank that goes silent must end the
# job with exit 75 within --heartbeat-timeout plus a margin, not hang MPI, and the next launch
# must resume and finish with the bytes of an uninterrupted render. SF_FAULT_SILENT=RANK:N stops
# world rank RANK's whole process (SIGSTOP) at its N-th denoising step report, which is what a
# node behind a cut link looks like to the others (no message, no error). -np 2, steps slowed
# to 300 ms, --heartbeat-timeout 3:
#  1. in run directory `group`, rank 1 (worker group 1) stops: the coordinator logs one line
#     naming rank 1, its host and the timeout, lets group 0's unit checkpoint, and the job exits
#     75 (MPI_Abort);
#  2. in run directory `coord`, rank 0 (the coordinator) stops: rank 1 logs one line naming the
#     coordinator and exits 75;
#  each then relaunched without faults: it resumes (a unit from a checkpoint, k > 0) and ends
#  equal to the uninterrupted render;
#  3. steps longer than the timeout (3 s steps, --heartbeat-timeout 2) are not silence: the
#     heartbeat comes from its own thread, so the render ends (exit 0) with no `silent` event.
. "$(dirname "$0")/common.sh"
reference
timeout=3 margin=20

# silent NAME RANK: a launch into $work/NAME whose rank RANK stops at its second step report;
# sets $took, the seconds from that stop (its log line) to the end of the launch.
silent() {
    local name=$1 r=$2 i=0 t_stop=
    SF_FAULT_STEP_DELAY_MS=300 SF_FAULT_SILENT=$r:2 launch "$name" silent 2 --heartbeat-timeout $timeout
    while kill -0 "$lpid" 2>/dev/null && [ $i -lt 1200 ]; do
        [ -z "$t_stop" ] && grep -q "SF_FAULT_SILENT: rank $r stops" "$work/$name.silent.log" &&
            t_stop=$(date +%s.%N)
        sleep 0.05
        i=$((i + 1))
    done
    await 30
    [ -n "$t_stop" ] || { die "$name: rank $r never stopped (no SF_FAULT_SILENT line)"; log_tail "$name" silent 20; }
    took=$(python3 -c "import time; print('%.1f' % (time.time() - ${t_stop:-0}))")
    echo "$name: rank $r stopped; render exit $rc $took s later (--heartbeat-timeout $timeout)"
    [ $rc = 75 ] || { die "$name: exit $rc, want 75"; log_tail "$name" silent 20; }
    python3 -c "import sys; sys.exit(not float('$took') <= $timeout + $margin)" ||
        die "$name: exit came $took s after the stop, want <= $timeout + $margin"
}

# resumed NAME: a launch without faults ends (exit 0) equal to the reference, a unit resumed
# from a checkpoint (k > 0)
resumed() {
    launch "$1" final 2
    await 120
    [ $rc = 0 ] || { die "$1: the resuming launch exited $rc, want 0"; log_tail "$1" final 20; }
    same_as_ref "$1"
    python3 - "$work/$1/events.jsonl" "$1" <<'PY' || die "$1: the resume"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
runs = [i for i, e in enumerate(ev) if e["event"] == "run"]
assert len(runs) == 2, "%d launches, want 2" % len(runs)
later = [e for e in ev[runs[1]:] if e["event"] == "started" and e.get("step", 0) > 0]
assert later, "no unit resumed from a checkpoint"
print("%s: resumed from a checkpoint: %s" % (sys.argv[2], sorted({e["unit"] for e in later})))
PY
}

silent group 1
one_error_line group silent "rank 1 (.*) silent for [0-9]* s (--heartbeat-timeout 3" \
    "the coordinator's line"
python3 - "$work/group/events.jsonl" <<'PY' || die "events of the silent-group launch"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
silent = [e for e in ev if e["event"] == "silent"]
assert len(silent) == 1 and silent[0]["rank"] == 1 and silent[0]["host"], silent
ends = [e.get("status") for e in ev if e["event"] == "run_end"]
assert ends == [75], "run_end statuses %s, want [75]" % ends
PY
resumed group

silent coord 0
one_error_line coord silent "rank 1 (.*): the coordinator (rank 0, .*) silent for [0-9]* s (--heartbeat-timeout 3" \
    "rank 1's line"
resumed coord

SF_FAULT_STEP_DELAY_MS=3000 launch long 1 2 --heartbeat-timeout 2
await 120
[ $rc = 0 ] || { die "3 s steps with --heartbeat-timeout 2: exit $rc, want 0"; log_tail long 1 20; }
grep -q '"event": "silent"' "$work/long/events.jsonl" && die "3 s steps were taken for silence"
grep -q "silent for" "$work/long.1.log" && die "3 s steps: a heartbeat line in the log"
same_as_ref long
[ "$fail" = 0 ] && echo "fault_heartbeat: ok (exit 75 after a silent worker and a silent coordinator, both resumed to the same bytes; steps longer than the timeout are not silence)"
exit $fail
