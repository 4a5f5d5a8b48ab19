"""oracle_lib - shared helpers for cnnc's PyTorch oracle tests.

Used by test/oracle/summary_oracle.py, test/oracle/run_oracle.py and
test/random/random_diff.py. Run everything with /usr/bin/python3 (the
interpreter that has torch). The PyTorch side of a .cnn file comes from
tools/cnn_torch.py; this module adds: model discovery, `cnnc` subprocess
calls, the tolerance check of tools/cnnc-compare-npy, the PyTorch layer list
(forward hooks on leaf modules) in the shape of `cnnc --summary=json`, and
the batch-size rewrite of a model's `Tensor[...]` annotation.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import cnn_torch  # noqa: E402,F401
from cnn_torch import CnnError  # noqa: E402,F401

RTOL = 1e-4
ATOL = 2e-4
DEFAULT_CNNC = os.path.join(REPO, "build", "bin", "cnnc")


def setup_torch(threads=1):
    """Keeps the oracle light on the shared machine."""
    torch.set_num_threads(max(1, threads))
    torch.set_grad_enabled(False)


# ---------------------------------------------------------------- discovery

def collect_models(paths, recursive=False, exclude=()):
    """Expands files and directories into a sorted, de-duplicated list of
    .cnn files. Directories contribute their *.cnn files (and those of
    subdirectories with recursive=True). Files whose path ends with one of
    `exclude` (e.g. "ext/softmax.cnn") are left out; an exclude pattern that
    matches nothing is an error, so a stale one cannot linger."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            found = []
            if recursive:
                for root, dirs, files in os.walk(p):
                    dirs.sort()
                    found += [os.path.join(root, f) for f in files
                              if f.endswith(".cnn")]
            else:
                found = [os.path.join(p, f) for f in os.listdir(p)
                         if f.endswith(".cnn")]
            out += sorted(found)
        elif os.path.isfile(p):
            out.append(p)
        else:
            raise CnnError("no such file or directory: %s" % p)
    seen = set()
    res = []
    used = set()
    for p in out:
        k = os.path.realpath(p)
        hit = [x for x in exclude
               if k == os.path.realpath(x) or k.endswith(os.sep + x)]
        if hit:
            used.update(hit)
            continue
        if k not in seen:
            seen.add(k)
            res.append(p)
    unused = [x for x in exclude if x not in used]
    if unused:
        raise CnnError("--exclude %s matches no model" % unused[0])
    return res


def add_common_args(p):
    """Arguments shared by the oracle scripts."""
    p.add_argument("--cnnc", default=DEFAULT_CNNC,
                   help="the cnnc binary (default: build/bin/cnnc)")
    p.add_argument("--extra-args", default="",
                   help="extra flags for cnnc, one shell-quoted string, "
                        "e.g. \"--target-cpu=x86-64 -O1\"")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds per cnnc invocation (default 300)")
    p.add_argument("--dry-run", action="store_true",
                   help="do not run cnnc; check the PyTorch side against "
                        "itself (weights/input/output files round-trip)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print cnnc command lines")
    p.add_argument("--exclude", action="append", default=[], metavar="PATH",
                   help="leave out models whose path ends with PATH "
                        "(repeatable; e.g. a known gap)")


def fix_argv(argv):
    """Lets `--extra-args "--flag"` through argparse (which would take a
    value starting with '-' for an option) by joining it into
    `--extra-args=--flag`."""
    out = []
    i = 0
    while i < len(argv):
        if argv[i] == "--extra-args" and i + 1 < len(argv):
            out.append("--extra-args=" + argv[i + 1])
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def check_cnnc(args):
    if args.dry_run:
        return
    if not (os.path.isfile(args.cnnc) and os.access(args.cnnc, os.X_OK)):
        raise CnnError("cnnc not found at %s (build it, pass --cnnc, or use "
                       "--dry-run)" % args.cnnc)


# ---------------------------------------------------------------- cnnc

class CnncFailure(Exception):
    """cnnc exited non-zero, timed out, or produced no usable output."""


def _short(text, lines=12):
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    ls = text.rstrip().splitlines()
    if len(ls) > lines:
        ls = ls[:lines] + ["... (%d more lines)" % (len(ls) - lines)]
    return "\n".join("    " + s for s in ls)


