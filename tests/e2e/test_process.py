#!/usr/bin/env python3
"""End-to-end: the smtp_exporter process itself — flags, config checking, logging,
IPv6 listening and graceful shutdown. No Postfix needed; runs as any user.

Run: python3 tests/e2e/test_process.py --exporter build/smtp_exporter
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import write_config  # noqa: E402
from harness import Exporter, StallingServer, free_port, parse_metrics  # noqa: E402



def run(*args, timeout=10):
    return subprocess.run([exporter_binary(), *args], capture_output=True, text=True, timeout=timeout)


class Flags(unittest.TestCase):
    def test_help_lists_every_flag(self):
        out = run("--help")
        self.assertEqual(out.returncode, 0)
        for flag in ("--web.listen-address", "--web.config.file", "--config.file", "--config.check",
                     "--log.level", "--log.format", "--timeout-offset", "--runtime.threads", "--version"):
            self.assertIn(flag, out.stdout)

    def test_version(self):
        out = run("--version")
        self.assertEqual(out.returncode, 0)
        self.assertRegex(out.stdout, r"^smtp_exporter \d+\.\d+\.\d+ ")

    def test_bad_flags_exit_2_with_a_reason(self):
        for args, reason in ((["--nope"], "unknown flag --nope"),
                             (["--log.level=loud"], 'unknown log level "loud"'),
                             (["--log.format=xml"], 'unknown log format "xml"'),
                             (["--runtime.threads=0"], "--runtime.threads"),
                             (["--config.file"], "flag --config.file needs a value")):
            out = run(*args)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn(reason, out.stderr)

    def test_unbindable_listen_address_exits_1(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        try:
            out = run(f"--web.listen-address=127.0.0.1:{blocker.getsockname()[1]}")
        finally:
            blocker.close()
        self.assertEqual(out.returncode, 1)
        self.assertIn("cannot listen on", out.stderr)


class ConfigCheck(unittest.TestCase):
    def test_valid_config(self):
        path = write_config(self, '[modules.mx]\nport = 25\ntimeout = "5s"\n')
        out = run(f"--config.file={path}", "--config.check")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("OK, 1 module(s)", out.stdout)

    def test_invalid_config_names_file_line_and_key(self):
        path = write_config(self, '[modules.mx]\nport = 25\ntimeout = "soon"\n')
        out = run(f"--config.file={path}", "--config.check")
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stderr.splitlines(),
                         [f'smtp_exporter: {path}:3:11: modules.mx.timeout: invalid duration "soon" '
                          '(use e.g. "500ms", "10s", "1m")'])
        # At startup the same error is one log line (logfmt: the quotes are escaped).
        out = run(f"--config.file={path}")
        self.assertEqual(out.returncode, 1)
        self.assertEqual(len(out.stderr.splitlines()), 1, out.stderr)
        self.assertIn('level=error msg="invalid configuration"', out.stderr)
        self.assertIn(f'{path}:3:11: modules.mx.timeout: invalid duration', out.stderr)

    def test_missing_config_file(self):
        out = run("--config.file=/nonexistent/smtp_exporter.toml", "--config.check")
        self.assertEqual(out.returncode, 1)
        self.assertIn("/nonexistent/smtp_exporter.toml: cannot open", out.stderr)


class Running(unittest.TestCase):
    def test_sigterm_with_probes_in_flight_exits_0_within_a_second(self):
        stall = StallingServer()
        self.addCleanup(stall.close)
        exporter = Exporter(exporter_binary())
        exporter.start()
        results = []

        def scrape():
            try:
                results.append(exporter.get(f"/probe?target=127.0.0.1:{stall.port}&module=smtp_banner",
                                            timeout=5))
            except OSError as e:  # the connection is closed by the shutdown: expected
                results.append(e)

        threads = [threading.Thread(target=scrape) for _ in range(5)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while len(stall.clients) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(len(stall.clients), 5, "the probes did not start")
        started = time.monotonic()
        exporter.process.send_signal(signal.SIGTERM)
        code = exporter.process.wait(timeout=5)
        elapsed = time.monotonic() - started
        exporter.process = None
        exporter.stop()
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 1.0)
        for t in threads:
            t.join(5)
        self.assertEqual(len(results), 5)

    def test_sighup_reloads_and_a_bad_file_keeps_the_old_config(self):
        smtp = StallingServer()  # a target for the agent; its probes time out, which is fine here
        self.addCleanup(smtp.close)
        good = ('[modules.smtp_banner]\ntimeout = "1s"\n\n[[targets]]\nname = "first"\n'
                f'target = "127.0.0.1:{smtp.port}"\ninterval = "1s"\n')
        with Exporter(exporter_binary(), config_text=good) as exporter:
            _, _, health = exporter.get("/healthz")
            self.assertIn('"name":"first"', health)
            with open(exporter.config_file, "w") as f:
                f.write(good.replace('"first"', '"second"'))
            exporter.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while '"name":"second"' not in exporter.get("/healthz")[2] and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn('"name":"second"', exporter.get("/healthz")[2])
            with open(exporter.config_file, "w") as f:
                f.write("[modules.smtp_banner]\nport = 0\n")
            exporter.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while ("smtp_exporter_config_last_reload_successful 0" not in exporter.get("/metrics")[2]
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            self.assertIn("smtp_exporter_config_last_reload_successful 0", exporter.get("/metrics")[2])
            self.assertIn('"name":"second"', exporter.get("/healthz")[2], "the config in force stays")
            with open(exporter.log_file) as f:
                self.assertIn("configuration reload failed", f.read())

    def test_sigint_also_stops_cleanly(self):
        exporter = Exporter(exporter_binary())
        exporter.start()
        exporter.process.send_signal(signal.SIGINT)
        self.assertEqual(exporter.process.wait(timeout=2), 0)
        exporter.process = None
        exporter.stop()

    def test_json_logs(self):
        with Exporter(exporter_binary(), extra_args=["--log.format=json"]) as exporter:
            exporter.get("/probe?target=127.0.0.1:1&module=smtp_banner")
            with open(exporter.log_file) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        msgs = [l["msg"] for l in lines]
        self.assertIn("starting smtp_exporter", msgs)
        self.assertIn("probe finished", msgs)
        probe = next(l for l in lines if l["msg"] == "probe finished")
        self.assertEqual(probe["success"], "false")
        self.assertIn("connect/refused", probe["failure"])
        self.assertTrue(all({"ts", "level", "msg"} <= set(l) for l in lines))

    def test_listens_on_ipv6_and_probes_ipv6_targets(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6 on this host")
        try:
            probe_sock = socket.socket(socket.AF_INET6)
            probe_sock.bind(("::1", 0))
        except OSError:
            self.skipTest("no ::1 on this host")
        smtp_port = probe_sock.getsockname()[1]
        probe_sock.listen()

        def serve():
            conn, _ = probe_sock.accept()
            conn.sendall(b"220 v6.test ESMTP\r\n")
            conn.recv(512)
            conn.sendall(b"250 v6.test\r\n")
            conn.recv(512)
            conn.sendall(b"221 bye\r\n")
            conn.close()

        threading.Thread(target=serve, daemon=True).start()
        port = free_port()
        # ":PORT" listens on every address, IPv6 and IPv4.
        exporter = Exporter(exporter_binary(), extra_args=[f"--web.listen-address=:{port}"])
        with exporter:
            import urllib.request
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"http://[::1]:{port}/probe?target=%5B%3A%3A1%5D%3A{smtp_port}"
                             "&module=smtp_banner", timeout=10) as r:
                samples = parse_metrics(r.read().decode())
        probe_sock.close()
        values = {n: v for n, l, v in samples if not l}
        self.assertEqual(values["probe_success"], 1)
        self.assertEqual(values["probe_ip_protocol"], 6)


def bcrypt_hash(password):
    """A bcrypt hash made with the system's libcrypt (Python's crypt module), cost 4."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


