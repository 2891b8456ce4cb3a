#!/usr/bin/env bash
# Builds the Debian package from a Release build tree and checks it on this host, as root:
# cpack, dpkg -i, the control fields (Maintainer, Homepage), the files and conffiles, the manual
# page (man -l), the unit (systemd-analyze verify and security, whose exposure must be at most
# 2.0), the socket unit (installed, not enabled, verified), --config.check of the installed config, the installed binary run with the ARGS of
# /etc/default/smtp_exporter (as nobody, on a free loopback port), the runtime packages of the
# Dockerfile against the .deb's Depends, then dpkg --purge.
# Leaves the host as it found it (the package is purged on success and on failure).
#   scripts/package-test.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/package-test.sh BUILD_DIR}
pkg=smtp-exporter
unit=/lib/systemd/system/smtp_exporter.service
socket_unit=/lib/systemd/system/smtp_exporter.socket
drop_in=/usr/share/doc/$pkg/examples/systemd/socket-activation.conf

fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
step() { echo "package-test: $*"; }
[[ $EUID -eq 0 ]] || fail "must run as root (dpkg -i)"
[[ -x $build/smtp_exporter ]] || fail "$build/smtp_exporter not found: build first (scripts/build.sh $build -DCMAKE_BUILD_TYPE=Release)"
for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze curl setpriv python3 man lexgrog; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh --test)"
done

