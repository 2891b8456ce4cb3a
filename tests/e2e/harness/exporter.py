"""Runs the smtp_exporter binary under test on a free loopback port, and parses its output."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from .net import free_port

# No proxy, ever: urllib would otherwise honour http_proxy from the environment and the
# requests would leave the machine instead of reaching 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ExporterError(AssertionError):
    """The exporter did not start, or did not shut down cleanly. Includes its log tail."""


class Exporter:
    """Context manager: `binary --web.listen-address=127.0.0.1:PORT [--config.file=F]
    --log.level=debug *extra_args`, ready once GET ready_path (/-/healthy; with
    --web.route-prefix=/P pass "/P/-/healthy") answers 200.

    Attributes: binary, port, url ("http://127.0.0.1:PORT"), config_file (None without
    config_text), log_file (stdout+stderr of the process), process (subprocess.Popen).
    """

    def __init__(self, binary, config_text=None, extra_args=(), start_timeout=10.0, env=None,
                 ready_path="/-/healthy"):
        self.binary = binary
        self.ready_path = ready_path
        self.env = env  # extra environment variables for the process (e.g. a password_env)
        self.config_text = config_text
        self.extra_args = tuple(extra_args)
        self.start_timeout = start_timeout
        self.process = None
        self.dir = self.port = self.url = self.config_file = self.log_file = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            self.stop()
            return
        # A test already failed: report an unclean shutdown too, but do not hide the failure.
        try:
            self.stop()
        except ExporterError as e:
            exc.add_note(f"additionally: {e}")

    def start(self):
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise ExporterError(f"exporter binary {self.binary!r} does not exist or is not executable")
        self.dir = tempfile.mkdtemp(prefix="smtp-exporter-e2e-")
        self.log_file = os.path.join(self.dir, "exporter.log")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [self.binary, f"--web.listen-address=127.0.0.1:{self.port}"]
        if self.config_text is not None:
            self.config_file = os.path.join(self.dir, "smtp_exporter.toml")
            with open(self.config_file, "w") as f:
                f.write(self.config_text)
            argv.append(f"--config.file={self.config_file}")
        argv += ["--log.level=debug", *self.extra_args]
        # Output goes to a file, not a pipe: nobody reads a pipe during the test and a full
        # pipe would block the exporter's logging.
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT,
                                            env={**os.environ, **self.env} if self.env else None)
        try:
            self._wait_healthy(argv)
        except BaseException:
            self._kill()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _wait_healthy(self, argv):
        deadline = time.monotonic() + self.start_timeout
        last = None
        while True:
            if self.process.poll() is not None:
                raise ExporterError(f"{' '.join(argv)} exited with {self.process.returncode} "
                                    f"during start-up\n{self.log_tail()}")
            try:
                status, _, body = self.get(self.ready_path, timeout=1)
                if status == 200:
                    return
                last = f"HTTP {status}: {body[:200]!r}"
            except OSError as e:           # refused (not listening yet), reset, timeout
                last = repr(e)
            if time.monotonic() >= deadline:
                raise ExporterError(f"GET {self.ready_path} did not answer 200 within {self.start_timeout} s "
                                    f"(last: {last})\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self):
        """SIGTERM, then require exit code 0 within 2 s; otherwise SIGKILL and raise."""
        if self.process is None:
            return
        try:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._kill()
                raise ExporterError(f"exporter did not exit within 2 s of SIGTERM (killed)\n{self.log_tail()}")
            if code != 0:
                raise ExporterError(f"exporter exited with code {code} after SIGTERM\n{self.log_tail()}")
        finally:
            self.process = None
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def log_tail(self, lines=40):
        try:
            with open(self.log_file, errors="replace") as f:
                return f"--- exporter log (tail) ---\n{''.join(f.readlines()[-lines:])}"
        except OSError as e:
            return f"(no exporter log: {e})"

    def get(self, path, headers=None, timeout=30):
        """GET url+path: http_get(self.url + path)."""
        return http_get(self.url + path, headers, timeout)


def http_get(url, headers=None, timeout=30):
    """GET url, never through a proxy. Returns (status, headers, body as str); 4xx/5xx are
    returned, not raised. headers is an http.client.HTTPMessage (case-insensitive .get())."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read().decode("utf-8", errors="replace")


# ---- Prometheus text exposition format 0.0.4 --------------------------------------------

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_metrics(text):
    """Parse exposition text into a list of (name, labels_dict, float_value).

    Comments (# HELP/# TYPE) and blank lines are skipped, an optional timestamp is ignored,
    label values are unescaped (\\\\, \\", \\n). Raises ValueError on a malformed line, so a
    broken exposition fails the test instead of being half-read."""
    samples = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            samples.append(_parse_sample(line))
        except IndexError:                 # ran off the end inside a name/label list
            raise ValueError(f"line {lineno}: {line!r}: truncated sample") from None
        except ValueError as e:
            raise ValueError(f"line {lineno}: {line!r}: {e}") from None
    return samples


def _parse_sample(line):
    m = _NAME.match(line)
    if not m:
        raise ValueError("bad metric name")
    name, i = m.group(), m.end()
    labels = {}
    if line[i] == "{":
        i += 1
        while True:
            while line[i] in " \t":
                i += 1
            if line[i] == "}":
                i += 1
                break
            m = _LABEL_NAME.match(line, i)
            if not m:
                raise ValueError("bad label name")
            label, i = m.group(), m.end()
            if line[i] != "=" or line[i + 1] != '"':
                raise ValueError(f"expected =\" after label {label}")
            i += 2
            value = []
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                    if line[i] not in _ESCAPES:
                        raise ValueError(f"bad escape \\{line[i]}")
                    value.append(_ESCAPES[line[i]])
                else:
                    value.append(line[i])
                i += 1
            if label in labels:
                raise ValueError(f"duplicate label {label}")
            labels[label] = "".join(value)
            i += 1
            while line[i] in " \t":
                i += 1
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                raise ValueError("expected , or } after a label")
    rest = line[i:].split()
    if not rest or len(rest) > 2 or (i < len(line) and line[i] not in " \t"):
        raise ValueError("expected a value (and optional timestamp) after the name/labels")
    return name, labels, float(rest[0])     # float() accepts +Inf, -Inf, NaN
