#!/bin/bash
# bench/dit_step_peers.sh — bench/dit_step and stable-diffusion.cpp back to back, ROUNDS times,
# on the same random fp16 1.3B weights, for BENCHMARKS.md ("DiT step" section). sd.cpp is stopped
# as soon as it reports "sampling completed" (its VAE decode is not part of a step).
#
#   SD_CLI=/tmp/sdcpp/sd/build/bin/sd-cli MODEL=/tmp/m13 VAE=/tmp/wanvae.safetensors \
#     bash bench/dit_step_peers.sh LATENT_H LATENT_W [ROUNDS] [SD_STEPS]
# e.g. 32 32 (256x256x5 frames, 512 tokens) or 60 104 (832x480x5, 3120 tokens). Output: one line
# per measurement with the load average, to stdout.
set -u
LH=$1 LW=$2 ROUNDS=${3:-2} SD_STEPS=${4:-2}
: "${SD_CLI:?}" "${MODEL:?}" "${VAE:?}"
BIN=${BIN:-$(dirname "$0")/../build/bench/dit_step}
LOG=$(mktemp)
for r in $(seq "$ROUNDS"); do
    "$BIN" --model "$MODEL" --latent 2,$LH,$LW --reps "$SD_STEPS" --no-sgemm 2>/dev/null |
        grep '^| 2x' | sed "s/^/round $r shotfarm /"
    : >"$LOG" # before the watcher's first grep (no stale "sampling completed")
    "$SD_CLI" -M vid_gen --diffusion-model "$MODEL"/diffusion_pytorch_model.safetensors \
        --vae "$VAE" -p "a cat" --cfg-scale 6.0 --sampling-method euler --steps "$SD_STEPS" \
        -W $((LW * 8)) -H $((LH * 8)) --video-frames 5 -t 2 --seed 1 -v -o /tmp/sdcpp_out.avi \
        >"$LOG" 2>&1 &
    pid=$!
    while kill -0 $pid 2>/dev/null && ! grep -q 'sampling completed' "$LOG"; do sleep 1; done
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null
    echo "round $r sd.cpp $(tr '\r' '\n' <"$LOG" | grep -o '[0-9]*/[0-9]* - [0-9.]*s/it' |
        sort -u | tr '\n' ' ') | $(grep -o 'sampling completed, taking [0-9.]*s' "$LOG") |" \
        "load $(cut -d' ' -f1 /proc/loadavg)"
done
rm -f "$LOG"
