#!/usr/bin/env bash
# Installs every Debian package the project needs. Idempotent; run as root.
#   scripts/install-deps.sh          build dependencies only
#   scripts/install-deps.sh --test   plus the real servers the tests start (Postfix, dnsmasq, Prometheus)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# ca-certificates: the trust store that TLS verification uses by default.
build_pkgs=(cmake ninja-build g++ pkg-config ca-certificates
  libboost-dev libssl-dev libc-ares-dev prometheus-cpp-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libyaml-cpp-dev libcrypt-dev nlohmann-json3-dev zlib1g-dev)
test_pkgs=(postfix libsasl2-modules sasl2-bin dnsmasq-base prometheus curl openssl python3 python3-yaml ca-certificates)
# DANE (issue 14): libunbound validates DNSSEC in the exporter, dns-root-data is its root trust
# anchor; nsd serves the e2e tests' zones, signed at test time with ldns-signzone (ldnsutils).
build_pkgs+=(libunbound-dev dns-root-data)
test_pkgs+=(nsd ldnsutils)
# jsonnet: the monitoring mixin (scripts/mixin.sh, the test mixin.fresh); amtool from
# prometheus-alertmanager checks the Alertmanager example (alerts.alertmanager). policy-rc.d below
# keeps its service from starting.
test_pkgs+=(jsonnet prometheus-alertmanager)
# dpkg-dev, file: cpack -G DEB computes the package's Depends with dpkg-shlibdeps.
build_pkgs+=(dpkg-dev file)
# strace: the packaging.sandbox test checks the exporter's system calls against the unit's filter.
# libbenchmark-dev: bench/micro_bench (Google Benchmark), built by scripts/test.sh.
test_pkgs+=(strace libbenchmark-dev)
# man-db, groff-base: the packaging.man test renders the manual page with man -l (and lexgrog).
test_pkgs+=(man-db groff-base)
# clang, libclang-rt-14-dev: the libFuzzer targets (scripts/fuzz.sh, docs/fuzzing.md); libFuzzer and
# the sanitizer runtimes are in libclang-rt-14-dev, which is only a recommendation of clang.
test_pkgs+=(clang libclang-rt-14-dev)
# prometheus-blackbox-exporter: the side-by-side benchmark (bench/compare.sh, docs/performance.md).
test_pkgs+=(prometheus-blackbox-exporter)
# dovecot-imapd: the IMAP server of the delivery e2e test (tests/e2e/test_delivery.py, the [receive] unit).
test_pkgs+=(dovecot-imapd)
# nginx-light: the MTA-STS end-to-end test serves policies over HTTPS (tests/e2e/test_mta_sts.py).
test_pkgs+=(nginx-light)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=("${test_pkgs[@]}")
  # Postfix asks a debconf question on install; we configure it ourselves in the tests.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting services (Postfix, Prometheus) on the host:
  # the test harness starts its own instances on free loopback ports.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
