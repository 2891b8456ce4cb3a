"""A real Prometheus (the Debian package's /usr/bin/prometheus) on a free loopback port, with a
scrape config derived from the shipped docs/examples/prometheus.yml and the shipped alerting
rules, plus a small client for its HTTP API.

Only this module needs PyYAML (Debian package python3-yaml, in scripts/install-deps.sh --test):
the shipped files are YAML, and they are loaded and rewritten, not copied by hand, so the test
exercises their relabeling and their rules as they are.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from .net import free_port, stop_process

PROMETHEUS_BINARY = "/usr/bin/prometheus"
# No proxy, ever: the requests must reach 127.0.0.1 (as in exporter.py).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PrometheusError(AssertionError):
    """Prometheus did not start, or its API answered an error. Includes its log tail."""


def _yaml():
    try:
        import yaml
    except ImportError:
        # An error, not a skip: the suite would otherwise pass without testing anything.
        raise PrometheusError("PyYAML is missing: install the Debian package python3-yaml "
                              "(scripts/install-deps.sh --test)") from None
    return yaml


def derive_scrape_config(shipped_path, exporter_address, targets, extra_jobs=None, rule_files=(),
                         scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s"):
    """The shipped scrape config with the harness' targets and exporter address, as a dict.

    shipped_path      docs/examples/prometheus.yml
    exporter_address  "127.0.0.1:PORT" of the exporter under test
    targets           {job_name: [static_config, ...]} for every /probe job of the shipped file
                      (a static_config is {"targets": [...], "labels": {...}}); a /probe job
                      missing from it is an error, so a job added to the example is not silently
                      left out of the test
    extra_jobs        {new_job_name: (shipped_job_to_copy, module, [static_config, ...])}: more
                      /probe jobs, copies of a shipped one (same relabeling) with another module
    rule_files        paths for rule_files (replacing the shipped path)

    What is kept as shipped: every job's metrics_path, params and relabel_configs, except that
    the relabel rule that sets __address__ gets exporter_address as its replacement. The job that
    scrapes the exporter itself (no metrics_path /probe) gets exporter_address as its target."""
    yaml = _yaml()
    with open(shipped_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    config["global"] = {**config.get("global", {}), "scrape_interval": scrape_interval,
                        "scrape_timeout": scrape_timeout, "evaluation_interval": evaluation_interval}
    config["rule_files"] = list(rule_files)
    jobs = []
    by_name = {}
    for job in config["scrape_configs"]:
        name = job["job_name"]
        by_name[name] = job
        if job.get("metrics_path") == "/probe":
            if name not in targets:
                raise PrometheusError(f"{shipped_path}: the harness has no targets for job {name!r}; "
                                      "add it to the targets of the test")
            job["static_configs"] = targets[name]
            rewritten = [r for r in job.get("relabel_configs", []) if r.get("target_label") == "__address__"]
            if len(rewritten) != 1:
                raise PrometheusError(f"{shipped_path}: job {name!r} should have exactly one relabel rule "
                                      f"setting __address__ (the exporter), found {len(rewritten)}")
            rewritten[0]["replacement"] = exporter_address
        else:
            job["static_configs"] = [{"targets": [exporter_address]}]
        jobs.append(job)
    for name, (template, module, static_configs) in (extra_jobs or {}).items():
        job = json.loads(json.dumps(by_name[template]))  # deep copy of the already rewritten job
        job["job_name"] = name
        job["params"] = {**job.get("params", {}), "module": [module]}
        job["static_configs"] = static_configs
        jobs.append(job)
    config["scrape_configs"] = jobs
    unknown = set(targets) - set(by_name)
    if unknown:
        raise PrometheusError(f"{shipped_path} has no jobs {sorted(unknown)}")
    return config


def shorten_for(rules_path, duration):
    """The shipped rules file as a dict, with every `for:` (and `keep_firing_for:`) set to
    `duration`, so that alerts fire within seconds. The durations themselves are covered by
    the promtool unit tests of the rules (alerts/tests/)."""
    yaml = _yaml()
    with open(rules_path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = duration
    return rules


class Prometheus:
    """Context manager: `prometheus --config.file=<tmp>/prometheus.yml --storage.tsdb.path=<tmp>/data
    --web.listen-address=127.0.0.1:PORT`, ready once GET /-/ready answers 200.

    config      the configuration as a dict (written as YAML)
    rule_files  {file name: rules dict}, written next to the config; name them in
                config["rule_files"] as os.path.join(prometheus.dir, name), or use rules_path()
    Attributes: port, url, dir (temporary, removed on stop), log_file, process."""

    def __init__(self, binary=PROMETHEUS_BINARY, start_timeout=30.0):
        self.binary = binary
        self.start_timeout = start_timeout
        self.process = None
        self.dir = tempfile.mkdtemp(prefix="smtp-exporter-prometheus-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = os.path.join(self.dir, "prometheus.log")
        self.config_file = os.path.join(self.dir, "prometheus.yml")

    def path(self, name):
        """Where a file given to start() is written (for rule_files in the config)."""
        return os.path.join(self.dir, name)

    def start(self, config, files=None):
        """Write config (dict) and files ({name: dict}) as YAML, start Prometheus, wait until ready."""
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise PrometheusError(f"Prometheus binary {self.binary!r} does not exist or is not executable "
                                  "(Debian package prometheus, scripts/install-deps.sh --test)")
        yaml = _yaml()
        for name, content in (files or {}).items():
            with open(self.path(name), "w", encoding="utf-8") as f:
                yaml.safe_dump(content, f, sort_keys=False)
        with open(self.config_file, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        argv = [self.binary, f"--config.file={self.config_file}",
                f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info"]
        with open(self.log_file, "wb") as log:
            # cwd: Prometheus resolves its default console paths against it; keep it in our dir.
            self.process = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        last = None
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise PrometheusError(f"{' '.join(argv)} exited with {code} during start-up\n{self.log_tail()}")
            try:
                with _OPENER.open(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
                    last = f"HTTP {r.status}"
            except (OSError, urllib.error.HTTPError) as e:
                last = repr(e)
            if time.monotonic() >= deadline:
                raise PrometheusError(f"GET /-/ready did not answer 200 within {self.start_timeout} s "
                                      f"(last: {last})\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self):
        """SIGTERM by PID, SIGKILL after 10 s; remove the temporary directory. Safe to call twice."""
        self.process = stop_process(self.process, timeout=10)  # by its PID
        if self.dir and not os.environ.get("SMTP_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def log_tail(self, lines=30):
        try:
            with open(self.log_file, errors="replace") as f:
                return f"--- prometheus log (tail) ---\n{''.join(f.readlines()[-lines:])}"
        except (OSError, TypeError) as e:
            return f"(no prometheus log: {e})"

    # ---- HTTP API ----------------------------------------------------------------------

    def api(self, path, params=None, timeout=10):
        """GET /api/v1/<path>?params; return its "data". A 4xx/5xx or a status other than
        "success" raises PrometheusError with Prometheus' error message."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with _OPENER.open(url, timeout=timeout) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as e:
            with e:
                text = e.read().decode("utf-8", errors="replace")
            try:
                body = json.loads(text)
            except ValueError:
                raise PrometheusError(f"GET {url}: HTTP {e.code}: {text[:500]}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"GET {url}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr):
        """Instant query at the current time; returns the result list ([] when empty). A scalar or
        string result comes back as a one-element list."""
        data = self.api("query", {"query": expr})
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def label_values(self, label, match=None):
        return self.api(f"label/{urllib.parse.quote(label, safe='')}/values",
                        {"match[]": match} if match else None)

    def targets(self):
        return self.api("targets", {"state": "active"})["activeTargets"]

    def alerts(self):
        return self.api("alerts")["alerts"]

    def rule_groups(self):
        return self.api("rules")["groups"]
