#!/usr/bin/env python3
"""Runs the exporter under strace through a realistic session (config load, /metrics, /probe
against a small SMTP server, an agent-mode target, /config, reload by SIGHUP and POST /-/reload,
SIGTERM) and checks that what it did is allowed by the sandbox of the systemd unit:

- every system call is in the unit's SystemCallFilter= (@system-service minus @privileged
  @resources, expanded with `systemd-analyze syscall-filter`);
- every socket is of a family in RestrictAddressFamilies=;
- no writable+executable or PROT_EXEC mprotect mapping (MemoryDenyWriteExecute=yes).

Under systemd a forbidden call fails with EPERM/EAFNOSUPPORT at run time; this finds it first.

  check_sandbox.py --exporter BUILD/smtp_exporter [--unit packaging/systemd/smtp_exporter.service]
"""
import argparse
import os
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_unit import service_settings  # noqa: E402
from common import fail, free_port, http_get, repo_root, skip, stop, wait_healthy  # noqa: E402


def syscall_groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True,
                         check=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        if not line[0].isspace():
            current = line.strip()
            groups[current] = []
        elif current:
            groups[current].append(line.strip())
    return groups


def expand(entries, groups, seen=None):
    seen = set() if seen is None else seen
    names = set()
    for entry in entries:
        if entry.startswith("@"):
            if entry in seen:
                continue
            seen.add(entry)
            if entry not in groups:
                fail(f"unknown system call group {entry}")
            names |= expand(groups[entry], groups, seen)
        else:
            names.add(entry)
    return names


def allowed_syscalls(filters, groups):
    """SystemCallFilter= semantics: the first line decides allow- or deny-list; later lines add to
    the allow-list or (with ~) remove from it."""
    allowed = None
    for value in filters:
        deny = value.startswith("~")
        names = expand(value.lstrip("~").split(), groups)
        if allowed is None:
            if deny:
                fail("the unit's SystemCallFilter= should start with an allow-list")
            allowed = set()
        allowed = allowed - names if deny else allowed | names
    return allowed or set()


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for a successful smtp_banner probe."""

    def handle(self):
        self.wfile.write(b"220 sandbox.test ESMTP\r\n")
        for line in self.rfile:
            verb = line.split(b" ")[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-sandbox.test\r\n250 8BITMIME\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 no\r\n")


def traced_child(strace_pid):
    with open(f"/proc/{strace_pid}/task/{strace_pid}/children") as f:
        children = f.read().split()
    if len(children) != 1:
        fail(f"expected one child of strace, found {children}")
    return int(children[0])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--unit", default=os.path.join(repo_root(), "packaging/systemd/smtp_exporter.service"))
    parser.add_argument("--config", default=os.path.join(repo_root(), "packaging/config.toml"))
    args = parser.parse_args()
    for tool in ("strace", "systemd-analyze"):
        if not shutil.which(tool):
            fail(f"{tool} is not installed (install it: scripts/install-deps.sh --test)")
    if subprocess.run(["strace", "-f", "-o", os.devnull, "true"], capture_output=True).returncode != 0:
        skip("strace cannot trace here (ptrace not permitted)")

    settings = service_settings(open(args.unit).read())
    allowed = allowed_syscalls(settings.get("SystemCallFilter", []), syscall_groups())
    families = set(" ".join(settings.get("RestrictAddressFamilies", [])).split())
    mdwe = "yes" in settings.get("MemoryDenyWriteExecute", [])
    if not allowed or not families:
        fail(f"{args.unit}: no SystemCallFilter= or RestrictAddressFamilies=")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    smtp_port = server.server_address[1]

    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write(open(args.config).read())
            f.write(f'\n[[targets]]\nname = "sandbox"\ntarget = "127.0.0.1:{smtp_port}"\ninterval = "1s"\n')
        trace = os.path.join(tmp, "trace")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, "--", os.path.abspath(args.exporter),
                                    f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"])
        try:
            wait_healthy(base, process, seconds=20)
            exporter_pid = traced_child(process.pid)
            status, body = http_get(f"{base}/probe?target=127.0.0.1:{smtp_port}")
            if status != 200 or "probe_success 1" not in body:
                fail(f"probe of the test SMTP server: HTTP {status}\n{body}")
            status, body = http_get(f"{base}/probe?target=localhost:{smtp_port}&module=smtp_starttls")
            if status != 200 or "probe_success 0" not in body:  # no STARTTLS offered: not_offered
                fail(f"STARTTLS probe of the test SMTP server: HTTP {status}\n{body}")
            http_get(f"{base}/probe?target=127.0.0.1:{free_port()}")  # refused
            deadline = time.monotonic() + 10
            while 'target_name="sandbox"' not in http_get(f"{base}/metrics")[1]:
                if time.monotonic() > deadline:
                    fail("the agent-mode target never showed up on /metrics")
                time.sleep(0.2)
            for path in ("/", "/config", "/healthz", "/logs?id=1"):
                http_get(base + path)
            os.kill(exporter_pid, signal.SIGHUP)
            deadline = time.monotonic() + 5
            while "smtp_exporter_config_last_reload_successful 1" not in http_get(f"{base}/metrics")[1]:
                if time.monotonic() > deadline:
                    fail("SIGHUP did not reload the configuration")
                time.sleep(0.1)
            status, body = http_get(f"{base}/-/reload", method="POST")
            if status != 200:
                fail(f"POST /-/reload: HTTP {status} {body}")
            if "smtp_exporter_config_last_reload_successful 1" not in http_get(f"{base}/metrics")[1]:
                fail("reload was not successful")
            os.kill(exporter_pid, signal.SIGTERM)  # strace exits with the exporter's status
            process.wait(10)
        finally:
            code = stop(process)
            server.shutdown()
        if code != 0:
            fail(f"the exporter (under strace) exited with {code}")

        used, bad_families, wx = set(), set(), []
        call = re.compile(r"^\d+\s+([a-z0-9_]+)\((.*)")
        for line in open(trace):
            m = call.match(line)
            if not m:
                continue  # "<... resumed>", signals, exits
            name, rest = m.groups()
            used.add(name)
            if name in ("socket", "socketpair"):
                family = rest.split(",")[0].strip()
                if family not in families:
                    bad_families.add(f"{name}({family})")
            if mdwe and ((name == "mmap" and "PROT_WRITE" in rest and "PROT_EXEC" in rest)
                         or (name in ("mprotect", "pkey_mprotect") and "PROT_EXEC" in rest)):
                wx.append(line.strip())

    print(f"{len(used)} distinct system calls: {' '.join(sorted(used))}")
    denied = sorted(used - allowed)
    if denied:
        fail(f"system calls outside the unit's SystemCallFilter=: {', '.join(denied)}")
    if bad_families:
        fail(f"sockets outside RestrictAddressFamilies= ({' '.join(sorted(families))}): {sorted(bad_families)}")
    if wx:
        fail("mappings that MemoryDenyWriteExecute=yes refuses:\n" + "\n".join(wx[:10]))
    print("every system call, socket family and mapping is allowed by the unit's sandbox")


if __name__ == "__main__":
    main()
