#!/usr/bin/env python3
"""packaging/docker/Dockerfile, without a Docker engine:

- the build stage uses the project's scripts (install-deps.sh, build.sh Release, no tests) and
  the runtime stage copies the binary from where build.sh put it;
- the runtime stage (debian:bookworm-slim) installs a package for every shared library the
  binary needs: the packages dpkg-shlibdeps finds for the built binary (and, with --depends, the
  Depends line of the .deb) must be in its apt-get install list or in the base image (Essential
  packages and apt, with their dependencies, as on this bookworm host);
- it runs as a non-root user, exposes 9587, and its ENTRYPOINT/CMD are accepted flags with the
  config at /etc/smtp_exporter/config.toml;
- its HEALTHCHECK command succeeds against a running exporter and fails without one;
- the HEALTHCHECK of docs/agent.md (on /healthz) passes while agent mode is Healthy or Degraded
  and fails when it is Unhealthy (503) or the exporter is down;
- both HEALTHCHECKs only run programs the runtime image has (no curl or wget in bookworm-slim).

  check_docker.py --exporter BUILD/smtp_exporter [--depends "$(dpkg-deb -f X.deb Depends)"]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import accepted_flags, check_flags, fail, free_port, http_get, repo_root, stop, wait_healthy  # noqa: E402


def instructions(path):
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    out, buffer = [], ""
    for line in open(path):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        if buffer:
            keyword, _, rest = buffer.partition(" ")
            out.append((keyword.upper(), rest.strip()))
        buffer = ""
    return out


def stages(path):
    result, current = {}, None
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            current = m.group(2) or str(len(result))
            result[current] = {"from": m.group(1), "steps": []}
        elif current is not None:
            result[current]["steps"].append((keyword, rest))
    return result


def package_names(depends):
    """Package names of a Depends-style field ("a (>= 1), b | c"): every alternative."""
    names = set()
    for item in depends.split(","):
        for alternative in item.split("|"):
            name = alternative.strip().split(" ")[0].split(":")[0]
            if name:
                names.add(name)
    return names


def shlib_packages(binary):
    with tempfile.TemporaryDirectory() as tmp:
        os.mkdir(os.path.join(tmp, "debian"))
        open(os.path.join(tmp, "debian", "control"), "w").close()
        out = subprocess.run(["dpkg-shlibdeps", "-O", "-e", os.path.abspath(binary)], cwd=tmp,
                             capture_output=True, text=True)
    m = re.search(r"^shlibs:Depends=(.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        fail(f"dpkg-shlibdeps failed:\n{out.stdout}{out.stderr}")
    return package_names(m.group(1))


def base_image_packages():
    """Essential packages and apt, closed over Pre-Depends/Depends: what debian:bookworm-slim
    (a minbase debootstrap) always holds."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Pre-Depends}\t${Depends}\t${Status}\n"],
                         capture_output=True, text=True, check=True).stdout
    info = {}
    for line in out.splitlines():
        package, essential, pre, dep, status = line.split("\t")
        if status.endswith(" installed"):
            info[package] = (essential == "yes", f"{pre},{dep}")
    todo = [p for p, (essential, _) in info.items() if essential] + ["apt"]
    base = set()
    while todo:
        package = todo.pop()
        if package in base or package not in info:
            continue
        base.add(package)
        for item in info[package][1].split(","):
            alternatives = [a.strip().split(" ")[0].split(":")[0] for a in item.split("|") if a.strip()]
            installed = [a for a in alternatives if a in info]
            if installed:
                todo.append(installed[0])
    return base


def apt_installs(steps):
    packages = set()
    for keyword, rest in steps:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            words = command.split()
            if "apt-get" in words and "install" in words:
                packages |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return packages


def exec_form(rest, where):
    try:
        value = json.loads(rest)
    except json.JSONDecodeError:
        fail(f"{where} must use the exec (JSON array) form, got: {rest}")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(f"{where} is not a JSON array of strings: {rest}")
    return value


BUILTINS = {"exec", "printf", "echo", "test", "[", "read", "true", "false", "cd", "exit"}


