"""A throwaway Postfix instance on 127.0.0.1 for end-to-end tests.

It is a SEPARATE instance (`postfix -c <run>/etc start`): its own main.cf/master.cf,
queue, data directory, log, TLS files, sasldb and Maildir, all under one run directory
in /var/lib/smtp-exporter-e2e/. The system's /etc/postfix is never touched.

Why under /var: Postfix refuses a `maillog_file` that does not start with one of
`maillog_file_prefixes` (default /var and /dev/stdout); under /tmp, `postfix start`
fails silently with exit 1. Keeping everything in one run directory makes cleanup
(and cleanup after a crashed run) a single rmtree.

Needs root (Postfix's master runs as root and drops privileges per service).
Set SMTP_E2E_KEEP=1 to keep the run directory after stop, for debugging.
"""

import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from .net import Started, free_port

BASE_DIR = "/var/lib/smtp-exporter-e2e"
DOMAIN = "example.test"
HOSTNAME = "mail." + DOMAIN

# The openssl config for the test CA and the server certificate. Given explicitly
# (-config/-extfile) so the result does not depend on the system's openssl.cnf.
# The extensions follow RFC 5280 closely enough for strict verifiers
# (Python >= 3.13 sets VERIFY_X509_STRICT by default).
_OPENSSL_CNF = f"""\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = overridden by -subj
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:{HOSTNAME}, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


class PostfixError(RuntimeError):
    """Postfix could not be set up or started; the message includes the log tail."""


class Postfix(Started):
    """Context manager running a private Postfix on three free loopback ports.

    smtp_port        plain SMTP; STARTTLS offered (smtpd_tls_security_level=may); no AUTH
    submission_port  STARTTLS required; AUTH (PLAIN LOGIN CRAM-MD5) offered only after
                     STARTTLS and required to send anything
    smtps_port       implicit TLS (smtpd_tls_wrappermode=yes); AUTH offered, not required
    Mail to any address @example.test (e.g. sink@example.test) is accepted without AUTH on
    every port and delivered to the Maildir `maildir`; relaying elsewhere is refused.
    """

    hostname = HOSTNAME                  # myhostname: greeting "220 mail.example.test ESMTP Postfix"
    domain = DOMAIN
    sink_address = "sink@" + DOMAIN
    sasl_username = "probe@" + DOMAIN
    sasl_mechanisms = ("PLAIN", "LOGIN", "CRAM-MD5")
    size_limit = 10240000                # message_size_limit, advertised as "SIZE 10240000"
    # What EHLO advertises on smtp_port (Postfix 3.7 defaults, checked against the real server).
    # submission_port: the same; after STARTTLS no STARTTLS but "AUTH PLAIN LOGIN CRAM-MD5".
    # smtps_port: no STARTTLS, plus AUTH.
    ehlo_extensions = ("PIPELINING", "SIZE", "VRFY", "ETRN", "STARTTLS", "ENHANCEDSTATUSCODES",
                       "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING")

    def __init__(self, start_timeout=20.0):
        self.start_timeout = start_timeout
        self.dir = None                  # run directory; None when stopped
        self.smtp_port = self.submission_port = self.smtps_port = None
        self.sasl_password = None
        self.ca_file = self.cert_file = self.key_file = None
        self.cert_not_after = None       # server certificate notAfter, Unix seconds
        self.config_dir = self.queue_dir = self.pid_file = self.log_file = self.maildir = None
        self.sasldb = None

    # ---- lifecycle -------------------------------------------------------------------

    def start(self):
        if self.dir:
            raise PostfixError("already started")
        os.makedirs(BASE_DIR, mode=0o755, exist_ok=True)
        _cleanup_stale_runs()
        self.dir = tempfile.mkdtemp(prefix="run-", dir=BASE_DIR)
        # mkdtemp gives 0700; the postfix user (sasldb) and nobody (Maildir) must traverse it.
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "owner"), "w") as f:
            f.write(_process_identity(os.getpid()))   # lets a later run spot us as stale
        self.config_dir = self._mkdir("etc")
        # The queue directory must exist (root-owned) before `postfix start`, which chdirs into
        # it; its subdirectories and the data directory are created by `postfix start` itself.
        self.queue_dir = self._mkdir("queue")
        self.log_file = os.path.join(self.dir, "postfix.log")
        self.pid_file = os.path.join(self.queue_dir, "pid", "master.pid")
        self.maildir = os.path.join(self.dir, "mail", DOMAIN, "sink", "new")
        try:
            self.smtp_port, self.submission_port, self.smtps_port = _three_free_ports()
            self._make_certificates()
            self._make_sasldb()
            self._write_config()
            _run(["postfix", "-c", self.config_dir, "start"])
            self._wait_ready()
        except BaseException as e:
            message = f"Postfix failed to start: {e}\n--- {self.log_file} (tail) ---\n{self.log_tail()}"
            self.stop()
            if isinstance(e, Exception):
                raise PostfixError(message) from e
            raise

    def stop(self):
        """Stop the instance by PID and delete the run directory. Safe to call twice."""
        if not self.dir:
            return
        try:
            _kill_instance(self.dir)
        finally:
            if not os.environ.get("SMTP_E2E_KEEP"):
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # ---- helpers for tests ---------------------------------------------------------

    def log_tail(self, lines=40):
        try:
            with open(self.log_file, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return f"(no log: {e})"

    def ssl_context(self):
        """A client context trusting only the test CA (hostname checks on)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def find_message(self, substring, timeout=10.0):
        """Poll the Maildir until a delivered message contains `substring`; return its path."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                names = sorted(os.listdir(self.maildir))
            except FileNotFoundError:      # created by the first delivery
                names = []
            for name in names:
                path = os.path.join(self.maildir, name)
                try:
                    with open(path, errors="replace") as f:
                        if substring in f.read():
                            return path
                except FileNotFoundError:  # moved away meanwhile
                    pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no message containing {substring!r} in {self.maildir} after "
                                   f"{timeout} s ({len(names)} files)\n--- log tail ---\n{self.log_tail()}")
            time.sleep(0.1)

    # ---- setup steps -----------------------------------------------------------------

    def _mkdir(self, *parts, mode=0o755):
        path = os.path.join(self.dir, *parts)
        os.makedirs(path, mode=mode)
        return path

    def _make_certificates(self):
        tls = self._mkdir("tls")
        cnf = os.path.join(tls, "openssl.cnf")
        with open(cnf, "w") as f:
            f.write(_OPENSSL_CNF)
        self.ca_file = os.path.join(tls, "ca.pem")
        ca_key = os.path.join(tls, "ca.key")
        self.cert_file = os.path.join(tls, "server.pem")
        self.key_file = os.path.join(tls, "server.key")
        csr = os.path.join(tls, "server.csr")
        _run(["openssl", "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "30",
              "-subj", "/CN=smtp_exporter e2e test CA", "-config", cnf, "-extensions", "ca_ext",
              "-keyout", ca_key, "-out", self.ca_file])
        _run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={HOSTNAME}",
              "-config", cnf, "-keyout", self.key_file, "-out", csr])
        # A random serial: no .srl file, and two runs never issue the same serial.
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key,
              "-set_serial", "0x" + secrets.token_hex(8), "-days", "30",
              "-extfile", cnf, "-extensions", "server_ext", "-out", self.cert_file])
        # Keys stay root-only 0600: smtpd loads them before dropping privileges.
        # "notAfter=Dec 23 14:30:00 2025 GMT" is exactly the format ssl.cert_time_to_seconds parses.
        out = _run(["openssl", "x509", "-enddate", "-noout", "-in", self.cert_file])
        self.cert_not_after = ssl.cert_time_to_seconds(out.strip().split("=", 1)[1])

    def _make_sasldb(self):
        self.sasldb = os.path.join(self.config_dir, "sasldb2")
        self.sasl_password = secrets.token_urlsafe(16)
        user, realm = self.sasl_username.split("@")
        # -u realm: the login name becomes probe@example.test. Debian's sasldb stores the
        # secret in plaintext, which is what CRAM-MD5 needs.
        _run(["saslpasswd2", "-f", self.sasldb, "-p", "-c", "-u", realm, user], stdin=self.sasl_password)
        # smtpd reads the sasldb at AUTH time, after dropping privileges to user postfix.
        shutil.chown(self.sasldb, "root", "postfix")
        os.chmod(self.sasldb, 0o640)
        sasl_dir = self._mkdir("etc", "sasl")
        with open(os.path.join(sasl_dir, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    f"mech_list: {' '.join(self.sasl_mechanisms)}\nsasldb_path: {self.sasldb}\n")

    def _write_config(self):
        mail_base = self._mkdir("mail")
        nobody = pwd.getpwnam("nobody")
        # virtual(8) delivers as nobody (>= virtual_minimum_uid, exists everywhere): it must be
        # able to create example.test/sink/{new,cur,tmp} under the base.
        os.chown(mail_base, nobody.pw_uid, nobody.pw_gid)
        main_cf = f"""\
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {self.dir}/data
maillog_file = {self.log_file}
myhostname = {HOSTNAME}
mydomain = {DOMAIN}
myorigin = $myhostname
biff = no
# Only loopback, IPv4 (the services in master.cf name 127.0.0.1 explicitly).
inet_interfaces = loopback-only
inet_protocols = ipv4
# No DNS, no local delivery, no relaying: example.test goes to one Maildir, the rest is refused.
smtp_dns_support_level = disabled
relayhost =
mydestination =
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {mail_base}
virtual_mailbox_maps = static:{DOMAIN}/sink/
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
message_size_limit = {self.size_limit}
# TLS: STARTTLS offered everywhere, required per service in master.cf.
smtpd_tls_cert_file = {self.cert_file}
smtpd_tls_key_file = {self.key_file}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
# SASL via Cyrus sasldb; enabled per service in master.cf.
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {self.config_dir}/sasl
smtpd_sasl_auth_enable = no
# Tests hammer the server from one IP: no anvil throttling, enough smtpd processes.
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
default_process_limit = 100
"""
        # chroot column "n" everywhere: a chroot (the queue dir) would lack the TLS/SASL files.
        master_cf = f"""\
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
127.0.0.1:{self.submission_port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{self.smtps_port} inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""
        for name, text in (("main.cf", main_cf), ("master.cf", master_cf)):
            with open(os.path.join(self.config_dir, name), "w") as f:
                f.write(text)

    def _wait_ready(self):
        """Wait for a 220 greeting on every port (TLS handshake first on smtps)."""
        deadline = time.monotonic() + self.start_timeout
        for port, implicit_tls in ((self.smtp_port, False), (self.submission_port, False),
                                   (self.smtps_port, True)):
            while True:
                try:
                    greeting = self._greeting(port, implicit_tls)
                    if greeting.startswith("220"):
                        break
                    error = f"unexpected greeting {greeting!r}"
                except OSError as e:      # includes ssl.SSLError and socket.timeout
                    error = repr(e)
                if time.monotonic() >= deadline:
                    raise PostfixError(f"no 220 greeting on 127.0.0.1:{port} within "
                                       f"{self.start_timeout} s: {error}")
                time.sleep(0.1)

    def _greeting(self, port, implicit_tls):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            sock = self.ssl_context().wrap_socket(raw, server_hostname=HOSTNAME) if implicit_tls else raw
            with sock, sock.makefile("rwb") as f:
                line = f.readline().decode(errors="replace")
                f.write(b"QUIT\r\n")       # polite exit: no "lost connection" noise in the log
                f.flush()
                return line


# ---- process handling (module level: also used to clean up after crashed runs) ----------


def _run(argv, stdin=None):
    """Run a setup command; raise with its output on failure; return its stdout."""
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise PostfixError(f"{' '.join(argv)} exited {p.returncode}\n{p.stdout}{p.stderr}")
    return p.stdout


def _three_free_ports():
    # Hold all three sockets while choosing, so the kernel cannot hand out one port twice.
    socks = [socket.socket() for _ in range(3)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return tuple(s.getsockname()[1] for s in socks)
    finally:
        for s in socks:
            s.close()


def _proc_stat(pid):
    """(state, starttime) of a process, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()   # comm may contain spaces/parens
        return fields[0], fields[19]
    except (OSError, IndexError):
        return None


def _alive(pid):
    # A zombie counts as dead: the master is daemonized (its parent becomes PID 1), and
    # PID 1 in a container may reap late or never, so kill(pid, 0) could wait forever.
    st = _proc_stat(pid)
    return st is not None and st[0] != "Z"


def _process_identity(pid):
    """pid plus kernel start time: survives PID reuse when checked later."""
    st = _proc_stat(pid)
    return f"{pid} {st[1] if st else '?'}"


def _instance_pids(run_dir):
    """Every live process of the instance in run_dir: Postfix passes MAIL_CONFIG
    (set by `postfix -c`) from master to all its children (import_environment)."""
    marker = b"MAIL_CONFIG=" + os.path.join(run_dir, "etc").encode() + b"\0"
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if marker in f.read() and _alive(int(name)):
                        pids.append(int(name))
            except OSError:
                pass
    return pids


def _master_pid(run_dir):
    try:
        with open(os.path.join(run_dir, "queue", "pid", "master.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _kill_instance(run_dir, grace=5.0):
    """SIGTERM the master (it terminates its children), wait, then SIGKILL what is left.

    The pid file may be stale (crashed run, PID reused): only a PID whose environment
    names this instance is signalled."""
    ours = _instance_pids(run_dir)
    master = _master_pid(run_dir)
    for pid in [master] if master in ours else ours:
        _signal(pid, signal.SIGTERM)
    if not _wait_gone(run_dir, grace):
        for pid in _instance_pids(run_dir):
            _signal(pid, signal.SIGKILL)
        _wait_gone(run_dir, 2.0)


def _wait_gone(run_dir, timeout):
    """Wait until no process of the instance is left."""
    deadline = time.monotonic() + timeout
    while True:
        if not _instance_pids(run_dir):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _cleanup_stale_runs():
    """Remove run directories whose owning test process is gone (crash, SIGKILL), first
    killing any Postfix still running from them. Runs of live test processes are left
    alone, so parallel test processes do not disturb each other."""
    for name in os.listdir(BASE_DIR):
        run_dir = os.path.join(BASE_DIR, name)
        try:
            with open(os.path.join(run_dir, "owner")) as f:
                owner = f.read().strip()
            if owner == _process_identity(int(owner.split()[0])):
                continue                   # owner still running
        except (OSError, ValueError, IndexError):
            pass                           # no/garbled owner file: a crashed setup
        _kill_instance(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


_SHARED = None


def shared_postfix():
    """One Postfix for the whole test module (it takes seconds to start), stopped by a module
    cleanup when the module's tests are done."""
    import unittest
    global _SHARED
    if _SHARED is None:
        _SHARED = Postfix()
        _SHARED.start()
        unittest.addModuleCleanup(_stop_shared)
    return _SHARED


def _stop_shared():
    global _SHARED
    _SHARED.stop()
    _SHARED = None
