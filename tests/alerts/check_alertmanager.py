#!/usr/bin/env python3
"""The shipped Alertmanager example, docs/examples/alertmanager.yml (generated from the mixin's
inhibit rules), as Alertmanager reads it:

  - `amtool check-config` accepts it and finds the inhibit rules;
  - every alert name in the inhibit rules' matchers is an alert of alerts/smtp_exporter.rules.yml,
    and every rule has `equal` labels that identify a probe (job, instance, target_name, module);
  - `amtool config routes test`: critical alerts go to the pager receiver, the others to the team;
  - amtool really checks: a copy with a broken matcher (an unbalanced regex) must be rejected.

Run: python3 tests/alerts/check_alertmanager.py [--amtool PATH]
Needs amtool (Debian package prometheus-alertmanager) and PyYAML (python3-yaml), both in
scripts/install-deps.sh --test.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check_alertmanager.py: PyYAML is missing; install python3-yaml (scripts/install-deps.sh --test)")

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONFIG = os.path.join(REPO, "docs", "examples", "alertmanager.yml")
RULES = os.path.join(REPO, "alerts", "smtp_exporter.rules.yml")
PROBE_LABELS = {"job", "instance", "target_name", "module"}


def amtool(binary, *args):
    r = subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    return r.returncode, r.stdout


def alert_names_of(matchers):
    """The alert names a list of matcher strings selects (= and =~ on alertname)."""
    names = set()
    for m in matchers:
        match = re.fullmatch(r'\s*alertname\s*(=~|=)\s*"?([^"]*)"?\s*', m)
        if match:
            names |= set(match.group(2).split("|")) if match.group(1) == "=~" else {match.group(2)}
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amtool", default=shutil.which("amtool") or "/usr/bin/amtool")
    args = parser.parse_args()
    if not (os.path.isfile(args.amtool) and os.access(args.amtool, os.X_OK)):
        sys.exit(f"FAILED: amtool not found at {args.amtool!r}; install the Debian package "
                 "prometheus-alertmanager (scripts/install-deps.sh --test) or pass --amtool PATH")
    errors = []

    code, out = amtool(args.amtool, "check-config", CONFIG)
    print(out, end="")
    if code != 0:
        errors.append(f"amtool check-config {CONFIG} exited with {code}")

    with open(CONFIG, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    with open(RULES, encoding="utf-8") as f:
        alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r}
    rules = config.get("inhibit_rules") or []
    if len(rules) < 5 or f"{len(rules)} inhibit rules" not in out:
        errors.append(f"expected the 5 inhibit rules of the mixin, amtool found: {out.strip()!r}")
    for i, rule in enumerate(rules):
        for side in ("source_matchers", "target_matchers"):
            names = alert_names_of(rule.get(side) or [])
            if not names:
                errors.append(f"inhibit rule {i + 1}: {side} names no alert")
            for name in sorted(names - alerts):
                errors.append(f"inhibit rule {i + 1}: {side} names {name!r}, not an alert of {RULES}")
        if not PROBE_LABELS <= set(rule.get("equal") or []):
            errors.append(f"inhibit rule {i + 1}: equal {rule.get('equal')} lacks {sorted(PROBE_LABELS)}")

    for labels, receiver in ((["alertname=SMTPProbeFailing", "severity=critical"], "mail-oncall"),
                             (["alertname=SMTPDegraded", "severity=warning"], "mail-team")):
        code, out = amtool(args.amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels)
        got = out.strip().splitlines()[-1:] if out.strip() else []
        if code != 0 or got != [receiver]:
            errors.append(f"amtool config routes test {' '.join(labels)}: exit {code}, {out.strip()!r}, "
                          f"expected {receiver}")

    # Negative control: the same file with a broken matcher (an unbalanced regex) must be rejected.
    with tempfile.TemporaryDirectory(prefix="smtp-exporter-amtool-") as tmp:
        broken = os.path.join(tmp, "alertmanager.yml")
        with open(CONFIG, encoding="utf-8") as f:
            text = f.read()
        mutated = text.replace('alertname =~ \\"SMTPNoMXReachable', 'alertname =~ \\"(SMTPNoMXReachable', 1)
        if mutated == text:
            errors.append("negative control: the matcher to break is not in the file; update this test")
        with open(broken, "w", encoding="utf-8") as f:
            f.write(mutated)
        code, out = amtool(args.amtool, "check-config", broken)
        if code == 0:
            errors.append("amtool check-config accepted a copy with a broken matcher: the check proves nothing")

    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"OK: {CONFIG}: amtool accepts it; {len(rules)} inhibit rules on existing alerts; routes as documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
