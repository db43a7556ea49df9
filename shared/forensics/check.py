"""The tampering checks of one invoice: its original bytes and what was read from them.

PDFs: structural analysis in a bounded child (``analyse_pdf``), then in the worker the OCR of the
rendered places the key fields were read from, and the vendor's producer history. Images: the
scan-tampering model over the amounts and bank details (the gpu-inference service when
``PAPYR_INFERENCE_URL`` is set, in-process ONNX Runtime otherwise), each amount's digits measured
against each other (``glyphs.odd_digit``) and each amount's print against its page (``typeset``), in
the worker's bounded child either way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from shared.documents.bounded import BoundedRunError, run_bounded
from shared.documents.content import ContentKind, DocumentContent, DocumentRejected, Page
from shared.domain import Finding, InvoiceRecord, Severity, Source
from shared.domain.keys import vendor_key
from shared.extraction.normalize import currency_from_token, is_whole_amount
from shared.forensics.findings import pdf_findings, producer_tool
from shared.forensics.glyphs import OddDigit, moved_to_glyphs, odd_digit_of, widened_to_glyphs
from shared.forensics.image import Box
from shared.forensics.models import PdfForensics, RenderedCrop, enclosing, on_line
from shared.forensics.profile import load_profile, remember
from shared.forensics.tokens import (
    DIGIT,
    as_digits,
    digits,
    glued_words_dropped,
    is_amount,
    is_key_token,
    is_number_piece,
    scan_targets,
)
from shared.forensics.typeset import AmountFit, amount_fits
from shared.ports import Repository
from shared.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_FIELDS = ("total", "amount_due", "iban")
OCR_CONFIDENCE = 0.9  # below this an OCR reading does not contradict the text layer
MAX_REGIONS = 150  # words with digits scored per scanned page (amounts and IBAN parts first)
# One digit out of line (glyphs.odd_digit) counts with a tile score of at least DIGIT_SUPPORT times
# the model's threshold (0.40 for scan-tamper-5): a deviation of ODD_DIGIT digit heights, ODD_TO_SPREAD
# times the other digits' own spread (at least SPREAD_FLOOR). Set on the fraud suite's scans (seed 5),
# the 200 dpi ZUGFeRD scans and the SROIE receipts; see BENCHMARKS.md for the checks on other seeds.
ODD_DIGIT = 0.15
ODD_TO_SPREAD = 3.0
SPREAD_FLOOR = 0.02
DIGIT_SUPPORT = 0.64
# The only amount on its page with a digit out of line, with at least LONE_DIGITS digits (so the others'
# spread is measured on three or more), counts with LONE_DIGIT_SUPPORT: worn print puts several amounts
# out of line, and two digits agree by chance. Clean scans in that class reached 0.39 (8 receipts, none
# on invoice scans), the fraud suite's edits 0.46 and up (seeds 5, 11, 23, 29): set between the two.
LONE_DIGITS = 4
LONE_DIGIT_SUPPORT = 0.43
# A whole amount typeset unlike its page (typeset.amount_fits) counts with a tile score of at least
# AMOUNT_SUPPORT times the threshold (0.35 for scan-tamper-5) when its digits are SHORTER than every
# other number on the page by that share of their height, or when it sits OFF_BASELINE digit heights
# off its line and its digits fall SHORT_OF_CAPITALS short of the line's capitals. Set on the fraud
# suite's scans (seed 5) with the 200 dpi ZUGFeRD scans and the SROIE receipts as the clean side.
AMOUNT_SUPPORT = 0.56
# Two of those reasons at once count with TWO_REASONS_SUPPORT: each is a separate trace of another
# font or hand. One clean amount showed two (a SROIE receipt, 0.40); the fraud suite's edits with two
# that the single-reason support missed scored 0.50 and 0.53 (seeds 23, 37): set between them.
TWO_REASONS_SUPPORT = 0.45
# All three reasons at once (shorter than every other number, off its line and short of its capitals,
# another font) count with tiles at THREE_REASONS_SUPPORT: no clean amount showed three (SROIE,
# zugferd_ocr and the suite's clean scans, 2,767 amounts), and a retype that shows them need not leave
# the tiles the model knows (oyo's total on seed 79 scored 0.20 of the threshold).
THREE_REASONS_SUPPORT = 0.15
SHORTER = 0.20
OFF_BASELINE = 0.15
SHORT_OF_CAPITALS = 0.20
# Or when its digits are UNLIKE their twins elsewhere on the page (typeset._unlike) and at least
# UNLIKE_TO_USUAL times as unlike as the page's other amounts: another font. Set on the fraud suite's
# scans (seeds 5 and 11, JPEG) against the same clean scans; worn receipts' digits vary a lot, hence the ratio.
UNLIKE = 0.30
UNLIKE_TO_USUAL = 2.5
# Digits UNLIKE their twins but only LEANING_TO_USUAL times as unlike as the page's other amounts, on an
# amount that fits its page otherwise, count with tiles at LEANING_SUPPORT: clean scans in that band
# reached 0.58, the fraud suite's retypes there that nothing else caught 0.75 to 0.88 (Intarsys and FNFE
# credit notes, seeds 37, 47, 53). Under UNLIKE is no lean: a clean AWS scan's "$4.11" (0.296 unlike,
# 3.7 times its page's) had tiles at 0.73.
LEANING_TO_USUAL = 2.0
LEANING_SUPPORT = 0.70
# Digits only FAINTLY_UNLIKE their twins (under UNLIKE) but UNLIKE_TO_USUAL times the page's other amounts,
# on an amount that fits otherwise, count with tiles at FAINT_SUPPORT: the model all but flags them. Clean
# scans with such digits reached 0.73 (that AWS "$4.11"; SROIE, zugferd_ocr and the suite's clean scans,
# 2,801 amounts); a Mustang total retyped whole (0.2996, 6.4 times its page's) scored 0.99 (seed 67).
FAINTLY_UNLIKE = 0.25
FAINT_SUPPORT = 0.85


@dataclass(frozen=True)
class OriginalDocument:
    """What the tampering checks need beyond the record: the original bytes and their content."""

    data: bytes
    content: DocumentContent
    settings: Settings | None = None  # bounds for the analysis child; the process settings when None


def check_tampering(record: InvoiceRecord, original: OriginalDocument, *, repo: Repository) -> list[Finding]:
    from shared.settings import get_settings

    settings = original.settings or get_settings()
    if original.content.kind is ContentKind.PDF:
        findings = _check_pdf(record, original.data, repo=repo, settings=settings)
        return findings + _check_scanned_pages(original.data, original.content, settings)
    if original.content.kind is ContentKind.IMAGE and original.content.pages:
        return _check_image_pages(original.data, original.content.pages, settings)
    return []


def _bounded(settings: Settings, function: Callable[..., T], *args: Any) -> T:
    """``function`` in a child process with the parser's time and memory limits: the input is untrusted."""
    return run_bounded(function, *args, timeout_s=settings.parse_timeout_s, memory_mb=settings.parse_memory_mb)


