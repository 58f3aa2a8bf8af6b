#!/usr/bin/env bash
# Runs the test suite RUNS times in a row (default 10) while BURNERS busy loops (default 2, one
# per core here) compete for the CPU, and prints how many runs passed and every test that failed.
# Usage: test/under-load.sh [RUNS] [BURNERS]; set REQUIRE_WORDPRESS=1 to include the real WordPress.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
burners=${2:-2}
logs=$(mktemp -d)
pids=()
for _ in $(seq "$burners"); do
  node -e 'for (;;) {}' &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
passed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  if npm test >"$logs/run-$i.log" 2>&1; then passed=$((passed + 1)); verdict=pass; else verdict=FAIL; fi
  echo "run $i/$runs: $verdict in $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg); $(grep -E '^\s+[0-9]+ tests? (passed|failed)' "$logs/run-$i.log" | tr -s ' ' | tr '\n' ';')"
  grep -E '✘|Unhandled rejection|exited with a non-zero' "$logs/run-$i.log" | sed 's/^/    /'
done
echo "$passed/$runs runs passed under $burners busy loop(s); logs in $logs"
[ "$passed" -eq "$runs" ]
