#!/usr/bin/env bash
# shotfarm submit on a real 2-node Slurm cluster on loopback (slurm/local-cluster.sh), 2 nodes x 1
# rank, compared with a local `mpirun -np 2` reference render of the same campaign:
#  1. a plain job, submitted by an ordinary user, runs as that user, completes, its run directory
#     and cache belong to that user, and its shot files are byte-identical to the reference;
#  2. preemption: steps slowed with SF_FAULT_STEP_DELAY_MS (passed to the job in submit's
#     environment), `scancel --signal=USR1 --batch` while a denoise unit runs -> the batch
#     script forwards it, render checkpoints and exits 75, the script requeues the job; after
#     the BeginTime hold is released the second launch (SLURM_RESTART_COUNT=1) resumes from the
#     checkpoints (a second `run` event, a `started` at step > 0) and ends with the reference's
#     bytes;
#  3. scancel: SIGTERM to the batch shell and the ranks; render checkpoints and exits 75, and the
#     script does not requeue (that would undo the cancel): CANCELLED, Restarts=0;
#  4. SIGUSR1 then SIGTERM to the batch shell (the time limit after its warning): requeued;
#  5. a submission sbatch refuses (unknown partition): exit 1 with sbatch's own message.
# (A cut link under Slurm, render's heartbeat: test_submit_hosts.sh, label hosts.)
# The cluster runs slurmdbd with MariaDB (accounting): `status --json` of jobs 1 and 2 has
# sacct's launches (state, elapsed, allocated CPU-seconds) beside the plan's makespan, `status`
# prints them, and `shotfarm report` adds them to the report page; without sacct both say
# "not available" and succeed.
# Skips (77) when not root, or Slurm or ffmpeg is missing (common.sh).
. "$(dirname "$0")/common.sh"

# accounted NAME STATE...: `status --json` of NAME (as the job user) has sacct's launches of its
# job with those states, in order (waits up to 20 s for slurmdbd to record the last), each with
# its elapsed time, 2 CPUs (2 nodes x 1 rank x 1 CPU), CPU-seconds = elapsed x CPUs and the
# plan's makespan; `status` prints a line per launch
accounted() {
    local name=$1 i out
    shift
    for i in $(seq 40); do
        out=$(as_user "$sf" status "$w/$name" --json | python3 -c '
import json, sys
want = sys.argv[1:]
a = json.load(sys.stdin)["slurm"]["accounting"]
if not a["available"]:
    sys.exit("accounting not available: " + a["why"])
got = [l["state"] for l in a["launches"]]
if got != want:
    print("sacct states %s, want %s" % (got, want)); sys.exit(3)
for l in a["launches"]:
    assert l["cpus"] == 2 and l["elapsed_s"] >= 0 and l["cpu_seconds"] == l["elapsed_s"] * 2, l
    assert l["plan"]["elapsed_s"] > 0 and l["plan"]["cpu_seconds"] == 2 * l["plan"]["elapsed_s"], l
    assert l["plan"]["profile"] == "h200", l   # the profile render prices with (manifest)
assert a["elapsed_s"] == sum(l["elapsed_s"] for l in a["launches"]), a
print("sacct: %s, %d s elapsed, %d CPU-s; plan %.1f s" % (got, a["elapsed_s"], a["cpu_seconds"],
                                                         a["plan"]["elapsed_s"]))
' "$@")
        case $? in
        0) elapsed "$name: $out"; break ;;
        3) sleep 0.5 ;; # slurmdbd records the end of a launch asynchronously
        *) die "$name: status --json: $out"; return ;;
        esac
    done
    [ $i -lt 40 ] || die "$name: $out"
    as_user "$sf" status "$w/$name" |
        grep -q "^  sacct launch $#: job [0-9]* ${!#} on .*; plan (H200 estimate): " ||
        die "$name: status prints no sacct line: $(as_user "$sf" status "$w/$name" | head -5)"
    # `shotfarm report` adds the same launches to the report page
    as_user "$sf" report "$w/$name" >/dev/null || die "$name: report exited $?"
    python3 - "$w/$name/report.html" "$@" <<'PY' || die "$name: the report page lacks sacct's launches"
import re, sys
html = open(sys.argv[1]).read()
m = re.search(r'<table id="sacct">(.*?)</table>', html, re.S)
assert m, "no sacct table"
assert "<th>planned s (H200 estimate)</th>" in m.group(1), "no plan column labelled with its profile"
rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>(\d+)</td><td>([A-Z_]+)</td>", m.group(1))
assert [r[2] for r in rows] == sys.argv[2:], (rows, sys.argv[2:])
PY
}

# 1. a plain job
job=$(submit plain) || { cat "$w/plain.submit.log"; exit 1; }
[[ $job =~ ^[0-9]+$ ]] || die "submit printed '$job', not a job id"
wait_gone "$job" 120 || { die "job $job still queued after 120 s"; scancel "$job"; }
elapsed "plain job $job: $(state "$job")"
[ "$(state "$job")" = COMPLETED ] || die "plain job: state $(state "$job"):
$(log_of plain | tail -20)"
same_shots plain
owned_by_user plain "$job"
grep -q '"event": "run".*"ranks": 2' "$w/plain/events.jsonl" || die "plain job: not 2 ranks"
log_of plain | grep -q 'launch 1 (SLURM_RESTART_COUNT=0) on 2 node(s)' ||
    die "plain job: no launch line: $(log_of plain | head -3)"
