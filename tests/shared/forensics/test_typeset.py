"""A whole amount typeset unlike its page: measured on drawn, blurred, noised, JPEG'd statements."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from shared.forensics.image import load_grey
from shared.forensics.typeset import AmountFit, amount_fits, word_line
from tests.shared.forensics.scans import statement_scan

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
