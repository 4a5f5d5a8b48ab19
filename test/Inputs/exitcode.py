#!/usr/bin/python3
"""exitcode.py N CMD ARGS... - runs CMD (stdout/stderr pass through) and
succeeds only if it exits with status N, where `not` accepts any failure.
The tests use it (as %exitcode) to tell a user error (1) from an internal
compiler error (70) or a crash."""
import subprocess
import sys

want = int(sys.argv[1])
rc = subprocess.call(sys.argv[2:])
if rc != want:
    sys.stdout.flush()
    sys.stderr.write("exitcode.py: %s exited %d, expected %d\n"
                     % (sys.argv[2], rc, want))
    sys.exit(1)
