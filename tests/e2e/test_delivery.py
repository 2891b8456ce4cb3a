#!/usr/bin/env python3
"""End-to-end delivery ([receive], docs/delivery.md): the exporter sends its test message to a
real Postfix on 127.0.0.1, which delivers it to a Maildir, and finds it there through a real
Dovecot over IMAP (STARTTLS and implicit TLS) or by reading the Maildir; in INBOX or in the
\\Junk folder, with the Authentication-Results Postfix adds (pass, or fail with a forged
"pass" from another authserv-id that must be ignored); lost and late mail; IMAP auth failure
and a server that is down; two agent targets sharing the mailbox, run at once, with their
per-target /metrics series. After every test the mailbox holds no test message.

The recipe is ../shared/notes/delivery-test-lab.md: header_checks in Postfix route a message
with X-Lab-Junk to junk@example.test (the Maildir's .Junk folder), HOLD one with X-Lab-Hold
(released by the test: late mail) and DISCARD one with X-Lab-Discard (lost mail).

Run as root:  python3 tests/e2e/test_delivery.py --exporter build/smtp_exporter
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.main import exporter_binary, main  # noqa: E402
from harness import Exporter, Postfix, free_port, parse_metrics  # noqa: E402
from harness.dovecot import Dovecot  # noqa: E402

AUTHSERV_ID = "mail.example.test"
RECEIVE_TIMEOUT = 8          # seconds; the probe's own deadline is above it
HEADER_CHECKS = r"""/^Authentication-Results:[[:space:]]*mail\.example\.test([[:space:];]|$)/ IGNORE
/^X-Lab-Junk:[[:space:]]*yes/ REDIRECT junk@example.test
/^X-Lab-Hold:[[:space:]]*yes/ HOLD held for a late-delivery test
/^X-Lab-Discard:[[:space:]]*yes/ DISCARD dropped for a not-delivered test
/^Subject:.*\[auth-fail\]/ PREPEND Authentication-Results: mail.example.test; spf=fail smtp.mailfrom=probe@example.test; dkim=fail header.d=example.test; dmarc=fail header.from=example.test
/^Subject:/ PREPEND Authentication-Results: mail.example.test; spf=pass smtp.mailfrom=probe@example.test; dkim=pass header.d=example.test header.s=lab; dmarc=pass header.from=example.test
"""


def select(samples, name, **labels):
    return [(l, v) for n, l, v in samples if n == name and all(l.get(k) == want for k, want in labels.items())]


def module(name, receive, headers=None, subject_prefix=None, timeout="30s"):
    text = f"""
[modules.{name}]
timeout = "{timeout}"
[modules.{name}.send]
from = "probe@example.test"
to = ["sink@example.test"]
"""
    if subject_prefix:
        text += f'subject_prefix = "{subject_prefix}"\n'
    if headers:
        text += f"[modules.{name}.send.headers]\n" + "".join(f'{k} = "{v}"\n' for k, v in headers.items())
    text += f"[modules.{name}.receive]\n{receive}"
    return text


@unittest.skipUnless(os.geteuid() == 0, "needs root: starts a private Postfix and Dovecot")
class Delivery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = exporter_binary()
        if not binary:
            raise RuntimeError("no exporter binary: pass --exporter PATH or set SMTP_EXPORTER_BIN")
        cls.postfix = Postfix()
        cls.postfix.start()
        cls.addClassCleanup(cls.postfix.stop)
        cls._route_mail()
        cls.dovecot = Dovecot(cls.postfix)
        cls.dovecot.start()
        cls.addClassCleanup(cls.dovecot.stop)
        cls.sink = os.path.join(cls.postfix.dir, "mail", "example.test", "sink")
        cls.closed_port = free_port()
        ca = cls.postfix.ca_file
        imaps = f"""imap = "127.0.0.1:{cls.dovecot.imaps_port}"
