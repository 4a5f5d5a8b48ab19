"""check_torchvision - real architectures in test/models/real/ against torchvision.

For every .cnn model with a torchvision counterpart (ResNet-18/50, VGG-11,
VGG-11-BN, MobileNetV2, SqueezeNet 1.1):

  1. keys    torchvision's model (weights=None, random init) is loaded into the
             .cnn model (run by PyTorch) with load_state_dict(strict=True), and
             the two state_dicts list the same keys in the same order: the same
             architecture, key for key.
  2. params  `cnnc MODEL --summary=json` reports torchvision's parameter count
             and output shape, at the file's 224x224 input.
  3. numeric torchvision's state_dict, exported as safetensors, is the weights
             file for `cnnc run`; its output must match torchvision's on the
             same input within the oracle tolerance
             (|cnnc - torch| <= 2e-4 * max(1, max|torch|) + 1e-4 * |torch|).

Models without a counterpart (LeNet-5) get steps 2 and 3 against the .cnn file
run by PyTorch. Weights: torchvision's own init, then a one-pass calibration
(forward hooks) that rescales every Conv2d/Linear to unit output std and sets
every BatchNorm2d's running statistics to the statistics of its actual input
(with random affine parameters), so activations stay O(1) through 50 layers and
the comparison is meaningful (plain random init makes the logits ~1e-12).

The numeric step runs at the file's input size (224x224), except VGG at
112x112 (see MODELS); --size H rewrites the Tensor[...] annotation to H x H
for it, --size full uses every file as written (keys and params always do). Run with /usr/bin/python3 (torch 1.13 + torchvision 0.14).
Prints one line per model and a closing 'N passed, N failed' line; exits 1 on
any failure.
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "oracle"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import oracle_lib  # noqa: E402
from oracle_lib import cnn_torch  # noqa: E402

# .cnn file, torchvision constructor (None: no counterpart), input size of
# the numeric check (0: the file's). VGG-11 is 7.6 GMACs with 133M
# parameters; at 224x224 `cnnc run` takes 30-100 s on the 2-core machine
# (about 15 s of it loading and packing 530 MB of weights), so its numeric
# check runs at 112x112, a quarter of the MACs, where AdaptiveAvgPool2d((7, 7))
# still sees 3x3 features. --size full runs every model at its file's size.
MODELS = [
    ("lenet5.cnn", None, 0),
    ("squeezenet1_1.cnn", "squeezenet1_1", 0),
    ("mobilenet_v2.cnn", "mobilenet_v2", 0),
    ("resnet18.cnn", "resnet18", 0),
    ("resnet50.cnn", "resnet50", 0),
    ("vgg11.cnn", "vgg11", 112),
    ("vgg11_bn.cnn", "vgg11_bn", 112),
]

_ANN = re.compile(r"(def\s+forward\s*\([^)]*?:\s*Tensor\s*\[)([^\]]*)(\])")


def rewrite_size(source, size):
    """The source with forward's Tensor[N, C, H, W] set to Tensor[N, C, size, size]."""
    m = _ANN.search(source)
    dims = [d.strip() for d in m.group(2).split(",")]
    if len(dims) != 4:
        raise cnn_torch.CnnError("cannot resize a %d-D input" % len(dims))
    dims[2] = dims[3] = str(size)
    return source[:m.start(2)] + ", ".join(dims) + source[m.end(2):]


def calibrate(model, shape, seed):
    """One forward pass with hooks: Conv2d/Linear rescaled to unit output std,
    BatchNorm2d running stats set to its input's stats, affine randomized."""
    g = torch.Generator().manual_seed(seed + 7)

    def conv_hook(m, inp, out):
        s = float(out.std())
        if s > 0:
            m.weight.div_(s)
            if m.bias is not None:
                m.bias.div_(s)
            return out / s
        return out

    def bn_hook(m, inp, out):
        x = inp[0]
        m.running_mean.copy_(x.mean(dim=(0, 2, 3)))
        m.running_var.copy_(x.var(dim=(0, 2, 3), unbiased=False) + 1e-3)
        if m.weight is not None:
            m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
        return nn.functional.batch_norm(x, m.running_mean, m.running_var, m.weight,
                                        m.bias, False, 0.0, m.eps)

    hooks = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.BatchNorm2d):
            hooks.append(m.register_forward_hook(bn_hook))
    model.eval()
    x = torch.from_numpy(oracle_lib.make_input(shape, seed + 3))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()


