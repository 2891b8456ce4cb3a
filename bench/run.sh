#!/usr/bin/env bash
# Load benchmark of the real binary; exits non-zero when a target of bench/targets.toml is missed.
#   bench/run.sh BUILD_DIR [--json FILE] [--time-scale X]
# BUILD_DIR: a build configured with -DSMTP_EXPORTER_BENCH=ON (Release for meaningful numbers),
# e.g. scripts/build.sh build-bench -DCMAKE_BUILD_TYPE=Release -DSMTP_EXPORTER_TESTS=OFF -DSMTP_EXPORTER_BENCH=ON
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
