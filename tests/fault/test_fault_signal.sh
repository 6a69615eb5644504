#!/usr/bin/env bash
# Signal test (issue 16 § Proof; docs/testing.md § fault):
#  1. SIGUSR1 to mpirun (it forwards it to the ranks) at the first step event: both alpha
#     shots stop at their next step boundary -> exit 75, run_end status 75, an `interrupted`
#     event (step, checkpoint) for every unit that was denoising, naming the newest checkpoint,
#     and every checkpoint in ckpt/ verifies (`shotfarm inspect`);
#  2. the relaunch resumes them without recomputing a step <= k, finishes them and starts
#     beta/three; at its first step SIGTERM goes to the ranks (what Slurm does on preemption;
#     SIGTERM to mpirun makes Open MPI 4 SIGKILL the ranks 1 s later and exit 1) -> exit 75
#     again, same checks;
#  3. the third launch resumes beta/three and completes with frames and latents identical to an
#     uninterrupted render.
. "$(dirname "$0")/common.sh"
reference
export SF_FAULT_STEP_DELAY_MS=300
snaps=()
for sig in USR1 TERM; do
    tag=$sig
    launch run $tag 2
    what=$STEP
    [ $sig = TERM ] && what="$STEP.*beta/three"
    wait_events run "$what" 1 60 || { await 5; die "$sig launch ended (exit $rc) before a step event"; break; }
    if [ $sig = USR1 ]; then
        kill -USR1 "$lpid"
    else
        kill -TERM $(pgrep -P "$lpid")
    fi
    t0=$(date +%s.%N)
    await 30
    echo "SIG$sig: exit $rc after $(python3 -c "import time; print('%.1f' % (time.time() - $t0))") s"
    [ $rc = 75 ] || { die "SIG$sig: exit $rc, want 75"; log_tail run $tag; }
    every_ckpt_verifies run
    [ "$ckpts" -gt 0 ] || die "SIG$sig: no checkpoint in ckpt/"
    faultlib snapshot "$work/run" "$sf" >"$work/$sig.json" || die "snapshot"
    snaps+=("$work/$sig.json")
    faultlib interrupted "$work/run" "$work/run.launches" $tag "$work/$sig.json" \
        || die "SIG$sig: interrupted events"
done
[ "$fail" = 0 ] || exit 1
finish_run 2 "${snaps[@]}"
[ "$fail" = 0 ] && echo "fault_signal: ok (SIGUSR1 and SIGTERM -> 75, $k resumes, identical to the uninterrupted render)"
exit $fail
