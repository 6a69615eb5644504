#!/usr/bin/env bash
# Starts a 2-node Slurm cluster on loopback, runs a 4-rank MPI job across both nodes with
# `srun --mpi=pmix` (the deterministic all-reduce test), runs a batch job, and stops the
# cluster — also when the test fails. Skips (77) when not root or Slurm is not installed.
set -u
[ "$(id -u)" = 0 ] || { echo "slurm test needs root (slurmd runs jobs as their users)"; exit 77; }
command -v slurmctld >/dev/null || { echo "slurm-wlm not installed"; exit 77; }
src=${SF_SOURCE_DIR:?} bin=${SF_BINARY_DIR:?}
dir=$(mktemp -d /tmp/sf-slurm.XXXXXX)
cleanup() { "$src/slurm/local-cluster.sh" stop "$dir" >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT
SF_SLURMCTLD_PORT=$((20000 + RANDOM % 5000)) SF_SLURMD_PORT=$((26000 + RANDOM % 5000)) \
    "$src/slurm/local-cluster.sh" start "$dir" 2 4 || exit 1
export SLURM_CONF=$dir/etc/slurm.conf
# Ranks on different slurmd "nodes" of one host cannot share vader's backing files: use tcp.
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
fail=0
out=$(timeout 60 srun -N2 -n4 --mpi=pmix -O "$bin/tests/tp/tp_comm_np4" 2>&1)
rc=$?
echo "$out" | tail -3
[ $rc = 0 ] || { echo "FAIL: srun MPI job exited $rc"; fail=1; }
grep -q "tp_comm (4 ranks): ok" <<<"$out" || { echo "FAIL: MPI job did not report ok"; fail=1; }
hosts=$(timeout 30 srun -N2 -n2 --mpi=pmix bash -c 'echo $SLURMD_NODENAME' | sort | tr '\n' ' ')
[ "$hosts" = "c1 c2 " ] || { echo "FAIL: srun did not span both nodes: '$hosts'"; fail=1; }
cat >"$dir/job.sh" <<JOB
#!/bin/bash
#SBATCH -N 1 -n 1 -o $dir/job.out
"$bin/shotfarm" --version
JOB
job=$(sbatch --parsable "$dir/job.sh") || { echo "FAIL: sbatch"; exit 1; }
for _ in $(seq 300); do [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break; sleep 0.1; done
grep -q '^shotfarm ' "$dir/job.out" 2>/dev/null || { echo "FAIL: batch job output: $(cat "$dir/job.out" 2>&1)"; fail=1; }
[ $fail = 0 ] && echo "slurm_local_cluster: ok"
exit $fail
