#!/usr/bin/env python3
"""docs/deployment.md: every YAML block holding scrape_configs is a valid Prometheus
configuration (promtool check config), every probe job in them keeps its module as the `module`
label, and the `hashmod` sharding example sends each shard to its own exporter (one rule per
shard number, modulus = number of exporters).

  check_docs.py [--doc docs/deployment.md]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fail, repo_root  # noqa: E402

try:
    import yaml
except ImportError:
    fail("PyYAML is not installed (package python3-yaml; scripts/install-deps.sh --test)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--doc", default=os.path.join(repo_root(), "docs/deployment.md"))
    parser.add_argument("--exporter", help="unused; every packaging check takes it")
    args = parser.parse_args()
    if not shutil.which("promtool"):
        fail("promtool is not installed (package prometheus; scripts/install-deps.sh --test)")
    blocks = [b for b in re.findall(r"^```yaml\n(.*?)^```", open(args.doc).read(), re.M | re.S)
              if "scrape_configs:" in b]
    if len(blocks) < 2:
        fail(f"{args.doc}: expected the sharded scrape configurations, found {len(blocks)} block(s)")
    with tempfile.TemporaryDirectory() as tmp:
        for i, block in enumerate(blocks):
            path = os.path.join(tmp, f"prometheus-{i}.yml")
            with open(path, "w") as f:
                f.write(block)
            check = subprocess.run(["promtool", "check", "config", path], capture_output=True, text=True)
            if check.returncode != 0:
                fail(f"block {i + 1} of {args.doc}:\n{block}\npromtool: {check.stdout}{check.stderr}")
    sharded = blocks[0]
    modulus = int(re.search(r"modulus:\s*(\d+)", sharded).group(1))
    shards = sorted(int(n) for n in re.findall(r'regex:\s*"(\d+)"\s*\n\s*target_label: __address__', sharded))
    exporters = re.findall(r"replacement:\s*(\S+:9587)", sharded)
    if shards != list(range(modulus)) or len(set(exporters)) != modulus:
        fail(f"sharding example: modulus {modulus}, shard rules {shards}, exporters {exporters}")
    # Every probe job keeps its module as the `module` label (the dashboards and alerts use it).
    for i, block in enumerate(blocks):
        for job in yaml.safe_load(block)["scrape_configs"]:
            if "module" in job.get("params", {}) and not any(
                    r.get("source_labels") == ["__param_module"] and r.get("target_label") == "module"
                    for r in job.get("relabel_configs", [])):
                fail(f"block {i + 1} of {args.doc}: job {job['job_name']} does not copy __param_module to module")
    print(f"{len(blocks)} Prometheus configurations pass promtool; {modulus} shards -> {len(set(exporters))} exporters")


if __name__ == "__main__":
    main()
