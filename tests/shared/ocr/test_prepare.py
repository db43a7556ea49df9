"""Scanned-page preparation: skew estimate, quarter turns, and mapping boxes back to the source."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from shared.ocr.prepare import PageFrame, estimate_skew, page_images, straighten, turn


def rendered_page(width: int = 900, height: int = 1200) -> Image.Image:
    """A white page with left-aligned lines of text, as a 150 dpi scan of a letter would look."""
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(26)
    for index, y in enumerate(range(60, height - 80, 48)):
        draw.text((60, y), f"Line {index:02d}  Invoice total 1,234.56 EUR  due 2024-03-{index % 28 + 1:02d}", font=font)
    return page


def ink_centre(image: Image.Image) -> np.ndarray:
    ys, xs = np.nonzero(np.asarray(image.convert("L")) < 128)
    return np.array([xs.mean(), ys.mean()])


def test_a_straight_page_has_no_skew() -> None:
    assert abs(estimate_skew(rendered_page())) <= 0.25


@pytest.mark.parametrize("tilt", [-2.5, -1.0, 1.5, 2.75])
def test_a_tilted_page_is_straightened(tilt: float) -> None:
    tilted = rendered_page().rotate(tilt, resample=Image.Resampling.BICUBIC, fillcolor=255)
    skew = estimate_skew(tilted)
    assert skew == pytest.approx(-tilt, abs=0.3)
    # Straightened, the text lines are horizontal again: its skew estimate is about zero.
    assert abs(estimate_skew(straighten(tilted, skew))) <= 0.25


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
@pytest.mark.parametrize("skew", [0.0, 2.0])
def test_boxes_on_the_prepared_page_map_back_to_the_source(turns: int, skew: float) -> None:
    source = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(source).rectangle((300, 40, 310, 50), fill=0)  # a mark near the top right corner
    scale = 0.5
    prepared = turn(source, turns)
    prepared = prepared.resize((round(prepared.width * scale), round(prepared.height * scale)))
    prepared = straighten(prepared, skew) if skew else prepared
    frame = PageFrame(source.width, source.height, quarter_turns=turns, skew=skew, scale=scale)

    found = ink_centre(prepared)
    assert frame.to_source(found)[0] == pytest.approx(ink_centre(source), abs=2.5)
    x0, top, x1, bottom = frame.box_to_source(np.array([found - 3, found + 3]))
    assert x0 < 305 < x1 and top < 45 < bottom


def test_every_frame_of_a_multi_page_tiff_is_a_page() -> None:
    buffer = io.BytesIO()
    frames = [Image.new("L", (200 + 10 * n, 100), 255) for n in range(3)]
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    with Image.open(io.BytesIO(buffer.getvalue())) as tiff:
        sizes = [page.size for page in page_images(tiff)]
    assert sizes == [(200, 100), (210, 100), (220, 100)]
