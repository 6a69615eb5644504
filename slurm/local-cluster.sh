#!/usr/bin/env bash
# local-cluster.sh — a real Slurm 22.05 cluster on loopback, for tests and for trying
# `shotfarm submit` on one machine: munged, slurmctld and N slurmd "nodes", started in the
# foreground under setsid with their PIDs recorded (no systemd needed), stopped by PID.
#
#   slurm/local-cluster.sh start DIR [NODES [CPUS_PER_NODE]]   # default 1 node, 4 CPUs
#   slurm/local-cluster.sh stop DIR
#   slurm/local-cluster.sh env DIR        # prints: export SLURM_CONF=DIR/etc/slurm.conf
#
# Two partitions over all nodes: `debug` (the default, preemptible: a job there is requeued,
# PreemptMode=REQUEUE, after SIGTERM to its tasks and GraceTime SF_SLURM_GRACE s, default 30)
# and `urgent` (PriorityTier 2, never preempted), whose jobs preempt debug's
# (PreemptType=preempt/partition_prio). SF_SLURM_MAX_ARRAY=N sets MaxArraySize (job arrays of
# at most N tasks; Slurm's default 1001).
#
# Needs root (slurmd runs jobs as their users) and the Debian packages slurm-wlm and munge.
# Several nodes on one host get their own slurmd port and TmpFS; MPI ranks that span them need
# OMPI_MCA_btl=self,tcp (NOTES-infra). Only `srun --mpi=pmix` works with Debian's Open MPI.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,17p' "$0" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/etc/slurm.conf

alive() { # alive PID: running and not a zombie
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ -n "$s" ] && [ "${s#Z}" = "$s" ]
}

stop_pid() { # stop_pid NAME PIDFILE
    local f=$2 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if alive "$pid"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

case $cmd in
start)
    nodes=${3:-1}
    cpus=${4:-4}
    host=$(hostname -s)
    mkdir -p "$dir"/{etc,state,log,run,spool,tmp}
    # munge: one daemon per machine; reuse one that answers (a dying one may still be listed).
    if ! { command -v munge >/dev/null && munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }; then
        rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
        mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
        [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null;
                                         chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key; }
        setsid setpriv --reuid=munge --regid=munge --clear-groups munged -F >"$dir/log/munged.log" 2>&1 &
        echo $! >"$dir/run/munged.pid"
        for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
    fi
    overrides=""
    [ "$cpus" -gt "$(nproc)" ] && overrides="SlurmdParameters=config_overrides"
    {
        echo "ClusterName=shotfarm-local"
        echo "SlurmctldHost=$host(127.0.0.1)"
        echo "SlurmctldPort=${SF_SLURMCTLD_PORT:-16817}"
        echo "SlurmUser=root"
        echo "SlurmdUser=root"
        echo "AuthType=auth/munge"
        echo "CredType=cred/munge"
        echo "ProctrackType=proctrack/linuxproc"
        echo "TaskPlugin=task/none"
        echo "JobAcctGatherType=jobacct_gather/none"
        echo "AccountingStorageType=accounting_storage/none"
        echo "SchedulerType=sched/backfill"
        echo "SchedulerParameters=batch_sched_delay=0"
        echo "SelectType=select/cons_tres"
        echo "SelectTypeParameters=CR_Core"
        echo "MpiDefault=pmix"
        echo "ReturnToService=2"
        echo "PreemptType=preempt/partition_prio"
        echo "PreemptMode=REQUEUE"
        echo "KillWait=5"
        echo "StateSaveLocation=$dir/state"
        echo "SlurmdSpoolDir=$dir/spool/%n"
        echo "TmpFS=$dir/tmp/%n"
        echo "SlurmctldPidFile=$dir/run/slurmctld.pidfile"
        echo "SlurmdPidFile=$dir/run/slurmd-%n.pidfile"
        echo "SlurmctldLogFile=$dir/log/slurmctld.log"
        echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
        [ -n "$overrides" ] && echo "$overrides"
        # Slurm's default is 1001; tests of `submit --per-sequence` set a small one
        [ -n "${SF_SLURM_MAX_ARRAY:-}" ] && echo "MaxArraySize=$SF_SLURM_MAX_ARRAY"
        base=${SF_SLURMD_PORT:-17001}
        if [ "$nodes" = 1 ]; then
            echo "NodeName=c1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$base CPUs=$cpus State=UNKNOWN"
        else
            echo "NodeName=c[1-$nodes] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$base-$((base + nodes - 1))] CPUs=$cpus State=UNKNOWN"
        fi
        echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=${SF_SLURM_GRACE:-30}"
        echo "PartitionName=urgent Nodes=ALL MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF"
    } >"$conf"
    export SLURM_CONF=$conf
    setsid slurmctld -D -i -f "$conf" >>"$dir/log/slurmctld.out" 2>&1 &
    echo $! >"$dir/run/slurmctld.pid"
    for i in $(seq 1 "$nodes"); do
        mkdir -p "$dir/spool/c$i" "$dir/tmp/c$i"
        setsid slurmd -D -N "c$i" -f "$conf" >>"$dir/log/slurmd-c$i.out" 2>&1 &
        echo $! >"$dir/run/slurmd-c$i.pid"
    done
    for _ in $(seq 100); do
        idle=$(sinfo -h -p debug -o '%t %D' 2>/dev/null | awk '$1=="idle"{n+=$2} END{print n+0}')
        [ "$idle" = "$nodes" ] && break
        sleep 0.1
    done
    if [ "$idle" != "$nodes" ]; then
        echo "local-cluster: only $idle of $nodes node(s) came up; logs in $dir/log/:" >&2
        sinfo >&2 || true
        tail -n 5 "$dir"/log/* >&2 || true
        exit 1
    fi
    echo "local-cluster: $nodes node(s) x $cpus CPUs up; export SLURM_CONF=$conf"
    ;;
stop)
    export SLURM_CONF=$conf
    for f in "$dir"/run/slurmd-*.pid; do [ -e "$f" ] && stop_pid slurmd "$f"; done
    stop_pid slurmctld "$dir/run/slurmctld.pid"
    stop_pid munged "$dir/run/munged.pid"
    echo "local-cluster: stopped"
    ;;
env)
    echo "export SLURM_CONF=$conf"
    ;;
*)
    sed -n '2,17p' "$0" >&2
    exit 2
    ;;
esac