def healthcheck_command(text, where):
    """The exec form of the last `HEALTHCHECK ... CMD [...]` in text (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = re.findall(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", joined, re.M)
    if not found:
        fail(f"{where}: no HEALTHCHECK in the exec form (CMD [...])")
    return exec_form(found[-1], f"{where} HEALTHCHECK CMD")


def check_programs(command, available, where):
    """Every program the command runs (bash -c: each simple command's first word) belongs to a
    package of the runtime image."""
    programs = [command[0]]
    if os.path.basename(command[0]) in ("bash", "sh") and len(command) > 2 and command[1] == "-c":
        for segment in re.split(r"&&|\|\||\||;", command[2]):
            words = [w for w in segment.split() if not re.match(r"^\d*[<>]", w)]
            if words and words[0] not in BUILTINS:
                programs.append(words[0])
    for program in programs:
        path = shutil.which(program)
        if not path:
            fail(f"{where}: {program} is not installed here, so not in the image either")
        # Merged /usr: dpkg may know /bin/X or /usr/bin/X only.
        name = os.path.basename(path)
        package = ""
        for candidate in (f"/usr/bin/{name}", f"/bin/{name}", f"/usr/sbin/{name}", f"/sbin/{name}"):
            owner = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if owner.returncode == 0:
                package = owner.stdout.split(":")[0]
                break
        if package not in available:
            fail(f"{where}: runs {program} (package {package or 'unknown'}), which the runtime image does not have")
    return programs


def run_healthcheck(command, exporter, where, config=None, expect_ok=True, unhealthy_first=False):
    """Runs the command against an exporter on a free port (the command's 9587 replaced)."""
    port = free_port()
    command = [c.replace("/9587", f"/{port}") for c in command]
    argv = [os.path.abspath(exporter), f"--web.listen-address=127.0.0.1:{port}"]
    process = subprocess.Popen(argv + ([f"--config.file={config}"] if config else []))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        if unhealthy_first:  # wait for the first probe to end: "not probed yet" is Degraded
            deadline = time.monotonic() + 20
            while http_get(f"http://127.0.0.1:{port}/healthz")[0] != 503:
                if time.monotonic() > deadline:
                    fail(f"{where}: /healthz did not turn Unhealthy (503) within 20 s")
                time.sleep(0.2)
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
        if (result.returncode == 0) != expect_ok:
            fail(f"{where}: HEALTHCHECK {command} exited {result.returncode}, expected "
                 f"{'success' if expect_ok else 'failure'} (config {config}): {result.stderr}")
    finally:
        stop(process)
    return command


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--dockerfile", default=os.path.join(repo_root(), "packaging/docker/Dockerfile"))
    parser.add_argument("--depends", default="", help="the Depends field of the .deb, to cover as well")
    args = parser.parse_args()
    if not shutil.which("dpkg-shlibdeps"):
        fail("dpkg-shlibdeps is not installed (package dpkg-dev; scripts/install-deps.sh)")
    flags = accepted_flags(args.exporter)
    all_stages = stages(args.dockerfile)
    build, runtime = all_stages.get("build"), all_stages.get("runtime")
    if not build or not runtime or list(all_stages)[-1] != "runtime":
        fail(f"{args.dockerfile}: expected stages 'build' and, last, 'runtime'; got {list(all_stages)}")
    if build["from"] != "debian:bookworm" or runtime["from"] != "debian:bookworm-slim":
        fail(f"base images: build {build['from']} (want debian:bookworm), runtime {runtime['from']} "
             "(want debian:bookworm-slim)")

    build_runs = " ".join(rest for keyword, rest in build["steps"] if keyword == "RUN")
    m = re.search(r"scripts/build\.sh\s+(\S+)\s+([^&]*)", build_runs)
    if "scripts/install-deps.sh" not in build_runs or not m:
        fail("the build stage must run scripts/install-deps.sh and scripts/build.sh")
    build_dir, cmake_args = m.group(1), m.group(2)
    for wanted in ("-DCMAKE_BUILD_TYPE=Release", "-DSMTP_EXPORTER_TESTS=OFF"):
        if wanted not in cmake_args:
            fail(f"the build stage must build with {wanted}: {cmake_args}")

    steps = runtime["steps"]
    copies = [rest for keyword, rest in steps if keyword == "COPY"]
    if not any(re.fullmatch(rf"--from=build\s+\S*/{re.escape(build_dir)}/smtp_exporter\s+/usr/bin/smtp_exporter", c)
               for c in copies):
        fail(f"the runtime stage must COPY --from=build .../{build_dir}/smtp_exporter /usr/bin/smtp_exporter: {copies}")
    if "packaging/config.toml /etc/smtp_exporter/config.toml" not in copies:
        fail(f"the runtime stage must COPY packaging/config.toml /etc/smtp_exporter/config.toml: {copies}")
    users = [rest for keyword, rest in steps if keyword == "USER"]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        fail(f"the runtime stage must end with a non-root USER, got {users}")
    if "9587" not in " ".join(rest for keyword, rest in steps if keyword == "EXPOSE").split():
        fail("the runtime stage must EXPOSE 9587")
    entrypoint = [exec_form(rest, "ENTRYPOINT") for keyword, rest in steps if keyword == "ENTRYPOINT"]
    cmd = [exec_form(rest, "CMD") for keyword, rest in steps if keyword == "CMD"]
    if not entrypoint or entrypoint[-1][0] != "/usr/bin/smtp_exporter":
        fail(f"ENTRYPOINT must start with /usr/bin/smtp_exporter: {entrypoint}")
    argv = entrypoint[-1][1:] + (cmd[-1] if cmd else [])
    check_flags(argv, flags, "ENTRYPOINT + CMD")
    if "--config.file=/etc/smtp_exporter/config.toml" not in argv:
        fail(f"ENTRYPOINT must pass --config.file=/etc/smtp_exporter/config.toml: {argv}")

    # Shared libraries.
    listed = apt_installs(steps)
    required = shlib_packages(args.exporter) | {"ca-certificates"} | package_names(args.depends)
    base = base_image_packages()
    missing = sorted(required - listed - base)
    print(f"runtime packages: {' '.join(sorted(listed))}")
    print(f"required: {' '.join(sorted(required))} (in the base image: {' '.join(sorted(required & base))})")
    if missing:
        fail(f"{args.dockerfile}: the runtime stage does not install {', '.join(missing)} "
             "(needed by the binary; add them to its apt-get install)")
    unknown = [p for p in sorted(listed) if subprocess.run(["dpkg-query", "-W", p], capture_output=True).returncode
               and subprocess.run(["apt-cache", "show", p], capture_output=True).returncode]
    if unknown:
        fail(f"{args.dockerfile}: unknown packages in the runtime stage: {unknown}")
    extra = sorted(listed - required)
    if extra:
        print(f"note: installed but not needed by this binary: {' '.join(extra)}")

    # HEALTHCHECKs: only programs of the image; run against a real exporter, then without one.
    available = base | listed
    image_check = healthcheck_command(open(args.dockerfile).read(), args.dockerfile)
    programs = check_programs(image_check, available, args.dockerfile)
    command = run_healthcheck(image_check, args.exporter, args.dockerfile)
    if subprocess.run(command, capture_output=True, timeout=10).returncode == 0:
        fail(f"{args.dockerfile}: HEALTHCHECK succeeds with no exporter running")
    print(f"HEALTHCHECK ({', '.join(programs)}): passes with the exporter up, fails with it down")

    agent_doc = os.path.join(repo_root(), "docs/agent.md")
    blocks = re.findall(r"^```dockerfile\n(.*?)^```", open(agent_doc).read(), re.M | re.S)
    agent_check = healthcheck_command("".join(blocks), agent_doc)
    if not any("/healthz" in c for c in agent_check):
        fail(f"{agent_doc}: the HEALTHCHECK must ask /healthz: {agent_check}")
    programs = check_programs(agent_check, available, agent_doc)
    with tempfile.TemporaryDirectory() as tmp:
        # Unhealthy: a target on a port where nothing listens (connection refused).
        config = os.path.join(tmp, "agent.toml")
        with open(config, "w") as f:
            f.write(f'[modules.banner]\ntimeout = "2s"\n\n[[targets]]\nname = "down"\n'
                    f'target = "127.0.0.1:{free_port()}"\nmodule = "banner"\ninterval = "1s"\n')
        run_healthcheck(agent_check, args.exporter, agent_doc)  # no targets: Degraded, 200
        command = run_healthcheck(agent_check, args.exporter, agent_doc, config, expect_ok=False, unhealthy_first=True)
    if subprocess.run(command, capture_output=True, timeout=10).returncode == 0:
        fail(f"{agent_doc}: HEALTHCHECK succeeds with no exporter running")
    print(f"docs/agent.md HEALTHCHECK ({', '.join(programs)}): passes on 200, fails on 503 and with the exporter down")


if __name__ == "__main__":
    main()
