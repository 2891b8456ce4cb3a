#!/usr/bin/env python3
"""End-to-end: the MTA-STS unit (`mta_sts = true`) against a real nginx serving policies over
HTTPS with a test CA (one SNI virtual host per domain, a default server refusing handshakes
without a known name), a real dnsmasq serving the MX, A, `_mta-sts` and `_smtp._tls` records,
and STARTTLS SMTP servers (the in-process test server with certificates of the same CA; a real
Postfix as root) as MX hosts. The recipe is ../shared/notes/mta-sts-test-lab.md, with nginx on a
free port given to the module as `mta_sts_policy_port` (a key for tests only; RFC 8461 fixes 443).

Every fault hides a valid policy covering the domain's MX (the redirect's target, the 404 body,
the text/html body, the wrong-name host): a client that followed redirects or ignored the status,
the media type or the host name would report a healthy domain.

Run: python3 tests/e2e/test_mta_sts.py --exporter build/smtp_exporter
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import (Dnsmasq, Exporter, Nginx, StarttlsSmtp, TestCa, common_free_port,  # noqa: E402
                     parse_metrics, shared_postfix)

AS_ROOT = os.geteuid() == 0  # the real Postfix MX host needs root (its master runs as root)

GOOD_IP, BAD_IP = "127.0.0.1", "127.0.0.2"  # MX hosts with a valid / a wrong-name certificate


def policy(mode, *mx, max_age=86400, crlf=False, extra=""):
    lines = ["version: STSv1", f"mode: {mode}", *[f"mx: {m}" for m in mx], f"max_age: {max_age}"]
    text = "\n".join(lines) + "\n" + extra
    return text.replace("\n", "\r\n") if crlf else text


# domain → (MX hosts, policy body or None, extra nginx directives)
DOMAINS = {
    "good": (["mx1.good.test", "mx2.backup.test"], policy("enforce", "mx1.good.test", "*.backup.test"), ""),
    "uncovered": (["mx1.uncovered.test", "mx2.uncovered.test", "a.b.backup.test"],
                  policy("enforce", "mx1.uncovered.test", "*.backup.test"), ""),
    "testing": (["mx1.testing.test", "mx2.testing.test"], policy("testing", "mx1.testing.test"), "charset utf-8;"),
    "redirect": (["mx1.redirect.test"], None,
                 "location = /.well-known/mta-sts.txt { return 301 https://mta-sts.redirect.test/real/mta-sts.txt; }"),
    "notfound": (["mx1.notfound.test"], None,
                 'location = /.well-known/mta-sts.txt { default_type text/plain; '
                 'return 404 "version: STSv1\\nmode: enforce\\nmx: mx1.notfound.test\\nmax_age: 86400\\n"; }'),
    "html": (["mx1.html.test"], policy("enforce", "mx1.html.test"),
             "location = /.well-known/mta-sts.txt { types { } default_type text/html; }"),
    "wrongname": (["mx1.wrongname.test"], policy("enforce", "mx1.wrongname.test"), "WRONGNAME"),
    "big": (["mx1.big.test"], policy("enforce", "mx1.big.test", extra="x" * 102400 + "\n"), ""),
    "ipmx": (["mx1.ipmx.test"], policy("enforce", "127.0.0.1"), ""),
    "twotxt": (["mx1.twotxt.test"], policy("enforce", "mx1.twotxt.test"), ""),
    "rptbad": (["mx1.rptbad.test"], policy("enforce", "mx1.rptbad.test"), ""),
    "rptnone": (["mx1.rptnone.test"], policy("enforce", "mx1.rptnone.test", crlf=True, extra="comment: hi\r\n"), ""),
    "stale": (["mx1.stale.test"], policy("enforce", "mx1.stale.test"), ""),
    "badmx": (["mx1.badmx.test"], policy("enforce", "mx1.badmx.test"), ""),
    "cached": (["mx1.cached.test"], policy("enforce", "mx1.cached.test"), ""),
    "expiring": (["mx1.expiring.test"], policy("enforce", "mx1.expiring.test"), "EXPIRING"),
    "nomode": (["mx1.nomode.test"], policy("none"), ""),
    # MX: the harness Postfix (mail.example.test, its own CA), probed by the module "postfix"
    "postfix": (["mail.example.test"], policy("enforce", "mail.example.test"), ""),
}


def values(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]


class MtaStsLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="smtp-exporter-mta-sts-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        ca = TestCa(cls.dir)
        cls.ca = ca
        ca.leaf("policy", [f"mta-sts.{d}.test" for d in DOMAINS])
        ca.leaf("elsewhere", ["mta-sts.elsewhere.test"])
        ca.leaf("expiring", ["mta-sts.expiring.test"], days=7)  # within 14 days: degraded
        mx_names = sorted({h for hosts, _, _ in DOMAINS.values() for h in hosts} - {"mx1.badmx.test"})
        mx_cert = ca.leaf("mx", mx_names)
        other_cert = ca.leaf("other", ["other.test"])

        www = os.path.join(cls.dir, "www")
        servers = []
        for name, (_, body, extra) in DOMAINS.items():
            root = os.path.join(www, name)
            os.makedirs(os.path.join(root, ".well-known"))
            os.makedirs(os.path.join(root, "real"))
            hidden = body or policy("enforce", f"mx1.{name}.test")
            with open(os.path.join(root, ".well-known", "mta-sts.txt"), "w", newline="") as f:
                f.write(hidden)
            with open(os.path.join(root, "real", "mta-sts.txt"), "w") as f:
                f.write(hidden)
            cert = {"WRONGNAME": "elsewhere", "EXPIRING": "expiring"}.get(extra, "policy")
            servers.append(f"server_name mta-sts.{name}.test; ssl_certificate {{dir}}/{cert}.crt; "
                           f"ssl_certificate_key {{dir}}/{cert}.key; root {root}; "
                           + ("" if extra in ("WRONGNAME", "EXPIRING") else extra))
        cls.www = www
        cls.nginx = Nginx(servers, directory=os.path.join(cls.dir, "nginx"))
        for f in ("policy", "elsewhere", "expiring"):
            for ext in ("crt", "key"):
                os.makedirs(cls.nginx.dir, exist_ok=True)
                shutil.copy(os.path.join(cls.dir, f"{f}.{ext}"), cls.nginx.dir)
        cls.nginx.start()
        cls.addClassCleanup(cls.nginx.stop)

        cls.smtp_port = common_free_port([GOOD_IP, BAD_IP])
        cls.addClassCleanup(StarttlsSmtp(GOOD_IP, cls.smtp_port, *mx_cert).close)
        cls.addClassCleanup(StarttlsSmtp(BAD_IP, cls.smtp_port, *other_cert).close)

        records = []
        for name, (hosts, _, _) in DOMAINS.items():
            domain = f"{name}.test"
            for i, host in enumerate(hosts):
                records.append(f"mx-host={domain},{host},{10 * (i + 1)}")
            records.append(f"host-record=mta-sts.{domain},127.0.0.1")
            if name != "twotxt":
                records.append(f"txt-record=_mta-sts.{domain},v=STSv1; id={name}2026")
            if name == "rptbad":
                records.append(f"txt-record=_smtp._tls.{domain},v=TLSRPTv1; rua=tls-reports@{domain}")
            elif name != "rptnone":
                records.append(f"txt-record=_smtp._tls.{domain},v=TLSRPTv1; rua=mailto:tls-reports@{domain}")
        records += ["txt-record=_mta-sts.twotxt.test,v=STSv1; id=one", "txt-record=_mta-sts.twotxt.test,v=STSv1; id=two"]
        hosts = sorted({h for hosts, _, _ in DOMAINS.values() for h in hosts})
        for host in hosts:
            records.append(f"host-record={host},{BAD_IP if host == 'mx1.badmx.test' else GOOD_IP}")
        cls.dns = Dnsmasq(records)
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)

        module = f"""
