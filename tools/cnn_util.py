"""cnn_util - the torch-free part of the tools' shared code: the user-error
exception, atomic file writes and the main() wrapper. Scripts that need no
PyTorch (cnnc-compare-npy, make_bad_weights.py for the malformed files)
import only this, so they start in a fraction of a second; tools/cnn_torch.py
re-exports these names.
"""
import os
import tempfile


class CnnError(Exception):
    """A user-facing error (bad model file, bad weights, bad arguments)."""


def atomic_write(path, data):
    """Writes bytes to path via a temporary file in the same directory."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main_wrapper(prog, main):
    """Runs main(); a CnnError or bad file prints 'prog: error: ...' and
    exits 1 (no traceback for user errors)."""
    import sys
    try:
        main()
    except CnnError as e:
        sys.stderr.write("%s: error: %s\n" % (prog, e))
        sys.exit(1)
    except (OSError, ValueError, KeyError) as e:
        sys.stderr.write("%s: error: %s\n" % (prog, e))
        sys.exit(1)
