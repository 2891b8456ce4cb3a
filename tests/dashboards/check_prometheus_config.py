#!/usr/bin/env python3
"""`promtool check config` on every shipped Prometheus example, as shipped: each
docs/examples/*.yml that holds `scrape_configs` (docs/examples/prometheus.yml today). promtool
also loads the files named in rule_files, relative to the example's directory; the example names
the repository's alerts/smtp_exporter.rules.yml by a relative path, so both the scrape config and
the rules are checked without rewriting anything. A rule file that matches nothing would be
silently skipped by promtool, so this also requires every rule_files entry to exist.
(The sharding examples of docs/deployment.md are checked by packaging.docs.)

Run: python3 tests/dashboards/check_prometheus_config.py [--promtool PATH]
Standard library only.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLES = os.path.join(REPO, "docs", "examples")
REPO_RULES = os.path.join(REPO, "alerts", "smtp_exporter.rules.yml")


def rule_files(text):
    """The entries of the top-level rule_files list (a simple YAML list; enough for the examples)."""
    m = re.search(r"^rule_files:\n((?:[ \t]+-.*\n|[ \t]*#.*\n)+)", text, re.M)
    if not m:
        return []
    return [re.sub(r"\s+#.*$", "", line.split("-", 1)[1]).strip().strip("'\"")
            for line in m.group(1).splitlines() if line.strip().startswith("-")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", default=shutil.which("promtool") or "/usr/bin/promtool")
    args = parser.parse_args()
    if not (os.path.isfile(args.promtool) and os.access(args.promtool, os.X_OK)):
        sys.exit(f"FAILED: promtool not found at {args.promtool!r}; install the Debian package "
                 "prometheus (scripts/install-deps.sh --test) or pass --promtool PATH")
    configs = []
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.yml"))):
        with open(path, encoding="utf-8") as f:
            if re.search(r"^scrape_configs:", f.read(), re.M):
                configs.append(path)
    if not configs:
        sys.exit(f"FAILED: no Prometheus configuration (scrape_configs) in {EXAMPLES}")
    failed = 0
    loads_repo_rules = False
    for path in configs:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for entry in rule_files(text):
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), entry))
            if not glob.glob(resolved):
                print(f"FAILED: {path}: rule_files entry {entry!r} ({resolved}) matches no file")
                failed += 1
            loads_repo_rules |= resolved == REPO_RULES
        argv = [args.promtool, "check", "config", path]
        print(" ".join(argv), flush=True)
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        print(result.stdout, end="")
        if result.returncode != 0:
            print(f"FAILED: promtool check config {path} exited with {result.returncode}")
            failed += 1
    if not loads_repo_rules:
        print(f"FAILED: no example loads {REPO_RULES}: the shipped rules are not checked with a config")
        failed += 1
    if failed:
        return 1
    print(f"OK: {len(configs)} example(s) pass promtool check config as shipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
