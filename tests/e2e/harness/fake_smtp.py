"""Tiny scripted SMTP servers in threads, for end-to-end tests that need servers on chosen
loopback addresses (e.g. the hosts of an MX set on 127.0.0.2 and 127.0.0.3)."""

import socket
import threading


class FakeSmtp:
    """Listens on (host, port); greets with `greeting` and answers EHLO/QUIT politely.
    greeting="421 ..." makes a reachable but broken server."""

    def __init__(self, host, port, greeting="220 fake.test ESMTP", ehlo_name="fake.test"):
        self.greeting = greeting
        self.ehlo_name = ehlo_name
        self.sock = socket.socket(_family(host))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        with conn:
            try:
                conn.sendall(self.greeting.encode() + b"\r\n")
                for line in conn.makefile("rb"):
                    command = line.strip().upper()
                    if command.startswith(b"EHLO") or command.startswith(b"HELO"):
                        conn.sendall(b"250-" + self.ehlo_name.encode() + b"\r\n250 PIPELINING\r\n")
                    elif command.startswith(b"QUIT"):
                        conn.sendall(b"221 bye\r\n")
                        return
                    else:
                        conn.sendall(b"502 not implemented\r\n")
            except OSError:
                return

    def close(self):
        self.sock.close()


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def common_free_port(hosts):
    """A TCP port free on every one of `hosts` (loopback addresses, IPv4 or IPv6)."""
    for _ in range(50):
        with socket.socket(_family(hosts[0])) as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        try:
            for h in hosts[1:]:
                with socket.socket(_family(h)) as t:
                    t.bind((h, port))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no port free on all of {hosts}")


class StallingServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.clients = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(conn)

    def close(self):
        self.sock.close()
        for c in self.clients:
            c.close()


class TlsSmtp(FakeSmtp):
    """A FakeSmtp with TLS: STARTTLS (RFC 3207) offered in EHLO and upgraded with
    `cert_file` (the chain to present, leaf first) and `key_file`, or implicit TLS
    (implicit=True). starttls=False leaves STARTTLS out of EHLO (an MX host without it)."""

    def __init__(self, host, port, cert_file, key_file, implicit=False, starttls=True, ehlo_name="fake.test",
                 **kwargs):
        import ssl
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        self.implicit = implicit
        self.starttls = starttls and not implicit
        kwargs.setdefault("greeting", "220 " + ehlo_name + " ESMTP")
        super().__init__(host, port, ehlo_name=ehlo_name, **kwargs)

    def _talk(self, conn):
        try:
            if self.implicit:
                conn = self.context.wrap_socket(conn, server_side=True)
            tls = self.implicit
            conn.sendall(self.greeting.encode() + b"\r\n")
            reader = conn.makefile("rb")
            while True:
                line = reader.readline()
                if not line:
                    return
                command = line.strip().upper()
                if command.startswith(b"EHLO") or command.startswith(b"HELO"):
                    offer = b"250-STARTTLS\r\n" if self.starttls and not tls else b""
                    conn.sendall(b"250-" + self.ehlo_name.encode() + b"\r\n" + offer + b"250 PIPELINING\r\n")
                elif command == b"STARTTLS" and self.starttls and not tls:
                    conn.sendall(b"220 go ahead\r\n")
                    reader.close()
                    conn = self.context.wrap_socket(conn, server_side=True)
                    reader = conn.makefile("rb")
                    tls = True
                elif command.startswith(b"QUIT"):
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"502 not implemented\r\n")
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass


# The MTA-STS tests' name for it: an MX host offering STARTTLS.
StarttlsSmtp = TlsSmtp