class SecuredEndpoint(unittest.TestCase):
    """--web.config.file (TLS + basic auth) and [web] allowed_targets, through curl."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="smtp-exporter-web-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", self.cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        self.web = os.path.join(self.dir, "web.yml")
        with open(self.web, "w") as f:
            # Relative names are relative to the web config file.
            f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                    f"basic_auth_users:\n  prometheus: {bcrypt_hash('s3cret')}\n")
        self.config = os.path.join(self.dir, "smtp_exporter.toml")
        with open(self.config, "w") as f:
            f.write('[web]\nallowed_targets = ["127.0.0.1"]\n\n[modules.smtp_banner]\nport = 25\n')

    def curl(self, url, *args):
        """(HTTP status or 0 when there is no HTTP answer, body)."""
        out = subprocess.run(["curl", "-s", "--noproxy", "*", "--max-time", "10", "--cacert", self.cert,
                              "-w", "\\n%{http_code}", *args, url], capture_output=True, text=True, timeout=15)
        body, _, code = out.stdout.rpartition("\n")
        return int(code or 0), body

    def start_exporter(self, *flags):
        """The exporter with this test's config and web config; returns (process, base URL)."""
        port = free_port()
        log = open(os.path.join(self.dir, "exporter.log"), "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen([exporter_binary(), f"--web.listen-address=127.0.0.1:{port}",
                                    f"--config.file={self.config}", f"--web.config.file={self.web}", *flags],
                                   stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process, f"https://127.0.0.1:{port}"

    def wait_for(self, process, url, status, *args):
        deadline = time.monotonic() + 10
        while self.curl(url, *args)[0] != status:
            self.assertIsNone(process.poll(), "the exporter exited")
            self.assertLess(time.monotonic(), deadline, f"{url} never answered {status}")
            time.sleep(0.1)

    def test_config_check_validates_the_web_config(self):
        out = run(f"--config.file={self.config}", f"--web.config.file={self.web}", "--config.check")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f"{self.web}: OK, TLS on, 1 basic auth user(s)", out.stdout)
        bad = os.path.join(self.dir, "bad.yml")
        with open(bad, "w") as f:
            f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: Always\n")
        out = run(f"--web.config.file={bad}", "--config.check")
        self.assertEqual(out.returncode, 1)
        self.assertIn(f'{bad}:4:21: tls_server_config.client_auth_type: invalid value "Always"', out.stderr)
        # At startup too, before listening.
        out = run(f"--web.config.file={bad}", "--web.listen-address=127.0.0.1:0")
        self.assertEqual(out.returncode, 1)
        self.assertIn("tls_server_config.client_auth_type", out.stderr)

    def test_https_basic_auth_and_allowed_targets(self):
        process, base = self.start_exporter("--log.level=debug")
        port = base.rsplit(":", 1)[1]
        self.wait_for(process, f"{base}/-/healthy", 401)
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "prometheus:s3cret")[0], 200)
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "prometheus:wrong")[0], 401)
        self.assertEqual(self.curl(f"{base}/metrics")[0], 401)
        # Plain HTTP on the HTTPS port: no HTTP answer.
        self.assertEqual(self.curl(f"http://127.0.0.1:{port}/-/healthy", "-u", "prometheus:s3cret")[0], 0)
        # allowed_targets: 127.0.0.1 only.
        code, body = self.curl(f"{base}/probe?target=192.0.2.1:25", "-u", "prometheus:s3cret")
        self.assertEqual((code, body), (403, 'target "192.0.2.1:25" is not allowed by [web] allowed_targets\n'))
        code, body = self.curl(f"{base}/probe?target=127.0.0.1:1", "-u", "prometheus:s3cret")
        self.assertEqual(code, 200)
        self.assertIn("probe_success 0", body)  # allowed; nothing listens on port 1
        code, body = self.curl(f"{base}/config", "-u", "prometheus:s3cret")
        self.assertIn("[web]\nallowed_targets = [ '127.0.0.1' ]", body)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=5), 0)

    def test_reload_reads_the_web_config_again(self):
        process, base = self.start_exporter()
        port = base.rsplit(":", 1)[1]

        def wait_for(url, status, *args):
            self.wait_for(process, url, status, *args)

        wait_for(f"{base}/-/healthy", 200, "-u", "prometheus:s3cret")
        # A new user (SIGHUP): the old credentials stop working, the new ones work.
        with open(self.web, "w") as f:
            f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                    f"basic_auth_users:\n  grafana: {bcrypt_hash('0ther')}\n")
        process.send_signal(signal.SIGHUP)
        wait_for(f"{base}/metrics", 200, "-u", "grafana:0ther")
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "prometheus:s3cret")[0], 401)
        # A bad file (POST /-/reload): 500 with the reason, the one in force stays.
        with open(self.web, "w") as f:
            f.write("tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n")
        code, body = self.curl(f"{base}/-/reload", "-X", "POST", "-u", "grafana:0ther")
        self.assertEqual(code, 500, body)
        self.assertIn("missing.pem", body)
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "grafana:0ther")[0], 200)
        # TLS off and no users: new connections speak plain HTTP, without authentication.
        with open(self.web, "w") as f:
            f.write("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
        self.assertEqual(self.curl(f"{base}/-/reload", "-X", "POST", "-u", "grafana:0ther")[0], 200)
        wait_for(f"http://127.0.0.1:{port}/metrics", 200)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=5), 0)

    def test_reload_applies_both_files_or_neither(self):
        """A valid new web.yml beside a broken TOML: the reload fails and the old users stay."""
        process, base = self.start_exporter()
        self.wait_for(process, f"{base}/-/healthy", 200, "-u", "prometheus:s3cret")
        with open(self.web, "w") as f:
            f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                    f"basic_auth_users:\n  grafana: {bcrypt_hash('0ther')}\n")
        with open(self.config, "w") as f:
            f.write("[modules.smtp_banner]\nport = 0\n")
        code, body = self.curl(f"{base}/-/reload", "-X", "POST", "-u", "prometheus:s3cret")
        self.assertEqual(code, 500, body)
        self.assertIn("port: must be between 1 and 65535", body)
        # Neither file applied: the old user still works, the new one does not.
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "grafana:0ther")[0], 401)
        code, metrics = self.curl(f"{base}/metrics", "-u", "prometheus:s3cret")
        self.assertEqual(code, 200)
        self.assertIn("smtp_exporter_config_last_reload_successful 0", metrics)
        # SIGHUP takes the same path.
        process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "grafana:0ther")[0], 401)
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "prometheus:s3cret")[0], 200)
        # Both files good: both applied.
        with open(self.config, "w") as f:
            f.write("[modules.smtp_banner]\nport = 25\n")
        self.assertEqual(self.curl(f"{base}/-/reload", "-X", "POST", "-u", "prometheus:s3cret")[0], 200)
        self.assertEqual(self.curl(f"{base}/metrics", "-u", "prometheus:s3cret")[0], 401)
        code, metrics = self.curl(f"{base}/metrics", "-u", "grafana:0ther")
        self.assertEqual(code, 200)
        self.assertIn("smtp_exporter_config_last_reload_successful 1", metrics)
        # A cross-site request (a browser's form on another site) is refused before anything is read.
        code, body = self.curl(f"{base}/-/reload", "-X", "POST", "-u", "grafana:0ther",
                               "-H", "Origin: https://evil.example", "-H", "Sec-Fetch-Site: cross-site")
        self.assertEqual(code, 403, body)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=5), 0)


