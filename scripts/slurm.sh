#!/usr/bin/env bash
# A single-node Slurm on this machine for development and CI (Debian: slurm-wlm + munge, see
# scripts/install-deps.sh), following shared/reference/slurm-single-node.md.
#
#   scripts/slurm.sh up       start munged, slurmctld and slurmd; wait until the node is idle
#   scripts/slurm.sh down     cancel every job of this development cluster, then stop the
#                             daemons (scontrol shutdown, then by PID); munged keeps running
#   scripts/slurm.sh status   print whether it runs (exit 0) or not (exit 1)
#
# Idempotent: `up` on a running Slurm with our configuration returns at once. It writes
# /etc/slurm/slurm.conf only if that file is absent or was written by this script (first line
# below), so a machine with a real Slurm configuration is never touched. Needs root.
#
# Choices for a development node (each is a line of the configuration below):
# - CPUs: $HIGHRATE_SLURM_CPUS, default 8 slots per core, with SlurmdParameters=config_overrides
#   so slurmd accepts more CPUs than the machine has. Tests run dozens of mostly idle jobs at once
#   on 2 cores; --cpus-per-task is still a real scheduling constraint against these slots.
# - RealMemory: $HIGHRATE_SLURM_MEMORY_PERCENT (default 50) percent of MemTotal, in MiB, so
#   jobs with --mem schedule; DefMemPerCPU=256 so a job without --mem does not take the whole node.
# - ProctrackType=proctrack/linuxproc and TaskPlugin=task/none: no cgroup support needed. Limits
#   are scheduling constraints here, not enforced on the processes.
# - KillWait=5: scancel's SIGTERM → SIGKILL grace is 5 s (Slurm's default 30 s slows tests).
# - Controller and node at 127.0.0.1: nothing depends on the host name resolving.
# - SchedulerParameters=batch_sched_delay=0: jobs start about a second after sbatch.
set -euo pipefail

MARK='# highrate development Slurm (scripts/slurm.sh); safe to overwrite'
CONF=/etc/slurm/slurm.conf
SPOOL=/var/spool/highrate-slurm
LOGDIR=/var/log/highrate-slurm
CTLD_PID=/run/highrate-slurmctld.pid
SLURMD_PID=/run/highrate-slurmd.pid
MUNGE_PID=/run/munge/munged.pid

say() { echo "[slurm.sh] $*" >&2; }

need_root() {
  [ "$(id -u)" -eq 0 ] || { say "must run as root (it manages system daemons)"; exit 1; }
}

pid_alive() { # pidfile
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

render_conf() {
  local host cpus mem_kib mem_mib pct
  host=$(hostname -s)
  cpus=${HIGHRATE_SLURM_CPUS:-$(( $(nproc) * 8 ))}
  pct=${HIGHRATE_SLURM_MEMORY_PERCENT:-50}
  mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  mem_mib=$(( mem_kib / 1024 * pct / 100 ))
  cat <<EOF
$MARK
ClusterName=highrate
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
ReturnToService=2
MinJobAge=300
KillWait=5
DefMemPerCPU=256
SchedulerParameters=batch_sched_delay=0
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  # munged refuses to start over a stale socket lock of a dead instance.
  pid_alive "$MUNGE_PID" || rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock "$MUNGE_PID"
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  say "munged did not come up"; exit 1
}

write_conf() {
  local want
  want=$(render_conf)
  if [ -f "$CONF" ] && ! head -1 "$CONF" | grep -qxF "$MARK"; then
    say "$CONF exists and was not written by this script: leaving it alone"
    return 0
  fi
  if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$want" ]; then
    mkdir -p /etc/slurm
    printf '%s\n' "$want" > "$CONF"
    CONF_CHANGED=1
  fi
}

node_ready() {
  # The node answers and takes jobs (idle, mixed or allocated).
  sinfo --noheader -N -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'
}

cmd_up() {
  need_root
  CONF_CHANGED=0
  write_conf
  if [ "$CONF_CHANGED" = 0 ] && pid_alive "$CTLD_PID" && pid_alive "$SLURMD_PID" && node_ready; then
    return 0
  fi
  # A changed configuration (another CPU or memory offer) needs fresh daemons.
  [ "$CONF_CHANGED" = 0 ] || cmd_down_quiet
  start_munge
  mkdir -p "$SPOOL/ctld" "$SPOOL/d" "$LOGDIR"
  pid_alive "$CTLD_PID" || /usr/sbin/slurmctld
  pid_alive "$SLURMD_PID" || /usr/sbin/slurmd
  for _ in $(seq 150); do
    if node_ready; then say "up: $(sinfo --noheader -N -o '%N %t cpus=%c mem=%mMiB')"; return 0; fi
    # A node left down/drained by an earlier run (ReturnToService=2 covers most cases).
    if sinfo --noheader -N -o '%t' 2>/dev/null | grep -qE '^(down|drain)'; then
      scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true
    fi
    sleep 0.1
  done
  say "the node did not become idle; see $LOGDIR"; sinfo -N -l >&2 || true; exit 1
}

stop_pidfile() { # pidfile name
  local pid
  pid_alive "$1" || { rm -f "$1"; return 0; }
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }; sleep 0.1; done
  say "$2 (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

cancel_all_jobs() {
  # Job steps (slurmstepd) outlive `scontrol shutdown`: on our own development cluster, every job
  # is cancelled first and given KillWait (5 s) plus a little to end.
  local ids
  ids=$(timeout 10 squeue --noheader -a -t PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING -o '%i' 2>/dev/null | tr '\n' ' ') || return 0
  [ -n "${ids// /}" ] || return 0
  say "cancelling jobs: $ids"
  # shellcheck disable=SC2086
  timeout 10 scancel $ids 2>/dev/null || true
  for _ in $(seq 100); do
    [ -z "$(timeout 10 squeue --noheader -a -t RUNNING,COMPLETING -o '%i' 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  say "some jobs were still ending after 10 s"
}

cmd_down_quiet() {
  # scontrol shutdown stops both daemons cleanly; the PID files catch a controller that no
  # longer answers. munged stays: other software on the machine may use it.
  if pid_alive "$CTLD_PID" && [ -f "$CONF" ] && head -1 "$CONF" | grep -qxF "$MARK"; then cancel_all_jobs; fi
  if pid_alive "$CTLD_PID"; then timeout 10 scontrol shutdown >/dev/null 2>&1 || true; fi
  for _ in $(seq 50); do pid_alive "$CTLD_PID" || pid_alive "$SLURMD_PID" || break; sleep 0.1; done
  stop_pidfile "$SLURMD_PID" slurmd
  stop_pidfile "$CTLD_PID" slurmctld
}

cmd_down() {
  need_root
  cmd_down_quiet
  say "down"
}

cmd_status() {
  if pid_alive "$CTLD_PID" && pid_alive "$SLURMD_PID" && node_ready; then
    echo "running: $(sinfo --noheader -N -o '%N %t cpus=%c mem=%mMiB')"
    return 0
  fi
  echo "not running"
  return 1
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