def _targets(record: InvoiceRecord) -> list[tuple[str, int, Box]]:
    extraction = record.extraction
    if extraction is None:
        return []
    targets: list[tuple[str, int, Box]] = []
    for name in KEY_FIELDS:
        field = extraction.fields.get(name)
        if field is None or field.provenance.source is not Source.TEXT:
            continue
        if field.provenance.page is not None and field.provenance.bbox is not None:
            targets.append((name, field.provenance.page, field.provenance.bbox))
    return targets


def _check_pdf(record: InvoiceRecord, data: bytes, *, repo: Repository, settings: Settings) -> list[Finding]:
    from shared.forensics.pdf import analyse_pdf

    try:
        result: PdfForensics = _bounded(settings, analyse_pdf, data, _targets(record))
    except (DocumentRejected, BoundedRunError) as failure:
        reason = failure.reason if isinstance(failure, DocumentRejected) else "analysis failed"
        log.warning("tamper analysis of %s failed: %s", record.id, failure)
        return [
            Finding(
                code="tamper.pdf.not_analysed",
                severity=Severity.LOW,
                message=f"The PDF could not be checked for tampering ({reason}); look at it with care.",
                evidence={"reason": reason},
            )
        ]
    findings = pdf_findings(result)
    findings += _text_layer_vs_pixels(record, result.crops)
    findings += _vendor_history(record, result, repo)
    if result.warnings:
        findings.append(
            Finding(
                code="tamper.pdf.partly_analysed",
                severity=Severity.INFO,
                message="Parts of the PDF could not be checked for tampering: " + "; ".join(result.warnings),
                evidence={"warnings": result.warnings},
            )
        )
    return findings


