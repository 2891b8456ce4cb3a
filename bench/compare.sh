#!/usr/bin/env bash
# smtp_exporter and blackbox_exporter side by side, plus the 10,000-probe scale run and the
# banner-latency accuracy run (docs/performance.md, "Side by side with blackbox_exporter").
#   bench/compare.sh [BUILD_DIR] [compare.py options: --json FILE, --time-scale X, --only side|scale]
# Installs what is missing from Debian when run as root (prometheus-blackbox-exporter, openssl,
# python3, and the build dependencies), builds a Release bench build in BUILD_DIR (default
# build-bench) when its binaries are missing, then runs bench/compare.py. About 90 s on
# 2 cores. Exit 0: every target of bench/compare_targets.toml met; 1: one missed; 2: setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build-bench
if [[ $# -gt 0 && $1 != -* ]]; then build_dir=$1; shift; fi

# The load generator is bench/smtp_bench (built below), not wrk: it must read every probe's
# metrics (probe_success, probe_smtp_banner_latency_seconds), open one connection per probe with
# a ramp, and be the SMTP server under test as well.
missing=()
command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "compare: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d: the package must not start a blackbox_exporter service on the host; compare.py
  # starts its own on a free loopback port.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -x $build_dir/smtp_exporter || ! -x $build_dir/bench/smtp_bench ]]; then
  if [[ $(id -u) -eq 0 ]]; then scripts/install-deps.sh; fi
  scripts/build.sh "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSMTP_EXPORTER_TESTS=OFF -DSMTP_EXPORTER_BENCH=ON
fi
exec python3 bench/compare.py "$build_dir" "$@"
