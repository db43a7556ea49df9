"""What the final version of a PDF draws, compared with what its text layer says.

* hidden text: words in the text layer whose place on the rendered page is flat (a white box drawn
  over them, white text, invisible text) — how a covered amount looks from the inside;
* overprints: two different texts drawn on the same spot (the later one is what a person sees);
* glyph runs: an amount whose digits do not share one font, size and baseline, or whose font no
  other amount on the page uses — the trace of digits typed in by an editor;
* crops of the places the extractor read key fields from, rendered for OCR in the worker.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from typing import Any

import numpy as np
import pdfplumber
import pypdfium2

from shared.forensics.models import Box, CharRun, HiddenText, Overprint, RenderedCrop, enclosing
from shared.forensics.tokens import is_amount

RENDER_SCALE = 2.0  # 144 dpi: an 8 pt glyph is ~16 px high, enough to tell a glyph from a flat area
CROP_SCALE = 3.0  # OCR crops: ~216 dpi
MAX_PAGES = 3
MIN_SIZE = 3.0  # points: smaller text (hidden markers, microprint) is not judged
MAX_CHARS = 20_000  # per page; a page with more is not an invoice page worth this analysis
_FLAT = 40  # grey-level range under which a glyph's box shows nothing
_SUBSET = re.compile(r"^[A-Z]{6}\+")
_STYLE = re.compile(r"[-,]?(bold|italic|oblique|regular|medium|light|semibold|black|mt|ps|roman|book)+$", re.I)

Target = tuple[str, int, Box]  # label, page, box


def analyse_pages(
    data: bytes, targets: list[Target]
) -> tuple[list[HiddenText], list[Overprint], list[CharRun], list[RenderedCrop]]:
    hidden: list[HiddenText] = []
    overprints: list[Overprint] = []
    runs: list[CharRun] = []
    crops: list[RenderedCrop] = []
    document = pypdfium2.PdfDocument(data)
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for index, page in enumerate(pdf.pages[:MAX_PAGES]):
                chars = [c for c in page.chars if c["text"].strip() and float(c.get("size") or 0) >= MIN_SIZE]
                if not chars or len(chars) > MAX_CHARS:
                    continue
                number = index + 1
                grey = _render(document, index, RENDER_SCALE)
                hidden += _hidden_words(page, number, grey)
                overprints += _overprints(chars, number) + _annotations_over_amounts(page, number)
                runs += _glyph_runs(page, number)
            for label, number, box in targets:
                if 1 <= number <= min(len(document), len(pdf.pages), MAX_PAGES):
                    crops.append(_crop(document, pdf.pages[number - 1], number, box, label))
    finally:
        document.close()
    return hidden, overprints, runs, crops


def _render(document: pypdfium2.PdfDocument, index: int, scale: float) -> np.ndarray:
    page = document[index]
    try:
        width, height = page.get_size()
        if width * height * scale * scale > 40_000_000:
            scale = (40_000_000 / (width * height)) ** 0.5
        bitmap = page.render(scale=scale, grayscale=True, draw_annots=True)
        return np.asarray(bitmap.to_pil().convert("L"), dtype=np.uint8)
    finally:
        page.close()


def _pixels(grey: np.ndarray, box: Box, width: float) -> np.ndarray:
    scale = grey.shape[1] / width if width else RENDER_SCALE
    x0, top, x1, bottom = (max(0, round(v * scale)) for v in box)
    return grey[top : max(top + 1, bottom), x0 : max(x0 + 1, x1)]


def _is_white(color: Any) -> bool:
    if color is None:
        return False
    values = color if isinstance(color, tuple | list) else (color,)
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return False
    if len(numbers) == 4:  # CMYK: white is no ink at all
        return all(v <= 0.05 for v in numbers)
    return bool(numbers) and all(v >= 0.95 for v in numbers)


def _hidden_words(page: Any, number: int, grey: np.ndarray) -> list[HiddenText]:
    found: list[HiddenText] = []
    for word in page.extract_words(return_chars=True, use_text_flow=True):
        chars = [c for c in word["chars"] if c["text"].strip() and float(c.get("size") or 0) >= MIN_SIZE]
        if not chars:
            continue
        flat = white = 0
        for char in chars:
            region = _pixels(grey, (char["x0"], char["top"], char["x1"], char["bottom"]), float(page.width))
            if region.size and int(region.max()) - int(region.min()) < _FLAT:
                flat += 1
                white += _is_white(char.get("non_stroking_color"))
        if flat < max(1, 0.6 * len(chars)):
            continue
        box = (float(word["x0"]), float(word["top"]), float(word["x1"]), float(word["bottom"]))
        cause = "white_text" if white >= flat / 2 else "covered"
        found.append(HiddenText(page=number, text=word["text"], box=box, cause=cause, cover=_cover(page, box)))
    return found


def _cover(page: Any, box: Box) -> Box | None:
    """The filled shape or image drawn over a box, if there is one."""
    for shape in [*page.rects, *page.images]:
        if shape.get("object_type") == "rect" and not shape.get("fill"):
            continue
        candidate = (float(shape["x0"]), float(shape["top"]), float(shape["x1"]), float(shape["bottom"]))
        if _overlap(candidate, box) >= 0.6:
            return candidate
    return None


def _overlap(a: Box, b: Box) -> float:
    """Intersection as a share of the smaller box."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller if smaller > 0 else 0.0


