#!/usr/bin/env bash
# Soak run (not in CI): a fixed probe rate for a long time; the exporter's RSS and fd count must
# stay flat (docs/performance.md, "Soak").
#   bench/soak.sh [BUILD_DIR] [soak.py options: --minutes 30, --rate 200, --json FILE, ...]
# Builds a Release bench build in BUILD_DIR (default build-bench) when its binaries are missing,
# then runs bench/soak.py. Exit 0: flat; 1: not flat; 2: setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build-bench
if [[ $# -gt 0 && $1 != -* ]]; then build_dir=$1; shift; fi
if [[ ! -x $build_dir/smtp_exporter || ! -x $build_dir/bench/smtp_bench ]]; then
  if [[ $(id -u) -eq 0 ]]; then scripts/install-deps.sh; fi
  scripts/build.sh "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSMTP_EXPORTER_TESTS=OFF -DSMTP_EXPORTER_BENCH=ON
fi
exec python3 bench/soak.py "$build_dir" "$@"
