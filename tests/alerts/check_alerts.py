#!/usr/bin/env python3
"""Consistency of the alerting rules, their promtool tests and their runbooks.

Checks, for alerts/smtp_exporter.rules.yml:
  - every alert has `for:`, a severity (critical, warning or info), and the annotations
    summary, description, runbook_url and dashboard_url; the description names the instance
    ({{ $labels.instance }}) and the value ({{ $value }}); runbook_url is
    RUNBOOK_BASE/<AlertName>.md and dashboard_url the drill-down dashboard;
  - every runbook_url points to an existing docs/runbooks/<AlertName>.md;
  - every alert, and every severity of an alert, has a firing case in alerts/tests/*.yml (with
    exp_labels.severity and exp_annotations.summary), and every alert has a case where it must
    not fire (exp_alerts: []);
  - every page of docs/runbooks/ (README.md aside) belongs to an alert, and docs/runbooks/README.md
    and the README's "## Alertmanager" section mention every alert.

Usage: check_alerts.py [--root REPO]   (default: the repository this script is in)
Needs PyYAML (Debian: python3-yaml, installed by scripts/install-deps.sh --test).
"""

import argparse
import pathlib
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check_alerts.py: PyYAML is missing; install python3-yaml (scripts/install-deps.sh --test)")

RUNBOOK_BASE = "https://github.com/smtp-exporter/smtp_exporter/blob/main/docs/runbooks/"
DASHBOARD_URL = ("https://grafana.example.com/d/smtp-exporter-target/smtp-exporter-target"
                 "?var-instance={{ $labels.instance }}"
                 "{{ with $labels.target_name }}&var-target_name={{ . }}{{ end }}")
SEVERITIES = {"critical", "warning", "info"}
ANNOTATIONS = ("summary", "description", "runbook_url", "dashboard_url")


def load_yaml(path, errors):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        errors.append(f"{path}: cannot read: {e}")
        return None


def check_rules(rules_path, runbooks_dir, errors):
    """Returns {alert name: set of severities}."""
    doc = load_yaml(rules_path, errors)
    alerts = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        errors.append(f"{rules_path}: no `groups:` list")
        return alerts
    for group in doc["groups"]:
        for rule in group.get("rules") or []:
            name = rule.get("alert")
            if name is None:
                continue  # recording rule
            where = f"{rules_path.name}: alert {name}"
            if not re.fullmatch(r"SMTP[A-Za-z]+", name):
                errors.append(f"{where}: name must be SMTP<CamelCase>")
            if not rule.get("for"):
                errors.append(f"{where}: no `for:` duration")
            labels = rule.get("labels") or {}
            severity = labels.get("severity")
            if severity not in SEVERITIES:
                errors.append(f"{where}: severity is {severity!r}, not one of {sorted(SEVERITIES)}")
            annotations = rule.get("annotations") or {}
            for key in ANNOTATIONS:
                if not str(annotations.get(key, "")).strip():
                    errors.append(f"{where}: annotation {key} is missing or empty")
            description = str(annotations.get("description", ""))
            for needle in ("$labels.instance", "$value"):
                if needle not in description:
                    errors.append(f"{where}: the description does not use {{{{ {needle} }}}}")
            runbook = annotations.get("runbook_url")
            if runbook is not None:
                if runbook != f"{RUNBOOK_BASE}{name}.md":
                    errors.append(f"{where}: runbook_url is {runbook!r}, expected {RUNBOOK_BASE}{name}.md")
                page = runbooks_dir / pathlib.PurePosixPath(runbook).name
                if not page.is_file():
                    errors.append(f"{where}: runbook {page} does not exist")
            dashboard = annotations.get("dashboard_url")
            if dashboard is not None and dashboard != DASHBOARD_URL:
                errors.append(f"{where}: dashboard_url is {dashboard!r}, expected {DASHBOARD_URL}")
            alerts.setdefault(name, set()).add(severity)
    if not alerts:
        errors.append(f"{rules_path}: no alerting rules")
    return alerts


def check_tests(tests_dir, rules_path, alerts, errors):
    files = sorted(tests_dir.glob("*.yml"))
    if not files:
        errors.append(f"{tests_dir}: no promtool test files")
    firing = {}   # name -> severities seen in a firing case with a summary
    silent = set()
    for path in files:
        doc = load_yaml(path, errors)
        if not isinstance(doc, dict):
            continue
        rule_files = [(path.parent / f).resolve() for f in doc.get("rule_files") or []]
        if rules_path.resolve() not in rule_files:
            errors.append(f"{path.name}: rule_files does not load {rules_path.name}")
        for test in doc.get("tests") or []:
            for case in test.get("alert_rule_test") or []:
                name = case.get("alertname")
                if name not in alerts:
                    errors.append(f"{path.name}: test of unknown alert {name!r}")
                    continue
                expected = case.get("exp_alerts") or []
                if not expected:
                    silent.add(name)
                for exp in expected:
                    severity = (exp.get("exp_labels") or {}).get("severity")
                    if not (exp.get("exp_annotations") or {}).get("summary"):
                        errors.append(f"{path.name}: a firing case of {name} does not check the summary")
                        continue
                    firing.setdefault(name, set()).add(severity)
    for name, severities in sorted(alerts.items()):
        for severity in sorted(severities - firing.get(name, set())):
            errors.append(f"alert {name}: no test where it fires with severity {severity}")
        if name not in silent:
            errors.append(f"alert {name}: no test where it must not fire (exp_alerts: [])")


def check_runbooks(runbooks_dir, readme, alerts, errors):
    for page in sorted(runbooks_dir.glob("*.md")):
        if page.name != "README.md" and page.stem not in alerts:
            errors.append(f"{page}: no alert named {page.stem}")
    index = runbooks_dir / "README.md"
    if not index.is_file():
        errors.append(f"{index} is missing")
    else:
        text = index.read_text(encoding="utf-8")
        for name in sorted(alerts):
            if f"({name}.md)" not in text:
                errors.append(f"{index}: no link to {name}.md")
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    match = re.search(r"^## Alertmanager\n(.*?)(?=^## )", text, re.S | re.M)
    if not match:
        errors.append(f"{readme}: no `## Alertmanager` section")
    else:
        for name in sorted(alerts):
            if f"`{name}`" not in match.group(1):
                errors.append(f"{readme}: the Alertmanager section does not list `{name}`")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent.parent)
    args = parser.parse_args()
    root = args.root
    rules = root / "alerts" / "smtp_exporter.rules.yml"
    runbooks = root / "docs" / "runbooks"
    errors = []
    alerts = check_rules(rules, runbooks, errors)
    if alerts:
        check_tests(root / "alerts" / "tests", rules, alerts, errors)
        check_runbooks(runbooks, root / "README.md", alerts, errors)
    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s)", file=sys.stderr)
        return 1
    total = sum(len(s) for s in alerts.values())
    print(f"OK: {len(alerts)} alerts ({total} alert/severity pairs), tests and runbooks consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