def _overprints(chars: list[dict[str, Any]], number: int) -> list[Overprint]:
    """Pairs of different glyphs on the same spot, grouped per place; chars are in drawing order."""
    boxes = np.array([[c["x0"], c["top"], c["x1"], c["bottom"]] for c in chars], dtype=float)
    order = np.argsort(boxes[:, 0])
    clashes: list[tuple[int, int]] = []
    for position, i in enumerate(order):
        for j in order[position + 1 :]:
            if boxes[j, 0] >= boxes[i, 2]:
                break
            a, b = chars[i], chars[j]
            if _overlap(tuple(boxes[i]), tuple(boxes[j])) < 0.5:
                continue
            same_glyph = a["text"] == b["text"] and _family(a["fontname"]) == _family(b["fontname"])
            if not same_glyph:  # the same glyph twice is fake bold or a shadow, not an overprint
                clashes.append((min(i, j), max(i, j)))
    if not clashes:
        return []
    groups: list[tuple[Box, set[int], set[int]]] = []
    for under, over in clashes:
        box = enclosing(tuple(boxes[under]), tuple(boxes[over]))
        for k, (group_box, unders, overs) in enumerate(groups):
            near = abs(group_box[1] - box[1]) < 3 and box[0] <= group_box[2] + 12 and box[2] >= group_box[0] - 12
            if near:
                groups[k] = (enclosing(group_box, box), unders | {under}, overs | {over})
                break
        else:
            groups.append((box, {under}, {over}))
    found: list[Overprint] = []
    for box, unders, _overs in groups:
        # Layers by drawing order: everything up to the last overprinted glyph is below.
        last_under = max(unders)
        inside = [k for k in range(len(chars)) if _overlap(tuple(boxes[k]), box) >= 0.5]
        below = _grow([k for k in inside if k <= last_under], boxes, lambda k, cut=last_under: k <= cut)
        above = _grow([k for k in inside if k > last_under], boxes, lambda k, cut=last_under: k > cut)
        found.append(
            Overprint(
                page=number,
                under="".join(chars[k]["text"] for k in below) or "".join(chars[k]["text"] for k in sorted(unders)),
                over="".join(chars[k]["text"] for k in above),
                box=box,
            )
        )
    return found


def _grow(chosen: list[int], boxes: np.ndarray, same_layer: Any) -> list[int]:
    """Extend a run of glyphs to its neighbours on the line (drawn in the same layer), so a
    reported text is the whole word even where only part of it overlaps."""
    members = set(chosen)
    for _ in range(64):
        if not members:
            break
        x0 = min(boxes[k, 0] for k in members)
        x1 = max(boxes[k, 2] for k in members)
        top = float(np.median([boxes[k, 1] for k in members]))
        near = [
            k
            for k in range(len(boxes))
            if k not in members
            and same_layer(k)
            and abs(boxes[k, 1] - top) < 1.5
            and boxes[k, 2] >= x0 - 1.5
            and boxes[k, 0] <= x1 + 1.5
        ]
        if not near:
            break
        members.update(near)
    return sorted(members, key=lambda k: boxes[k, 0])


