"""Pictures for the browser tests, in pure Python: the demo target and fake camera feeds.

The target is a deterministic collage of grey shapes: MindAR finds targets by their corners,
and random rectangles, discs and triangles give it plenty at every scale. Chromium reads a
fake camera from a .y4m file (raw YUV 4:2:0 frames) and loops it, so a feed that shows the
target for a while and then an empty wall makes MindAR find and lose it again and again.
"""

from __future__ import annotations

import math
import random
import struct
import zlib
from pathlib import Path

Gray = list[list[int]]
SIZE = 512


def _fill_triangle(img: Gray, pts: list[tuple[int, int]], value: int) -> None:
    (ax, ay), (bx, by), (cx, cy) = pts

    def side(px: int, py: int, qx: int, qy: int, rx: int, ry: int) -> int:
        return (px - rx) * (qy - ry) - (qx - rx) * (py - ry)

    for y in range(max(0, min(ay, by, cy)), min(SIZE, max(ay, by, cy) + 1)):
        for x in range(max(0, min(ax, bx, cx)), min(SIZE, max(ax, bx, cx) + 1)):
            d = (side(x, y, ax, ay, bx, by), side(x, y, bx, by, cx, cy), side(x, y, cx, cy, ax, ay))
            if not (min(d) < 0 < max(d)):
                img[y][x] = value


def target_image(seed: int = 7) -> Gray:
    rnd = random.Random(seed)
    img = [[235] * SIZE for _ in range(SIZE)]
    for _ in range(260):
        kind, value = rnd.random(), rnd.randrange(256)
        if kind < 0.5:
            x0, y0 = rnd.randrange(SIZE), rnd.randrange(SIZE)
            w, h = rnd.randrange(8, 90), rnd.randrange(8, 90)
            for y in range(y0, min(SIZE, y0 + h)):
                img[y][x0 : min(SIZE, x0 + w)] = [value] * (min(SIZE, x0 + w) - x0)
        elif kind < 0.8:
            cx, cy, r = rnd.randrange(SIZE), rnd.randrange(SIZE), rnd.randrange(5, 45)
            for y in range(max(0, cy - r), min(SIZE, cy + r)):
                dx = int(math.sqrt(max(0, r * r - (y - cy) ** 2)))
                lo, hi = max(0, cx - dx), min(SIZE, cx + dx)
                img[y][lo:hi] = [value] * max(0, hi - lo)
        else:
            pts = [(rnd.randrange(SIZE), rnd.randrange(SIZE)) for _ in range(3)]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            if (max(xs) - min(xs)) * (max(ys) - min(ys)) <= 20_000:
                _fill_triangle(img, pts, value)
    return img


def write_png(img: Gray, path: Path) -> None:
    """8-bit greyscale PNG, no filters: small enough, and trivial to read back."""
    height, width = len(img), len(img[0])
    raw = b"".join(b"\x00" + bytes(row) for row in img)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def read_png(path: Path) -> Gray:
    """Reads back what write_png wrote (and nothing else)."""
    data = path.read_bytes()
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            if (depth, color) != (8, 0):
                raise ValueError("only 8-bit greyscale PNGs written by write_png are readable")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    rows = []
    for y in range(height):
        start = y * (width + 1)
        if raw[start] != 0:
            raise ValueError("filtered rows are not supported")
        rows.append(list(raw[start + 1 : start + 1 + width]))
    return rows


def write_y4m(
    img: Gray | None,
    path: Path,
    *,
    seconds_on: float,
    seconds_off: float = 0.0,
    fps: int = 10,
    width: int = 640,
    height: int = 480,
) -> Path:
    """A camera feed: the target centred on a grey wall for seconds_on, then the bare wall."""
    wall = 128
    on = bytearray([wall]) * (width * height)
    if img is not None:
        side = int(height * 0.85)
        ox, oy, n = (width - side) // 2, (height - side) // 2, len(img)
        for y in range(side):
            src = img[y * n // side]
            row = bytes(src[x * n // side] for x in range(side))
            on[(oy + y) * width + ox : (oy + y) * width + ox + side] = row
    off = bytes([wall]) * (width * height)
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    frames_on, frames_off = round(seconds_on * fps), round(seconds_off * fps)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(max(1, frames_on + frames_off)):
            f.write(b"FRAME\n")
            f.write(on if i < frames_on else off)
            f.write(chroma)
    return path
