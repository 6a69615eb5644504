#!/usr/bin/env bash
# shotfarm submit --per-sequence on a real 2-node Slurm cluster on loopback (slurm/local-cluster.sh
# with MaxArraySize=2), compared with a local `mpirun -np 2` render of the whole campaign:
#  1. the two-sequence campaign as a job array (one task per sequence, each `render --sequence`
#     into RUNDIR/seq/SEQ) and an afterok assembly job (`render --from-sequences` in RUNDIR):
#     every task and the assembly COMPLETE; each sequence's directory holds only its own shots;
#     the assembly renders no shot again (every denoise and decode taken from the sequences);
#     the shots, latents and deliverables are byte-identical to the single render's, and
#     deliverables.json lists the same files with the same hashes; all of it belongs to the
#     ordinary user that submitted (common.sh); `status RUNDIR` (and --json)
#     reads the set: both sequences and the assembly; report.html counts the sequences' work;
#  2. a three-sequence campaign does not fit MaxArraySize=2: exit 2, one line naming both
#     numbers, nothing written;
#  3. render's refusals: an unknown --sequence, --sequence with --from-sequences, and
#     --from-sequences where there is no RUNDIR/seq (exit 2).
# Skips (77) when not root, or Slurm or ffmpeg is missing (common.sh).
export SF_SLURM_MAX_ARRAY=2
. "$(dirname "$0")/common.sh"

# 1. one array task per sequence, then the assembly
ids=$(submit arr --per-sequence) || { cat "$w/arr.submit.log"; exit 1; }
arr=$(echo "$ids" | sed -n 1p) asm=$(echo "$ids" | sed -n 2p)
[[ $arr =~ ^[0-9]+$ && $asm =~ ^[0-9]+$ ]] || die "submit printed '$ids', not two job ids"
grep -q -- "--dependency=afterok:ARRAY_JOB_ID" "$w/arr/assemble.sbatch" || die "assemble.sbatch lacks its dependency note"
scontrol show job "$asm" | grep -q "Dependency=afterok:${arr}_\*" ||
    die "assembly job: $(scontrol show job "$asm" | grep -o 'Dependency=[^ ]*')"
wait_gone "$asm" 180 || { die "assembly job $asm still queued after 180 s"; scancel "$arr" "$asm"; }
elapsed "array job $arr, assembly job $asm: $(state "$asm")"
[ "$(state "$asm")" = COMPLETED ] || die "assembly: state $(state "$asm"): $(cat "$w/arr/slurm-$asm.out" | tail -20)"
for t in 0 1; do
    [ "$(state "${arr}_$t")" = COMPLETED ] || die "array task $t: state $(state "${arr}_$t")"
    grep -q "task $t: sequence" "$w/arr/slurm-${arr}_$t.out" ||
        die "array task $t: no sequence line in slurm-${arr}_$t.out"
done
for s in alpha beta; do
    [ -f "$w/arr/seq/$s/manifest.json" ] || die "no manifest in seq/$s"
    n=$(ls "$w/arr/seq/$s/shots" | wc -l)
    [ "$n" = "$(ls "$w/ref/shots" | grep -c "^$s\.")" ] || die "seq/$s: $(ls "$w/arr/seq/$s/shots")"
    [ -z "$(ls "$w/arr/seq/$s/shots" | grep -v "^$s\.")" ] || die "seq/$s holds another sequence's shots"
    [ ! -e "$w/arr/seq/$s/out" ] || die "seq/$s: a sequence render built deliverables"
done
grep -q -- '--from-sequences: 6 units taken from 2 sequence run directories, 0 to render here' \
    "$w/arr/slurm-$asm.out" || die "assembly: $(grep -- --from-sequences "$w/arr/slurm-$asm.out")"
! grep -Eq '"event": "started".*"kind": "(denoise|decode)"' "$w/arr/events.jsonl" ||
    die "assembly: rendered a shot again"
same_shots arr
owned_by_user arr "$asm"
# every file of the single render (latents, deliverables, contact sheets, ...), byte for byte;
# the JSON and timeline files name their run directory, so they are compared without it
n=0
while read -r f; do
    n=$((n + 1))
    case $f in
    *.json | *.edl | *.otio | *.html | *.jsonl)
        cmp -s <(sed "s|$w/ref|RUN|g" "$w/ref/$f") <(sed "s|$w/arr|RUN|g" "$w/arr/$f") ||
            [ "$f" = out/deliverables.json ] || die "$f differs (beyond the run directory's name)" ;;
    *) cmp -s "$w/ref/$f" "$w/arr/$f" || die "$f differs from the single render's (or is missing)" ;;
    esac
