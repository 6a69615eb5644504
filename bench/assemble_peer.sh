#!/usr/bin/env bash
# assemble_peer.sh — the same-run baseline for bench/assemble: the `ffmpeg` program doing the
# same work per codec (832x480 RGB source, lanczos to cover 1920x1080, BT.709 limited range,
# the same encoder settings, one thread), from a raw file of the same number of frames.
#   bash bench/assemble_peer.sh [BUILD_DIR] [FRAMES]
set -euo pipefail
build=${1:-build} frames=${2:-48}
dir=$(mktemp -d /tmp/sf-bench-peer.XXXXXX)
trap 'rm -rf "$dir"' EXIT
ffmpeg -v error -f lavfi -i "testsrc2=size=832x480:rate=24,noise=alls=12:allf=t" \
    -frames:v "$frames" -f rawvideo -pix_fmt rgb24 "$dir/src.rgb"
peer() { # NAME ARGS...
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s 832x480 -r 24000/1001 -i "$dir/src.rgb" \
        -vf "scale=1920:1080:force_original_aspect_ratio=increase:flags=lanczos+accurate_rnd+bitexact:out_color_matrix=bt709:out_range=tv,crop=1920:1080" \
        -threads 1 "$@" "$dir/out"
    t1=$(date +%s.%N)
    awk -v n="$name" -v f="$frames" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-24s %10.1f frames/s\n", n, f / (b - a) }'
}
echo "ffmpeg program, 1080p from 832x480, $frames frames, 1 thread"
peer "h264 veryfast (draft)" -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -f mp4
peer "h264 medium (final)" -c:v libx264 -preset medium -crf 23 -pix_fmt yuv420p -f mp4
peer "prores 422 HQ" -c:v prores_ks -profile:v hq -pix_fmt yuv422p10le -f mov
peer "ffv1 level 3" -c:v ffv1 -level 3 -slices 4 -pix_fmt yuv422p10le -f matroska
echo
"$build/bench/assemble" --frames "$frames" --resolution 1080 --threads 1 2>/dev/null
