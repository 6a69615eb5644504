#!/usr/bin/env bash
# shotfarm submit without Slurm (docs/submit.md): --dry-run writes RUNDIR/submit.sbatch and prints
# the same text, with every directive and the exact render command (absolute paths, shell-quoted);
# bad options and an invalid campaign are refused with one line, exit 2, before RUNDIR exists; a
# missing sbatch is exit 1 with the reason, after the script was written; `status` on what the
# script records for the requeue cap.
set -u
sf=${SF_SHOTFARM:?}
src=${SF_SOURCE_DIR:?}
campaign=$src/tests/render/campaign.yaml
tok=$src/examples/models/tokenizer.json
w=$(mktemp -d /tmp/sf-submit-cli.XXXXXX)
w=$(cd "$w" && pwd -P)
trap 'rm -rf "$w"' EXIT
exe=$(realpath "$sf")
fail=0
die() { echo "FAIL: $*"; fail=1; }
mkdir -p "$w/model" "$w/model2/tokenizer"
cp "$tok" "$w/model2/tokenizer/tokenizer.json"
cd "$w" || exit 1

# every option, relative paths: all absolute in the script
"$sf" submit "$campaign" -o run --model model --tokenizer "$tok" --nodes 2 --ntasks-per-node 2 \
    --cpus-per-task 3 --gpus-per-node h100:2 --time 1-02:00:00 --partition gpu --account show1 \
    --mem 64G --signal-lead 300 --tp 2 --tier final --cache cache --ckpt-every 5m \
    --max-retries 4 --cpu-lanes 2 --max-idle-launches 5 --dry-run >out.txt 2>err.txt
rc=$?
[ $rc = 0 ] || die "dry run exited $rc: $(cat err.txt)"
cmp -s out.txt run/submit.sbatch || die "--dry-run output differs from run/submit.sbatch"
bash -n run/submit.sbatch || die "the script is not valid bash"
for d in "--job-name=render-test" "--nodes=2" "--ntasks-per-node=2" "--cpus-per-task=3" \
    "--gpus-per-node=h100:2" "--time=1-02:00:00" "--partition=gpu" "--account=show1" \
    "--mem=64G" "--requeue" "--signal=B:USR1@300" "--output=$w/run/slurm-%j.out" \
    "--open-mode=append" "--chdir=$w/run"; do
    grep -qxF "#SBATCH $d" out.txt || die "no '#SBATCH $d' line"
done
# the srun command, continuation lines joined
cmd=$(sed -n '/^srun /,/&$/p' out.txt | sed 's/ \\$//' | sed 's/^    / /' | tr -d '\n')
want="srun --mpi=pmix --cpus-per-task=3 --gpu-bind=single:1 '$exe' render '$campaign' -o '$w/run' --model '$w/model'"
want+=" --tokenizer '$tok' --cache '$w/cache' --tp 2 --tier final --threads 3 --ckpt-every 5m"
want+=" --max-retries 4 --cpu-lanes 2 --signal-grace 150 &"
[ "$cmd" = "$want" ] || die "render command:
  got:  $cmd
  want: $want"
grep -q 'scontrol requeue "$SLURM_JOB_ID"' out.txt || die "no scontrol requeue"
grep -q "^trap 'forward USR1' USR1" out.txt && grep -q "^trap 'forward TERM' TERM" out.txt ||
    die "no USR1/TERM traps"
grep -q 'SLURM_RESTART_COUNT' out.txt || die "SLURM_RESTART_COUNT is not logged"
# the requeue cap: its value, the launches file and the progress command, quoted
grep -qxF 'max_idle=5' out.txt || die "no max_idle=5 line"
grep -qxF "launches='$w/run/slurm-launches.jsonl'" out.txt || die "no launches file line"
grep -qxF "progress() { '$exe' status --progress '$w/run' 2>/dev/null || echo 0; }" out.txt ||
    die "no progress() line"
grep -q 'PreemptTime=' out.txt || die "the script does not look for a preemption"

# defaults; the tokenizer from MODEL/tokenizer/; quoting of a path with a quote in it
mkdir -p "it's"
cp "$campaign" "it's/c.yaml"
"$sf" submit "it's/c.yaml" -o run2 --model model2 --dry-run >out2.txt 2>err.txt ||
    die "default dry run: $(cat err.txt)"
