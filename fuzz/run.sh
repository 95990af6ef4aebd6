#!/usr/bin/env bash
# Runs every fuzz target (or those named) for up to SECONDS each and at most RUNS inputs
# (default 10^6), with the limits CONTRIBUTING.md states: an input that runs over 1 s or
# allocates over 1 GiB fails like a panic. Failing inputs land in fuzz/artifacts/TARGET/.
# Exits non-zero if any target failed.
#   fuzz/run.sh 5                 # every target, 5 s each (what .ci/run does)
#   fuzz/run.sh 1800 csv idx      # two targets, up to 30 min each
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
runs=${RUNS:-1000000}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(ls fuzz/fuzz_targets | sed 's/\.rs$//'))
fi
cargo fuzz build -s none -a
failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="fuzz/artifacts/$t.log"
  cargo fuzz run -s none -a "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -artifact_prefix="fuzz/artifacts/$t/" -runs="$runs" -max_total_time="$secs" \
    -timeout=1 -rss_limit_mb=1024 -malloc_limit_mb=1024 -max_len=4096 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ok, ${execs:-?} inputs"
  else
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} inputs; see $log and fuzz/artifacts/$t/"
    grep -m3 -E 'panicked|ERROR|timeout|out-of-memory' "$log" | sed 's/^/  /'
    failed=1
  fi
done
exit $failed
