#!/usr/bin/env python3
"""Measures what DANE costs (not a test; run by hand, see docs/dane.md "Cost"): the exporter's CPU
per probe of a DANE module against the plain STARTTLS probe of the same server in the same run,
for repeated probes of one name (the validator's cache) and for names never asked before (cold),
and the RSS the validator adds (the exporter's VmRSS before and after its first DANE probe).

Run: python3 tests/e2e/measure_dane.py --exporter build/smtp_exporter [--probes N]
"""

import argparse
import hashlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Exporter, SignedZones, TlsSmtp, free_port  # noqa: E402
from test_dane import Pki  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, all threads


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    n = args.probes
    with tempfile.TemporaryDirectory() as d:
        pki = Pki(d)
        digest = hashlib.sha256(pki.spki(cert="leaf.pem")).hexdigest()
        port = free_port()
        records = []
        for i in range(n + 1):
            records += [f"h{i} IN A 127.0.0.1", f"_{port}._tcp.h{i} IN TLSA 3 1 1 {digest}"]
        zones = SignedZones({"dane.lab": (records, "signed")}).start()
        server = TlsSmtp("127.0.0.1", port, pki.chain_file, pki.key_file)
        config = f"""
[dns]
servers = ["{zones.server}"]
trust_anchor_file = "{zones.anchor_file}"

[modules.dane]
port = {port}
tls = "starttls"
dane = true

[modules.starttls]
port = {port}
tls = "starttls"
tls_config = {{ insecure_skip_verify = true }}
"""
        plain_config = config[config.index("[modules.starttls]"):]
        try:
            # The validator is made at start-up when a module has dane = true (the /metrics self-test):
            # its RSS is the difference with an exporter without one, after the same probes.
            with Exporter(args.exporter, config_text=plain_config, extra_args=("--log.level=warn",)) as exporter:
                for _ in range(20):
                    exporter.get(f"/probe?target=h0.dane.lab:{port}&module=starttls")
                rss_without = rss_kib(exporter.process.pid)
            with Exporter(args.exporter, config_text=config, extra_args=("--log.level=warn",)) as exporter:
                pid = exporter.process.pid

                def run(module, host, count):
                    before = cpu_seconds(pid)
                    for _ in range(count):
                        status, _, body = exporter.get(f"/probe?target={host}:{port}&module={module}")
                        assert status == 200 and "probe_success 1" in body, body
                    return (cpu_seconds(pid) - before) / count

                run("starttls", "h0.dane.lab", 20)  # warm up the TLS context and the HTTP path
                rss_before = rss_kib(pid)
                first = run("dane", "h0.dane.lab", 1)
                rss_after_first = rss_kib(pid)
                plain = run("starttls", "h0.dane.lab", n)
                repeated = run("dane", "h0.dane.lab", n)
                before = cpu_seconds(pid)
                for i in range(1, n + 1):
                    status, _, body = exporter.get(f"/probe?target=h{i}.dane.lab:{port}&module=dane")
                    assert status == 200 and "probe_success 1" in body, body
                cold = (cpu_seconds(pid) - before) / n
                rss_end = rss_kib(pid)
        finally:
            server.close()
            zones.stop()
    print(f"probes per case: {n} (CPU: utime+stime of the exporter, all threads, /proc/PID/stat)")
    print(f"plain STARTTLS probe:            {plain * 1000:.2f} ms CPU/probe")
    print(f"DANE probe, same name repeated:  {repeated * 1000:.2f} ms CPU/probe  ({repeated / plain:.2f}x plain)")
    print(f"DANE probe, a new name each:     {cold * 1000:.2f} ms CPU/probe  ({cold / plain:.2f}x plain; "
          f"cache ratio cold/repeated {cold / repeated:.2f})")
    print(f"first DANE probe:                {first * 1000:.2f} ms CPU")
    print(f"RSS after 20 STARTTLS probes, no dane module: {rss_without} KiB; with one (validator and "
          f"self-test): {rss_before} KiB (+{rss_before - rss_without} KiB)")
    print(f"RSS before the first DANE probe: {rss_before} KiB; after it: {rss_after_first} KiB "
          f"(+{rss_after_first - rss_before} KiB); after {2 * n + 1} DANE probes: {rss_end} KiB")


if __name__ == "__main__":
    main()
