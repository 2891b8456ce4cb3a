#!/usr/bin/env python3
"""End-to-end: `smtp_exporter check TARGET`, the one-shot doctor command — exit codes, the
text report and the JSON report, against scripted SMTP servers, a real dnsmasq (mail domains)
and a real Postfix (certificates; needs root).

Run: python3 tests/e2e/test_check.py --exporter build/smtp_exporter
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import write_config  # noqa: E402
from harness import (Dnsmasq, FakeSmtp, StallingServer, common_free_port, free_port,  # noqa: E402
                     shared_postfix)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check(*args, timeout=30):
    return subprocess.run([exporter_binary(), "check", *args], capture_output=True, text=True, timeout=timeout)


def check_json(testcase, *args, code):
    out = check(*args, "--output", "json")
    testcase.assertEqual(out.returncode, code, out.stdout + out.stderr)
    testcase.assertEqual(out.stderr, "")
    report = json.loads(out.stdout)          # must be valid JSON
    testcase.assertEqual(set(report) >= {"target", "module", "status", "durationMs", "stages", "failure",
                                         "findings", "remediation", "tls", "mx"}, True, sorted(report))
    testcase.assertIsInstance(report["durationMs"], (int, float))
    for stage in report["stages"]:
        testcase.assertEqual(set(stage), {"name", "seconds", "ok"})
    for entry in report["remediation"]:
        testcase.assertTrue({"key", "title", "causes", "fixes"} <= set(entry), entry)
    return report


def fake_smtp(testcase, greeting="220 fake.test ESMTP"):
    """A scripted SMTP server on 127.0.0.1 for one test; returns its HOST:PORT."""
    port = free_port()
    server = FakeSmtp("127.0.0.1", port, greeting=greeting)
    testcase.addCleanup(server.close)
    return f"127.0.0.1:{port}"


class Healthy(unittest.TestCase):
    def test_text_report(self):
        target = fake_smtp(self)
        out = check(target)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        lines = out.stdout.splitlines()
        self.assertRegex(lines[0], rf"^Check of {target} with module smtp_banner: Healthy \(")
        for stage in ("resolve", "connect", "banner", "ehlo", "quit"):
            self.assertRegex(out.stdout, rf"\n  {stage} +[0-9.]+ ms  ok\n")
        self.assertIn("Greeting      220 fake.test ESMTP", out.stdout)
        self.assertIn("Extensions    PIPELINING", out.stdout)
        self.assertIn("STARTTLS      not offered", out.stdout)
        self.assertIn("Findings:\n  none", out.stdout)
        self.assertNotIn("Likely causes", out.stdout)
        self.assertIn(f"Check again: smtp_exporter check {target} --module smtp_banner", out.stdout)

    def test_json_report(self):
        target = fake_smtp(self)
        report = check_json(self, target, code=0)
        self.assertEqual(report["target"], target)
        self.assertEqual(report["module"], "smtp_banner")
        self.assertEqual(report["status"], "Healthy")
        self.assertEqual([s["name"] for s in report["stages"]], ["resolve", "connect", "banner", "ehlo", "quit"])
        self.assertTrue(all(s["ok"] for s in report["stages"]))
        self.assertIsNone(report["failure"])
        self.assertEqual(report["findings"], [])
        self.assertEqual(report["remediation"], [])
        self.assertIsNone(report["tls"])
        self.assertIsNone(report["mx"])
        self.assertEqual(report["greeting"]["code"], 220)
        self.assertEqual(report["extensions"], ["PIPELINING"])

    def test_only_module_is_the_default(self):
        target = fake_smtp(self)
        path = write_config(self, "[modules.only]\nport = 25\n")
        out = check(target, f"--config.file={path}")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("with module only: Healthy", out.stdout)


class Unhealthy(unittest.TestCase):
    def test_refused(self):
        port = free_port()
        out = check(f"127.0.0.1:{port}")
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn(f"Check of 127.0.0.1:{port} with module smtp_banner: Unhealthy", out.stdout)
        self.assertRegex(out.stdout, r"\n  connect +[0-9.]+ ms  refused: Connection refused\n")
        self.assertIn("connect/refused: Connection refused", out.stdout)
        self.assertIn("Likely causes:", out.stdout)
        self.assertIn("The SMTP server is not running", out.stdout)
        self.assertIn("A firewall rejects the connection", out.stdout)
        self.assertIn("How to fix:", out.stdout)
        self.assertIn(f"`nc -vz 127.0.0.1 {port}`", out.stdout)
        self.assertIn(f"`ss -ltnp | grep ':{port}'`", out.stdout)
        self.assertIn("`systemctl status postfix`", out.stdout)
        self.assertIn("Docker:", out.stdout)
        self.assertIn("Kubernetes:", out.stdout)

        report = check_json(self, f"127.0.0.1:{port}", code=2)
        self.assertEqual(report["status"], "Unhealthy")
        self.assertEqual(report["failure"]["stage"], "connect")
        self.assertEqual(report["failure"]["reason"], "refused")
        self.assertEqual([s["name"] for s in report["stages"]], ["resolve", "connect"])
        self.assertEqual([s["ok"] for s in report["stages"]], [True, False])
        self.assertEqual([e["key"] for e in report["remediation"]], ["connect/refused"])
        self.assertIn(f"Test the port from here: `nc -vz 127.0.0.1 {port}`.", report["remediation"][0]["fixes"])
        self.assertTrue(report["findings"][0].startswith("connect failed (refused)"))

    def test_unexpected_greeting(self):
        target = fake_smtp(self, greeting="554 5.7.1 no service for you")
        out = check(target)
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("Greeting      554 5.7.1 no service for you", out.stdout)
        self.assertIn("banner/unexpected_code:", out.stdout)
        self.assertIn("blocklist", out.stdout)

    def test_greeting_timeout(self):
        stall = StallingServer()
        self.addCleanup(stall.close)
        out = check(f"127.0.0.1:{stall.port}", "--timeout", "300ms")
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"\n  banner +[0-9.]+ ms  timeout: deadline of 300ms exceeded\n")
        self.assertIn("banner/timeout: No greeting in time", out.stdout)
        self.assertIn("tarpitting", out.stdout)

    def test_tls_handshake_failure_shows_the_openssl_command(self):
        # Implicit TLS against a plain SMTP port: the handshake fails.
        target = fake_smtp(self)
        out = check(target, "--module", "smtps")
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"\n  tls +[0-9.]+ ms  tls_error: TLS handshake: ")
        self.assertIn("tls/tls_error: The TLS handshake failed", out.stdout)
        self.assertIn(f"`openssl s_client -connect {target} -servername 127.0.0.1 </dev/null`", out.stdout)
        report = check_json(self, target, "--module", "smtps", code=2)
        self.assertEqual((report["failure"]["stage"], report["failure"]["reason"]), ("tls", "tls_error"))
        self.assertEqual(report["remediation"][0]["key"], "tls/tls_error")

    def test_starttls_not_offered(self):
        target = fake_smtp(self)
        out = check(target, "--module", "smtp_starttls", "--hostname", "mail.example.test")
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("tls/not_offered: STARTTLS is not offered", out.stdout)
        self.assertIn(f"`openssl s_client -starttls smtp -connect {target} -servername mail.example.test "
                      "</dev/null`", out.stdout)


class UsageErrors(unittest.TestCase):
    def assertUsageError(self, args, reason):
        out = check(*args)
        self.assertEqual(out.returncode, 3, f"{args}: {out.stdout}{out.stderr}")
        self.assertEqual(out.stdout, "")
        self.assertEqual(len(out.stderr.splitlines()), 1, out.stderr)
        self.assertIn(reason, out.stderr)

    def test_exit_3_with_a_one_line_reason(self):
        self.assertUsageError([], "missing TARGET")
        self.assertUsageError(["127.0.0.1", "--nope"], "unknown flag --nope")
        self.assertUsageError(["127.0.0.1", "--module"], "flag --module needs a value")
        self.assertUsageError(["127.0.0.1", "--output=xml"], "--output")
        self.assertUsageError(["127.0.0.1", "--timeout=soon"], "--timeout")
        self.assertUsageError(["127.0.0.1", "--module=nope"], 'unknown module "nope"')
        self.assertUsageError(["bad target!"], "invalid target")
        self.assertUsageError(["127.0.0.1:99999"], "invalid target")
        self.assertUsageError(["127.0.0.1", "--hostname=a.example:25"], "--hostname")
        self.assertUsageError(["a.example", "b.example"], "unexpected argument")
        self.assertUsageError(["127.0.0.1", "--config.file=/nonexistent/smtp_exporter.toml"],
                              "/nonexistent/smtp_exporter.toml")

    def test_bad_config_file(self):
        path = write_config(self, '[modules.mx]\ntimeout = "soon"\n')
        self.assertUsageError(["127.0.0.1", f"--config.file={path}"], f"{path}:2:11: modules.mx.timeout")

    def test_module_needed_when_there_is_no_default(self):
        path = write_config(self, "[modules.a]\nport = 25\n[modules.b]\nport = 587\n")
        self.assertUsageError(["127.0.0.1", f"--config.file={path}"], "--module is needed")

    def test_help(self):
        out = check("--help")
        self.assertEqual(out.returncode, 0)
        self.assertIn("usage: smtp_exporter check TARGET", out.stdout)
        self.assertIn("0 healthy, 1 degraded, 2 unhealthy, 3 usage", out.stdout)
        top = subprocess.run([exporter_binary(), "--help"], capture_output=True, text=True, timeout=10)
        self.assertIn("smtp_exporter check TARGET", top.stdout)

    def test_remediation_markdown_is_the_committed_document(self):
        out = check("--remediation-markdown")
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(os.path.join(REPO, "docs", "troubleshooting.md")) as f:
            self.assertEqual(out.stdout, f.read(), "regenerate docs/troubleshooting.md")


GOOD, BROKEN = "127.0.0.2", "127.0.0.3"


class MailDomains(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smtp_port = common_free_port([GOOD, BROKEN])
        cls.dns = Dnsmasq(["mx-host=two.test,mx1.two.test,10", "mx-host=two.test,mx2.two.test,20",
                           f"host-record=mx1.two.test,{GOOD}", f"host-record=mx2.two.test,{BROKEN}",
                           f"host-record=nomx.test,{GOOD}"])
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)
        cls.good = FakeSmtp(GOOD, cls.smtp_port)
        cls.broken = FakeSmtp(BROKEN, cls.smtp_port, greeting="421 4.3.2 try later")
        cls.addClassCleanup(cls.good.close)
        cls.addClassCleanup(cls.broken.close)
        cls.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.config.write(f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = "500ms"
tries = 1

[modules.smtp_banner]
port = {cls.smtp_port}
ip_protocol = "ip4"
timeout = "5s"
""")
        cls.config.close()
        cls.addClassCleanup(os.unlink, cls.config.name)

    def test_mx_set_with_a_broken_backup(self):
        out = check("mx:two.test", f"--config.file={self.config.name}")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("Check of mx:two.test with module smtp_banner: Healthy", out.stdout)
        self.assertIn("MX records    10 mx1.two.test, 20 mx2.two.test", out.stdout)
        self.assertIn("Reachable     2 of 2 MX host(s)", out.stdout)
        self.assertIn(f"mx1.two.test (preference 10, {GOOD}): ok, greeting 220", out.stdout)
        self.assertIn(f"mx2.two.test (preference 20, {BROKEN}): banner failed (unexpected_code)", out.stdout)
        report = check_json(self, "mx:two.test", f"--config.file={self.config.name}", code=0)
        self.assertEqual(report["mx"]["domain"], "two.test")
        self.assertEqual(report["mx"]["records"], [{"exchange": "mx1.two.test", "preference": 10},
                                                   {"exchange": "mx2.two.test", "preference": 20}])
        hosts = {h["exchange"]: h for h in report["mx"]["hosts"]}
        self.assertTrue(hosts["mx1.two.test"]["success"])
        self.assertEqual(hosts["mx2.two.test"]["failure"]["reason"], "unexpected_code")
        self.assertEqual([s["name"] for s in report["stages"]], ["mx", "resolve"])

    def test_domain_without_mx_is_degraded(self):
        out = check("mx:nomx.test", f"--config.file={self.config.name}")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn(": Degraded", out.stdout.splitlines()[0])
        self.assertIn("dns/no_mx: The domain has no MX records (implicit MX)", out.stdout)
        # The module's [dns] server is filled into the dig commands (issue 19).
        self.assertIn(f"`dig @127.0.0.1 -p {self.dns.port} MX nomx.test`", out.stdout)

    def test_nxdomain(self):
        out = check("mx:missing.test", f"--config.file={self.config.name}")
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"\n  mx +[0-9.]+ ms  nxdomain: ")
        self.assertIn("dns/nxdomain: The name does not exist (NXDOMAIN)", out.stdout)
        self.assertIn(f"`dig @127.0.0.1 -p {self.dns.port} MX missing.test`", out.stdout)
        self.assertIn("`dig +trace missing.test`", out.stdout)  # a trace starts at the root, not at the server


