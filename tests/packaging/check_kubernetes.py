#!/usr/bin/env python3
"""packaging/kubernetes/*.yaml: every manifest parses, has the expected kind and apiVersion, and
the pieces fit together: the Deployment's args are flags the binary accepts, its probes, ports,
ConfigMap and Secret references match the other manifests, its security context is locked down;
the ConfigMap's config.toml passes --config.check (with the Secret's key as the password file at
its mount path); the Probe and ScrapeConfig send to the Service, use modules of that config and
keep the module as a `module` label; the ServiceMonitor scrapes /metrics of the Service's pods as
job smtp_exporter; the PrometheusRule's groups are exactly those of alerts/*.yml.

  check_kubernetes.py --exporter BUILD/smtp_exporter [--dir packaging/kubernetes]
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import accepted_flags, check_flags, fail, repo_root  # noqa: E402

try:
    import yaml
except ImportError:
    fail("PyYAML is not installed (package python3-yaml; scripts/install-deps.sh --test)")

KINDS = {
    "Deployment": "apps/v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Probe": "monitoring.coreos.com/v1",
    "ScrapeConfig": "monitoring.coreos.com/v1alpha1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}
NAMESPACE = "monitoring"


def need(condition, message):
    if not condition:
        fail(message)


def get(obj, path, where):
    for key in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(key)] if key.isdigit() and int(key) < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(key)
        else:
            obj = None
        if obj is None:
            fail(f"{where}: {path} is missing")
    return obj


def keeps_module(relabelings):
    return any(r.get("sourceLabels") == ["__param_module"] and r.get("targetLabel") == "module"
               and r.get("action", "replace") == "replace" for r in relabelings or [])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--dir", default=os.path.join(repo_root(), "packaging/kubernetes"))
    args = parser.parse_args()
    exporter = os.path.abspath(args.exporter)
    flags = accepted_flags(exporter)

    objects = {}
    for path in sorted(glob.glob(os.path.join(args.dir, "*.yaml"))):
        for doc in yaml.safe_load_all(open(path)):
            if doc is None:
                continue
            where = os.path.basename(path)
            kind = get(doc, "kind", where)
            need(kind in KINDS, f"{where}: unexpected kind {kind}")
            need(doc.get("apiVersion") == KINDS[kind], f"{where}: {kind} must be {KINDS[kind]}, not {doc.get('apiVersion')}")
            get(doc, "metadata.name", where)
            need(get(doc, "metadata.namespace", where) == NAMESPACE, f"{where}: namespace must be {NAMESPACE}")
            need(kind not in objects, f"{where}: a second {kind}")
            if kind != "ConfigMap" and kind != "Secret":
                get(doc, "spec", where)
            objects[kind] = (where, doc)
    need(set(objects) == set(KINDS), f"missing manifests: {sorted(set(KINDS) - set(objects))}")

    where, deployment = objects["Deployment"]
    need(get(deployment, "metadata.name", where) == "smtp-exporter", f"{where}: the Deployment must be smtp-exporter")
    pod_labels = get(deployment, "spec.template.metadata.labels", where)
    selector = get(deployment, "spec.selector.matchLabels", where)
    need(selector.items() <= pod_labels.items(), f"{where}: selector {selector} does not match the pod labels")
    pod = get(deployment, "spec.template.spec", where)
    containers = get(pod, "containers", where)
    need(len(containers) == 1, f"{where}: one container expected")
    container = containers[0]
    argv = get(container, "args", where)
    check_flags(argv, flags, f"{where} container args")
    options = dict(a.split("=", 1) for a in argv if "=" in a)

    # Security context.
    pod_sc, sc = pod.get("securityContext", {}), get(container, "securityContext", where)
    need(sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot"), f"{where}: runAsNonRoot must be true")
    need((sc.get("runAsUser", pod_sc.get("runAsUser")) or 0) != 0, f"{where}: runAsUser must not be 0")
    need(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem must be true")
    need(sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation must be false")
    need(get(sc, "capabilities.drop", where) == ["ALL"], f"{where}: capabilities.drop must be [ALL]")
    for kind in ("requests", "limits"):
        need(get(container, f"resources.{kind}.memory", where), f"{where}: resources.{kind}.memory")

    # Ports and probes.
    ports = {p.get("name"): p["containerPort"] for p in get(container, "ports", where)}
    listen = options.get("--web.listen-address", ":9587")
    need(int(listen.rsplit(":", 1)[1]) in ports.values(), f"{where}: listen address {listen} is not a containerPort")
    for probe in ("livenessProbe", "readinessProbe"):
        http = get(container, f"{probe}.httpGet", where)
        need(http.get("path") == "/-/healthy", f"{where}: {probe} must GET /-/healthy")
        port = http.get("port")
        need(port in ports or port in ports.values(), f"{where}: {probe} port {port} is not a container port")

    # Volumes: the config file is in a ConfigMap volume, the password in a Secret volume.
    _, configmap = objects["ConfigMap"]
    _, secret = objects["Secret"]
    volumes = {v["name"]: v for v in get(pod, "volumes", where)}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in get(container, "volumeMounts", where)}
    config_path = options.get("--config.file", "")
    config_dir, config_name = os.path.split(config_path)
    need(config_dir in mounts and "configMap" in mounts[config_dir],
         f"{where}: --config.file={config_path} is not in a ConfigMap volume mount")
    need(mounts[config_dir]["configMap"]["name"] == configmap["metadata"]["name"],
         f"{where}: the config volume does not use ConfigMap {configmap['metadata']['name']}")
    config_text = get(configmap, "data", objects["ConfigMap"][0]).get(config_name)
    need(config_text, f"{objects['ConfigMap'][0]}: data has no {config_name}")
    secret_mounts = {path: v["secret"]["secretName"] for path, v in mounts.items() if "secret" in v}
    need(secret["metadata"]["name"] in secret_mounts.values(), f"{where}: Secret {secret['metadata']['name']} is not mounted")
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))

    # The ConfigMap's config: password files must be Secret keys at a Secret mount; then --config.check.
    with tempfile.TemporaryDirectory() as tmp:
        for path in re.findall(r'^\s*password_file\s*=\s*"([^"]+)"', config_text, re.M):
            directory, key = os.path.split(path)
            need(secret_mounts.get(directory) == secret["metadata"]["name"] and key in secret_keys,
                 f"ConfigMap: password_file {path} is not a key of Secret {secret['metadata']['name']} "
                 f"mounted at {directory} (mounts: {secret_mounts}, keys: {sorted(secret_keys)})")
            local = os.path.join(tmp, key)
            with open(local, "w") as f:
                f.write("test-password\n")
            config_text = config_text.replace(f'"{path}"', f'"{local}"')
        config = os.path.join(tmp, config_name)
        with open(config, "w") as f:
            f.write(config_text)
        check = subprocess.run([exporter, "--config.check", f"--config.file={config}"], capture_output=True, text=True)
        need(check.returncode == 0, f"ConfigMap {config_name}: --config.check failed:\n{check.stdout}{check.stderr}")
        print(f"ConfigMap {config_name}: {check.stdout.strip()}")
    modules = set(re.findall(r"^\s*\[modules\.([A-Za-z0-9_-]+)\]", config_text, re.M))

    # Service.
    where, service = objects["Service"]
    need(get(service, "spec.selector", where).items() <= pod_labels.items(), f"{where}: selector does not match the pods")
    service_ports = get(service, "spec.ports", where)
    need(any(p["port"] == 9587 and (p.get("targetPort") in ports or p.get("targetPort") in ports.values())
             for p in service_ports), f"{where}: port 9587 to a container port expected")
    address = f"{service['metadata']['name']}.{NAMESPACE}.svc:9587"

    # prometheus-operator resources.
    where, probe = objects["Probe"]
    need(get(probe, "spec.prober.url", where) == address, f"{where}: prober.url must be {address}")
    need(get(probe, "spec.prober.path", where) == "/probe", f"{where}: prober.path must be /probe")
    need(get(probe, "spec.module", where) in modules, f"{where}: module {probe['spec']['module']} not in {sorted(modules)}")
    need(get(probe, "spec.targets.staticConfig.static", where), f"{where}: no static targets")
    need(keeps_module(probe["spec"]["targets"]["staticConfig"].get("relabelingConfigs")),
         f"{where}: targets.staticConfig.relabelingConfigs must copy __param_module to the module label")

    where, scrape = objects["ScrapeConfig"]
    need(get(scrape, "spec.metricsPath", where) == "/probe", f"{where}: metricsPath must be /probe")
    for module in get(scrape, "spec.params.module", where):
        need(module in modules, f"{where}: module {module} not in {sorted(modules)}")
    need(get(scrape, "spec.staticConfigs.0.targets", where), f"{where}: no targets")
    relabelings = get(scrape, "spec.relabelings", where)
    need(any(r.get("targetLabel") == "__param_target" and r.get("sourceLabels") == ["__address__"] for r in relabelings),
         f"{where}: __address__ -> __param_target relabeling missing")
    need(any(r.get("targetLabel") == "__address__" and r.get("replacement") == address for r in relabelings),
         f"{where}: __address__ must be replaced with {address}")
    need(keeps_module(relabelings), f"{where}: relabelings must copy __param_module to the module label")

    where, monitor = objects["ServiceMonitor"]
    need(get(monitor, "spec.selector.matchLabels", where).items() <= service["metadata"].get("labels", {}).items(),
         f"{where}: selector does not match the Service's labels {service['metadata'].get('labels')}")
    need(NAMESPACE in get(monitor, "spec.namespaceSelector.matchNames", where), f"{where}: namespaceSelector must name {NAMESPACE}")
    endpoints = get(monitor, "spec.endpoints", where)
    need(len(endpoints) == 1, f"{where}: one endpoint expected")
    need(endpoints[0].get("port") in {p.get("name") for p in service_ports},
         f"{where}: port {endpoints[0].get('port')} is not a named port of the Service")
    need(endpoints[0].get("path", "/metrics") == "/metrics", f"{where}: path must be /metrics")
    need(any(r.get("targetLabel") == "job" and r.get("replacement") == "smtp_exporter"
             for r in endpoints[0].get("relabelings", [])), f"{where}: the job label must be smtp_exporter")

    where, rule = objects["PrometheusRule"]
    expected = []
    for path in sorted(glob.glob(os.path.join(repo_root(), "alerts/*.yml"))):
        expected += yaml.safe_load(open(path))["groups"]
    groups = get(rule, "spec.groups", where)
    need(groups == expected, f"{where}: spec.groups differ from alerts/*.yml (run scripts/mixin.sh)")
    alerts = [r["alert"] for g in groups for r in g["rules"] if "alert" in r]
    need(alerts, f"{where}: no alerts")
    print(f"{where}: {len(groups)} groups, {len(alerts)} alerts, the same as alerts/*.yml")
    print(f"{len(objects)} manifests consistent: {', '.join(sorted(objects))}")


if __name__ == "__main__":
    main()
