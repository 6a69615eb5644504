#!/usr/bin/env bash
# make-refs.sh — regenerates the demo's reference images and clip with ffmpeg (the committed
# files came from this script; rerun it only to change them): the coach's 4 s reference clip and
# the brand layer. The PNG stills come from scripts/demo_model/make_refs.py. Needs the ffmpeg
# command (Debian package ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/refs"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# The elements' reference stills (runner-N, coach-N, shoe-N .png) are the demo model's world
# elements, drawn by scripts/demo_model/make_refs.py (Python with numpy and Pillow).
ff -f lavfi -i "testsrc=size=64x64:rate=8:duration=4" -c:v libx264 -preset veryslow -crf 40 \
   -pix_fmt yuv420p coach-clip.mp4
# the brand layer (docs/brand.md): a logo with a transparent background, and an end card
mkdir -p ../brand
ff -f lavfi -i "color=c=black@0.0:s=96x48,format=rgba,drawbox=x=4:y=8:w=88:h=32:color=0x0a1a3a@1.0:t=fill,drawbox=x=12:y=20:w=72:h=8:color=0xffd700@1.0:t=fill" \
   -frames:v 1 ../brand/logo.png
ff -f lavfi -i "color=c=0x0a1a3a:s=160x90,drawbox=x=40:y=50:w=80:h=16:color=0xffffff:t=fill,drawbox=x=40:y=66:w=80:h=4:color=0x1e90ff:t=fill,drawbox=x=56:y=24:w=48:h=6:color=0xffd700:t=fill" \
   -frames:v 1 -pix_fmt rgb24 ../brand/end-card.png
