#!/usr/bin/env bash
# Fuzzes every parser target of tests/fuzz for a bounded time, two at a time (one per core).
#
#   scripts/fuzz.sh BUILD_DIR SECONDS_PER_TARGET
#
# BUILD_DIR holds the libFuzzer build (./dev harden makes build-hardened). Each target starts from its
# seed corpus (tests/fuzz/corpus/TARGET, read only) and grows a working corpus in
# BUILD_DIR/fuzz/TARGET/corpus. A crash, leak, sanitizer report or timeout fails the script; the input
# that caused it is in BUILD_DIR/fuzz/TARGET/ (crash-*, leak-*, timeout-*): fix the bug, then copy the
# input to tests/fuzz/regressions/TARGET/ so the replay tests keep it fixed. Prints the executions of
# each target (libFuzzer's "Done N runs").
set -euo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS_PER_TARGET}
seconds=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS_PER_TARGET}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
targets=(idx text_formats mnist_json config state)

fuzz_one() {
  local t=$1 dir="$build/fuzz/$1"
  mkdir -p "$dir/corpus"
  # -rss_limit_mb and -malloc_limit_mb: a reader that believes a header's huge count must refuse it,
  # not allocate it; -timeout: no single input may take 10 s.
  "$build/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" "$root/tests/fuzz/corpus/$t" >"$dir/log.txt" 2>&1
}

status=0
pids=()
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  pids+=($!)
  if (( ${#pids[@]} == 2 )); then
    wait "${pids[0]}" || status=1
    pids=("${pids[1]}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

total=0
for t in "${targets[@]}"; do
  log="$build/fuzz/$t/log.txt"
  runs=$(grep -o 'Done [0-9]* runs' "$log" | awk '{print $2}' | tail -1 || true)
  if [[ -z "$runs" ]]; then
    echo "fuzz $t: FAILED (see $log)"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 || true
    status=1
  else
    echo "fuzz $t: $runs executions in ${seconds} s, no crash"
    total=$((total + runs))
  fi
done
echo "fuzz: $total executions in all"
exit $status