def summary(cnnc, path, timeout):
    out = oracle_lib.run_cnnc(cnnc, [path, "--summary=json"], timeout)
    return json.loads(out)


def check(args, fname, ctor, size, workdir):
    """Returns (ok, message)."""
    path = os.path.join(args.models, fname)
    name = fname[:-4]
    torch.manual_seed(args.seed)
    cnn_model, shape = cnn_torch.load_cnn(path)
    if ctor:
        import torchvision.models
        ref = getattr(torchvision.models, ctor)(weights=None)
        what = "torchvision.models.%s()" % ctor
    else:
        ref = cnn_model
        what = "the .cnn file in PyTorch"
    calibrate(ref, shape, args.seed)
    ref.eval()
    notes = []

    # 1. keys
    if ctor:
        sd = ref.state_dict()
        cnn_model.load_state_dict(sd, strict=True)
        if list(cnn_model.state_dict()) != list(sd):
            return False, "state_dict keys are in a different order than %s" % what
        notes.append("%d keys" % len(sd))

    # 2. params and output shape at the file's input
    want_params = sum(p.numel() for p in ref.parameters())
    with torch.no_grad():
        want_shape = list(ref(torch.zeros(shape)).shape)
    s = summary(args.cnnc, path, args.timeout)
    if s["total_params"] != want_params:
        return False, "cnnc total_params %d, %s has %d" % (s["total_params"], what,
                                                            want_params)
    if list(s["output_shape"]) != want_shape:
        return False, "cnnc output_shape %s, %s gives %s" % (s["output_shape"], what,
                                                             want_shape)
    notes.append("%d params" % want_params)

    # 3. numerics
    run_path = path
    run_shape = shape
    if args.size == "full":
        size = 0
    elif args.size:
        size = int(args.size)
    if size and size < shape[2]:
        with open(path, encoding="utf-8") as f:
            src = rewrite_size(f.read(), size)
        run_path = os.path.join(workdir, fname)
        with open(run_path, "w", encoding="utf-8") as f:
            f.write(src)
        run_shape = tuple(shape[:2]) + (size, size)
    weights = os.path.join(workdir, name + ".safetensors")
    inp = os.path.join(workdir, name + ".x.npy")
    outp = os.path.join(workdir, name + ".y.npy")
    cnn_torch.write_safetensors(weights, ref.state_dict(), {"format": "pt"})
    x = oracle_lib.make_input(run_shape, args.seed)
    cnn_torch.save_npy(inp, x)
    expected = cnn_torch.run(ref, x)
    t0 = time.time()
    argv = ["run", run_path, "--weights", weights, "--input", inp, "--output", outp]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    oracle_lib.run_cnnc(args.cnnc, argv, args.timeout, args.verbose)
    secs = time.time() - t0
    got = np.load(outp, allow_pickle=False)
    ok, msg, max_abs, max_rel = oracle_lib.compare(expected, got)
    notes.append("input %s max|y| %.3g max_abs_err %.2e max_rel_err %.2e cnnc run %.1fs"
                 % ("x".join(str(d) for d in run_shape[2:]),
                    float(np.max(np.abs(expected))), max_abs, max_rel, secs))
    if not ok:
        return False, "numerics: %s; %s" % (msg, ", ".join(notes))
    for f in (weights, inp, outp):
        os.unlink(f)
    return True, ", ".join(notes)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cnnc", default=oracle_lib.DEFAULT_CNNC)
    p.add_argument("--models", default=os.path.join(REPO, "test", "models", "real"))
    p.add_argument("--only", action="append", default=[],
                   help="check only this model (file name without .cnn); repeatable")
    p.add_argument("--size", default="",
                   help="run the numeric checks at SIZE x SIZE, or 'full' for every "
                        "file's own input (default: the file's, 112 for VGG)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    oracle_lib.setup_torch(1)
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="cnnc-real-") as workdir:
        for fname, ctor, size in MODELS:
            if args.only and fname[:-4] not in args.only:
                continue
            try:
                ok, msg = check(args, fname, ctor, size, workdir)
            except oracle_lib.CnncFailure as e:
                ok, msg = False, str(e)
            except (RuntimeError, cnn_torch.CnnError, KeyError) as e:
                ok, msg = False, "%s: %s" % (type(e).__name__, e)
            print("%s %s: %s" % ("PASS" if ok else "FAIL", fname[:-4], msg), flush=True)
            passed += ok
            failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
