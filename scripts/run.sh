#!/usr/bin/env bash
# From a fresh Debian bookworm root shell: install the build dependencies,
# build, and run the exporter on its built-in default modules (port 9587).
# Extra arguments are passed to smtp_exporter, e.g. --log.level=debug.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DSMTP_EXPORTER_TESTS=OFF
exec build/smtp_exporter "$@"
