"""cnn_image - turn an image file into a model input (no torch needed).

An image feeds a Tensor[N, C, H, W] input as follows: it is converted to RGB
when C is 3 and to grayscale ("L") when C is 1 (other channel counts cannot
come from an image), resized to W x H (bilinear), scaled to [0, 1] (pixel /
255), optionally normalized per channel as (x - mean) / std like
torchvision's Normalize, laid out CHW and repeated over the batch N.
Reads PNG, JPEG and anything else Pillow (Debian: python3-pil) opens.
"""
import os

from cnn_util import CnnError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm",
                  ".tif", ".tiff", ".webp")


def is_image(path):
    return path.lower().endswith(IMAGE_SUFFIXES)


def parse_floats(text, option):
    """'0.485,0.456,0.406' -> [0.485, 0.456, 0.406]."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise CnnError("%s: expected comma-separated numbers, got '%s'"
                       % (option, text))
    return values


def _per_channel(values, channels, option):
    if values is None:
        return None
    if len(values) == 1:
        return values * channels
    if len(values) != channels:
        raise CnnError("%s has %d values but the input has %d channels"
                       % (option, len(values), channels))
    return values


def load_image(path, shape, mean=None, std=None):
    """(array of `shape`, float32; one-line description of the conversion)."""
    import numpy as np
    try:
        from PIL import Image
    except ImportError:
        raise CnnError("reading images needs Pillow (Debian: apt install "
                       "python3-pil)")
    if len(shape) != 4:
        raise CnnError("an image can only feed a Tensor[N, C, H, W] input; "
                       "the model's input is Tensor%s" % list(shape))
    n, c, h, w = shape
    if c not in (1, 3):
        raise CnnError("an image gives 1 (grayscale) or 3 (RGB) channels; "
                       "the model's input has %d" % c)
    mean = _per_channel(mean, c, "--mean")
    std = _per_channel(std, c, "--std")
    if std is not None and any(s == 0 for s in std):
        raise CnnError("--std values must not be 0")
    try:
        with Image.open(path) as im:
            size = im.size
            mode = "RGB" if c == 3 else "L"
            im = im.convert(mode).resize((w, h), Image.BILINEAR)
            x = np.asarray(im, dtype=np.float32) / 255.0
    except OSError as e:
        raise CnnError("%s: cannot read the image: %s" % (path, e))
    x = x.reshape(h, w, c).transpose(2, 0, 1)
    what = "%s, %dx%d -> %dx%d, scaled to [0, 1]" % (mode, size[0], size[1], w, h)
    if mean is not None:
        x = x - np.asarray(mean, dtype=np.float32).reshape(c, 1, 1)
    if std is not None:
        x = x / np.asarray(std, dtype=np.float32).reshape(c, 1, 1)
    if mean is not None or std is not None:
        what += ", normalized"
    x = np.repeat(x[np.newaxis], n, axis=0)
    return np.ascontiguousarray(x, dtype=np.float32), \
        "%s (%s)" % (os.path.basename(path), what)
