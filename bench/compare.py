#!/usr/bin/env python3
"""smtp_exporter and blackbox_exporter side by side; checks bench/compare_targets.toml.

    bench/compare.py BUILD_DIR [--json FILE] [--time-scale X] [--only side|scale]

BUILD_DIR holds smtp_exporter and bench/smtp_bench (a Release build with
-DSMTP_EXPORTER_BENCH=ON; bench/compare.sh installs the tools and builds it). Everything runs on
127.0.0.1 on free ports; every process started here is stopped by its PID at the end, also on
errors.

1. Side by side. Each exporter runs in its own fresh process: ours first, then
   prometheus-blackbox-exporter, with equivalent modules (greeting only: 220, QUIT, 221; and
   STARTTLS with EHLO before and after, certificate verified against a CA file). For each one:
   idle memory 0.5 s after it is healthy (VmRSS; Rss, Pss and Anonymous of
   /proc/PID/smaps_rollup), greeting c=32 for 3 s (VmHWM reset before it; Pss and Anonymous
   sampled, their maxima kept), a 1 s warm-up, then the same smtp_bench load: greeting c=50,
   STARTTLS c=50 (15 s each) and a batch of 2,000 probes at c=1,000 against a responder that
   holds its greeting 1 s (two waves of 1,000 in flight; VmHWM reset before it).
   CPU per probe is utime+stime of the exporter process (/proc/PID/stat) over the probes.
   The STARTTLS scenario of both exporters talks to one TLS responder process (smtp_bench
   --role responder), and between the two exporters bench/tls_floor, the sequential reference
   client of the same OpenSSL, has the same conversation with that same responder for 5 s: its
   CPU per conversation is the floor that ours is compared with.
2. Scale (ours only): 10,000 probes, one HTTP connection each, sent over 1.5 s, against a
   responder (a separate smtp_bench process) that holds its greeting 2 s. Each probe's
   probe_smtp_banner_latency_seconds is compared with the 2 s; the responder reports how many
   conversations it held at once and its own lateness.
3. Accuracy (ours only): 1,000 probes the same way, sent over 200 ms, greeting delayed 500 ms.
The responder of 2. and 3. runs at nice -10 (as root) and counts its delay from the TCP
handshake, so that a late greeting on a loaded machine is not taken for the exporter's error.

Prints the tables, then the targets; exits 1 when a target is missed, 2 on a setup error.
Standard library only; docs/performance.md.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
BLACKBOX = "prometheus-blackbox-exporter"

# Written into the configuration of the scale scenario: its 10,000 probes must not be refused
# (HTTP 503) by the exporter's concurrency limit, nor their HTTP connections by its connection
# limit (whose default is what the open-files limit leaves after max_concurrent_probes: 16 here).
# Set to "" for an exporter without [limits].
SCALE_LIMITS = "[limits]\nmax_concurrent_probes = 20000\nmax_connections = 20000\n"

NOFILE = 65536      # RLIMIT_NOFILE (soft and hard) given to every process started here, as root
SOMAXCONN = 16384   # net.core.somaxconn for the scale scenario, as root (restored at the end)
PORT_RANGE = "1024 65535"  # net.ipv4.ip_local_port_range for the scale scenario, as root (restored)
RESPONDER_NICE = -10  # the scale and accuracy responder's priority, as root


class SetupError(Exception):
    pass


# ---- /proc ---------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid):
    """/proc/PID/status as {key: first field}; kB values stay kB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields = value.split()
            if fields:
                out[key] = fields[0]
    return out


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    """utime + stime of every thread of the process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_times():
    """(steal, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    return fields[7], sum(fields)


def tcp_counters():
    """The kernel's TCP counters that show a full listen queue (/proc/net/netstat, TcpExt; for the
    whole network namespace, so other programs' connections count too)."""
    names = ("ListenOverflows", "ListenDrops", "TCPSynRetrans")
    out = dict.fromkeys(names, 0)
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
        for keys, values in zip(lines[::2], lines[1::2]):
            if keys.startswith("TcpExt:"):
                out.update({k: int(v) for k, v in zip(keys.split()[1:], values.split()[1:]) if k in names})
    except (OSError, ValueError):
        pass
    return out


def smaps_rollup(pid):
    """Rss, Pss and Anonymous of /proc/PID/smaps_rollup (Linux >= 4.14), kB; {} if unreadable."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Rss", "Pss", "Anonymous"):
                    out[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


def reset_peak_rss(pid):
    """VmHWM := VmRSS ("5" > clear_refs, Linux >= 4.0). False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Sampler:
    """Polls a process' RSS, fds and threads while a scenario runs (maxima); with smaps, also the
    maxima of Rss, Pss and Anonymous from smaps_rollup (kB)."""

    def __init__(self, pid, interval, smaps=False):
        self.pid, self.interval, self.smaps = pid, interval, smaps
        self.rss_kb = self.fds = self.threads = 0
        self.smaps_max = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                st = status(self.pid)
                self.rss_kb = max(self.rss_kb, int(st["VmRSS"]))
                self.threads = max(self.threads, int(st["Threads"]))
                self.fds = max(self.fds, fd_count(self.pid))
                if self.smaps:
                    for key, value in smaps_rollup(self.pid).items():
                        self.smaps_max[key] = max(self.smaps_max.get(key, 0), value)
            except (OSError, KeyError, ValueError):
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ---- processes -----------------------------------------------------------------------------

def raise_nofile():
    """preexec_fn: RLIMIT_NOFILE soft = hard = NOFILE (at most fs.nr_open). Raising the hard limit
    needs root; otherwise the soft limit goes up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        with open("/proc/sys/fs/nr_open") as f:
            want = min(NOFILE, int(f.read()))
        if hard != resource.RLIM_INFINITY and hard < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
    except (OSError, ValueError):
        pass
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        pass


STARTED = []  # every Server started, stopped in reverse order at the end


class Server:
    """A long-running process started here; stop() ends it by its PID."""

    def __init__(self, name, argv, workdir, stdout_pipe=False, nice=0):
        self.name = name

        def preexec():
            raise_nofile()
            if nice:
                try:
                    os.nice(nice)
                except OSError:
                    pass  # a negative nice needs root
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE if stdout_pipe else self.log,
                                        stderr=self.log, preexec_fn=preexec)
        self.pid = self.process.pid
        STARTED.append(self)

    def tail(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-20:])

    def check_alive(self, during):
        if self.process.poll() is not None:
            raise SetupError(f"{self.name} exited ({self.process.returncode}) during {during}:\n{self.tail()}")

    def wait_healthy(self, port):
        deadline = time.monotonic() + 10
        while True:
            self.check_alive("start-up")
            try:
                with OPENER.open(f"http://127.0.0.1:{port}/-/healthy", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"{self.name} not healthy within 10 s:\n{self.tail()}")
            time.sleep(0.02)

    def stop(self, sig=signal.SIGTERM):
        """Ends the process by its PID; returns what it wrote on stdout (if piped)."""
        out = b""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            out, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        finally:
            if self in STARTED:
                STARTED.remove(self)
            self.log.close()
        return (out or b"").decode(errors="replace")


class Exporter(Server):
    def __init__(self, kind, argv_prefix, workdir):
        self.kind = kind
        self.port = free_port()
        super().__init__(kind, argv_prefix + [f"--web.listen-address=127.0.0.1:{self.port}"], workdir)
        self.wait_healthy(self.port)
        self.address = f"127.0.0.1:{self.port}"


class Responder(Server):
    """smtp_bench --role responder: prints its port, serves until SIGTERM, then its stats."""

    def __init__(self, bench, delay_ms, workdir, extra=(), nice=RESPONDER_NICE, name=None):
        # The timing reference: a higher priority (as root) keeps a loaded machine from making its
        # greetings late, which the exporter's banner latency would show as the exporter's error.
        super().__init__(name or f"responder-{delay_ms}ms", [bench, "--role", "responder", "--greeting-delay-ms",
                                                             str(delay_ms), *extra], workdir, stdout_pipe=True,
                         nice=nice)
        self.nice = os.getpriority(os.PRIO_PROCESS, self.pid)
        ready, _, _ = select.select([self.process.stdout], [], [], 10)
        line = self.process.stdout.readline() if ready else b""
        try:
            self.port = json.loads(line)["port"]
        except (ValueError, KeyError):
            self.stop()
            raise SetupError(f"responder did not print its port: {line!r}")

    def stats(self):
        out = self.stop()
        try:
            return json.loads(out.strip().splitlines()[-1])["responder"]
        except (ValueError, KeyError, IndexError):
            raise SetupError(f"responder printed no statistics: {out!r}")


def stop_all():
    for server in reversed(list(STARTED)):
        try:
            server.stop()
        except OSError:
            pass


# ---- configuration -------------------------------------------------------------------------

def make_certificate(workdir):
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=bench.test",
                    "-addext", "subjectAltName=DNS:bench.test"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def ours_config(workdir, cert, name="ours.toml", timeout="5s", limits=""):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(f"""# bench/compare.py: the equivalents of the blackbox_exporter modules
{limits}
# greeting only: connect, 220, QUIT, 221
[modules.bench_greeting]
tls = "none"
ehlo_name = "bench.local"
ip_protocol = "ip4"
quit_after = "banner"
timeout = "{timeout}"

# EHLO, STARTTLS, TLS handshake with verification, EHLO again, QUIT
[modules.bench_starttls]
tls = "starttls"
ehlo_name = "bench.local"
ip_protocol = "ip4"
timeout = "{timeout}"
[modules.bench_starttls.tls_config]
server_name = "bench.test"
ca_file = "{cert}"
""")
    return path


def blackbox_config(workdir, cert):
    path = os.path.join(workdir, "blackbox.yml")
    with open(path, "w") as f:
        # blackbox's send: appends "\n"; the "\r" makes it CRLF.
        f.write(f"""# bench/compare.py: blackbox_exporter's tcp prober speaking SMTP
modules:
  bench_greeting:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^220"
        - send: "QUIT\\r"
        - expect: "^221"
  bench_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      tls_config:
        server_name: bench.test
        ca_file: {cert}
      query_response:
        - expect: "^220"
        - send: "EHLO bench.local\\r"
        - expect: "^250-STARTTLS"
        - expect: "^250 "
        - send: "STARTTLS\\r"
        - expect: "^220"
        - starttls: true
        - send: "EHLO bench.local\\r"
        - expect: "^250 "
        - send: "QUIT\\r"
        - expect: "^221"
""")
    return path


def config_accepted(binary, path):
    run = subprocess.run([binary, "--config.check", f"--config.file={path}"], capture_output=True, text=True)
    return run.returncode == 0, (run.stdout + run.stderr).strip()


# ---- scenarios -----------------------------------------------------------------------------

def run_driver(bench, argv, timeout=180):
    run = subprocess.run([bench] + argv, capture_output=True, text=True, timeout=timeout, preexec_fn=raise_nofile)
    if run.returncode != 0:
        raise SetupError(f"smtp_bench {' '.join(argv)} failed ({run.returncode}): {run.stderr.strip()}")
    return json.loads(run.stdout)


def side_by_side(kind, exporter, bench, cert, key, scale, tls_port):
    """Idle memory, low load (c=32), warm-up, then the three scenarios; the same for both exporters.
    The STARTTLS scenario drives the TLS responder on tls_port (a separate smtp_bench process)."""
    pid = exporter.pid
    time.sleep(0.5)
    idle = status(pid)
    idle_smaps = smaps_rollup(pid)
    out = {"idle_rss_kb": int(idle["VmRSS"]), "idle_threads": int(idle["Threads"]), "idle_fds": fd_count(pid),
           "idle_smaps_kb": idle_smaps, "scenarios": {}}
    base = ["--exporter", exporter.address]
    scenarios = [
        # name, smtp_bench arguments; None: the warm-up (not measured)
        ("greeting c=32", ["--module", "bench_greeting", "--concurrency", "32", "--duration", str(3 * scale)]),
        ("warm-up", ["--module", "bench_greeting", "--concurrency", "50", "--duration", "1"]),
        ("greeting c=50", ["--module", "bench_greeting", "--concurrency", "50", "--duration", str(15 * scale)]),
        ("starttls c=50", ["--role", "driver", "--target", f"127.0.0.1:{tls_port}", "--module", "bench_starttls",
                           "--concurrency", "50", "--duration", str(15 * scale)]),
        ("batch c=1000", ["--module", "bench_greeting", "--concurrency", "1000", "--requests", "2000",
                          "--greeting-delay-ms", "1000"]),
    ]
    for name, argv in scenarios:
        if name == "warm-up":
            run_driver(bench, base + argv)
            continue
        # Peak memory at low load (c=32) and at 1,000 in flight: VmHWM reset before the scenario.
        peak = name.startswith("batch") or name == "greeting c=32"
        hwm_reset = reset_peak_rss(pid) if peak else None
        cpu_before = cpu_seconds(pid)
        with Sampler(pid, 0.02 if name == "greeting c=32" else 0.05, smaps=name == "greeting c=32") as sampler:
            r = run_driver(bench, base + argv)
        exporter.check_alive(name)
        cpu = cpu_seconds(pid) - cpu_before
        done = r["requests"] + r["errors"]
        r["cpu_ms_per_probe"] = cpu * 1000 / max(1, r["requests"])
        r["success_ratio"] = r["ok"] / max(1, done)
        r["rss_max_kb"], r["fds_max"], r["threads_max"] = sampler.rss_kb, sampler.fds, sampler.threads
        if hwm_reset is not None:
            peak_kb = int(status(pid)["VmHWM"]) if hwm_reset else sampler.rss_kb
            peak_from = "VmHWM" if hwm_reset else "VmRSS sampled every 50 ms"
            if name == "greeting c=32":
                # RSS: VmHWM; Pss and Anonymous: the largest of the samples (every 20 ms).
                out["peak32_smaps_kb"] = dict(sampler.smaps_max, Rss=peak_kb)
                out["peak32_rss_from"] = peak_from
            else:
                out["peak_rss_kb"], out["peak_rss_from"] = peak_kb, peak_from
        out["scenarios"][name] = r
        print(f"  {kind:<9} {name:<14} {r['rate']:>7.0f} probes/s  ok {r['ok']}/{done}  "
              f"CPU {r['cpu_ms_per_probe']:.3f} ms/probe", flush=True)
    return out


def tls_floor(floor_bin, tls_port, cert, seconds):
    """bench/tls_floor against the TLS responder: the same STARTTLS conversation, sequential, for
    `seconds`. Returns its JSON (CPU of the whole tls_floor process per conversation)."""
    run = subprocess.run([floor_bin, "--target", f"127.0.0.1:{tls_port}", "--ca-file", cert,
                          "--server-name", "bench.test", "--ehlo", "bench.local", "--duration", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 60)
    try:
        r = json.loads(run.stdout)
    except ValueError:
        raise SetupError(f"tls_floor failed ({run.returncode}): {run.stderr.strip()} {run.stdout.strip()}")
    if r["failed"] or not r["conversations"]:
        raise SetupError(f"tls_floor: {r['failed']} conversation(s) failed, {r['conversations']} ok: "
                         f"{r['first_error']}")
    print(f"  tls_floor starttls c=1   {r['rate']:>7.0f} conv/s    ok {r['conversations']}/"
          f"{r['conversations'] + r['failed']}  CPU {r['cpu_ms_per_conversation']:.3f} ms/conversation", flush=True)
    return r


def split_run(bench, exporter, module, workdir, concurrency, delay_ms, ramp_ms):
    """concurrency probes, one HTTP connection each, started over ramp_ms, against a separate
    responder process that holds its greeting delay_ms. Returns the driver's and responder's
    results and the exporter's peak RSS and fds."""
    pid = exporter.pid
    responder = Responder(bench, delay_ms, workdir)
    try:
        idle_fds = fd_count(pid)
        hwm_reset = reset_peak_rss(pid)
        cpu_before = cpu_seconds(pid)
        tcp_before = tcp_counters()
        with Sampler(pid, 0.1) as sampler:
            r = run_driver(bench, ["--role", "driver", "--exporter", exporter.address,
                                   "--target", f"127.0.0.1:{responder.port}", "--module", module,
                                   "--concurrency", str(concurrency), "--requests", str(concurrency),
                                   "--per-connection", "1", "--ramp-ms", str(ramp_ms),
                                   "--greeting-delay-ms", str(delay_ms)])
        exporter.check_alive(f"{concurrency} probes")
        r["tcp"] = {k: v - tcp_before[k] for k, v in tcp_counters().items()}
        r["cpu_ms_per_probe"] = (cpu_seconds(pid) - cpu_before) * 1000 / max(1, r["requests"])
        r["peak_rss_kb"] = int(status(pid)["VmHWM"]) if hwm_reset else sampler.rss_kb
        r["rss_max_kb"], r["fds_max"], r["threads_max"] = sampler.rss_kb, sampler.fds, sampler.threads
        r["idle_fds"] = idle_fds
        deadline = time.monotonic() + 5
        while fd_count(pid) > idle_fds and time.monotonic() < deadline:
            time.sleep(0.05)
        r["fds_after"] = fd_count(pid)
    finally:
        r_stats = responder.stats()
    r["responder"] = r_stats
    r["responder_nice"] = responder.nice
    r["greeting_delay_ms"] = delay_ms
    r["ramp_ms"] = ramp_ms
    return r


def scale_capacity(wanted):
    """How many probes the exporter can hold at once under the open-files limit its process gets:
    2 fds each, plus its own (listener, epoll, timers, stdio: 16 kept)."""
    raise_nofile()  # what a child gets: try it on this process
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, (hard - 16) // 2))


def set_sysctl(path, value):
    """Writes VALUE to the sysctl file PATH for the scale scenario, as root; returns (before, after,
    restore). Nothing changes (and restore does nothing) when it cannot be written."""
    with open(path) as f:
        before = " ".join(f.read().split())
    if before == value:
        return before, before, lambda: None
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        return before, before, lambda: None

    def restore():
        try:
            with open(path, "w") as f:
                f.write(before)
        except OSError:
            pass
    return before, value, restore


def try_somaxconn():
    """Raises net.core.somaxconn for the scale scenario (never lowers it)."""
    path = "/proc/sys/net/core/somaxconn"
    with open(path) as f:
        current = int(f.read())
    if current >= SOMAXCONN:
        return current, current, lambda: None
    before, after, restore = set_sysctl(path, str(SOMAXCONN))
    return int(before), int(after), restore


def try_port_range():
    """Widens net.ipv4.ip_local_port_range for the scale scenario: its 10,000 scrape connections
    and 10,000 SMTP connections all take an ephemeral port on 127.0.0.1, and the default range
    (32768-60999) also holds the TIME_WAIT sockets of the earlier scenarios."""
    return set_sysctl("/proc/sys/net/ipv4/ip_local_port_range", PORT_RANGE)


# ---- report --------------------------------------------------------------------------------

def ratio(a, b):
    return a / b if b else float("nan")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    debian = ""
    if os.path.exists("/etc/debian_version"):
        with open("/etc/debian_version") as f:
            debian = f"Debian {f.read().strip()}, "
    return f"{os.cpu_count()} CPUs ({model}), {debian}Linux {platform.release()}"


def print_side_by_side(ours, bb):
    rows = []
    for name in ours["scenarios"]:
        o, b = ours["scenarios"][name], bb["scenarios"][name]
        rows += [
            (name, "probes/s", o["rate"], b["rate"], "{:.0f}"),
            ("", "latency p50 (ms)", o["latency_ms"]["p50"], b["latency_ms"]["p50"], "{:.2f}"),
            ("", "latency p99 (ms)", o["latency_ms"]["p99"], b["latency_ms"]["p99"], "{:.2f}"),
            ("", "success ratio", o["success_ratio"], b["success_ratio"], "{:.4f}"),
            ("", "CPU ms/probe", o["cpu_ms_per_probe"], b["cpu_ms_per_probe"], "{:.3f}"),
        ]
        if name.startswith("batch"):
            rows.append(("", "in flight at the responder", o["responder"]["max_concurrent"],
                         b["responder"]["max_concurrent"], "{}"))
    rows += [
        ("memory", "idle RSS (MB)", ours["idle_rss_kb"] / 1024, bb["idle_rss_kb"] / 1024, "{:.1f}"),
    ]
    for key in ("Rss", "Pss", "Anonymous"):
        rows.append(("", f"idle {key} (MB, smaps_rollup)", ours["idle_smaps_kb"].get(key, 0) / 1024,
                     bb["idle_smaps_kb"].get(key, 0) / 1024, "{:.1f}"))
    for key, how in (("Rss", "VmHWM"), ("Pss", "max"), ("Anonymous", "max")):
        rows.append(("", f"peak {key}, 32 in flight ({how}, MB)", ours["peak32_smaps_kb"].get(key, 0) / 1024,
                     bb["peak32_smaps_kb"].get(key, 0) / 1024, "{:.1f}"))
    rows += [
        ("", "peak RSS, 1,000 in flight (MB)", ours["peak_rss_kb"] / 1024, bb["peak_rss_kb"] / 1024, "{:.1f}"),
        ("", "threads (idle)", ours["idle_threads"], bb["idle_threads"], "{}"),
    ]
    header = f"{'scenario':<15} {'metric':<40} {'ours':>10} {'blackbox':>10} {'ours/blackbox':>14}"
    print(header)
    print("-" * len(header))
    for scenario, metric, o, b, fmt in rows:
        print(f"{scenario:<15} {metric:<40} {fmt.format(o):>10} {fmt.format(b):>10} {ratio(o, b):>14.3f}")


def print_floor(ours, bb, floor):
    """STARTTLS CPU per probe of both exporters against tls_floor's per conversation."""
    o = ours["scenarios"]["starttls c=50"]["cpu_ms_per_probe"]
    b = bb["scenarios"]["starttls c=50"]["cpu_ms_per_probe"]
    f = floor["cpu_ms_per_conversation"]
    print(f"\nSTARTTLS floor: bench/tls_floor, the same conversation with the same TLS responder, sequential, "
          f"plain OpenSSL {floor.get('openssl', '')}:")
    print(f"  {floor['conversations']} conversations in {floor['wall_s']:.1f} s, CPU {f:.3f} ms/conversation "
          f"(whole process: user+sys {floor['cpu_s']:.3f} s, of which start-up {floor['startup_cpu_s'] * 1000:.1f} ms)")
    print(f"  CPU per STARTTLS probe / floor: ours {o:.3f} ms = {ratio(o, f):.3f} x, "
          f"blackbox {b:.3f} ms = {ratio(b, f):.3f} x")


def print_split(name, r):
    err, late, wait = r["banner_abs_error_ms"], r["responder"]["greeting_late_ms"], r["responder"]["accept_wait_ms"]
    print(f"{name}: {r['concurrency']} probes, one HTTP connection each, started over {r['ramp_ms']} ms, "
          f"greeting held {r['greeting_delay_ms']} ms")
    print(f"  in flight at the responder at once: {r['responder']['max_concurrent']}; "
          f"answered {r['requests']} (ok {r['ok']}, probe failures {r['failed']}), HTTP errors {r['errors']}, "
          f"non-200 {r['not_200']} (503: {r['http_503']})")
    print(f"  |banner latency - delay| ms: p50 {err['p50']:.2f}, p99 {err['p99']:.2f}, max {err['max']:.2f} "
          f"({r['banner_samples']} samples; signed median {r['banner_error_ms']['p50']:+.2f})")
    print(f"  responder's own lateness (TCP handshake -> greeting written, minus the delay; nice "
          f"{r['responder_nice']}) ms: p50 {late['p50']:.2f}, "
          f"p99 {late['p99']:.2f}, max {late['max']:.2f}; listen-queue wait before accept (4 ms steps) ms: "
          f"p50 {wait['p50']:.0f}, p99 {wait['p99']:.0f}, max {wait['max']:.0f}")
    print(f"  the driver sent its requests over {r['first_requests_spread_ms']:.0f} ms; the responder accepted the "
          f"probes' connections over {r['responder']['accept_spread_ms']:.0f} ms; kernel (whole host): listen queue "
          f"overflows {r['tcp']['ListenOverflows']}, SYN retransmissions {r['tcp']['TCPSynRetrans']}")
    print(f"  the exporter's own share of the median error, roughly: {r['banner_error_ms']['p50'] - late['p50']:+.2f} ms "
          f"(signed median error minus the responder's median lateness)")
    print(f"  scrape latency ms: p50 {r['latency_ms']['p50']:.0f}, p99 {r['latency_ms']['p99']:.0f}, "
          f"max {r['latency_ms']['max']:.0f}; exporter: peak RSS {r['peak_rss_kb'] / 1024:.1f} MB, "
          f"fds max {r['fds_max']} (idle {r['idle_fds']}, after {r['fds_after']}), threads {r['threads_max']}, "
          f"CPU {r['cpu_ms_per_probe']:.3f} ms/probe")
    if r["first_failure"]:
        print(f"  first failure: {r['first_failure'][:600]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir")
    parser.add_argument("--targets", default=os.path.join(HERE, "compare_targets.toml"))
    parser.add_argument("--json", help="also write every number to this file")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiply the c=50 scenarios' duration (default 1: 15 s each)")
    parser.add_argument("--blackbox", default=shutil.which(BLACKBOX) or f"/usr/bin/{BLACKBOX}")
    parser.add_argument("--only", choices=("side", "scale"),
                        help="run only the side-by-side part, or only scale + accuracy (targets of the other part "
                             "are not checked)")
    parser.add_argument("--scale-concurrency", type=int, default=10000)
    parser.add_argument("--scale-threads", type=int, default=2,
                        help="--runtime.threads of the exporter in the scale and accuracy runs (default 2)")
    parser.add_argument("--scale-ramp-ms", type=int, default=1500,
                        help="spread the scale run's requests over this time (default 1500: all sent before "
                             "the first greeting, 2 s after the first request)")
    parser.add_argument("--accuracy-ramp-ms", type=int, default=200)
    parser.add_argument("--accuracy-delay-ms", type=int, default=500,
                        help="greeting delay of the accuracy run (default 500: long enough for all 1,000 "
                             "probes to be in flight at once on a loaded 2-core machine)")
    parser.add_argument("--ours-flag", action="append", default=[],
                        help="extra flag for smtp_exporter (repeatable), e.g. --ours-flag=--runtime.threads=2")
    args = parser.parse_args()

    exporter_bin = os.path.join(args.build_dir, "smtp_exporter")
    bench = os.path.join(args.build_dir, "bench", "smtp_bench")
    floor_bin = os.path.join(args.build_dir, "bench", "tls_floor")
    for path in (exporter_bin, bench, floor_bin, args.blackbox):
        if not os.access(path, os.X_OK):
            print(f"compare: {path} not found; bench/compare.sh installs and builds what is missing", file=sys.stderr)
            return 2
    with open(args.targets, "rb") as f:
        t = tomllib.load(f)

    started = time.monotonic()
    steal_before = cpu_times()
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[0]
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    workdir = tempfile.mkdtemp(prefix="smtp-exporter-compare-")
    restore_somaxconn = restore_ports = lambda: None
    result = {"date": when, "machine": machine(), "load_average_before": float(load_before)}
    try:
        cert, key = make_certificate(workdir)
        ours_argv = [exporter_bin, f"--config.file={ours_config(workdir, cert)}"] + args.ours_flag
        bb_argv = [args.blackbox, f"--config.file={blackbox_config(workdir, cert)}"]
        ok, why = config_accepted(exporter_bin, ours_argv[1].split("=", 1)[1])
        if not ok:
            raise SetupError(f"smtp_exporter rejects the comparison configuration:\n{why}")
        raise_nofile()  # what the children get, tried on this process
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        result["rlimit_nofile"] = nofile
        print(f"compare: {when}, {result['machine']}, load average {load_before}; RLIMIT_NOFILE for the "
              f"processes started here: {nofile}", flush=True)

        # 1. side by side, each exporter in its own fresh process
        sides = {}
        if args.only != "scale":
            # One TLS responder for the STARTTLS scenario of both exporters and for tls_floor (at the
            # default priority, as the responder thread of the greeting scenarios).
            tls_responder = Responder(bench, 0, workdir, extra=["--tls-cert", cert, "--tls-key", key], nice=0,
                                      name="responder-tls")
            for kind, argv in (("ours", ours_argv), ("blackbox", bb_argv)):
                exporter = Exporter(kind, argv, workdir)
                try:
                    sides[kind] = side_by_side(kind, exporter, bench, cert, key, args.time_scale, tls_responder.port)
                finally:
                    exporter.stop()
                if kind == "ours":  # between the two exporters, none of them running
                    result["tls_floor"] = tls_floor(floor_bin, tls_responder.port, cert, 5 * args.time_scale)
            result["tls_responder"] = tls_responder.stats()
        result.update(sides)

        # 2. and 3. scale and accuracy, ours only, each in a fresh process
        if args.only != "side":
            limits = SCALE_LIMITS
            scale_config = ours_config(workdir, cert, "ours-scale.toml", timeout="15s", limits=limits)
            ok, why = config_accepted(exporter_bin, scale_config)
            if not ok and limits:
                limits = ""
                print(f"compare: smtp_exporter does not take [limits] yet ({why.splitlines()[-1] if why else ''}); "
                      f"the scale run uses its default concurrency limit", flush=True)
                scale_config = ours_config(workdir, cert, "ours-scale.toml", timeout="15s")
            result["scale_limits"] = limits.strip()
            somaxconn_before, somaxconn_after, restore_somaxconn = try_somaxconn()
            result["somaxconn"] = {"before": somaxconn_before, "during": somaxconn_after}
            print(f"compare: net.core.somaxconn {somaxconn_before}"
                  + (f", raised to {somaxconn_after} for the scale run" if somaxconn_after != somaxconn_before
                     else (" (could not be raised)" if somaxconn_before < SOMAXCONN else "")), flush=True)
            ports_before, ports_after, restore_ports = try_port_range()
            result["ip_local_port_range"] = {"before": ports_before, "during": ports_after}
            print(f"compare: net.ipv4.ip_local_port_range {ports_before}"
                  + (f", widened to {ports_after} for the scale run" if ports_after != ports_before else ""),
                  flush=True)
            # "Ten thousand probes in flight on two cores": the exporter may use both.
            scale_argv = [exporter_bin, f"--config.file={scale_config}", f"--runtime.threads={args.scale_threads}"]
            scale_argv += args.ours_flag
            scale_n = scale_capacity(args.scale_concurrency)
            result["scale_wanted"] = args.scale_concurrency
            if scale_n < args.scale_concurrency:
                print(f"compare: the scale run is capped at {scale_n} probes: each holds 2 fds in the exporter "
                      f"(its scrape connection and its SMTP connection), and RLIMIT_NOFILE cannot be raised "
                      f"above {resource.getrlimit(resource.RLIMIT_NOFILE)[1]} here (no CAP_SYS_RESOURCE)",
                      flush=True)
            for name, concurrency, delay, ramp in (("scale", scale_n, 2000, args.scale_ramp_ms),
                                                   ("accuracy", 1000, args.accuracy_delay_ms,
                                                    args.accuracy_ramp_ms)):
                exporter = Exporter(f"ours-{name}", scale_argv, workdir)
                try:
                    time.sleep(0.3)
                    result[name] = split_run(bench, exporter, "bench_greeting", workdir, concurrency, delay, ramp)
                finally:
                    exporter.stop()
                r = result[name]
                print(f"  ours      {name:<14} {r['responder']['max_concurrent']} in flight, "
                      f"|banner error| max {r['banner_abs_error_ms']['max']:.1f} ms", flush=True)
    except (SetupError, OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    finally:
        stop_all()
        restore_somaxconn()
        restore_ports()
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    steal_after = cpu_times()
    steal_pct = 100.0 * (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1])
    result["elapsed_s"], result["steal_pct"] = elapsed, steal_pct

    # ---- report -------------------------------------------------------------------------
    print(f"\nsmtp_exporter vs blackbox_exporter, {when}, {result['machine']} ({elapsed:.0f} s)")
    checks = []
    if "ours" in result:
        ours, bb = result["ours"], result["blackbox"]
        print("same smtp_bench load for both; CPU = utime+stime of the exporter process per probe; "
              "latency = HTTP request to response at the driver\n")
        print_side_by_side(ours, bb)
        print_floor(ours, bb, result["tls_floor"])
        print(f"\npeak RSS: {ours['peak_rss_from']} (ours), {bb['peak_rss_from']} (blackbox), over the batch of "
              f"2,000 probes at c=1,000 with the greeting held 1 s")
        print(f"memory at 32 in flight (greeting c=32, 3 s × --time-scale, first of the scenarios): RSS = VmHWM reset before it; "
              f"Pss and Anonymous = the largest smaps_rollup sample (every 20 ms). Pss shares library pages with "
              f"the other processes mapping them (the drivers, the responder, tls_floor), so it depends on them.")
    for name in ("scale", "accuracy"):
        if name in result:
            print()
            print_split(name, result[name])
    print(f"\nmachine: load average {load_before} at the start, CPU steal {steal_pct:.1f} % during the run")

    if "ours" in result:
        s_ours, s_bb = ours["scenarios"], bb["scenarios"]
        checks += [
            ("CPU/probe greeting, ours/blackbox", ratio(s_ours["greeting c=50"]["cpu_ms_per_probe"],
                                                         s_bb["greeting c=50"]["cpu_ms_per_probe"]),
             "<=", t["greeting_cpu_ratio_max"]),
            ("CPU/probe STARTTLS, ours/blackbox", ratio(s_ours["starttls c=50"]["cpu_ms_per_probe"],
                                                         s_bb["starttls c=50"]["cpu_ms_per_probe"]),
             "<", t["starttls_cpu_ratio_max"]),
            ("CPU/probe STARTTLS, ours/tls_floor", ratio(s_ours["starttls c=50"]["cpu_ms_per_probe"],
                                                          result["tls_floor"]["cpu_ms_per_conversation"]),
             "<=", t["starttls_cpu_floor_ratio_max"]),
            ("peak RSS 32 in flight, ours/blackbox", ratio(ours["peak32_smaps_kb"]["Rss"],
                                                           bb["peak32_smaps_kb"]["Rss"]),
             "<=", t["peak_rss_32_ratio_max"]),
            ("peak RSS 1,000 in flight, ours/blackbox", ratio(ours["peak_rss_kb"], bb["peak_rss_kb"]),
             "<=", t["peak_rss_1000_ratio_max"]),
            ("idle RSS, ours (MB)", ours["idle_rss_kb"] / 1024, "<=", t["idle_rss_mb_max"]),
            ("failed probes + errors, ours", sum(r["failed"] + r["errors"] for r in s_ours.values()),
             "<=", t["ours_failed_probes_max"]),
            ("success ratio, blackbox (min)", min(r["success_ratio"] for r in s_bb.values()),
             ">=", t["blackbox_success_ratio_min"]),
        ]
    if "scale" in result:
        sc, ac = result["scale"], result["accuracy"]
        checks += [
            ("scale: in flight at once" if sc["concurrency"] >= t["scale_in_flight_min"]
             else f"scale: in flight (capped at {sc['concurrency']})", sc["responder"]["max_concurrent"], ">=",
             min(t["scale_in_flight_min"], sc["concurrency"])),
            ("scale: errors + non-200 + failed", sc["errors"] + sc["not_200"] + sc["failed"],
             "<=", t["scale_errors_max"]),
            ("scale: max |banner error| (ms)",
             sc["banner_abs_error_ms"]["max"] if sc["banner_samples"] == sc["concurrency"] else float("inf"),
             "<=", t["scale_banner_error_ms_max"]),
            ("scale: exporter peak RSS (MB)", sc["peak_rss_kb"] / 1024, "<", t["scale_rss_mb_max"]),
            ("accuracy: in flight at once", ac["responder"]["max_concurrent"], ">=", t["accuracy_in_flight_min"]),
            ("accuracy: median |banner error| (ms)",
             ac["banner_abs_error_ms"]["p50"] if ac["banner_samples"] else float("inf"),
             "<=", t["accuracy_banner_error_p50_ms_max"]),
        ]
    checks.append(("whole run (s)", elapsed, "<=", t["run_seconds_max"]))
    ops = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b}
    print(f"\n{'target':<42} {'measured':>10}    {'target':<10} result")
    missed = 0
    for name, value, op, limit in checks:
        ok = ops[op](value, limit)
        missed += not ok
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{name:<42} {shown:>10}    {op} {limit:<7} {'ok' if ok else 'MISSED'}")
    for kind in ("ours", "blackbox"):
        for name, r in result.get(kind, {"scenarios": {}})["scenarios"].items():
            if r["first_failure"]:
                print(f"\n{kind} {name}: first failed probe:\n{r['first_failure'][:1500]}")

    if args.json:
        result["checks"] = [{"name": n, "value": v, "op": o, "target": l, "ok": ops[o](v, l)}
                            for n, v, o, l in checks]
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    print(f"\ncompare: {'all targets met' if not missed else f'{missed} target(s) missed'} ({elapsed:.0f} s)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
