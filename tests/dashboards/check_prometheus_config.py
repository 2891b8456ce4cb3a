#!/usr/bin/env python3
"""`promtool check config` on the shipped scrape config, docs/examples/prometheus.yml.

promtool also loads the files named in rule_files, and the example names the path where the
Debian package installs the rules (/usr/share/smtp-exporter/alerts/smtp_exporter.rules.yml),
which a build tree does not have. So this checks a copy of the example in a temporary
directory, with that one path rewritten to the repository's alerts/smtp_exporter.rules.yml:
the scrape config and the rules are both checked, as they are shipped. Standard library only.

Run: python3 tests/dashboards/check_prometheus_config.py [--promtool PATH]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONFIG = os.path.join(REPO, "docs", "examples", "prometheus.yml")
INSTALLED_RULES = "/usr/share/smtp-exporter/alerts/smtp_exporter.rules.yml"
REPO_RULES = os.path.join(REPO, "alerts", "smtp_exporter.rules.yml")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", default=shutil.which("promtool") or "/usr/bin/promtool")
    args = parser.parse_args()
    if not (os.path.isfile(args.promtool) and os.access(args.promtool, os.X_OK)):
        sys.exit(f"FAILED: promtool not found at {args.promtool!r}; install the Debian package "
                 "prometheus (scripts/install-deps.sh --test) or pass --promtool PATH")
    with open(CONFIG, encoding="utf-8") as f:
        text = f.read()
    if INSTALLED_RULES not in text:
        sys.exit(f"FAILED: {CONFIG} does not name {INSTALLED_RULES} in rule_files "
                 "(update this check if the installed path changed)")
    if not os.path.isfile(REPO_RULES):
        sys.exit(f"FAILED: {REPO_RULES} does not exist")
    with tempfile.TemporaryDirectory(prefix="smtp-exporter-promtool-") as tmp:
        copy = os.path.join(tmp, "prometheus.yml")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(text.replace(INSTALLED_RULES, REPO_RULES))
        argv = [args.promtool, "check", "config", copy]
        print(f"{' '.join(argv)}   (copy of {CONFIG}, rule_files -> {REPO_RULES})", flush=True)
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    print(result.stdout, end="")
    if result.returncode != 0:
        print(f"FAILED: promtool check config exited with {result.returncode}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
