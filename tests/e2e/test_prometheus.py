#!/usr/bin/env python3
"""End-to-end: a real Prometheus scrapes the exporter with the shipped scrape config
(docs/examples/prometheus.yml) and evaluates the shipped alerting rules
(alerts/smtp_exporter.rules.yml); every query of the Grafana dashboards (dashboards/*.json)
must then return data, and SMTPProbeFailing must fire for the broken targets only.

The same exporter also runs agent [[targets]] (the same kinds of probes, scheduled by the
exporter itself), whose series Prometheus gets from its /metrics through the shipped job
smtp_exporter: with a `target_name` label and the exporter's job and instance. Every panel that
shows targets must show both kinds: /probe series and agent series.

The exporter probes the harness' Postfix in every way the dashboards show: plain SMTP, STARTTLS
with the test CA, submission with AUTH and a test message, implicit TLS, a certificate checked
against a wrong name, a mail domain served by dnsmasq (a working primary MX and a backup MX that
refuses connections), and a closed port; and, for the DANE panels, the in-process TLS test server
behind TLSA records of a zone signed at test time and served by nsd.

Run (as root; Postfix's master runs as root):
    python3 tests/e2e/test_prometheus.py --exporter build/smtp_exporter
Needs /usr/bin/prometheus, dnsmasq, Postfix, nsd, ldnsutils and PyYAML (scripts/install-deps.sh --test).
"""

import glob
import hashlib
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import (Dnsmasq, Exporter, Nginx, SignedZones, TestCa, TlsSmtp, free_port, shared_postfix,  # noqa: E402
                     spki_der)
import shutil  # noqa: E402
import tempfile  # noqa: E402
from harness.prometheus import Prometheus, derive_scrape_config, shorten_for  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED_CONFIG = os.path.join(REPO, "docs", "examples", "prometheus.yml")
SHIPPED_RULES = os.path.join(REPO, "alerts", "smtp_exporter.rules.yml")
DASHBOARDS = sorted(glob.glob(os.path.join(REPO, "dashboards", "*.json")))

# Every `for:` of the shipped rules becomes this, so alerts fire within seconds; the real
# durations are covered by the promtool unit tests of the rules (alerts/tests/).
SHORT_FOR = "3s"
# Grafana's built-in interval variables, as they could be for a short time range. Prometheus
# scrapes every second here, so 20s holds plenty of samples for rate().
BUILTINS = {"__rate_interval": "20s", "__interval": "2s", "__range": "5m", "__interval_ms": "2000",
            "__range_s": "300", "__range_ms": "300000"}
MAIL_DOMAIN = "example.test"       # the domain of the harness Postfix (its certificate: mail.example.test)
BACKUP_MX_IP = "127.0.0.2"         # the backup MX: nothing listens there, connections are refused
PASSWORD_ENV = "SMTP_EXPORTER_E2E_PASSWORD"
DNSBL_ZONE = "bl.example.test"     # a working blocklist that lists nothing but its test entry
SETTLE_TIMEOUT = 45                # seconds for targets, alerts and queries to settle
DANE_HOST = "mx.dane.lab"          # the DANE target's name, in a zone signed at test time (nsd)


# Agent [[targets]] of the exporter: name -> (target, module); one of each kind of /probe target.
def agent_targets(postfix, closed_port, dane):
    return {
        "agent-dane": (dane["target"], "dane"),
        "agent-plain": (f"127.0.0.1:{postfix.smtp_port}", "smtp_banner"),
        "agent-starttls": (f"127.0.0.1:{postfix.smtp_port}", "smtp_starttls"),
        "agent-submission": (f"127.0.0.1:{postfix.submission_port}", "submission"),
        "agent-smtps": (f"127.0.0.1:{postfix.smtps_port}", "smtps"),
        "agent-domain": (f"mx:{MAIL_DOMAIN}", "smtp_starttls"),
        "agent-wrong-name": (f"127.0.0.1:{postfix.submission_port}", "starttls_wrong_name"),
        "agent-closed": (f"127.0.0.1:{closed_port}", "smtp_starttls"),
    }


