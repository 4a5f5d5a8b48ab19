#!/usr/bin/python3
"""Checks that the man page, docs/cnnc.1, cannot rot.

Every option `cnnc --help` (and `cnnc run --help`, `cnnc bench --help`)
prints is described in the page's OPTIONS section and every option there
exists; the subcommands are described; the version in .TH is cnnc's; every
standard section is present; and groff renders the page without warnings.
Prints one summary line; on a problem prints it and exits 1.
"""
import argparse
import re
import shutil
import subprocess
import sys

SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS", "ENVIRONMENT",
            "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"]
# An option at the start of a --help line: "  --emit=<value>  - ...", "  -o <FILE>".
HELP_OPTION = re.compile(r"^\s+(--?[A-Za-z][\w-]*)", re.M)
# Options in roff source, where '-' is written '\-' ("\-\-print\-after", "\-O0").
ROFF_LONG = re.compile(r"(?<![0-9A-Za-z])\\-\\-([a-z][a-z0-9]*(?:\\-[a-z0-9]+)*)")
ROFF_SHORT = re.compile(r"(?<![0-9A-Za-z\\])\\-([A-Za-z])(?![A-Za-z])")


def help_text(cnnc, *args):
    r = subprocess.run([cnnc, *args, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("check_man_page: cnnc %s --help failed:\n%s" % (" ".join(args), r.stdout))
    return r.stdout


def section(page, name):
    m = re.search(r"^\.SH \"?%s\"?\n(.*?)(?=^\.SH |\Z)" % re.escape(name), page, re.S | re.M)
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("page")
    a = ap.parse_args()
    page = open(a.page, encoding="utf-8").read()
    problems = []

    top = help_text(a.cnnc)
    helps = top + help_text(a.cnnc, "run") + help_text(a.cnnc, "bench")
    in_help = set(HELP_OPTION.findall(helps))
    for name in SECTIONS:
        if section(page, name) is None:
            problems.append("no .SH %s section" % name)
    options = section(page, "OPTIONS") or ""
    in_page = {"--" + m.replace("\\-", "-") for m in ROFF_LONG.findall(options)}
    in_page |= {"-" + m for m in ROFF_SHORT.findall(options)}
    for o in sorted(in_help - in_page):
        problems.append("%s is in cnnc --help but not in the page's OPTIONS" % o)
    for o in sorted(in_page - in_help):
        problems.append("%s is in the page's OPTIONS but not in cnnc --help" % o)

    subs = re.findall(r"^\s+(\w+)\s+- ", top.split("SUBCOMMANDS:", 1)[-1].split("OPTIONS:")[0],
                      re.M)
    described = section(page, "SUBCOMMANDS") or ""
    for s in subs:
        if ".B cnnc %s" % s not in described:
            problems.append("subcommand '%s' is not described in SUBCOMMANDS" % s)

    version = subprocess.run([a.cnnc, "--version"], stdout=subprocess.PIPE,
                             text=True).stdout.split()
    th = re.search(r'^\.TH CNNC 1 "[^"]*" "cnnc ([^"]+)"', page, re.M)
    if not th or len(version) < 2 or th.group(1) != version[1]:
        problems.append(".TH must name the version of `cnnc --version` (%s)"
                        % (version[1] if len(version) > 1 else "?"))

    groff = shutil.which("groff")
    if not groff:
        problems.append("groff is missing: run scripts/install-deps.sh (groff-base)")
    else:
        r = subprocess.run([groff, "-man", "-Tutf8", "-ww", a.page], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        text = re.sub(".\x08", "", r.stdout)  # overstriking (bold) to plain
        if r.returncode != 0 or r.stderr.strip() or "EXIT STATUS" not in text:
            problems.append("groff -man -ww: %s" % (r.stderr.strip() or "no output"))

    if problems:
        print("\n".join("check_man_page: %s: %s" % (a.page, p) for p in problems))
        return 1
    print("check_man_page: %d options in cnnc --help and the page agree; %d sections; "
          "groff renders it without warnings" % (len(in_help), len(SECTIONS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
