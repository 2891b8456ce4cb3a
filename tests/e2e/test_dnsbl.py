#!/usr/bin/env python3
"""End-to-end: the DNSBL check unit (`dnsbl = true`, [dnsbl]) against a real dnsmasq serving test
blocklist zones, and scripted SMTP servers on loopback addresses (IPv4 and ::1). Cases: a listed
IPv4 address with its TXT reason, a listed IPv6 address, an unlisted address, the
127.255.255.254 error answer, a zone without its 127.0.0.2 test entry (broken), a resolver that
never answers (every zone times out), the cache (a second probe within min_interval sends no
query), an outbound address on /metrics, and a DQS key that never shows in any output.

Run: python3 tests/e2e/test_dnsbl.py --exporter build/smtp_exporter
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import BlackHoleResolver, Dnsmasq, Exporter, FakeSmtp, common_free_port, parse_metrics  # noqa: E402

LISTED, UNLISTED, CACHED, V6 = "127.0.0.5", "127.0.0.6", "127.0.0.7", "::1"
OUTBOUND = "192.0.2.25"
KEY = "dqsk3y0123456789abcdefghij"  # the DQS key: must never appear in any output
V6_NIBBLES = ".".join(["1"] + ["0"] * 31)

RECORDS = [
    "local-ttl=3600",  # local records carry a TTL, so listings are cached too
    # bl.test: a working list (RFC 5782 §5 test entry), LISTED with a reason, ::1 listed
    "address=/2.0.0.127.bl.test/127.0.0.2",
    "address=/5.0.0.127.bl.test/127.0.0.4",
    "txt-record=5.0.0.127.bl.test,Listed for testing: see https://bl.test/q/127.0.0.5",
    f"address=/{V6_NIBBLES}.bl.test/127.0.0.3",
    "address=/25.2.0.192.bl.test/127.0.0.2",
    # refused.test: answers every query with Spamhaus' "public resolver" error code
    "address=/refused.test/127.255.255.254",
    # broken.test: no records at all, so its test entry 127.0.0.2 is missing
    # dqs.test: a keyed zone (queries go to REVERSED.KEY.dqs.test); its TXT names the key
    f"address=/2.0.0.127.{KEY}.dqs.test/127.0.0.2",
    f"address=/5.0.0.127.{KEY}.dqs.test/127.0.0.10",
    f"txt-record=5.0.0.127.{KEY}.dqs.test,listed via {KEY}",
]

ZONES_TOML = """
[dnsbl]
zones = ["bl.test", "refused.test", "broken.test", "dqs.test"]
addresses = ["{outbound}"]
min_interval = "1h"

