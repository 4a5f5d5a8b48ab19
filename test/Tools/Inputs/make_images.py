"""make_images.py DIR - test images: a 40x30 RGB gradient as PNG and JPEG,
and a uniform 8x8 image of color (255, 0, 51)."""
import os
import sys

from PIL import Image

d = sys.argv[1]
im = Image.new("RGB", (40, 30))
im.putdata([(x * 6, y * 8, (x + y) * 3) for y in range(30) for x in range(40)])
im.save(os.path.join(d, "grad.png"))
im.save(os.path.join(d, "grad.jpg"), quality=90)
Image.new("RGB", (8, 8), (255, 0, 51)).save(os.path.join(d, "flat.png"))
