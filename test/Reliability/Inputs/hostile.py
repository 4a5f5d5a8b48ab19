#!/usr/bin/python3
"""hostile.py - writes one hostile .cnn input for test/Reliability.

  hostile.py CASE OUT           a named case (see CASES)
  hostile.py init STMT OUT      a small valid model with STMT in __init__
  hostile.py layer EXPR DIMS OUT  a model whose one layer is EXPR (e.g.
                                "nn.Conv2d(3, 8, 3, stride=0)") applied to an
                                input Tensor[DIMS]

Cases that are awkward to spell in a RUN line (100 000 nesting levels,
arbitrary bytes, Python statements with quotes) are generated here,
deterministically.
"""
import random
import sys

MODEL = ("import torch.nn as nn\n"
         "class N(nn.Module):\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.fc = nn.Linear(2, 3)\n"
         "    def forward(self, x: Tensor[1, 2]):\n"
         "        return self.fc(x)\n").encode()


def garbage(seed, n, alphabet=None):
    r = random.Random(seed)
    if alphabet is None:
        return bytes(r.randrange(256) for _ in range(n))
    return "".join(r.choice(alphabet) for _ in range(n)).encode()


def deep_parens(n):
    return MODEL + b"y = " + b"(" * n + b"1" + b")" * n + b"\n"


def deep_indent(n, unit):
    # One more level per line: `if 1:` nested n deep, then a statement.
    out = [MODEL]
    for i in range(n):
        out.append(unit * i + b"if 1:\n")
    out.append(unit * n + b"pass\n")
    return b"".join(out)


CASES = {
    # Random bytes, NUL bytes included.
    "garbage-binary": lambda: garbage(1, 4096),
    # Random bytes without NUL: invalid UTF-8 well before the end.
    "garbage-no-nul": lambda: bytes(b or 1 for b in garbage(2, 4096)),
    # Printable ASCII noise: lexes, does not parse.
    "garbage-ascii": lambda: garbage(3, 4096, "abc()[]{}:=,.+-*/ \n\t'\"#0123456789"),
    # The seed model with its tail replaced by random bytes.
    "garbage-tail": lambda: MODEL[:120] + garbage(4, 200),
    # 100 000 opening brackets of each kind, and 100 000 closers alone.
    "parens-100000": lambda: deep_parens(100000),
    "brackets-100000": lambda: MODEL + b"y = " + b"[" * 100000 + b"\n",
    "mixed-100000": lambda: MODEL + b"y = " + b"([{" * 33334 + b"\n",
    "closers-100000": lambda: MODEL + b"y = 1" + b")" * 100000 + b"\n",
    # Deep indentation: a file with 100 000 levels of one space each would
    # be 5 GB, so 2 000 levels (2 MB; the limit is hit at level 101 of
    # 8-column indents, column 800) with spaces and with tabs, and a single
    # line indented by 100 000 spaces.
    "indent-2000": lambda: deep_indent(2000, b" "),
    "indent-tabs-2000": lambda: deep_indent(2000, b"\t"),
    "indent-one-line": lambda: MODEL + b" " * 100000 + b"pass\n",
    # Just inside the limits: 100 nested brackets, and 800 columns of
    # indentation as 800 one-space levels (each level is a recursion in the
    # parser, the AST builder and the interpreter).
    "parens-limit": lambda: deep_parens(100),
    "indent-limit": lambda: deep_indent(800, b" "),
    "indent-tabs-limit": lambda: deep_indent(800, b"\t"),
}

LAYER = """import torch.nn as nn
class N(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = %s
    def forward(self, x: Tensor[%s]):
        return self.l(x)
"""

if __name__ == "__main__":
    if sys.argv[1] == "init":
        data = MODEL.replace(b"super().__init__()\n", b"super().__init__()\n        " +
                             sys.argv[2].encode() + b"\n")
    elif sys.argv[1] == "layer":
        data = (LAYER % (sys.argv[2], sys.argv[3])).encode()
    else:
        data = CASES[sys.argv[1]]()
    with open(sys.argv[-1], "wb") as f:
        f.write(data)
