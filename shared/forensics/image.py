"""Tampering features for scans and photos: noise, compression and glyph statistics, glyph-sized tiles.

A scan is uniform in the ways a forger does not control: the paper carries the same sensor noise
everywhere, every glyph went through the same optics (the same blur) and the same JPEG compressions.
Digits painted in by an image editor sit on a patch of flat "paper" (no sensor noise), are sharper
(no scanner blur) or blurrier than their neighbours, have another weight, height or baseline, and
were compressed one time fewer (their recompression error at the first compression's quality, the
"JPEG ghost", differs). Each candidate region (every word with a digit: amounts, IBAN parts,
numbers) is cut into tiles about one glyph wide; each tile's statistics are compared three ways, in
units of the page's own spread (robust z-scores), so a document's own scan quality cancels out:
with the page's words, with the other glyphs of the same token (one retyped digit among untouched
ones), and with the words nearest to it (a whole retyped amount beside its label).

Depends only on numpy, Pillow and OpenCV: the gpu-inference image runs this same module.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageSequence

from shared.ocr.prepare import upright

Box = tuple[float, float, float, float]
Tile = tuple[int, int, int, int]
ELA_QUALITIES = (70, 85, 95)  # recompression error over a range of qualities: where a region was compressed before
TILE_STATS = (
    *(f"ela{q}" for q in ELA_QUALITIES),
    "ela_background",
    "noise_background",
    "flat_background",
    "ink_darkness",
    "edge_sharpness",
    "edge_laplacian",
    "ink_share",
    "paper_level",
    "blockiness",
    "ink_top",
    "ink_bottom",
    "stroke_width",
    "noise_min",
    "paper_local",
)
CONTEXTS = ("page", "token", "nearby")
FEATURES = tuple(f"{context}:{stat}" for context in CONTEXTS for stat in TILE_STATS)
NEIGHBOURS = 6  # nearest words that make a target's local context
ELA_QUALITY = 90
MAX_PIXELS = 40_000_000
MAX_FEATURE_PIXELS = 16_000_000  # larger pages (600 dpi scans) are measured downscaled: bounded memory
MAX_REFERENCES = 400  # reference words per page: enough for robust statistics, bounded cost


_KERNEL = np.ones((3, 3), np.uint8)


class PageMaps:
    """The per-pixel maps of one page the features are read from."""

    def __init__(self, grey: np.ndarray) -> None:
        self.grey = grey.astype(np.float32)
        self.paper = float(np.percentile(grey, 90))
        self.ink = self.grey < self.paper - 60
        # Recompression errors as uint8 (|a - b| of two 8-bit images): a quarter of the memory of floats.
        self.ela = cv2.absdiff(grey, _jpeg_roundtrip(grey, ELA_QUALITY))
        self.ghosts = [cv2.absdiff(grey, _jpeg_roundtrip(grey, q)) for q in ELA_QUALITIES]
        self.residual = self.grey - cv2.medianBlur(grey, 3).astype(np.float32)
        gx = cv2.Sobel(self.grey, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(self.grey, cv2.CV_32F, 0, 1, ksize=3)
        self.gradient = np.hypot(gx, gy)
        self.laplacian = np.abs(cv2.Laplacian(self.grey, cv2.CV_32F, ksize=1))
        self.near_ink = cv2.dilate(self.ink.astype(np.uint8), _KERNEL).astype(bool)
        # Local paper noise: RMS of the residual over 5x5 windows of paper (ink and its rim left out).
        paper = (~self.near_ink).astype(np.float32)
        energy = cv2.boxFilter(self.residual * self.residual * paper, -1, (5, 5), normalize=False)
        count = cv2.boxFilter(paper, -1, (5, 5), normalize=False)
        self.local_noise = np.sqrt(energy / np.maximum(count, 1.0))


def load_grey(data: bytes) -> np.ndarray:
    """Decode an image (first frame) to 8-bit grey as the reader saw it, refusing absurd sizes before
    decoding pixels. A photo's EXIF orientation is applied: the reader OCR'd it upright, so the word
    boxes are in the upright pixels (a rotation is lossless; the JPEG grid moves only on a side that is
    not a multiple of 8 pixels)."""
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise ValueError(f"image too large: {image.width}x{image.height}")
        return np.asarray(upright(image).convert("L"), dtype=np.uint8)


def frame_images(data: bytes, count: int) -> list[bytes]:
    """The first ``count`` frames of a multi-page image (TIFF) each as its own image: upright, grey,
    lossless PNG, so each page gets its pixels exactly as decoded (compression traces included). Stops
    at a frame that is too large or cannot be decoded: the frames before it are still checked."""
    frames: list[bytes] = []
    with Image.open(io.BytesIO(data)) as image:
        try:
            for frame in ImageSequence.Iterator(image):
                if len(frames) == count or frame.width * frame.height > MAX_PIXELS:
                    break
                buffer = io.BytesIO()
                upright(frame).convert("L").save(buffer, format="PNG", compress_level=1)
                frames.append(buffer.getvalue())
        except (OSError, ValueError, EOFError, SyntaxError):
            pass  # a damaged frame: the pages from it on are reported as not checked
    return frames


def _jpeg_roundtrip(grey: np.ndarray, quality: int) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return grey
    decoded = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return grey if decoded is None else np.asarray(decoded, dtype=np.uint8)


def tiles(box: Box, shape: tuple[int, int]) -> list[Tile]:
    """Glyph-sized tiles across a word box (pixels), overlapping by half a tile."""
    height_px, width_px = shape
    x0, top, x1, bottom = box
    height = max(4.0, bottom - top)
    pad = 0.15 * height
    y0, y1 = int(max(0, top - pad)), int(min(height_px, bottom + pad))
    step = max(2, int(height * 0.5))
    size = max(4, int(height))
    start, end = int(max(0, x0 - 1)), int(min(width_px, x1 + 1))
    out: list[Tile] = []
    x = start
    while True:
        right = min(end, x + size)
        if right - x >= 3 and y1 - y0 >= 3:
            out.append((x, y0, right, y1))
        if right >= end:
            break
        x += step
    return out


def tile_features(maps: PageMaps, tile: Tile) -> np.ndarray:
    """The raw statistics (``TILE_STATS``) of one tile."""
    x0, y0, x1, y1 = tile
    ink = maps.ink[y0:y1, x0:x1]
    ink8 = ink.astype(np.uint8)
    background = ~cv2.dilate(ink8, _KERNEL).astype(bool)
    grey = maps.grey[y0:y1, x0:x1]
    has_background = int(background.sum()) >= 4
    ghosts = [float(g[y0:y1, x0:x1].mean(dtype=np.float32)) for g in maps.ghosts]
    if has_background:
        residual = maps.residual[y0:y1, x0:x1][background]
        ela_background = float(maps.ela[y0:y1, x0:x1][background].mean(dtype=np.float32))
        noise = float(np.log1p(residual.std()))
        flat = float((np.abs(residual) < 0.5).mean())
        paper_level = float(grey[background].mean() - maps.paper) / 8
    else:
        ela_background = noise = flat = paper_level = 0.0
    if int(ink.sum()) >= 2:
        contrast = max(1.0, maps.paper - float(grey[ink].mean()))
        # The glyph's edge zone: ink pixels next to paper and paper pixels next to ink.
        edge = cv2.dilate(ink8, _KERNEL).astype(bool) & ~cv2.erode(ink8, _KERNEL).astype(bool)
        sharpness = float(maps.gradient[y0:y1, x0:x1][edge].mean() / contrast)
        laplacian = float(maps.laplacian[y0:y1, x0:x1][edge].mean() / contrast)
        rows = np.flatnonzero(ink.any(axis=1))
        height = max(1, y1 - y0)
        outline = ink & ~cv2.erode(ink8, _KERNEL).astype(bool)
        geometry = [
            float(rows[0]) / height,
            float(rows[-1]) / height,
            float(ink.sum()) / max(1.0, float(outline.sum())),
        ]
        darkness = contrast / 255
    else:
        sharpness = laplacian = darkness = 0.0
        geometry = [0.0, 0.0, 0.0]
    # Paper: the flattest small window of the tile (a painted patch has no sensor noise, even when it
    # covers a single glyph of the tile), and the paper's level against the paper around the tile (a
    # fill colour picked by hand rarely matches; local, so shaded table rows and photos' uneven light cancel).
    quiet = maps.local_noise[y0:y1, x0:x1][background]
    noise_min = float(np.log1p(np.percentile(quiet, 10))) if quiet.size >= 4 else 0.0
    pad = max(4, (y1 - y0) // 2)
    ring_window = (slice(max(0, y0 - pad), y1 + pad), slice(max(0, x0 - pad), x1 + pad))
    ring = maps.grey[ring_window][~maps.near_ink[ring_window]]
    inside = grey[~maps.near_ink[y0:y1, x0:x1]]
    paper_local = float(np.median(inside) - np.median(ring)) if inside.size >= 4 and ring.size >= 4 else 0.0
    return np.array(
        [
            *ghosts,
            ela_background,
            noise,
            flat,
            darkness,
            sharpness,
            laplacian,
            float(ink.mean()),
            paper_level,
            _blockiness(maps.grey, tile),
            *geometry,
            noise_min,
            paper_local,
        ],
        dtype=np.float32,
    )


def _blockiness(grey: np.ndarray, tile: Tile) -> float:
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


def _spread(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    center = np.median(stack, axis=0)
    return center, np.median(np.abs(stack - center), axis=0) * 1.4826 + 1e-3 + 0.05 * np.abs(center)


def _overlap(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _gap(a: Box, b: Box) -> float:
    """Distance between two boxes (0 when they touch), vertical gaps weighted double: a line's
    neighbours first."""
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, 2 * dy))


def _scaled(box: Box, factor: float) -> Box:
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)


def evenly(count: int, limit: int) -> list[int]:
    """At most ``limit`` of ``range(count)``, spread evenly: a bounded sample of a page's words."""
    if count <= limit:
        return list(range(count))
    return [int(i) for i in np.linspace(0, count - 1, limit).astype(int)]