exporter_pid=
policy_created=
cleanup() {
  if [[ -n $exporter_pid ]] && kill -0 "$exporter_pid" 2>/dev/null; then kill "$exporter_pid"; fi
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
    dpkg --purge "$pkg" >/dev/null || true
  fi
  if [[ -n $policy_created ]]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

# A leftover of an interrupted run.
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
  step "purging a previously installed $pkg"
  dpkg --purge "$pkg" >/dev/null
fi
# On a host where systemd runs, postinst would start the service on :9587: policy-rc.d forbids it
# (deb-systemd-invoke honours it). The test starts its own instance on a free port.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi

step "cpack -G DEB in $build"
rm -f "$build"/packages/${pkg}_*.deb
(cd "$build" && cpack -G DEB) > "$build/cpack.log" 2>&1 || { cat "$build/cpack.log"; fail "cpack failed"; }
debs=("$build"/packages/${pkg}_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "expected one $pkg .deb in $build/packages, found: ${debs[*]}"
deb=${debs[0]}
version=$(sed -n 's/^project(smtp_exporter VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ $(dpkg-deb -f "$deb" Package) == "$pkg" ]] || fail "Package is not $pkg"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version $(dpkg-deb -f "$deb" Version) is not the project version $version"
# Real contact fields (policy 5.6.2, 5.6.23), the same maintainer as the Debian changelog's trailer.
maintainer=$(dpkg-deb -f "$deb" Maintainer) homepage=$(dpkg-deb -f "$deb" Homepage)
[[ $maintainer =~ ^[^\<]+\ \<[^@\>]+@[^\>]+\>$ && $maintainer != *example.* ]] || fail "Maintainer is not a real 'Name <address>': '$maintainer'"
[[ $homepage == https://* && $homepage != *example.* ]] || fail "Homepage is not a real https URL: '$homepage'"
step "Maintainer: $maintainer; Homepage: $homepage"
depends=$(dpkg-deb -f "$deb" Depends)
step "$(basename "$deb"): Depends: $depends"
for d in libc6 libssl3 libc-ares2 ca-certificates; do
  [[ ",$depends" == *", $d"* || ",$depends" == *",$d"* ]] || fail "Depends lacks $d (dpkg-shlibdeps not run?)"
done
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
[[ $conffiles == $'/etc/default/smtp_exporter\n/etc/smtp_exporter/config.toml' ]] ||
  fail "conffiles are not /etc/default/smtp_exporter and /etc/smtp_exporter/config.toml: $conffiles"

step "the Dockerfile's runtime packages cover the .deb's Depends"
docker_check=$(python3 tests/packaging/check_docker.py --exporter "$build/smtp_exporter" --depends "$depends" 2>&1) ||
  { echo "$docker_check"; fail "packaging/docker/Dockerfile does not match the package (see above)"; }

step "dpkg -i"
if ! dpkg -i "$deb" > "$build/dpkg-install.log" 2>&1; then
  cat "$build/dpkg-install.log"
  step "dpkg -i failed; apt-get install -f -y (a Depends not installed on this host)"
  apt-get install -f -y -qq || fail "dependencies of $pkg cannot be installed"
fi
sed 's/^/  /' "$build/dpkg-install.log"
dpkg-query -W -f='${Status}\n' "$pkg" | grep -q "install ok installed" || fail "$pkg is not installed"

step "files"
for f in /usr/bin/smtp_exporter $unit /etc/default/smtp_exporter /etc/smtp_exporter/config.toml \
         /usr/share/man/man1/smtp_exporter.1.gz /usr/share/doc/$pkg/copyright /usr/share/doc/$pkg/changelog.gz /usr/share/doc/$pkg/README.md; do
  [[ -f $f ]] || fail "$f is missing"
done
[[ -x /usr/bin/smtp_exporter ]] || fail "/usr/bin/smtp_exporter is not executable"
grep -q '^License: Apache-2.0$' /usr/share/doc/$pkg/copyright && [[ -f /usr/share/common-licenses/Apache-2.0 ]] ||
  fail "copyright does not point at /usr/share/common-licenses/Apache-2.0"
zcat /usr/share/doc/$pkg/changelog.gz | head -1 | grep -q "^$pkg ($version) " || fail "changelog.gz is not the Debian changelog of $version"
zcat /usr/share/doc/$pkg/changelog.gz | grep -qF -- " -- $maintainer  " || fail "the changelog's trailer is not the Maintainer $maintainer"
step "man -l /usr/share/man/man1/smtp_exporter.1.gz"
zcat /usr/share/man/man1/smtp_exporter.1.gz | cmp -s - packaging/man/smtp_exporter.1 || fail "smtp_exporter.1.gz is not packaging/man/smtp_exporter.1"
python3 tests/packaging/check_man.py --exporter /usr/bin/smtp_exporter --page /usr/share/man/man1/smtp_exporter.1.gz ||
  fail "the installed manual page (see above)"
cmp -s CHANGELOG.md /usr/share/doc/$pkg/CHANGELOG.md || fail "CHANGELOG.md is not installed"
# Whatever the repository has of dashboards, alerting rules and runbooks is installed.
for pair in "dashboards/*.json:/usr/share/$pkg/dashboards" "alerts/*.yml:/usr/share/$pkg/alerts" \
            "docs/runbooks/*.md:/usr/share/doc/$pkg/runbooks"; do
  pattern=${pair%%:*} dest=${pair#*:}
  for src in $pattern; do
    [[ -e $src ]] || continue
    cmp -s "$src" "$dest/$(basename "$src")" || fail "$src is not installed as $dest/$(basename "$src")"
  done
done
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q "/etc/smtp_exporter/config.toml" || fail "config.toml is not a conffile"
[[ -L /etc/systemd/system/multi-user.target.wants/smtp_exporter.service ]] ||
  fail "postinst did not enable smtp_exporter.service (deb-systemd-helper)"
[[ -f $socket_unit && -f $drop_in ]] || fail "$socket_unit or $drop_in is not installed"
[[ ! -e /etc/systemd/system/sockets.target.wants/smtp_exporter.socket ]] ||
  fail "smtp_exporter.socket is enabled: socket activation is the operator's choice"

step "reinstall: maintainer scripts run again, a changed conffile is kept"
echo '# local change' >> /etc/default/smtp_exporter
dpkg -i "$deb" > "$build/dpkg-reinstall.log" 2>&1 || { cat "$build/dpkg-reinstall.log"; fail "dpkg -i (reinstall) failed"; }
tail -n1 /etc/default/smtp_exporter | grep -qx '# local change' || fail "the reinstall overwrote the changed conffile /etc/default/smtp_exporter"

step "systemd-analyze verify $unit"
verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
if grep -q smtp_exporter <<<"$verify"; then fail "systemd-analyze verify: $verify"; fi
security=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
exposure=$(sed -n 's/.*Overall exposure level for smtp_exporter\.service: \([0-9.]*\).*/\1/p' <<<"$security")
[[ -n $exposure ]] || fail "no exposure level in: $security"
step "systemd-analyze security --offline=true: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || { echo "$security"; fail "exposure $exposure > 2.0"; }
step "systemd-analyze verify $socket_unit"
verify=$(systemd-analyze verify "$socket_unit" 2>&1) || fail "systemd-analyze verify: $verify"
if grep -q smtp_exporter <<<"$verify"; then fail "systemd-analyze verify: $verify"; fi

step "smtp_exporter --config.check on the installed config"
/usr/bin/smtp_exporter --config.check --config.file=/etc/smtp_exporter/config.toml || fail "--config.check failed"

step "run the installed binary with the ARGS of /etc/default/smtp_exporter, as nobody"
# shellcheck disable=SC1091
ARGS=$(set -a; . /etc/default/smtp_exporter; echo "$ARGS")
[[ $ARGS == *--web.listen-address=* ]] || fail "ARGS has no --web.listen-address: $ARGS"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Word splitting as systemd splits $ARGS; the listen address moved to a free loopback port.
# shellcheck disable=SC2086
args=(${ARGS//--web.listen-address=:9587/--web.listen-address=127.0.0.1:$port})
# Like DynamicUser: an unprivileged user must be able to read everything it needs.
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --no-new-privs \
  /usr/bin/smtp_exporter "${args[@]}" > "$build/package-test-exporter.log" 2>&1 &
exporter_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/-/healthy" >/dev/null && break
  kill -0 "$exporter_pid" 2>/dev/null || { cat "$build/package-test-exporter.log"; fail "the exporter exited"; }
  sleep 0.1
done
[[ $(curl -sf "http://127.0.0.1:$port/-/healthy") == OK* ]] || fail "/-/healthy did not answer OK"
metrics=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "/metrics failed"
grep -q "^smtp_exporter_build_info{.*version=\"$version\"" <<<"$metrics" || fail "/metrics has no smtp_exporter_build_info for $version"
grep -q '^process_start_time_seconds ' <<<"$metrics" || fail "/metrics has no process_start_time_seconds"
kill "$exporter_pid"
wait "$exporter_pid" || fail "the exporter exited with $? on SIGTERM"
exporter_pid=

step "dpkg --purge $pkg"
dpkg --purge "$pkg" >/dev/null
for f in /usr/bin/smtp_exporter $unit $socket_unit $drop_in /etc/smtp_exporter/config.toml /etc/default/smtp_exporter \
         /usr/share/man/man1/smtp_exporter.1.gz /etc/systemd/system/multi-user.target.wants/smtp_exporter.service; do
  [[ ! -e $f && ! -L $f ]] || fail "$f is still there after dpkg --purge"
done
step "OK"
