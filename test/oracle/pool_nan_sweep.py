#!/usr/bin/python3
"""pool_nan_sweep - every input position of a pooling, one NaN at a time.

  /usr/bin/python3 test/oracle/pool_nan_sweep.py [--cnnc build/bin/cnnc]
      [--threads N] [--extra-args "..."] MODEL.cnn|DIR ...

Each model takes [N, C, H, W] with C >= H * W: plane c of the input holds
one special value at pixel c % (H * W); or with N >= H * W (a model with
convolutions before the pooling, which mix channels): channel 0 of image n
holds one at pixel n % (H * W). Every other element is seeded
standard-normal; so one run puts a special value at every position. The special value is NaN in one run (a NaN tap must win, exactly
where PyTorch's does), and +inf / -inf alternately in another (no NaN may
appear). The max pooling's fast path reduces with maxps and checks what it
loaded for NaNs afterwards (PoolVector.cpp): a position its check missed
would show as a NaN missing from cnnc's output. Compared with
oracle_lib.compare (NaN and infinity positions exact). Prints PASS/FAIL per
model and run; exit 1 on any failure.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import oracle_lib as ol  # noqa: E402
from oracle_lib import CnnError, cnn_torch  # noqa: E402


def special_input(shape, seed, kind):
    """The seeded input with one special value per plane (C >= H*W: plane
    c at pixel c % (H*W)) or, for models that mix channels before the
    pooling, per image (N >= H*W: image n, channel 0, pixel n % (H*W))."""
    n, c, h, w = shape
    x = ol.make_input(shape, seed)
    if c >= h * w:
        planes = x.reshape(n * c, h * w)
        idx = np.arange(n * c)
    elif n >= h * w:
        planes = x[:, 0].reshape(n, h * w)
        idx = np.arange(n)
    else:
        raise CnnError("input %s: needs N or C >= H*W = %d" % (list(shape), h * w))
    val = np.nan if kind == "nan" else np.where(idx % 2 == 0, np.inf, -np.inf)
    planes[idx, idx % (h * w)] = val
    if c < h * w:
        x[:, 0] = planes.reshape(n, h, w)
    return x


def main():
    p = argparse.ArgumentParser(prog="pool_nan_sweep", description=__doc__.split("\n")[0])
    ol.add_common_args(p)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("models", nargs="+")
    args = p.parse_args(ol.fix_argv(sys.argv[1:]))
    ol.check_cnnc(args)
    ol.setup_torch()
    paths = ol.collect_models(args.models)
    failed = total = 0
    with ol.tempdir("pool-nan-sweep-") as tmp:
        for path in paths:
            for kind in ("nan", "inf"):
                total += 1
                name = "%s (%s)" % (os.path.basename(path), kind)
                case = ol.Case(path, os.path.join(tmp, "case"), args.seed)
                case.x = special_input(case.shape, args.seed, kind)
                case.expected = cnn_torch.run(case.model, case.x)
                cnn_torch.save_npy(case.input, case.x)
                try:
                    y = case.run_cnnc(args.cnnc, args.threads, ol.extra_args(args),
                                      args.timeout, args.verbose)
                    ok, msg, _, _ = ol.compare(case.expected, y)
                except ol.CnncFailure as e:
                    ok, msg = False, str(e)
                specials = int(np.sum(~np.isfinite(case.expected)))
                print("%s %s: %s (%d non-finite outputs)"
                      % ("PASS" if ok else "FAIL", name, msg, specials))
                failed += 0 if ok else 1
    print("pool_nan_sweep: %d of %d runs passed, %d failed" % (total - failed, total, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CnnError as e:
        print("pool_nan_sweep: error: %s" % e, file=sys.stderr)
        sys.exit(1)
