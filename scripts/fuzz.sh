#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each of them in turn
# (docs/fuzzing.md).
#   scripts/fuzz.sh --replay [BUILD_DIR]                 deterministic: every committed seed and
#                                                       past crash input once (scripts/test.sh, CI)
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]     open-ended exploration (default: 30 build-fuzz)
# Exploration writes new inputs to BUILD_DIR/fuzz-out/TARGET/corpus (kept between
# runs, never into the committed tests/fuzz/corpus), crash files to
# BUILD_DIR/fuzz-out/TARGET/artifacts: fix what it finds and commit the input to
# tests/fuzz/corpus/TARGET. Exits non-zero when a target crashes, leaks, fails an
# invariant, runs out of memory or times out.
set -euo pipefail
cd "$(dirname "$0")/.."

replay=false
if [[ "${1:-}" == "--replay" ]]; then
  replay=true
  shift
  seconds=0
  dir=${1:-build-fuzz}
else
  seconds=${1:-30}
  dir=${2:-build-fuzz}
fi
if ! $replay && ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh --replay [BUILD_DIR] | scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]" >&2
  exit 2
fi
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

echo "== building the fuzz targets in $dir (clang)"
CC=clang CXX=clang++ cmake -S tests/fuzz -B "$dir" -G Ninja >/dev/null
cmake --build "$dir"

# target, -max_len, extra seed directories (read only: libFuzzer writes new
# inputs into the first directory only, the scratch one).
targets=(
  "reply_parser 4096"
  "ehlo_parser 4096"
  "probe_query 1024"
  "config_loader 8192 tests/config"
  "dnsbl_answer 1024"
  "tlsa_rdata 2048"
  "imap_response 8192"
  "auth_results 4096"
  "mta_sts_policy 4096"
)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

stat() {  # stat NAME LOG: a value of libFuzzer's -print_final_stats output
  sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

failed=()
for entry in "${targets[@]}"; do
  read -r target max_len extra <<<"$entry"
  if $replay; then
    # Each committed input once, as files (not corpus directories): nothing is
    # mutated and nothing is written, so the result depends only on the tree.
    log="$dir/fuzz-out/$target/replay.log"
    mkdir -p "$(dirname "$log")"
    # shellcheck disable=SC2086  # $extra: zero or more directories
    mapfile -t inputs < <(find "tests/fuzz/corpus/$target" $extra -type f | sort)
    rc=0
    "$dir/$target" -runs=0 -timeout=5 -rss_limit_mb=2048 "${inputs[@]}" >"$log" 2>&1 || rc=$?
    ran=$(grep -c '^Running: ' "$log" || true)
    printf '%-14s %6s inputs replayed\n' "$target" "$ran"
    if [[ $rc -ne 0 || $ran -ne ${#inputs[@]} ]]; then
      failed+=("$target")
      echo "!! $target failed on a committed input (exit $rc, $ran of ${#inputs[@]} ran):"
      grep -E '^Running: |^==[0-9]+==ERROR|^SUMMARY|fuzz invariant failed|threw|runtime error' "$log" | tail -n 10 || true
    fi
    continue
  fi
  out="$dir/fuzz-out/$target"
  rm -rf "$out/artifacts"
  mkdir -p "$out/corpus" "$out/artifacts"
  log="$out/fuzz.log"
  echo "== $target: ${seconds}s (log: $log)"
  rc=0
  # shellcheck disable=SC2086  # $extra: zero or more directories
  "$dir/$target" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -dict="tests/fuzz/$target.dict" \
    -artifact_prefix="$out/artifacts/" \
    "$out/corpus" "tests/fuzz/corpus/$target" $extra >"$log" 2>&1 || rc=$?
  execs=$(stat number_of_executed_units "$log")
  rate=$(stat average_exec_per_sec "$log")
  added=$(stat new_units_added "$log")
  rss=$(stat peak_rss_mb "$log")
  printf '%-14s %12s execs %8s exec/s %6s new inputs %6s MB peak RSS\n' \
    "$target" "${execs:-?}" "${rate:-?}" "${added:-?}" "${rss:-?}"
  if [[ $rc -ne 0 ]]; then
    failed+=("$target")
    echo "!! $target failed (exit $rc):"
    grep -E '^==[0-9]+==ERROR|^SUMMARY|fuzz invariant failed|threw|runtime error|ERROR: libFuzzer' "$log" | head -n 10 || true
    grep -E 'Test unit written to|artifact_prefix' "$log" | tail -n 1 || true
    for file in "$out"/artifacts/*; do
      [[ -e $file ]] && echo "   crash file: $file (reproduce: $dir/$target $file)"
    done
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
if $replay; then
  echo "every committed fuzz input replayed without a finding"
else
  echo "all fuzz targets ran ${seconds}s without a finding"
fi
