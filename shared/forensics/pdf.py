"""Structural forensics of a digital PDF, from its original bytes.

``analyse_pdf`` reads untrusted bytes: call it through ``run_bounded`` (``check.py`` does). Every
step records a warning rather than raise, so a damaged file still yields what could be read.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, datetime, timedelta, timezone

import pikepdf

from shared.forensics.models import Box, PdfForensics, Signature
from shared.forensics.pdf_pages import Target, analyse_pages
from shared.forensics.revisions import compare_first_version, compare_versions, revision_ends

log = logging.getLogger(__name__)

_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?'?")
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[")
_XMP_PRODUCER = re.compile(rb"<pdf:Producer>([^<]{0,200})</pdf:Producer>|pdf:Producer=\"([^\"]{0,200})\"")


def analyse_pdf(data: bytes, targets: list[Target] | None = None) -> PdfForensics:
    result = PdfForensics(size=len(data))
    ends = revision_ends(data)
    result.revisions = len(ends)
    result.signature_traces = len(_BYTE_RANGE.findall(data))
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            _metadata(pdf, data, result)
            result.signatures = _signatures(pdf, data)
            if len(ends) > 1:
                _step(result, "revisions", lambda: setattr(result, "diff", compare_first_version(data, ends, pdf)))
            _step(result, "signatures", lambda: _changes_after_signing(data, pdf, result))
    except pikepdf.PasswordError:
        result.warnings.append("encrypted: structure not analysed")
        return result
    except (pikepdf.PdfError, RecursionError, ValueError, OSError) as exc:
        result.warnings.append(f"structure unreadable: {type(exc).__name__}")
    _step(result, "pages", lambda: _pages(data, targets or [], result))
    return result


def _pages(data: bytes, targets: list[Target], result: PdfForensics) -> None:
    result.hidden, result.overprints, result.glyph_runs, result.crops = analyse_pages(data, targets)


def _step(result: PdfForensics, name: str, run: object) -> None:
    try:
        run()  # type: ignore[operator]
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # a parser's many error types on a damaged file: the other steps still count
        log.info("forensics step %s failed: %s", name, exc)
        result.warnings.append(f"{name} not analysed: {type(exc).__name__}")


def _metadata(pdf: pikepdf.Pdf, data: bytes, result: PdfForensics) -> None:
    try:
        info = pdf.docinfo
        result.producer = _text(info.get("/Producer"))
        result.creator = _text(info.get("/Creator"))
        result.created = _iso(parse_pdf_date(_text(info.get("/CreationDate"))))
        result.modified = _iso(parse_pdf_date(_text(info.get("/ModDate"))))
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError) as exc:
        result.warnings.append(f"document info unreadable: {type(exc).__name__}")
    match = _XMP_PRODUCER.search(data[-2_000_000:]) or _XMP_PRODUCER.search(data[:2_000_000])
    if match:
        result.xmp_producer = (match.group(1) or match.group(2) or b"").decode("utf-8", "replace").strip() or None


SIGNATURE_SLACK = 64  # bytes a writer may leave after the signed range (line ends, padding)


def _changes_after_signing(data: bytes, pdf: pikepdf.Pdf, result: PdfForensics) -> None:
    for signature in result.signatures:
        if signature.signed and 0 < signature.covers_to < len(data) - SIGNATURE_SLACK:
            signature.changed_after = compare_versions(data, signature.covers_to, pdf, 1, 2)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:200] or None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def parse_pdf_date(text: str | None) -> datetime | None:
    """``D:YYYYMMDDHHmmSSOHH'mm'`` (PDF 1.7 §7.9.4) as an aware datetime; None when unreadable."""
    if not text:
        return None
    match = _PDF_DATE.match(text.strip())
    if not match:
        return None
    parts = match.groups()
    try:
        year, month, day = int(parts[0]), int(parts[1] or 1), int(parts[2] or 1)
        hour, minute, second = int(parts[3] or 0), int(parts[4] or 0), int(parts[5] or 0)
        zone = UTC
        if parts[6] in ("+", "-"):
            offset = timedelta(hours=int(parts[7] or 0), minutes=int(parts[8] or 0))
            zone = timezone(offset if parts[6] == "+" else -offset)
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def _signatures(pdf: pikepdf.Pdf, data: bytes) -> list[Signature]:
    found: list[Signature] = []
    try:
        form = pdf.Root.get("/AcroForm")
        fields = list(form.get("/Fields", [])) if isinstance(form, pikepdf.Dictionary) else []
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError):
        return found
    stack = [(field, "") for field in fields]
    seen = 0
    while stack and seen < 500:
        field, parent = stack.pop()
        seen += 1
        if not isinstance(field, pikepdf.Dictionary):
            continue
        name = f"{parent}.{field.get('/T', '')}".strip(".")
        for kid in field.get("/Kids", []) if isinstance(field.get("/Kids"), pikepdf.Array) else []:
            stack.append((kid, name))
        if str(field.get("/FT", "")) != "/Sig":
            continue
        value = field.get("/V")
        if not isinstance(value, pikepdf.Dictionary):
            found.append(Signature(field=name, signed=False, file_size=len(data)))
            continue
        found.append(_signature(name, value, data))
    return found


def _signature(name: str, value: pikepdf.Dictionary, data: bytes) -> Signature:
    try:
        byte_range = [int(v) for v in value.get("/ByteRange", [])]
    except (TypeError, ValueError):
        byte_range = []
    signature = Signature(field=name, byte_range=byte_range, file_size=len(data))
    if len(byte_range) != 4:
        signature.well_formed = False
        return signature
    start, first, second, length = byte_range
    signature.covers_to = second + length
    hole = data[start + first : second].strip()
    signature.well_formed = (
        start == 0
        and 0 < first < second <= len(data)
        and hole.startswith(b"<")
        and hole.endswith(b">")
        and re.fullmatch(rb"<[0-9A-Fa-f\s]*>", hole) is not None
    )
    return signature


def targets_from_boxes(boxes: list[tuple[str, int | None, Box | None]]) -> list[Target]:
    """Extraction provenance (label, page, box) -> the places worth an OCR cross-check."""
    return [(label, page, box) for label, page, box in boxes if page is not None and box is not None]
