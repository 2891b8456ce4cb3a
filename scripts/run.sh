#!/usr/bin/env bash
# From a fresh Debian bookworm root shell: install the build dependencies,
# build, and run the exporter on its built-in default modules (port 9587).
# Extra arguments are passed to smtp_exporter, e.g. --log.level=debug.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Its own build tree: the test build (build/) has other settings.
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DSMTP_EXPORTER_TESTS=OFF
exec build-release/smtp_exporter "$@"