def run_cnnc(cnnc, argv, timeout=300.0, verbose=False):
    """Runs cnnc with argv; returns stdout (str). Raises CnncFailure with the
    exit status and the head of stderr on failure."""
    cmd = [cnnc] + list(argv)
    if verbose:
        print("  $ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CnncFailure("cnnc timed out after %gs" % timeout)
    except OSError as e:
        raise CnncFailure("cannot run %s: %s" % (cnnc, e))
    if r.returncode != 0:
        what = ("killed by signal %d" % -r.returncode if r.returncode < 0
                else "exit %d" % r.returncode)
        if r.returncode == 70:
            what += " (internal compiler error)"
        raise CnncFailure("cnnc %s\n%s" % (what, _short(r.stderr)))
    return r.stdout.decode("utf-8", "replace")


def extra_args(args):
    return shlex.split(args.extra_args or "")


# ---------------------------------------------------------------- comparison

def compare(expected, actual, rtol=RTOL, atol=ATOL):
    """The check of tools/cnnc-compare-npy: |a - e| <= atol * scale +
    rtol * |e| with scale = max(1, max |e|). Returns (ok, message, max_abs,
    max_rel) where max_rel is max |a - e| / max(|e|, atol * scale)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        return (False, "shape %s (cnnc) vs %s (PyTorch)"
                % (list(a.shape), list(e.shape)), float("inf"), float("inf"))
    if e.size == 0:
        return True, "empty", 0.0, 0.0
    # Non-finite values must be exactly PyTorch's: NaN where PyTorch has NaN
    # (a NaN input poisons what it reaches), the same infinities; the
    # finite rest is compared with the tolerance.
    fin_e, fin_a = np.isfinite(e), np.isfinite(a)
    nan_e, nan_a = np.isnan(e), np.isnan(a)
    # Elements where one side is finite and the other not, one NaN and the
    # other not, or both infinite with different signs.
    wrong = (fin_e != fin_a) | (nan_e != nan_a) | (~fin_e & ~nan_e & (e != a))
    if np.any(wrong):
        first = int(np.flatnonzero(wrong)[0])
        return (False, "%d NaN/inf values in cnnc's output, %d in PyTorch's; "
                "first difference at %s: expected %.7g, got %.7g"
                % (int(np.sum(~fin_a)), int(np.sum(~fin_e)),
                   list(np.unravel_index(first, e.shape)),
                   float(e.flat[first]), float(a.flat[first])),
                float("inf"), float("inf"))
    if not np.all(fin_e):
        e, a = e[fin_e], a[fin_e]
        if e.size == 0:
            return True, "ok (all non-finite, as PyTorch's)", 0.0, 0.0
    scale = max(1.0, float(np.max(np.abs(e))))
    tol = atol * scale + rtol * np.abs(e)
    err = np.abs(a - e)
    max_abs = float(np.max(err))
    max_rel = float(np.max(err / np.maximum(np.abs(e), atol * scale)))
    bad = err > tol
    if np.any(bad):
        worst = int(np.argmax(err - tol))
        idx = list(np.unravel_index(worst, e.shape))
        return (False, "%d of %d elements out of tolerance; worst at %s: "
                "expected %.7g, got %.7g (tolerance %.3g)"
                % (int(np.sum(bad)), e.size, idx, float(e.flat[worst]),
                   float(a.flat[worst]), float(tol.flat[worst])),
                max_abs, max_rel)
    return True, "ok", max_abs, max_rel


# ---------------------------------------------------------------- batch

_FWD_ANN = re.compile(r"(def\s+forward\s*\([^)]*?:\s*Tensor\s*\[\s*)(\d+)")


def rewrite_batch(source, batch):
    """The .cnn source with the first dimension of forward's Tensor[...]
    annotation replaced by `batch`; None if there is no such annotation."""
    m = _FWD_ANN.search(source)
    if m is None:
        return None
    return source[:m.start(2)] + str(batch) + source[m.end(2):]


# ---------------------------------------------------------------- PyTorch side

def leaf_modules(model):
    return [(name, m) for name, m in model.named_modules()
            if name and not any(True for _ in m.children())]


def _macs(m, inp, out):
    if isinstance(m, nn.Conv2d):
        kh, kw = m.kernel_size
        return out.numel() * (m.in_channels // m.groups) * kh * kw
    if isinstance(m, nn.Linear):
        return out.numel() * m.in_features
    return None


def torch_summary(model, shape, name="Net"):
    """Runs the model on zeros with hooks on every leaf module; returns a
    dict shaped like `cnnc --summary=json` (layers: the leaf-module calls,
    in call order; functional ops are not seen and so not listed)."""
    layers = []
    hooks = []

    def hook_for(lname):
        def hook(m, inp, out):
            if not isinstance(out, torch.Tensor):
                raise CnnError("module '%s' returned %s" %
                               (lname, type(out).__name__))
            macs = _macs(m, inp, out)
            layers.append({
                "name": lname, "type": type(m).__name__,
                "output_shape": list(out.shape),
                "params": sum(p.numel() for p in m.parameters(recurse=False)),
                "macs": macs})
        return hook

    for lname, m in leaf_modules(model):
        hooks.append(m.register_forward_hook(hook_for(lname)))
    try:
        with torch.no_grad():
            y = model(torch.zeros(shape))
    finally:
        for h in hooks:
            h.remove()
    if not isinstance(y, torch.Tensor):
        raise CnnError("forward returned %s, expected a tensor"
                       % type(y).__name__)
    return {
        "model": name,
        "input_shape": list(shape),
        "output_shape": list(y.shape),
        "total_params": sum(p.numel() for p in model.parameters()),
        "total_macs": sum(l["macs"] or 0 for l in layers),
        "layers": layers,
    }


def make_input(shape, seed, nans=0):
    """Seeded standard-normal input; with nans > 0, that many elements
    (seeded positions, distinct) are NaN."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    if nans > 0:
        pos = rng.choice(x.size, size=min(nans, x.size), replace=False)
        x.flat[pos] = np.nan
    return x


class Case:
    """One model's PyTorch reference: random weights, input and output,
    written to files in workdir for cnnc."""

    def __init__(self, path, workdir, seed, model_name=None, nans=0):
        self.path = path
        self.model_name = model_name
        self.model, self.shape = cnn_torch.random_model(path, seed,
                                                        model_name)
        self.x = make_input(self.shape, seed, nans)
        self.expected = cnn_torch.run(self.model, self.x)
        os.makedirs(workdir, exist_ok=True)
        self.weights = os.path.join(workdir, "w.safetensors")
        self.input = os.path.join(workdir, "x.npy")
        self.output = os.path.join(workdir, "y.npy")
        cnn_torch.write_safetensors(self.weights, self.model.state_dict(),
                                    {"format": "pt", "cnnc_seed": str(seed)})
        cnn_torch.save_npy(self.input, self.x)
        if os.path.exists(self.output):
            os.unlink(self.output)

    def run_cnnc(self, cnnc, threads=None, extra=(), timeout=300.0,
                 verbose=False):
        argv = ["run", self.path, "--weights", self.weights,
                "--input", self.input, "--output", self.output]
        if self.model_name:
            argv += ["--model", self.model_name]
        if threads:
            argv += ["--threads", str(threads)]
        argv += list(extra)
        run_cnnc(cnnc, argv, timeout, verbose)
        return self._load_output()

    def run_dry(self):
        """The stand-in for cnnc: a fresh model from the file, weights and
        input read back from the written files."""
        model, shape = cnn_torch.load_cnn(self.path, self.model_name)
        cnn_torch.load_weights(model, cnn_torch.read_safetensors(self.weights),
                               self.weights)
        model.eval()
        x = np.load(self.input, allow_pickle=False)
        assert tuple(x.shape) == tuple(shape)
        cnn_torch.save_npy(self.output, cnn_torch.run(model, x))
        return self._load_output()

    def _load_output(self):
        if not os.path.exists(self.output):
            raise CnncFailure("cnnc exited 0 but wrote no %s" % self.output)
        try:
            y = np.load(self.output, allow_pickle=False)
        except Exception as e:
            raise CnncFailure("cannot read cnnc's output: %s" % e)
        if y.dtype != np.float32:
            raise CnncFailure("cnnc's output has dtype %s, expected float32"
                              % y.dtype)
        return y


def run_case(path, workdir, seed, args, model_name=None, expect_shape=None):
    """Builds the reference and runs cnnc (or the dry-run stand-in).
    Returns (ok, message, max_abs, max_rel, seconds). PyTorch-side errors
    propagate as CnnError; cnnc failures are reported as a FAIL."""
    case = Case(path, workdir, seed, model_name,
                getattr(args, "nan_inputs", 0) or 0)
    if expect_shape is not None and \
            tuple(case.expected.shape) != tuple(expect_shape):
        raise CnnError("PyTorch output shape %s, expected %s"
                       % (list(case.expected.shape), list(expect_shape)))
    t0 = time.time()
    try:
        if args.dry_run:
            y = case.run_dry()
        else:
            y = case.run_cnnc(args.cnnc, getattr(args, "threads", None),
                              extra_args(args), args.timeout, args.verbose)
    except CnncFailure as e:
        return False, str(e), float("inf"), float("inf"), time.time() - t0
    ok, msg, ma, mr = compare(case.expected, y)
    return ok, msg, ma, mr, time.time() - t0


def tempdir(prefix):
    return tempfile.TemporaryDirectory(prefix=prefix)


def dumps(obj):
    return json.dumps(obj, separators=(", ", ": "))
