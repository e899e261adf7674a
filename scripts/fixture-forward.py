#!/usr/bin/env python3
# Copies a reference fixture's forward tensors (input, labels, logits, loss, features.*) into a new safetensors file,
# leaving the gradients out: what GPU inference tests need, in a third less space on the size-limited device call.
# Plain Python (the format is an 8-byte little-endian header length, a JSON header, then the data); no packages.
# Usage: scripts/fixture-forward.py IN OUT
import json, struct, sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
keep = {k: v for k, v in header.items() if k != "__metadata__" and not k.startswith("grad.")}
out_header, chunks, offset = {}, [], 0
for k in sorted(keep, key=lambda k: keep[k]["data_offsets"][0]):
    a, b = keep[k]["data_offsets"]
    chunks.append(data[a:b])
    out_header[k] = {"dtype": keep[k]["dtype"], "shape": keep[k]["shape"], "data_offsets": [offset, offset + b - a]}
    offset += b - a
h = json.dumps(out_header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for c in chunks:
        f.write(c)
