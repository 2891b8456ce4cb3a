#!/usr/bin/env python3
"""End-to-end: the DANE unit (`dane = true`, RFC 7672) against a real nsd serving zones signed at
test time with ldns-signzone, their DS records as the validator's trust anchor
([dns] trust_anchor_file), and an in-process STARTTLS server presenting a leaf certificate and its
CA made at test time. Every host name of the zones points at that one server; each has its own
TLSA records at _PORT._tcp.HOST:

  match       3 1 1 of the leaf's key               verified, not rollover-ready (degraded)
  mismatch    3 1 1 of another key                  dane_mismatch (unhealthy)
  notlsa      none                                  no DANE, healthy
  rollover    3 1 1 current + 3 1 1 next key        verified, rollover-ready, healthy
  unusable    1 1 1 + 0 0 1                         TLS required, unauthenticated (degraded)
  variants    3 0 1 + 3 1 2 of the leaf             both match
  ta          2 1 1 of the CA's key                 verified at depth 1
  mail.plain.lab (unsigned zone) with 3 1 1         insecure: ignored (degraded)
  alias       CNAME to mail.plain.lab, 3 1 1        insecure address: not enforced (degraded)
  mail.bogus.lab (signatures expired in 2021)       dnssec_bogus (unhealthy)
plus mail domains (mx:dane.lab, a secure MX set; mx:plain.lab, an unsigned one), implicit TLS,
the /metrics self-test, and the DNS faults: a resolver that never answers (the validator times
out) and one that refuses. DaneAgainstPostfix (root): a real Postfix, STARTTLS and implicit TLS,
authenticated by a 3 1 1 record of its own key, and a name whose record names another key.

Run: python3 tests/e2e/test_dane.py --exporter build/smtp_exporter
"""

import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import (BlackHoleResolver, Exporter, SignedZones, TlsSmtp, free_port, parse_metrics,  # noqa: E402
                     shared_postfix, spki_der)


def openssl(*args, cwd):
    return subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True).stdout


def values(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]


