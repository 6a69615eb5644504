#!/usr/bin/env bash
# Windowed shot (issue 23; docs/windows.md): a 15 s shot (tests/fault/windows.yaml: 241 frames,
# 61 latent frames, 4 windows of 21 with overlap 5) renders through the farm:
#  1. reference: an uninterrupted launch, stopped (kill -9) once its denoise unit published the
#     final latent;
#  2. SIGUSR1 to mpirun after step 2 of 4 -> exit 75; the checkpoints verify and hold the whole
#     latent (16, 61, 8, 8) and the UniPC history of the whole shot;
#  3. the relaunch resumes from the checkpoint, its final latent equals the reference's byte for
#     byte, and the shot file has exactly 241 frames at 16 fps, decoded from the full length
#     (the launches stop once what is checked is written: the deliverables are not needed).
. "$(dirname "$0")/common.sh"
cp "$here/windows.yaml" "$campaign"
latent=latents/long.walk.take1.16x9.h5
FINISHED='"event": *"finished".*denoise'

# 1. the reference latent
launch ref 1 1
wait_events ref "$FINISHED" 1 120 || { await 5; log_tail ref 1 20; die "reference: no finished denoise (exit $rc)"; exit 1; }
kill -9 $(pgrep -P "$lpid") "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null
[ -f "$work/ref/$latent" ] || { die "reference: no $latent"; exit 1; }
grep -q "denoise: 4 windows of 21 latent frames (overlap 5) over 61" "$work/ref.1.log" ||
    die "reference: the log does not report 4 windows: $(grep -m1 denoise "$work/ref.1.log")"

# 2. interrupted after step 2
SF_FAULT_STEP_DELAY_MS=300 launch run USR1 1
wait_events run "$STEP" 2 60 || { await 5; die "interrupted launch ended (exit $rc) before step 2"; }
kill -USR1 "$lpid"
await 60
[ $rc = 75 ] || { die "SIGUSR1: exit $rc, want 75"; log_tail run USR1; }
every_ckpt_verifies run
[ "$ckpts" -gt 0 ] || die "no checkpoint in ckpt/"
newest=$(ls "$work"/run/ckpt/*.h5 2>/dev/null | sort | tail -1)
info=$("$sf" inspect "$newest" 2>&1)
grep -Eq "^  latent +fp32 +\[16, 61, 8, 8\]" <<<"$info" &&
    grep -Eq "^  sampler/history +fp32 +\[2, 62464\]" <<<"$info" ||
    die "the checkpoint does not hold the whole shot's latent and history: $info"

# 3. resumed until the shot file is written (the deliverables after it are other tests' work)
launch run final 1
wait_events run '"event": *"finished".*decode' 1 120 ||
    { await 5; die "the resumed launch ended (exit $rc) before its decode finished"; log_tail run final 20; }
kill -9 $(pgrep -P "$lpid") "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null
grep -q '"event": *"started".*denoise.*"step": *[1-9]' <(tail -n +$((ev_base + 1)) "$work/run/events.jsonl") ||
    die "the relaunch did not resume the denoise unit from a checkpoint"
cmp -s "$work/ref/$latent" "$work/run/$latent" || die "resumed latent differs from the uninterrupted one"
n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,r_frame_rate \
    -of csv=p=0 "$work/run/shots/long.walk.take1.16x9.mkv")
[ "$n" = "16/1,241" ] || die "shot file: $n (rate, frames), want 16/1,241"
[ "$fail" = 0 ] && echo "fault_windows: ok (4 windows, SIGUSR1 -> 75, resumed to the same latent bytes, 241 frames)"
exit $fail
