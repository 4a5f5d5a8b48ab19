#!/usr/bin/python3
"""random_diff - randomized differential test of `cnnc run` against PyTorch.

  /usr/bin/python3 test/random/random_diff.py [--cnnc build/bin/cnnc]
      [--count 300] [--seed S] [--threads N] [--extra-args "..."]
      [--layers base|ext] [--batch-per-process K] [--only I]
      [--keep-failures DIR] [--print] [--dry-run]

Generates seeded random layer chains as .cnn text (1-6 layers: Conv2d with
random channels 1-16, int or tuple kernel 1-5 / stride 1-3 / padding 0-2,
bias on/off; MaxPool2d with kernel 1-3 and stride None/int/tuple; ReLU in
its spellings; sometimes a final flatten + Linear; inputs 5-40, odd and
non-square, batch 1-3), checking every shape while generating so each case
is valid PyTorch. Each case runs through cnnc run and PyTorch on the same
random weights and input and is compared like test/oracle/run_oracle.py.
`--layers ext` adds BatchNorm2d, AvgPool2d, AdaptiveAvgPool2d, dilation,
groups, ceil_mode and the other activations. Case i uses seed
S * 1000003 + i, so `--seed S --only I` replays one case.
--batch-per-process K puts K cases in one .cnn file as classes Net0..NetK-1
(each selected with `cnnc run --model NetJ`); default 1 (one class, no
--model). Prints the seed, the count, and each failing case's .cnn text with
the error; exit 1 on any failure.
"""
import argparse
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "oracle"))
import oracle_lib as ol  # noqa: E402
from oracle_lib import cnn_torch  # noqa: E402

MAX_CH = 16


