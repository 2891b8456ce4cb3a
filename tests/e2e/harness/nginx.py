"""A real nginx (nginx-light) in the foreground on a free loopback port, serving HTTPS with one
SNI virtual host per name (the MTA-STS policy hosts), as ../shared/notes/mta-sts-test-lab.md
describes. A default server refuses handshakes without a known SNI name, which proves that the
client sends SNI. Stopped by its master's PID."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from .net import free_port, wait_port, stop_process


class Nginx:
    """`servers`: a list of nginx `server { ... }` bodies without the listen line (it is added:
    `listen 127.0.0.1:PORT ssl;`); `{dir}` in them is the run directory. Attributes: port, dir."""

    def __init__(self, servers, directory=None):
        self.servers = servers
        self.dir = directory or tempfile.mkdtemp(prefix="smtp-exporter-nginx-")
        self.process = None
        self.port = None

    def start(self):
        for sub in ("tmp", "logs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self._config())
            check = subprocess.run(["nginx", "-t", "-q", "-c", conf, "-p", self.dir, "-g", "daemon off;"],
                                   capture_output=True, text=True)
            if check.returncode != 0:
                raise RuntimeError("nginx -t: " + check.stderr)
            with open(os.path.join(self.dir, "stderr"), "wb") as err:
                self.process = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir, "-g", "daemon off;"],
                                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            try:
                wait_port("127.0.0.1", self.port, 5)
            except TimeoutError:
                if self.process.poll() is None:
                    raise
            time.sleep(0.1)
            if self.process.poll() is None:
                return
            self.process = None  # lost the race for the port (bind failed): another one
        raise RuntimeError("nginx did not start: " + self.log_tail())

    def _config(self):
        d = self.dir
        user = "user root;\n" if os.geteuid() == 0 else ""
        servers = "".join(f"  server {{\n    listen 127.0.0.1:{self.port} ssl;\n    {body.replace('{dir}', d)}\n  }}\n"
                          for body in self.servers)
        return f"""{user}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
  log_format lab '$remote_addr sni=$ssl_server_name host=$host "$request" $status $sent_http_content_type';
  access_log {d}/logs/access.log lab;
  client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy; fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;
  types {{ text/plain txt; }}
  default_type application/octet-stream;
  charset off;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {{
    listen 127.0.0.1:{self.port} ssl default_server;
    ssl_reject_handshake on;
  }}
{servers}}}
"""

    def access_log(self):
        try:
            with open(os.path.join(self.dir, "logs", "access.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self):
        out = ""
        for name in ("stderr", "logs/error.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out += f.read()[-2000:]
            except FileNotFoundError:
                pass
        return out

    def stop(self):
        self.process = stop_process(self.process, timeout=5)  # by its PID
        shutil.rmtree(self.dir, ignore_errors=True)
