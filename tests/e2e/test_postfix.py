#!/usr/bin/env python3
"""End-to-end: smtp_exporter probing a real Postfix on 127.0.0.1.

Run (as root; the exporter binary comes from --exporter or $SMTP_EXPORTER_BIN):
    python3 tests/e2e/test_postfix.py --exporter build/smtp_exporter
    SMTP_EXPORTER_BIN=build/smtp_exporter python3 -m unittest tests/e2e/test_postfix.py
One test:  ... tests/e2e/test_postfix.py --exporter BIN SmtpBannerAgainstPostfix.test_closed_port
"""

import os
import sys
import time
import unittest
import urllib.parse

# Import the harness whether run as a script or as tests.e2e.test_postfix via -m unittest.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import Exporter, Postfix, free_port, parse_metrics, shared_postfix  # noqa: E402

# Extensions the exporter must report from Postfix's EHLO on the plain port.
EXPECTED_EXTENSIONS = ("PIPELINING", "SIZE", "8BITMIME", "STARTTLS", "ENHANCEDSTATUSCODES",
                       "SMTPUTF8", "CHUNKING")


def select(samples, name, **labels):
    """The (labels, value) of every sample called `name` whose labels include `labels`."""
    return [(l, v) for n, l, v in samples
            if n == name and all(l.get(k) == want for k, want in labels.items())]


@unittest.skipUnless(os.geteuid() == 0, "needs root: starts a private Postfix instance "
                     "(its master runs as root); run as root to test against Postfix")
class PostfixTestCase(unittest.TestCase):
    """Starts the shared Postfix and an exporter with config_text() (None: built-in modules)."""

    @classmethod
    def config_text(cls):
        return None

    @classmethod
    def exporter_env(cls):
        """Extra environment variables for the exporter process (None: none)."""
        return None

    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("SMTP_EXPORTER_BIN")
        if not binary:
            # Deliberately an error, not a skip: a missing binary must not look like a pass.
            raise RuntimeError("no exporter binary: pass --exporter PATH or set SMTP_EXPORTER_BIN")
        if not os.access(binary, os.X_OK):   # before spending seconds on Postfix
            raise RuntimeError(f"exporter binary {binary!r} does not exist or is not executable")
        cls.postfix = shared_postfix()
        cls.exporter = Exporter(binary, config_text=cls.config_text(), env=cls.exporter_env())
        cls.exporter.start()
        # Exporter.stop raises if the exporter does not exit with 0 within 2 s of SIGTERM:
        # that is reported as an error of this class.
        cls.addClassCleanup(cls.exporter.stop)
        cls.target = f"127.0.0.1:{cls.postfix.smtp_port}"

    def probe(self, target, module="smtp_banner", **params):
        """GET /probe with the query properly encoded (as Prometheus does: ':' -> %3A)."""
        query = urllib.parse.urlencode({"target": target, "module": module, **params})
        return self.exporter.get("/probe?" + query)

    def probe_ok(self, target, module="smtp_banner"):
        """Probe, require HTTP 200 + exposition format; return the parsed samples."""
        status, headers, body = self.probe(target, module)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
                        headers.get("Content-Type"))
        samples = parse_metrics(body)
        keys = [(n, tuple(sorted(l.items()))) for n, l, _ in samples]
        self.assertEqual(len(keys), len(set(keys)), f"duplicate series:\n{body}")
        return samples, body

    def value(self, samples, name, body, **labels):
        """The value of the single series `name{labels...}`; fail if absent or ambiguous."""
        found = select(samples, name, **labels)
        self.assertEqual(len(found), 1, f"expected one {name}{labels or ''}, got {found}\n{body}")
        return found[0][1]



