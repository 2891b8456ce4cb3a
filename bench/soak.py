#!/usr/bin/env python3
"""Soak run of smtp_exporter: a fixed probe rate for a long time; RSS and fds must stay flat.

    bench/soak.py BUILD_DIR [--minutes 30] [--rate 200] [--json FILE]

BUILD_DIR holds smtp_exporter and bench/smtp_bench (bench/soak.sh builds them if missing). One
fresh exporter on 127.0.0.1 (free port); two smtp_bench processes (each with its own responder)
send it --rate probes per second in all: (1 - --starttls-share) of them with a plain module
(greeting, EHLO, QUIT) and the rest with STARTTLS (EHLO, STARTTLS, TLS handshake with
verification, EHLO, QUIT), over keep-alive HTTP connections that are closed and reopened every
100 requests. Every --sample-s seconds it prints the exporter's VmRSS, fd count, threads and CPU,
and the probes answered so far.

Verdict (exit 0 flat, 1 not flat, 2 setup error):
- RSS growth from the first sample after the warm-up (--warmup-minutes, default 2, or a quarter
  of the run when it is shorter than 8 minutes) to the last sample under load is below
  --rss-growth-mb-max (default 2 MB);
- the fd count comes back to the idle count within 5 s after the load;
- no probe failed and no HTTP error.
Not part of CI; docs/performance.md, "Soak". Standard library only.
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import (Exporter, SetupError, cpu_seconds, cpu_times, fd_count, machine, make_certificate,  # noqa: E402
                     raise_nofile, status, stop_all)

HERE = os.path.dirname(os.path.abspath(__file__))


def write_config(workdir, cert):
    path = os.path.join(workdir, "soak.toml")
    with open(path, "w") as f:
        f.write(f"""# bench/soak.py
[modules.soak_plain]
tls = "none"
ehlo_name = "bench.local"
ip_protocol = "ip4"
timeout = "5s"

