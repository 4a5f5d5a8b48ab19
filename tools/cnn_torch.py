"""cnn_torch - run cnnc's .cnn model files in PyTorch (the test oracle side).

A .cnn file is valid Python once the name `Tensor` is bound to a helper whose
`Tensor[1, 3, 32, 32]` is the input shape. This module executes such a file,
finds the entry model (the nn.Module subclass whose `forward` annotates a
parameter with `Tensor[...]`), and builds it. It also reads and writes
safetensors files by hand (no `safetensors` package is available here) and
.npy files atomically. Used by the tools/cnnc-* scripts and by tests; run it
with /usr/bin/python3 (the interpreter that has torch).
"""
import builtins
import inspect
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

from cnn_util import CnnError, atomic_write, main_wrapper  # noqa: F401


class TensorShape(tuple):
    """The value of `Tensor[...]`: a tuple of ints that remembers its origin."""


class _TensorHelper:
    """Bound to the name `Tensor` while a .cnn file executes."""

    def __getitem__(self, dims):
        if not isinstance(dims, tuple):
            dims = (dims,)
        for d in dims:
            if not isinstance(d, int) or isinstance(d, bool) or d <= 0:
                raise CnnError("Tensor[...] dimensions must be positive "
                               "integers, got %r" % (d,))
        return TensorShape(dims)

    def __repr__(self):
        return "Tensor"


Tensor = _TensorHelper()

_MODULE_NAME = "__cnn_model__"


def _input_shape(cls, namespace):
    """The Tensor[...] shape annotating a parameter of cls.forward, or None."""
    fwd = cls.__dict__.get("forward")
    if fwd is None or not callable(fwd):
        return None
    for name, ann in getattr(fwd, "__annotations__", {}).items():
        if name == "return":
            continue
        if isinstance(ann, str):  # from __future__ import annotations
            try:
                ann = eval(ann, namespace)
            except Exception:
                continue
        if isinstance(ann, TensorShape):
            return tuple(ann)
    return None


def exec_cnn(path):
    """Executes a .cnn file; returns its global namespace."""
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except OSError as e:
        raise CnnError("cannot read %s: %s" % (path, e.strerror))
    namespace = {"__name__": _MODULE_NAME, "__file__": path,
                 "__builtins__": builtins, "Tensor": Tensor}
    try:
        exec(compile(source, path, "exec"), namespace)
    except CnnError:
        raise
    except SyntaxError as e:
        raise CnnError("%s:%s: syntax error: %s" % (path, e.lineno, e.msg))
    except Exception as e:
        raise CnnError("%s: executing the file failed: %s: %s"
                       % (path, type(e).__name__, e))
    return namespace


def find_entry(namespace, path, model_name=None):
    """(class, input_shape) of the entry model of an executed .cnn file."""
    classes = [v for v in namespace.values()
               if inspect.isclass(v) and issubclass(v, nn.Module)
               and v.__module__ == _MODULE_NAME]
    if model_name is not None:
        for cls in classes:
            if cls.__name__ == model_name:
                shape = _input_shape(cls, namespace)
                if shape is None:
                    raise CnnError("%s: model '%s' has no forward parameter "
                                   "annotated with Tensor[...]"
                                   % (path, model_name))
                return cls, shape
        raise CnnError("%s: no nn.Module class named '%s'" % (path, model_name))
    entries = [(c, s) for c in classes
               for s in [_input_shape(c, namespace)] if s is not None]
    if not entries:
        raise CnnError("%s: no model found: annotate the input of forward "
                       "with Tensor[N, C, H, W]" % path)
    if len(entries) > 1:
        raise CnnError("%s: several entry models (%s); pick one with --model"
                       % (path, ", ".join(c.__name__ for c, _ in entries)))
    return entries[0]


def load_cnn(path, model_name=None):
    """Builds the entry model of a .cnn file: returns (model, input_shape).

    The model is constructed with no arguments and put in eval mode."""
    namespace = exec_cnn(path)
    cls, shape = find_entry(namespace, path, model_name)
    try:
        model = cls()
    except Exception as e:
        raise CnnError("%s: constructing %s() failed: %s: %s"
                       % (path, cls.__name__, type(e).__name__, e))
    model.eval()
    return model, shape