def _annotations_over_amounts(page: Any, number: int) -> list[Overprint]:
    """Annotations (a FreeText box, a stamp, a square) drawn over an amount: what a person sees
    there is the annotation, while the text layer keeps the original."""
    found: list[Overprint] = []
    try:
        annots = [a for a in page.annots if (a.get("data") or {}).get("Subtype") is not None][:200]
    except (KeyError, TypeError, ValueError):  # a malformed /Rect: nothing to place
        return found
    if not annots:
        return found
    amounts = [w for w in page.extract_words() if is_amount(w["text"])]
    for annot in annots:
        raw = annot["data"].get("Subtype")
        subtype = str(getattr(raw, "name", raw)).lstrip("/")
        if subtype in ("Link", "Widget", "Popup"):
            continue
        box = (float(annot["x0"]), float(annot["top"]), float(annot["x1"]), float(annot["bottom"]))
        for word in amounts:
            word_box = (float(word["x0"]), float(word["top"]), float(word["x1"]), float(word["bottom"]))
            if _overlap(box, word_box) >= 0.5:
                contents = str(annot.get("contents") or "").strip()[:80]
                over = f"{subtype} annotation" + (f": {contents}" if contents else "")
                found.append(Overprint(page=number, under=word["text"], over=over, box=enclosing(box, word_box)))
    return found


def _family(fontname: str) -> str:
    name = _SUBSET.sub("", fontname or "")
    previous = None
    while previous != name:
        previous, name = name, _STYLE.sub("", name)
    return name.lower().replace(" ", "")


def _glyph_runs(page: Any, number: int) -> list[CharRun]:
    amounts: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for word in page.extract_words(return_chars=True, keep_blank_chars=False):
        if is_amount(word["text"]):
            amounts.append((word, [c for c in word["chars"] if c["text"].strip()]))
    runs: list[CharRun] = []
    families = Counter(_family(chars[0]["fontname"]) for _, chars in amounts if chars)
    for word, chars in amounts:
        digits = [c for c in chars if c["text"].isdigit()]
        if not digits:
            continue
        fonts = sorted({_SUBSET.sub("", c["fontname"]) for c in digits})
        sizes = sorted({round(float(c["size"]), 1) for c in digits})
        baselines = [float(c["bottom"]) for c in digits]
        box = (float(word["x0"]), float(word["top"]), float(word["x1"]), float(word["bottom"]))
        reason = None
        compared_with = None
        if len({_family(f) for f in fonts}) > 1:
            reason = "mixed_font"
        elif sizes[-1] - sizes[0] > 0.3:
            reason = "mixed_size"
        elif max(baselines) - min(baselines) > 0.8:
            reason = "baseline"
        else:
            own = _family(chars[0]["fontname"])
            others = families - Counter({own: families[own]})
            total_others = sum(others.values())
            if families[own] == 1 and total_others >= 3:
                reason = "font_differs"
                compared_with = ", ".join(name for name, _ in others.most_common(2))
        if reason:
            runs.append(
                CharRun(
                    page=number,
                    text=word["text"],
                    box=box,
                    fonts=fonts,
                    sizes=sizes,
                    reason=reason,
                    compared_with=compared_with,
                )
            )
    return runs


def _crop(document: pypdfium2.PdfDocument, plumber_page: Any, number: int, box: Box, label: str) -> RenderedCrop:
    """The rendered place of a key field, and the text layer's words there."""
    page = document[number - 1]
    try:
        width, height = page.get_size()
        pad_x, pad_y = 6.0, 3.0
        x0, top = max(0.0, box[0] - pad_x), max(0.0, box[1] - pad_y)
        x1, bottom = min(width, box[2] + pad_x), min(height, box[3] + pad_y)
        bitmap = page.render(
            scale=CROP_SCALE,
            grayscale=True,
            crop=(x0, height - bottom, width - x1, top),  # left, bottom, right, top margins in points
        )
        buffer = io.BytesIO()
        bitmap.to_pil().convert("L").save(buffer, format="PNG")
    finally:
        page.close()
    words = plumber_page.within_bbox((x0, top, x1, bottom), relative=False, strict=False).extract_words()
    return RenderedCrop(
        label=label,
        page=number,
        text=" ".join(w["text"] for w in words),
        box=(x0, top, x1, bottom),
        png=buffer.getvalue(),
        scale=CROP_SCALE,
    )