def region_features(grey: np.ndarray, targets: list[Box], references: list[Box]) -> list[np.ndarray]:
    """For each target box: a (tiles x FEATURES) matrix of robust z-scores: each tile against the
    page's reference words, against the median of the token's other tiles, and against the median
    of the nearest words' tiles. With no references, the targets are their own reference."""
    if grey.size > MAX_FEATURE_PIXELS:
        factor = float(np.sqrt(MAX_FEATURE_PIXELS / grey.size))
        size = (max(1, int(grey.shape[1] * factor)), max(1, int(grey.shape[0] * factor)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        targets = [_scaled(box, factor) for box in targets]
        references = [_scaled(box, factor) for box in references]
    maps = PageMaps(grey)
    words = references or targets
    cache: dict[Box, list[np.ndarray]] = {}

    def word_rows(box: Box) -> list[np.ndarray]:
        if box not in cache:
            cache[box] = [tile_features(maps, t) for t in tiles(box, grey.shape)]
        return cache[box]

    reference = [row for i in evenly(len(words), MAX_REFERENCES) for row in word_rows(words[i])]
    width = len(FEATURES)
    if not reference:
        return [np.zeros((0, width), dtype=np.float32) for _ in targets]
    center, spread = _spread(np.stack(reference))
    out: list[np.ndarray] = []
    for box in targets:
        rows = word_rows(box)
        if not rows:
            out.append(np.zeros((0, width), dtype=np.float32))
            continue
        own = np.stack(rows)
        if len(rows) > 1:
            others = np.stack([np.median(np.delete(own, i, axis=0), axis=0) for i in range(len(rows))])
        else:
            others = own
        near = sorted((w for w in words if not _overlap(w, box)), key=lambda w: _gap(w, box))[:NEIGHBOURS]
        near_rows = [row for w in near for row in word_rows(w)]
        local = np.median(np.stack(near_rows), axis=0) if near_rows else center
        z = np.concatenate([own - center, own - others, own - local], axis=1) / np.tile(spread, len(CONTEXTS))
        out.append(np.clip(z, -8, 8).astype(np.float32))
    return out
