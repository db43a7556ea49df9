"""Labelled tampered variants of clean invoices, for the tampering benchmark (and the fraud suite).

Each generator: ``generate(source, rng) -> list[TamperCase]``. The amount edited is the invoice's
total from its label file (``<stem>.json``) when it is printed, else the last amount on page 1.

* ``pdf_incremental_edit``: the amount changed by an incremental update (digits swapped in the
  content stream where the font allows, else a white box and a new amount in the update);
* ``pdf_overlay_edit``: the file rewritten whole (no update trail) with a white box and a new amount
  drawn over the old one, in the page's own font where possible, or set beside it;
* ``scan_edit``: the page rasterised like a scan (noise, blur, JPEG), the amount painted over with
  paper colour and new digits typed in, saved as JPEG again. ``scan_clean`` makes the controls:
  the same scan pipeline, re-saved the same way, nothing edited. ``scan_edit_in_pdf`` (fraud type
  ``scan_edit``, variant ``in_pdf``) stores such an edited JPEG as is in a one-page image-only PDF,
  the way a scan usually arrives by mail.
* ``scan_copy_move`` (a probe, not in ``GENERATORS``: the scan model never trains on it): the
  amount's first digit replaced by another digit cloned from elsewhere on the same scanned page, the
  same font, print and scan, nothing retyped.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.fraud.pdf_edit import (
    Amount,
    add_overlay,
    changed_amount,
    edit_digits_in_stream,
    find_amount,
    incremental_update,
)

SCAN_DPI = 150


@dataclass
class TamperCase:
    data: bytes
    filename: str
    fraud_type: str  # "pdf_incremental_edit", "pdf_overlay_edit", "scan_edit", or "clean"
    source: str
    detail: dict[str, object] = field(default_factory=dict)
    # Where the edit is (pixels for scans, points for PDFs: x0, top, x1, bottom), for training.
    region: tuple[float, float, float, float] | None = None
    variant: str | None = None  # how the fraud type was made, when it is made more than one way


def _total_label(source: Path) -> str | None:
    label = source.with_suffix(".json")
    if not label.exists():
        return None
    fields = json.loads(label.read_text()).get("fields", json.loads(label.read_text()))
    value = fields.get("amount_due") or fields.get("total")
    return str(value) if value else None


def _amount(source: Path, data: bytes) -> Amount | None:
    try:
        return find_amount(data, _total_label(source))
    except Exception:  # a source pdfplumber cannot read is skipped, not a benchmark crash
        return None


def generate_incremental(source: Path, rng: random.Random) -> list[TamperCase]:
    data = source.read_bytes()
    amount = _amount(source, data)
    if amount is None:
        return []
    new_text = changed_amount(amount.text, rng.randrange(8))
    with pikepdf.open(io.BytesIO(data)) as pdf:
        changed = edit_digits_in_stream(pdf, amount, new_text)
        how = "digits edited in the content stream"
        if changed is None:
            changed = add_overlay(pdf, amount, new_text, cover=True)
            how = "white box and new amount in the update"
        edited = incremental_update(data, pdf, changed)
    return [_case(edited, source, "pdf_incremental_edit", amount, new_text, how)]


def generate_overlay(source: Path, rng: random.Random) -> list[TamperCase]:
    data = source.read_bytes()
    amount = _amount(source, data)
    if amount is None:
        return []
    new_text = changed_amount(amount.text, rng.randrange(8))
    shift = rng.choice([0.0, 0.0, 12.0])  # sometimes the new amount is set beside the covered one
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        add_overlay(pdf, amount, new_text, cover=True, shift=shift)
        pdf.save(out)  # rewritten whole: no incremental trail
    how = "white box and new amount drawn over" + (" beside" if shift else "")
    return [_case(out.getvalue(), source, "pdf_overlay_edit", amount, new_text, how)]


def _case(data: bytes, source: Path, fraud_type: str, amount: Amount, new_text: str, how: str) -> TamperCase:
    return TamperCase(
        data=data,
        filename=f"{source.stem}.{fraud_type}.pdf",
        fraud_type=fraud_type,
        source=source.name,
        detail={"old": amount.text, "new": new_text, "page": amount.page + 1, "how": how},
        region=(amount.x0, amount.top, amount.x1, amount.bottom),
    )


# --- scans -------------------------------------------------------------------------------------


def rasterise(source: Path, rng: random.Random) -> tuple[Image.Image, float]:
    """Page 1 as a scanner would see it (greyscale, slight blur and sensor noise); pixels per point."""
    document = pypdfium2.PdfDocument(source.read_bytes())
    try:
        scale = SCAN_DPI / 72.0
        image = document[0].render(scale=scale, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 0.8)))
    pixels = np.asarray(image, dtype=np.float32)
    noisy = (
        pixels * rng.uniform(0.92, 0.98)
        + rng.uniform(4, 14)
        + np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(1.5, 4.0), pixels.shape)
    )
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), scale


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _scan_pair(source: Path, rng: random.Random) -> tuple[Image.Image, float, int, int]:
    image, scale = rasterise(source, rng)
    first_quality, second_quality = rng.randint(70, 92), rng.randint(75, 95)
    scanned = Image.open(io.BytesIO(_jpeg(image, first_quality))).convert("L")
    return scanned, scale, first_quality, second_quality


def generate_scan_clean(source: Path, rng: random.Random) -> list[TamperCase]:
    """The control: scanned, saved, opened and saved again (as an editor would), nothing changed."""
    scanned, _scale, first, second = _scan_pair(source, rng)
    return [
        TamperCase(
            data=_jpeg(scanned, second),
            filename=f"{source.stem}.scan_clean.jpg",
            fraud_type="clean",
            source=source.name,
            detail={"jpeg_quality": [first, second]},
        )
    ]


def generate_scan_edit(
    source: Path,
    rng: random.Random,
    *,
    fraud_type: str = "scan_edit",
    touch_up: Callable[[Image.Image, tuple[float, float, float, float], random.Random], None] | None = None,
) -> list[TamperCase]:
    """The amount painted over and retyped; ``touch_up`` (training variants) then works on the edited
    image in place, around the patch, before it is saved as JPEG again."""
    data = source.read_bytes()
    amount = _amount(source, data)
    if amount is None or amount.page != 0:
        return []
    scanned, scale, first, second = _scan_pair(source, rng)
    new_text = changed_amount(amount.text, rng.randrange(8))
    box = tuple(round(v * scale) for v in (amount.x0, amount.top, amount.x1, amount.bottom))
    edited, patch = _paint_amount(scanned, box, new_text, rng)  # type: ignore[arg-type]
    if touch_up is not None:
        touch_up(edited, patch, rng)
    return [
        TamperCase(
            data=_jpeg(edited, second),
            filename=f"{source.stem}.{fraud_type}.jpg",
            fraud_type=fraud_type,
            source=source.name,
            detail={"old": amount.text, "new": new_text, "jpeg_quality": [first, second]},
            region=patch,
        )
    ]


def _paint_amount(
    image: Image.Image, box: tuple[int, int, int, int], text: str, rng: random.Random
) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """Paper colour over the amount, new digits typed in a font near the old size (an image editor's
    way); sometimes only the changed digit, sometimes the whole amount."""
    x0, top, x1, bottom = box
    pixels = np.asarray(image)
    ring = pixels[max(0, top - 6) : bottom + 6, max(0, x0 - 6) : x1 + 6]
    paper = int(np.percentile(ring, 90))
    ink = int(np.percentile(pixels[top:bottom, x0:x1], 3)) if bottom > top and x1 > x0 else 30
    edited = image.copy()
    draw = ImageDraw.Draw(edited)
    whole = rng.random() < 0.6
    height = bottom - top
    font = ImageFont.load_default(size=max(8, round(height * rng.uniform(0.72, 0.85))))
    if whole:
        draw.rectangle((x0 - 1, top, x1 + 1, bottom), fill=paper)
        width = draw.textlength(text, font=font)
        draw.text((x1 - width, top + height * 0.08), text, fill=ink, font=font)
        patch = (float(min(x0 - 1, x1 - width)), float(top), float(x1 + 1), float(bottom))
    else:  # only the first digit: a patch one glyph wide
        glyph = max(4, round(height * 0.6))
        draw.rectangle((x0 - 1, top, x0 + glyph, bottom), fill=paper)
        draw.text((x0, top + height * 0.08), text[0], fill=ink, font=font)
        patch = (float(x0 - 1), float(top), float(x0 + glyph), float(bottom))
    if rng.random() < 0.5:  # some editors smooth the patch
        smoothed = edited.crop((x0 - 2, top - 2, x1 + 2, bottom + 2)).filter(ImageFilter.GaussianBlur(0.5))
        edited.paste(smoothed, (x0 - 2, top - 2))
    return edited, patch


def generate_scan_edit_in_pdf(source: Path, rng: random.Random) -> list[TamperCase]:
    """An edited scan (``generate_scan_edit``, its own draws) stored byte for byte as the one page of an
    image-only PDF at the scan's resolution; the region in PDF points."""
    from bench.variants import images_to_pdf

    cases = []
    for case in generate_scan_edit(source, rng):
        width, height = Image.open(io.BytesIO(case.data)).size
        region = None
        if case.region is not None:
            x0, top, x1, bottom = (v * 72 / SCAN_DPI for v in case.region)
            region = (x0, top, x1, bottom)
        cases.append(
            replace(
                case,
                data=images_to_pdf([(case.data, width, height)], dpi=SCAN_DPI),
                filename=f"{source.stem}.scan_edit_in_pdf.pdf",
                region=region,
                variant="in_pdf",
            )
        )
    return cases


