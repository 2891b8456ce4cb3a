#!/usr/bin/env python3
"""End-to-end: the HTTP deployment flags of the real binary. --web.route-prefix and
--web.external-url (behind a reverse proxy: every route under the prefix, nothing outside it,
the landing page's links through the external URL), and --web.systemd-socket (socket
activation: the exporter serves on a listening socket it inherits as descriptor 3, with
LISTEN_FDS and LISTEN_PID set as systemd sets them). No Postfix needed; runs as any user.

Run: python3 tests/e2e/test_web.py --exporter build/smtp_exporter
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import Exporter, FakeSmtp, free_port, http_get, parse_metrics  # noqa: E402

def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def metric(text, name):
    return [value for n, _, value in parse_metrics(text) if n == name]


class RoutePrefix(unittest.TestCase):
    def setUp(self):
        port = free_port()
        self.smtp = FakeSmtp("127.0.0.1", port)
        self.addCleanup(self.smtp.close)
        self.target = f"127.0.0.1:{port}"

    def test_every_route_is_under_the_prefix_and_links_use_the_external_url(self):
        external = "https://proxy.example.com:8443/mon/smtp"
        with Exporter(exporter_binary(), extra_args=["--web.route-prefix=/mon/smtp/", f"--web.external-url={external}/"],
                      ready_path="/mon/smtp/-/healthy") as e:
            status, _, body = e.get("/mon/smtp/metrics")
            self.assertEqual(status, 200, body)
            self.assertEqual(metric(body, "smtp_exporter_build_info"), [1.0])
            status, _, body = e.get(f"/mon/smtp/probe?target={self.target}&module=smtp_banner")
            self.assertEqual(status, 200, body)
            self.assertEqual(metric(body, "probe_success"), [1.0])
            self.assertEqual(e.get("/mon/smtp/healthz")[0], 200)
            for path in ("/", "/metrics", f"/probe?target={self.target}&module=smtp_banner", "/-/healthy",
                         "/healthz", "/mon/metrics", "/mon/smtpx/metrics"):
                self.assertEqual(e.get(path)[0], 404, path)
            for landing in ("/mon/smtp", "/mon/smtp/"):
                status, _, page = e.get(landing)
                self.assertEqual(status, 200, landing)
                for link in (f'href="{external}/metrics"', f'action="{external}/probe"', f'href="{external}/logs?id=0"',
                             f'href="{external}/-/healthy"'):
                    self.assertIn(link, page)
                self.assertNotIn('href="/', page)
            # The link of the recent probe works (through the prefix, as the proxy forwards it).
            status, _, log = e.get("/mon/smtp/logs?id=0")
            self.assertEqual(status, 200)
            self.assertIn("probe_success 1", log)

    def test_the_external_urls_path_is_the_default_prefix(self):
        with Exporter(exporter_binary(), extra_args=["--web.external-url=http://gateway.internal/smtp-exporter"],
                      ready_path="/smtp-exporter/-/healthy") as e:
            self.assertEqual(e.get("/smtp-exporter/metrics")[0], 200)
            self.assertEqual(e.get("/metrics")[0], 404)
            self.assertIn('href="http://gateway.internal/smtp-exporter/metrics"', e.get("/smtp-exporter/")[2])

    def test_a_proxy_that_strips_the_path(self):
        # The proxy serves https://proxy/smtp/ from http://exporter/: route prefix "/" while the
        # links keep the external path.
        with Exporter(exporter_binary(), extra_args=["--web.external-url=https://proxy/smtp", "--web.route-prefix=/"]) as e:
            self.assertEqual(e.get("/metrics")[0], 200)
            self.assertIn('href="https://proxy/smtp/metrics"', e.get("/")[2])

    def test_bad_external_url_exits_2_with_one_line(self):
        for url, reason in (("ftp://h/", "the scheme must be http:// or https://"),
                            ("http:///x", "has no host"),
                            ("http://h/x?y=1", "must not have a query or fragment")):
            out = subprocess.run([exporter_binary(), f"--web.external-url={url}"], capture_output=True, text=True,
                                 timeout=10)
            self.assertEqual(out.returncode, 2, url)
            self.assertEqual(out.stderr.count("\n"), 1, out.stderr)
            self.assertIn(f'--web.external-url: "{url}": {reason}', out.stderr)


# Puts the inherited socket (descriptor argv[1]) on descriptor 3, sets LISTEN_FDS=1 and
# LISTEN_PID to its own pid (which exec keeps), and execs the exporter: what systemd does.
ACTIVATE = """
import os, sys
fd = int(sys.argv[1])
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
"""


class SystemdSocket(unittest.TestCase):
    def start(self, *flags, listen_pid_offset=0):
        """The exporter as systemd starts a socket-activated service, on a listening socket
        bound to 127.0.0.1:free port here. Returns (process, port, log file)."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self.addCleanup(sock.close)
        port = sock.getsockname()[1]
        log = tempfile.NamedTemporaryFile(prefix="smtp-exporter-systemd-", suffix=".log", delete=False)
        self.addCleanup(os.unlink, log.name)
        script = ACTIVATE if not listen_pid_offset else ACTIVATE.replace("os.getpid()", f"os.getpid() + {listen_pid_offset}")
        process = subprocess.Popen([sys.executable, "-c", script, str(sock.fileno()), exporter_binary(), *flags],
                                   pass_fds=[sock.fileno()], stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        sock.close()  # the exporter holds it now: the port stays open only if the exporter serves it
        return process, port, log.name

    def stop(self, process):
        process.terminate()
        self.assertEqual(process.wait(timeout=5), 0)

    def test_serves_on_the_socket_systemd_passes(self):
        process, port, log = self.start("--web.systemd-socket", "--web.route-prefix=/smtp", "--log.level=debug")
        try:
            deadline = time.monotonic() + 10
            while True:
                self.assertIsNone(process.poll(), read(log))
                try:
                    status, _, body = http_get(f"http://127.0.0.1:{port}/smtp/metrics", timeout=1)
                    break
                except OSError:
                    self.assertLess(time.monotonic(), deadline, read(log))
                    time.sleep(0.05)
            self.assertEqual(status, 200, body)
            self.assertEqual(metric(body, "smtp_exporter_build_info"), [1.0])
            self.assertEqual(http_get(f"http://127.0.0.1:{port}/smtp/-/healthy")[::2], (200, "OK\n"))
        finally:
            self.stop(process)
        text = read(log)
        self.assertIn("from=systemd", text)
        self.assertIn(f"port={port}", text)

    def test_without_a_socket_exits_1_with_the_reason(self):
        out = subprocess.run([exporter_binary(), "--web.systemd-socket"], capture_output=True, text=True, timeout=10,
                             env={k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")})
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("LISTEN_PID and LISTEN_FDS are not set", out.stdout + out.stderr)

    def test_sockets_for_another_process_are_refused(self):
        process, _, log = self.start("--web.systemd-socket", listen_pid_offset=1)
        self.assertEqual(process.wait(timeout=10), 1)
        self.assertIn("not this process", read(log))


if __name__ == "__main__":
    main()
