#!/usr/bin/python3
"""convert_weights.py IN.safetensors OUTDIR DTYPE... - writes
OUTDIR/DTYPE.safetensors for each DTYPE (f16, bf16, f64): every
floating-point tensor of IN converted to it; integer tensors
(num_batches_tracked) are kept as they are. Prints each file's set of dtypes
as read back from its header."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "..", "tools"))
import cnn_torch  # noqa: E402
import torch  # noqa: E402

src, outdir = sys.argv[1:3]
tensors = cnn_torch.read_safetensors(src)
for name in sys.argv[3:]:
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16,
             "f64": torch.float64}[name]
    path = os.path.join(outdir, name + ".safetensors")
    cnn_torch.write_safetensors(path, {
        k: (v.to(dtype) if v.is_floating_point() else v)
        for k, v in tensors.items()})
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    print("%s: %s" % (name, sorted({v["dtype"] for v in header.values()})))
