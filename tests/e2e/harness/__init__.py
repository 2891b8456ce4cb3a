"""End-to-end test harness: real servers (Postfix) and the exporter binary, on 127.0.0.1 only."""

from .net import free_port, wait_port
from .postfix import Postfix
from .exporter import Exporter, parse_metrics

__all__ = ["free_port", "wait_port", "Postfix", "Exporter", "parse_metrics"]
