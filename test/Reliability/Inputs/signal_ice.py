#!/usr/bin/python3
"""signal_ice.py CNNC DIR - the internal-error path of a crash signal.

There is no input that crashes cnnc (that is the point of the fuzzers), so
this makes one happen: cnnc compiles a model read from a FIFO, which blocks
it in read() after its signal handlers are installed; the script then sends
it a signal that a real crash would raise (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
SIGABRT) and checks that cnnc says it is an internal compiler error and a
bug, exits with status 70, and leaves no output file.
"""
import os
import signal
import subprocess
import sys
import time

cnnc, d = sys.argv[1], sys.argv[2]
failures = 0
for sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT):
    fifo = os.path.join(d, "model-%d.cnn" % sig)
    out = os.path.join(d, "out-%d.o" % sig)
    os.mkfifo(fifo)
    p = subprocess.Popen([cnnc, fifo, "--random-weights", "1", "-o", out],
                         stderr=subprocess.PIPE, text=True)
    # Opening the write end without blocking succeeds once cnnc has opened
    # the read end; holding it open (and writing nothing) keeps cnnc reading.
    deadline = time.time() + 120
    while True:
        try:
            w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            if time.time() > deadline or p.poll() is not None:
                sys.exit("signal_ice.py: cnnc never opened its input")
            time.sleep(0.05)
    time.sleep(0.2)
    p.send_signal(sig)
    err = p.stderr.read()
    rc = p.wait()
    os.close(w)
    ok = (rc == 70 and "cnnc: internal compiler error" in err and "bug" in err
          and not os.path.exists(out))
    print("%s: exit %d%s" % (signal.Signals(sig).name, rc, "" if ok else " FAILED"))
    if not ok:
        sys.stdout.write(err)
        failures += 1
sys.exit(1 if failures else 0)