AGENT_BROKEN = {"agent-closed": ("connect", "refused"), "agent-wrong-name": ("starttls", "certificate_error")}


def exporter_config(postfix, dns_server, agents, mta_sts, dane):
    """Modules named as in the shipped scrape config (and smtp_banner), aimed at the harness Postfix,
    and the agent targets (every second; the one that sends a message every 2 s)."""
    ca = mta_sts["ca_bundle"]  # the Postfix CA and the MTA-STS lab CA (policy host)
    targets = "".join(
        f"""
[[targets]]
name = "{name}"
target = "{target}"
module = "{module}"
interval = "{'2s' if module == 'submission' else '1s'}"
labels = {{ env = "e2e" }}
""" for name, (target, module) in agents.items())
    return f"""
[dns]
servers = ["{dns_server}"]
timeout = "500ms"
tries = 2
trust_anchor_file = "{dane["anchor_file"]}"

# A blocklist zone served by dnsmasq (its RFC 5782 test entry only): the DNSBL panels.
[dnsbl]
zones = ["{DNSBL_ZONE}"]

[modules.smtp_banner]
port = {postfix.smtp_port}
ip_protocol = "ip4"
dnsbl = true

# Port 25 style: STARTTLS required, certificate verified against the test CA. Also the module
# of the mail domain (its MX hosts are probed on this port), with its MTA-STS policy served by
# nginx on a free port (the MTA-STS panels).
[modules.smtp_starttls]
port = {postfix.smtp_port}
ip_protocol = "ip4"
tls = "starttls"
mta_sts = true
mta_sts_policy_port = {mta_sts["port"]}
[modules.smtp_starttls.tls_config]
ca_file = "{ca}"

[modules.submission]
port = {postfix.submission_port}
ip_protocol = "ip4"
tls = "starttls"
[modules.submission.tls_config]
ca_file = "{ca}"
[modules.submission.auth]
username = "{postfix.sasl_username}"
password_env = "{PASSWORD_ENV}"
[modules.submission.send]
from = "{postfix.sasl_username}"
to = ["{postfix.sink_address}"]
# The delivery row: the message found in the Maildir Postfix delivers to ([receive]).
[modules.submission.receive]
maildir = "{postfix.dir}/mail/example.test/sink"
timeout = "5s"

[modules.smtps]
port = {postfix.smtps_port}
ip_protocol = "ip4"
tls = "implicit"
[modules.smtps.tls_config]
ca_file = "{ca}"

# DANE: the TLS test server, authenticated by the TLSA records of the signed zone (the current key
# and the next one: rollover-ready); the validator and the address look-up ask nsd.
[modules.dane]
port = {dane["port"]}
ip_protocol = "ip4"
tls = "starttls"
dane = true
dns_servers = ["{dane["dns_server"]}"]

# Agent only: the certificate is checked against a name it does not have (as the /probe job
# smtp_by_address does with a wrong hostname label).
[modules.starttls_wrong_name]
port = {postfix.submission_port}
ip_protocol = "ip4"
tls = "starttls"
[modules.starttls_wrong_name.tls_config]
ca_file = "{ca}"
server_name = "wrong.{MAIL_DOMAIN}"
{targets}"""


def substitute(expr, values):
    """Replace $var, ${var} and ${var:format} by values[var]; return (expr, names not in values)."""
    missing = []

    def repl(m):
        name = m.group(1) or m.group(2)
        if name.isdigit():      # "$1" of label_replace: no such variable, Grafana leaves it as is
            return m.group(0)
        if name not in values:
            missing.append(name)
            return m.group(0)
        return values[name]

    return re.sub(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))", repl, expr), missing


def label_values_query(query):
    """label_values(SELECTOR, LABEL) or label_values(LABEL) -> (LABEL, SELECTOR or None)."""
    m = re.fullmatch(r"\s*label_values\(\s*(?:(.*\S)\s*,\s*)?(\w+)\s*\)\s*", query)
    if not m:
        raise AssertionError(f"not a label_values() query: {query!r}")
    return m.group(2), m.group(1)


