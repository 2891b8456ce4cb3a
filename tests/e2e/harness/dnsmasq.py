"""A real dnsmasq on a free loopback UDP port, authoritative for the zone `test.`, and a
black-hole resolver address that never answers (for DNS timeouts)."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from .net import Started, stop_process


def free_udp_port(host="127.0.0.1"):
    """A port free for both UDP and TCP: dnsmasq listens on both, and a port the kernel hands
    out as free for UDP may be taken for TCP by another test server running in parallel."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port


def dns_query(server, port, name, qtype=1, timeout=0.5):
    """Send one query; return the response code (0 NOERROR, 3 NXDOMAIN, ...) or None on timeout."""
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".") if label) + b"\0"
    packet = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, port))
        try:
            reply, _ = s.recvfrom(4096)
        except socket.timeout:
            return None
    return struct.unpack(">H", reply[2:4])[0] & 0x000F


class PortTaken(RuntimeError):
    pass


class Dnsmasq(Started):
    """Context manager. `records` are dnsmasq options without the leading "--", e.g.
    "mx-host=two.test,mx1.two.test,10", "host-record=mx1.two.test,127.0.0.2",
    "dns-rr=null.test,15,000000". Names under test. that have no record answer NXDOMAIN.
    Attributes: port, server ("127.0.0.1:PORT", as the exporter's dns_servers take it)."""

    def __init__(self, records):
        self.records = list(records)
        self.process = None
        self.port = None

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        # The port is free when picked but may be taken before dnsmasq binds it (other tests run in
        # parallel): start again on a new port when that race is lost, a few times.
        for attempt in range(5):
            try:
                return self._start_once()
            except PortTaken:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.process = None
        raise RuntimeError("dnsmasq: no free port after 5 attempts")

    def _start_once(self):
        self.dir = tempfile.mkdtemp(prefix="smtp-exporter-dnsmasq-")
        self.log_file = os.path.join(self.dir, "dnsmasq.log")
        self.port = free_udp_port()
        argv = ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", f"--port={self.port}",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--local=/test/", "--pid-file=", "--log-queries", f"--log-facility={self.log_file}",
                *[f"--{r}" for r in self.records]]
        # stderr goes to a file, not a pipe: dnsmasq writes a line there per query (besides
        # --log-facility), and a pipe nobody reads fills up after ~770 queries and blocks it.
        self.stderr_file = os.path.join(self.dir, "dnsmasq.stderr")
        with open(self.stderr_file, "wb") as err:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=err)
        deadline = time.monotonic() + 10
        while dns_query("127.0.0.1", self.port, "ready.test") is None:
            if self.process.poll() is not None:
                with open(self.stderr_file, errors="replace") as f:
                    error = f.read()
                if "Address already in use" in error:
                    raise PortTaken(error)
                raise RuntimeError(f"dnsmasq exited: {error}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dnsmasq did not answer within 10 s")

    def stop(self):
        self.process = stop_process(self.process, timeout=5)  # by its PID
        shutil.rmtree(self.dir, ignore_errors=True)


class BlackHoleResolver:
    """A UDP socket on 127.0.0.1 that receives DNS queries and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.server = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()