def _text_layer_vs_pixels(record: InvoiceRecord, crops: list[RenderedCrop]) -> list[Finding]:
    """OCR the rendered place of each key field: the pixels must show the digits the text layer has."""
    from shared.pipeline import ocr_png

    findings: list[Finding] = []
    extraction = record.extraction
    for crop in crops:
        field = extraction.fields.get(crop.label) if extraction else None
        if field is None:
            continue
        expected = digits(field.provenance.text or field.value)
        if len(expected) < 2:
            continue
        try:
            words = ocr_png(crop.png)
        except Exception as failure:  # OCR down or refusing: the other checks stand; say what was skipped
            log.warning("OCR of %s crop failed: %s", crop.label, failure)
            findings.append(
                Finding(
                    code="tamper.pdf.text_layer_not_compared",
                    severity=Severity.INFO,
                    message=f"The printed {crop.label} could not be read back from the page image ({failure}).",
                    evidence={"field": crop.label},
                )
            )
            continue
        seen = " ".join(w.text for w in words)
        confident = bool(words) and min(w.confidence for w in words) >= OCR_CONFIDENCE
        if not confident or expected in digits(seen) or not digits(seen):
            continue
        findings.append(
            Finding(
                code="tamper.pdf.text_layer_mismatch",
                severity=Severity.HIGH,
                message=(
                    f"The {crop.label.replace('_', ' ')} in the PDF's text layer is '{field.value}', but the page "
                    f"shows '{seen}' there. What software reads and what a person sees differ."
                ),
                evidence={
                    "field": crop.label,
                    "text_layer": field.provenance.text or field.value,
                    "rendered_ocr": seen,
                    "ocr_confidence": round(min(w.confidence for w in words), 3),
                    "locations": [{"page": crop.page, "bbox": [round(v, 1) for v in crop.box], "label": crop.label}],
                },
            )
        )
    return findings


def _vendor_history(record: InvoiceRecord, result: PdfForensics, repo: Repository) -> list[Finding]:
    extraction = record.extraction
    if extraction is None:
        return []
    vendor = vendor_key(extraction.value("vendor_name")) or re.sub(r"\W", "", extraction.value("vendor_vat_id") or "")
    tool = producer_tool(result)
    if not vendor or not tool:
        return []
    profile = load_profile(repo, vendor)
    usual = profile.usual_tool(exclude=record.id)
    remember(repo, vendor, record.id, tool)
    if usual is None or usual[0] == tool:
        return []
    return [
        Finding(
            code="tamper.pdf.producer_changed",
            # Low on its own: vendors change billing software, and a re-made invoice also shows in what
            # the other detectors see (revisions, overprint, text layer vs page). Still sends it to a person.
            severity=Severity.LOW,
            message=(
                f"The last {usual[1]} PDFs from this vendor were all made by '{usual[0]}'; this one by "
                f"'{result.producer or result.xmp_producer}'. A re-made or edited invoice looks like this."
            ),
            evidence={
                "vendor": extraction.value("vendor_name"),
                "usual_producer": usual[0],
                "this_producer": result.producer or result.xmp_producer,
                "history": usual[1],
            },
        )
    ]


# --- scans -----------------------------------------------------------------------------------------


def _regions(page: Page, shape: tuple[int, int]) -> tuple[list[int], list[Box]]:
    """Indexes of the words with a digit, amounts and IBAN parts first (the targets), and every word's
    box (the references) of an OCR'd image page, in the pixels of the decoded image (``page_boxes``)."""
    return scan_targets([w.text for w in page.words], MAX_REGIONS), page_boxes(page, shape)


