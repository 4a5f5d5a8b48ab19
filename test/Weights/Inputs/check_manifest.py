#!/usr/bin/python3
"""check_manifest.py CNNC MODEL DIR - runs cnnc on every file that
tools/make_bad_weights.py wrote into DIR (see its manifest.json) and checks
the outcome: the expected error (or warning) substring on stderr with exit
status 1 (0 for warnings) and no output file; for files the readers accept,
that the failure (if any) comes after reading. Prints one line per file and
"N of N files behaved"; exit 1 on any mismatch."""
import json
import os
import subprocess
import sys

cnnc, model, d = sys.argv[1:4]
manifest = json.load(open(os.path.join(d, "manifest.json")))
out = os.path.join(d, "out.bin")
bad = 0
for m in manifest:
    path = os.path.join(d, m["file"])
    if os.path.exists(out):
        os.unlink(out)
    if m["kind"] == "npy":
        cmd = [cnnc, "run", model, "--random-weights", "1", "--input", path,
               "--output", out]
    else:
        cmd = [cnnc, model, "--weights", path, "-o", out]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode("utf-8", "replace")
    problems = []
    expect, sev = m["expect"], m["severity"]
    if expect is not None:
        want = "cnnc: %s: %s: " % (sev, path)
        lines = [l for l in err.splitlines() if l.startswith(want)]
        if not any(expect in l for l in lines):
            problems.append("expected %s containing %r" % (sev, expect))
        want_rc = 1 if sev == "error" else 0
    elif m["kind"] == "npy":
        # Readable, but not the model's input shape.
        want_rc = 1
        if "input has shape" not in err:
            problems.append("expected the shape mismatch after reading")
    elif m["kind"] == "safetensors":
        # Readable, but not this model's tensors.
        want_rc = 1
        if "missing tensor" not in err:
            problems.append("expected binding to fail after reading")
    else:
        want_rc = 0
    if r.returncode != want_rc:
        problems.append("exit %d, expected %d" % (r.returncode, want_rc))
    if want_rc != 0 and os.path.exists(out):
        problems.append("output file left behind")
    if want_rc == 0 and not os.path.exists(out):
        problems.append("no output file")
    if "internal" in err or "Stack dump" in err:
        problems.append("internal error")
    if problems:
        bad += 1
        print("FAIL %s: %s\n  stderr: %s" % (m["file"], "; ".join(problems),
                                            err.strip().replace("\n", "\n  ")))
    else:
        print("ok   %s" % m["file"])
print("%d of %d files behaved" % (len(manifest) - bad, len(manifest)))
sys.exit(1 if bad else 0)
