#!/usr/bin/python3
"""npy_raw.py to-raw X.npy X.f32 | from-raw X.f32 SHAPE Y.npy - converts
between .npy and the raw float32 files of the C driver (numpy only)."""
import sys

import numpy as np

if sys.argv[1] == "to-raw":
    np.load(sys.argv[2]).astype("<f4").tofile(sys.argv[3])
else:
    shape = [int(d) for d in sys.argv[3].split(",")]
    np.save(sys.argv[4], np.fromfile(sys.argv[2], dtype="<f4").reshape(shape))