def page_boxes(page: Page, shape: tuple[int, int]) -> list[Box]:
    """The page's word boxes in the pixels of the decoded image (the reader may have downscaled it for
    OCR). A box under half the page's median word height is redrawn 1.5 median heights tall around its
    centre: OCR measures a word's rows as the crop's strongest run of ink, which a table rule or the
    edge of a painted patch can win (a 3-5 px box at the glyphs' top or bottom edge); the tiles must
    cover the glyphs, on whichever side they are."""
    height, width = shape
    sx = width / page.width if page.width else 1.0
    sy = height / page.height if page.height else 1.0
    boxes = [(w.x0 * sx, w.top * sy, w.x1 * sx, w.bottom * sy) for w in page.words]
    if not boxes:
        return boxes
    usual = float(np.median([bottom - top for _, top, _, bottom in boxes]))
    return [
        (x0, (top + bottom) / 2 - 0.75 * usual, x1, (top + bottom) / 2 + 0.75 * usual)
        if bottom - top < usual / 2
        else (x0, top, x1, bottom)
        for x0, top, x1, bottom in boxes
    ]


@dataclass(frozen=True)
class _ScanEvidence:
    targets: list[Box]
    texts: list[str]
    references: list[Box]  # every word's box: the page context the tiles are compared with
    features: list[np.ndarray] | None  # tile features for the in-process model; None when the service scores
    odd_digits: list[OddDigit | None]  # per target: its odd digit, for amounts that can be measured
    fits: list[AmountFit | None]  # per target: how an amount's print fits its page, where measured
    keyed: list[bool]  # per target: an amount or IBAN part, or a word right beside one (``_beside_keys``)
    shape: tuple[int, int]  # the decoded image's height and width: boxes above are in its pixels


def _scan_evidence(data: bytes, page: Page, with_features: bool) -> _ScanEvidence:
    """Runs in a bounded child: decode the image, measure the amounts' digits and (in-process model)
    compute the tile features of the key tokens."""
    from shared.forensics.image import load_grey, region_features

    grey = load_grey(data)
    chosen, boxes = _regions(page, grey.shape)
    boxes = _widened(grey, boxes, chosen)
    words = [word.text for word in page.words]
    targets = [boxes[i] for i in chosen]
    features = region_features(grey, targets, boxes) if with_features and targets else None
    whole = _whole_amounts(boxes, words)
    readings = [as_digits(word) for word in words]  # a retyped digit OCR read as a letter is still measured
    pieces = _amount_pieces(boxes, readings)
    amounts, amount_boxes, of = _joined(readings, boxes, pieces)
    measured = amount_fits(
        grey, amount_boxes, amounts, [i for i in chosen if is_amount(glued_words_dropped(amounts[i])) or i in whole]
    )
    fits = [measured.get(of.get(i, i)) for i in chosen]
    digits_out = {i: odd_digit_of(fit.number) for i, fit in measured.items()}  # each amount measured once
    return _ScanEvidence(
        targets,
        [amounts[of[i]] if i in of else words[i] for i in chosen],  # a split amount reads whole
        boxes,
        features,
        [digits_out.get(of.get(i, i)) for i in chosen],
        fits,
        _beside_keys(chosen, boxes, readings, _key_words(boxes, readings) | whole),
        (int(grey.shape[0]), int(grey.shape[1])),
    )


def _joined(
    words: list[str], boxes: list[Box], pieces: list[tuple[int, int]]
) -> tuple[list[str], list[Box], dict[int, int]]:
    """The page's words with each amount OCR read in two pieces (``_amount_pieces``) as one word: the
    first piece's text and box become the whole amount's, the second's text is left empty (nothing to
    measure twice); and which word each piece's amount now is."""
    texts, joined = list(words), list(boxes)
    of: dict[int, int] = {}
    for i, j in pieces:
        texts[i], texts[j] = words[i] + words[j], ""
        joined[i] = enclosing(boxes[i], boxes[j])
        of[i] = of[j] = i
    return texts, joined, of