[modules.soak_starttls]
tls = "starttls"
ehlo_name = "bench.local"
ip_protocol = "ip4"
timeout = "5s"
[modules.soak_starttls.tls_config]
server_name = "bench.test"
ca_file = "{cert}"
""")
    return path


class Driver:
    """One smtp_bench --role both process at a fixed rate; follows its progress lines."""

    def __init__(self, bench, exporter, module, rate, concurrency, seconds, sample_s, extra):
        argv = [bench, "--exporter", exporter.address, "--module", module, "--rate", f"{rate:.3f}",
                "--concurrency", str(concurrency), "--duration", str(seconds), "--per-connection", "100",
                "--progress-s", str(sample_s)] + extra
        self.module = module
        self.latest = {"ok": 0, "failed": 0, "errors": 0, "http_503": 0}
        self.stderr_tail = []
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stderr:
            try:
                self.latest = json.loads(line)
            except ValueError:
                self.stderr_tail = (self.stderr_tail + [line.rstrip()])[-10:]

    def finish(self, timeout):
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise SetupError(f"smtp_bench ({self.module}) did not finish in time")
        self._reader.join(timeout=5)
        if self.process.returncode != 0:
            raise SetupError(f"smtp_bench ({self.module}) failed ({self.process.returncode}): "
                             f"{' '.join(self.stderr_tail)}")
        return json.loads(out)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200, help="probes per second in all (default 200)")
    parser.add_argument("--starttls-share", type=float, default=0.25,
                        help="the part of the rate that uses STARTTLS (default 0.25)")
    parser.add_argument("--sample-s", type=float, default=10)
    parser.add_argument("--warmup-minutes", type=float, help="default 2, or minutes / 4 for runs under 8 minutes")
    parser.add_argument("--rss-growth-mb-max", type=float, default=2.0)
    parser.add_argument("--json", help="also write the samples and the verdict to this file")
    parser.add_argument("--ours-flag", action="append", default=[], help="extra flag for smtp_exporter (repeatable)")
    args = parser.parse_args()
    warmup_s = 60 * (args.warmup_minutes if args.warmup_minutes is not None
                     else (2 if args.minutes >= 8 else args.minutes / 4))
    seconds = args.minutes * 60

    exporter_bin = os.path.join(args.build_dir, "smtp_exporter")
    bench = os.path.join(args.build_dir, "bench", "smtp_bench")
    for path in (exporter_bin, bench):
        if not os.access(path, os.X_OK):
            print(f"soak: {path} not found; bench/soak.sh builds it", file=sys.stderr)
            return 2

    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    workdir = tempfile.mkdtemp(prefix="smtp-exporter-soak-")
    drivers = []
    samples = []
    steal_before = cpu_times()
    try:
        cert, key = make_certificate(workdir)
        exporter = Exporter("ours-soak", [exporter_bin, f"--config.file={write_config(workdir, cert)}"]
                            + args.ours_flag, workdir)
        pid = exporter.pid
        time.sleep(0.5)
        idle = status(pid)
        idle_rss_kb, idle_fds = int(idle["VmRSS"]), fd_count(pid)
        print(f"soak: {when}, {machine()}; {args.minutes:g} min at {args.rate:g} probes/s "
              f"({args.starttls_share:.0%} STARTTLS), warm-up {warmup_s / 60:g} min; "
              f"idle RSS {idle_rss_kb / 1024:.1f} MB, {idle_fds} fds", flush=True)
        tls_rate = args.rate * args.starttls_share
        plain_rate = args.rate - tls_rate
        started = time.monotonic()
        if plain_rate > 0:
            drivers.append(Driver(bench, exporter, "soak_plain", plain_rate, 16, seconds, args.sample_s, []))
        if tls_rate > 0:
            drivers.append(Driver(bench, exporter, "soak_starttls", tls_rate, 8, seconds, args.sample_s,
                                  ["--tls-cert", cert, "--tls-key", key]))

        print(f"\n{'t (s)':>7} {'RSS MB':>8} {'fds':>5} {'threads':>7} {'CPU %':>6} {'probes ok':>10} "
              f"{'failed':>7} {'errors':>7}", flush=True)
        cpu_last, t_last = cpu_seconds(pid), 0.0
        next_sample = started + args.sample_s + 0.5  # just after the drivers' progress lines
        while any(d.process.poll() is None for d in drivers):
            time.sleep(max(0.0, min(next_sample, started + seconds + 1.5) - time.monotonic()))
            if time.monotonic() < next_sample:
                continue
            next_sample += args.sample_s
            exporter.check_alive("the soak")
            st = status(pid)
            t = time.monotonic() - started
            cpu = cpu_seconds(pid)
            sample = {"t": round(t, 1), "rss_kb": int(st["VmRSS"]), "fds": fd_count(pid),
                      "threads": int(st["Threads"]), "cpu_pct": 100 * (cpu - cpu_last) / max(1e-9, t - t_last),
                      "ok": sum(d.latest["ok"] for d in drivers),
                      "failed": sum(d.latest["failed"] for d in drivers),
                      "errors": sum(d.latest["errors"] for d in drivers)}
            cpu_last, t_last = cpu, t
            if t <= seconds + args.sample_s / 2:  # the last one at the end of the load
                samples.append(sample)
            print(f"{sample['t']:>7.0f} {sample['rss_kb'] / 1024:>8.2f} {sample['fds']:>5} {sample['threads']:>7} "
                  f"{sample['cpu_pct']:>6.1f} {sample['ok']:>10} {sample['failed']:>7} {sample['errors']:>7}",
                  flush=True)
        results = [d.finish(timeout=30) for d in drivers]
        deadline = time.monotonic() + 5
        fds_after = fd_count(pid)
        while fds_after > idle_fds and time.monotonic() < deadline:
            time.sleep(0.1)
            fds_after = fd_count(pid)
        after = status(pid)
        rss_after_kb, vm_hwm_kb = int(after["VmRSS"]), int(after["VmHWM"])
        exporter.stop()
    except (SetupError, OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    finally:
        for d in drivers:
            d.stop()
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    steal_after = cpu_times()
    steal_pct = 100.0 * (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1])

    after_warmup = [s for s in samples if s["t"] >= warmup_s]
    if len(after_warmup) < 2:
        print("soak: too few samples after the warm-up; run longer or lower --warmup-minutes", file=sys.stderr)
        return 2
    first, last = after_warmup[0], after_warmup[-1]
    growth_mb = (last["rss_kb"] - first["rss_kb"]) / 1024
    fds_loaded = [s["fds"] for s in after_warmup]
    answered = sum(r["requests"] for r in results)
    failed = sum(r["failed"] + r["errors"] for r in results)
    achieved = answered / seconds
    checks = [
        (f"RSS growth t={first['t']:.0f}s -> t={last['t']:.0f}s (MB)", growth_mb, growth_mb < args.rss_growth_mb_max,
         f"< {args.rss_growth_mb_max:g}"),
        ("fds after the load - idle", fds_after - idle_fds, fds_after <= idle_fds, "<= 0"),
        ("failed probes + HTTP errors", failed, failed == 0, "= 0"),
    ]
    print(f"\nsoak: {answered} probes in {seconds:.0f} s ({achieved:.1f}/s); RSS idle {idle_rss_kb / 1024:.2f} MB, "
          f"after warm-up {first['rss_kb'] / 1024:.2f} MB, end of load {last['rss_kb'] / 1024:.2f} MB, "
          f"after {rss_after_kb / 1024:.2f} MB, VmHWM {vm_hwm_kb / 1024:.2f} MB; fds idle {idle_fds}, under load "
          f"{min(fds_loaded)}-{max(fds_loaded)}, after {fds_after}; CPU steal {steal_pct:.1f} %")
    for r in results:
        lat = r["latency_ms"]
        print(f"  {r['module']}: {r['requests']} probes ({r['rate']:.1f}/s), latency p50 {lat['p50']:.2f} ms, "
              f"p99 {lat['p99']:.2f} ms, failed {r['failed']}, errors {r['errors']}"
              + (f"; first failure: {r['first_failure'][:300]}" if r["first_failure"] else ""))
    print(f"\n{'check':<40} {'measured':>10}   {'target':<8} result")
    flat = True
    for name, value, ok, target in checks:
        flat &= ok
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{name:<40} {shown:>10}   {target:<8} {'ok' if ok else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": when, "machine": machine(), "minutes": args.minutes, "rate": args.rate,
                       "idle_rss_kb": idle_rss_kb, "idle_fds": idle_fds, "samples": samples,
                       "fds_after": fds_after, "rss_after_kb": rss_after_kb, "vm_hwm_kb": vm_hwm_kb,
                       "drivers": results, "steal_pct": steal_pct, "flat": flat,
                       "checks": [{"name": n, "value": v, "ok": o, "target": t} for n, v, o, t in checks]},
                      f, indent=2)
    print(f"\nsoak: {'flat' if flat else 'NOT flat'}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