accounted plain COMPLETED
# without sacct (a cluster that keeps no accounting): status and report say so in one line and
# do not fail (PATH holds only `timeout`, which then cannot find sacct)
mkdir -p "$w/nosacct" && ln -sf "$(command -v timeout)" "$w/nosacct/timeout"
out=$(as_user env PATH="$w/nosacct" "$sf" status "$w/plain") || die "status without sacct exited $?"
grep -q '^slurm accounting: not available (sacct is not installed)$' <<<"$out" ||
    die "status without sacct: $(grep -i 'accounting' <<<"$out")"
as_user env PATH="$w/nosacct" "$sf" report "$w/plain" >/dev/null || die "report without sacct exited $?"
grep -q '<p id="sacct">Not available: sacct is not installed</p>' "$w/plain/report.html" ||
    die "report without sacct: $(grep -o '<p id="sacct">[^<]*' "$w/plain/report.html")"
as_user "$sf" report "$w/plain" >/dev/null || die "report exited $?" # the table back for later

# 2. preemption. The signal must reach a denoise unit before its last step boundary (the render
#    campaign has 2 steps): 3 s steps leave room for a slow `scancel` -> trap -> srun hop.
job=$(SF_FAULT_STEP_DELAY_MS=3000 submit pre --ckpt-every 100) || { cat "$w/pre.submit.log"; exit 1; }
ev=$w/pre/events.jsonl
wait_denoise pre 1 || die "preempt: no denoise unit started in 60 s: $(log_of pre | tail -5)"
scancel --signal=USR1 --batch "$job" || die "scancel --signal=USR1 --batch $job failed"
elapsed "preempt: USR1 sent to job $job"
resumes pre "$job" preempt
scontrol show job "$job" | grep -q 'Restarts=1 ' || die "preempt: $(scontrol show job "$job" | grep -o 'Restarts=[0-9]*')"
log_of pre | grep -q 'got SIGUSR1: render checkpoints' || die "preempt: the trap did not run"
log_of pre | grep -q 'render checkpointed (exit 75): requeueing job' || die "preempt: no requeue line"
log_of pre | grep -q 'launch 2 (SLURM_RESTART_COUNT=1)' || die "preempt: no second launch"
[ "$(grep -c '"event": "run"' "$ev")" = 2 ] || die "preempt: $(grep -c '"event": "run"' "$ev") run events, want 2"
grep -q '"event": "interrupted"' "$ev" || die "preempt: no unit was interrupted"
grep '"event": "run_end"' "$ev" | head -1 | grep -q '"status": 75' || die "preempt: the first launch did not end with 75"
grep '"event": "started".*"kind": "denoise"' "$ev" | grep -Eq '"step": [1-9]' ||
    die "preempt: no denoise unit resumed at a step > 0"
same_shots pre
accounted pre REQUEUED COMPLETED

# 3. scancel (SIGTERM to the batch shell and the ranks): render still checkpoints and exits 75,
#    but the script must not requeue a cancelled job
job=$(SF_FAULT_STEP_DELAY_MS=2000 submit cancel) || { cat "$w/cancel.submit.log"; exit 1; }
ev=$w/cancel/events.jsonl
wait_denoise cancel 1
scancel "$job"
wait_gone "$job" 60 || die "scancel: job $job still queued after 60 s"
elapsed "scancel: job $job: $(state "$job")"
[ "$(state "$job")" = CANCELLED ] || die "scancel: state $(state "$job")"
scontrol show job "$job" | grep -q 'Restarts=0 ' || die "scancel: the job was requeued"
log_of cancel | grep -q 'render checkpointed (exit 75) after SIGTERM: not requeueing' ||
    die "scancel: $(log_of cancel | grep shotfarm-submit)"
grep -q '"event": "interrupted"' "$ev" || die "scancel: no unit checkpointed"

# 4. SIGUSR1 then SIGTERM to the batch shell (a time limit that catches a render still
#    checkpointing): requeued all the same; the pending job is then cancelled
job=$(SF_FAULT_STEP_DELAY_MS=3000 submit late) || { cat "$w/late.submit.log"; exit 1; }
ev=$w/late/events.jsonl
wait_denoise late 1
scancel --signal=USR1 --batch "$job"
scancel --signal=TERM --batch "$job"
held "$job"
ok=$?
elapsed "USR1 + TERM: job $job: $(state "$job")"
[ $ok = 0 ] || die "USR1 + TERM: not requeued: $(log_of late | grep shotfarm-submit)"
log_of late | grep -q 'got SIGTERM' || die "USR1 + TERM: the TERM did not reach the trap"
scancel "$job"
wait_gone "$job" 30 || die "USR1 + TERM: the requeued job did not cancel"

# 5. sbatch refuses: its own message, exit 1
submit refused --partition nosuch >/dev/null
rc=$?
[ $rc = 1 ] || die "unknown partition: exit $rc, want 1"
grep -q "sbatch: error: .*[Pp]artition" "$w/refused.submit.log" ||
    die "unknown partition: not sbatch's message: $(cat "$w/refused.submit.log")"

elapsed "done"
[ $fail = 0 ] && echo "submit_slurm: ok"
exit $fail