def _widened(grey: np.ndarray, boxes: list[Box], chosen: list[int]) -> list[Box]:
    """The chosen words' boxes moved onto their glyphs' rows where OCR's box holds none of them
    (``glyphs.moved_to_glyphs``) and no other word's box is there, then widened over glyphs OCR left outside them
    (``glyphs.widened_to_glyphs``), up to the next words on their line."""
    usual = float(np.median([bottom - top for _, top, _, bottom in boxes])) if boxes else 0.0
    boxes = list(boxes)
    for i in chosen:
        boxes[i] = moved_to_glyphs(grey, boxes[i], usual, boxes[:i] + boxes[i + 1 :])
    widened = list(boxes)
    for i in chosen:
        x0, _, x1, _ = boxes[i]
        line = [box for k, box in enumerate(boxes) if k != i and on_line(box, boxes[i])]
        left = max((box[2] for box in line if (box[0] + box[2]) / 2 < x0), default=0.0)
        right = min((box[0] for box in line if (box[0] + box[2]) / 2 > x1), default=float(grey.shape[1]))
        widened[i] = widened_to_glyphs(grey, boxes[i], min(left, x0), max(right, x1))
    return widened


def _beside_keys(chosen: list[int], boxes: list[Box], words: list[str], keyed: set[int]) -> list[bool]:
    """Per chosen word: one of the ``keyed`` words (amounts, IBAN parts, pieces of them), or a piece of a
    number (``is_number_piece``) on its line less than one word height (the lower of the two) away from one:
    OCR reads a retyped digit set apart as a word of its own ("6" "127.50"). The model's unusual tiles
    elsewhere (page numbers, phone numbers, dates, percentages) are not the tokens a forger changes, and on
    clean scans they were its only false alarms (BENCHMARKS.md): a label read with its percentage
    ("MwSt.-%19,0,") next to an amount, or a line of vertical print whose box is a fifth of the page tall."""
    keys = sorted(keyed)

    def beside(i: int) -> bool:
        x0, top, x1, bottom = boxes[i]
        return is_number_piece(words[i]) and any(
            on_line(boxes[k], boxes[i])
            and min(abs(boxes[k][0] - x1), abs(x0 - boxes[k][2])) < min(bottom - top, boxes[k][3] - boxes[k][1])
            for k in keys
            if k != i
        )

    return [i in keyed or beside(i) for i in chosen]


def _key_words(boxes: list[Box], words: list[str]) -> set[int]:
    """The key tokens (amounts, IBAN parts), and both pieces of an amount OCR read as two words
    (``_amount_pieces``)."""
    keys = {i for i, word in enumerate(words) if is_key_token(word)}
    return keys.union(*_amount_pieces(boxes, words))


def _amount_pieces(boxes: list[Box], words: list[str]) -> list[tuple[int, int]]:
    """Pairs of words OCR read apart that print one amount together, the second right after the first
    on its line ("7" ".904,94", "$5" "79.84"): a retyped digit the editor set a little apart is read
    that way. Two amounts side by side are two amounts; each word is in one pair at most."""
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    pieces = [i for i, word in enumerate(words) if DIGIT.search(word)]
    for i in pieces:
        for j in pieces:
            if (
                j != i
                and not used & {i, j}
                and _follows(boxes[i], boxes[j], 0.5)
                and not (is_amount(words[i]) and is_amount(words[j]))
                and is_amount(words[i] + words[j])
            ):
                pairs.append((i, j))
                used |= {i, j}
    return pairs


def _whole_amounts(boxes: list[Box], words: list[str]) -> set[int]:
    """Whole numbers right after or before a currency mark on their line ("Rs" "1939"): amounts printed
    without cents, which ``is_amount`` alone cannot tell from quantities or years. OCR lists a page's
    words in reading order only roughly, so the mark is found by its place, not its index."""
    marks = [j for j, word in enumerate(words) if not DIGIT.search(word) and currency_from_token(word)]
    return {
        i
        for i, word in enumerate(words)
        for j in marks
        if (_follows(boxes[j], boxes[i], 1.0) or _follows(boxes[i], boxes[j], 1.0)) and is_whole_amount(word, words[j])
    }


def _follows(first: Box, second: Box, reach: float) -> bool:
    """``second`` starts where ``first`` ends on its line (a fifth of its height back, at most ``reach``
    heights on): the next word of one printed token."""
    _, top, x1, bottom = first
    height = bottom - top
    return x1 - 0.2 * height <= second[0] <= x1 + reach * height and on_line(second, first)


