#!/usr/bin/env bash
# make-refs.sh — regenerates the demo's reference images and clip with ffmpeg (the committed
# files came from this script; rerun it only to change them). Each element gets four 64x64 PNGs
# that differ in colour and framing, so the identity bank has real, distinct pictures to encode;
# the coach also gets a 4 s reference clip. Needs the ffmpeg command (Debian package ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/refs"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
png() { # name lavfi-source
  ff -f lavfi -i "$2" -frames:v 1 -pix_fmt rgb24 "$1.png"
}
# runner: warm tones (a figure in motion), the shoe: a bright product colourway, the coach: cool.
png runner-1 "color=c=0xd9622b:s=64x64,drawbox=x=24:y=8:w=16:h=48:color=0x3a2a1a:t=fill"
png runner-2 "color=c=0xe07b39:s=64x64,drawbox=x=16:y=12:w=24:h=40:color=0x3a2a1a:t=fill"
png runner-3 "color=c=0xc4502a:s=64x64,drawbox=x=28:y=4:w=12:h=56:color=0x2a1a10:t=fill"
png runner-4 "color=c=0xf0a050:s=64x64,drawbox=x=8:y=20:w=48:h=24:color=0x3a2a1a:t=fill"
png shoe-1 "color=c=0xffffff:s=64x64,drawbox=x=8:y=36:w=48:h=16:color=0x1e90ff:t=fill"
png shoe-2 "color=c=0xf4f4f4:s=64x64,drawbox=x=12:y=28:w=40:h=20:color=0x1e90ff:t=fill,drawbox=x=12:y=44:w=40:h=4:color=0xffd700:t=fill"
png shoe-3 "color=c=0xeeeeee:s=64x64,drawbox=x=4:y=40:w=56:h=12:color=0x1874cd:t=fill"
png shoe-4 "color=c=0xfafafa:s=64x64,drawbox=x=20:y=20:w=24:h=24:color=0x1e90ff:t=fill,drawbox=x=28:y=28:w=8:h=8:color=0xffd700:t=fill"
png coach-1 "color=c=0x2b5fd9:s=64x64,drawbox=x=20:y=8:w=24:h=48:color=0x101a3a:t=fill"
png coach-2 "color=c=0x3970e0:s=64x64,drawbox=x=16:y=16:w=32:h=40:color=0x101a3a:t=fill"
png coach-3 "color=c=0x2a4fc4:s=64x64,drawbox=x=24:y=4:w=16:h=56:color=0x0a1028:t=fill"
png coach-4 "color=c=0x5090f0:s=64x64,drawbox=x=12:y=24:w=40:h=32:color=0x101a3a:t=fill"
ff -f lavfi -i "testsrc=size=64x64:rate=8:duration=4" -c:v libx264 -preset veryslow -crf 40 \
   -pix_fmt yuv420p coach-clip.mp4
# the brand layer (docs/brand.md): a logo with a transparent background, and an end card
mkdir -p ../brand
ff -f lavfi -i "color=c=black@0.0:s=96x48,format=rgba,drawbox=x=4:y=8:w=88:h=32:color=0x0a1a3a@1.0:t=fill,drawbox=x=12:y=20:w=72:h=8:color=0xffd700@1.0:t=fill" \
   -frames:v 1 ../brand/logo.png
ff -f lavfi -i "color=c=0x0a1a3a:s=160x90,drawbox=x=40:y=50:w=80:h=16:color=0xffffff:t=fill,drawbox=x=40:y=66:w=80:h=4:color=0x1e90ff:t=fill,drawbox=x=56:y=24:w=48:h=6:color=0xffd700:t=fill" \
   -frames:v 1 -pix_fmt rgb24 ../brand/end-card.png