for d in "--nodes=1" "--ntasks-per-node=1" "--signal=B:USR1@120"; do
    grep -qxF "#SBATCH $d" out2.txt || die "defaults: no '#SBATCH $d' line"
done
grep -qxF 'max_idle=3' out2.txt || die "defaults: no max_idle=3 line"
grep -Eq -- '--(cpus-per-task|time|partition|account|mem|gpus-per-node)=' out2.txt &&
    die "defaults: a resource directive nobody asked for"
cmd=$(sed -n '/^srun /,/&$/p' out2.txt | sed 's/ \\$//' | sed 's/^    / /' | tr -d '\n')
want="srun --mpi=pmix '$exe' render '$w/it'\\''s/c.yaml' -o '$w/run2' --model '$w/model2'"
want+=" --signal-grace 60 &"
[ "$cmd" = "$want" ] || die "default render command:
  got:  $cmd
  want: $want"
# the quoted path survives bash: run the srun line's arguments through printf
args=$(sed -n '/^srun /,/&$/p' out2.txt | sed 's/^srun --mpi=pmix/printf "%s\\n"/; s/ &$//' | bash)
grep -qxF "$w/it's/c.yaml" <<<"$args" || die "quoted campaign path: $args"

# every time form Slurm takes is accepted as written
for t in 90 90:30 12:00:00 2-0 2-12:30 2-12:30:00 UNLIMITED; do
    "$sf" submit "$campaign" -o run4 --model model --tokenizer "$tok" --time "$t" --dry-run \
        2>err.txt | grep -qxF "#SBATCH --time=$t" || die "--time $t: $(cat err.txt)"
done

# bad input: one line naming the option and the fix, exit 2, no RUNDIR
bad() { # bad "EXPECTED MESSAGE" ARGS...
    local want=$1
    shift
    rm -rf bad
    "$sf" submit "$@" >/dev/null 2>err.txt
    local rc=$?
    [ $rc = 2 ] || die "submit $*: exit $rc, want 2"
    grep -qF -- "$want" err.txt || die "submit $*: message: $(head -1 err.txt), want '$want'"
    [ ! -e bad ] || die "submit $*: created the run directory"
}
m=(--model model --tokenizer "$tok" --dry-run)
bad "--nodes: '0' is not an integer" "$campaign" -o bad "${m[@]}" --nodes 0
bad "--time 'soon': give [D-]HH:MM:SS" "$campaign" -o bad "${m[@]}" --time soon
bad "--time '1:2:3:4'" "$campaign" -o bad "${m[@]}" --time 1:2:3:4
bad "--time 00:04:00 (240 s) leaves no time" "$campaign" -o bad "${m[@]}" --time 00:04:00
bad "--mem '64GB': give memory per node as N[K|M|G|T]" "$campaign" -o bad "${m[@]}" --mem 64GB
bad "--gpus-per-node 'h100': give N or TYPE:N" "$campaign" -o bad "${m[@]}" --gpus-per-node h100
bad "--ntasks-per-node 2 with --gpus-per-node 4: render runs one rank per GPU; give --ntasks-per-node 4 or leave it out" \
    "$campaign" -o bad "${m[@]}" --gpus-per-node 4 --ntasks-per-node 2
# --gpus-per-node alone: one rank per GPU
"$sf" submit "$campaign" -o gpus "${m[@]}" --gpus-per-node a100:4 --dry-run >out3.txt 2>err.txt ||
    die "--gpus-per-node dry run: $(cat err.txt)"
grep -qxF "#SBATCH --ntasks-per-node=4" out3.txt || die "--gpus-per-node 4 did not give 4 ranks per node"
grep -q "^srun --mpi=pmix --gpu-bind=single:1 " out3.txt || die "no --gpu-bind=single:1 on srun"
bad "--partition 'gpu;rm': a partition name" "$campaign" -o bad "${m[@]}" --partition 'gpu;rm'
bad "--account 'a b': an account name" "$campaign" -o bad "${m[@]}" --account 'a b'
bad "--signal-lead: '1' is not an integer in [2, 65535]" "$campaign" -o bad "${m[@]}" --signal-lead 1
bad "--max-idle-launches: '0' is not an integer in [1, 1000]" "$campaign" -o bad "${m[@]}" \
    --max-idle-launches 0
