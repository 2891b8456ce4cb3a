#!/usr/bin/env bash
# Generates the shipped alerting rules, dashboards, Alertmanager example and Kubernetes
# PrometheusRule from the jsonnet mixin in mixin/ (Debian package jsonnet; no downloaded libraries):
#   alerts/smtp_exporter.rules.yml, dashboards/*.json, docs/examples/alertmanager.yml,
#   packaging/kubernetes/prometheusrule.yaml
#
#   scripts/mixin.sh                 write them into the repository
#   scripts/mixin.sh --check         exit 1, with a diff, when a committed file differs from the
#                                    jsonnet output (the test mixin.fresh)
#   scripts/mixin.sh --out DIR       write them under DIR instead
#   scripts/mixin.sh --mixin FILE    use FILE (a jsonnet file importing mixin.libsonnet with your
#                                    _config; -J mixin/ is on the search path) instead of mixin.libsonnet
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=write out=$root mixin=
while (($#)); do
  case "$1" in
    --check) mode=check ;;
    --out) out=$2; shift ;;
    --mixin) mixin=$(realpath "$2"); shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "mixin.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
command -v jsonnet >/dev/null || { echo "mixin.sh: jsonnet not found: apt-get install jsonnet (scripts/install-deps.sh --test)" >&2; exit 2; }

tla=()
[[ -n $mixin ]] && tla=(--tla-code "mixin=import '$mixin'")

gen() {  # gen DIR: every generated file under DIR; prints their paths relative to DIR
  mkdir -p "$1/alerts" "$1/dashboards" "$1/docs/examples" "$1/packaging/kubernetes"
  (cd "$1" && jsonnet -J "$root/mixin" -S -m . "${tla[@]}" "$root/mixin/build.jsonnet") | sed "s|^\./||"
}

if [[ $mode == check ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  stale=0
  for f in $(gen "$tmp"); do
    if ! diff -u "$root/$f" "$tmp/$f" --label "$f (committed)" --label "$f (jsonnet output)"; then
      stale=1
    fi
  done
  if ((stale)); then
    echo "FAILED: the files above are not up to date with mixin/: run scripts/mixin.sh and commit the result" >&2
    exit 1
  fi
  echo "OK: alerts, dashboards, the Alertmanager example and the PrometheusRule are up to date with mixin/"
else
  gen "$out" | sed "s|^|wrote $out/|"
fi
