"""Loopback networking helpers shared by the harness classes."""

import signal
import socket
import subprocess
import time


def free_port(host="127.0.0.1"):
    """Return a TCP port nobody listens on right now.

    The kernel picks it (bind to port 0); we close the socket at once, so there is a
    small race with other processes, acceptable for tests. Also used to get a port
    that is guaranteed closed (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout):
    """Wait until host:port accepts a TCP connection; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError as e:
            last_error = e
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not accept a connection within {timeout} s: {last_error}")


def stop_process(process, timeout=5):
    """Stop a test server by its PID: SIGTERM, SIGKILL after `timeout` s. Returns None (for
    `self.process = stop_process(self.process)`); a None process is left alone."""
    if process is not None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return None


class Started:
    """A test server as a context manager: start() on entering, stop() (by its PID) on leaving."""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