class Pki:
    """A CA, a leaf for *.dane.lab and mail.plain.lab signed by it, and a spare key (the next one)."""

    def __init__(self, d):
        self.dir = d
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=DANE test CA", "-days", "30",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                cwd=d)
        openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=mail.dane.lab", cwd=d)
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=DNS:*.dane.lab,DNS:mail.plain.lab\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days",
                "30", "-extfile", "ext.cnf", "-out", "leaf.pem", cwd=d)
        openssl("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "next.key", cwd=d)
        with open(os.path.join(d, "chain.pem"), "wb") as f:
            for name in ("leaf.pem", "ca.pem"):
                with open(os.path.join(d, name), "rb") as part:
                    f.write(part.read())
        self.chain_file = os.path.join(d, "chain.pem")
        self.key_file = os.path.join(d, "leaf.key")

    def spki(self, cert=None, key=None):
        """The DER SubjectPublicKeyInfo of a certificate or key of this directory."""
        return spki_der(cert_file=cert and os.path.join(self.dir, cert), key_file=key and os.path.join(self.dir, key))

    def der(self, cert):
        return openssl("x509", "-in", cert, "-outform", "DER", cwd=self.dir)


class RefusingResolver:
    """A UDP DNS server on 127.0.0.1 that answers every query REFUSED."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.server = f"127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                query, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(query) < 12:
                continue
            flags = struct.unpack(">H", query[2:4])[0]
            reply = query[:2] + struct.pack(">H", 0x8000 | (flags & 0x0100) | 5) + query[4:6] + b"\0" * 6 + query[12:]
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                return

    def close(self):
        self.sock.close()


class DaneAgainstSignedZones(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="smtp-exporter-dane-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        pki = Pki(cls.dir)
        leaf_spki = pki.spki(cert="leaf.pem")
        sha256 = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
        current = sha256(leaf_spki)
        nxt = sha256(pki.spki(key="next.key"))
        other = "ab" * 32
        ca = sha256(pki.spki(cert="ca.pem"))
        cls.port = free_port()
        cls.tls_port = free_port()
        p, t = f"_{cls.port}._tcp", f"_{cls.tls_port}._tcp"

        def host(name, *tlsa):
            return [f"{name} IN A 127.0.0.1"] + [f"{p}.{name} IN TLSA {r}" for r in tlsa] + \
                   [f"{t}.{name} IN TLSA {r}" for r in tlsa]

        dane = (host("match", f"3 1 1 {current}") + host("mismatch", f"3 1 1 {other}") + host("notlsa") +
                host("rollover", f"3 1 1 {current}", f"3 1 1 {nxt}") +
                host("unusable", f"1 1 1 {current}", f"0 0 1 {other}") +
                host("variants", f"3 0 1 {sha256(pki.der('leaf.pem'))}",
                     f"3 1 2 {hashlib.sha512(leaf_spki).hexdigest()}") +
                host("ta", f"2 1 1 {ca}") +
                ["alias IN CNAME mail.plain.lab.", f"{p}.alias IN TLSA 3 1 1 {current}",
                 "@ IN MX 10 rollover.dane.lab."])
        cls.zones = SignedZones({
            "dane.lab": (dane, "signed"),
            "bogus.lab": (host("mail", f"3 1 1 {current}"), "expired"),
            "plain.lab": (host("mail", f"3 1 1 {current}") + ["@ IN MX 10 mail.plain.lab."], "unsigned"),
        })
        cls.zones.start()
        cls.addClassCleanup(cls.zones.stop)
        cls.addClassCleanup(TlsSmtp("127.0.0.1", cls.port, pki.chain_file, pki.key_file).close)
        cls.addClassCleanup(TlsSmtp("127.0.0.1", cls.tls_port, pki.chain_file, pki.key_file, implicit=True).close)
        cls.blackhole = BlackHoleResolver()
        cls.addClassCleanup(cls.blackhole.close)
        cls.refusing = RefusingResolver()
        cls.addClassCleanup(cls.refusing.close)
        config = f"""
[dns]
servers = ["{cls.zones.server}"]
trust_anchor_file = "{cls.zones.anchor_file}"
timeout = "500ms"
tries = 2

[modules.dane]
port = {cls.port}
tls = "starttls"
dane = true
timeout = "5s"

[modules.dane_pkix]
port = {cls.port}
tls = "starttls"
dane = true
tls_config = {{ ca_file = "{os.path.join(cls.dir, 'ca.pem')}" }}

[modules.dane_implicit]
port = {cls.tls_port}
tls = "implicit"
dane = true

[modules.starttls]
port = {cls.port}
tls = "starttls"
tls_config = {{ ca_file = "{os.path.join(cls.dir, 'ca.pem')}" }}

[modules.dane_blackhole]
port = {cls.port}
tls = "starttls"
dane = true
timeout = "2s"
dns_servers = ["{cls.blackhole.server}"]

[modules.dane_refused]
port = {cls.port}
tls = "starttls"
dane = true
timeout = "3s"
dns_servers = ["{cls.refusing.server}"]
"""
        cls.exporter = Exporter(exporter_binary(), config_text=config)
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)

    def probe(self, host, module="dane", debug=False):
        """The exposition (or the debug page) of one probe of host:PORT."""
        port = self.tls_port if module == "dane_implicit" else self.port
        status, _, body = self.exporter.get(f"/probe?target={host}:{port}&module={module}" +
                                            ("&debug=true" if debug else ""))
        self.assertEqual(status, 200, body)
        return body if debug else parse_metrics(body)

    def assert_dane(self, m, status, records, usable, matching, verified, ready):
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status=status), [1])
        self.assertEqual(sum(values(m, "probe_smtp_dane_dnssec_status")), 1)
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_records"), [records])
        self.assertEqual(values(m, "probe_smtp_dane_usable_records"), [usable])
        self.assertEqual(values(m, "probe_smtp_dane_matching_records"), [matching])
        self.assertEqual(values(m, "probe_smtp_dane_verified"), [verified])
        self.assertEqual(values(m, "probe_smtp_dane_rollover_ready"), [ready])

    def health(self, m):
        return [l["status"] for n, l, v in m if n == "probe_smtp_health" and v == 1]

    def failure(self, m):
        return [(l["stage"], l["reason"]) for n, l, v in m if n == "probe_smtp_failure_info"]

    def test_dane_ee_3_1_1_match(self):
        m = self.probe("match.dane.lab")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assert_dane(m, "secure", 1, 1, 1, 1, 0)
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", usage="3", selector="1", matching_type="1",
                                depth="0"), [1])
        # One record only: a key change breaks mail.
        self.assertEqual(self.health(m), ["degraded"])
        debug = self.probe("match.dane.lab", debug=True)
        self.assertIn("DANE: authenticated by a 3 1 1 record at depth 0", debug)

    def test_mismatch_fails_the_probe(self):
        m = self.probe("mismatch.dane.lab")
        self.assertEqual(values(m, "probe_success"), [0])
        self.assert_dane(m, "secure", 1, 1, 0, 0, 0)
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", depth="none"), [0])
        self.assertEqual(self.health(m), ["unhealthy"])
        self.assertEqual(self.failure(m), [("starttls", "dane_mismatch")])

    def test_no_tlsa_is_no_dane(self):
        m = self.probe("notlsa.dane.lab", module="dane_pkix")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="secure"), [1])
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_records"), [0])
        self.assertEqual(values(m, "probe_smtp_dane_matching_records"), [])  # no handshake with records
        self.assertEqual(self.health(m), ["healthy"])
        # Without DANE the module's own PKIX verification applies: here the test CA is unknown.
        m = self.probe("notlsa.dane.lab")
        self.assertEqual(self.failure(m), [("starttls", "certificate_error")])

    def test_tlsa_in_an_unsigned_zone_is_ignored(self):
        m = self.probe("mail.plain.lab", module="dane_pkix")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assertEqual(self.health(m), ["degraded"])
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="insecure"), [1])
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_records"), [1])
        self.assertEqual(values(m, "probe_smtp_dane_usable_records"), [0])
        self.assertEqual(values(m, "probe_smtp_dane_verified"), [0])
        debug = self.probe("mail.plain.lab", module="dane_pkix", debug=True)
        self.assertIn("insecure: senders ignore these records", debug)
        # Not DANE: the module's PKIX verification decides (the test CA is unknown to "dane").
        self.assertEqual(self.failure(self.probe("mail.plain.lab")), [("starttls", "certificate_error")])

    def test_rollover_pair(self):
        m = self.probe("rollover.dane.lab")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assert_dane(m, "secure", 2, 2, 1, 1, 1)
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", depth="0"), [1])
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", depth="none"), [0])
        self.assertEqual(self.health(m), ["healthy"])

    def test_expired_signatures_are_bogus(self):
        m = self.probe("mail.bogus.lab")
        self.assertEqual(values(m, "probe_success"), [0])
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="bogus"), [1])
        self.assertEqual(self.health(m), ["unhealthy"])
        self.assertEqual(self.failure(m), [("resolve", "dnssec_bogus")])
        self.assertIn("expired", self.probe("mail.bogus.lab", debug=True))

    def test_only_unusable_records(self):
        m = self.probe("unusable.dane.lab")
        # TLS is required but not authenticated (RFC 7672 §2.2): the unknown CA does not fail it.
        self.assertEqual(values(m, "probe_success"), [1])
        self.assert_dane(m, "secure", 2, 0, 0, 0, 0)
        self.assertEqual(self.health(m), ["degraded"])
        self.assertIn("only unusable TLSA records", self.probe("unusable.dane.lab", debug=True))

    def test_3_0_1_and_3_1_2(self):
        m = self.probe("variants.dane.lab")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assert_dane(m, "secure", 2, 2, 2, 1, 0)
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", selector="0", matching_type="1", depth="0"),
                         [1])
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", selector="1", matching_type="2", depth="0"),
                         [1])

    def test_dane_ta_2_1_1_with_a_ca_chain(self):
        m = self.probe("ta.dane.lab")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assert_dane(m, "secure", 1, 1, 1, 1, 0)
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", usage="2", depth="1"), [1])

    def test_host_with_insecure_address(self):
        m = self.probe("alias.dane.lab", module="dane_pkix")
        self.assertEqual(values(m, "probe_success"), [1])
        # The TLSA answer is secure, the address (a CNAME into the unsigned zone) is not.
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="insecure"), [1])
        self.assertEqual(values(m, "probe_smtp_dane_tlsa_records"), [1])
        self.assertEqual(values(m, "probe_smtp_dane_usable_records"), [0])
        self.assertEqual(self.health(m), ["degraded"])

    def domain(self, domain, module):
        status, _, body = self.exporter.get(f"/probe?target=mx:{domain}&module={module}")
        self.assertEqual(status, 200, body)
        return parse_metrics(body)

    def test_mail_domain_with_a_secure_mx_set(self):
        m = self.domain("dane.lab", "dane")
        self.assertEqual(values(m, "probe_success"), [1])
        host = {"mx": "rollover.dane.lab", "ip": "127.0.0.1"}
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="secure", **host), [1])
        self.assertEqual(values(m, "probe_smtp_dane_verified", **host), [1])
        self.assertEqual(values(m, "probe_smtp_dane_rollover_ready", **host), [1])
        self.assertEqual(self.health(m), ["healthy"])

    def test_mail_domain_with_an_insecure_mx_set(self):
        # RFC 7672 §2.2.1: the MX answer is unsigned, so its host's TLSA records do not count.
        m = self.domain("plain.lab", "dane_pkix")
        self.assertEqual(values(m, "probe_success"), [1])
        host = {"mx": "mail.plain.lab", "ip": "127.0.0.1"}
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="insecure", **host), [1])
        self.assertEqual(values(m, "probe_smtp_dane_usable_records", **host), [0])
        self.assertEqual(self.health(m), ["degraded"])

    def test_implicit_tls(self):
        m = self.probe("match.dane.lab", module="dane_implicit")
        self.assertEqual(values(m, "probe_success"), [1])
        self.assert_dane(m, "secure", 1, 1, 1, 1, 0)
        m = self.probe("mismatch.dane.lab", module="dane_implicit")
        self.assertEqual(values(m, "probe_success"), [0])
        self.assertEqual(self.failure(m), [("tls", "dane_mismatch")])

    def test_validator_times_out(self):
        started = time.monotonic()
        m = self.probe("match.dane.lab", module="dane_blackhole")
        self.assertLess(time.monotonic() - started, 4)  # bounded by the probe's 2 s deadline
        self.assertEqual(values(m, "probe_success"), [0])
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="indeterminate"), [1])
        self.assertEqual(self.failure(m), [("resolve", "tlsa_lookup_error")])
        self.assertIn("timed out", self.probe("match.dane.lab", module="dane_blackhole", debug=True))

    def test_server_refuses(self):
        m = self.probe("match.dane.lab", module="dane_refused")
        self.assertEqual(values(m, "probe_success"), [0])
        self.assertEqual(values(m, "probe_smtp_dane_dnssec_status", status="indeterminate"), [1])
        self.assertEqual(self.failure(m), [("resolve", "tlsa_lookup_error")])

    def test_config_shows_the_trust_anchor(self):
        status, _, body = self.exporter.get("/config")
        self.assertEqual(status, 200, body)
        self.assertIn(f"[dns]\ntrust_anchor_file = '{self.zones.anchor_file}'\n", body)

    def test_trust_anchor_self_test_on_metrics(self):
        deadline = time.monotonic() + 10
        while True:
            status, _, body = self.exporter.get("/metrics")
            got = values(parse_metrics(body), "smtp_exporter_dnssec_trust_anchor_ok")
            if got == [1] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(got, [1])


@unittest.skipUnless(os.geteuid() == 0, "needs root: starts a private Postfix instance")
class DaneAgainstPostfix(unittest.TestCase):
    """A real Postfix (STARTTLS on its smtp port, implicit TLS on smtps) behind 3 1 1 records of its
    own key in a signed zone; DANE-EE checks no name, so Postfix's mail.example.test certificate
    authenticates postfix.dane.lab. A second name publishes another key."""

    @classmethod
    def setUpClass(cls):
        pf = cls.postfix = shared_postfix()
        digest = hashlib.sha256(spki_der(pf.cert_file)).hexdigest()
        records = ["postfix IN A 127.0.0.1", "wrongkey IN A 127.0.0.1"]
        for port in (pf.smtp_port, pf.smtps_port):
            records += [f"_{port}._tcp.postfix IN TLSA 3 1 1 {digest}", f"_{port}._tcp.wrongkey IN TLSA 3 1 1 {'cd' * 32}"]
        cls.zones = SignedZones({"dane.lab": (records, "signed")})
        cls.zones.start()
        cls.addClassCleanup(cls.zones.stop)
        config = f"""
[dns]
servers = ["{cls.zones.server}"]
trust_anchor_file = "{cls.zones.anchor_file}"

[modules.dane]
port = {pf.smtp_port}
tls = "starttls"
dane = true

[modules.dane_smtps]
port = {pf.smtps_port}
tls = "implicit"
dane = true
"""
        cls.exporter = Exporter(exporter_binary(), config_text=config)
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)

    def probe(self, host, module):
        port = self.postfix.smtps_port if module == "dane_smtps" else self.postfix.smtp_port
        status, _, body = self.exporter.get(f"/probe?target={host}:{port}&module={module}")
        self.assertEqual(status, 200, body)
        return parse_metrics(body)

    def test_starttls_and_implicit_tls_authenticated_by_dane(self):
        for module in ("dane", "dane_smtps"):
            m = self.probe("postfix.dane.lab", module)
            self.assertEqual(values(m, "probe_success"), [1], module)
            self.assertEqual(values(m, "probe_smtp_dane_verified"), [1], module)
            self.assertEqual(values(m, "probe_smtp_dane_tlsa_record_match", usage="3", depth="0"), [1], module)

    def test_another_key_fails(self):
        m = self.probe("wrongkey.dane.lab", "dane")
        self.assertEqual(values(m, "probe_success"), [0])
        self.assertEqual(values(m, "probe_smtp_dane_matching_records"), [0])
        self.assertEqual([l["reason"] for n, l, v in m if n == "probe_smtp_failure_info"], ["dane_mismatch"])


if __name__ == "__main__":
    main()