def _check_scan(data: bytes, page: Page, settings: Settings) -> list[Finding]:
    try:
        evidence: _ScanEvidence = _bounded(settings, _scan_evidence, data, page, not settings.inference_url)
        if not evidence.targets:
            return []
        if settings.inference_url:
            from shared.forensics.client import tamper_client

            client = tamper_client(settings.inference_url)
            answer = client.score_image(data, evidence.targets, evidence.references)
            scores, threshold, model = answer.scores, answer.threshold, answer.model
        else:
            from shared.forensics.model import default_model

            tamper_model = default_model()
            scores = tamper_model.score_regions(evidence.features or [])
            threshold, model = tamper_model.threshold, tamper_model.version
    except Exception as failure:  # a scan the model cannot read must not fail the invoice: say so
        log.warning("scan tamper check failed: %s", failure)
        return [_not_analysed(failure)]
    findings = _edited_regions(page, evidence, scores, threshold, model)
    findings += _odd_digits(page, evidence, scores, threshold, model)
    findings += _retyped_amounts(page, evidence, scores, threshold, model)
    return _in_page_units(findings, page, evidence.shape)


def _check_image_pages(data: bytes, pages: list[Page], settings: Settings) -> list[Finding]:
    """The scan checks on every page the reader OCR'd: a one-page image as it came (its bytes are the
    evidence), each frame of a multi-page one (TIFF) cut out in a bounded child."""
    if len(pages) == 1:
        return _check_scan(data, pages[0], settings)
    from shared.forensics.image import frame_images

    try:
        frames: list[bytes] = _bounded(settings, frame_images, data, len(pages))
    except (DocumentRejected, BoundedRunError) as failure:
        log.warning("pages of a multi-page image could not be cut out: %s", failure)
        return [_not_analysed(failure)]
    findings = [f for page, frame in zip(pages, frames, strict=False) for f in _check_scan(frame, page, settings)]
    unchecked = [page.number for page in pages[len(frames) :]]
    if unchecked:
        findings.append(_partly_analysed(unchecked, "their frames could not be decoded"))
    return findings


def _not_analysed(failure: Exception) -> Finding:
    return Finding(
        code="tamper.image.not_analysed",
        severity=Severity.LOW,
        message=f"The scan could not be checked for edits ({type(failure).__name__}); look at it with care.",
        evidence={"reason": str(failure)[:200]},
    )


def _in_page_units(findings: list[Finding], page: Page, shape: tuple[int, int]) -> list[Finding]:
    """Locations measured in the image's pixels, in the page's own units (what the dashboard and the
    report draw in): the same for an image read at full size, PDF points for a scanned PDF page."""
    height, width = shape
    sx = page.width / width if page.width > 0 and width else 1.0
    sy = page.height / height if page.height > 0 and height else 1.0
    for finding in findings:
        for location in finding.evidence.get("locations", []):
            x0, top, x1, bottom = location["bbox"]
            location["bbox"] = [round(x0 * sx, 1), round(top * sy, 1), round(x1 * sx, 1), round(bottom * sy, 1)]
    return findings


def _check_scanned_pages(data: bytes, content: DocumentContent, settings: Settings) -> list[Finding]:
    """The scan checks on a PDF's OCR'd pages, each through the image it was made from
    (``pdf_scans``); pages whose image cannot be matched to the page are named, not guessed at."""
    from shared.forensics.pdf_scans import scanned_page_images

    scanned = {page.number: page for page in content.pages if page.ocr and page.words}
    if not scanned:
        return []
    reason = "the page is not one image that spans it (turned, cropped, or made of several pictures)"
    try:
        images: dict[int, bytes] = _bounded(settings, scanned_page_images, data, sorted(scanned))
    except (DocumentRejected, BoundedRunError) as failure:
        log.warning("scanned pages of a PDF could not be extracted: %s", failure)
        images, reason = {}, f"their images could not be extracted ({type(failure).__name__})"
    findings = [
        finding for number, image in sorted(images.items()) for finding in _check_scan(image, scanned[number], settings)
    ]
    unchecked = sorted(set(scanned) - set(images))
    if unchecked:
        findings.append(_partly_analysed(unchecked, reason))
    return findings


def _partly_analysed(pages: list[int], reason: str) -> Finding:
    return Finding(
        code="tamper.image.partly_analysed",
        severity=Severity.INFO,
        message=f"Scanned page(s) {', '.join(map(str, pages))} could not be checked for edits: {reason}.",
        evidence={"pages": pages},
    )


