#!/usr/bin/env python3
"""Static checks of the Grafana dashboards in dashboards/ (standard library only).

Run: python3 tests/dashboards/lint_dashboards.py [DASHBOARD_DIR]   (default: <repo>/dashboards)

Checks, for every *.json file:
- it parses as JSON, and is one of the expected dashboards (uid and file name as below);
- uids are unique; schemaVersion >= 38;
- every panel (rows included, when they carry one) and every target uses the datasource
  {"type": "prometheus", "uid": "${datasource}"}, and so do the query variables;
- the variables datasource (type datasource, query prometheus), job, instance, module exist,
  and the query variables use label_values(...);
- every non-row panel has at least one target with a non-empty expr, and refIds are unique
  within a panel; panel ids and titles are unique;
- no expr hard-codes a job (job="smtp", job=~"smtp.*", ...): jobs come from variables;
- rate()/irate()/increase() windows are $__rate_interval;
- data links to the drill-down use /d/smtp-exporter-target/... with var-instance;
- the rows for optional features (mail domains, AUTH) are collapsed and each of their panels has
  a noValue text instead of "No data";
- runbook links (dashboard and panel links to .../docs/runbooks/NAME.md) name an existing
  docs/runbooks page, and each dashboard links to the runbooks;
- the "Firing SMTP alerts" stat counts exactly the alerts of alerts/smtp_exporter.rules.yml
  (alertname=~"A|B|..."), not every alert of a shared Prometheus.
Exit status 0 when everything passes, 1 with one line per problem otherwise.
"""

import json
import os
import re
import sys

EXPECTED = {
    "smtp-exporter-overview.json": "smtp-exporter-overview",
    "smtp-exporter-target.json": "smtp-exporter-target",
}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
REQUIRED_VARIABLES = ("datasource", "job", "instance", "module")
MIN_SCHEMA_VERSION = 38
# job followed by a matcher whose value is not (only) a variable reference.
HARD_CODED_JOB = re.compile(r'\bjob\s*(=~|!~|!=|=)\s*"(?!\$\{?\w+\}?")([^"]*)"')
RANGE_FUNCTIONS = re.compile(r"\b(rate|irate|increase)\s*\(")
DRILL_DOWN = "/d/smtp-exporter-target/smtp-exporter-target?"
# Rows of features many targets do not use: collapsed, with a noValue text on their panels.
OPTIONAL_ROWS = re.compile(r"\(MX\)|Authentication")
RUNBOOK_LINK = re.compile(r"/docs/runbooks/([A-Za-z0-9_]+)\.md$")
FIRING_PANEL = "Firing SMTP alerts"


def alert_names(rules_path):
    """The alert names of the rules file (standard library only: the `alert:` lines)."""
    try:
        with open(rules_path, encoding="utf-8") as f:
            return set(re.findall(r'^\s*-?\s*alert:\s*"?([A-Za-z0-9_]+)"?\s*$', f.read(), re.M))
    except OSError:
        return set()


