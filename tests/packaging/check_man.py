#!/usr/bin/env python3
"""packaging/man/smtp_exporter.1: `man -l` renders it without a warning, it has the sections a
manual page needs, lexgrog reads its NAME line (what apropos and lintian read), and every flag
and command printed by `smtp_exporter --help` and `smtp_exporter check --help` is documented as
an item of its OPTIONS or COMMANDS section.

  check_man.py --exporter BUILD/smtp_exporter [--page packaging/man/smtp_exporter.1]

--page may be gzipped (the installed /usr/share/man/man1/smtp_exporter.1.gz: the package test).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import accepted_flags, fail, repo_root  # noqa: E402

SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "FILES", "EXIT STATUS", "SEE ALSO"]


def render(page):
    """The page as `man -l` shows it: plain ASCII, wide enough that no item tag is wrapped; any
    groff warning (-w w: every category, undefined macros included) fails."""
    env = dict(os.environ, LC_ALL="C", MANWIDTH="120", MANPAGER="cat", PAGER="cat", MAN_KEEP_FORMATTING="")
    result = subprocess.run(["man", "--warnings=w", "-l", page], capture_output=True, text=True, env=env)
    if result.returncode != 0 or result.stderr.strip():
        fail(f"man -l {page} (exit {result.returncode}):\n{result.stderr}")
    return result.stdout


def sections(text):
    """{heading: body} of the rendered page (headings are the unindented lines)."""
    out, current = {}, None
    for line in text.splitlines()[1:-1]:  # the header and footer lines
        if line and not line[0].isspace():
            current = line.strip()
            out[current] = ""
        elif current:
            out[current] += line + "\n"
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--page", default=os.path.join(repo_root(), "packaging/man/smtp_exporter.1"))
    args = parser.parse_args()
    for tool in ("man", "lexgrog"):
        if not shutil.which(tool):
            fail(f"{tool} is not installed (packages man-db and groff-base; scripts/install-deps.sh --test)")

    text = render(args.page)
    found = sections(text)
    missing = [s for s in SECTIONS if s not in found]
    if missing:
        fail(f"{args.page}: sections {missing} missing (has {list(found)})")

    whatis = subprocess.run(["lexgrog", "-w", args.page], capture_output=True, text=True)
    if whatis.returncode != 0 or "smtp_exporter - " not in whatis.stdout:
        fail(f"lexgrog cannot read the NAME line of {args.page}: {whatis.stdout}{whatis.stderr}")

    # An item of OPTIONS is a line that starts with the flag (a tag of .TP), possibly after
    # another spelling of it ("--help, -h").
    options = found["OPTIONS"]
    flags, check_flags = accepted_flags(args.exporter), accepted_flags(args.exporter, "check")
    undocumented = sorted(f for f in flags | check_flags
                          if not re.search(rf"^\s+(?:\S+, )?{re.escape(f)}(?![a-z0-9.-])", options, re.M))
    if undocumented:
        fail(f"{args.page}: OPTIONS does not document {', '.join(undocumented)} "
             "(printed by smtp_exporter --help or smtp_exporter check --help)")
    check_section = options.split("Options of check", 1)
    if len(check_section) != 2:
        fail(f"{args.page}: OPTIONS has no 'Options of check' subsection")
    misplaced = sorted(f for f in check_flags - {"--help", "--config.file"}
                       if not re.search(rf"^\s+{re.escape(f)}(?![a-z0-9.-])", check_section[1], re.M))
    if misplaced:
        fail(f"{args.page}: {', '.join(misplaced)} not under 'Options of check'")

    main_help = subprocess.run([args.exporter, "--help"], capture_output=True, text=True, check=True).stdout
    block = re.search(r"^Commands:\n(.*?)(?:\n\S|\Z)", main_help, re.M | re.S)
    commands = set(re.findall(r"^  ([a-z][a-z-]*)\b", block.group(1), re.M)) if block else set()
    if not commands:
        fail(f"no commands in {args.exporter} --help:\n{main_help}")
    undocumented = sorted(c for c in commands if not re.search(rf"^\s+{c}\b", found["COMMANDS"], re.M))
    if undocumented:
        fail(f"{args.page}: COMMANDS does not document {', '.join(undocumented)}")
    print(f"{args.page}: renders cleanly; {len(flags | check_flags)} flags and {len(commands)} command(s) documented")


if __name__ == "__main__":
    main()
