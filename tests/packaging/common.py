"""Helpers shared by the packaging checks (tests/packaging/check_*.py)."""
import contextlib
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

SKIP = 77  # ctest SKIP_RETURN_CODE


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def skip(message):
    print(f"SKIP: {message}")
    sys.exit(SKIP)


def accepted_flags(exporter, *command):
    """The --flag names that `smtp_exporter [COMMAND] --help` lists."""
    out = subprocess.run([exporter, *command, "--help"], capture_output=True, text=True, check=True).stdout
    flags = set(re.findall(r"^\s+(--[a-z][a-z0-9.-]*)", out, re.M))
    expected = {"--help", "--config.file"} | (set() if command else {"--web.listen-address"})
    if not expected <= flags:
        fail(f"could not read the flags from {exporter} {' '.join(command)} --help:\n{out}")
    return flags


def check_flags(args, flags, where):
    """Every element of args is --name or --name=value with a flag the binary accepts."""
    if not args:
        fail(f"{where}: no flags")
    for arg in args:
        name = arg.split("=", 1)[0]
        if name not in flags:
            fail(f"{where}: {arg!r} is not a flag of smtp_exporter (it has: {', '.join(sorted(flags))})")


def default_args(path):
    """ARGS from an /etc/default file, split as systemd splits $ARGS (whitespace)."""
    out = subprocess.run(["bash", "-c", 'set -a; . "$1"; printf "%s\\n" "$ARGS"', "_", path],
                         capture_output=True, text=True, check=True).stdout
    return shlex.split(out)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5, method="GET"):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_healthy(base, process, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the exporter exited with {process.returncode} before serving {base}/-/healthy")
        with contextlib.suppress(OSError):
            status, body = http_get(base + "/-/healthy", timeout=1)
            if status == 200:
                return
        time.sleep(0.05)
    fail(f"{base}/-/healthy did not answer 200 within {seconds}s")


def stop(process, timeout=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
