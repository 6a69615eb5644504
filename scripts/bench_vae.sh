#!/usr/bin/env bash
# The VAE decode benchmark of BENCHMARKS.md: shotfarm (bench/vae_decode) and diffusers on CPU in
# the same run, 2 threads each, on a random full-width VAE (mkmodel --component vae, fp32 and
# bf16 weights). Usage: scripts/bench_vae.sh [BUILD_DIR] [FRAMES] [HEIGHT] [WIDTH]
# On AVX-512 machines OpenBLAS 0.3.21 picks a generic SGEMM kernel unless told the core type
# (BENCHMARKS.md § Wan-VAE decode); this script sets OPENBLAS_CORETYPE=SkylakeX there unless the
# caller set it.
# With SD_CLI (stable-diffusion.cpp's sd-cli), SD_MODEL (a Wan2.1 1.3B diffusion safetensors) and
# SD_VAE (a Wan VAE safetensors, e.g. from bench/random_wan_vae.py) set, sd.cpp runs too: it has
# no VAE-only mode, so it samples 1 step without CFG at the same size and its log's
# "decode_first_stage completed" line gives the VAE decode's wall time; its "wan_vae compute
# buffer" and VAE params lines give the VAE's memory (the process peak also holds the DiT).
set -euo pipefail
build=${1:-build}; T=${2:-2}; H=${3:-256}; W=${4:-256}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
lscpu | grep 'Model name'
cat /proc/loadavg
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-}"
"$build/shotfarm" mkmodel --component vae --dtype fp32 -o "$tmp/f32" 2>/dev/null
"$build/shotfarm" mkmodel --component vae --dtype bf16 -o "$tmp/bf16" 2>/dev/null
"$build/bench/vae_decode" --model "$tmp/f32" --frames "$T" --height "$H" --width "$W" --threads 2
/opt/sf-ref/bin/python "$(dirname "$0")/../bench/vae_decode_diffusers.py" --frames "$T" \
    --height "$H" --width "$W" --threads 2
"$build/bench/vae_decode" --model "$tmp/bf16" --frames "$T" --height "$H" --width "$W" --threads 2
if [ -n "${SD_CLI:-}" ]; then
    cat /proc/loadavg
    /usr/bin/time -v "$SD_CLI" -M vid_gen --diffusion-model "$SD_MODEL" --vae "$SD_VAE" -p "a cat" \
        --cfg-scale 1.0 --sampling-method euler --steps 1 -W "$W" -H "$H" \
        --video-frames $((1 + 4 * (T - 1))) -t 2 --seed 1 -v -o "$tmp/sd.avi" >"$tmp/sd.log" 2>&1 ||
        echo "sd.cpp failed (log: $tmp/sd.log)"
    grep -aE "decode_video_outputs latent|params backend buffer \(1|wan_vae compute buffer|decode_first_stage completed|Maximum resident|Elapsed" "$tmp/sd.log" || true
fi
cat /proc/loadavg
