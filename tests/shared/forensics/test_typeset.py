"""A whole amount typeset unlike its page: measured on drawn, blurred, noised, JPEG'd statements."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from shared.forensics.image import load_grey
from shared.forensics.typeset import AmountFit, amount_fits, word_line
from tests.shared.forensics.scans import PAPER, SIZE, invoice_page_scan, statement_scan

LINES = [
    ("Net amount before tax", "1,234.56"),
    ("VAT at 19 %", "234.56"),
    ("Shipping and handling", "12.00"),
    ("Total amount due", "1,481.12"),
]


def _fits(data: bytes, words: list[tuple[str, tuple[float, float, float, float]]]) -> dict[str, AmountFit]:
    texts = [text for text, _ in words]
    amounts = [i for i, text in enumerate(texts) if "." in text]
    fits = amount_fits(load_grey(data), [box for _, box in words], texts, amounts)
    return {texts[i]: fit for i, fit in fits.items()}


@pytest.mark.parametrize("skew_degrees", [0.0, 1.0, -1.0])
def test_untouched_amounts_fit_their_page(skew_degrees: float) -> None:
    """Same size as the other numbers, on their line's baseline (a crooked page's skew taken out: 1 deg
    over the 300 px from label to amount is 5 px, a third of a digit), as tall as its capitals."""
    fits = _fits(*statement_scan(LINES, skew_degrees=skew_degrees))
    assert set(fits) == {amount for _, amount in LINES}
    for fit in fits.values():
        assert fit.shorter is not None and abs(fit.shorter) < 0.03
        assert fit.baseline_offset is not None and abs(fit.baseline_offset) < 0.03
        assert fit.cap_ratio is not None and abs(fit.cap_ratio) < 0.1


@pytest.mark.parametrize("skew_degrees", [0.0, 1.0])
def test_a_retyped_total_is_shorter_than_every_number_and_off_its_line(skew_degrees: float) -> None:
    fits = _fits(*statement_scan(LINES, retyped=(3, 0.75, 3), skew_degrees=skew_degrees))
    total = fits["1,481.12"]
    assert total.shorter is not None and total.shorter > 0.2
    assert total.shortest_other is not None and total.shortest_other > total.number.height + 3
    assert total.baseline_offset is not None and abs(total.baseline_offset) > 0.15
    assert total.cap_ratio is not None and total.cap_ratio < -0.2
    others = [fit for fit in fits.values() if fit is not total]
    assert all(fit.baseline_offset is not None and abs(fit.baseline_offset) < 0.03 for fit in others)


def test_an_amount_alone_on_its_page_is_not_compared_by_size() -> None:
    fits = _fits(*statement_scan([("Total amount due", "1,481.12")]))
    assert fits["1,481.12"].shorter is None  # fewer than two other numbers: nothing to be shorter than
    assert fits["1,481.12"].baseline_offset is not None


def test_faint_print_has_no_line() -> None:
    data, words = statement_scan(LINES)
    grey = load_grey(data)
    faint = np.clip(235 - (235 - grey.astype(np.float32)) * 0.15, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(faint).save(buffer, format="PNG")
    _label, box = words[0]
    assert word_line(grey, box) is not None
    assert word_line(load_grey(buffer.getvalue()), box) is None
    assert _fits(buffer.getvalue(), words) == {}


@pytest.mark.parametrize("font_name", ["Courier", "Helvetica"])
def test_untouched_amounts_have_near_twins(font_name: str) -> None:
    fits = _fits(*invoice_page_scan(font_name=font_name, retype_total=False))
    assert len(fits) == 3
    assert all(fit.unlike is not None and fit.unlike < 0.1 for fit in fits.values())


def test_a_total_retyped_in_another_font_is_unlike_its_twins() -> None:
    """Sans digits typed over a Courier total, same height and baseline: their twins are Courier."""
    fits = _fits(*invoice_page_scan(font_name="Courier", retype_total=True))
    total = fits["1,234.50"]
    assert total.unlike is not None and total.usual_unlike is not None
    assert total.unlike > 0.3 and total.unlike > 4 * total.usual_unlike
    assert total.shorter is not None and abs(total.shorter) < 0.1  # its size gives nothing away


def test_a_double_width_total_has_no_twins() -> None:
    """A till prints its total double-width: the same font stretched, not another one, so the page's
    normal-width digits are not its twins (SROIE receipt 145 before this rule)."""
    data, words = statement_scan(LINES)
    page = Image.open(io.BytesIO(data)).convert("L")
    text, (x0, top, x1, bottom) = words[-1]
    ImageDraw.Draw(page).rectangle((x0 - 1, top - 2, x1 + 1, bottom + 2), fill=PAPER)
    single = Image.new("L", (round(x1 - x0) + 4, round(bottom - top) + 8), PAPER)
    ImageDraw.Draw(single).text((2, 2), text, fill=30, font=ImageFont.load_default(size=SIZE))
    wide = single.resize((single.width * 2, single.height))
    page.paste(wide, (round(x1) - wide.width, round(top) - 2))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    words[-1] = (text, (x1 - wide.width + 4, top, x1, bottom))
    fits = _fits(buffer.getvalue(), words)
    assert fits[text].number.height == pytest.approx(fits["234.56"].number.height, abs=1.0)
    assert fits[text].unlike is None
