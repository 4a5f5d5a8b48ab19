#!/usr/bin/python3
"""run_oracle - check `cnnc run` numerically against PyTorch.

  /usr/bin/python3 test/oracle/run_oracle.py [--cnnc build/bin/cnnc]
      [--threads N] [--batch N] [--extra-args "..."] [--seed S] [-r]
      [--nan-inputs K]
      [--dry-run] [--keep DIR] MODEL.cnn|DIR ...

For each model (all in this one process): seeded random weights
(tools/cnn_torch.random_model: PyTorch default init, BatchNorm statistics
randomized) written as safetensors, a seeded standard-normal input .npy, the
PyTorch output, then

  cnnc run MODEL --weights W.safetensors --input X.npy --output Y.npy
      [--threads N] [EXTRA ARGS]

and the check of tools/cnnc-compare-npy (rtol 1e-4, atol 2e-4 scaled by
max(1, max|ref|)). --batch N rewrites the first dimension of forward's
Tensor[...] annotation in a temporary copy of the file; models that PyTorch
cannot run at that batch (or whose output batch is not N) are skipped with a
note. Prints PASS/FAIL/SKIP per model with max abs/rel error, a total and the
worst error; exit 1 on any failure.
"""
import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import oracle_lib as ol  # noqa: E402
from oracle_lib import CnnError, cnn_torch  # noqa: E402


def batch_copy(path, batch, workdir):
    """A copy of the model with input batch `batch`, or (None, reason)."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    new = ol.rewrite_batch(src, batch)
    if new is None:
        return None, "no Tensor[...] annotation on forward"
    out = os.path.join(workdir, os.path.basename(path))
    with open(out, "w", encoding="utf-8") as f:
        f.write(new)
    try:
        model, shape = cnn_torch.load_cnn(out)
        y = cnn_torch.run(model, ol.make_input(shape, 0))
    except Exception as e:  # noqa: BLE001
        return None, ("batch-fixed: PyTorch fails at batch %d (%s: %s)"
                      % (batch, type(e).__name__, str(e).splitlines()[0]))
    if y.ndim == 0 or y.shape[0] != batch:
        return None, ("batch-fixed: output shape %s at batch %d"
                      % (list(y.shape), batch))
    return out, None


def main():
    p = argparse.ArgumentParser(prog="run_oracle",
                                description=__doc__.split("\n")[0])
    ol.add_common_args(p)
    p.add_argument("--threads", type=int, help="pass --threads N to cnnc run")
    p.add_argument("--batch", type=int,
                   help="override the input batch dimension")
    p.add_argument("--seed", type=int, default=1,
                   help="seed for weights and input (default 1)")
    p.add_argument("--nan-inputs", type=int, default=0, metavar="K",
                   help="make K input elements NaN (seeded positions); "
                   "cnnc's NaNs must then be exactly where PyTorch's are")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="descend into subdirectories of directory arguments")
    p.add_argument("--keep", metavar="DIR",
                   help="keep each model's weights/input/outputs in DIR/NAME/")
    p.add_argument("models", nargs="+", metavar="MODEL.cnn|DIR")
    a = p.parse_args(ol.fix_argv(sys.argv[1:]))
    if a.batch is not None and a.batch < 1:
        raise CnnError("--batch must be >= 1")
    ol.check_cnnc(a)
    ol.setup_torch(1)
    models = ol.collect_models(a.models, a.recursive, a.exclude)
    if not models:
        raise CnnError("no .cnn files found")

    fails = skips = 0
    worst = (0.0, 0.0, None)
    t0 = time.time()
    with ol.tempdir("cnnc-run-oracle.") as tmp:
        for i, path in enumerate(models):
            name = os.path.splitext(os.path.basename(path))[0]
            work = os.path.join(a.keep or tmp, "%03d-%s" % (i, name))
            os.makedirs(work, exist_ok=True)
            target = path
            if a.batch is not None:
                target, why = batch_copy(path, a.batch, work)
                if target is None:
                    print("SKIP %s: %s" % (path, why), flush=True)
                    skips += 1
                    continue
            try:
                ok, msg, ma, mr, secs = ol.run_case(target, work, a.seed, a)
            except Exception as e:  # noqa: BLE001 - PyTorch side
                print("FAIL %s: PyTorch side: %s: %s"
                      % (path, type(e).__name__, e), flush=True)
                fails += 1
                continue
            if ok:
                print("PASS %s  max abs %.3g, max rel %.3g  (%.2fs)"
                      % (path, ma, mr, secs), flush=True)
                if ma > worst[0]:
                    worst = (ma, mr, path)
            else:
                print("FAIL %s: %s  (max abs %.3g, max rel %.3g)"
                      % (path, msg, ma, mr), flush=True)
                fails += 1
            if not a.keep:
                shutil.rmtree(work, ignore_errors=True)
    ran = len(models) - skips
    print("run_oracle: %d of %d models passed, %d failed, %d skipped%s%s "
          "(%.1fs)" % (ran - fails, ran, fails, skips,
                       " [dry run]" if a.dry_run else "",
                       "; worst passing error %.3g (rel %.3g) in %s"
                       % worst if worst[2] else "", time.time() - t0))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    cnn_torch.main_wrapper("run_oracle", main)