class SmtpBannerAgainstPostfix(PostfixTestCase):
    """The built-in module smtp_banner (no config file) against Postfix's plain SMTP port."""

    def test_probe_success_metrics(self):
        samples, body = self.probe_ok(self.target)
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_banner_code", body), 220)
        self.assertTrue(select(samples, "probe_smtp_status_code"), body)
        self.assertEqual(self.value(samples, "probe_ip_protocol", body), 4)
        latency = self.value(samples, "probe_smtp_banner_latency_seconds", body)
        self.assertTrue(0 < latency < 5, latency)
        self.assertGreater(self.value(samples, "probe_duration_seconds", body), 0)
        self.assertGreater(self.value(samples, "probe_timeout_seconds", body), 0)
        phases = {l.get("phase") for l, _ in select(samples, "probe_smtp_duration_seconds")}
        self.assertLessEqual({"connect", "banner", "ehlo", "quit"}, phases, body)

    def test_ehlo_extensions_and_size(self):
        samples, body = self.probe_ok(self.target)
        for extension in EXPECTED_EXTENSIONS:
            with self.subTest(extension=extension):
                self.assertEqual(self.value(samples, "probe_smtp_ehlo_extension_info", body,
                                            extension=extension), 1)
        self.assertEqual(self.value(samples, "probe_smtp_size_limit_bytes", body), Postfix.size_limit)

    def test_no_failure_info_on_success(self):
        samples, body = self.probe_ok(self.target)
        self.assertEqual(select(samples, "probe_smtp_failure_info"), [], body)

    def test_unencoded_target_is_accepted(self):
        # A hand-written URL keeps ':' literal (valid in a query): must work as well.
        status, _, body = self.exporter.get(f"/probe?target={self.target}&module=smtp_banner")
        self.assertEqual(status, 200, body)
        self.assertEqual(select(parse_metrics(body), "probe_success"), [({}, 1.0)], body)

    def test_closed_port(self):
        # A port nobody listens on: the failure is in the metrics, the scrape itself succeeds.
        samples, body = self.probe_ok(f"127.0.0.1:{free_port()}")
        self.assertEqual(self.value(samples, "probe_success", body), 0)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body,
                                    stage="connect", reason="refused"), 1)

    def assertOneLineError(self, status, body):
        self.assertEqual(status, 400, body)
        self.assertTrue(body.strip(), "empty error body")
        self.assertNotIn("\n", body.rstrip("\n"), f"error body is not one line: {body!r}")

    def test_unknown_module_is_400(self):
        status, _, body = self.probe(self.target, module="nope")
        self.assertOneLineError(status, body)

    def test_missing_target_is_400(self):
        status, _, body = self.exporter.get("/probe")
        self.assertOneLineError(status, body)

    def test_debug_output(self):
        status, _, body = self.probe(self.target, debug="true")
        self.assertEqual(status, 200, body)
        self.assertIn("EHLO", body)        # a line we sent
        self.assertIn("220", body)         # the greeting we received
        self.assertIn("probe_success", body)


class AuthSendAgainstPostfix(PostfixTestCase):
    """SMTP AUTH over STARTTLS on the submission port, then a real message delivered to
    the Maildir and found by the token the exporter reports."""

    @classmethod
    def config_text(cls):
        ca = cls.postfix.ca_file
        user = cls.postfix.sasl_username
        modules = ""
        for name, env in (("submit", "SMTP_EXPORTER_E2E_PASSWORD"), ("wrong_password", "SMTP_EXPORTER_E2E_WRONG")):
            modules += f"""
[modules.{name}]
tls = "starttls"
[modules.{name}.tls_config]
ca_file = "{ca}"
server_name = "mail.example.test"
[modules.{name}.auth]
username = "{user}"
password_env = "{env}"
[modules.{name}.send]
from = "probe@example.test"
to = ["sink@example.test"]
"""
        return modules

    @classmethod
    def exporter_env(cls):
        return {"SMTP_EXPORTER_E2E_PASSWORD": cls.postfix.sasl_password,
                "SMTP_EXPORTER_E2E_WRONG": cls.postfix.sasl_password + "-wrong"}

    def test_authenticated_message_is_delivered(self):
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.submission_port}", module="submit")
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_auth_success", body), 1, body)
        self.assertEqual(len(select(samples, "probe_smtp_auth_mechanism_used_info")), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_rcpt_status_code", body,
                                    recipient="sink@example.test"), 250, body)
        info = select(samples, "probe_smtp_message_info")
        self.assertEqual(len(info), 1, body)
        token = info[0][0]["token"]
        self.assertRegex(token, r"^[a-z0-9]{6}$")
        message = self.postfix.find_message(token)
        self.assertTrue(message, f"no message with token {token} in the Maildir")
        self.assertNotIn(self.postfix.sasl_password, body)

    def test_wrong_password_is_auth_error(self):
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.submission_port}", module="wrong_password")
        self.assertEqual(self.value(samples, "probe_success", body), 0, body)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="auth", reason="auth_error"),
                         1, body)
        self.assertEqual(self.value(samples, "probe_smtp_auth_success", body), 0, body)
        status, _, debug = self.probe(f"127.0.0.1:{self.postfix.submission_port}", module="wrong_password",
                                      debug="true")
        self.assertEqual(status, 200)
        self.assertNotIn(self.postfix.sasl_password, debug)


