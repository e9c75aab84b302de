"""The two icons Teams requires, drawn here: a 192×192 colour icon and a 32×32 white outline."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

ACCENT = (0x46, 0x4E, 0xB8)  # Teams purple
Pixel = tuple[int, int, int, int]


def color_icon() -> bytes:
    """A calendar on the accent colour, full bleed, 192×192."""
    return _png(192, lambda x, y: (255, 255, 255, 255) if _calendar(x, y, 192) else (*ACCENT, 255))


def outline_icon() -> bytes:
    """The same calendar as white strokes on a transparent background, 32×32."""
    return _png(
        32, lambda x, y: (255, 255, 255, 255) if _calendar(x, y, 32, outline=True) else (0, 0, 0, 0)
    )


def _calendar(x: int, y: int, size: int, *, outline: bool = False) -> bool:
    """A calendar page with two rings and a grid of days, scaled to `size`."""
    u = size / 32  # drawn on a 32-unit grid
    left, right, top, bottom = 5 * u, 27 * u, 7 * u, 27 * u
    inside = left <= x < right and top <= y < bottom
    border = inside and (
        x < left + 2 * u
        or x >= right - 2 * u
        or y < top + 2 * u
        or y >= bottom - 2 * u
        or y < top + 6 * u
    )
    rings = any(abs(x - cx * u) < 1.5 * u and 4 * u <= y < 10 * u for cx in (11, 21))
    days = (
        top + 9 * u <= y < bottom - 3 * u
        and left + 4 * u <= x < right - 4 * u
        and int((x - left - 4 * u) / (4 * u)) % 2 == 0
        and int((y - top - 9 * u) / (3 * u)) % 2 == 0
    )
    return border or rings or (days if not outline else False)


def _png(size: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
