#!/usr/bin/env python3
"""The systemd unit: systemd-analyze verify is clean, the offline exposure score is at most
--max-exposure, and the hardening the exporter is designed for is present (and nothing that
would break it: ProcSubset=pid hides /proc/stat, IPAddressDeny= blocks SMTP servers).

  check_unit.py --exporter BUILD/smtp_exporter [--unit packaging/systemd/smtp_exporter.service]

verify checks that ExecStart's executable exists, so it runs on a copy whose ExecStart points
at --exporter. With --installed, the unit is checked as it is (the package test).

The socket unit (packaging/systemd/smtp_exporter.socket) is verified beside the service, and
the service again with the drop-in that runs it on that socket (socket-activation.conf): its
ExecStart adds --web.systemd-socket, a flag the binary accepts, and the socket listens on the
port of /etc/default/smtp_exporter's --web.listen-address.

The commented LoadCredential= examples of the header (SMTP password, web TLS key) are verified
too, uncommented into a copy, and each names the path the service reads it from
(/run/credentials/smtp_exporter.service/NAME) as docs/deployment.md does.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import accepted_flags, check_flags, default_args, fail, repo_root  # noqa: E402

REQUIRED = {
    "DynamicUser": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallArchitectures": "native",
    "MemoryDenyWriteExecute": "yes",
    "LockPersonality": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "UMask": "0077",
    "EnvironmentFile": "-/etc/default/smtp_exporter",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "Restart": "on-failure",
}
FORBIDDEN = {
    "ProcSubset": "process_start_time_seconds reads /proc/stat",
    "IPAddressDeny": "probes must reach arbitrary SMTP and DNS servers",
    "IPAddressAllow": "probes must reach arbitrary SMTP and DNS servers",
    "PrivateNetwork": "probes must reach arbitrary SMTP and DNS servers",
    "User": "DynamicUser=yes allocates the user",
}


def service_settings(text):
    settings, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


CREDENTIALS = "/run/credentials/smtp_exporter.service"


def credential_examples(text, docs):
    """The LoadCredential= lines of the unit's comments; each is in docs, and the comments name the
    path under CREDENTIALS that the service reads it from."""
    examples = re.findall(r"^#\s+(LoadCredential=([\w.-]+):\S+)$", text, re.M)
    if not any(name == "web.key" for _, name in examples):
        fail(f"the unit's comments have no LoadCredential=web.key:... example (found {examples})")
    for line, name in examples:
        if f"{CREDENTIALS}/{name}" not in text:
            fail(f"the unit's comments show {line} but not the path {CREDENTIALS}/{name}")
        if line not in docs:
            fail(f"docs/deployment.md does not show the unit's example {line}")
    return [line for line, _ in examples]


def verify(*units):
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "smtp_exporter" in line]
    if result.returncode != 0 or ours:
        fail(f"systemd-analyze verify {' '.join(units)} (exit {result.returncode}):\n{result.stdout}{result.stderr}")


def socket_activation(service_text, socket_unit, drop_in, exporter, flags, default_file, tmp):
    """Verifies the socket unit next to the service, with the drop-in applied (as
    /etc/systemd/system/smtp_exporter.service.d/ would add it)."""
    socket_text = open(socket_unit).read()
    listen = re.findall(r"^ListenStream=(\S+)$", socket_text, re.M)
    addresses = [a.split("=", 1)[1] for a in default_args(default_file) if a.startswith("--web.listen-address=")]
    ports = {a.rsplit(":", 1)[1] for a in addresses}
    if len(listen) != 1 or listen[0].rsplit(":", 1)[-1] not in ports:
        fail(f"{socket_unit}: ListenStream={listen} is not the port of {default_file} ({addresses})")
    drop_in_text = open(drop_in).read()
    exec_start = re.findall(r"^ExecStart=(.*)$", drop_in_text, re.M)
    if exec_start[:1] != [""] or len(exec_start) != 2 or "--web.systemd-socket" not in exec_start[1].split():
        fail(f"{drop_in}: expected ExecStart= then ExecStart=... --web.systemd-socket, got {exec_start}")
    check_flags([a for a in exec_start[1].split()[1:] if a.startswith("--")], flags, drop_in)
    if not re.search(r"^Requires=smtp_exporter\.socket$", drop_in_text, re.M):
        fail(f"{drop_in}: Requires=smtp_exporter.socket is missing")
    directory = os.path.join(tmp, "socket")
    os.makedirs(os.path.join(directory, "smtp_exporter.service.d"))
    binary = f"ExecStart={os.path.abspath(exporter)}"
    for name, text in (("smtp_exporter.service", service_text), ("smtp_exporter.socket", socket_text),
                       ("smtp_exporter.service.d/socket-activation.conf", drop_in_text)):
        with open(os.path.join(directory, name), "w") as f:
            f.write(re.sub(r"^ExecStart=/usr/bin/smtp_exporter", binary, text, flags=re.M))
    verify(os.path.join(directory, "smtp_exporter.socket"), os.path.join(directory, "smtp_exporter.service"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--unit", default=os.path.join(repo_root(), "packaging/systemd/smtp_exporter.service"))
    parser.add_argument("--socket", default=os.path.join(repo_root(), "packaging/systemd/smtp_exporter.socket"))
    parser.add_argument("--drop-in", default=os.path.join(repo_root(), "packaging/systemd/socket-activation.conf"))
    parser.add_argument("--default-file", default=os.path.join(repo_root(), "packaging/default/smtp_exporter"))
    parser.add_argument("--max-exposure", type=float, default=2.0)
    parser.add_argument("--installed", action="store_true", help="check the unit in place")
    args = parser.parse_args()
    if not shutil.which("systemd-analyze"):
        fail("systemd-analyze is not installed (package systemd)")

    text = open(args.unit).read()
    settings = service_settings(text)
    for key, want in REQUIRED.items():
        if want not in settings.get(key, []):
            fail(f"{args.unit}: [Service] {key}={want} is missing (has: {settings.get(key)})")
    for key, why in FORBIDDEN.items():
        if key in settings:
            fail(f"{args.unit}: {key}= must not be set: {why}")
    filters = settings.get("SystemCallFilter", [])
    if "@system-service" not in filters or not any(f.startswith("~") and "@privileged" in f and "@resources" in f
                                                   for f in filters):
        fail(f"{args.unit}: SystemCallFilter=@system-service and ~@privileged @resources expected, got {filters}")
    exec_start = settings.get("ExecStart", [""])[0].split()
    if exec_start != ["/usr/bin/smtp_exporter", "$ARGS"]:
        fail(f"{args.unit}: ExecStart=/usr/bin/smtp_exporter $ARGS expected, got {exec_start}")
    flags = accepted_flags(args.exporter)
    check_flags(default_args(args.default_file), flags, args.default_file)

    with tempfile.TemporaryDirectory() as tmp:
        unit = args.unit
        if not args.installed:
            unit = os.path.join(tmp, "smtp_exporter.service")
            with open(unit, "w") as f:
                f.write(re.sub(r"^ExecStart=/usr/bin/smtp_exporter", f"ExecStart={os.path.abspath(args.exporter)}",
                               text, flags=re.M))
        verify(unit)
        print(f"systemd-analyze verify: clean")
        socket_activation(open(unit).read(), args.socket, args.drop_in, args.exporter, flags, args.default_file, tmp)
        print(f"systemd-analyze verify {os.path.basename(args.socket)} and the service with "
              f"{os.path.basename(args.drop_in)}: clean")
        if not args.installed:
            docs = open(os.path.join(repo_root(), "docs/deployment.md")).read()
            examples = credential_examples(text, docs)
            with_credentials = os.path.join(tmp, "credentials", "smtp_exporter.service")
            os.makedirs(os.path.dirname(with_credentials))
            with open(unit) as src, open(with_credentials, "w") as f:
                f.write(re.sub(r"^\[Service\]\n", lambda m: m.group(0) + "".join(e + "\n" for e in examples),
                               src.read(), count=1, flags=re.M))
            verify(with_credentials)
            print(f"systemd-analyze verify with the commented examples: clean ({', '.join(examples)})")

        security = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                                  capture_output=True, text=True)
        match = re.search(r"Overall exposure level for smtp_exporter\.service: (\d+(?:\.\d+)?)", security.stdout)
        if not match:
            fail(f"no exposure level in systemd-analyze security output:\n{security.stdout}{security.stderr}")
        exposure = float(match.group(1))
        print(f"systemd-analyze security --offline=true: exposure {exposure} (limit {args.max_exposure})")
        if exposure > args.max_exposure:
            fail(f"exposure {exposure} > {args.max_exposure}:\n{security.stdout}")


if __name__ == "__main__":
    main()
