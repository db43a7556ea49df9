"""Printed numbers made like scans, for the glyph and scan-check tests: drawn, blurred, noised, JPEG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from shared.forensics.image import Box

SIZE = 26  # font size in px: digits about 19 px tall, as 10 pt type scanned at 150-200 dpi


def number_scan(text: str, *, retyped: tuple[int, float, int] | None = None, ink: int = 30) -> tuple[bytes, Box]:
    """``text`` printed at (40, 30) and scanned; ``retyped`` = (character index, size factor, drop in
    px) paints that character over in a smaller font, as an image editor would."""
    page = Image.new("L", (400, 100), 235)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=SIZE)
    draw.text((40, 30), text, fill=ink, font=font)
    if retyped is not None:
        index, factor, drop = retyped
        left = 40 + draw.textlength(text[:index], font=font)
        right = 40 + draw.textlength(text[: index + 1], font=font)
        draw.rectangle((left, 28, right - 1, 30 + SIZE + 2), fill=235)
        small = ImageFont.load_default(size=round(SIZE * factor))
        draw.text((left, 30 + drop), text[index], fill=ink, font=small)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    noisy = np.asarray(page, dtype=np.float32) + np.random.default_rng(7).normal(0, 2.5, (100, 400))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
    x0, top, x1, bottom = draw.textbbox((40, 30), text, font=font)
    return buffer.getvalue(), (float(x0), float(top), float(x1), float(bottom))
