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
# Accounting: when slurmdbd and MariaDB are installed (Debian packages slurmdbd, mariadb-server)
# and SF_SLURM_ACCOUNTING is not 0, `start` also runs a MariaDB server of its own (datadir
# DIR/mysql made by mariadb-install-db, socket DIR/run/mysqld.sock, no TCP) and slurmdbd on
# port SF_SLURMDBD_PORT (default: slurmctld's port + 2, so 16819), so sacct works
# (AccountingStorageType=accounting_storage/slurmdbd). Otherwise: no accounting.
#
# Several hosts: SF_SLURM_NETNS=1 runs each slurmd "node" cI in network and UTS namespaces of its
# own (ip netns sf<PORT>-cI, hostname cI), on a veth pair into a bridge sfbr<PORT> of the
# root namespace (10.213.S.0/24: slurmctld at .1, node cI at .1I; PORT is slurmctld's, S from
# it), so MPI between nodes really crosses a network (TCP over the veths; give Open MPI
# btl_tcp_if_include / oob_tcp_if_include = that subnet, printed by `env`). The file system stays
# shared (one directory). `slurm/local-cluster.sh cut DIR cI` takes node cI's link down (a cut
# cable: its slurmd and job keep running, unreachable). SF_SLURMD_TIMEOUT=S sets SlurmdTimeout
# (how long slurmctld waits before a silent node is DOWN and its jobs requeued).
#
# Needs root (slurmd runs jobs as their users) and the Debian packages slurm-wlm and munge.
# Several nodes on one host get their own slurmd port and TmpFS; MPI ranks that span them need
# OMPI_MCA_btl=self,tcp (NOTES-infra). Only `srun --mpi=pmix` works with Debian's Open MPI.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,/^set -euo/{/^#/p}' "$0" >&2; exit 2; }
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
    accounting=0
    if [ "${SF_SLURM_ACCOUNTING:-1}" != 0 ] && command -v slurmdbd >/dev/null &&
        command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null; then
        accounting=1
    fi
    dbd_port=${SF_SLURMDBD_PORT:-$((${SF_SLURMCTLD_PORT:-16817} + 2))}
    if [ $accounting = 1 ]; then
        # MariaDB in DIR, reachable only through its socket; root connects by unix_socket auth
        sock=$dir/run/mysqld.sock
        if [ ! -d "$dir/mysql/mysql" ]; then
            mariadb-install-db --no-defaults --datadir="$dir/mysql" --user=root \
                --auth-root-authentication-method=socket --skip-test-db \
                >"$dir/log/mariadb-install.log" 2>&1 ||
                { echo "local-cluster: mariadb-install-db failed; see $dir/log/mariadb-install.log" >&2; exit 1; }
        fi
        setsid mariadbd --no-defaults --datadir="$dir/mysql" --socket="$sock" --skip-networking \
            --user=root --pid-file="$dir/run/mariadbd.pidfile" --log-error="$dir/log/mariadbd.log" \
            --innodb-buffer-pool-size=16M >"$dir/log/mariadbd.out" 2>&1 &
        echo $! >"$dir/run/mariadbd.pid"
        for _ in $(seq 300); do
            mariadb-admin --no-defaults --socket="$sock" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
        mariadb-admin --no-defaults --socket="$sock" ping >/dev/null 2>&1 ||
            { echo "local-cluster: MariaDB did not start; see $dir/log/mariadbd.log" >&2; exit 1; }
        # slurmdbd reads slurmdbd.conf beside slurm.conf; it must be SlurmUser's, mode 600
        {
            echo "AuthType=auth/munge"
            echo "DbdHost=localhost"
            echo "DbdPort=$dbd_port"
            echo "SlurmUser=root"
            echo "LogFile=$dir/log/slurmdbd.log"
            echo "PidFile=$dir/run/slurmdbd.pidfile"
            echo "StorageType=accounting_storage/mysql"
            echo "StorageHost=localhost"
            echo "StorageUser=root"
            echo "StorageLoc=slurm_acct_db"
        } >"$dir/etc/slurmdbd.conf"
        chmod 600 "$dir/etc/slurmdbd.conf"
        # the MariaDB client library takes the socket from MYSQL_UNIX_PORT
        SLURM_CONF=$conf MYSQL_UNIX_PORT=$sock setsid slurmdbd -D >>"$dir/log/slurmdbd.out" 2>&1 &
        echo $! >"$dir/run/slurmdbd.pid"
    fi
    port=${SF_SLURMCTLD_PORT:-16817}
    netns=${SF_SLURM_NETNS:-0}
    addr=127.0.0.1
    if [ "$netns" = 1 ]; then # a bridge in this namespace, a namespace and a veth per node
        net=10.213.$((port % 250))
        addr=$net.1
        br=sfbr$port
        echo "$net.0/24" >"$dir/run/netns.subnet"
        ip link add "$br" type bridge && ip addr add "$addr/24" dev "$br" && ip link set "$br" up ||
            { echo "local-cluster: cannot create bridge $br (needs root and iproute2)" >&2; exit 1; }
        echo "$br" >"$dir/run/netns.bridge"
        for i in $(seq 1 "$nodes"); do
            ns=sf$port-c$i
            ip netns add "$ns" && echo "$ns" >>"$dir/run/netns.list" &&
                ip link add "$ns" type veth peer name eth0 netns "$ns" &&
                ip link set "$ns" master "$br" up &&
                ip -n "$ns" addr add "$net.$((10 + i))/24" dev eth0 &&
                ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up ||
                { echo "local-cluster: cannot set up the namespace $ns" >&2; exit 1; }
        done
    fi
    overrides=""
    [ "$cpus" -gt "$(nproc)" ] && overrides="SlurmdParameters=config_overrides"
    {
        echo "ClusterName=shotfarm-local"
        echo "SlurmctldHost=$host($addr)"
        echo "SlurmctldPort=${SF_SLURMCTLD_PORT:-16817}"
        echo "SlurmUser=root"
        echo "SlurmdUser=root"
        echo "AuthType=auth/munge"
        echo "CredType=cred/munge"
        echo "ProctrackType=proctrack/linuxproc"
        echo "TaskPlugin=task/none"
        echo "JobAcctGatherType=jobacct_gather/none"
        if [ $accounting = 1 ]; then
            echo "AccountingStorageType=accounting_storage/slurmdbd"
            echo "AccountingStorageHost=localhost"
            echo "AccountingStoragePort=$dbd_port"
            echo "AccountingStorageTRES=gres/gpu"
        else
            echo "AccountingStorageType=accounting_storage/none"
        fi
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
        [ -n "${SF_SLURMD_TIMEOUT:-}" ] && echo "SlurmdTimeout=$SF_SLURMD_TIMEOUT"
        if [ "$netns" = 1 ]; then
            for i in $(seq 1 "$nodes"); do
                echo "NodeName=c$i NodeHostname=c$i NodeAddr=$net.$((10 + i)) Port=$((base + i - 1)) CPUs=$cpus State=UNKNOWN"
            done
        elif [ "$nodes" = 1 ]; then
            echo "NodeName=c1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$base CPUs=$cpus State=UNKNOWN"
        else
            echo "NodeName=c[1-$nodes] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$base-$((base + nodes - 1))] CPUs=$cpus State=UNKNOWN"
        fi
        echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=${SF_SLURM_GRACE:-30}"
        echo "PartitionName=urgent Nodes=ALL MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF"
    } >"$conf"
    export SLURM_CONF=$conf
    if [ $accounting = 1 ]; then # the cluster must be known to slurmdbd before slurmctld starts
        for _ in $(seq 300); do
            sacctmgr -i -n add cluster shotfarm-local >/dev/null 2>&1 ||
                sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx shotfarm-local && break
            sleep 0.1
        done
        sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx shotfarm-local ||
            { echo "local-cluster: slurmdbd did not come up; see $dir/log/slurmdbd.log" >&2; exit 1; }
    fi
    setsid slurmctld -D -i -f "$conf" >>"$dir/log/slurmctld.out" 2>&1 &
    echo $! >"$dir/run/slurmctld.pid"
    for i in $(seq 1 "$nodes"); do
        mkdir -p "$dir/spool/c$i" "$dir/tmp/c$i"
        if [ "$netns" = 1 ]; then # nsenter (not `ip netns exec`, which remounts /sys without
            # the cgroup file system slurmd needs) and unshare exec: the PID is slurmd's
            setsid nsenter --net="/run/netns/sf$port-c$i" unshare --uts sh -c 'hostname "$1" && exec slurmd -D -N "$1" -f "$2"' \
                sh "c$i" "$conf" >>"$dir/log/slurmd-c$i.out" 2>&1 &
        else
            setsid slurmd -D -N "c$i" -f "$conf" >>"$dir/log/slurmd-c$i.out" 2>&1 &
        fi
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
    echo "local-cluster: $nodes node(s) x $cpus CPUs up$([ $accounting = 1 ] && echo ", accounting (slurmdbd + MariaDB)"); export SLURM_CONF=$conf"
    ;;
