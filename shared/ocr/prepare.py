"""Scanned-page preparation, one place for the in-process engine and the gpu-inference service:
page frames of multi-page images, EXIF orientation, greyscale, skew estimate and straightening, and
the bookkeeping that maps boxes found on the prepared image back to the source image's pixels.

Quarter-turn orientation (0/90/180/270) and resolution normalisation need the detector's boxes
(text-line shapes and heights), so the engine decides them (shared.ocr.rapid) and records them here
in a ``PageFrame``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, ImageSequence

MAX_DESKEW_DEGREES = 3.0
# Skews smaller than this are left alone: straightening costs a full-page resample and gains nothing.
MIN_DESKEW_DEGREES = 0.3


@dataclass(frozen=True)
class PageFrame:
    """How a prepared image relates to its source: turned by ``quarter_turns`` × 90° counter-clockwise
    (PIL's sense), resized by ``scale``, then rotated by ``skew`` degrees about its centre. Boxes on the
    prepared image map back to the source through ``to_source``."""

    source_width: int
    source_height: int
    quarter_turns: int = 0
    skew: float = 0.0
    scale: float = 1.0

    def turned_size(self) -> tuple[int, int]:
        if self.quarter_turns % 2:
            return self.source_height, self.source_width
        return self.source_width, self.source_height

    def to_source(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) points on the prepared image → points on the source image."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        width, height = self.turned_size()
        width, height = round(width * self.scale), round(height * self.scale)
        if self.skew:
            # PIL rotates counter-clockwise by ``skew`` (expand=False); undo it about the same centre.
            theta = math.radians(self.skew)
            cx, cy = width / 2, height / 2
            dx, dy = points[:, 0] - cx, points[:, 1] - cy
            cos, sin = math.cos(theta), math.sin(theta)
            points = np.stack([cx + dx * cos - dy * sin, cy + dx * sin + dy * cos], axis=1)
        points = points / self.scale
        x, y = points[:, 0], points[:, 1]
        turns = self.quarter_turns % 4
        # Inverse of PIL's transpose: a point (x, y) of the turned image came from here in the source.
        if turns == 1:  # ROTATE_90 (counter-clockwise): source (sx, sy) -> (sy, W - sx)
            points = np.stack([self.source_width - y, x], axis=1)
        elif turns == 2:
            points = np.stack([self.source_width - x, self.source_height - y], axis=1)
        elif turns == 3:  # ROTATE_270: source (sx, sy) -> (H - sy, sx)
            points = np.stack([y, self.source_height - x], axis=1)
        return points

    def box_to_source(self, quad: np.ndarray) -> tuple[float, float, float, float]:
        """Axis-aligned (x0, top, x1, bottom) on the source of a box (any polygon) on the prepared image,
        clipped to the source image."""
        points = self.to_source(quad)
        return (
            max(0.0, float(points[:, 0].min())),
            max(0.0, float(points[:, 1].min())),
            min(float(self.source_width), float(points[:, 0].max())),
            min(float(self.source_height), float(points[:, 1].max())),
        )


def page_images(image: Image.Image) -> Iterator[Image.Image]:
    """Each frame of a (possibly multi-page) image, EXIF orientation applied."""
    for frame in ImageSequence.Iterator(image):
        yield upright(frame)


def upright(image: Image.Image) -> Image.Image:
    """The image as the camera or scanner meant it (EXIF orientation tag applied)."""
    return ImageOps.exif_transpose(image) or image


def greyscale(image: Image.Image) -> Image.Image:
    return image if image.mode == "L" else image.convert("L")


def decode_grey(image: Image.Image) -> Image.Image:
    """Asks a JPEG not decoded yet for its luminance only (libjpeg skips the colour planes and the RGB
    conversion: SROIE receipts 37 → 8 ms a page). A no-op for anything else or an image already loaded."""
    if image.format == "JPEG" and getattr(image, "tile", None) and image.mode in ("RGB", "YCbCr", "L"):
        image.draft("L", image.size)
    return image


def turn(image: Image.Image, quarter_turns: int) -> Image.Image:
    """Rotated by ``quarter_turns`` × 90° counter-clockwise (lossless)."""
    method = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}
    turns = quarter_turns % 4
    return image.transpose(method[turns]) if turns else image


def straighten(grey: Image.Image, skew: float) -> Image.Image:
    """Rotated by ``skew`` degrees counter-clockwise about the centre, same size, paper-white fill."""
    return grey.rotate(skew, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)


def estimate_skew(grey: Image.Image) -> float:
    """Small rotation (degrees, PIL's counter-clockwise sign) that makes text lines horizontal: the angle
    whose row-ink profile is sharpest, searched coarse (1°) then fine (0.25°) on a small binarised copy."""
    small = grey.copy()
    small.thumbnail((700, 700))
    ink = np.asarray(small, dtype=np.uint8) < 128
    if ink.mean() < 0.002:
        return 0.0
    ink_image = Image.fromarray((ink * 255).astype(np.uint8))
    scores: dict[float, float] = {}

    def sharpness(angle: float) -> float:
        if angle not in scores:
            rows = np.asarray(ink_image.rotate(angle, resample=Image.Resampling.NEAREST), dtype=np.float64).sum(axis=1)
            scores[angle] = float(np.square(np.diff(rows)).sum())
        return scores[angle]

    limit = int(MAX_DESKEW_DEGREES)
    coarse = max(range(-limit, limit + 1), key=lambda degrees: sharpness(float(degrees)))
    fine = [coarse + quarter / 4 for quarter in range(-3, 4) if abs(coarse + quarter / 4) <= MAX_DESKEW_DEGREES]
    return max(fine, key=sharpness)
