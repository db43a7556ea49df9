"""Content sniffing by magic bytes: declared MIME types in mail are often wrong (octet-stream PDFs)."""

from __future__ import annotations

import re

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
XML = "application/xml"

# Root elements of the e-invoice syntaxes we read: UBL (Peppol BIS, XRechnung UBL), UN/CEFACT CII
# (ZUGFeRD 2.x, Factur-X, XRechnung CII) and ZUGFeRD 1.0.
EINVOICE_ROOTS: frozenset[str] = frozenset({"Invoice", "CreditNote", "CrossIndustryInvoice", "CrossIndustryDocument"})
# A Peppol envelope wraps the UBL document; it counts when an invoice element follows early on.
_ENVELOPE_ROOT = "StandardBusinessDocument"

_SNIFF_WINDOW = 64 * 1024
_PDF_WINDOW = 1024
_NAME = r"[A-Za-z_][\w.\-]*"
_ROOT_TAG = re.compile(rf"<(?:{_NAME}:)?({_NAME})")
_INNER_INVOICE = re.compile(rf"<(?:{_NAME}:)?(?:Invoice|CreditNote)[\s>/]")


def sniff_content_type(data: bytes, filename: str | None = None) -> str | None:
    """The real type of ``data`` from its first bytes: PDF, JPEG, PNG, TIFF or XML; None otherwise.

    ``filename`` is only a tie-breaker and never overrides the bytes; it is accepted so callers can
    pass what they have (a ``.xml`` name does not make HTML into XML).
    """
    del filename  # the bytes decide; kept in the signature for callers that have a name
    head = data[:_PDF_WINDOW]
    if b"%PDF" in head:
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if _looks_like_xml(data):
        return XML
    return None


def is_einvoice_xml(data: bytes) -> bool:
    """True when the root element is one of the e-invoice syntaxes (or a Peppol envelope around one)."""
    root = xml_root_name(data)
    if root in EINVOICE_ROOTS:
        return True
    if root == _ENVELOPE_ROOT:
        return _INNER_INVOICE.search(_decode_head(data)) is not None
    return False


def _looks_like_xml(data: bytes) -> bool:
    """An XML document, not an HTML fragment: an XML declaration, or a namespaced root that is not html."""
    root = xml_root_name(data)
    if root is None or root.lower() == "html":
        return False
    text = _decode_head(data).lstrip()
    if text.startswith("<?xml"):
        return True
    match = _ROOT_TAG.search(text)
    tag_end = text.find(">", match.start()) if match else -1
    return match is not None and "xmlns" in text[match.start() : tag_end if tag_end > 0 else None]


def xml_root_name(data: bytes) -> str | None:
    """Local name of the root element, read lexically from the first bytes.

    Nothing is parsed: no entities are expanded and no DTD is read, so hostile XML costs nothing here.
    Returns None when the bytes do not start like an XML document.
    """
    text = _decode_head(data)
    pos = 0
    end = len(text)
    while pos < end:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith("<?", pos):
            pos = _after(text, "?>", pos)
        elif text.startswith("<!--", pos):
            pos = _after(text, "-->", pos)
        elif text[pos : pos + 9].upper() == "<!DOCTYPE":
            pos = _after_doctype(text, pos)
        else:
            match = _ROOT_TAG.match(text, pos)
            return match.group(1) if match else None
        if pos < 0:
            return None
    return None


def _after(text: str, marker: str, start: int) -> int:
    found = text.find(marker, start)
    return found + len(marker) if found >= 0 else -1


def _after_doctype(text: str, start: int) -> int:
    """Position after a DOCTYPE, skipping an internal subset in [...] without interpreting it."""
    bracket = text.find("[", start)
    gt = text.find(">", start)
    if bracket != -1 and (gt == -1 or bracket < gt):
        close = text.find("]", bracket)
        if close < 0:
            return -1
        gt = text.find(">", close)
    return gt + 1 if gt >= 0 else -1


def _decode_head(data: bytes) -> str:
    head = data[:_SNIFF_WINDOW]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace").lstrip("\ufeff")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    # Element names we look for are ASCII; latin-1 never fails and keeps byte offsets.
    return head.decode("latin-1")