class NegativeChecksAgainstPostfix(PostfixTestCase):
    """quit_after and expect_code: the open-relay check, AUTH refused before STARTTLS, and a
    recipient check that sends no message (the example modules of docs/configuration.md)."""

    @classmethod
    def config_text(cls):
        ca = cls.postfix.ca_file
        return f"""
[modules.open_relay]
quit_after = "rcpt"
[modules.open_relay.send]
from = "probe@example.test"
to = ["someone@foreign.invalid"]
[modules.open_relay.expect_code]
rcpt = "5xx"

[modules.relay_to_local]
quit_after = "rcpt"
[modules.relay_to_local.send]
from = "probe@example.test"
to = ["sink@example.test"]
[modules.relay_to_local.expect_code]
rcpt = "5xx"

[modules.auth_needs_tls]
port = 587
[modules.auth_needs_tls.expect_code]
auth = [530, 503, 538]

[modules.rcpt_only]
tls = "starttls"
quit_after = "rcpt"
[modules.rcpt_only.tls_config]
ca_file = "{ca}"
server_name = "mail.example.test"
[modules.rcpt_only.auth]
username = "{cls.postfix.sasl_username}"
password_env = "SMTP_EXPORTER_E2E_PASSWORD"
[modules.rcpt_only.send]
from = "probe@example.test"
to = ["sink@example.test"]
"""

    @classmethod
    def exporter_env(cls):
        return {"SMTP_EXPORTER_E2E_PASSWORD": cls.postfix.sasl_password}

    def test_relaying_to_a_foreign_domain_is_refused(self):
        samples, body = self.probe_ok(self.target, module="open_relay")
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_rcpt_status_code", body,
                                    recipient="someone@foreign.invalid"), 554, body)
        self.assertEqual(self.value(samples, "probe_smtp_enhanced_status_code_info", body, code="5.7.1"), 1, body)

    def test_an_accepted_recipient_fails_the_relay_check(self):
        # What an open relay looks like to the check: the recipient is accepted.
        samples, body = self.probe_ok(self.target, module="relay_to_local")
        self.assertEqual(self.value(samples, "probe_success", body), 0, body)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="rcpt",
                                    reason="unexpected_code"), 1, body)

    def test_auth_before_starttls_is_refused(self):
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.submission_port}", module="auth_needs_tls")
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_status_code", body), 530, body)
        self.assertEqual(self.value(samples, "probe_smtp_tls_established", body), 0, body)

    def test_authenticated_recipient_check_sends_nothing(self):
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.submission_port}", module="rcpt_only")
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_auth_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_rcpt_status_code", body, recipient="sink@example.test"),
                         250, body)
        self.assertEqual(select(samples, "probe_smtp_message_info"), [], body)
        self.assertEqual(select(samples, "probe_smtp_duration_seconds", phase="data"), [], body)


