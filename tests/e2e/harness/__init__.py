"""End-to-end test harness: real servers (Postfix, dnsmasq) and the exporter binary, on 127.0.0.1 only."""

from .net import free_port, wait_port
from .postfix import Postfix, shared_postfix
from .exporter import Exporter, http_get, parse_metrics
from .dnsmasq import BlackHoleResolver, Dnsmasq
from .files import write_config
from .fake_smtp import FakeSmtp, StallingServer, StarttlsSmtp, TlsSmtp, common_free_port
from .nginx import Nginx
from .nsd import SignedZones
from .pki import TestCa, spki_der

__all__ = ["free_port", "wait_port", "Postfix", "shared_postfix", "Exporter", "http_get", "parse_metrics", "Dnsmasq",
           "BlackHoleResolver", "FakeSmtp", "StarttlsSmtp", "TlsSmtp", "Nginx", "TestCa", "SignedZones",
           "StallingServer", "common_free_port", "write_config", "spki_der"]
