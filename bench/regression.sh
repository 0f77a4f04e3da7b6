#!/usr/bin/env bash
# The CI regression steps of docs/ci.md, runnable anywhere: runs the approaches on a base checkout
# and a head checkout (interleaved: base, head, base, head, ... so that a machine getting busier
# or quieter during the job affects both sides alike), then compares the head's runs with the
# base's and writes compare.md (the pull-request comment), compare.json and junit.xml.
#
#   bash bench/regression.sh --base DIR --head DIR --out DIR [--approaches export,udaf]
#        [--workload criteo] [--scale tiny] [--segments 2] [--threads 1] [--repeat 3]
#        [--base-prefix CMD] [--head-prefix CMD] [-- COMPARE_FLAGS...]
#
# Both checkouts must be set up (npm ci); they may share one embedded cluster (BENCH_HOME). The
# prefixes wrap each side's `bench run` (e.g. --head-prefix "taskset -c 0" pins the head to one
# core: how test/ci/workflow.test.ts makes a real slowdown). Flags after `--` go to `bench
# compare` (--metric ratio-to-raw, --max-slowdown 1.2, --allow-env-diff cpuAffinity, ...).
# Exits with bench compare's code: 0 no regression, 1 a regression, 2 not comparable; a failed
# run stops the script with its exit code.
set -euo pipefail

base='' head='' out='' approaches='export' workload='criteo' scale='tiny' segments=2 threads=1 repeat=3
base_prefix='' head_prefix=''
compare_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --head) head=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --approaches) approaches=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --segments) segments=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --base-prefix) base_prefix=$2; shift 2 ;;
    --head-prefix) head_prefix=$2; shift 2 ;;
    --) shift; compare_flags=("$@"); break ;;
    *) echo "regression.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
if [ -z "$base" ] || [ -z "$head" ] || [ -z "$out" ]; then
  echo "regression.sh: --base DIR, --head DIR and --out DIR are required" >&2
  exit 2
fi
base=$(cd "$base" && pwd)
head=$(cd "$head" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

run_side() { # side dir prefix approach round
  local side=$1 dir=$2 prefix=$3 approach=$4 round=$5
  echo "== $side $approach round $round/$repeat ($(git -C "$dir" rev-parse --short HEAD 2>/dev/null || echo "not a git checkout"))"
  # $prefix is a command line (e.g. "taskset -c 0"): split on purpose.
  # shellcheck disable=SC2086
  (cd "$dir" && $prefix npx bench run --approach "$approach" --workload "$workload" --scale "$scale" \
    --segments "$segments" --threads "$threads" --runs-dir "$out/runs/$side")
}

IFS=',' read -r -a approach_list <<< "$approaches"
for round in $(seq 1 "$repeat"); do
  for approach in "${approach_list[@]}"; do
    run_side base "$base" "$base_prefix" "$approach" "$round"
    run_side head "$head" "$head_prefix" "$approach" "$round"
  done
done

status=0
(cd "$head" && npx bench compare --baseline "$out/runs/base" --candidate "$out/runs/head" \
  --markdown "$out/compare.md" --json "$out/compare.json" --junit "$out/junit.xml" "${compare_flags[@]}") || status=$?
echo "comparison: $out/compare.md, $out/compare.json, $out/junit.xml (exit $status)"
exit "$status"