bad "--tier 'best': use draft or final" "$campaign" -o bad "${m[@]}" --tier best
bad "--ckpt-every '5x': give N steps" "$campaign" -o bad "${m[@]}" --ckpt-every 5x
bad "--ckpt-every '1.5': give N steps" "$campaign" -o bad "${m[@]}" --ckpt-every 1.5
bad "tp 2 (--tp) does not divide --ntasks-per-node 1" "$campaign" -o bad "${m[@]}" --tp 2
bad "--model $w/nope: No such file or directory" "$campaign" -o bad --model "$w/nope" --dry-run
bad "--tokenizer nope.json: No such file or directory" "$campaign" -o bad --model model \
    --tokenizer nope.json --dry-run
bad "$w/model has no tokenizer/tokenizer.json; pass --tokenizer FILE" "$campaign" -o bad \
    --model model --dry-run
bad "give a campaign file and -o RUNDIR" "$campaign" "${m[@]}"
bad "unknown option --frobnicate" "$campaign" -o bad "${m[@]}" --frobnicate
bad "option --nodes needs a value" "$campaign" -o bad "${m[@]}" --nodes
bad "nope.yaml: (file): cannot open: No such file or directory" nope.yaml -o bad "${m[@]}"
bad "the run directory goes into #SBATCH lines" "$campaign" -o "bad dir" "${m[@]}"
[ ! -e "bad dir" ] || die "a refused run directory was created"
# an invalid campaign: validate's messages, exit 2
sed 's/duration: 3/duration: 99/' "$campaign" >broken.yaml
"$sf" validate broken.yaml 2>want.txt >/dev/null
"$sf" submit broken.yaml -o bad "${m[@]}" 2>err.txt >/dev/null
rc=$?
[ $rc = 2 ] || die "invalid campaign: exit $rc, want 2"
cmp -s want.txt err.txt || die "invalid campaign: not validate's messages:
$(diff want.txt err.txt)"
grep -q "broken.yaml:.*duration" err.txt || die "invalid campaign: no FILE:LINE: field line"
[ ! -e bad ] || die "invalid campaign: created the run directory"

# sbatch missing: exit 1 naming it and the fix; the script is written for a later sbatch
"$sf" submit "$campaign" -o run3 --model model --tokenizer "$tok" --sbatch "$w/no-sbatch" \
    >out3.txt 2>err.txt
rc=$?
[ $rc = 1 ] || die "missing sbatch: exit $rc, want 1"
grep -q "cannot run $w/no-sbatch: No such file or directory; install Slurm's client" err.txt ||
    die "missing sbatch: message: $(cat err.txt)"
[ -s run3/submit.sbatch ] || die "missing sbatch: the script was not written"
[ ! -s out3.txt ] || die "missing sbatch: printed a job id: $(cat out3.txt)"

"$sf" submit --help | grep -q "usage: shotfarm submit CAMPAIGN -o RUNDIR" || die "--help"

# what the job's script reads and writes for the requeue cap (docs/submit.md § Requeue cap):
# `status --progress` (steps + 1 per finished unit, the newest checkpointed step of the others)
# and `status` on RUNDIR/slurm-launches.jsonl (the newest job only; a torn last line skipped)
mkdir -p st
cat >st/manifest.json <<'JSON'
{"units": [{"name": "p", "kind": "text", "shot": "", "row": "prompts", "steps": 0},
           {"name": "a", "kind": "denoise", "shot": "s/a", "steps": 4},
           {"name": "b", "kind": "denoise", "shot": "s/b", "steps": 4}]}
