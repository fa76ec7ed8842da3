"""QR codes as real PNG images of an exact pixel size."""

from __future__ import annotations

import struct
import zlib

import segno


def qr_png(text: str, width: int, height: int) -> bytes:
    """Encode ``text`` as a QR code in a ``width`` × ``height`` greyscale PNG.

    The symbol (with its quiet zone) is scaled by whole pixels and centred, so every module
    stays square and a phone can scan it at any size PayPal allows (150–500 px).
    """
    matrix = [list(row) for row in segno.make(text, error="m", micro=False).matrix_iter(
        scale=1, border=4)]
    modules = len(matrix)
    scale = max(1, min(width, height) // modules)
    left, top = (width - modules * scale) // 2, (height - modules * scale) // 2
    white_row = b"\x00" + b"\xff" * width
    rows = []
    for y in range(height):
        my = (y - top) // scale
        if y < top or my >= modules:
            rows.append(white_row)
            continue
        line = bytearray(b"\xff" * width)
        for mx, dark in enumerate(matrix[my]):
            if dark:
                start = left + mx * scale
                line[start : start + scale] = b"\x00" * scale
        rows.append(b"\x00" + bytes(line[:width]))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
