#!/usr/bin/env bash
# Bad sound input is refused before anything runs (docs/sound.md): a music file that is not
# sound, a voice variant espeak-ng lacks, a zh line without its pinyin, a line that runs past
# the end of its edit. Each: `render -np 2` exits 2 with one error line naming the file, line,
# column and field, and no run directory output exists afterwards.
. "$(dirname "$0")/../render/common.sh"
# case NAME SED-SCRIPT WANT: the demo with one edit; WANT is a fixed string the error must hold
case_() {
    local name=$1 script=$2 want=$3
    rm -rf "$work/demo"
    cp -r "$src/examples/demo" "$work/demo"
    sed -i "$script" "$work/demo/campaign.yaml"
    [ "$name" = music ] && printf 'not sound\n' >"$work/demo/music/bad.m4a"
    "$mpiexec" -np 2 "$sf" render "$work/demo/campaign.yaml" -o "$work/run-$name" \
        --model "$work/model" --tokenizer "$tokenizer" --cache "$work/cache" \
        >/dev/null 2>"$work/$name.err"
    local rc=$? errs
    [ $rc = 2 ] || die "$name: render exited $rc, want 2"
    errs=$(grep -c 'campaign.yaml:[0-9]*:[0-9]*: ' "$work/$name.err")
    [ "$errs" = 1 ] || { die "$name: $errs diagnostics, want 1"; cat "$work/$name.err"; }
    grep -qF "$want" "$work/$name.err" || { die "$name: the error lacks '$want'"; cat "$work/$name.err"; }
    [ ! -e "$work/run-$name/out" ] && [ ! -e "$work/run-$name/shots" ] ||
        die "$name: render made outputs before refusing"
}
case_ music '0,/file: music\/bed.m4a/s//file: music\/bad.m4a/' \
    "sequences[0].music.file: 'music/bad.m4a' cannot be decoded"
case_ voice 's/variant: m3/variant: tenor/' "elements[1].voice.variant: espeak-ng 1.51 has no voice variant 'tenor'"
case_ pinyin '/phonetic: "jia1 you2/d' "sequences[0].shots[3].dialogue[2].phonetic: missing"
case_ long 's/text: "Push! Own the morning!"/text: "Push! Own the morning! Every stride, every breath, every step of the way to the line, keep going."/' \
    "the en line of 'coach' lasts"
[ "$fail" = 0 ] && echo "sound_refusal: ok (4 cases refused with one line each)"
exit $fail