@unittest.skipUnless(os.geteuid() == 0, "needs root: starts a private Postfix instance")
class Certificates(unittest.TestCase):
    """Postfix's test certificate is valid for 30 days and issued by a test CA."""

    @classmethod
    def setUpClass(cls):
        cls.postfix = shared_postfix()
        cls.target = f"127.0.0.1:{cls.postfix.smtp_port}"
        cls.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.config.write(f"""
[modules.starttls]
tls = "starttls"
tls_config = {{ ca_file = "{cls.postfix.ca_file}", server_name = "{cls.postfix.hostname}" }}
degraded_cert_days = 60
ip_protocol = "ip4"
""")
        cls.config.close()
        cls.addClassCleanup(os.unlink, cls.config.name)

    def test_certificate_expiring_is_degraded(self):
        out = check(self.target, f"--config.file={self.config.name}", "--module", "starttls")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn(f"Check of {self.target} with module starttls: Degraded", out.stdout)
        self.assertIn("Greeting      220 mail.example.test ESMTP Postfix", out.stdout)
        self.assertIn("STARTTLS      offered", out.stdout)
        self.assertRegex(out.stdout, r"TLS           TLS 1\.[23], \S+ \(server name mail\.example\.test\)")
        self.assertIn("Certificate   subject CN=mail.example.test", out.stdout)
        self.assertIn("issuer  CN=smtp_exporter e2e test CA", out.stdout)
        self.assertRegex(out.stdout, r"expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((29|30) days left\)")
        self.assertIn("Verification  ok", out.stdout)
        self.assertRegex(out.stdout, r"  - certificate of mail\.example\.test expires in (29|30) days\n")
        self.assertIn("health/cert_expiring: The certificate expires soon", out.stdout)
        self.assertIn("`certbot renew`", out.stdout)
        self.assertIn("`postfix reload`", out.stdout)
        self.assertIn(f"openssl s_client -starttls smtp -connect {self.target} -servername mail.example.test",
                      out.stdout)

        report = check_json(self, self.target, f"--config.file={self.config.name}", "--module", "starttls", code=1)
        self.assertEqual(report["status"], "Degraded")
        self.assertIsNone(report["failure"])
        self.assertTrue(all(s["ok"] for s in report["stages"]))
        self.assertIn("tls", [s["name"] for s in report["stages"]])
        self.assertTrue(report["tls"]["verified"])
        self.assertEqual(report["tls"]["certificate"]["subject"], "CN=mail.example.test")
        self.assertTrue(28 < report["tls"]["daysLeft"] <= 30, report["tls"]["daysLeft"])
        self.assertEqual([e["key"] for e in report["remediation"]], ["health/cert_expiring"])

    def test_untrusted_ca_shows_the_openssl_command(self):
        # The built-in smtp_starttls module does not trust the test CA.
        out = check(self.target, "--module", "smtp_starttls", "--hostname", "mail.example.test")
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"\n  tls +[0-9.]+ ms  certificate_error: certificate not verified \(unknown_ca")
        self.assertIn("Verification  failed: unknown_ca", out.stdout)
        self.assertIn("tls/certificate_error/unknown_ca:", out.stdout)
        self.assertIn(f"`openssl s_client -starttls smtp -connect {self.target} -servername mail.example.test "
                      "</dev/null -showcerts`", out.stdout)
        report = check_json(self, self.target, "--module", "smtp_starttls", "--hostname", "mail.example.test",
                            code=2)
        self.assertEqual((report["failure"]["stage"], report["failure"]["reason"]),
                         ("starttls", "certificate_error"))
        self.assertEqual(report["tls"]["verifyErrors"], ["unknown_ca"])
        self.assertEqual(report["remediation"][0]["key"], "tls/certificate_error/unknown_ca")

    def test_hostname_mismatch(self):
        out = check(self.target, f"--config.file={self.config.name}", "--module", "starttls",
                    "--hostname", "other.example.test")
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("tls/certificate_error/hostname_mismatch:", out.stdout)
        self.assertIn(f"-servername other.example.test", out.stdout)


if __name__ == "__main__":
    main()
