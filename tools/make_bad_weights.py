#!/usr/bin/python3
"""make_bad_weights - malformed safetensors / .npy files for cnnc's tests.

  make_bad_weights.py OUTDIR [--model M.cnn [--model-name NAME]]

Writes one file per failure mode of cnnc's safetensors and .npy readers into
OUTDIR, a few valid files (expect null) for positive tests, and
OUTDIR/manifest.json: a list of {"file", "kind" ("safetensors", "npy" or
"bind"), "expect": substring of cnnc's error (or warning, "severity") or null}.
With --model, also writes variants of the model's real random weights that
fail binding (missing tensor, wrong shape, integer dtype) or warn (extra key).
The manifest is printed to stdout as well. --only NAME[,NAME...] writes just
those cases (file names without extension; the manifest lists only them);
the malformed-file cases need no PyTorch, so a test that asks only for them
starts in a fraction of a second.
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import cnn_util  # noqa: E402 (cnn_torch, which imports torch, only on demand)


def st(header, data=b"", raw_header=None, length=None):
    """safetensors bytes from a header dict (or raw header bytes)."""
    h = raw_header if raw_header is not None else \
        json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def ent(dtype="F32", shape=(2,), off=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(off)}


def npy(descr="<f4", fortran=False, shape=(2, 3), data=None, version=(1, 0),
        raw_header=None):
    h = raw_header if raw_header is not None else (
        "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }"
        % (descr, fortran, tuple(shape))).encode("latin1")
    lenfmt = "<H" if version[0] == 1 else "<I"
    pre = 6 + 2 + struct.calcsize(lenfmt)
    h += b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    if data is None:
        n = 1
        for d in shape:
            n *= d
        data = b"\0" * (4 * n)
    return (b"\x93NUMPY" + bytes(version) + struct.pack(lenfmt, len(h)) + h
            + data)


def safetensors_cases():
    z8 = b"\0" * 8
    dup = b'{"a":' + json.dumps(ent()).encode() + b',"a":' + \
        json.dumps(ent()).encode() + b"}"
    dupf = b'{"a":{"dtype":"F32","dtype":"F32","shape":[2],' \
        b'"data_offsets":[0,8]}}'
    # A valid file ({"w": arange(6).reshape(2, 3)} as F32), to cut short.
    good = st({"w": ent(shape=(2, 3), off=(0, 24))},
              struct.pack("<6f", *range(6)))
    return [
        ("empty", b"", "file is 0 bytes, too short"),
        ("short_file", b"\x10\0\0\0\0", "file is 5 bytes, too short"),
        ("header_too_long", struct.pack("<Q", 200 * 1000 * 1000) + b"{}",
         "header length 200000000 is larger than the limit"),
        ("header_beyond_file", st({}, length=4096),
         "header length 4096 goes beyond the end of the file"),
        ("non_utf8", st(None, z8, raw_header=b'{"\xff\xfe":' +
                        json.dumps(ent()).encode() + b"}"),
         "header is not valid UTF-8"),
        ("not_json", st(None, raw_header=b"{not json}"),
         "header is not valid JSON"),
        ("not_object", st([1, 2]), "header is a list, expected a JSON object"),
        ("duplicate_key", st(None, z8, raw_header=dup),
         "tensor 'a' appears twice in the header"),
        ("duplicate_field", st(None, z8, raw_header=dupf),
         "tensor 'a': field 'dtype' appears twice"),
        ("entry_not_object", st({"a": 5}),
         "tensor 'a': entry is an integer, expected an object"),
        ("missing_field", st({"a": {"dtype": "F32", "shape": [2]}}),
         "tensor 'a': missing field 'data_offsets'"),
        ("bad_dtype", st({"a": ent(dtype="F33")}, z8),
         "tensor 'a': unknown dtype 'F33'"),
        ("dtype_not_string", st({"a": {"dtype": 4, "shape": [2],
                                       "data_offsets": [0, 8]}}, z8),
         "tensor 'a': dtype is an integer, expected a string"),
        ("unsupported_dtype", st({"a": ent(dtype="F8_E4M3", off=(0, 2))},
                                 b"\0\0"),
         "tensor 'a': dtype F8_E4M3 is not supported"),
        ("shape_not_list", st({"a": {"dtype": "F32", "shape": "2",
                                     "data_offsets": [0, 8]}}, z8),
         "tensor 'a': shape is a string, expected a list"),
        ("shape_negative", st({"a": ent(shape=(-2,))}, z8),
         "tensor 'a': shape -2 is not a non-negative integer"),
        ("shape_float", st({"a": ent(shape=(2.5,))}, z8),
         "tensor 'a': shape 2.5 is not a non-negative integer"),
        ("numel_overflow", st({"a": ent(shape=(1 << 40, 1 << 40))}, z8),
         "tensor 'a': shape [1099511627776, 1099511627776] has too many "
         "elements"),
        ("offsets_not_pair", st({"a": ent(off=(0,))}, z8),
         "tensor 'a': data_offsets [0] is not a list of two non-negative "
         "integers"),
        ("offsets_negative", st({"a": ent(off=(-8, 0))}, z8),
         "is not a list of two non-negative integers"),
        ("offsets_reversed", st({"a": ent(off=(8, 0))}, z8),
         "tensor 'a': data_offsets [8, 0] end before they begin"),
        ("byte_count_mismatch",
         st({"conv1.weight": ent(shape=(10, 3, 3, 3), off=(0, 100))},
            b"\0" * 100),
         "tensor 'conv1.weight': data_offsets [0, 100] but shape "
         "[10, 3, 3, 3] of F32 needs 1080 bytes"),
        ("offsets_out_of_file", st({"a": ent(off=(8, 16))}, z8),
         "tensor 'a': data_offsets [8, 16] go beyond the end of the data "
         "section (8 bytes)"),
        ("overlap", st({"a": ent(off=(0, 8)), "b": ent(off=(4, 12))},
                       b"\0" * 12),
         "tensors 'a' (bytes [0, 8]) and 'b' (bytes [4, 12]) overlap"),
        ("hole", st({"a": ent(off=(0, 8)), "b": ent(off=(12, 20))},
                    b"\0" * 20),
         "data section has a hole: bytes [8, 12] belong to no tensor"),
        ("trailing_bytes", st({"a": ent()}, b"\0" * 12),
         "bytes [8, 12] at the end of the file belong to no tensor"),
        ("truncated", good[:-4], "go beyond the end of the data section"),
        ("metadata_not_object", st({"__metadata__": [1], "a": ent()}, z8),
         "__metadata__ is a list, expected an object"),
        ("metadata_value_not_string",
         st({"__metadata__": {"k": 1}, "a": ent()}, z8),
         "__metadata__ value of 'k' is an integer, expected a string"),
    ]


def good_safetensors_cases():
    import torch
    import cnn_torch
    base = torch.linspace(-2, 2, 12).reshape(3, 4)
    return [
        ("good_f32", {"w": base, "b": torch.tensor([0.5, -1.0, 3.0])}),
        ("good_mixed", {"f16": base.half(), "bf16": base.bfloat16(),
                        "f64": base.double(), "f32": base,
                        "num_batches_tracked": torch.tensor(7),
                        "scalar": torch.tensor(1.5), "empty":
                        torch.zeros(0, 3)}),
    ]


def npy_cases():
    return [
        ("npy_f8", npy(descr="<f8", data=b"\0" * 48),
         "dtype '<f8' is not supported"),
        ("npy_big_endian", npy(descr=">f4"), "dtype '>f4' is not supported"),
        ("npy_fortran", npy(fortran=True), "array is in Fortran order"),
        ("npy_truncated", npy(data=b"\0" * 20),
         "data is 20 bytes but shape (2, 3) of float32 needs 24 bytes"),
        ("npy_trailing", npy(data=b"\0" * 28),
         "data is 28 bytes but shape (2, 3) of float32 needs 24 bytes"),
        ("npy_bad_magic", b"NOTNUMPY" + b"\0" * 100,
         "not a .npy file"),
        ("npy_bad_version", npy(version=(4, 0)),
         "unsupported .npy format version 4.0"),
        ("npy_malformed_header", npy(raw_header=b"{'descr': '<f4'"),
         "malformed .npy header"),
        ("npy_header_cut", npy()[:30], "file ends inside the .npy header"),
        ("npy_good_v1", npy(), None),
        ("npy_good_v2", npy(version=(2, 0)), None),
        ("npy_good_v3", npy(version=(3, 0), shape=(4,)), None),
        ("npy_good_scalar", npy(shape=()), None),
    ]


def bind_cases(model_path, model_name):
    import torch
    import cnn_torch
    model, _ = cnn_torch.random_model(model_path, 0, model_name)
    sd = dict(model.state_dict())
    floats = [k for k, v in sd.items() if v.is_floating_point()]
    if not floats:
        return []
    first = floats[0]
    shape = list(sd[first].shape)
    cases = []
    d = dict(sd)
    del d[first]
    cases.append(("bind_missing", d, "missing tensor '%s' (expected shape %s)"
                  % (first, shape), "error"))
    d = dict(sd)
    d[first] = torch.zeros(shape + [2])
    cases.append(("bind_wrong_shape", d, "tensor '%s' has shape %s but the "
                  "model expects %s" % (first, shape + [2], shape), "error"))
    d = dict(sd)
    d[first] = torch.zeros(shape, dtype=torch.int64)
    cases.append(("bind_int_dtype", d, "tensor '%s' has dtype I64, expected "
                  "a floating-point type" % first, "error"))
    d = dict(sd)
    d["foo"] = torch.zeros(3)
    cases.append(("bind_extra", d, "unused tensor 'foo' in the weights file",
                  "warning"))
    cases.append(("bind_half", {k: (v.half() if v.is_floating_point() else v)
                                for k, v in sd.items()}, None, None))
    return cases


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("outdir")
    p.add_argument("--model", help="a .cnn file for the bind_* cases")
    p.add_argument("--model-name")
    p.add_argument("--only", metavar="NAME[,NAME...]",
                   help="write only these cases")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    manifest = []
    only = set(a.only.split(",")) if a.only else None
    only_seen = set()
    torch_names = {"good_f32", "good_mixed", "bind_missing",
                   "bind_wrong_shape", "bind_int_dtype", "bind_extra",
                   "bind_half"}

    def wanted(names):
        return only is None or bool(only & set(names))

    def emit(name, data, kind, expect, severity="error"):
        if only is not None and name not in only:
            return
        only_seen.add(name)
        fn = name + (".npy" if kind == "npy" else ".safetensors")
        cnn_util.atomic_write(os.path.join(a.outdir, fn), data)
        manifest.append({"file": fn, "kind": kind, "expect": expect,
                         "severity": severity if expect else None})

    for name, data, expect in safetensors_cases():
        emit(name, data, "safetensors", expect)
    if wanted(["good_f32", "good_mixed"]):
        import cnn_torch
        for name, tensors in good_safetensors_cases():
            emit(name, cnn_torch.safetensors_bytes(tensors), "safetensors",
                 None)
    for name, data, expect in npy_cases():
        emit(name, data, "npy", expect)
    if a.model and wanted(torch_names - {"good_f32", "good_mixed"}):
        import cnn_torch
        for name, tensors, expect, sev in bind_cases(a.model, a.model_name):
            emit(name, cnn_torch.safetensors_bytes(tensors), "bind", expect,
                 sev or "error")
    if only is not None and only - only_seen:
        raise cnn_util.CnnError("--only: no case named %s%s" % (
            sorted(only - only_seen)[0],
            "" if a.model else " (the bind_* cases need --model)"))
    text = json.dumps(manifest, indent=1)
    cnn_util.atomic_write(os.path.join(a.outdir, "manifest.json"),
                           text.encode() + b"\n")
    print(text)


if __name__ == "__main__":
    cnn_util.main_wrapper("make_bad_weights", main)
