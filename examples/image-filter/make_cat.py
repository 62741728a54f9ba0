"""Writes cat.png, the example's test image (64x48, a few KB): run once, commit the PNG."""

from pathlib import Path

from PIL import Image, ImageDraw

img = Image.new("RGB", (64, 48), (240, 200, 150))
draw = ImageDraw.Draw(img)
draw.ellipse((12, 8, 52, 44), fill=(90, 90, 90))  # head
draw.polygon([(14, 14), (20, 0), (28, 10)], fill=(90, 90, 90))  # ears
draw.polygon([(36, 10), (44, 0), (50, 14)], fill=(90, 90, 90))
draw.ellipse((22, 20, 28, 26), fill=(40, 200, 40))  # eyes
draw.ellipse((36, 20, 42, 26), fill=(40, 200, 40))
img.save(Path(__file__).with_name("cat.png"), optimize=True)