[dnsbl.zone."dqs.test"]
key_env = "DQS_TEST_KEY"
severity = "degraded"
"""


def values(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]


class DnsblAgainstDnsmasq(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq(RECORDS)
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)
        cls.port = common_free_port([LISTED, UNLISTED, CACHED, V6])
        for host in (LISTED, UNLISTED, CACHED, V6):
            cls.addClassCleanup(FakeSmtp(host, cls.port).close)
        cls.config = f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = "500ms"
tries = 2

[modules.dnsbl]
port = {cls.port}
dnsbl = true
""" + ZONES_TOML.format(outbound=OUTBOUND)
        cls.env = {"DQS_TEST_KEY": KEY}
        cls.exporter = Exporter(exporter_binary(), config_text=cls.config, env=cls.env)
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)
        # The background round tests every zone and looks up the outbound address at start-up.
        deadline = time.monotonic() + 10
        while len(values(cls.self_metrics(), "smtp_exporter_dnsbl_zone_ok")) < 4:
            if time.monotonic() > deadline:
                raise AssertionError("the zones were not tested within 10 s")
            time.sleep(0.1)

    @classmethod
    def self_metrics(cls):
        status, _, body = cls.exporter.get("/metrics")
        assert status == 200, body
        return parse_metrics(body)

    def probe(self, target, debug=False):
        status, _, body = self.exporter.get(f"/probe?target={target}&module=dnsbl" + ("&debug=true" if debug else ""))
        self.assertEqual(status, 200, body)
        return body if debug else parse_metrics(body)

    def test_listed_ipv4_address_with_reason(self):
        m = self.probe(LISTED)
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed", zone="bl.test", ip=LISTED), [1])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed_code", zone="bl.test", ip=LISTED), [4])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed", zone="dqs.test", ip=LISTED), [1])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listings"), [2])
        self.assertEqual(values(m, "probe_smtp_health", status="unhealthy"), [1])
        debug = self.probe(LISTED, debug=True)
        self.assertIn("DNSBL bl.test: 127.0.0.5 listed (127.0.0.4)", debug)
        report = self.check(LISTED)
        self.assertIn("127.0.0.5 is listed on bl.test (127.0.0.4): Listed for testing: see https://bl.test/q/127.0.0.5",
                      report)
        self.assertIn("dig", report)  # the remediation: how to ask the list by hand

    def test_listed_ipv6_address(self):
        m = self.probe(f"[{V6}]")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed", zone="bl.test", ip=V6), [1])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed_code", zone="bl.test", ip=V6), [3])

    def test_unlisted_address(self):
        m = self.probe(UNLISTED)
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed", zone="bl.test", ip=UNLISTED), [0])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed_code", zone="bl.test", ip=UNLISTED), [])
        self.assertEqual(values(m, "probe_smtp_dnsbl_error", zone="bl.test"), [0])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listings"), [0])
        # refused.test and broken.test give no usable answer: degraded, not unhealthy
        self.assertEqual(values(m, "probe_smtp_health", status="degraded"), [1])

    def test_error_answer_is_an_error_not_a_listing(self):
        m = self.probe(UNLISTED)
        self.assertEqual(values(m, "probe_smtp_dnsbl_error", zone="refused.test"), [1])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed", zone="refused.test"), [])
        report = self.check(UNLISTED)
        self.assertIn("query refused: use your own resolver, not a public one (127.255.255.254)", report)

    def test_broken_zone(self):
        m = self.probe(LISTED)
        self.assertEqual(values(m, "probe_smtp_dnsbl_error", zone="broken.test"), [1])
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed", zone="broken.test"), [])
        s = self.self_metrics()
        self.assertEqual(values(s, "smtp_exporter_dnsbl_zone_ok", zone="broken.test"), [0])
        self.assertEqual(values(s, "smtp_exporter_dnsbl_zone_ok", zone="bl.test"), [1])
        self.assertEqual(values(s, "smtp_exporter_dnsbl_zone_ok", zone="dqs.test"), [1])
        self.assertIn("fails its self-test: its test entry 127.0.0.2 is not listed", self.check(LISTED))

    def test_second_probe_within_min_interval_sends_no_query(self):
        before = sum(values(self.self_metrics(), "smtp_exporter_dnsbl_queries_total"))
        self.probe(CACHED)
        first = sum(values(self.self_metrics(), "smtp_exporter_dnsbl_queries_total"))
        self.assertEqual(first - before, 4)  # one A query per zone; nothing is listed
        m = self.probe(CACHED)
        self.assertEqual(sum(values(self.self_metrics(), "smtp_exporter_dnsbl_queries_total")), first)
        self.assertEqual(values(m, "probe_smtp_dnsbl_listed", zone="bl.test", ip=CACHED), [0])
        # a listed answer is cached by its TTL (local-ttl) as well
        self.probe(LISTED)
        listed = sum(values(self.self_metrics(), "smtp_exporter_dnsbl_queries_total"))
        self.probe(LISTED)
        self.assertEqual(sum(values(self.self_metrics(), "smtp_exporter_dnsbl_queries_total")), listed)

    def test_outbound_address_on_metrics(self):
        s = self.self_metrics()
        self.assertEqual(values(s, "smtp_exporter_dnsbl_listed", zone="bl.test", ip=OUTBOUND), [1])
        self.assertEqual(values(s, "smtp_exporter_dnsbl_listed", zone="dqs.test", ip=OUTBOUND), [0])
        self.assertEqual(values(s, "smtp_exporter_dnsbl_listed", zone="refused.test"), [])

    def test_dqs_key_never_shown(self):
        outputs = [self.probe(LISTED, debug=True), self.probe(f"[{V6}]", debug=True)]
        for path in ("/probe?target=127.0.0.5&module=dnsbl", "/metrics", "/config", "/", "/healthz"):
            outputs.append(self.exporter.get(path)[2])
        outputs.append(self.check(LISTED))
        outputs.append(self.check(LISTED, "json"))
        with open(self.exporter.log_file, errors="replace") as f:
            outputs.append(f.read())
        for text in outputs:
            self.assertNotIn(KEY, text)
        self.assertIn("key_env = 'DQS_TEST_KEY'", self.exporter.get("/config")[2])
        # the key's TXT record names it: the reason shows it redacted
        self.assertIn("listed via <key>", self.check(LISTED))

    def check(self, target, output="text"):
        run = subprocess.run([exporter_binary(), "check", target, "--module=dnsbl",
                              f"--config.file={self.exporter.config_file}", f"--output={output}"],
                             capture_output=True, text=True, timeout=30, env={**os.environ, **self.env})
        self.assertIn(run.returncode, (0, 1, 2), run.stderr)
        return run.stdout + run.stderr


class DnsblZoneTimeout(unittest.TestCase):
    """A resolver that never answers: every zone is an error (degraded), and the probe ends in time."""

    def test_timeout_is_a_zone_error(self):
        hole = BlackHoleResolver()
        self.addCleanup(hole.close)
        port = common_free_port([UNLISTED])
        self.addCleanup(FakeSmtp(UNLISTED, port).close)
        config = f"""
[dns]
servers = ["{hole.server}"]
timeout = "200ms"
tries = 1

[modules.dnsbl]
port = {port}
timeout = "5s"
dnsbl = true

[dnsbl]
zones = ["bl.test"]
"""
        with Exporter(exporter_binary(), config_text=config) as exporter:
            started = time.monotonic()
            status, _, body = exporter.get(f"/probe?target={UNLISTED}&module=dnsbl")
            self.assertLess(time.monotonic() - started, 5)
            self.assertEqual(status, 200, body)
            m = parse_metrics(body)
            self.assertEqual(values(m, "probe_success"), [1])
            self.assertEqual(values(m, "probe_smtp_dnsbl_error", zone="bl.test"), [1])
            self.assertEqual(values(m, "probe_smtp_dnsbl_listed"), [])
            self.assertEqual(values(m, "probe_smtp_health", status="degraded"), [1])
            status, _, debug = exporter.get(f"/probe?target={UNLISTED}&module=dnsbl&debug=true")
            self.assertIn("DNSBL bl.test: 127.0.0.6 error: lookup failed: timeout", debug)


if __name__ == "__main__":
    main()