done < <(cd "$w/ref" && find latents out -type f | sort)
[ $n -gt 20 ] || die "the reference has only $n files"
hashes() { grep -E '"(name|sha256|bytes)"' "$1" | sed 's/,$//' | sort; }
[ "$(hashes "$w/ref/out/deliverables.json")" = "$(hashes "$w/arr/out/deliverables.json")" ] ||
    die "deliverables.json: $(diff <(hashes "$w/ref/out/deliverables.json") <(hashes "$w/arr/out/deliverables.json") | head)"
elapsed "per-sequence: $n files equal to the single render's"
st=$("$sf" status "$w/arr") || die "status failed"
for want in "sequence alpha:" "sequence beta:" "assembly:" "$w/arr/seq/alpha: 8 units: 8 done" \
    "$w/arr/seq/beta: 4 units: 4 done" "slurm job ${arr}_0: 1 launch " "slurm job ${arr}_1: 1 launch " \
    "slurm job $asm: 1 launch " "$w/arr: 27 units: 27 done"; do
    echo "$st" | grep -q -- "$want" || die "status lacks '$want': $st"
done
# the report counts the sequences' work: each shot's units measured (in seq/SEQ), not reused
for s in alpha/one alpha/two beta/three; do
    read -r -a c <<<"$(grep -o "<tr><td>$s</td>.*</tr>" "$w/arr/report.html" | head -1 | sed 's/<[^>]*>/ /g')"
    # shot, units, planned s, planned device-s, measured s, measured device-s, wall s, reused, ...
    [ "${#c[@]}" = 10 ] && [ "${c[7]}" = 0 ] && awk -v m="${c[4]}" 'BEGIN { exit !(m + 0 > 0) }' ||
        die "report.html, cost of $s: ${c[*]}"
done
"$sf" status --json "$w/arr" >"$w/st.json" || die "status --json failed"
grep -q '"sequences"' "$w/st.json" && grep -q '"sequence": "beta"' "$w/st.json" &&
    grep -q '"assembly": {' "$w/st.json" || die "status --json: $(head -c 400 "$w/st.json")"

# 2. more sequences than MaxArraySize
awk '/^deliverables:/ { print "  - id: gamma\n    aspect: \"16:9\"\n    shots:\n      - id: four\n        prompt: \"A lighthouse\"\n        duration: 3" } { print }' \
    "$campaign" >"$w/three.yaml"
"$sf" validate "$w/three.yaml" >/dev/null 2>&1 || die "the three-sequence campaign is invalid"
OMPI_MCA_btl=self,tcp as_user "$sf" submit "$w/three.yaml" -o "$w/big" --per-sequence --model "$w/model" \
    --tokenizer "$tok" 2>"$w/big.err"
rc=$?
[ $rc = 2 ] || die "too many sequences: exit $rc, want 2"
[ "$(wc -l <"$w/big.err")" = 1 ] || die "too many sequences: not one line: $(cat "$w/big.err")"
grep -q 'has 3 sequences, but this cluster.s MaxArraySize is 2' "$w/big.err" ||
    die "too many sequences: $(cat "$w/big.err")"
[ ! -e "$w/big" ] || die "too many sequences: the run directory was created"
elapsed "three sequences refused: $(cat "$w/big.err")"

# 3. render's refusals (exit 2, one line): an unknown sequence, both options, nothing to gather
refused() { # refused WHAT PATTERN ARGS...
    local what=$1 pat=$2
    shift 2
    "$sf" render "$campaign" -o "$w/bad" --model "$w/model" --tokenizer "$tok" \
        --cache "$w/cache-bad" "$@" >/dev/null 2>"$w/bad.err"
    local rc=$?
    [ $rc = 2 ] || die "render $what: exit $rc, want 2: $(cat "$w/bad.err")"
    grep -q -- "$pat" "$w/bad.err" || die "render $what: $(cat "$w/bad.err")"
}
refused "--sequence gamma" "--sequence gamma: the campaign fault-test has no such sequence; give one of: alpha, beta" --sequence gamma
refused "--sequence and --from-sequences" "give one" --sequence alpha --from-sequences
refused "--from-sequences, no seq/" "--from-sequences: $w/bad/seq: No such file or directory" --from-sequences
exit $fail