class TlsAgainstPostfix(PostfixTestCase):
    """STARTTLS (port 25 style) and implicit TLS (port 465 style) with Postfix's certificate,
    issued by the harness' CA for mail.example.test and 127.0.0.1."""

    @classmethod
    def config_text(cls):
        ca = cls.postfix.ca_file
        return f"""
[modules.smtp_banner]
port = 25

[modules.starttls]
tls = "starttls"
[modules.starttls.tls_config]
ca_file = "{ca}"
server_name = "mail.example.test"

[modules.implicit]
tls = "implicit"
[modules.implicit.tls_config]
ca_file = "{ca}"

[modules.system_cas]
tls = "starttls"
"""

    def assert_certificate(self, samples, body):
        not_after = self.postfix.cert_not_after
        self.assertEqual(self.value(samples, "probe_ssl_earliest_cert_expiry", body), not_after)
        days = self.value(samples, "probe_smtp_tls_days_to_expiry", body)
        self.assertAlmostEqual(days, (not_after - time.time()) / 86400, delta=0.01)
        info = select(samples, "probe_ssl_last_chain_info")
        self.assertEqual(len(info), 1, body)
        self.assertEqual(info[0][0]["subject"], "CN=mail.example.test")
        self.assertRegex(info[0][0]["fingerprint_sha256"], r"^[0-9a-f]{64}$")
        self.assertEqual(self.value(samples, "probe_smtp_tls_established", body), 1)
        self.assertEqual(len(select(samples, "probe_tls_version_info")), 1, body)
        self.assertEqual(len(select(samples, "probe_tls_cipher_info")), 1, body)

    def test_starttls_reports_the_certificate(self):
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.smtp_port}", module="starttls")
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_tls_verified", body), 1)
        self.assertEqual(self.value(samples, "probe_smtp_starttls_offered", body), 1)
        self.assert_certificate(samples, body)
        phases = {l.get("phase") for l, _ in select(samples, "probe_smtp_duration_seconds")}
        self.assertLessEqual({"starttls", "tls", "ehlo"}, phases, body)
        # After STARTTLS the extensions are those of the second EHLO: no STARTTLS any more.
        self.assertEqual(select(samples, "probe_smtp_ehlo_extension_info", extension="STARTTLS"), [], body)

    def test_implicit_tls_reports_the_certificate(self):
        # Verified against the IP SAN: the target is an address and no hostname is given.
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.smtps_port}", module="implicit")
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_tls_verified", body), 1)
        self.assert_certificate(samples, body)

    def test_submission_offers_auth_only_after_tls(self):
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.submission_port}", module="starttls")
        self.assertEqual(self.value(samples, "probe_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_auth_before_tls", body), 0)
        self.assertEqual(self.value(samples, "probe_smtp_auth_mechanism_info", body, mechanism="PLAIN"), 1)

    def test_hostname_parameter_overrides_the_verification_name(self):
        status, _, body = self.probe(f"127.0.0.1:{self.postfix.smtps_port}", module="implicit",
                                     hostname="wrong.example.test")
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_success", body), 0)
        self.assertEqual(self.value(samples, "probe_smtp_tls_verify_info", body, reason="hostname_mismatch"), 1)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="tls",
                                    reason="certificate_error"), 1)

    def test_untrusted_certificate_fails_but_keeps_its_facts(self):
        samples, body = self.probe_ok(f"127.0.0.1:{self.postfix.smtp_port}", module="system_cas")
        self.assertEqual(self.value(samples, "probe_success", body), 0)
        self.assertEqual(self.value(samples, "probe_smtp_tls_verified", body), 0)
        self.assertEqual(self.value(samples, "probe_smtp_tls_verify_info", body, reason="unknown_ca"), 1)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="starttls",
                                    reason="certificate_error"), 1)
        self.assert_certificate(samples, body)


if __name__ == "__main__":
    main()
