#!/usr/bin/env python3
"""The installed defaults: packaging/config.toml passes --config.check and defines the built-in
modules, and /etc/default/smtp_exporter's ARGS are flags the binary accepts (including the
commented examples), with which the exporter starts and serves /metrics.

  check_config.py --exporter BUILD/smtp_exporter
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (accepted_flags, check_flags, default_args, fail, free_port, http_get,  # noqa: E402
                    repo_root, stop, wait_healthy)

BUILT_IN = ("smtp_banner", "smtp_starttls", "submission", "smtps")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--config", default=os.path.join(repo_root(), "packaging/config.toml"))
    parser.add_argument("--default-file", default=os.path.join(repo_root(), "packaging/default/smtp_exporter"))
    args = parser.parse_args()
    exporter = os.path.abspath(args.exporter)
    flags = accepted_flags(exporter)

    check = subprocess.run([exporter, "--config.check", f"--config.file={args.config}"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        fail(f"--config.check {args.config}: exit {check.returncode}\n{check.stdout}{check.stderr}")
    print(check.stdout.strip())
    text = open(args.config).read()
    for module in BUILT_IN:
        if f"[modules.{module}]" not in text:
            fail(f"{args.config}: the built-in module {module} is not written out")

    # ARGS, and every commented example ARGS="..." line.
    default_text = open(args.default_file).read()
    argv = default_args(args.default_file)
    check_flags(argv, flags, args.default_file)
    if "--config.file=/etc/smtp_exporter/config.toml" not in argv:
        fail(f"{args.default_file}: ARGS must use --config.file=/etc/smtp_exporter/config.toml, got {argv}")
    examples = re.findall(r'^#\s*ARGS="([^"]*)"', default_text, re.M)
    if not examples:
        fail(f"{args.default_file}: no commented ARGS examples")
    for example in examples:
        check_flags(shlex.split(example), flags, f"{args.default_file} example {example!r}")
    for flag in re.findall(r"^#\s+(--[a-z][a-z0-9.-]*)=", default_text, re.M):
        check_flags([flag], flags, f"{args.default_file} flag list")

    # Start the exporter with ARGS, the config path pointing at the repository file and a free port.
    port = free_port()
    run = [a.replace("/etc/smtp_exporter/config.toml", args.config) for a in argv
           if not a.startswith("--web.listen-address=")] + [f"--web.listen-address=127.0.0.1:{port}"]
    process = subprocess.Popen([exporter] + run)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        status, body = http_get(f"http://127.0.0.1:{port}/metrics")
        if status != 200 or "smtp_exporter_build_info" not in body:
            fail(f"/metrics: HTTP {status}")
        status, body = http_get(f"http://127.0.0.1:{port}/config")
        for module in BUILT_IN:
            if f"[modules.{module}]" not in body:
                fail(f"/config does not show module {module}:\n{body}")
    finally:
        code = stop(process)
    if code != 0:
        fail(f"the exporter exited with {code} on SIGTERM")
    print(f"ARGS {argv} accepted; the exporter served /metrics with {args.config}")


if __name__ == "__main__":
    main()
