"""Tampering features for scans and photos: error level and noise residual, glyph-sized tiles.

A scan is uniform in the ways a forger does not control: the paper has the same sensor noise
everywhere, every glyph went through the same optics and the same JPEG compressions. Digits painted
in by an image editor sit on a patch of flat "paper", are sharper or blurrier than their neighbours,
and recompress differently (error-level analysis). Each candidate region (an amount, an IBAN) is cut
into tiles about one glyph wide; each tile's statistics are compared with the same statistics over
the page's other words (robust z-scores), so a document's own scan quality cancels out.

Depends only on numpy, Pillow and OpenCV: the gpu-inference image runs this same module.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

Box = tuple[float, float, float, float]
FEATURES = (
    "ela_background",
    "ela_ink",
    "noise_background",
    "flat_background",
    "ink_darkness",
    "edge_sharpness",
    "ink_share",
    "paper_level",
    "blockiness",
)
ELA_QUALITY = 90
MAX_PIXELS = 40_000_000
MAX_REFERENCES = 400  # reference words per page: enough for robust statistics, bounded cost


class PageMaps:
    """The per-pixel maps of one page the features are read from."""

    def __init__(self, grey: np.ndarray) -> None:
        self.grey = grey.astype(np.float32)
        self.paper = float(np.percentile(grey, 90))
        self.ink = self.grey < self.paper - 60
        recompressed = _jpeg_roundtrip(grey, ELA_QUALITY).astype(np.float32)
        self.ela = np.abs(self.grey - recompressed)
        self.residual = self.grey - cv2.medianBlur(grey, 3).astype(np.float32)
        gx = cv2.Sobel(self.grey, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(self.grey, cv2.CV_32F, 0, 1, ksize=3)
        self.gradient = np.hypot(gx, gy)


def load_grey(data: bytes) -> np.ndarray:
    """Decode an image (first frame) to 8-bit grey, refusing absurd sizes before decoding pixels."""
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise ValueError(f"image too large: {image.width}x{image.height}")
        return np.asarray(image.convert("L"), dtype=np.uint8)


def _jpeg_roundtrip(grey: np.ndarray, quality: int) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return grey
    decoded = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return grey if decoded is None else np.asarray(decoded, dtype=np.uint8)


def tiles(box: Box, shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Glyph-sized tiles across a word box (pixels), overlapping by half a tile."""
    height_px, width_px = shape
    x0, top, x1, bottom = box
    height = max(4.0, bottom - top)
    pad = 0.15 * height
    y0, y1 = int(max(0, top - pad)), int(min(height_px, bottom + pad))
    step = max(2, int(height * 0.5))
    size = max(4, int(height))
    start, end = int(max(0, x0 - 1)), int(min(width_px, x1 + 1))
    out: list[tuple[int, int, int, int]] = []
    x = start
    while True:
        right = min(end, x + size)
        if right - x >= 3 and y1 - y0 >= 3:
            out.append((x, y0, right, y1))
        if right >= end:
            break
        x += step
    return out


def tile_features(maps: PageMaps, tile: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = tile
    ink = maps.ink[y0:y1, x0:x1]
    background = ~cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ela = maps.ela[y0:y1, x0:x1]
    residual = maps.residual[y0:y1, x0:x1]
    grey = maps.grey[y0:y1, x0:x1]
    gradient = maps.gradient[y0:y1, x0:x1]
    has_background = int(background.sum()) >= 4
    has_ink = int(ink.sum()) >= 2
    block = _blockiness(maps.grey, tile)
    return np.array(
        [
            float(ela[background].mean()) if has_background else 0.0,
            float(ela[ink].mean()) if has_ink else 0.0,
            float(np.log1p(residual[background].std())) if has_background else 0.0,
            float((np.abs(residual[background]) < 0.5).mean()) if has_background else 0.0,
            float(maps.paper - grey[ink].mean()) / 255 if has_ink else 0.0,
            float(gradient[ink].mean() / max(1.0, maps.paper - float(grey[ink].mean()))) if has_ink else 0.0,
            float(ink.mean()),
            float(grey[background].mean() - maps.paper) / 8 if has_background else 0.0,
            block,
        ],
        dtype=np.float32,
    )


def _blockiness(grey: np.ndarray, tile: tuple[int, int, int, int]) -> float:
    """Mean step across the 8-pixel JPEG grid vs inside it: a region compressed on another grid
    (pasted with an offset) breaks the page's pattern."""
    x0, y0, x1, y1 = tile
    region = grey[y0:y1, max(0, x0 - 8) : x1 + 8]
    if region.shape[1] < 10:
        return 0.0
    steps = np.abs(np.diff(region, axis=1)).mean(axis=0)
    columns = np.arange(max(0, x0 - 8), max(0, x0 - 8) + steps.size)
    on_grid = steps[(columns % 8) == 7]
    off_grid = steps[(columns % 8) != 7]
    if on_grid.size == 0 or off_grid.size == 0:
        return 0.0
    return float(np.log1p(on_grid.mean()) - np.log1p(off_grid.mean()))


def region_features(grey: np.ndarray, targets: list[Box], references: list[Box]) -> list[np.ndarray]:
    """For each target box: a (tiles x features) matrix of robust z-scores against the reference
    words' tiles. With no references, the targets are their own reference."""
    maps = PageMaps(grey)
    reference_boxes = (references or targets)[:MAX_REFERENCES]
    reference = [tile_features(maps, t) for box in reference_boxes for t in tiles(box, grey.shape)]
    if not reference:
        return [np.zeros((0, len(FEATURES)), dtype=np.float32) for _ in targets]
    stack = np.stack(reference)
    center = np.median(stack, axis=0)
    spread = np.median(np.abs(stack - center), axis=0) * 1.4826 + 1e-3 + 0.05 * np.abs(center)
    out: list[np.ndarray] = []
    for box in targets:
        rows = [tile_features(maps, t) for t in tiles(box, grey.shape)]
        if not rows:
            out.append(np.zeros((0, len(FEATURES)), dtype=np.float32))
            continue
        out.append(np.clip((np.stack(rows) - center) / spread, -8, 8).astype(np.float32))
    return out