def _edited_regions(
    page: Page, evidence: _ScanEvidence, scores: list[float], threshold: float, model: str
) -> list[Finding]:
    flagged = [
        (box, score)
        for box, score, keyed in zip(evidence.targets, scores, evidence.keyed, strict=True)
        if keyed and score >= threshold
    ]
    if not flagged:
        return []
    return [
        Finding(
            code="tamper.image.edited_region",
            severity=Severity.HIGH,
            message=(
                f"{len(flagged)} amount or bank-detail region(s) of this scan look edited: their paper noise, "
                "sharpness or compression traces differ from the rest of the page. Compare with the vendor's "
                "original before paying."
            ),
            evidence={
                "model": model,
                "threshold": round(threshold, 4),
                "scores": [round(score, 4) for _, score in flagged],
                "locations": [
                    {"page": page.number, "bbox": [round(v, 1) for v in box], "label": f"edited? {score:.2f}"}
                    for box, score in flagged
                ],
            },
        )
    ]


def _odd_digits(
    page: Page, evidence: _ScanEvidence, scores: list[float], threshold: float, model: str
) -> list[Finding]:
    """Amounts with one digit out of line (``glyphs.odd_digit``) whose tiles the model also finds
    somewhat unusual (``_digit_support``): two independent traces of one retyped digit. Either alone is
    too weak at scan resolution (bench.fraud_suite, SROIE receipts); amounts the model flagged already
    are left to ``_edited_regions``."""
    out_of_line = _once_per_amount(
        [
            (text, digit, score)
            for text, digit, score in zip(evidence.texts, evidence.odd_digits, scores, strict=True)
            if digit is not None and _out_of_line(digit)
        ]
    )
    lone = len(out_of_line) == 1
    odd = [
        (text, digit, score)
        for text, digit, score in out_of_line
        if _digit_support(text, lone) * threshold <= score < threshold
    ]
    if not odd:
        return []
    described = "; ".join(
        f"'{text}': digit {digit.index + 1} is out of line with the others by {digit.deviation:.0%} of a digit's "
        f"height ({digit.height:.1f} px tall, the others {digit.others_height:.1f} px)"
        for text, digit, _ in odd
    )
    return [
        Finding(
            code="tamper.image.odd_digit",
            severity=Severity.HIGH,
            message=(
                f"In {len(odd)} amount(s) of this scan one digit does not line up with the others ({described}), "
                "and the paper and ink around it look retouched. A digit typed over the original looks like "
                "this. Compare with the vendor's original before paying."
            ),
            evidence={
                "model": model,
                "amounts": [
                    {
                        "text": text,
                        "digit": digit.index + 1,
                        "height_px": round(digit.height, 2),
                        "others_height_px": round(digit.others_height, 2),
                        "deviation": round(digit.deviation, 3),
                        "others_spread": round(digit.spread, 3),
                        "tile_score": round(score, 4),
                        "only_amount_out_of_line": lone,
                    }
                    for text, digit, score in odd
                ],
                "locations": [
                    {"page": page.number, "bbox": [round(v, 1) for v in digit.box], "label": f"odd digit in {text}"}
                    for text, digit, _ in odd
                ],
            },
        )
    ]


M = TypeVar("M")


def _once_per_amount(rows: list[tuple[str, M, float]]) -> list[tuple[str, M, float]]:
    """(text, measurement, tile score) rows with one row per measured amount: the pieces OCR read one
    amount as share its measurement (``_joined``), and the amount counts once, with its best-scored tiles."""
    best: dict[int, tuple[str, M, float]] = {}
    for row in rows:
        kept = best.get(id(row[1]))
        if kept is None or row[2] > kept[2]:
            best[id(row[1])] = row
    return list(best.values())


def _digit_support(text: str, lone: bool) -> float:
    """The share of the model's threshold an amount's tiles need to back its odd digit."""
    return LONE_DIGIT_SUPPORT if lone and len(digits(text)) >= LONE_DIGITS else DIGIT_SUPPORT


def _out_of_line(digit: OddDigit) -> bool:
    """Far from the others, and the others tight among themselves: worn print moves every digit."""
    return digit.deviation >= ODD_DIGIT and digit.deviation >= ODD_TO_SPREAD * max(digit.spread, SPREAD_FLOOR)


