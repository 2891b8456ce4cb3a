#!/usr/bin/env bash
# From a fresh Debian bookworm root shell: install everything the tests need
# (compilers, libraries, Postfix, dnsmasq, Prometheus), build with warnings as
# errors, and run every test (unit, integration, end-to-end); then build again
# with AddressSanitizer + UndefinedBehaviorSanitizer and run every test again; then replay every
# committed fuzz input (seeds and past findings) through the libFuzzer targets. Deterministic:
# open-ended fuzzing is scripts/fuzz.sh SECONDS, run apart from this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

# Release: the same optimisation (and so the same warnings) as scripts/run.sh.
echo "== build (Release) and test"
scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DSMTP_EXPORTER_TESTS=ON -DSMTP_EXPORTER_BENCH=ON
ctest --test-dir build --output-on-failure

# Once, on the Release build only (never under ASan): the load benchmark of the real binary
# against the targets in bench/targets.toml (about 15 s; docs/performance.md).
echo "== benchmark (Release)"
bench/run.sh build

echo "== Debian package: build, install, check, purge"
scripts/package-test.sh build

echo "== build (ASan + UBSan) and test"
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DSMTP_EXPORTER_SANITIZE=ON -DSMTP_EXPORTER_TESTS=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The GoogleTest binaries run whole, one process each: ctest starts one process per test, and an
# ASan process takes about 0.7 s to start and end (565 unit tests: 384 s that way, 8 s whole).
# The Release run above has already run every test in its own process.
build-asan/tests/unit_tests --gtest_brief=1
build-asan/tests/integration_tests --gtest_brief=1
# Then the exporter under ASan against the real servers. The checks of the tree itself (alerts,
# dashboards, the mixin, packaging) do not depend on the build and ran above.
ctest --test-dir build-asan --output-on-failure -L e2e
unset ASAN_OPTIONS UBSAN_OPTIONS

# clang + libFuzzer (with ASan + UBSan): every committed input of every parser target once
# (docs/fuzzing.md). Not a random search: the result depends on the tree only.
echo "== fuzz corpora replay (libFuzzer)"
scripts/fuzz.sh --replay
