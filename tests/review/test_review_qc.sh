#!/usr/bin/env bash
# QC (docs/review.md § QC) with `shotfarm qc` on clips made by the ffmpeg program, each failing
# exactly one check, next to the passing ones at the limits: 5 flashes a second fail ITU-R
# BT.1702 and 3 pass; red flashes at equal luminance fail as red flashes only; a black second,
# a frozen 1.5 s and super-white luma (EBU R 103) fail; a clean moving clip passes.
set -u
sf=${SF_SHOTFARM:?}
command -v ffmpeg >/dev/null || { echo "ffmpeg not installed: skipped"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sf-qc.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }
bt709="-pix_fmt yuv420p -color_primaries bt709 -color_trc bt709 -colorspace bt709 -c:v libx264"
# make NAME FILTERGRAPH: an H.264 clip from lavfi sources, converted to BT.709 limited range
make() {
    # shellcheck disable=SC2086
    ffmpeg -nostdin -v error -y -filter_complex "$2,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" \
        $bt709 "$work/$1.mp4" || die "ffmpeg could not make $1"
}
# moving D: a moving test pattern, desaturated so it stays inside BT.709's gamut when converted
moving() { echo "testsrc2=s=320x180:r=25:d=$1,hue=s=0.5"; }
# full-screen white/black: 3 frames each at 30 fps = 5 flashes a second; 5 frames each = 3
make flash5 "color=white:s=320x180:r=30:d=2,format=gray,geq=lum='if(lt(mod(N\,6)\,3)\,255\,0)'"
make flash3 "color=white:s=320x180:r=30:d=2,format=gray,geq=lum='if(lt(mod(N\,10)\,5)\,255\,0)'"
# saturated red against a grey of the same luminance (linear 0.2126: code 134), 5 a second
make red5 "color=red:s=320x180:r=30:d=2,format=rgb24,geq=r='if(lt(mod(N\,6)\,3)\,255\,134)':g='if(lt(mod(N\,6)\,3)\,0\,134)':b='if(lt(mod(N\,6)\,3)\,0\,134)'"
make black "color=black:s=320x180:r=25:d=1[a];$(moving 1.5)[b];[a][b]concat=n=2"
make freeze "$(moving 0.5)[a];color=gray:s=320x180:r=25:d=1.5[b];$(moving 0.5)[c];[a][b][c]concat=n=3"
make clean "$(moving 2)"
ffmpeg -nostdin -v error -y -f lavfi -i "$(moving 2)" -vf "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,lutyuv=y=250" \
    $bt709 "$work/white.mp4" || die "ffmpeg could not make white"

"$sf" qc --json "$work"/{flash5,flash3,red5,black,freeze,white,clean}.mp4 >"$work/qc.json" 2>"$work/qc.log"
rc=$?
[ $rc = 1 ] || die "qc of failing clips exited $rc, want 1"
python3 - "$work/qc.json" <<'PY' || die "QC verdicts"
import json, os, sys
got = {os.path.basename(f["path"])[:-4]: f["qc"] for f in json.load(open(sys.argv[1]))["files"]}
assert len(got) == 7, sorted(got)
for name, q in got.items():
    print("%-7s pass=%-5s flashes=%d red=%d levels=%.3f black=%s freeze=%s | %s" % (
        name, q["pass"], q["flashes"]["max_per_second"], q["flashes"]["red_max_per_second"],
        q["levels"]["worst_fraction"], q["black"], q["freeze"], q["failures"]))
fl = lambda n: got[n]["flashes"]
assert not got["flash5"]["pass"] and fl("flash5")["max_per_second"] == 5
assert "BT.1702" in got["flash5"]["failures"] and got["flash5"]["failures"].count(";") == 0
assert got["flash3"]["pass"] and fl("flash3")["max_per_second"] == 3, got["flash3"]
assert not got["red5"]["pass"] and fl("red5")["red_max_per_second"] == 5
assert fl("red5")["max_per_second"] <= 3 and "red flashes" in got["red5"]["failures"], got["red5"]
b = got["black"]
assert not b["pass"] and len(b["black"]) == 1 and abs(b["black"][0]["start"]) < 1e-3 and \
    abs(b["black"][0]["end"] - 1) < 0.05, b
z = got["freeze"]
assert not z["pass"] and len(z["freeze"]) == 1 and abs(z["freeze"][0]["start"] - 0.5) < 0.05 and \
    abs(z["freeze"][0]["end"] - 2) < 0.05 and not z["black"], z
w = got["white"]
assert not w["pass"] and w["levels"]["worst_fraction"] > 0.5 and "EBU R 103" in w["failures"], w
assert w["levels"]["luma_max"] >= 249, w["levels"]
c = got["clean"]
assert c["pass"] and c["levels"]["worst_fraction"] <= 0.01 and fl("clean")["max_per_second"] <= 3, c
PY
# the plain output: one line per file, the verdict first
"$sf" qc "$work/clean.mp4" >"$work/one.txt" || die "qc of a clean clip exited $?"
grep -qx "PASS $work/clean.mp4" "$work/one.txt" || die "plain output: $(cat "$work/one.txt")"
"$sf" qc "$work/nope.mp4" >/dev/null 2>"$work/nope.log" && die "qc of a missing file succeeded"
grep -q "nope.mp4" "$work/nope.log" || die "a missing file is not named: $(cat "$work/nope.log")"
[ $fail = 0 ] && echo "review_qc: ok"
exit $fail
