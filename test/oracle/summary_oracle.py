#!/usr/bin/python3
"""summary_oracle - check `cnnc MODEL --summary=json` against PyTorch.

  /usr/bin/python3 test/oracle/summary_oracle.py [--cnnc build/bin/cnnc]
      [-r] [--strict] [--dry-run] [--dump] MODEL.cnn|DIR ...

For each model: runs `cnnc MODEL --summary=json [--extra-args]`, runs the model
in PyTorch with forward hooks on every leaf module (modules without children)
recording (module path, output shape) in call order, and compares
input_shape, output_shape, total_params (sum of p.numel() over
model.parameters()) and the cnnc layers whose "name" is non-empty, in order,
by name and output_shape, with the hook list. --strict also compares each
named layer's params (the module's own parameters) and, for Conv2d/Linear,
its macs. Prints PASS/FAIL per model with the first difference and a total;
exit 1 on any failure. --dry-run checks PyTorch against itself; --dump prints
PyTorch's reference summary JSON.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import oracle_lib as ol  # noqa: E402
from oracle_lib import CnnError, CnncFailure, cnn_torch  # noqa: E402


def first_difference(got, ref, strict):
    """None if the cnnc summary `got` agrees with PyTorch's `ref`, else a
    description of the first difference."""
    if not isinstance(got, dict):
        return "summary is a %s, not a JSON object" % type(got).__name__
    for key in ("input_shape", "output_shape", "total_params"):
        if key not in got:
            return "missing key '%s'" % key
        if got[key] != ref[key]:
            return "%s: cnnc %s, PyTorch %s" % (key, json.dumps(got[key]),
                                                json.dumps(ref[key]))
    for key in ("model", "total_macs", "layers"):
        if key not in got:
            return "missing key '%s'" % key
    if not isinstance(got["layers"], list):
        return "'layers' is not a list"
    named = [l for l in got["layers"] if isinstance(l, dict) and l.get("name")]
    for i, (g, r) in enumerate(zip(named, ref["layers"])):
        where = "named layer #%d" % i
        if g.get("name") != r["name"]:
            return ("%s: cnnc '%s' (%s), PyTorch '%s' (%s)"
                    % (where, g.get("name"), g.get("type"), r["name"],
                       r["type"]))
        if g.get("output_shape") != r["output_shape"]:
            return ("%s '%s': output_shape cnnc %s, PyTorch %s"
                    % (where, r["name"], json.dumps(g.get("output_shape")),
                       json.dumps(r["output_shape"])))
        if strict:
            if g.get("params") != r["params"]:
                return ("%s '%s': params cnnc %s, PyTorch %s"
                        % (where, r["name"], g.get("params"), r["params"]))
            if r["macs"] is not None and g.get("macs") != r["macs"]:
                return ("%s '%s': macs cnnc %s, expected %s"
                        % (where, r["name"], g.get("macs"), r["macs"]))
    if len(named) != len(ref["layers"]):
        n = min(len(named), len(ref["layers"]))
        if len(named) > n:
            extra = "cnnc has extra '%s' (%s)" % (named[n].get("name"),
                                                  named[n].get("type"))
        else:
            extra = "cnnc lacks '%s' (%s)" % (ref["layers"][n]["name"],
                                              ref["layers"][n]["type"])
        return ("%d named layers in cnnc, %d leaf-module calls in PyTorch; "
                "%s" % (len(named), len(ref["layers"]), extra))
    if strict:
        total = sum(l.get("macs") or 0 for l in got["layers"]
                    if isinstance(l, dict))
        if total != got["total_macs"]:
            return ("total_macs %s is not the sum of the layers' macs %d"
                    % (got["total_macs"], total))
    return None


def main():
    p = argparse.ArgumentParser(prog="summary_oracle",
                                description=__doc__.split("\n")[0])
    ol.add_common_args(p)
    p.add_argument("-r", "--recursive", action="store_true",
                   help="descend into subdirectories of directory arguments")
    p.add_argument("--strict", action="store_true",
                   help="also compare per-layer params and Conv2d/Linear macs")
    p.add_argument("--dump", action="store_true",
                   help="print PyTorch's reference summary JSON per model")
    p.add_argument("models", nargs="+", metavar="MODEL.cnn|DIR")
    a = p.parse_args(ol.fix_argv(sys.argv[1:]))
    ol.check_cnnc(a)
    ol.setup_torch(1)
    models = ol.collect_models(a.models, a.recursive, a.exclude)
    if not models:
        raise CnnError("no .cnn files found")

    fails = 0
    t0 = time.time()
    for path in models:
        try:
            model, shape = cnn_torch.load_cnn(path)
            ref = ol.torch_summary(model, shape, type(model).__name__)
        except Exception as e:  # noqa: BLE001 - report, go on
            print("FAIL %s: PyTorch side: %s: %s"
                  % (path, type(e).__name__, e), flush=True)
            fails += 1
            continue
        if a.dump:
            print(json.dumps(ref, indent=1))
        if a.dry_run:
            got = json.loads(json.dumps(ref))
        else:
            try:
                out = ol.run_cnnc(a.cnnc, [path, "--summary=json"]
                                  + ol.extra_args(a), a.timeout, a.verbose)
                got = json.loads(out)
            except CnncFailure as e:
                print("FAIL %s: %s" % (path, e), flush=True)
                fails += 1
                continue
            except ValueError as e:
                print("FAIL %s: cnnc printed invalid JSON: %s" % (path, e),
                      flush=True)
                fails += 1
                continue
        diff = first_difference(got, ref, a.strict)
        if diff is None:
            print("PASS %s  (%d layers, %d params)"
                  % (path, len(ref["layers"]), ref["total_params"]),
                  flush=True)
        else:
            print("FAIL %s: %s" % (path, diff), flush=True)
            fails += 1
    print("summary_oracle: %d of %d models passed%s (%.1fs)"
          % (len(models) - fails, len(models),
             " [dry run]" if a.dry_run else "", time.time() - t0))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    cnn_torch.main_wrapper("summary_oracle", main)