stop)
    export SLURM_CONF=$conf
    for f in "$dir"/run/slurmd-*.pid; do [ -e "$f" ] && stop_pid slurmd "$f"; done
    stop_pid slurmctld "$dir/run/slurmctld.pid"
    stop_pid slurmdbd "$dir/run/slurmdbd.pid"
    stop_pid mariadbd "$dir/run/mariadbd.pid"
    stop_pid munged "$dir/run/munged.pid"
    if [ -f "$dir/run/netns.list" ]; then
        # what is left in a node's namespace is this cluster's (a job step on a cut node)
        while read -r ns; do
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            [ -n "$pids" ] && { kill -9 $pids 2>/dev/null || true; }
            ip netns del "$ns" 2>/dev/null || true
        done <"$dir/run/netns.list"
        rm -f "$dir/run/netns.list"
    fi
    [ -f "$dir/run/netns.bridge" ] && { ip link del "$(cat "$dir/run/netns.bridge")" 2>/dev/null || true; rm -f "$dir/run/netns.bridge"; }
    echo "local-cluster: stopped"
    ;;
env)
    echo "export SLURM_CONF=$conf"
    if [ -f "$dir/run/netns.subnet" ]; then
        subnet=$(cat "$dir/run/netns.subnet")
        echo "export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=$subnet OMPI_MCA_oob_tcp_if_include=$subnet"
    fi
    ;;
cut)
    node=${3:?give the node, e.g. c2}
    ip link set "$(cat "$dir/run/netns.bridge" | sed 's/^sfbr/sf/')-$node" down
    echo "local-cluster: $node cut off (its link is down)"
    ;;
*)
    sed -n '2,/^set -euo/{/^#/p}' "$0" >&2
    exit 2
    ;;
esac
