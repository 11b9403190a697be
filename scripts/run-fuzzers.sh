#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from its
# seed corpus in tests/fuzz/corpus/<name without fuzz_>. Fails on any crash,
# leak, timeout or sanitizer report.
set -euo pipefail
build=$(cd "${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS}" && pwd)
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
found=0
for fuzzer in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$fuzzer" ] || continue
  found=1
  name=$(basename "$fuzzer")
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  echo "== $name for ${seconds}s"
  status=0
  (cd "$work" && "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 "$work" >"$work.log" 2>&1) || status=$?
  tail -n 12 "$work.log"
  if [ "$status" -ne 0 ]; then
    echo "$name failed (exit $status); its full log:"
    cat "$work.log"
    exit 1
  fi
  rm -rf "$work" "$work.log"
done
[ "$found" -eq 1 ] || { echo "no fuzzers found in $build/tests/fuzz"; exit 1; }
