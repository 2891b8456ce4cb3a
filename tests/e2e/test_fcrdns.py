#!/usr/bin/env python3
"""End-to-end: the FCrDNS check unit (`fcrdns = true`) against a real dnsmasq serving PTR and
address records, and scripted SMTP servers on loopback addresses whose greetings and EHLO
replies name hosts. Cases: matching, no PTR, a PTR whose forward name points elsewhere,
several PTRs, a greeting that names another host than the PTR, and an MX set.

Run: python3 tests/e2e/test_fcrdns.py --exporter build/smtp_exporter
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import Dnsmasq, Exporter, FakeSmtp, common_free_port, parse_metrics  # noqa: E402

MATCH, NO_PTR, ELSEWHERE, MULTI, OTHER_BANNER = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"

RECORDS = [
    "local=/127.in-addr.arpa/",  # reverse names without a record: NXDOMAIN, not REFUSED
    # MATCH: PTR mx1.fc.test, which resolves back; greeting and EHLO name mx1.fc.test
    "ptr-record=2.0.0.127.in-addr.arpa,mx1.fc.test", f"host-record=mx1.fc.test,{MATCH}",
    # NO_PTR: an A record, no PTR
    f"address=/noptr.fc.test/{NO_PTR}",  # host-record would add a PTR too
    # ELSEWHERE: PTR elsewhere.fc.test, whose A record is another address
    "ptr-record=4.0.0.127.in-addr.arpa,elsewhere.fc.test", "host-record=elsewhere.fc.test,127.0.0.9",
    # MULTI: two PTRs; only the second resolves back
    "ptr-record=5.0.0.127.in-addr.arpa,a.fc.test", "ptr-record=5.0.0.127.in-addr.arpa,b.fc.test",
    "host-record=a.fc.test,127.0.0.10", f"host-record=b.fc.test,{MULTI}",
    # OTHER_BANNER: FCrDNS fine, but the greeting names another host
    "ptr-record=6.0.0.127.in-addr.arpa,mx6.fc.test", f"host-record=mx6.fc.test,{OTHER_BANNER}",
    # fc.test: an MX set of MATCH and NO_PTR
    "mx-host=fc.test,mx1.fc.test,10", "mx-host=fc.test,noptr.fc.test,20",
]


def values(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]


def labels_of(samples, name, label):
    return sorted(l[label] for n, l, v in samples if n == name)


class FcrdnsAgainstDnsmasq(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq(RECORDS)
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)
        cls.port = common_free_port([MATCH, NO_PTR, ELSEWHERE, MULTI, OTHER_BANNER])
        servers = [
            FakeSmtp(MATCH, cls.port, greeting="220 mx1.fc.test ESMTP", ehlo_name="mx1.fc.test"),
            FakeSmtp(NO_PTR, cls.port, greeting="220 noptr.fc.test ESMTP", ehlo_name="noptr.fc.test"),
            FakeSmtp(ELSEWHERE, cls.port, greeting="220 elsewhere.fc.test ESMTP", ehlo_name="elsewhere.fc.test"),
            FakeSmtp(MULTI, cls.port, greeting="220 b.fc.test ESMTP", ehlo_name="b.fc.test"),
            FakeSmtp(OTHER_BANNER, cls.port, greeting="220 localhost.localdomain ESMTP", ehlo_name="mx6.fc.test"),
        ]
        for s in servers:
            cls.addClassCleanup(s.close)
        config = f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = "500ms"
tries = 2

[modules.fcrdns]
port = {cls.port}
ip_protocol = "ip4"
ehlo_name = "probe.fc.test"
fcrdns = true

[modules.fcrdns_mx]
port = {cls.port}
ip_protocol = "ip4"
ehlo_name = "probe.fc.test"
mx = true
fcrdns = true

[modules.plain]
port = {cls.port}
ip_protocol = "ip4"
"""
        cls.exporter = Exporter(exporter_binary(), config_text=config)
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)

    def probe(self, target, module="fcrdns"):
        status, _, body = self.exporter.get(f"/probe?target={target}&module={module}")
        self.assertEqual(status, 200, body)
        return parse_metrics(body)

    def test_matching_ptr_banner_and_ehlo_is_healthy(self):
        m = self.probe("mx1.fc.test")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok"), [1])
        self.assertEqual(labels_of(m, "probe_smtp_ptr_info", "ptr"), ["mx1.fc.test"])
        self.assertEqual(labels_of(m, "probe_smtp_banner_hostname_info", "hostname"), ["mx1.fc.test"])
        self.assertEqual(values(m, "probe_smtp_banner_hostname_matches_ptr"), [1])
        self.assertEqual(values(m, "probe_smtp_health", status="healthy"), [1])

    def test_no_ptr_is_degraded(self):
        m = self.probe(NO_PTR)
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok"), [0])
        self.assertEqual(values(m, "probe_smtp_ptr_info"), [])
        self.assertEqual(values(m, "probe_smtp_banner_hostname_matches_ptr"), [0])
        self.assertEqual(values(m, "probe_smtp_health", status="degraded"), [1])

    def test_ptr_pointing_elsewhere_is_not_forward_confirmed(self):
        m = self.probe(ELSEWHERE)
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok"), [0])
        self.assertEqual(labels_of(m, "probe_smtp_ptr_info", "ptr"), ["elsewhere.fc.test"])
        self.assertEqual(values(m, "probe_smtp_banner_hostname_matches_ptr"), [1])
        self.assertEqual(values(m, "probe_smtp_health", status="degraded"), [1])

    def test_several_ptrs_one_forward_confirmed(self):
        m = self.probe(MULTI)
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok"), [1])
        self.assertEqual(labels_of(m, "probe_smtp_ptr_info", "ptr"), ["a.fc.test", "b.fc.test"])
        self.assertEqual(values(m, "probe_smtp_banner_hostname_matches_ptr"), [1])
        self.assertEqual(values(m, "probe_smtp_health", status="healthy"), [1])

    def test_banner_naming_another_host_is_degraded(self):
        m = self.probe(OTHER_BANNER)
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok"), [1])
        self.assertEqual(labels_of(m, "probe_smtp_banner_hostname_info", "hostname"), ["localhost.localdomain"])
        self.assertEqual(values(m, "probe_smtp_banner_hostname_matches_ptr"), [0])
        self.assertEqual(values(m, "probe_smtp_health", status="degraded"), [1])
        status, _, debug = self.exporter.get(f"/probe?target={OTHER_BANNER}&module=fcrdns&debug=true")
        self.assertIn("FCrDNS: PTR of 127.0.0.6: mx6.fc.test (forward-confirmed)", debug)

    def test_mx_hosts_each_get_their_series(self):
        m = self.probe("mx:fc.test", "fcrdns_mx")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok", mx="mx1.fc.test", ip=MATCH), [1])
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok", mx="noptr.fc.test", ip=NO_PTR), [0])
        self.assertEqual(values(m, "probe_smtp_health", status="degraded"), [1])

    def test_off_by_default(self):
        m = self.probe(NO_PTR, "plain")
        self.assertEqual(values(m, "probe_smtp_fcrdns_ok"), [])
        self.assertEqual(values(m, "probe_smtp_health", status="healthy"), [1])


if __name__ == "__main__":
    main()