class ConnectionLimit(unittest.TestCase):
    """[limits] max_connections, sized from a low open-files limit (prlimit)."""

    def test_idle_connections_give_way_and_metrics_keep_answering(self):
        workdir = tempfile.mkdtemp(prefix="smtp-exporter-conn-")
        self.addCleanup(shutil.rmtree, workdir, True)
        port = free_port()
        log_path = os.path.join(workdir, "exporter.log")
        log = open(log_path, "wb")
        self.addCleanup(log.close)
        # 128 descriptors: 64 reserved, 21 probes (x2 sockets): 22 left, but 21 + 16 = 37 connections.
        process = subprocess.Popen(["prlimit", "--nofile=128:128", exporter_binary(),
                                    f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: process.poll() is None and process.kill())

        def get(path):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            return int(data[9:12]), data.decode(errors="replace")

        deadline = time.monotonic() + 10
        while True:
            try:
                if get("/-/healthy")[0] == 200:
                    break
            except OSError:
                pass
            self.assertIsNone(process.poll(), "the exporter exited")
            self.assertLess(time.monotonic(), deadline, "no answer within 10 s")
            time.sleep(0.1)

        # Far more idle connections than descriptors: the oldest idle ones are closed for the new ones.
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(300)]
        self.addCleanup(lambda: [s.close() for s in idle])
        start = time.monotonic()
        status, body = get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("smtp_exporter_build_info", body)
        self.assertLess(time.monotonic() - start, 3)
        closed = 0
        time.sleep(0.5)  # the closes have been sent: the /metrics answer came after them
        for s in idle:
            s.settimeout(0.05)
            try:
                closed += s.recv(1) == b""
            except (socket.timeout, ConnectionResetError):
                closed += isinstance(sys.exc_info()[1], ConnectionResetError)
        self.assertGreaterEqual(closed, 300 - 128, "the exporter kept idle connections past its limit")
        self.assertEqual(get("/-/healthy")[0], 200)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=5), 0)
        with open(log_path, errors="replace") as f:
            text = f.read()
        # Logged once (at most once a minute), not once per connection.
        self.assertEqual(text.count("connection limit reached"), 1, text[-2000:])
        self.assertNotIn("accept failed", text)


if __name__ == "__main__":
    main()
