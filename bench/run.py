#!/usr/bin/env python3
"""Load benchmark of the real smtp_exporter binary; checks bench/targets.toml.

    bench/run.py BUILD_DIR [--json FILE] [--time-scale X]

BUILD_DIR holds smtp_exporter and bench/smtp_bench (configure it with
-DSMTP_EXPORTER_BENCH=ON, preferably -DCMAKE_BUILD_TYPE=Release). Everything runs on
127.0.0.1 on free ports. The exporter runs with --runtime.threads=1 (its default); smtp_bench
runs the SMTP responder and the HTTP load driver (see bench/smtp_bench.cpp).

Scenarios, in order: plain probes at concurrency 1, 50 and 500, STARTTLS probes at
concurrency 50 (self-signed ECDSA certificate made here with openssl, trusted through the
module's ca_file), and a batch of 500 concurrent probes against a responder that waits
200 ms before its greeting. Meanwhile /proc/PID of the exporter is sampled (threads, fds,
RSS); VmHWM is reset (clear_refs) before the 500-concurrent scenarios. Prints a table and
exits 1 when a target is missed, 2 on a setup error. Standard library only; docs/performance.md.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
sys.path.insert(0, HERE)
# /proc readings and the test certificate, shared with the side-by-side comparison.
from compare import cpu_seconds, cpu_times, fd_count, free_port, make_certificate, reset_peak_rss, status  # noqa: E402


class Sampler:
    """Polls the exporter's threads, fds and RSS every 10 ms while a scenario runs."""

    def __init__(self, pid):
        self.pid = pid
        self.threads = self.fds = self.rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                st = status(self.pid)
                self.threads = max(self.threads, int(st["Threads"]))
                self.rss_kb = max(self.rss_kb, int(st["VmRSS"]))
                self.fds = max(self.fds, fd_count(self.pid))
            except (OSError, KeyError, ValueError):
                pass
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Exporter:
    def __init__(self, binary, config_file, workdir):
        self.port = free_port()
        self.log_path = os.path.join(workdir, "exporter.log")
        argv = [binary, f"--web.listen-address=127.0.0.1:{self.port}", f"--config.file={config_file}",
                "--runtime.threads=1"]
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"exporter exited with {self.process.returncode}:\n{self.tail()}")
            try:
                with OPENER.open(f"http://127.0.0.1:{self.port}/-/healthy", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"exporter not healthy within 10 s:\n{self.tail()}")
            time.sleep(0.02)

    def tail(self):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-20:])

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def write_config(workdir, cert):
    path = os.path.join(workdir, "bench.toml")
    with open(path, "w") as f:
        f.write(f"""# bench/run.py: what every scenario probes
[modules.smtp_banner]
tls = "none"
ehlo_name = "bench.local"
ip_protocol = "ip4"

[modules.bench_starttls]
tls = "starttls"
ehlo_name = "bench.local"
ip_protocol = "ip4"
[modules.bench_starttls.tls_config]
server_name = "bench.test"
ca_file = "{cert}"
""")
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir")
    parser.add_argument("--targets", default=os.path.join(HERE, "targets.toml"))
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiply every scenario's duration (default 1: about 20 s in all)")
    args = parser.parse_args()

    exporter_bin = os.path.join(args.build_dir, "smtp_exporter")
    bench_bin = os.path.join(args.build_dir, "bench", "smtp_bench")
    for path in (exporter_bin, bench_bin):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} not found; build with "
                     f"scripts/build.sh {args.build_dir} -DCMAKE_BUILD_TYPE=Release -DSMTP_EXPORTER_BENCH=ON")
    with open(args.targets, "rb") as f:
        targets = tomllib.load(f)

    started = time.monotonic()
    steal_before = cpu_times()
    workdir = tempfile.mkdtemp(prefix="smtp-exporter-bench-")
    exporter = None
    try:
        cert, key = make_certificate(workdir)
        exporter = Exporter(exporter_bin, write_config(workdir, cert), workdir)
        pid = exporter.pid
        time.sleep(0.3)  # let start-up settle
        idle = status(pid)
        idle_rss_kb, idle_threads, idle_fds = int(idle["VmRSS"]), int(idle["Threads"]), fd_count(pid)

        scale = args.time_scale
        scenarios = [
            # name, module, concurrency, duration (s) or None, requests, greeting delay (ms)
            ("plain c=1", "smtp_banner", 1, 2.0 * scale, 0, 0),
            ("plain c=50", "smtp_banner", 50, 3.0 * scale, 0, 0),
            ("starttls c=50", "bench_starttls", 50, 3.0 * scale, 0, 0),
            ("plain c=500", "smtp_banner", 500, 3.0 * scale, 0, 0),
            ("delayed c=500", "smtp_banner", 500, 0, 500, 200),
        ]
        results = {}
        hwm_reset = False
        for name, module, concurrency, duration, requests, delay in scenarios:
            if concurrency == 500 and not hwm_reset:
                hwm_reset = reset_peak_rss(pid)
            argv = [bench_bin, "--exporter", f"127.0.0.1:{exporter.port}", "--module", module,
                    "--concurrency", str(concurrency), "--greeting-delay-ms", str(delay)]
            argv += ["--duration", str(duration)] if duration else ["--requests", str(requests)]
            if module == "bench_starttls":
                argv += ["--tls-cert", cert, "--tls-key", key]
            cpu_before = cpu_seconds(pid)
            with Sampler(pid) as sampler:
                run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            if run.returncode != 0:
                raise RuntimeError(f"{name}: smtp_bench failed ({run.returncode}): {run.stderr.strip()}")
            r = json.loads(run.stdout)
            r["exporter_cpu_us_per_probe"] = (cpu_seconds(pid) - cpu_before) * 1e6 / max(1, r["requests"])
            r["threads_max"], r["fds_max"], r["rss_max_kb"] = sampler.threads, sampler.fds, sampler.rss_kb
            results[name] = r
            if exporter.process.poll() is not None:
                raise RuntimeError(f"exporter died during {name}:\n{exporter.tail()}")
        peak_rss_kb = int(status(pid)["VmHWM"])

        # After the load: the driver's connections are closed; the sessions must go away.
        deadline = time.monotonic() + 5
        fds_after = fd_count(pid)
        while fds_after > idle_fds and time.monotonic() < deadline:
            time.sleep(0.05)
            fds_after = fd_count(pid)
        threads_after = int(status(pid)["Threads"])
    except (RuntimeError, OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        if exporter:
            exporter.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        sys.exit(f"bench: {e}")
    exporter.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    steal_after = cpu_times()
    steal_pct = 100.0 * (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1])

    # ---- report ----------------------------------------------------------------
    print(f"\nsmtp_exporter load benchmark ({os.cpu_count()} CPUs, --runtime.threads=1, {elapsed:.1f} s)\n")
    header = (f"{'scenario':<15} {'probes':>7} {'probes/s':>9} {'latency p50/p99 ms':>19} "
              f"{'overhead p50/p99':>17} {'responder p50/p99':>18} {'CPU us/probe':>12} {'threads':>7} {'fds max':>7}")
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        lat, ovh, conv = r["latency_ms"], r["overhead_ms"], r["responder"]["conversation_ms"]
        print(f"{name:<15} {r['requests']:>7} {r['rate']:>9.0f} {lat['p50']:>9.2f}/{lat['p99']:<9.2f} "
              f"{ovh['p50']:>8.2f}/{ovh['p99']:<8.2f} {conv['p50']:>8.2f}/{conv['p99']:<9.2f} "
              f"{r['exporter_cpu_us_per_probe']:>12.0f} {r['threads_max']:>7} {r['fds_max']:>7}")
    delayed = results["delayed c=500"]
    print(f"\ndelayed c=500: 500 probes, greeting after 200 ms: batch {delayed['elapsed_s'] * 1000:.0f} ms, "
          f"{delayed['responder']['max_concurrent']} conversations at once at the responder")
    print(f"memory: idle RSS {idle_rss_kb / 1024:.1f} MB, peak RSS (VmHWM{'' if hwm_reset else ', whole run'}) "
          f"{peak_rss_kb / 1024:.1f} MB")
    print(f"threads: idle {idle_threads}, under load max {max(r['threads_max'] for r in results.values())}, "
          f"after {threads_after}; fds: idle {idle_fds}, under load max "
          f"{max(r['fds_max'] for r in results.values())}, after {fds_after}")
    print(f"machine: CPU steal during the run {steal_pct:.1f} % (time the hypervisor gave to other guests)")
    print("latency: HTTP request to response at the driver; overhead: latency minus the probe's own "
          "probe_duration_seconds; responder: accept to 221 sent")

    t = targets
    checks = [
        ("idle RSS (MB)", idle_rss_kb / 1024, "<=", t["idle_rss_mb_max"]),
        ("peak RSS, 500 concurrent (MB)", peak_rss_kb / 1024, "<=", t["peak_rss_500_mb_max"]),
        ("plain c=1 probes/s", results["plain c=1"]["rate"], ">=", t["plain_c1_rate_min"]),
        ("plain c=50 probes/s", results["plain c=50"]["rate"], ">=", t["plain_c50_rate_min"]),
        ("plain c=500 probes/s", results["plain c=500"]["rate"], ">=", t["plain_c500_rate_min"]),
        ("starttls c=50 probes/s", results["starttls c=50"]["rate"], ">=", t["starttls_c50_rate_min"]),
        ("plain c=1 latency p99 (ms)", results["plain c=1"]["latency_ms"]["p99"], "<=",
         t["plain_c1_latency_p99_ms_max"]),
        ("plain c=1 overhead p50 (ms)", results["plain c=1"]["overhead_ms"]["p50"], "<=",
         t["plain_c1_overhead_p50_ms_max"]),
        ("delayed c=500 batch (s)", delayed["elapsed_s"], "<=", t["delayed_500_batch_s_max"]),
        ("delayed c=500 concurrent at responder", delayed["responder"]["max_concurrent"], ">=",
         t["delayed_500_concurrent_min"]),
        ("threads idle", idle_threads, "==", t["runtime_threads"]),
        ("threads under load (max)", max(r["threads_max"] for r in results.values()), "==", t["runtime_threads"]),
        ("fds after load minus idle", fds_after - idle_fds, "<=", t["fd_leak_max"]),
        ("failed probes + errors", sum(r["failed"] + r["errors"] for r in results.values()), "<=",
         t["failed_probes_max"]),
    ]
    ops = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}
    print(f"\n{'target':<40} {'measured':>10}    {'target':<10} result")
    missed = 0
    for name, value, op, limit in checks:
        ok = ops[op](value, limit)
        missed += not ok
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{name:<40} {shown:>10}    {op} {limit:<7} {'ok' if ok else 'MISSED'}")
    for name, r in results.items():
        if r["first_failure"]:
            print(f"\n{name}: first failed probe:\n{r['first_failure'][:1500]}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"scenarios": results, "idle_rss_kb": idle_rss_kb, "peak_rss_kb": peak_rss_kb,
                       "idle_threads": idle_threads, "threads_after": threads_after, "idle_fds": idle_fds,
                       "fds_after": fds_after, "elapsed_s": elapsed, "steal_pct": steal_pct,
                       "checks": [{"name": n, "value": v, "op": o, "target": l} for n, v, o, l in checks]},
                      f, indent=2)
    print(f"\nbench: {'all targets met' if not missed else f'{missed} target(s) missed'} ({elapsed:.1f} s)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
