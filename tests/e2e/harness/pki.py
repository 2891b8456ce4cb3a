"""A throwaway test CA and leaf certificates made with the openssl command line (as the
MTA-STS lab note does): P-256 keys, leaves with SKID, AKID, keyUsage and extendedKeyUsage so
that strict verifiers accept them; and the SubjectPublicKeyInfo that TLSA records (selector 1)
hash."""

import os
import subprocess


class TestCa:
    """`TestCa(directory)` makes ca.crt/ca.key there; `leaf(name, dns_names, days)` makes
    NAME.crt/NAME.key signed by it and returns their paths."""

    def __init__(self, directory):
        self.dir = directory
        self.cert = os.path.join(directory, "ca.crt")
        self.key = os.path.join(directory, "ca.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", self.key, "-out", self.cert, "-days", "3650", "-subj", "/CN=smtp_exporter e2e test CA",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, dns_names, days=90):
        base = os.path.join(self.dir, name)
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + dns_names[0])
        with open(base + ".ext", "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
                    "subjectAltName=" + ",".join("DNS:" + n for n in dns_names) + "\n")
        _openssl("x509", "-req", "-in", base + ".csr", "-CA", self.cert, "-CAkey", self.key,
                 "-set_serial", "0x" + os.urandom(8).hex(), "-days", str(days), "-extfile", base + ".ext",
                 "-out", base + ".crt")
        return base + ".crt", base + ".key"


def spki_der(cert_file=None, key_file=None):
    """The DER SubjectPublicKeyInfo of a certificate (or of a private key's public key), as the DANE
    recipe computes it: openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER. Its SHA-256
    is the data of a "3 1 1" TLSA record."""
    if cert_file:
        pem = _openssl("x509", "-in", cert_file, "-noout", "-pubkey")
    else:
        pem = _openssl("pkey", "-in", key_file, "-pubout")
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem.encode(), check=True,
                          capture_output=True).stdout


def _openssl(*args):
    run = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {run.stderr}")
    return run.stdout
