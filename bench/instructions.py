#!/usr/bin/env python3
"""Instructions per probe of two smtp_exporter binaries, counted by callgrind.

    bench/instructions.py BEFORE_BINARY AFTER_BINARY [--bench-dir DIR] [--probes N]

CPU time per probe (bench/compare.py) moves by 10-30 % between runs on a shared machine; the
user-space instructions that callgrind counts do not move at all between runs of one binary,
so a change of a few percent (the "within 5 %" of a refactoring) can be told apart. Kernel time
is not counted: compare the system calls per probe separately (strace -c -f -p PID; they were
identical when this was written, see docs/performance.md).

For each binary, under valgrind --tool=callgrind, with the modules of bench/compare.py: 200
warm-up probes (the lazy TLS context, the allocator's pools), the counters zeroed, then N probes
(default 2,000 greeting, 500 STARTTLS) at concurrency 8 through bench/smtp_bench, and the
counters dumped. The STARTTLS figure is also set against bench/tls_floor, the sequential
reference client of the same OpenSSL: its instructions per conversation are the difference of
a 220 and a 20 conversation run (start-up cancels out).

Needs valgrind (not a dependency of the build: apt-get install valgrind). Everything runs on
127.0.0.1 on free ports; every process started here is stopped by its PID.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import (Exporter, Responder, SetupError, make_certificate, ours_config,  # noqa: E402
                     run_driver, stop_all)

WARM_UP = 200


def callgrind_total(path):
    """The event total a callgrind output file ends with ("totals: N" or "summary: N")."""
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:totals|summary):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise SetupError(f"no totals in {path}")


def instructions_per_probe(binary, config, bench, responder_port, module, probes, workdir, tag):
    out = os.path.join(workdir, f"callgrind.{tag}.out")
    exporter = Exporter(tag, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary,
                              f"--config.file={config}", "--log.level=error"], workdir)
    driver = ["--exporter", exporter.address, "--target", f"127.0.0.1:{responder_port}", "--module", module,
              "--concurrency", "8"]
    try:
        run_driver(bench, ["--role", "driver", *driver, "--requests", str(WARM_UP)])
        subprocess.run(["callgrind_control", "-z", str(exporter.pid)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        result = run_driver(bench, ["--role", "driver", *driver, "--requests", str(probes)])
        subprocess.run(["callgrind_control", "-d", str(exporter.pid)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    finally:
        exporter.stop()
    if result["ok"] != probes:
        raise SetupError(f"{tag}: {probes - result['ok']} probes failed: {result.get('first_failure')}")
    return callgrind_total(out + ".1") / probes


def floor_per_conversation(floor_bin, port, cert, workdir):
    totals = []
    for n in (20, 220):
        out = os.path.join(workdir, f"callgrind.floor{n}.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", floor_bin, "--target",
                        f"127.0.0.1:{port}", "--ca-file", cert, "--server-name", "bench.test", "--ehlo",
                        "bench.local", "--conversations", str(n)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        totals.append(callgrind_total(out))
    return (totals[1] - totals[0]) / 200


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--bench-dir", default="build/bench",
                        help="holds smtp_bench and tls_floor (default build/bench)")
    parser.add_argument("--probes", type=int, default=2000, help="greeting probes per binary (STARTTLS: a quarter)")
    args = parser.parse_args()
    bench = os.path.join(args.bench_dir, "smtp_bench")
    floor_bin = os.path.join(args.bench_dir, "tls_floor")
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            print(f"instructions.py: {tool} not found (apt-get install valgrind)", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="smtp-instructions-") as workdir:
        try:
            cert, key = make_certificate(workdir)
            config = ours_config(workdir, cert)
            plain = Responder(bench, 0, workdir, nice=0, name="responder")
            tls = Responder(bench, 0, workdir, extra=["--tls-cert", cert, "--tls-key", key], nice=0,
                            name="tls-responder")
            rows = {}
            for tag, binary in (("before", args.before), ("after", args.after)):
                rows[tag] = (
                    instructions_per_probe(binary, config, bench, plain.port, "bench_greeting", args.probes,
                                           workdir, f"{tag}-greeting"),
                    instructions_per_probe(binary, config, bench, tls.port, "bench_starttls",
                                           max(args.probes // 4, 1), workdir, f"{tag}-starttls"))
            floor = floor_per_conversation(floor_bin, tls.port, cert, workdir)
        except (SetupError, subprocess.CalledProcessError) as e:
            print(f"instructions.py: {e}", file=sys.stderr)
            return 2
        finally:
            stop_all()
    print("user-space instructions per probe (callgrind)")
    print(f"{'':10} {'greeting':>12} {'STARTTLS':>12} {'STARTTLS / tls_floor':>22}")
    for tag, (greeting, starttls) in rows.items():
        print(f"{tag:10} {greeting:12,.0f} {starttls:12,.0f} {starttls / floor:22.3f}")
    (g0, s0), (g1, s1) = rows["before"], rows["after"]
    print(f"{'change':10} {100 * (g1 / g0 - 1):+11.1f}% {100 * (s1 / s0 - 1):+11.1f}%")
    print(f"tls_floor: {floor:,.0f} per conversation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
