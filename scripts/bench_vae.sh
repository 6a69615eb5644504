#!/usr/bin/env bash
# The VAE decode benchmark of BENCHMARKS.md: shotfarm (bench/vae_decode) and diffusers on CPU in
# the same run, 2 threads each, on a random full-width VAE (mkmodel --component vae, fp32 and
# bf16 weights). Usage: scripts/bench_vae.sh [BUILD_DIR] [FRAMES] [HEIGHT] [WIDTH]
# On AVX-512 machines OpenBLAS 0.3.21 picks a generic SGEMM kernel unless told the core type
# (BENCHMARKS.md § Wan-VAE decode); this script sets OPENBLAS_CORETYPE=SkylakeX there unless the
# caller set it.
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
cat /proc/loadavg
