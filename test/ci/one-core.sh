#!/usr/bin/env bash
# Runs a command as if the machine had one core (test/ci/workflow.test.ts's slower "machine"):
# the command under `taskset -c CPU` and, while it runs, the embedded cluster's PostgreSQL
# processes (each postmaster and its children, from which new backends fork) pinned to the same
# CPU; their affinity is put back afterwards. The cluster is BENCH_HOME's, else <repo>/.bench's.
#
#   bash test/ci/one-core.sh [--cpu N] COMMAND...
set -euo pipefail
cpu=0
if [ "${1:-}" = "--cpu" ]; then cpu=$2; shift 2; fi
home=${BENCH_HOME:-$(cd "$(dirname "$0")/../.." && pwd)/.bench}

declare -A saved=()
restore() {
  for pid in "${!saved[@]}"; do taskset -p "${saved[$pid]}" "$pid" >/dev/null 2>&1 || true; done
}
trap restore EXIT

for pidfile in "$home"/pg/*/postmaster.pid; do
  [ -f "$pidfile" ] || continue
  postmaster=$(head -n 1 "$pidfile")
  for pid in "$postmaster" $(pgrep -P "$postmaster" || true); do
    mask=$(taskset -p "$pid" 2>/dev/null | awk '{print $NF}') || continue
    [ -n "$mask" ] || continue
    saved[$pid]=$mask
    taskset -p -c "$cpu" "$pid" >/dev/null
  done
done
status=0
taskset -c "$cpu" "$@" || status=$?
exit "$status"