def conv_out(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out(n, k, s, p, ceil=False):
    if ceil:
        o = -(-(n + 2 * p - k) // s) + 1
        # PyTorch: the last window must start inside the input or left pad.
        if (o - 1) * s >= n + p:
            o -= 1
        return o
    return (n + 2 * p - k) // s + 1


def pair_text(r, a, b, force_tuple=False):
    """An int when a == b (sometimes as a tuple anyway), else a tuple."""
    if a == b and not force_tuple and r.random() < 0.75:
        return str(a)
    return "(%d, %d)" % (a, b)


class Gen:
    """Generates one random model; `lines` of __init__, `fwd` of forward."""

    def __init__(self, r, ext):
        self.r = r
        self.ext = ext
        self.init = []
        self.fwd = []
        self.seq = r.random() < 0.3   # layers in one nn.Sequential
        self.n = 0

    # -- emit helpers ------------------------------------------------------
    def module(self, ctor, fn_call=None):
        """Adds a module layer (or, when not in Sequential mode and fn_call
        is given, sometimes the functional form)."""
        if not self.seq and fn_call is not None and self.r.random() < 0.4:
            self.fwd.append("x = %s" % fn_call)
            return
        if self.seq:
            self.init.append(ctor)
        else:
            name = "l%d" % self.n
            self.n += 1
            self.init.append("self.%s = %s" % (name, ctor))
            self.fwd.append("x = self.%s(x)" % name)

    # -- layers --------------------------------------------------------------
    def conv(self, shape):
        r = self.r
        n, c, h, w = shape
        for _ in range(30):
            kh = r.randint(1, 5)
            kw = kh if r.random() < 0.6 else r.randint(1, 5)
            sh = r.randint(1, 3)
            sw = sh if r.random() < 0.7 else r.randint(1, 3)
            ph = r.randint(0, 2)
            pw = ph if r.random() < 0.7 else r.randint(0, 2)
            dh = dw = 1
            groups = 1
            if self.ext and r.random() < 0.25:
                dh = r.randint(1, 3)
                dw = dh if r.random() < 0.6 else r.randint(1, 3)
            oc = r.randint(1, MAX_CH)
            if self.ext and r.random() < 0.3:
                divs = [g for g in range(2, c + 1) if c % g == 0]
                if divs:
                    groups = r.choice(divs)
                    if r.random() < 0.4:
                        oc = groups                      # depthwise
                    else:
                        oc = groups * r.randint(1, max(1, MAX_CH // groups))
            oh = conv_out(h, kh, sh, ph, dh)
            ow = conv_out(w, kw, sw, pw, dw)
            if oh >= 1 and ow >= 1:
                break
        else:
            return None
        args = ["%d, %d" % (c, oc)]
        k = pair_text(r, kh, kw)
        args.append(k if r.random() < 0.5 else "kernel_size=%s" % k)
        if (sh, sw) != (1, 1) or r.random() < 0.2:
            args.append("stride=%s" % pair_text(r, sh, sw))
        if (ph, pw) != (0, 0) or r.random() < 0.2:
            args.append("padding=%s" % pair_text(r, ph, pw))
        if (dh, dw) != (1, 1):
            args.append("dilation=%s" % pair_text(r, dh, dw))
        if groups != 1:
            args.append("groups=%d" % groups)
        if r.random() < 0.3:
            args.append("bias=False")
        self.module("nn.Conv2d(%s)" % ", ".join(args))
        return (n, oc, oh, ow)

    def maxpool(self, shape, avg=False):
        r = self.r
        n, c, h, w = shape
        for _ in range(30):
            kh = r.randint(1, 3)
            kw = kh if r.random() < 0.6 else r.randint(1, 3)
            stride = None
            sh, sw = kh, kw
            u = r.random()
            if u < 0.35:
                sh = sw = r.randint(1, 3)
                stride = str(sh)
            elif u < 0.55:
                sh, sw = r.randint(1, 3), r.randint(1, 3)
                stride = "(%d, %d)" % (sh, sw)
            ph = pw = 0
            if r.random() < 0.25:
                ph, pw = r.randint(0, kh // 2), r.randint(0, kw // 2)
            ceil = self.ext and r.random() < 0.2
            oh = pool_out(h, kh, sh, ph, ceil)
            ow = pool_out(w, kw, sw, pw, ceil)
            if oh >= 1 and ow >= 1:
                break
        else:
            return None
        k = pair_text(r, kh, kw)
        args = [k if r.random() < 0.6 else "kernel_size=%s" % k]
        if stride is not None:
            args.append(stride if r.random() < 0.5 and len(args) == 1
                        and not args[0].startswith("kernel")
                        else "stride=%s" % stride)
        if (ph, pw) != (0, 0):
            args.append("padding=%s" % pair_text(r, ph, pw))
        if ceil:
            args.append("ceil_mode=True")
        cls = "nn.AvgPool2d" if avg else "nn.MaxPool2d"
        if avg and ((ph, pw) != (0, 0)) and r.random() < 0.5:
            args.append("count_include_pad=False")
        fn = None
        if not avg and not ceil and (ph, pw) == (0, 0):
            fn = "F.max_pool2d(x, %s)" % ", ".join(args)
        self.module("%s(%s)" % (cls, ", ".join(args)), fn)
        return (n, c, oh, ow)

    def relu(self, shape):
        r = self.r
        mods = ["nn.ReLU()", "nn.ReLU(True)", "nn.ReLU(inplace=True)"]
        fns = ["F.relu(x)", "torch.relu(x)", "F.relu(x, inplace=True)"]
        self.module(r.choice(mods), r.choice(fns))
        return shape

    def activation(self, shape):
        r = self.r
        choices = [
            ("nn.Sigmoid()", "torch.sigmoid(x)"),
            ("nn.Tanh()", "torch.tanh(x)"),
            ("nn.LeakyReLU()", "F.leaky_relu(x)"),
            ("nn.LeakyReLU(0.2)", "F.leaky_relu(x, 0.2)"),
            ("nn.ReLU6()", "F.relu6(x)"),
            ("nn.Hardswish()", "F.hardswish(x)"),
            ("nn.SiLU()", "F.silu(x)"),
            ("nn.ELU()", "F.elu(x)"),
        ]
        self.module(*r.choice(choices))
        return shape

    def batchnorm(self, shape):
        self.module("nn.BatchNorm2d(%d)" % shape[1])
        return shape

    def adaptive(self, shape):
        n, c, h, w = shape
        self.module(self.r.choice(["nn.AdaptiveAvgPool2d((1, 1))",
                                   "nn.AdaptiveAvgPool2d(1)"]))
        return (n, c, 1, 1)

    def flatten_linear(self, shape):
        r = self.r
        n, c, h, w = shape
        feat = c * h * w
        out = r.randint(1, 16)
        bias = "" if r.random() < 0.7 else ", bias=False"
        if self.seq:
            self.init.append("nn.Flatten()")
            self.init.append("nn.Linear(%d, %d%s)" % (feat, out, bias))
            return (n, out)
        form = r.choice(["torch.flatten(x, 1)", "x.view(x.size(0), -1)",
                         "x.view(-1, %d)" % feat, "x.reshape(%d, -1)" % n,
                         "module"])
        if form == "module":
            self.init.append("self.flat = nn.Flatten()")
            self.fwd.append("x = self.flat(x)")
        else:
            self.fwd.append("x = %s" % form)
        self.init.append("self.fc = nn.Linear(%d, %d%s)" % (feat, out, bias))
        self.fwd.append("x = self.fc(x)")
        return (n, out)

    # -- a whole model -------------------------------------------------------
    def build(self, cls):
        r = self.r
        n = r.randint(1, 3)
        c = r.randint(1, MAX_CH)
        h = r.randint(5, 40)
        w = h if r.random() < 0.4 else r.randint(5, 40)
        shape0 = shape = (n, c, h, w)
        kinds = ["conv"] * 5 + ["pool"] * 2 + ["relu"] * 3
        if self.ext:
            kinds += ["bn", "avg", "act", "act", "adaptive"]
        for i in range(r.randint(1, 6)):
            k = r.choice(kinds) if i else "conv"
            if k == "conv":
                s = self.conv(shape)
            elif k == "pool":
                s = self.maxpool(shape)
            elif k == "avg":
                s = self.maxpool(shape, avg=True)
            elif k == "relu":
                s = self.relu(shape)
            elif k == "act":
                s = self.activation(shape)
            elif k == "bn":
                s = self.batchnorm(shape)
            else:
                s = self.adaptive(shape)
            shape = s if s is not None else self.relu(shape)
        if r.random() < 0.35:
            shape = self.flatten_linear(shape)
        lines = ["class %s(nn.Module):" % cls,
                 "    def __init__(self):",
                 "        super(%s, self).__init__()" % cls
                 if r.random() < 0.5 else "        super().__init__()"]
        if self.seq:
            lines.append("        self.body = nn.Sequential(")
            lines += ["            %s," % l for l in self.init]
            lines.append("        )")
        else:
            lines += ["        " + l for l in self.init]
        lines.append("")
        lines.append("    def forward(self, x: Tensor[%d, %d, %d, %d]):"
                     % shape0)
        if self.seq:
            lines.append("        x = self.body(x)")
        else:
            lines += ["        " + l for l in self.fwd]
        lines.append("        return x  # %s" % list(shape))
        return "\n".join(lines) + "\n", shape


HEADER = ("import torch\n"
          "import torch.nn as nn\n"
          "import torch.nn.functional as F\n")


def case_seed(seed, i):
    return seed * 1000003 + i


def generate(seed, i, ext, cls="Net"):
    """(class text, expected output shape) of case i."""
    r = random.Random(case_seed(seed, i))
    return Gen(r, ext).build(cls)


def main():
    p = argparse.ArgumentParser(prog="random_diff",
                                description=__doc__.split("\n")[0])
    ol.add_common_args(p)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--seed", type=int, default=None,
                   help="default: time-based (printed)")
    p.add_argument("--threads", type=int, help="pass --threads N to cnnc run")
    p.add_argument("--layers", choices=["base", "ext"], default="base")
    p.add_argument("--batch-per-process", type=int, default=1, metavar="K",
                   help="cases per .cnn file, picked with --model (default 1)")
    p.add_argument("--only", type=int, metavar="I",
                   help="run only case I (replay)")
    p.add_argument("--keep-failures", metavar="DIR",
                   help="write failing cases to DIR/case-SEED-I.cnn")
    p.add_argument("--print", dest="print_cases", action="store_true",
                   help="print every generated case")
    p.add_argument("--max-failures", type=int, default=20,
                   help="stop after this many failures (default 20)")
    a = p.parse_args(ol.fix_argv(sys.argv[1:]))
    if a.seed is None:
        a.seed = int(time.time()) % 100000
    k = max(1, a.batch_per_process)
    ol.check_cnnc(a)
    ol.setup_torch(1)
    ext = a.layers == "ext"
    indices = [a.only] if a.only is not None else list(range(a.count))
    print("random_diff: seed %d, count %d, layers %s%s"
          % (a.seed, len(indices), a.layers,
             " [dry run]" if a.dry_run else ""), flush=True)

    fails = 0
    worst = (0.0, None)
    t0 = time.time()
    with ol.tempdir("cnnc-random-diff.") as tmp:
        for g in range(0, len(indices), k):
            group = indices[g:g + k]
            texts = {}
            for i in group:
                cls = "Net" if k == 1 else "Net%d" % i
                texts[i] = (cls,) + generate(a.seed, i, ext, cls)
            path = os.path.join(tmp, "case%d.cnn" % group[0])
            with open(path, "w", encoding="utf-8") as f:
                f.write(HEADER + "".join("\n\n" + texts[i][1] for i in group))
            for i in group:
                cls, text, shape = texts[i]
                src = HEADER + "\n\n" + text
                if a.print_cases:
                    print("--- case %d\n%s" % (i, src), flush=True)
                work = os.path.join(tmp, "w%d" % i)
                try:
                    ok, msg, ma, mr, _ = ol.run_case(
                        path, work, case_seed(a.seed, i), a,
                        None if k == 1 else cls, shape)
                except Exception as e:  # noqa: BLE001 - generator bug
                    ok, msg, ma = False, ("PyTorch side (generator bug): "
                                          "%s: %s" % (type(e).__name__, e)), 0
                if ok:
                    if ma > worst[0]:
                        worst = (ma, i)
                else:
                    fails += 1
                    print("FAIL case %d (--seed %d --only %d): %s\n%s"
                          % (i, a.seed, i, msg, src), flush=True)
                    if a.keep_failures:
                        os.makedirs(a.keep_failures, exist_ok=True)
                        with open(os.path.join(a.keep_failures,
                                               "case-%d-%d.cnn" % (a.seed, i)),
                                  "w", encoding="utf-8") as f:
                            f.write(src)
                done = i - indices[0] + 1
                if not a.only and done % 50 == 0:
                    print("  ... %d cases, %d failed (%.0fs)"
                          % (done, fails, time.time() - t0), flush=True)
                if fails >= a.max_failures:
                    break
            if fails >= a.max_failures:
                print("random_diff: stopping after %d failures" % fails)
                break
    print("random_diff: seed %d: %d of %d cases passed, %d failed; worst "
          "passing max abs error %.3g%s (%.1fs)"
          % (a.seed, len(indices) - fails, len(indices), fails, worst[0],
             " (case %d)" % worst[1] if worst[1] is not None else "",
             time.time() - t0))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    cnn_torch.main_wrapper("random_diff", main)