tls = "implicit"
username = "{Dovecot.username}"
password_env = "E2E_IMAP_PASSWORD"
authserv_id = "{AUTHSERV_ID}"
timeout = "{RECEIVE_TIMEOUT}s"
[{{}}.tls_config]
ca_file = "{ca}"
server_name = "mail.example.test"
"""

        def imap(name, tls="implicit", port=None, password_env="E2E_IMAP_PASSWORD", timeout=RECEIVE_TIMEOUT,
                 poll_interval=None, **kw):
            port = port or (cls.dovecot.imaps_port if tls == "implicit" else cls.dovecot.imap_port)
            receive = imaps.replace(f":{cls.dovecot.imaps_port}", f":{port}").replace(
                'tls = "implicit"', f'tls = "{tls}"').replace("E2E_IMAP_PASSWORD", password_env).replace(
                f'timeout = "{RECEIVE_TIMEOUT}s"', f'timeout = "{timeout}s"').replace(
                "[{}.tls_config]", (f'poll_interval = "{poll_interval}s"\n' if poll_interval else "") +
                f"[modules.{name}.receive.tls_config]")
            return module(name, receive, **kw)

        cls.imap_module = staticmethod(imap)

        maildir = f'maildir = "{cls.sink}"\nauthserv_id = "{AUTHSERV_ID}"\ntimeout = "{RECEIVE_TIMEOUT}s"\n'
        config = "".join([
            imap("imaps"),
            imap("starttls", tls="starttls"),
            imap("junk", headers={"X-Lab-Junk": "yes"}),
            imap("authfail", subject_prefix="[auth-fail]",
                 headers={"Authentication-Results": "evil.example; spf=pass; dkim=pass; dmarc=pass"}),
            imap("lost", headers={"X-Lab-Discard": "yes"}, timeout=3),
            imap("held", headers={"X-Lab-Hold": "yes"}, timeout=2),
            imap("short", timeout=2),
            imap("waiting", headers={"X-Lab-Hold": "yes"}),
            imap("badpassword", password_env="E2E_IMAP_WRONG"),
            imap("down", port=cls.closed_port),
            module("maildir", maildir),
            module("maildir_junk", maildir, headers={"X-Lab-Junk": "yes"}),
            module("maildir_waiting", maildir, headers={"X-Lab-Hold": "yes"}),
        ])
        cls.env = {"E2E_IMAP_PASSWORD": cls.dovecot.password, "E2E_IMAP_WRONG": cls.dovecot.password + "-wrong"}
        cls.exporter = Exporter(binary, config_text=config, env=cls.env)
        cls.exporter.start()
        cls.addClassCleanup(cls.exporter.stop)
        cls.target = f"127.0.0.1:{cls.postfix.smtp_port}"

    @classmethod
    def _route_mail(cls):
        """header_checks and a vmailbox map with a junk address (the lab recipe), then reload."""
        etc = cls.postfix.config_dir
        with open(os.path.join(etc, "header_checks"), "w") as f:
            f.write(HEADER_CHECKS)
        with open(os.path.join(etc, "vmailbox"), "w") as f:
            f.write("junk@example.test   example.test/sink/.Junk/\n@example.test       example.test/sink/\n")
        subprocess.run(["postconf", "-c", etc, "-e", f"virtual_mailbox_maps = texthash:{etc}/vmailbox",
                        f"header_checks = regexp:{etc}/header_checks"], check=True)
        subprocess.run(["postfix", "-c", etc, "reload"], check=True, capture_output=True)
        time.sleep(1.5)  # the new cleanup and virtual processes read the tables

    # ---- helpers -----------------------------------------------------------------------

    def probe(self, module, debug=False):
        query = {"target": self.target, "module": module}
        if debug:
            query["debug"] = "true"
        status, _, body = self.exporter.get("/probe?" + urllib.parse.urlencode(query), timeout=60)
        self.assertEqual(status, 200, body)
        return body

    def value(self, samples, name, body, **labels):
        found = select(samples, name, **labels)
        self.assertEqual(len(found), 1, f"expected one {name}{labels or ''}, got {found}\n{body}")
        return found[0][1]

    def leftover_messages(self):
        """The paths of every file in the Maildir (INBOX and Junk) that carries our header."""
        found = []
        for folder in ("", ".Junk"):
            # Not tmp/: a file there is a delivery in progress (virtual(8) links it into new/,
            # then unlinks it from tmp/), not mail in the mailbox.
            for leaf in ("new", "cur"):
                d = os.path.join(self.sink, folder, leaf)
                for name in os.listdir(d) if os.path.isdir(d) else []:
                    try:
                        with open(os.path.join(d, name), errors="replace") as f:
                            if "X-Smtp-Exporter-Token:" in f.read():
                                found.append(os.path.join(d, name))
                    except FileNotFoundError:
                        pass
        return found

    def imap_test_messages(self):
        """What IMAP shows: UIDs of messages with the header, per folder."""
        with self.dovecot.connect() as m:
            out = {}
            for folder in ("INBOX", "Junk"):
                m.select(folder)
                typ, data = m.uid("SEARCH", "HEADER", "X-Smtp-Exporter-Token", '""')
                out[folder] = data[0].split() if data and data[0] else []
            m.logout()
            return out

    def tearDown(self):
        # After every test the mailbox holds no test message (files and IMAP agree).
        self.assertEqual(self.leftover_messages(), [], "test messages left in the Maildir")
        self.assertEqual(self.imap_test_messages(), {"INBOX": [], "Junk": []})

    def delivered(self, module, folder="inbox"):
        body = self.probe(module)
        samples = parse_metrics(body)
        if folder == "junk":
            # Found, in Junk: the probe fails with delivered_to_junk, its health is degraded (not
            # unhealthy), and the delivery itself counts as found with its round trip.
            self.assertEqual(self.value(samples, "probe_success", body), 0, body)
            self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="receive",
                                        reason="delivered_to_junk"), 1, body)
            self.assertEqual(self.value(samples, "probe_smtp_health", body, status="degraded"), 1, body)
        else:
            self.assertEqual(self.value(samples, "probe_success", body), 1, body)
            self.assertEqual(select(samples, "probe_smtp_failure_info"), [], body)
        self.assertEqual(self.value(samples, "probe_smtp_delivery_success", body), 1, body)
        rtt = self.value(samples, "probe_smtp_delivery_roundtrip_seconds", body)
        self.assertTrue(0 < rtt < RECEIVE_TIMEOUT, rtt)
        for f in ("inbox", "junk", "none"):
            self.assertEqual(self.value(samples, "probe_smtp_delivery_folder", body, folder=f), 1 if f == folder else 0,
                             body)
        return samples, body

    # ---- the cases -----------------------------------------------------------------------

    def test_delivered_to_inbox_over_imaps(self):
        samples, body = self.delivered("imaps")
        for method in ("spf", "dkim", "dmarc"):
            self.assertEqual(self.value(samples, "probe_smtp_delivery_auth_result", body, method=method, result="pass"),
                             1, body)

    def test_delivered_to_inbox_over_starttls(self):
        self.delivered("starttls")
        # Loopback counts as "secured" in Dovecot, so a login alone does not prove TLS: the
        # probe's log shows the upgrade before LOGIN.
        debug = self.probe("starttls", debug=True)
        starttls, tls, login = (debug.find(s) for s in ("STARTTLS", "IMAP: TLS established", "LOGIN sink@"))
        self.assertTrue(0 <= starttls < tls < login, debug)

    def test_delivered_to_junk(self):
        samples, body = self.delivered("junk", folder="junk")

    def test_auth_results_fail_and_a_forged_pass_is_ignored(self):
        samples, body = self.delivered("authfail")
        results = {(l["method"], l["result"]) for l, v in select(samples, "probe_smtp_delivery_auth_result")}
        self.assertEqual(results, {("spf", "fail"), ("dkim", "fail"), ("dmarc", "fail")}, body)

    def test_not_delivered(self):
        body = self.probe("lost")
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_success", body), 0, body)
        self.assertEqual(self.value(samples, "probe_smtp_delivery_success", body), 0, body)
        self.assertEqual(self.value(samples, "probe_smtp_delivery_folder", body, folder="none"), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="receive", reason="not_delivered"),
                         1, body)
        self.assertEqual(select(samples, "probe_smtp_delivery_roundtrip_seconds"), [], body)

    def test_imap_auth_failure(self):
        body = self.probe("badpassword")
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_success", body), 0, body)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="receive", reason="imap_auth"), 1,
                         body)
        self.assertNotIn(self.dovecot.password, body)
        # The message was delivered all the same: remove it as a later check would.
        self.cleanup_with("imaps")

    def test_imap_server_down(self):
        body = self.probe("down")
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="receive", reason="imap_connect"),
                         1, body)
        self.cleanup_with("imaps")

    def cleanup_with(self, module):
        """Wait until the message of an earlier probe is older than the receive timeout, then
        probe: that check removes it (counted late)."""
        time.sleep(RECEIVE_TIMEOUT + 1.5)
        body = self.probe(module)
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_smtp_delivery_success", body), 1, body)
        return samples, body

    def test_late_delivery_is_counted_and_cleaned(self):
        body = self.probe("held")
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_smtp_failure_info", body, stage="receive", reason="not_delivered"),
                         1, body)
        token = select(samples, "probe_smtp_message_info")[0][0]["token"]
        # Release the held message: it arrives after its 2 s timeout.
        etc = self.postfix.config_dir
        subprocess.run(["postsuper", "-c", etc, "-H", "ALL"], check=True, capture_output=True)
        subprocess.run(["postqueue", "-c", etc, "-f"], check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while not self.leftover_messages():
            self.assertLess(time.monotonic(), deadline, "the released message did not arrive")
            time.sleep(0.1)
        with open(self.leftover_messages()[0], errors="replace") as f:
            self.assertIn(token, f.read())
        time.sleep(2.5)  # older than the 2 s timeout by its sent= time
        body = self.probe("short")
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_smtp_delivery_success", body), 1, body)
        self.assertEqual(self.value(samples, "probe_smtp_delivery_late_messages", body), 1, body)
        # /probe checks feed no /metrics series: those are per agent target (see the agent test).
        status, _, metrics = self.exporter.get("/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(select(parse_metrics(metrics), "smtp_exporter_delivery_late_total"), [], metrics)

    def release_later(self, seconds):
        """Release Postfix's held mail `seconds` from now, from a thread."""
        def release():
            time.sleep(seconds)
            etc = self.postfix.config_dir
            subprocess.run(["postsuper", "-c", etc, "-H", "ALL"], check=True, capture_output=True)
            subprocess.run(["postqueue", "-c", etc, "-f"], check=True, capture_output=True)
        thread = threading.Thread(target=release)
        thread.start()
        return thread

    def test_arrival_while_waiting_in_idle(self):
        # The message is held, then released while the check waits in IDLE: EXISTS wakes it.
        # Released 4 s after the 250: the login and first searches take about 0.2 s (up to
        # 1.6 s seen on a loaded machine), so the check is waiting by then.
        thread = self.release_later(4)
        debug = self.probe("waiting", debug=True)
        thread.join()
        # The check waited in IDLE. (When the message lands while Junk is selected between two
        # IDLEs, no EXISTS is announced and the next search finds it: one poll_interval later.)
        self.assertRegex(debug, r"> IMAP: a[0-9]+ IDLE")
        self.assertIn("Delivered to inbox", debug)
        rtt = float(re.search(r"probe_smtp_delivery_roundtrip_seconds ([0-9.e+-]+)", debug).group(1))
        self.assertTrue(4 <= rtt < RECEIVE_TIMEOUT, rtt)

    def test_maildir_arrival_while_waiting(self):
        # The same in Maildir mode: the check waits on inotify (or its poll_interval rescan).
        thread = self.release_later(2)
        body = self.probe("maildir_waiting")
        thread.join()
        samples = parse_metrics(body)
        self.assertEqual(self.value(samples, "probe_smtp_delivery_success", body), 1, body)
        rtt = self.value(samples, "probe_smtp_delivery_roundtrip_seconds", body)
        self.assertTrue(2 <= rtt < RECEIVE_TIMEOUT, rtt)

    def test_maildir_mode(self):
        samples, body = self.delivered("maildir")
        self.assertEqual(self.value(samples, "probe_smtp_delivery_auth_result", body, method="dmarc", result="pass"), 1)

    def test_maildir_junk(self):
        self.delivered("maildir_junk", folder="junk")

    def held_messages(self):
        """Queue ids of the messages Postfix holds."""
        out = subprocess.run(["postqueue", "-c", self.postfix.config_dir, "-j"], check=True, capture_output=True,
                             text=True).stdout
        return [m["queue_id"] for m in map(json.loads, out.splitlines()) if m.get("queue_name") == "hold"]

    def test_two_agent_targets_share_one_mailbox(self):
        """Two agent targets with one IMAP account, running at once. "inbox" checks every ~3 s
        (its mail goes to INBOX); "junk" sends one message that Postfix holds until the check is
        waiting, then releases into Junk, where it sits until that check's next search (its
        poll_interval is 12 s: IDLE watches INBOX only). Meanwhile whole runs of "inbox" search
        the mailbox (the first search of a run sees every test message) and must leave the other
        target's young message alone. Each finds its own message by its token, nothing is counted
        late, the per-target /metrics series carry each target's labels, and once the targets are
        removed (a reload lets the runs in flight finish) the mailbox holds no test message."""
        config = "".join([
            self.imap_module("shared_inbox", timeout=20),
            self.imap_module("shared_junk", timeout=25, poll_interval=12,
                             headers={"X-Lab-Junk": "yes", "X-Lab-Hold": "yes"}),
        ])
        targets = "".join(f"""
[[targets]]
name = "{name}"
target = "{self.target}"
module = "{module}"
interval = "{interval}"
labels = {{ mailbox = "sink" }}
""" for name, module, interval in (("inbox", "shared_inbox", "3s"), ("junk", "shared_junk", "40s")))
        agent = Exporter(exporter_binary(), config_text=config + targets, env=self.env)
        agent.start()
        try:
            def metrics():
                status, _, text = agent.get("/metrics")
                self.assertEqual(status, 200)
                return parse_metrics(text), text

            def count(samples, target):
                found = select(samples, "smtp_exporter_delivery_roundtrip_seconds_count", target_name=target)
                return found[0][1] if found else 0

            # The "junk" target has sent (Postfix holds its message): release it once its check waits.
            deadline = time.monotonic() + 15
            while not self.held_messages():
                self.assertLess(time.monotonic(), deadline, "the junk target's message was never held")
                time.sleep(0.1)
            time.sleep(1.5)  # its first search is done; it waits in IDLE on INBOX
            etc = self.postfix.config_dir
            subprocess.run(["postsuper", "-c", etc, "-H", "ALL"], check=True, capture_output=True)
            subprocess.run(["postqueue", "-c", etc, "-f"], check=True, capture_output=True)

            def in_junk():
                return [p for p in self.leftover_messages() if "/.Junk/" in p]
            deadline = time.monotonic() + 10
            while not in_junk():
                self.assertLess(time.monotonic(), deadline, "the released message did not reach Junk")
                time.sleep(0.05)
            first = count(metrics()[0], "inbox")
            last = first
            deadline = time.monotonic() + 20
            while in_junk():
                self.assertLess(time.monotonic(), deadline, "the junk target never found its message")
                samples, _ = metrics()
                if in_junk():  # still there after these runs of "inbox" ended
                    last = count(samples, "inbox")
                time.sleep(0.2)
            # A whole run of "inbox" (begun after the message arrived, ended while it was still
            # there) searched the mailbox and left it alone: two runs ended in that window.
            self.assertGreaterEqual(last, first + 2, "no run of the inbox target overlapped the junk message")

            # The junk target found its own message in Junk: its check fails with
            # delivered_to_junk (degraded), delivery success 1, one round trip.
            deadline = time.monotonic() + 10
            while True:
                samples, text = metrics()
                if select(samples, "probe_smtp_delivery_success", target_name="junk"):
                    break
                self.assertLess(time.monotonic(), deadline, text)
                time.sleep(0.2)
            one = lambda name, **labels: self.value(samples, name, text, **labels)  # noqa: E731
            self.assertEqual(one("probe_smtp_delivery_success", target_name="junk", mailbox="sink"), 1)
            self.assertEqual(one("probe_smtp_delivery_folder", target_name="junk", folder="junk"), 1)
            self.assertEqual(one("probe_smtp_failure_info", target_name="junk", stage="receive",
                                 reason="delivered_to_junk"), 1)
            self.assertEqual(one("probe_smtp_health", target_name="junk", status="degraded"), 1)
            self.assertEqual(one("smtp_exporter_delivery_roundtrip_seconds_count", target_name="junk",
                                 mailbox="sink"), 1)
            self.assertEqual(one("probe_success", target_name="inbox"), 1)
            self.assertEqual(one("probe_smtp_delivery_folder", target_name="inbox", folder="inbox"), 1)
            self.assertGreaterEqual(one("smtp_exporter_delivery_roundtrip_seconds_count", target_name="inbox",
                                        mailbox="sink"), 3)
            # Nobody's message was taken for a leftover.
            for target in ("inbox", "junk"):
                self.assertEqual(one("smtp_exporter_delivery_late_total", target_name=target, mailbox="sink"), 0)
                self.assertEqual(one("probe_smtp_delivery_late_messages", target_name=target), 0)
            self.assertEqual([l for l, _ in select(samples, "smtp_exporter_delivery_late_total")
                              if "target_name" not in l], [])

            # No more runs: a reload without targets lets the runs in flight finish their cleanup.
            with open(agent.config_file, "w") as f:
                f.write(config)
            agent.process.send_signal(signal.SIGHUP)
            time.sleep(3.5)  # a run of "inbox" in flight ends within its 3 s deadline
            deadline = time.monotonic() + 5
            while self.leftover_messages():
                self.assertLess(time.monotonic(), deadline, "a run in flight left its message")
                time.sleep(0.1)
        finally:
            agent.stop()

    def test_password_never_shown(self):
        password = self.dovecot.password
        status, _, config = self.exporter.get("/config")
        self.assertEqual(status, 200)
        self.assertIn("password_env = 'E2E_IMAP_PASSWORD'", config)
        self.assertNotIn(password, config)
        debug = self.probe("imaps", debug=True)
        self.assertIn("LOGIN sink@example.test <password>", debug)
        self.assertNotIn(password, debug)
        with open(self.exporter.log_file, errors="replace") as f:
            self.assertNotIn(password, f.read())
        # The check command, verbose, with the same configuration.
        out = subprocess.run([exporter_binary(), "check", self.target, f"--config.file={self.exporter.config_file}",
                              "--module", "imaps", "--output", "json"],
                             capture_output=True, text=True, timeout=60, env={**os.environ, **self.env})
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertNotIn(password, out.stdout + out.stderr)


if __name__ == "__main__":
    main()