def _retyped_amounts(
    page: Page, evidence: _ScanEvidence, scores: list[float], threshold: float, model: str
) -> list[Finding]:
    """Whole amounts typeset unlike their page (``typeset.amount_fits``) whose tiles the model also
    finds somewhat unusual. Amounts the model or the odd-digit check already reported are left to them."""
    found = []
    for text, fit, score in _once_per_amount(
        [
            (text, fit, score)
            for text, fit, digit, score in zip(evidence.texts, evidence.fits, evidence.odd_digits, scores, strict=True)
            if fit is not None and not (digit is not None and _out_of_line(digit))
        ]
    ):
        reasons, support = _misfit(fit)
        if reasons and support * threshold <= score < threshold:
            found.append((text, fit, score, reasons))
    if not found:
        return []
    described = "; ".join(f"'{text}': {' and '.join(reasons)}" for text, _, _, reasons in found)
    return [
        Finding(
            code="tamper.image.retyped_amount",
            severity=Severity.HIGH,
            message=(
                f"{len(found)} amount(s) of this scan are printed unlike the rest of the page ({described}), and the "
                "paper and ink around them look retouched. An amount typed over the original looks like this. "
                "Compare with the vendor's original before paying."
            ),
            evidence={
                "model": model,
                "amounts": [
                    {
                        "text": text,
                        "digit_height_px": round(fit.number.height, 2),
                        "shortest_other_px": _rounded(fit.shortest_other, 2),
                        "baseline_offset": _rounded(fit.baseline_offset, 3),
                        "height_to_capitals": _rounded(None if fit.cap_ratio is None else fit.cap_ratio + 1, 3),
                        "unlike_twins": _rounded(fit.unlike, 3),
                        "others_unlike_twins": _rounded(fit.usual_unlike, 3),
                        "tile_score": round(score, 4),
                    }
                    for text, fit, score, _ in found
                ],
                "locations": [
                    {"page": page.number, "bbox": [round(v, 1) for v in fit.number.box], "label": f"retyped? {text}"}
                    for text, fit, _, _ in found
                ],
            },
        )
    ]


def _misfit(fit: AmountFit) -> tuple[list[str], float]:
    """Why an amount's print does not fit its page, in words (none when it fits), and the share of the
    model's threshold its tiles need to back those reasons."""
    reasons = []
    if fit.shorter is not None and fit.shortest_other is not None and fit.shorter >= SHORTER:
        reasons.append(
            f"its digits are {fit.number.height:.1f} px tall, shorter than every other number on the page "
            f"(the shortest is {fit.shortest_other:.1f} px)"
        )
    offset, caps = fit.baseline_offset, fit.cap_ratio
    if offset is not None and caps is not None and abs(offset) >= OFF_BASELINE and caps <= -SHORT_OF_CAPITALS:
        reasons.append(
            f"it sits {abs(offset):.0%} of a digit's height {'below' if offset > 0 else 'above'} its line and its "
            f"digits are {-caps:.0%} shorter than the line's capitals"
        )
    unlike, usual = fit.unlike, fit.usual_unlike
    if unlike is None or usual is None:
        return reasons, _amount_support(reasons)
    another_font = (
        f"its digits are shaped unlike the same digits elsewhere on the page ({unlike:.2f} from their nearest "
        f"twins, where the page's other amounts are {usual:.2f}): another font"
    )
    if unlike >= UNLIKE and unlike >= UNLIKE_TO_USUAL * usual:
        reasons.append(another_font)
    elif not reasons and unlike >= UNLIKE and unlike >= LEANING_TO_USUAL * usual:
        return [another_font], LEANING_SUPPORT
    elif not reasons and unlike >= FAINTLY_UNLIKE and unlike >= UNLIKE_TO_USUAL * usual:
        return [another_font], FAINT_SUPPORT
    return reasons, _amount_support(reasons)


def _amount_support(reasons: list[str]) -> float:
    """The share of the model's threshold an amount's tiles need to back its misfit ``reasons``."""
    if len(reasons) >= 3:
        return THREE_REASONS_SUPPORT
    return TWO_REASONS_SUPPORT if len(reasons) == 2 else AMOUNT_SUPPORT


def _rounded(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)