# ---------------------------------------------------------------- safetensors

_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
_FROM_NAME = {v: k for k, v in _DTYPES.items()}
_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4,
          "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def _tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def safetensors_bytes(tensors, metadata=None):
    """The bytes of a safetensors file holding `tensors` (name -> tensor or
    numpy array), in sorted key order, header padded to 8 bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if isinstance(t, np.ndarray):
            t = torch.from_numpy(np.ascontiguousarray(t))
        if t.dtype not in _DTYPES:
            raise CnnError("tensor '%s': dtype %s cannot be written"
                           % (name, t.dtype))
        b = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path, tensors, metadata=None):
    """Writes a state_dict (or any name -> tensor dict) as safetensors."""
    atomic_write(path, safetensors_bytes(tensors, metadata))


def read_safetensors(path, with_metadata=False):
    """Reads a safetensors file into {name: torch.Tensor} (plus metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise CnnError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise CnnError("%s: header length %d beyond the file" % (path, n))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    out = {}
    for name, e in header.items():
        dtype = e["dtype"]
        if dtype not in _FROM_NAME:
            raise CnnError("%s: tensor '%s': unsupported dtype %s"
                           % (path, name, dtype))
        b, end = e["data_offsets"]
        shape = list(e["shape"])
        count = int(np.prod(shape)) if shape else 1
        if end - b != count * _SIZES[dtype] or end > len(body):
            raise CnnError("%s: tensor '%s': bad data_offsets" % (path, name))
        raw = bytearray(body[b:end])
        if dtype == "BF16":
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) \
                if raw else torch.empty(0, dtype=torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=_FROM_NAME[dtype]) if raw \
                else torch.empty(0, dtype=_FROM_NAME[dtype])
        out[name] = t.reshape(shape).clone()
    return (out, metadata) if with_metadata else out


# ---------------------------------------------------------------- npy / models

def save_npy(path, array):
    """np.save, atomically, as C-order float32."""
    import io
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32))
    atomic_write(path, buf.getvalue())


def load_weights(model, tensors, path="weights"):
    """load_state_dict(strict=True) with a readable error. Missing
    num_batches_tracked buffers (which cnnc does not write) are tolerated."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors
               and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in tensors if k not in expected]
    problems = ["missing tensor '%s' (expected shape %s)"
                % (k, list(expected[k].shape)) for k in missing]
    problems += ["unexpected tensor '%s'" % k for k in unexpected]
    for k, t in tensors.items():
        if k in expected and tuple(t.shape) != tuple(expected[k].shape):
            problems.append("tensor '%s' has shape %s but the model expects %s"
                            % (k, list(t.shape), list(expected[k].shape)))
    if problems:
        raise CnnError("%s: does not match the model:\n  %s"
                       % (path, "\n  ".join(problems)))
    merged = dict(expected)
    merged.update(tensors)
    model.load_state_dict(merged, strict=True)


def randomize(model, seed):
    """Seeded default init (the model must be built after this seeds torch)
    plus non-trivial BatchNorm statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.running_mean is not None:
                    m.running_mean.copy_(torch.rand(m.running_mean.shape,
                                                    generator=g) - 0.5)
                    m.running_var.copy_(torch.rand(m.running_var.shape,
                                                   generator=g) + 0.5)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                    m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)


def random_model(path, seed, model_name=None):
    """load_cnn with torch seeded first, then BatchNorm randomized."""
    torch.manual_seed(seed)
    model, shape = load_cnn(path, model_name)
    randomize(model, seed)
    model.eval()
    return model, shape


def run(model, x):
    """Runs the model on a numpy input; returns a float32 numpy output."""
    with torch.no_grad():
        y = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    if not isinstance(y, torch.Tensor):
        raise CnnError("forward returned %s, expected a tensor"
                       % type(y).__name__)
    return y.detach().cpu().contiguous().numpy().astype(np.float32)
