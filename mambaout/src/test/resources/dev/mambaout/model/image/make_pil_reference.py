# Writes pil_bicubic_reference.txt: Pillow's Image.resize(..., Image.BICUBIC) of a synthetic RGB image, the
# reference PilBicubicTest compares against. The source image is a formula both sides compute:
#   v(x, y, c) = (x * 37 + y * 91 + c * 53 + ((x * y) ^ (c * 29)) % 61) % 256   for a W x H image
# (sharp, irregular content, so overshoot clamping and both passes matter). Run: python3 make_pil_reference.py
import PIL
from PIL import Image
W, H = 41, 29
def v(x, y, c): return (x * 37 + y * 91 + c * 53 + ((x * y) ^ (c * 29)) % 61) % 256
src = Image.new("RGB", (W, H))
src.putdata([tuple(v(x, y, c) for c in range(3)) for y in range(H) for x in range(W)])
with open("pil_bicubic_reference.txt", "w") as f:
    f.write(f"# Pillow {PIL.__version__} bicubic resize of a {W}x{H} synthetic image\n")
    for (w, h) in [(17, 11), (64, 45), (41, 12), (13, 29), (7, 50), (40, 28)]:
        out = src.resize((w, h), Image.BICUBIC)
        data = out.tobytes()
        f.write(f"{w} {h} {data.hex()}\n")
