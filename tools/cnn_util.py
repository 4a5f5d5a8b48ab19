"""cnn_util - the torch-free part of the tools' shared code: the user-error
exception, atomic file writes, the output comparison and the main() wrapper. Scripts that need no
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


def compare(expected, actual, rtol, atol, actual_name="actual"):
    """Compares two arrays as the tests do; returns a one-line report, raises
    CnnError on a mismatch. An element passes when |actual - expected| <=
    atol * scale + rtol * |expected|, scale = max(1, max |expected|). The
    relative error of an element is |actual - expected| / max(|expected|,
    1e-3 * scale) (elements near zero are measured against the scale)."""
    import numpy as np
    e = np.asarray(expected, dtype=np.float64)
    x = np.asarray(actual, dtype=np.float64)
    if e.shape != x.shape:
        raise CnnError("shape %s (expected) vs %s (actual)"
                       % (list(e.shape), list(x.shape)))
    if not np.all(np.isfinite(x)):
        raise CnnError("%s contains NaN or infinity" % actual_name)
    if e.size == 0:
        return "empty arrays"
    scale = max(1.0, float(np.max(np.abs(e))))
    tol = atol * scale + rtol * np.abs(e)
    err = np.abs(x - e)
    rel = err / np.maximum(np.abs(e), 1e-3 * scale)
    worst = int(np.argmax(err - tol))
    idx = list(np.unravel_index(worst, e.shape))
    msg = ("max abs error %.3g, max rel error %.3g; closest to the tolerance "
           "at %s (expected %.7g, got %.7g, tolerance %.3g)"
           % (float(np.max(err)), float(np.max(rel)), idx,
              float(e.flat[worst]), float(x.flat[worst]), float(tol.flat[worst])))
    bad = int(np.sum(err > tol))
    if bad:
        raise CnnError("mismatch: %d of %d elements out of tolerance; %s"
                       % (bad, e.size, msg))
    return "%d elements, %s" % (e.size, msg)


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
