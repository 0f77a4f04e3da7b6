#!/usr/bin/env bash
# Runs a command as if on a slower machine with one core (test/ci/workflow.test.ts's head): the
# command under `taskset -c CPU` and, while it runs, the embedded cluster's PostgreSQL processes
# (each postmaster and its children, from which new backends fork) pinned to the same CPU; their
# affinity is put back afterwards. --nice N also lowers the priority of the command and of those
# processes (put back too): on a machine that other work already saturates, one core is no slower
# than two, but a lower share of the CPU is. The cluster is BENCH_HOME's, else <repo>/.bench's.
#
#   bash test/ci/one-core.sh [--cpu N] [--nice N] COMMAND...
set -euo pipefail
cpu=0
niceness=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) cpu=$2; shift 2 ;;
    --nice) niceness=$2; shift 2 ;;
    *) break ;;
  esac
done
home=${BENCH_HOME:-$(cd "$(dirname "$0")/../.." && pwd)/.bench}

declare -A saved_mask=() saved_nice=()
restore() {
  for pid in "${!saved_mask[@]}"; do
    taskset -p "${saved_mask[$pid]}" "$pid" >/dev/null 2>&1 || true
    renice -n "${saved_nice[$pid]}" -p "$pid" >/dev/null 2>&1 || true
  done
}
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for pidfile in "$home"/pg/*/postmaster.pid; do
  [ -f "$pidfile" ] || continue
  postmaster=$(head -n 1 "$pidfile")
  for pid in "$postmaster" $(pgrep -P "$postmaster" || true); do
    mask=$(taskset -p "$pid" 2>/dev/null | awk '{print $NF}') || continue
    [ -n "$mask" ] || continue
    saved_mask[$pid]=$mask
    saved_nice[$pid]=$(ps -o ni= -p "$pid" | tr -d ' ')
    taskset -p -c "$cpu" "$pid" >/dev/null
    renice -n "$niceness" -p "$pid" >/dev/null
  done
done
status=0
nice -n "$niceness" taskset -c "$cpu" "$@" || status=$?
exit "$status"