JSON
ev() { echo "{\"t\": 1, \"event\": \"$1\", \"job\": $2, \"unit\": \"$3\"$4}" >>st/events.jsonl; }
ev run -1 "" ""
ev finished 0 p ""
ev checkpoint 1 a ', "step": 2'
ev checkpoint 1 a ', "step": 3'
ev step 2 b ', "step": 1'
[ "$("$sf" status --progress st)" = 4 ] || die "status --progress: $("$sf" status --progress st 2>&1), want 4"
ev finished 1 a ""
[ "$("$sf" status --progress st)" = 6 ] || die "status --progress: $("$sf" status --progress st 2>&1), want 6"
"$sf" status st --json | grep -q '"slurm": null' || die "status --json: a run not submitted has slurm: null"
cat >st/slurm-launches.jsonl <<'JSON'
{"t": "2026-01-01T00:00:00Z", "event": "launch", "job": "7", "launch": 1, "restarts": 0, "progress": 0}
{"t": "2026-01-01T00:00:00Z", "event": "stopped", "job": "7", "launch": 1, "reason": "old job"}
{"t": "2026-01-01T00:01:00Z", "event": "launch", "job": "12", "launch": 1, "restarts": 0, "progress": 0}
{"t": "2026-01-01T00:02:00Z", "event": "launch", "job": "12", "launch": 2, "restarts": 1, "progress": 6}
{"t": "2026-01-01T00:03:00Z", "event": "stopped", "job": "12", "launch": 2, "reason": "2 launches in a row made no progress: not requeueing (--max-idle-launches 2)"}
{"t": "2026-01-01T00:04:00Z", "event": "launch", "job": "12", "lau
JSON
"$sf" status st >status.txt 2>&1 || die "status: $(cat status.txt)"
grep -qxF "slurm job 12: 2 launches (SLURM_RESTART_COUNT 1); stopped: 2 launches in a row made no progress: not requeueing (--max-idle-launches 2)" status.txt ||
    die "status: $(head -3 status.txt)"
"$sf" status st --json | tr -d ' \n' | grep -qF '"slurm":{"job":"12","launches":2,"restarts":1,"stopped":"2launchesinarowmadenoprogress:notrequeueing(--max-idle-launches2)"' ||
    die "status --json: $("$sf" status st --json | grep -A6 slurm)"
# --per-sequence --dry-run: an array script (task i renders sequence i into RUNDIR/seq/SEQ) and
# an assembly script (render --from-sequences in RUNDIR), both printed; no cluster is asked
"$sf" submit "$campaign" -o per --model model --tokenizer "$tok" --per-sequence --nodes 2 \
    --dry-run >per.txt 2>per.err || die "--per-sequence --dry-run: $(cat per.err)"
cmp -s per.txt <(cat per/submit.sbatch per/assemble.sbatch) ||
    die "--per-sequence --dry-run prints something other than the two scripts"
for f in submit assemble; do bash -n "per/$f.sbatch" || die "per/$f.sbatch is not valid bash"; done
for l in "#SBATCH --array=0-1" "#SBATCH --output=$w/per/slurm-%A_%a.out" "seqs=('alpha' 'beta')" \
    "rundir='$w/per'/seq/\"\$seq\"" "    -o \"\$rundir\" \\" "    --sequence \"\$seq\" \\" \
    "launches=\"\$rundir\"/slurm-launches.jsonl" "#SBATCH --nodes=2"; do
    grep -qxF -- "$l" per/submit.sbatch || die "per/submit.sbatch: no line '$l'"
done
for l in "#SBATCH --job-name=render-test-assemble" "#SBATCH --kill-on-invalid-dep=yes" \
    "#SBATCH --nodes=1" "#SBATCH --ntasks-per-node=1" "#SBATCH --output=$w/per/slurm-%j.out" \
    "    -o '$w/per' \\" "    --from-sequences \\" "launches='$w/per/slurm-launches.jsonl'"; do
    grep -qxF -- "$l" per/assemble.sbatch || die "per/assemble.sbatch: no line '$l'"
done
[ -d per/seq/alpha ] && [ -d per/seq/beta ] || die "--per-sequence: no per/seq/alpha and per/seq/beta"
"$sf" status "$w/per" >per.status 2>&1 || die "status of a submitted per-sequence run: $(cat per.status)"
grep -qF "$w/per/seq/beta: not started" per.status && grep -qF "$w/per: not started" per.status ||
    die "status of a per-sequence run before it ran: $(cat per.status)"

[ $fail = 0 ] && echo "submit_cli: ok"
exit $fail
