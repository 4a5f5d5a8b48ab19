#!/usr/bin/python3
"""Runs the commands shown in the documentation and checks their output.

Every ```console block in the given Markdown files is a transcript: lines
starting with "$ " are shell commands, the lines after them (until the next
command or the end of the block) are the expected combined stdout+stderr.
A line consisting of "..." matches any number of lines; "..." inside a line
matches any text there (so a line ending in "..." matches any line that
starts with the text before it). A last line "[N]" (as in cram) is the
command's exit status, which must then be N; without it, it must be 0.
Commands run with bash in a scratch directory that contains `examples` and
`tools` (links to the repository's), with the cnnc under test first on PATH
and, given --builddir, its runtime on the C compiler's and the loader's
search paths (`cc app.c model.o -lcnnrt` works as after installing), so the
docs show exactly what a user types. Exits 1 and prints a diff on the first
mismatch.
"""
import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile


def blocks(path):
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"^```console\n(.*?)^```", text, re.S | re.M):
        line = text.count("\n", 0, m.start()) + 2
        yield line, m.group(1).splitlines()


def transcript(lines):
    cmds = []
    for ln in lines:
        if ln.startswith("$ "):
            cmds.append([ln[2:], []])
        elif cmds:
            cmds[-1][1].append(ln)
    return cmds


def line_matches(expected, actual):
    """One line; '...' inside it matches any text."""
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("..."))
    return re.fullmatch(pattern, actual.rstrip()) is not None


def matches(expected, actual):
    """Line match with '...' as a wildcard for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    same = bool(actual) and line_matches(expected[0], actual[0])
    return same and matches(expected[1:], actual[1:])


def exit_status(expected):
    """(output lines, exit status) of a transcript ending in '[N]' or not."""
    if expected and re.fullmatch(r"\[\d+\]", expected[-1].strip()):
        return expected[:-1], int(expected[-1].strip()[1:-1])
    return expected, 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--builddir", help="the CMake build directory (for the runtime)")
    ap.add_argument("docs", nargs="+")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(os.path.abspath(a.cnnc)),
                                   os.path.join(root, "tools"), "/usr/bin", env.get("PATH", "")])
    env["CNNC_DOCS_ROOT"] = root
    if a.builddir:
        lib = os.path.join(os.path.abspath(a.builddir), "runtime")
        for var, value in (("C_INCLUDE_PATH", os.path.join(root, "runtime", "include")),
                           ("LIBRARY_PATH", lib), ("LD_LIBRARY_PATH", lib)):
            env[var] = os.pathsep.join(filter(None, [value, env.get(var)]))
    count = 0
    for doc in a.docs:
        with tempfile.TemporaryDirectory() as work:
            os.symlink(os.path.join(root, "examples"), os.path.join(work, "examples"))
            os.symlink(os.path.join(root, "tools"), os.path.join(work, "tools"))
            for line, lines in blocks(doc):
                for cmd, expected in transcript(lines):
                    r = subprocess.run(["bash", "-c", cmd], cwd=work, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, timeout=300)
                    actual = r.stdout.splitlines()
                    count += 1
                    expected, status = exit_status(expected)
                    if r.returncode != status:
                        print(f"FAIL {doc}:{line}: $ {cmd}")
                        print(f"exit status {r.returncode}, documented {status}:")
                        print(r.stdout, end="")
                        return 1
                    if not matches(expected, actual):
                        print(f"FAIL {doc}:{line}: $ {cmd}")
                        sys.stdout.writelines(difflib.unified_diff(
                            [e + "\n" for e in expected], [x + "\n" for x in actual],
                            "documented", "actual"))
                        return 1
    print(f"run_doc_examples: {count} commands from {len(a.docs)} files match their documented output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
