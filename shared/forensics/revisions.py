"""Incremental updates: the versions a PDF went through, and what the later ones changed.

A PDF edited by "save" in most editors keeps the original bytes and appends the changed objects, a
new cross-reference section and another ``%%EOF``. Cutting the file after each ``%%EOF`` gives each
version back; rendering and reading the first and the last version shows what was changed, where,
and which words appeared or disappeared. Legitimate updates (attaching the e-invoice XML, adding a
signature or metadata) change no pixel of the pages.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

import numpy as np
import pikepdf
import pypdfium2

from shared.documents.pdf_text import TextLayerUnreadable, read_text_pages
from shared.forensics.models import Box, RevisionDiff, TextChange

log = logging.getLogger(__name__)

_EOF = re.compile(rb"%%EOF[ \t]*(\r\n|\r|\n)?")
_OBJ = re.compile(rb"(?<![0-9])(\d{1,10})\s+(\d{1,5})\s+obj\b")
MAX_REVISIONS = 16  # a file with more versions is compared first-vs-last only, like any other
MAX_PAGES = 5  # pages compared between versions (invoices put amounts on the first pages)
RENDER_SCALE = 1.0  # 72 dpi: one pixel per point, so changed-pixel boxes are already in points
_INK_DELTA = 48  # grey levels: a smaller difference is anti-aliasing noise, not a change


def revision_ends(data: bytes) -> list[int]:
    """Byte offsets where each complete version of the file ends (the last is ``len(data)``)."""
    ends = [match.end() for match in _EOF.finditer(data)]
    if not ends:
        return [len(data)]
    if b"/Linearized" in data[:1024] and len(ends) > 1:
        ends = ends[1:]  # a linearized file's first %%EOF closes the first-page section, not a version
    if len(data) - ends[-1] > 64 or not ends:
        ends.append(len(data))  # bytes after the last %%EOF (damaged or sloppy writer): part of the last version
    else:
        ends[-1] = len(data)
    return ends[-MAX_REVISIONS:]


def rewritten_objects(data: bytes, start: int, end: int, pdf: pikepdf.Pdf) -> list[str]:
    """Kinds of the objects an update rewrote, as the final version sees them."""
    content_ids = _content_stream_ids(pdf)
    kinds: Counter[str] = Counter()
    for match in _OBJ.finditer(data, start, end):
        number, generation = int(match.group(1)), int(match.group(2))
        kinds[_kind(pdf, number, generation, content_ids)] += 1
    return [f"{kind} x{count}" if count > 1 else kind for kind, count in sorted(kinds.items())]


def _content_stream_ids(pdf: pikepdf.Pdf) -> set[int]:
    ids: set[int] = set()
    try:
        for index, page in enumerate(pdf.pages):
            if index >= MAX_PAGES:
                break
            contents = page.obj.get("/Contents")
            items = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
            ids.update(item.objgen[0] for item in items if item is not None and item.is_indirect)
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError, RecursionError):
        pass
    return ids


def _kind(pdf: pikepdf.Pdf, number: int, generation: int, content_ids: set[int]) -> str:
    if number in content_ids:
        return "page content"
    try:
        obj = pdf.get_object((number, generation))
        kind = str(obj.get("/Type", "")) if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) else ""
        subtype = str(obj.get("/Subtype", "")) if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) else ""
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError, RecursionError):
        return "other"
    names = {
        "/Page": "page",
        "/Pages": "page tree",
        "/Catalog": "catalog",
        "/Annot": "annotation",
        "/Sig": "signature",
        "/XRef": "cross-reference",
        "/ObjStm": "object stream",
        "/EmbeddedFile": "attached file",
        "/Filespec": "attached file",
        "/Metadata": "metadata",
        "/Font": "font",
        "/XObject": f"{subtype.lstrip('/').lower() or 'xobject'}",
    }
    if kind in names:
        return names[kind]
    if subtype in ("/Image", "/Form"):
        return subtype.lstrip("/").lower()
    if subtype in ("/Widget", "/FreeText", "/Stamp", "/Square", "/Text", "/Ink"):
        return "annotation"
    return "other"


def compare_first_version(data: bytes, ends: list[int], pdf: pikepdf.Pdf) -> RevisionDiff | None:
    """First complete version vs the final one: objects rewritten since, pixels and words changed."""
    first_index = _first_readable(data, ends)
    if first_index is None:
        return None
    return compare_versions(data, ends[first_index], pdf, first_index + 1, len(ends))


def compare_versions(
    data: bytes, first_end: int, pdf: pikepdf.Pdf, from_revision: int = 1, to_revision: int = 2
) -> RevisionDiff:
    """The version ending at ``first_end`` vs the whole file. Annotations are left out of the
    renderings: a signature's appearance or a reviewer's note is an annotation, not page content
    (annotations over amounts are checked on their own)."""
    objects = rewritten_objects(data, first_end, len(data), pdf)
    old_doc = pypdfium2.PdfDocument(data[:first_end])
    new_doc = pypdfium2.PdfDocument(data)
    try:
        old_pages, new_pages = len(old_doc), len(new_doc)
        changed: dict[int, list[Box]] = {}
        for index in range(min(old_pages, new_pages, MAX_PAGES)):
            boxes = _changed_boxes(_render(old_doc, index), _render(new_doc, index))
            if boxes:
                changed[index + 1] = boxes
    finally:
        old_doc.close()
        new_doc.close()
    text = _text_changes(data[:first_end], data, sorted(changed)) if changed else []
    return RevisionDiff(
        from_revision=from_revision,
        to_revision=to_revision,
        objects=objects,
        pages_changed=sorted(changed),
        changed_boxes=changed,
        text=text,
        page_count=(old_pages, new_pages),
    )


def _first_readable(data: bytes, ends: list[int]) -> int | None:
    for index, end in enumerate(ends[:-1]):
        try:
            document = pypdfium2.PdfDocument(data[:end])
        except pypdfium2.PdfiumError:
            continue
        try:
            if len(document) > 0:
                return index
        finally:
            document.close()
    return None


def _render(document: pypdfium2.PdfDocument, index: int) -> np.ndarray:
    page = document[index]
    try:
        width, height = page.get_size()
        scale = RENDER_SCALE if width * height < 4_000_000 else RENDER_SCALE * 2_000 / max(width, height)
        bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False, draw_annots=False)
        return np.asarray(bitmap.to_pil().convert("L"), dtype=np.int16)
    finally:
        page.close()


def _changed_boxes(old: np.ndarray, new: np.ndarray) -> list[Box]:
    """Boxes (points) around the pixels that differ between two renderings of a page."""
    import cv2

    if old.shape != new.shape:
        height, width = new.shape
        return [(0.0, 0.0, float(width), float(height))]
    mask = (np.abs(old - new) > _INK_DELTA).astype(np.uint8)
    if int(mask.sum()) < 3:
        return []
    mask = cv2.dilate(mask, np.ones((5, 9), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    boxes: list[Box] = []
    for label in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[label])
        boxes.append((float(x), float(y), float(x + w), float(y + h)))
    boxes.sort(key=lambda box: (box[1], box[0]))
    return boxes[:20]


def _text_changes(old: bytes, new: bytes, pages: list[int]) -> list[TextChange]:
    old_words = _words(old, pages)
    new_words = _words(new, pages)
    changes: list[TextChange] = []
    for page in pages:
        before = Counter(text for text, _ in old_words.get(page, []))
        after = Counter(text for text, _ in new_words.get(page, []))
        added = after - before
        removed = before - after
        if not added and not removed:
            continue
        boxes = [box for text, box in new_words.get(page, []) if text in added]
        changes.append(
            TextChange(page=page, added=sorted(added.elements()), removed=sorted(removed.elements()), boxes=boxes[:20])
        )
    return changes


def _words(data: bytes, pages: list[int]) -> dict[int, list[tuple[str, Box]]]:
    """Words per page of one PDF version, read the way the document itself is read."""
    try:
        read = read_text_pages(data, max(pages, default=0))
    except TextLayerUnreadable as exc:  # a damaged version: the pixel diff still stands
        log.info("words of a PDF version unreadable: %s", exc)
        return {}
    return {p.number: [(w.text, (w.x0, w.top, w.x1, w.bottom)) for w in p.words] for p in read if p.number in pages}
