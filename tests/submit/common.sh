# Shared by the tests/submit Slurm tests: skips (77) without root, Slurm or ffmpeg; starts a
# 2-node local cluster (slurm/local-cluster.sh, random ports, stopped on any exit), makes the tiny
# model, renders the reference with `mpirun -np 2`, and defines the helpers below. Root runs the
# cluster's daemons (slurmd starts jobs as their users) and the test's own Slurm commands; the
# jobs are submitted by an ordinary user, $juser (created when missing), who owns every run
# directory and cache: nothing in submit or render needs root.
# SF_KEEP=DIR copies the work directory (cluster logs included) there first, for debugging.
set -u
[ "$(id -u)" = 0 ] || { echo "slurm test needs root (slurmd runs jobs as their users)"; exit 77; }
command -v slurmctld >/dev/null || { echo "slurm-wlm not installed"; exit 77; }
command -v ffmpeg >/dev/null || { echo "ffmpeg not installed"; exit 77; }
sf=${SF_SHOTFARM:?}
src=${SF_SOURCE_DIR:?}
mpiexec=${MPIEXEC:-mpirun}
campaign=$src/tests/render/campaign.yaml
[ -f "$src/tests/fault/campaign.yaml" ] && campaign=$src/tests/fault/campaign.yaml
tok=$src/examples/models/tokenizer.json
w=$(mktemp -d /tmp/sf-submit-slurm.XXXXXX)
w=$(cd "$w" && pwd -P)
juser=sf-slurm-job
id -u "$juser" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$juser" ||
    { echo "cannot create the job user $juser"; exit 1; }
chown "$juser:" "$w" && chmod 755 "$w" || exit 1 # the user creates its run directories in $w
# as_user CMD...: runs CMD as $juser (its own uid, gid and no other group), environment kept
as_user() { setpriv --reuid="$juser" --regid="$juser" --clear-groups env HOME="$w/home" "$@"; }
cleanup() {
    "$src/slurm/local-cluster.sh" stop "$w/cluster" >/dev/null 2>&1
    [ -n "${SF_KEEP:-}" ] && cp -r "$w" "$SF_KEEP"; rm -rf "$w"
}
trap cleanup EXIT
t0=$SECONDS
fail=0
die() { echo "FAIL: $*"; fail=1; }
elapsed() { echo "  [$((SECONDS - t0)) s] $*"; }

SF_SLURMCTLD_PORT=$((20000 + RANDOM % 5000)) SF_SLURMD_PORT=$((26000 + RANDOM % 5000)) \
    "$src/slurm/local-cluster.sh" start "$w/cluster" 2 4 || exit 1
export SLURM_CONF=$w/cluster/etc/slurm.conf
# the interfaces MPI uses between nodes: loopback, or the nodes' subnet (SF_SLURM_NETNS=1)
mpi_if=lo
[ -f "$w/cluster/run/netns.subnet" ] && mpi_if=$(cat "$w/cluster/run/netns.subnet")
"$sf" mkmodel --config tiny --dtype fp32 --vae-dim 8 -o "$w/model" 2>"$w/mkmodel.log" ||
    { cat "$w/mkmodel.log"; exit 1; }
"$mpiexec" -np 2 "$sf" render "$campaign" -o "$w/ref" --model "$w/model" --tokenizer "$tok" \
    --cache "$w/cache-ref" >/dev/null 2>"$w/ref.log" || { tail "$w/ref.log"; exit 1; }
elapsed "reference rendered ($campaign)"

# submit NAME [args...]: submits the campaign into $w/NAME on 2 nodes x 1 rank as $juser; prints
# the job id.
# Ranks on two slurmd "nodes" of one host cannot share vader's files: tcp (NOTES-infra); the job
# gets these variables through submit's environment (sbatch --export=ALL).
submit() {
    local name=$1
    shift
    OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=$mpi_if OMPI_MCA_oob_tcp_if_include=$mpi_if \
        as_user "$sf" submit "$campaign" -o "$w/$name" --nodes 2 --ntasks-per-node 1 --model "$w/model" \
        --tokenizer "$tok" --cache "$w/cache-$name" "$@" 2>"$w/$name.submit.log"
}
state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# wait_gone JOB SECONDS: until the job leaves squeue (finished, failed or cancelled)
wait_gone() {
    local i
    for i in $(seq $(($2 * 5))); do
        [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    return 1
}
# same_shots NAME: the shot files equal the reference's, byte for byte
same_shots() {
    local f n=0
    for f in "$w"/ref/shots/*.mkv; do
        n=$((n + 1))
        cmp -s "$f" "$w/$1/shots/$(basename "$f")" ||
            die "$1: $(basename "$f") differs from the reference (or is missing)"
    done
    [ $n -gt 0 ] || die "the reference has no shots"
    [ "$(ls "$w/$1/shots" | wc -l)" = $n ] || die "$1: $(ls "$w/$1/shots") are not the reference's $n shots"
}
# owned_by_user NAME: the job ran as $juser, and it owns every file of NAME's run directory and
# cache (none is root's)
owned_by_user() {
    local job=$2 f
    scontrol show job "$job" | grep -q "UserId=$juser(" ||
        die "$1: job $job ran as $(scontrol show job "$job" | grep -o 'UserId=[^ ]*')"
    f=$(find "$w/$1" "$w/cache-$1" ! -user "$juser" | head -3)
    [ -z "$f" ] || die "$1: not owned by $juser: $f"
    [ -n "$(find "$w/$1" -name '*.mkv' | head -1)" ] || die "$1: no shot files"
}
log_of() { cat "$w/$1"/slurm-*.out 2>/dev/null; }
# wait_denoise NAME K: until launch K of NAME (its K-th `run` event) has started a denoise unit
# (60 s)
wait_denoise() {
    local i
    for i in $(seq 600); do
        awk -v k="$2" '/"event": "run"/ { n++ } n == k && /"event": "started".*"kind": "denoise"/ { ok = 1 }
            END { exit !ok }' "$w/$1/events.jsonl" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# held JOB: waits (60 s) for the requeued job's BeginTime hold; 1 when it does not come or the job
# leaves the queue. Requeued, the job is PENDING with Reason=None for about a second (still
# completing), then Reason=BeginTime.
held() {
    local i
    for i in $(seq 600); do
        scontrol show job "$1" 2>/dev/null | grep -q 'JobState=PENDING Reason=BeginTime' && return 0
        [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 1
        sleep 0.1
    done
    return 1
}
# release JOB: held, then released. slurmd refuses a launch whose credential is from the same
# second as the requeue's kill ("Job credential revoked": the job then FAILS), hence the 2 s;
# Slurm's own hold is about 120 s.
release() {
    held "$1" || return 1
    sleep 2
    scontrol update JobId="$1" StartTime=now
}
# resumes NAME JOB WHAT: NAME's requeued job is released and then COMPLETES (150 s)
resumes() {
    release "$2" || {
        die "$3: job not requeued with a BeginTime hold in 60 s (state $(state "$2")): $(log_of "$1" | tail)"
        return
    }
    elapsed "$3: requeued, hold released"
    wait_gone "$2" 150 || { die "$3: job $2 still queued after 150 s"; scancel "$2"; }
    elapsed "$3: job $2: $(state "$2")"
    [ "$(state "$2")" = COMPLETED ] || die "$3: state $(state "$2"): $(log_of "$1" | tail -20)"
}
