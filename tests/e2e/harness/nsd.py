"""DNSSEC-signed test zones served by a real nsd on a free loopback port (the recipe of
../shared/notes/dnssec-test-zone.md): each zone signed at start with ldns-signzone (or served
unsigned, or signed with signatures that expired in 2021), and the DS records of the signed ones
in `anchor_file`, the validator's trust anchor. Zone names must not be under test., invalid. or
other RFC 6761 names: unbound answers those itself."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from .dnsmasq import dns_query, free_udp_port
from .net import stop_process


class SignedZones:
    """zones: {name: (records, mode)} with mode "signed", "unsigned" or "expired"; records are
    zone-file lines relative to the zone's origin ("mail IN A 127.0.0.1"). Attributes: port,
    server ("127.0.0.1:PORT"), anchor_file (DS lines of every signed zone, "expired" ones too)."""

    def __init__(self, zones):
        self.zones = zones
        self.process = None
        self.dir = tempfile.mkdtemp(prefix="smtp-exporter-nsd-")
        self.anchor_file = os.path.join(self.dir, "anchors.ds")

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def _run(self, argv):
        return subprocess.run(argv, cwd=self.dir, check=True, capture_output=True, text=True).stdout.strip()

    def _write_zones(self):
        anchors = []
        for name, (records, mode) in self.zones.items():
            path = os.path.join(self.dir, name + ".zone")
            with open(path, "w") as f:
                f.write(f"$ORIGIN {name}.\n$TTL 60\n"
                        f"@ IN SOA ns.{name}. admin.{name}. 1 3600 600 86400 60\n@ IN NS ns.{name}.\n"
                        f"ns IN A 127.0.0.1\n" + "\n".join(records) + "\n")
            if mode == "unsigned":
                shutil.copy(path, path + ".signed")
                continue
            ksk = self._run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", name])
            zsk = self._run(["ldns-keygen", "-a", "ECDSAP256SHA256", name])
            expiry = ["-i", "20200101", "-e", "20210101"] if mode == "expired" else []
            self._run(["ldns-signzone", *expiry, path, ksk, zsk])
            with open(os.path.join(self.dir, ksk + ".ds")) as f:
                anchors.append(f.read().strip())
        with open(self.anchor_file, "w") as f:
            f.write("\n".join(anchors) + "\n")

    def start(self):
        self._write_zones()
        for _ in range(5):
            self.port = free_udp_port()
            conf = os.path.join(self.dir, "nsd.conf")
            with open(conf, "w") as f:
                f.write(f"""server:
  ip-address: 127.0.0.1@{self.port}
  username: ""
  zonesdir: "{self.dir}"
  database: ""
  pidfile: "{self.dir}/nsd.pid"
  xfrdfile: "{self.dir}/xfrd.state"
  zonelistfile: "{self.dir}/zone.list"
  xfrdir: "{self.dir}"
  logfile: "{self.dir}/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
""")
                for name in self.zones:
                    f.write(f"zone:\n  name: {name}\n  zonefile: {name}.zone.signed\n")
            self._run(["nsd-checkconf", conf])
            self.process = subprocess.Popen(["nsd", "-d", "-c", conf], cwd=self.dir, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            zone = next(iter(self.zones))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                if dns_query("127.0.0.1", self.port, zone, qtype=6) == 0:
                    return self
                time.sleep(0.05)
            self._stop_process()  # the port was taken meanwhile, or nsd is slow: try another
        raise RuntimeError("nsd did not answer; see " + os.path.join(self.dir, "nsd.log"))

    def _stop_process(self):
        self.process = stop_process(self.process, timeout=5)  # by its PID

    def stop(self):
        self._stop_process()
        shutil.rmtree(self.dir, ignore_errors=True)