def generate_scan_copy_move(source: Path, rng: random.Random) -> list[TamperCase]:
    """The amount's first digit painted over with paper and replaced by a digit of about its height
    cloned from another number on the same scan (its cell, bottoms aligned), saved as JPEG again."""
    from shared.forensics.glyphs import PrintedNumber, measure_number
    from shared.forensics.tokens import digits

    amount = _amount(source, source.read_bytes())
    if amount is None or amount.page != 0:
        return []
    scanned, scale, first, second = _scan_pair(source, rng)
    grey = np.asarray(scanned)
    box = (amount.x0 * scale, amount.top * scale, amount.x1 * scale, amount.bottom * scale)
    target = measure_number(grey, box, amount.text, min_digits=2)
    if target is None:
        return []
    old_digit = digits(amount.text)[0]
    donors: list[tuple[PrintedNumber, int, str]] = []
    for text, word_box in scan_words(source):
        if word_box[2] > box[0] and word_box[0] < box[2] and word_box[3] > box[1] and word_box[1] < box[3]:
            continue  # the amount itself
        number = measure_number(grey, word_box, text, min_digits=2)
        if number is None:
            continue
        for k, digit in enumerate(digits(text)):  # a leading 0 would not pass for an amount's first digit
            if digit not in (old_digit, "0") and abs(number.heights[k] / target.heights[0] - 1) <= 0.06:
                donors.append((number, k, digit))
    if not donors:
        return []
    donor, k, digit = rng.choice(donors)
    height = float(target.heights[0])
    pad = max(2, round(0.15 * height))
    d_x0, d_x1 = int(donor.lefts[k]) - 1, int(donor.rights[k]) + 2
    d_top, d_bottom = round(float(donor.bottoms[k]) - height) - pad, round(float(donor.bottoms[k])) + pad
    cell = grey[d_top:d_bottom, d_x0:d_x1].copy()
    t_x0, t_x1 = int(target.lefts[0]) - 1, int(target.rights[0]) + 2
    t_top = round(float(target.bottoms[0]) - height) - pad
    if min(d_top, d_x0, t_top, t_x0 - pad) < 0 or t_top + cell.shape[0] > grey.shape[0]:
        return []  # at the page's edge: no whole cell to clone
    edited = grey.copy()
    paper = int(np.percentile(grey[t_top : t_top + cell.shape[0], t_x0 - pad : t_x1 + pad], 90))
    edited[t_top : t_top + cell.shape[0], t_x0:t_x1] = paper  # the old digit gone
    edited[t_top : t_top + cell.shape[0], t_x0 : t_x0 + cell.shape[1]] = cell
    at = next(i for i, char in enumerate(amount.text) if char.isdigit())
    new_text = amount.text[:at] + digit + amount.text[at + 1 :]
    patch = (float(t_x0), float(t_top), float(max(t_x1, t_x0 + cell.shape[1])), float(t_top + cell.shape[0]))
    return [
        TamperCase(
            data=_jpeg(Image.fromarray(edited), second),
            filename=f"{source.stem}.scan_copy_move.jpg",
            fraud_type="scan_copy_move",
            source=source.name,
            detail={"old": amount.text, "new": new_text, "jpeg_quality": [first, second]},
            region=patch,
        )
    ]


GENERATORS = {
    "pdf_incremental_edit": generate_incremental,
    "pdf_overlay_edit": generate_overlay,
    "scan_edit": generate_scan_edit,
}


def scan_words(source: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Page 1's words with boxes in the pixels of ``rasterise`` (stand-in for OCR in benchmarks)."""
    import pdfplumber

    scale = SCAN_DPI / 72.0
    with pdfplumber.open(source) as pdf:
        words = pdf.pages[0].extract_words()
    return [(w["text"], (w["x0"] * scale, w["top"] * scale, w["x1"] * scale, w["bottom"] * scale)) for w in words]


def generate(source: Path, rng: random.Random) -> list[TamperCase]:
    """Every tampered variant of one source, for ``bench.fraud_suite`` (its clean cases come from
    ``bench.fraud.cases``; these count as flagged on any medium+ ``tamper.*`` finding). The scan edit
    inside a PDF is drawn last, so the other generators' draws are those they made before it existed
    (``bench.tamper_suite`` runs ``GENERATORS`` only)."""
    tampered = [case for make in GENERATORS.values() for case in make(source, rng)]
    return [*tampered, *generate_scan_edit_in_pdf(source, rng)]