def all_panels(panels):
    """Every panel, including those nested in collapsed rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def range_windows(expr):
    """The [window] of every rate/irate/increase call in expr (roughly: the first [..] after it)."""
    for m in RANGE_FUNCTIONS.finditer(expr):
        depth, i = 1, m.end()
        while i < len(expr) and depth:
            if expr[i] == "(":
                depth += 1
            elif expr[i] == ")":
                depth -= 1
            elif expr[i] == "[" and depth >= 1:
                end = expr.index("]", i)
                yield m.group(1), expr[i + 1:end]
                i = end
            i += 1


def links_of(panel):
    """Every link URL in a panel: field defaults, overrides, panel links."""
    fc = panel.get("fieldConfig", {})
    for link in fc.get("defaults", {}).get("links", []):
        yield link.get("url", "")
    for override in fc.get("overrides", []):
        for prop in override.get("properties", []):
            if prop.get("id") == "links":
                for link in prop.get("value", []):
                    yield link.get("url", "")
    for link in panel.get("links", []):
        yield link.get("url", "")


def lint_dashboard(name, dashboard, runbooks_dir=None, alerts=frozenset()):
    problems = []

    def problem(message):
        problems.append(f"{name}: {message}")

    expected_uid = EXPECTED.get(name)
    if expected_uid is None:
        problem(f"unexpected dashboard file (expected one of {sorted(EXPECTED)})")
    elif dashboard.get("uid") != expected_uid:
        problem(f"uid is {dashboard.get('uid')!r}, expected {expected_uid!r}")
    if not dashboard.get("title"):
        problem("no title")
    schema = dashboard.get("schemaVersion")
    if not isinstance(schema, int) or schema < MIN_SCHEMA_VERSION:
        problem(f"schemaVersion is {schema!r}, expected an integer >= {MIN_SCHEMA_VERSION}")

    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    for required in REQUIRED_VARIABLES:
        if required not in variables:
            problem(f"variable ${required} is missing")
    ds = variables.get("datasource")
    if ds and (ds.get("type") != "datasource" or ds.get("query") != "prometheus"):
        problem("variable $datasource must be of type datasource with query prometheus")
    for vname, var in variables.items():
        if var.get("type") != "query":
            continue
        if var.get("datasource") != DATASOURCE:
            problem(f"variable ${vname}: datasource is {var.get('datasource')!r}, expected {DATASOURCE}")
        query = var.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if not isinstance(text, str) or not text.startswith("label_values("):
            problem(f"variable ${vname}: query {text!r} is not label_values(...)")
        elif HARD_CODED_JOB.search(text):
            problem(f"variable ${vname}: query {text!r} hard-codes a job")

    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row" and OPTIONAL_ROWS.search(panel.get("title", "")):
            if not panel.get("collapsed") or not panel.get("panels"):
                problem(f"row {panel.get('title')!r} should be collapsed, with its panels inside it")
            for inner in panel.get("panels", []):
                if not str(inner.get("fieldConfig", {}).get("defaults", {}).get("noValue", "")).strip():
                    problem(f"panel {inner.get('title')!r} of row {panel.get('title')!r} has no noValue text")

    runbook_links = [link.get("url", "") for link in dashboard.get("links", [])
                     if RUNBOOK_LINK.search(link.get("url", ""))]
    if runbooks_dir and not runbook_links:
        problem("no dashboard link to the runbooks (.../docs/runbooks/README.md)")

    ids, titles = set(), set()
    panels = list(all_panels(dashboard.get("panels", [])))
    if not panels:
        problem("no panels")
    for panel in panels:
        title = panel.get("title") or f"<panel id {panel.get('id')}>"
        where = f"panel {title!r}"
        pid = panel.get("id")
        if pid in ids:
            problem(f"{where}: duplicate panel id {pid}")
        ids.add(pid)
        if "gridPos" not in panel:
            problem(f"{where}: no gridPos")
        is_row = panel.get("type") == "row"
        if (not is_row or "datasource" in panel) and panel.get("datasource") != DATASOURCE:
            problem(f"{where}: datasource is {panel.get('datasource')!r}, expected {DATASOURCE}")
        targets = panel.get("targets", [])
        if is_row:
            continue
        if not panel.get("title"):
            problem(f"{where}: no title")
        elif panel["title"] in titles:
            problem(f"{where}: another panel has the same title")
        titles.add(panel.get("title"))
        if not any(isinstance(t.get("expr"), str) and t["expr"].strip() for t in targets):
            problem(f"{where}: no target with an expr")
        refs = [t.get("refId") for t in targets]
        if len(refs) != len(set(refs)) or None in refs:
            problem(f"{where}: refIds missing or not unique: {refs}")
        for t in targets:
            expr = t.get("expr", "")
            if t.get("datasource") != DATASOURCE:
                problem(f"{where}, target {t.get('refId')}: datasource is {t.get('datasource')!r}, "
                        f"expected {DATASOURCE}")
            m = HARD_CODED_JOB.search(expr)
            if m:
                problem(f"{where}, target {t.get('refId')}: hard-coded job {m.group(0)!r} in {expr!r}")
            for function, window in range_windows(expr):
                if window != "$__rate_interval":
                    problem(f"{where}, target {t.get('refId')}: {function}() over [{window}], "
                            f"expected [$__rate_interval]")
        if panel.get("title") == FIRING_PANEL and alerts:
            exprs = " ".join(t.get("expr", "") for t in targets)
            m = re.search(r'alertname\s*=~\s*"([^"]*)"', exprs)
            listed = set(m.group(1).split("|")) if m else set()
            if listed != alerts:
                problem(f"{where}: counts alertname=~{sorted(listed)}, expected the alerts of the rules "
                        f"{sorted(alerts)}")
        for url in list(links_of(panel)) + runbook_links:
            m = RUNBOOK_LINK.search(url)
            if m and runbooks_dir and not os.path.isfile(os.path.join(runbooks_dir, m.group(1) + ".md")):
                problem(f"{where}: runbook link {url!r}: {m.group(1)}.md is not in {runbooks_dir}")
        for url in links_of(panel):
            if "smtp-exporter-target" in url and (not url.startswith(DRILL_DOWN) or "var-instance=" not in url):
                problem(f"{where}: link {url!r} should be {DRILL_DOWN}var-instance=...")
    return problems


def lint_directory(directory, repo=None):
    repo = repo or os.path.dirname(os.path.abspath(directory))
    runbooks_dir = os.path.join(repo, "docs", "runbooks")
    alerts = alert_names(os.path.join(repo, "alerts", "smtp_exporter.rules.yml"))
    problems = []
    if not alerts:
        problems.append(f"no alert names found in {repo}/alerts/smtp_exporter.rules.yml")
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    for missing in sorted(set(EXPECTED) - set(names)):
        problems.append(f"{missing}: missing from {directory}")
    uids = {}
    overview_links_to_target = False
    for name in names:
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as f:
                dashboard = json.load(f)
        except (OSError, ValueError) as e:
            problems.append(f"{name}: does not parse as JSON: {e}")
            continue
        if not isinstance(dashboard, dict):
            problems.append(f"{name}: not a JSON object")
            continue
        uid = dashboard.get("uid")
        if uid in uids:
            problems.append(f"{name}: uid {uid!r} already used by {uids[uid]}")
        uids[uid] = name
        problems += lint_dashboard(name, dashboard, runbooks_dir, alerts)
        if name == "smtp-exporter-overview.json":
            overview_links_to_target = any(
                url.startswith(DRILL_DOWN) and "var-instance=" in url
                for panel in all_panels(dashboard.get("panels", [])) for url in links_of(panel))
    if "smtp-exporter-overview.json" in names and not overview_links_to_target:
        problems.append("smtp-exporter-overview.json: no data link to the drill-down "
                        f"({DRILL_DOWN}var-instance=...)")
    return problems, names


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "dashboards")
    problems, names = lint_directory(os.path.normpath(directory))
    for p in problems:
        print(p)
    if problems:
        print(f"FAILED: {len(problems)} problem(s) in {directory}")
        return 1
    print(f"OK: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
