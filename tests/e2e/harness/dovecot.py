"""A throwaway Dovecot (IMAP) serving the test Postfix's Maildir, on two free loopback ports.

It follows ../shared/notes/delivery-test-lab.md: its own config file (`dovecot -c`), its own
base_dir and state_dir under a short temporary directory, a passwd-file user
sink@example.test whose mail is the Maildir Postfix's virtual(8) writes, a Junk folder
flagged \\Junk (SPECIAL-USE), STARTTLS on `imap_port` and implicit TLS on `imaps_port`,
with a certificate for mail.example.test issued by the Postfix instance's test CA.

The anvil authentication penalty and the failure delay are turned off, so a test of a
wrong password does not slow down the logins after it; the first login after start is
made here (it costs a few seconds with the penalty socket disabled).
Started with `dovecot -F` (foreground: Popen gives the master PID) and stopped by that PID.
"""

import imaplib
import os
import pwd
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time

from .net import Started, free_port, wait_port, stop_process


class Dovecot(Started):
    username = "sink@example.test"

    def __init__(self, postfix):
        self.postfix = postfix
        self.dir = None
        self.process = None
        self.imap_port = self.imaps_port = None
        self.password = None
        self.config_file = None

    def start(self):
        # A short path: Unix socket paths under base_dir must fit in 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="dv-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o755)
        self.password = secrets.token_urlsafe(16)
        users = os.path.join(self.dir, "users")
        with open(users, "w") as f:
            f.write(f"{self.username}:{{PLAIN}}{self.password}\n")
        shutil.chown(users, "root", "dovecot")
        os.chmod(users, 0o640)
        self.imap_port, self.imaps_port = free_port(), free_port()
        while self.imaps_port == self.imap_port:
            self.imaps_port = free_port()
        cert, key = self._certificate()
        mail_base = os.path.join(self.postfix.dir, "mail")
        nobody = pwd.getpwnam("nobody")
        # The Maildir and its Junk folder exist before the first delivery (as virtual(8)
        # would create them), owned by the user both servers write as.
        for sub in ("", ".Junk"):
            for leaf in ("new", "cur", "tmp"):
                path = os.path.join(mail_base, "example.test", "sink", sub, leaf)
                os.makedirs(path, exist_ok=True)
        for root, dirs, _ in os.walk(os.path.join(mail_base, "example.test")):
            os.chown(root, nobody.pw_uid, nobody.pw_gid)
            for d in dirs:
                os.chown(os.path.join(root, d), nobody.pw_uid, nobody.pw_gid)
        self.log_file = os.path.join(self.dir, "dovecot.log")
        self.config_file = os.path.join(self.dir, "dovecot.conf")
        with open(self.config_file, "w") as f:
            f.write(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = dovecot-e2e-{os.path.basename(self.dir)}
log_path = {self.log_file}
info_log_path = {self.log_file}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{mail_base}/%d/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid={nobody.pw_uid} gid={nobody.pw_gid} home={mail_base}/%d/%n
}}
namespace inbox {{
  inbox = yes
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
""")
        check = subprocess.run(["dovecot", "-c", self.config_file, "-n"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"dovecot -n: {check.stderr}")
        self.process = subprocess.Popen(["dovecot", "-F", "-c", self.config_file],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        try:
            wait_port("127.0.0.1", self.imap_port, 10)
            wait_port("127.0.0.1", self.imaps_port, 10)
            with self.connect() as m:   # the warm-up login (see the module's docstring)
                m.logout()
        except BaseException:
            self.stop()
            raise

    def _certificate(self):
        """A server certificate for mail.example.test (and IP 127.0.0.1) from Postfix's CA."""
        pf_tls = os.path.dirname(self.postfix.ca_file)
        cnf = os.path.join(pf_tls, "openssl.cnf")
        cert, key, csr = (os.path.join(self.dir, n) for n in ("imap.pem", "imap.key", "imap.csr"))
        run = lambda argv: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
        run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mail.example.test",
             "-config", cnf, "-keyout", key, "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.postfix.ca_file,
             "-CAkey", os.path.join(pf_tls, "ca.key"), "-set_serial", "0x" + secrets.token_hex(8),
             "-days", "30", "-extfile", cnf, "-extensions", "server_ext", "-out", cert])
        return cert, key

    def stop(self):
        self.process = stop_process(self.process, timeout=10)  # by its PID
        if self.dir and not os.environ.get("SMTP_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def connect(self):
        """A logged-in imaplib connection over implicit TLS (trusting the test CA)."""
        ctx = ssl.create_default_context(cafile=self.postfix.ca_file)
        m = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=ctx, timeout=30)
        m.login(self.username, self.password)
        return m

    def log_tail(self, lines=30):
        try:
            with open(self.log_file, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return f"(no log: {e})"