port = {cls.smtp_port}
mx = true
tls = "starttls"
ip_protocol = "ip4"
mta_sts = true
mta_sts_policy_port = {cls.nginx.port}
tls_config = {{ ca_file = "{ca.cert}" }}
"""
        cls.config = f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = "500ms"
tries = 2

[modules.lab]{module}
[modules.nocache]{module}mta_sts_cache = "0s"
"""
        if AS_ROOT:
            postfix = shared_postfix()
            bundle = os.path.join(cls.dir, "bundle.crt")
            with open(bundle, "w") as out:
                for path in (postfix.ca_file, ca.cert):
                    with open(path) as f:
                        out.write(f.read())
            cls.config += module.replace(f"port = {cls.smtp_port}", f"port = {postfix.smtp_port}").replace(
                ca.cert, bundle).join(["\n[modules.postfix]", ""])
        cls.exporter = Exporter(exporter_binary(), config_text=cls.config)
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)

    def probe(self, domain, module="lab", debug=False):
        status, _, body = self.exporter.get(f"/probe?target=mx:{domain}.test&module={module}"
                                            + ("&debug=true" if debug else ""))
        self.assertEqual(status, 200, body)
        return body if debug else parse_metrics(body)

    def self_metrics(self):
        return parse_metrics(self.exporter.get("/metrics")[2])

    def check(self, domain, module="lab"):
        run = subprocess.run([exporter_binary(), "check", f"mx:{domain}.test", f"--module={module}",
                              f"--config.file={self.exporter.config_file}"],
                             capture_output=True, text=True, timeout=30)
        self.assertIn(run.returncode, (0, 1, 2), run.stderr)
        return run.stdout + run.stderr

    def assert_health(self, m, status):
        self.assertEqual(values(m, "probe_smtp_health", status=status), [1], m)

    def assert_failure(self, m, reason):
        self.assertEqual(values(m, "probe_success"), [0])
        self.assertEqual(values(m, "probe_smtp_failure_info", stage="mta_sts", reason=reason), [1],
                         [s for s in m if s[0] == "probe_smtp_failure_info"])
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="enforce"), [0])

    def test_good_enforce_policy(self):
        m = self.probe("good")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="enforce"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="testing"), [0])
        self.assertEqual(values(m, "probe_smtp_mta_sts_max_age_seconds"), [86400])
        self.assertEqual(values(m, "probe_smtp_mta_sts_id_info", id="good2026"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mx1.good.test"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mx2.backup.test"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_valid", mx="mx1.good.test"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_valid", mx="mx2.backup.test"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_stale_id"), [0])
        self.assertEqual(values(m, "probe_smtp_tlsrpt_record_valid"), [1])
        self.assertEqual(len(values(m, "probe_smtp_mta_sts_policy_cert_expiry_timestamp_seconds")), 1)
        self.assert_health(m, "healthy")
        # SNI was sent (the default server refuses handshakes without it) and the Host matched.
        self.assertIn("sni=mta-sts.good.test host=mta-sts.good.test", self.nginx.access_log())

    def test_mx_not_covered_and_wildcard_of_one_label(self):
        m = self.probe("uncovered")
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mx1.uncovered.test"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mx2.uncovered.test"), [0])
        # *.backup.test covers one label: not a.b.backup.test
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="a.b.backup.test"), [0])
        self.assert_health(m, "unhealthy")
        report = self.check("uncovered")
        self.assertIn('add the line "mx: mx2.uncovered.test"', report)
        self.assertIn('add the line "mx: a.b.backup.test"', report)

    def test_testing_mode_is_degraded(self):
        m = self.probe("testing")  # served as "text/plain; charset=utf-8": parameters allowed
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="testing"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mx2.testing.test"), [0])
        self.assert_health(m, "degraded")

    def test_redirect_is_not_followed(self):
        m = self.probe("redirect")
        self.assert_failure(m, "policy_http_status")
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_http_status"), [301])
        self.assert_health(m, "unhealthy")
        self.assertNotIn("/real/mta-sts.txt HTTP/1.1\" 200", self.nginx.access_log())

    def test_404_with_a_policy_body(self):
        m = self.probe("notfound")
        self.assert_failure(m, "policy_http_status")
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_http_status"), [404])

    def test_text_html(self):
        self.assert_failure(self.probe("html"), "policy_content_type")

    def test_100_kib_body(self):
        self.assert_failure(self.probe("big"), "policy_too_large")

    def test_policy_host_certificate_for_another_name(self):
        m = self.probe("wrongname")
        self.assert_failure(m, "policy_certificate_error")
        self.assertIn("hostname_mismatch", self.probe("wrongname", debug=True))

    def test_ip_address_as_mx_pattern(self):
        m = self.probe("ipmx")
        self.assert_failure(m, "policy_invalid")
        self.assertIn("is not a host name", self.probe("ipmx", debug=True))
        self.assertIn("127.0.0.1", self.check("ipmx"))

    def test_two_txt_records(self):
        m = self.probe("twotxt")
        self.assert_failure(m, "txt_invalid")
        self.assertEqual(values(m, "probe_smtp_mta_sts_txt_records"), [2])
        self.assertEqual(values(m, "probe_smtp_mta_sts_txt_valid"), [0])

    def test_tlsrpt_malformed(self):
        m = self.probe("rptbad")
        self.assertEqual(values(m, "probe_smtp_tlsrpt_record_valid"), [0])
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="enforce"), [1])
        self.assert_health(m, "degraded")

    def test_tlsrpt_missing_and_crlf_policy(self):
        m = self.probe("rptnone")
        self.assertEqual(values(m, "probe_smtp_tlsrpt_record_valid"), [0])
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="enforce"), [1])  # CRLF parsed
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_unknown_key_info", key="comment"), [1])
        self.assert_health(m, "degraded")

    def test_mx_with_a_certificate_for_another_name(self):
        m = self.probe("badmx")
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mx1.badmx.test"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_valid", mx="mx1.badmx.test"), [0])
        self.assert_health(m, "unhealthy")

    def test_policy_host_certificate_expiring_within_14_days(self):
        m = self.probe("expiring")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="enforce"), [1])
        left = values(m, "probe_smtp_mta_sts_policy_cert_expiry_timestamp_seconds")[0] - time.time()
        self.assertTrue(6 * 86400 < left < 8 * 86400, left)
        self.assert_health(m, "degraded")

    def test_mode_none_without_mx_lines(self):
        m = self.probe("nomode")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_policy_mode", mode="none"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mx1.nomode.test"), [0])  # covers nothing
        self.assert_health(m, "healthy")  # mode none: senders apply nothing, nothing to judge

    @unittest.skipUnless(AS_ROOT, "needs root: the real Postfix MX host")
    def test_real_postfix_as_mx_host(self):
        m = self.probe("postfix", module="postfix")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_covered", mx="mail.example.test"), [1])
        self.assertEqual(values(m, "probe_smtp_mta_sts_mx_valid", mx="mail.example.test"), [1])
        self.assert_health(m, "healthy")

    def test_body_changed_with_the_same_id(self):
        m = self.probe("stale", module="nocache")
        self.assertEqual(values(m, "probe_smtp_mta_sts_stale_id"), [0])
        path = os.path.join(self.www, "stale", ".well-known", "mta-sts.txt")
        with open(path + ".new", "w") as f:
            f.write(policy("enforce", "mx1.stale.test", max_age=604800))
        os.replace(path + ".new", path)  # never half a file
        m = self.probe("stale", module="nocache")
        self.assertEqual(values(m, "probe_smtp_mta_sts_max_age_seconds"), [604800])
        self.assertEqual(values(m, "probe_smtp_mta_sts_stale_id"), [1])
        self.assert_health(m, "degraded")

    def test_policy_cached_per_domain(self):
        before = sum(values(self.self_metrics(), "smtp_exporter_mta_sts_policy_fetches_total"))
        first = self.probe("cached")
        self.assertEqual(values(first, "probe_smtp_mta_sts_policy_cached"), [0])
        second = self.probe("cached")
        self.assertEqual(values(second, "probe_smtp_mta_sts_policy_cached"), [1])
        self.assertEqual(values(second, "probe_smtp_mta_sts_policy_mode", mode="enforce"), [1])
        self.assertEqual(sum(values(self.self_metrics(), "smtp_exporter_mta_sts_policy_fetches_total")), before + 1)
        self.assertEqual(self.nginx.access_log().count("sni=mta-sts.cached.test"), 1)


if __name__ == "__main__":
    main()