def grafana_escape(value):
    """How Grafana's Prometheus data source interpolates a single-value variable that allows
    neither multi nor All (prometheusRegularEscape)."""
    return value.replace("\\", "\\\\").replace("'", "\\\\'")


@unittest.skipUnless(os.geteuid() == 0, "needs root: starts a private Postfix instance "
                     "(its master runs as root); run as root to test with Prometheus")
class DashboardsAndAlertsWithPrometheus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = exporter_binary()
        if not binary or not os.access(binary, os.X_OK):
            raise RuntimeError(f"exporter binary {binary!r} does not exist or is not executable")
        if not DASHBOARDS:
            raise RuntimeError(f"no dashboards in {REPO}/dashboards")
        cls.postfix = shared_postfix()
        pf = cls.postfix
        work = tempfile.mkdtemp(prefix="smtp-exporter-e2e-lab-")
        cls.addClassCleanup(shutil.rmtree, work, True)
        ca = TestCa(work)
        mta_sts = cls._start_mta_sts_policy_host(pf, work, ca)
        dane = cls._start_dane_host(work, ca)
        cls.dns = Dnsmasq([
            f"mx-host={MAIL_DOMAIN},{pf.hostname},10", f"mx-host={MAIL_DOMAIN},backup.{MAIL_DOMAIN},20",
            f"host-record={pf.hostname},127.0.0.1", f"host-record=backup.{MAIL_DOMAIN},{BACKUP_MX_IP}",
            f"address=/2.0.0.127.{DNSBL_ZONE}/127.0.0.2",
            f"host-record=mta-sts.{MAIL_DOMAIN},127.0.0.1", f"txt-record=_mta-sts.{MAIL_DOMAIN},v=STSv1; id=e2e1",
            f"txt-record=_smtp._tls.{MAIL_DOMAIN},v=TLSRPTv1; rua=mailto:tls-reports@{MAIL_DOMAIN}"])
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)
        cls.closed_port = free_port()
        cls.agents = agent_targets(pf, cls.closed_port, dane)
        # Prometheus scrapes every second with a 1 s timeout; --timeout-offset 0.2 leaves the
        # probes 0.8 s (plenty on loopback, even for AUTH and a message over STARTTLS).
        cls.exporter = Exporter(binary, config_text=exporter_config(pf, cls.dns.server, cls.agents, mta_sts, dane),
                                extra_args=["--timeout-offset=0.2"], env={PASSWORD_ENV: pf.sasl_password})
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)

        smtp = f"127.0.0.1:{pf.smtp_port}"
        cls.healthy = {  # (job, instance) of the probes that must succeed
            ("smtp", smtp), ("smtp_plain", smtp), ("smtp_by_address", smtp),
            ("smtp_domains", f"mx:{MAIL_DOMAIN}"), ("smtp_submission", f"127.0.0.1:{pf.submission_port}"),
            ("smtps", f"127.0.0.1:{pf.smtps_port}"), ("smtp_dane", dane["target"])}
        cls.broken = {  # (job, instance) -> (stage, reason)
            ("smtp", f"127.0.0.1:{cls.closed_port}"): ("connect", "refused"),
            # the hostname label is passed as &hostname= by the shipped relabeling: wrong name
            ("smtp_by_address", f"127.0.0.1:{pf.submission_port}"): ("starttls", "certificate_error")}
        targets = {
            "smtp": [{"targets": [smtp, f"127.0.0.1:{cls.closed_port}"]}],
            "smtp_domains": [{"targets": [f"mx:{MAIL_DOMAIN}"]}],
            "smtp_by_address": [{"targets": [smtp], "labels": {"hostname": pf.hostname}},
                                {"targets": [f"127.0.0.1:{pf.submission_port}"],
                                 "labels": {"hostname": f"wrong.{MAIL_DOMAIN}"}}],
            "smtp_submission": [{"targets": [f"127.0.0.1:{pf.submission_port}"]}],
            "smtps": [{"targets": [f"127.0.0.1:{pf.smtps_port}"]}],
        }
        cls.prometheus = Prometheus()
        cls.addClassCleanup(cls.prometheus.stop)
        rules_name = "smtp_exporter.rules.yml"
        cls.config = derive_scrape_config(
            SHIPPED_CONFIG, f"127.0.0.1:{cls.exporter.port}", targets,
            # plain SMTP: a copy of the shipped job "smtp" (same relabeling) with module smtp_banner
            extra_jobs={"smtp_plain": ("smtp", "smtp_banner", [{"targets": [smtp]}]),
                        "smtp_dane": ("smtp", "dane", [{"targets": [dane["target"]]}])},
            rule_files=[cls.prometheus.path(rules_name)])
        cls.prometheus.start(cls.config, files={rules_name: shorten_for(SHIPPED_RULES, SHORT_FOR)})
        cls.started = time.monotonic()
        cls._wait_settled()

    @classmethod
    def _start_mta_sts_policy_host(cls, postfix, work, ca):
        """nginx serving the MTA-STS policy of the mail domain (an enforce policy covering both of
        its MX hosts) with a certificate of the lab CA; returns its port and the CA bundle (Postfix's
        CA for the MX hosts, the lab CA for the policy host)."""
        cert, key = ca.leaf("policy", [f"mta-sts.{MAIL_DOMAIN}"])
        root = os.path.join(work, "www", ".well-known")
        os.makedirs(root)
        with open(os.path.join(root, "mta-sts.txt"), "w") as f:
            f.write(f"version: STSv1\nmode: enforce\nmx: {postfix.hostname}\nmx: *.{MAIL_DOMAIN}\nmax_age: 86400\n")
        nginx = Nginx([f"server_name mta-sts.{MAIL_DOMAIN}; ssl_certificate {cert}; ssl_certificate_key {key}; "
                       f"root {os.path.join(work, 'www')};"], directory=os.path.join(work, "nginx"))
        nginx.start()
        cls.addClassCleanup(nginx.stop)
        bundle = os.path.join(work, "ca-bundle.crt")
        with open(bundle, "w") as out:
            for path in (postfix.ca_file, ca.cert):
                with open(path) as f:
                    out.write(f.read())
        return {"port": nginx.port, "ca_bundle": bundle}

    @classmethod
    def _start_dane_host(cls, work, ca):
        """The TLS test server (STARTTLS) with a lab certificate for DANE_HOST, and nsd serving the
        signed zone dane.lab: its address and two 3 1 1 records, one of the server's key and one of
        another (the next key), so that every DANE panel has data (a record that matches and one
        that does not). Returns the target, the zone's server and trust anchor, and the port."""
        port = free_port()
        cert, key = ca.leaf("dane", [DANE_HOST])
        current = hashlib.sha256(spki_der(cert)).hexdigest()
        following = hashlib.sha256(spki_der(key_file=ca.key)).hexdigest()
        name = DANE_HOST.split(".")[0]
        zones = SignedZones({"dane.lab": ([f"{name} IN A 127.0.0.1", f"_{port}._tcp.{name} IN TLSA 3 1 1 {current}",
                                           f"_{port}._tcp.{name} IN TLSA 3 1 1 {following}"], "signed")})
        zones.start()
        cls.addClassCleanup(zones.stop)
        cls.addClassCleanup(TlsSmtp("127.0.0.1", port, cert, key).close)
        return {"target": f"{DANE_HOST}:{port}", "port": port, "dns_server": zones.server,
                "anchor_file": zones.anchor_file}

    @classmethod
    def _wait_settled(cls):
        """Until every target was scraped fine a few times and SMTPProbeFailing fires for every
        broken target (or the timeout: the tests then report what is missing)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        want = {(job, inst) for job, inst in cls.broken}
        while time.monotonic() < deadline:
            targets = cls.prometheus.targets()
            up = all(t["health"] == "up" for t in targets) and len(targets) == cls.expected_targets()
            active = [a["labels"] for a in cls.prometheus.alerts()
                      if a["labels"].get("alertname") == "SMTPProbeFailing" and a["state"] == "firing"]
            firing = {(a.get("job"), a.get("instance")) for a in active}
            firing_agents = {a.get("target_name") for a in active}
            samples = cls.prometheus.query("min(count_over_time(up[1m]))")
            enough = samples and float(samples[0]["value"][1]) >= 5
            agents = {r["metric"]["target_name"] for r in cls.prometheus.query('probe_success{target_name!=""}')}
            if up and want <= firing and set(AGENT_BROKEN) <= firing_agents and agents == set(cls.agents) and enough:
                return
            time.sleep(0.5)

    @classmethod
    def expected_targets(cls):
        return sum(len(sc["targets"]) for job in cls.config["scrape_configs"] for sc in job["static_configs"])

    # ---- helpers ---------------------------------------------------------------------

    def describe_targets(self):
        return "\n".join(f"  {t['labels'].get('job')} {t['labels'].get('instance')}: {t['health']} "
                         f"{t.get('lastError', '')}" for t in self.prometheus.targets())

    def eventually_nonempty(self, expr, timeout=15):
        """The result of expr, queried until non-empty (the first scrapes may still be missing)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.prometheus.query(expr)
            if result or time.monotonic() >= deadline:
                return result
            time.sleep(0.5)

    def variable_assignments(self, dashboard):
        """The variable values to query a dashboard with, as Grafana would interpolate them:
        multi/All variables get their All value (.* here); single-value variables (the drill-down's
        instance) take, in turn, each value their label_values() query returns. Returns
        (list of {name: value}, problems), problems naming variables whose query lists nothing."""
        problems = []
        fixed = dict(BUILTINS)
        variables = dashboard["templating"]["list"]
        for var in variables:
            if var["type"] == "datasource":
                fixed[var["name"]] = "prometheus"
            elif var.get("includeAll"):
                fixed[var["name"]] = var.get("allValue") or ".*"
        assignments = [fixed]
        for var in variables:               # single-value variables, in the dashboard's order
            if var["type"] != "query" or var.get("includeAll"):
                continue
            query = self._query_of(var)
            expanded = [{**a, var["name"]: grafana_escape(v)}
                        for a in assignments for v in self._values_of(query, a)]
            if not expanded:
                problems.append(f"variable ${var['name']}: {query} returns no values")
                return [], problems
            assignments = expanded
        for var in variables:               # All variables must still list values to choose from
            if var["type"] == "query" and var.get("includeAll"):
                query = self._query_of(var)
                if not any(self._values_of(query, a) for a in assignments):
                    problems.append(f"variable ${var['name']}: {query} returns no values")
            elif var["type"] not in ("query", "datasource"):
                problems.append(f"variable ${var['name']}: type {var['type']} is not handled by this test")
        return assignments, problems

    @staticmethod
    def _query_of(var):
        return var["query"]["query"] if isinstance(var["query"], dict) else var["query"]

    def _values_of(self, query, values):
        expr, missing = substitute(query, values)
        if missing:
            raise AssertionError(f"unknown variables {missing} in {query}")
        label, selector = label_values_query(expr)
        return self.prometheus.label_values(label, selector)

    # ---- tests -------------------------------------------------------------------------

    def test_targets_are_scraped_with_the_shipped_relabeling(self):
        targets = self.prometheus.targets()
        self.assertEqual(len(targets), self.expected_targets(), self.describe_targets())
        for t in targets:
            self.assertEqual(t["health"], "up", self.describe_targets())
            labels = t["labels"]
            if labels["job"] == "smtp_exporter":
                self.assertNotIn("module", labels)
                continue
            job = next(j for j in self.config["scrape_configs"] if j["job_name"] == labels["job"])
            # instance is the SMTP target, module the module parameter: the shipped relabeling.
            self.assertEqual(labels["module"], job["params"]["module"][0], t)
            self.assertEqual(t["scrapeUrl"].split("?")[0], f"{self.exporter.url}/probe")
        modules = set(self.prometheus.label_values("module", "probe_success"))
        self.assertEqual(modules, {"smtp_banner", "smtp_starttls", "submission", "smtps", "dane"})

    def test_probe_results_are_as_expected(self):
        for (job, instance) in self.healthy:
            with self.subTest(job=job, instance=instance):
                r = self.eventually_nonempty(f'probe_success{{job="{job}", instance="{instance}"}}')
                self.assertEqual([x["value"][1] for x in r], ["1"], f"{job} {instance}")
        for (job, instance), (stage, reason) in self.broken.items():
            with self.subTest(job=job, instance=instance):
                r = self.eventually_nonempty(
                    f'probe_smtp_failure_info{{job="{job}", instance="{instance}"}}')
                self.assertEqual([(x["metric"]["stage"], x["metric"]["reason"]) for x in r], [(stage, reason)])
        # &hostname= from the target's label: the certificate was checked against the wrong name.
        r = self.eventually_nonempty('probe_smtp_tls_verify_info{job="smtp_by_address"}')
        self.assertEqual({x["metric"]["reason"] for x in r}, {"hostname_mismatch"})
        # The DANE target: authenticated by its TLSA record (the module has no CA), rollover-ready.
        for metric in ("probe_smtp_dane_verified", "probe_smtp_dane_rollover_ready"):
            r = self.eventually_nonempty(f'{metric}{{job="smtp_dane"}}')
            self.assertEqual([x["value"][1] for x in r], ["1"], metric)

    def test_agent_series_come_from_the_exporter_job(self):
        """Agent series: the exporter's job and instance, plus target_name and the target's labels."""
        r = self.eventually_nonempty('probe_success{target_name!=""}')
        got = {x["metric"]["target_name"]: x for x in r}
        self.assertEqual(set(got), set(self.agents))
        for name, x in got.items():
            with self.subTest(target_name=name):
                self.assertEqual(x["metric"]["job"], "smtp_exporter")
                self.assertEqual(x["metric"]["instance"], f"127.0.0.1:{self.exporter.port}")
                self.assertEqual(x["metric"].get("env"), "e2e")
                self.assertNotIn("module", x["metric"])
                self.assertEqual(x["value"][1], "0" if name in AGENT_BROKEN else "1")

    def test_smtp_probe_failing_fires_for_broken_targets_only(self):
        alerts = [a for a in self.prometheus.alerts() if a["labels"].get("alertname") == "SMTPProbeFailing"]
        seen = {(a["labels"].get("job"), a["labels"].get("instance")): a for a in alerts}
        summary = "\n".join(f"  {k}: {a['state']}" for k, a in sorted(seen.items()))
        for key in self.broken:
            with self.subTest(broken=key):
                self.assertIn(key, seen, f"SMTPProbeFailing not active for {key}; active:\n{summary}")
                self.assertEqual(seen[key]["state"], "firing", summary)
                self.assertEqual(seen[key]["labels"].get("module"), "smtp_starttls")
        for key in self.healthy:
            with self.subTest(healthy=key):
                self.assertNotIn(key, seen, f"SMTPProbeFailing active for the healthy target {key}:\n{summary}")
        # Agent targets: one alert per target_name, linking to that target on the drill-down.
        agents = {a["labels"].get("target_name"): a for a in alerts if a["labels"].get("target_name")}
        for name in self.agents:
            with self.subTest(agent=name):
                if name in AGENT_BROKEN:
                    self.assertIn(name, agents, f"SMTPProbeFailing not active for agent target {name}")
                    self.assertEqual(agents[name]["state"], "firing")
                    self.assertTrue(agents[name]["annotations"]["dashboard_url"].endswith(
                        f"?var-instance=127.0.0.1:{self.exporter.port}&var-target_name={name}"),
                        agents[name]["annotations"])
                else:
                    self.assertNotIn(name, agents, f"SMTPProbeFailing active for the healthy agent target {name}")
        # The rules file really was the shipped one, loaded whole.
        names = {r["name"] for g in self.prometheus.rule_groups() for r in g["rules"]}
        self.assertIn("SMTPProbeFailing", names)

    def _dashboard_panels(self, failures):
        """(dashboard file name, its variable assignments, panel) for every panel of every shipped
        dashboard; the variables' problems go to `failures`."""
        for path in DASHBOARDS:
            with open(path, encoding="utf-8") as f:
                dashboard = json.load(f)
            name = os.path.basename(path)
            assignments, problems = self.variable_assignments(dashboard)
            failures += [f"{name}: {p}" for p in problems]
            for panel in self._panels(dashboard["panels"]):
                yield name, assignments, panel

    def test_every_dashboard_query_returns_data(self):
        failures = []
        checked = 0
        for name, assignments, panel in self._dashboard_panels(failures):
            for target in panel.get("targets", []):
                raw = target.get("expr", "")
                where = f"{name}: panel {panel.get('title')!r}, target {target.get('refId')}"
                exprs = []
                for values in assignments:
                    expr, missing = substitute(raw, values)
                    if missing:
                        failures.append(f"{where}: unknown variables {missing} in {raw}")
                        break
                    exprs.append(expr)
                else:
                    checked += 1
                    error = self._first_nonempty(exprs)
                    if error:
                        failures.append(f"{where}: {error}\n    expr: {raw}")
        self.assertGreater(checked, 50)
        self.assertEqual(failures, [], "\n" + "\n".join(failures))

    def test_dashboards_show_probe_and_agent_targets(self):
        """Every panel that lists targets (a query filtered by $target_name whose result keeps
        `instance`, `target_name` or the computed `target` label) shows both kinds: /probe series
        (no target_name) and agent series (target_name). Variables as in
        test_every_dashboard_query_returns_data: All, and on the drill-down each instance in turn,
        the exporter (agent) included."""
        failures = []
        checked = 0
        for name, assignments, panel in self._dashboard_panels(failures):
            exprs = []
            for target in panel.get("targets", []):
                if "$target_name" in target.get("expr", ""):
                    exprs += [substitute(target["expr"], values)[0] for values in assignments]
            if not exprs:
                continue
            kinds, per_target = self._kinds(exprs)
            if not per_target:
                continue        # aggregated over targets (counts, sums): nothing to tell apart
            checked += 1
            missing = {"probe", "agent"} - kinds
            if missing:
                failures.append(f"{name}: panel {panel.get('title')!r} shows no {' and no '.join(sorted(missing))} "
                                f"series\n    e.g. {exprs[0]}")
        self.assertGreater(checked, 40)
        self.assertEqual(failures, [], "\n" + "\n".join(failures))

    def _kinds(self, exprs, timeout=10):
        """({"probe", "agent"} seen in the results of exprs, whether any series names a target),
        queried until both kinds are seen or the timeout. A panel whose series name no target
        (an aggregate) answers at once: which labels a query keeps depends on the query, not on
        when it is asked."""
        agent_names = set(self.agents)
        deadline = time.monotonic() + timeout
        while True:
            kinds, per_target, answered = set(), False, False
            for expr in exprs:
                for series in self.prometheus.query(expr):
                    answered = True
                    m = series["metric"]
                    if m.get("target_name") or m.get("target") in agent_names:
                        kinds.add("agent")
                    elif "instance" in m or "target" in m:
                        kinds.add("probe")
                    else:
                        continue
                    per_target = True
            if kinds == {"probe", "agent"} or (answered and not per_target) or time.monotonic() >= deadline:
                return kinds, per_target
            time.sleep(1)

    def _first_nonempty(self, exprs, timeout=10):
        """None when one of exprs (one per variable assignment) returns data, else why not."""
        deadline = time.monotonic() + timeout
        while True:
            for expr in exprs:
                try:
                    if self.prometheus.query(expr):
                        return None
                except AssertionError as e:   # PrometheusError: the expr does not parse/evaluate
                    return f"query error: {e}"
            if time.monotonic() >= deadline:
                return f"empty result (with {len(exprs)} variable assignment(s), e.g. {exprs[0]})"
            time.sleep(1)

    @classmethod
    def _panels(cls, panels):
        for panel in panels:
            yield panel
            yield from cls._panels(panel.get("panels", []))


if __name__ == "__main__":
    main()
