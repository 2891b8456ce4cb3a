"""The command line shared by the end-to-end test files:
    python3 tests/e2e/test_X.py --exporter build/smtp_exporter [unittest arguments]
The binary may also come from $SMTP_EXPORTER_BIN."""

import argparse
import os
import sys
import unittest


def exporter_binary():
    """The exporter under test, from $SMTP_EXPORTER_BIN (set by main() from --exporter)."""
    return os.environ.get("SMTP_EXPORTER_BIN", "")


def main():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--exporter", help="path of the smtp_exporter binary")
    args, rest = parser.parse_known_args()
    if args.exporter:
        os.environ["SMTP_EXPORTER_BIN"] = os.path.abspath(args.exporter)
    if not exporter_binary():
        sys.exit("no exporter binary: pass --exporter PATH or set SMTP_EXPORTER_BIN")
    unittest.main(module="__main__", argv=[sys.argv[0], *rest])
