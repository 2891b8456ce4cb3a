#!/usr/bin/env python3
"""End-to-end: DNS through c-ares against a real dnsmasq — MX sets probed host by host,
the implicit MX, the null MX, DNS failure reasons, and a slow resolver that must not hold
up other probes. The MX hosts are scripted SMTP servers on 127.0.0.2 and 127.0.0.3.

Run: python3 tests/e2e/test_dns.py --exporter build/smtp_exporter
"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import BlackHoleResolver, Dnsmasq, Exporter, FakeSmtp, common_free_port, parse_metrics  # noqa: E402

GOOD, BROKEN, DOWN = "127.0.0.2", "127.0.0.3", "127.0.0.5"  # DOWN: nothing listens there

RECORDS = [
    # two.test: a working primary and a broken (421) backup
    "mx-host=two.test,mx1.two.test,10", "mx-host=two.test,mx2.two.test,20",
    f"host-record=mx1.two.test,{GOOD}", f"host-record=mx2.two.test,{BROKEN}",
    # backup.test: the primary refuses connections, the backup works
    "mx-host=backup.test,down.backup.test,10", "mx-host=backup.test,up.backup.test,20",
    f"host-record=down.backup.test,{DOWN}", f"host-record=up.backup.test,{GOOD}",
    # broken.test: the primary answers 421, the backup works
    "mx-host=broken.test,bad.broken.test,10", "mx-host=broken.test,good.broken.test,20",
    f"host-record=bad.broken.test,{BROKEN}", f"host-record=good.broken.test,{GOOD}",
    # nomx.test: no MX, an A record (RFC 5321 5.1 implicit MX)
    f"host-record=nomx.test,{GOOD}",
    # null.test: MX 0 "." (RFC 7505): preference 0, root name
    "dns-rr=null.test,15,000000",
]


def series(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]


class DnsAgainstDnsmasq(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq(RECORDS)
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)
        cls.black_hole = BlackHoleResolver()
        cls.addClassCleanup(cls.black_hole.close)
        cls.smtp_port = common_free_port([GOOD, BROKEN, DOWN])
        cls.good = FakeSmtp(GOOD, cls.smtp_port)
        cls.broken = FakeSmtp(BROKEN, cls.smtp_port, greeting="421 4.3.2 try later")
        cls.addClassCleanup(cls.good.close)
        cls.addClassCleanup(cls.broken.close)
        config = f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = "500ms"
tries = 1

[modules.mx]
port = {cls.smtp_port}
mx = true
ip_protocol = "ip4"
timeout = "5s"

[modules.host]
port = {cls.smtp_port}
ip_protocol = "ip4"

[modules.mx_only]
port = {cls.smtp_port}
mx = true
quit_after = "mx"

[modules.slow_dns]
port = {cls.smtp_port}
dns_servers = ["{cls.black_hole.server}"]
dns_timeout = "10s"
timeout = "1500ms"
"""
        cls.exporter = Exporter(exporter_binary(), config_text=config)
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)

    def probe(self, target, module="mx"):
        status, _, body = self.exporter.get(f"/probe?target={target}&module={module}")
        self.assertEqual(status, 200, body)
        return parse_metrics(body), body

    def one(self, samples, body, name, **labels):
        found = series(samples, name, **labels)
        self.assertEqual(len(found), 1, f"{name}{labels}: {found}\n{body}")
        return found[0]

    def test_mx_set_with_working_primary_and_broken_backup(self):
        s, body = self.probe("two.test")
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_records"), 2)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_info", exchange="mx1.two.test", preference="10"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_info", exchange="mx2.two.test", preference="20"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_reachable"), 2)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_host_success", mx="mx1.two.test", ip=GOOD), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_host_success", mx="mx2.two.test", ip=BROKEN), 0)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_host_failure_info", mx="mx2.two.test", ip=BROKEN,
                                  stage="banner", reason="unexpected_code"), 1)
        self.assertGreater(self.one(s, body, "probe_smtp_mx_host_banner_latency_seconds", mx="mx1.two.test"), 0)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_implicit"), 0)
        phases = {l["phase"] for n, l, _ in s if n == "probe_smtp_duration_seconds"}
        self.assertEqual(phases, {"mx", "resolve"})
        self.assertEqual(series(s, "probe_smtp_failure_info"), [])

    def test_unreachable_primary_with_working_backup_passes(self):
        s, body = self.probe("backup.test")
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_reachable"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_host_failure_info", mx="down.backup.test",
                                  stage="connect", reason="refused"), 1)

    def test_reachable_but_broken_primary_fails(self):
        s, body = self.probe("broken.test")
        self.assertEqual(self.one(s, body, "probe_success"), 0, body)
        self.assertEqual(self.one(s, body, "probe_smtp_failure_info", stage="banner", reason="unexpected_code"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_host_success", mx="good.broken.test"), 1)

    def test_domain_without_mx_falls_back_to_its_address(self):
        s, body = self.probe("nomx.test")
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_implicit"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_records"), 0)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_host_success", mx="nomx.test", ip=GOOD), 1)

    def test_dns_only_mx_check_connects_to_nothing(self):
        """quit_after = "mx" (the built-in mx_only module): the MX set by DNS alone, for a host without
        outbound port 25. Healthy with records, degraded without (implicit MX), unhealthy on NXDOMAIN."""
        before = (self.good.connections, self.broken.connections)
        s, body = self.probe("two.test", "mx_only")
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_records"), 2)
        self.assertEqual(self.one(s, body, "probe_smtp_health", status="healthy"), 1)
        self.assertEqual(series(s, "probe_smtp_mx_reachable"), [], "not measured: no host was probed")
        self.assertEqual(series(s, "probe_smtp_mx_host_success"), [])
        self.assertEqual({l["phase"] for n, l, _ in s if n == "probe_smtp_duration_seconds"}, {"mx"})
        s, body = self.probe("nomx.test", "mx_only")
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_implicit"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_health", status="degraded"), 1)
        s, body = self.probe("missing.test", "mx_only")
        self.assertEqual(self.one(s, body, "probe_success"), 0, body)
        self.assertEqual(self.one(s, body, "probe_smtp_failure_info", stage="mx", reason="nxdomain"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_health", status="unhealthy"), 1)
        self.assertEqual((self.good.connections, self.broken.connections), before, "an SMTP connection was made")

    def test_null_mx(self):
        s, body = self.probe("null.test")
        self.assertEqual(self.one(s, body, "probe_success"), 0, body)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_null"), 1)
        self.assertEqual(self.one(s, body, "probe_smtp_failure_info", stage="mx", reason="null_mx"), 1)

    def test_dns_failure_reasons(self):
        for target, module, stage, reason in (("missing.test", "mx", "mx", "nxdomain"),
                                              ("missing.test", "host", "resolve", "nxdomain"),
                                              ("two.test", "host", "resolve", "nodata"),
                                              ("example.org", "mx", "mx", "refused"),
                                              ("example.org", "host", "resolve", "refused")):
            with self.subTest(target=target, module=module):
                s, body = self.probe(target, module)
                self.assertEqual(self.one(s, body, "probe_success"), 0, body)
                self.assertEqual(self.one(s, body, "probe_smtp_failure_info", stage=stage, reason=reason), 1)

    def test_mx_prefix_makes_any_module_probe_a_domain(self):
        s, body = self.probe("mx:two.test", module="host")
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertEqual(self.one(s, body, "probe_smtp_mx_records"), 2)

    def test_host_names_resolve_through_the_configured_server(self):
        s, body = self.probe("mx1.two.test", module="host")
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertGreater(self.one(s, body, "probe_dns_lookup_time_seconds"), 0)

    def test_slow_resolver_times_out_without_holding_up_other_probes(self):
        slow = {}

        def slow_probe():
            started = time.monotonic()
            slow["result"] = self.probe("mx1.two.test", module="slow_dns")
            slow["elapsed"] = time.monotonic() - started

        thread = threading.Thread(target=slow_probe)
        thread.start()
        time.sleep(0.2)  # the slow lookup is under way
        started = time.monotonic()
        s, body = self.probe("mx1.two.test", module="host")
        fast_elapsed = time.monotonic() - started
        thread.join(10)
        self.assertEqual(self.one(s, body, "probe_success"), 1, body)
        self.assertLess(fast_elapsed, 0.5, "a probe waited for another probe's DNS lookup")
        s, body = slow["result"]
        self.assertEqual(self.one(s, body, "probe_smtp_failure_info", stage="resolve", reason="timeout"), 1, body)
        self.assertLess(slow["elapsed"], 2.5, "the DNS lookup outlived the probe's 1.5s deadline")
        self.assertGreater(slow["elapsed"], 1.4)


if __name__ == "__main__":
    main()
