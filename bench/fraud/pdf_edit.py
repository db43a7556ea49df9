"""How forgers edit a digital PDF's amount, done to clean invoices for the tampering benchmark.

* ``incremental_update``: the original bytes stay; changed objects, a cross-reference table and a
  trailer with ``/Prev`` are appended (what "Save" in Acrobat and most editors does);
* ``edit_digits_in_stream``: the amount's digits swapped inside the page's own content stream;
* ``overlay_commands``: a white box over the amount and the new amount drawn on top.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass

import pdfplumber
import pikepdf

_STARTXREF = re.compile(rb"startxref\s+(\d+)")


@dataclass(frozen=True)
class Amount:
    page: int  # 0-based
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    fontname: str
    page_height: float


def find_amount(data: bytes, wanted: str | None) -> Amount | None:
    """The last word on the first pages whose digits are the wanted value's (the total is printed
    last), else the last money-looking word of the first page."""
    digits = re.sub(r"\D", "", wanted or "")
    if wanted and "." in wanted and len(wanted.split(".")[1]) == 1:
        digits += "0"
    money = re.compile(r"^\d{1,3}([.,' ]?\d{3})*[.,]\d{2}$")
    fallback: Amount | None = None
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for index, page in enumerate(pdf.pages[:2]):
            best: Amount | None = None
            for word in page.extract_words(extra_attrs=["size", "fontname"]):
                text = word["text"].strip("€$£")
                if not money.match(text) and not (digits and text.isdigit() and len(text) >= 2):
                    continue
                amount = Amount(
                    index,
                    text,
                    word["x0"],
                    word["top"],
                    word["x1"],
                    word["bottom"],
                    word["size"],
                    word["fontname"],
                    float(page.height),
                )
                if index == 0 and money.match(text):
                    fallback = amount
                found = re.sub(r"\D", "", text)
                if digits and (found == digits or (digits.endswith("00") and found == digits[:-2])):
                    best = amount
            if best is not None:
                return best
    return fallback


def changed_amount(text: str, rng_digit: int) -> str:
    """The amount with its leading digit raised (1,234.50 -> 7,234.50): same length, same format."""
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch.isdigit():
            chars[i] = str((int(ch) + 1 + rng_digit % 8) % 10 or 9)
            break
    return "".join(chars)


def overlay_commands(amount: Amount, new_text: str, font: str, *, cover: bool = True, shift: float = 0.0) -> bytes:
    """Content-stream operators: a white box over the old amount, the new one right-aligned on top."""
    y_bottom = amount.page_height - amount.bottom
    height = amount.bottom - amount.top
    width = amount.x1 - amount.x0
    new_width = 0.556 * amount.size * len(new_text)  # Helvetica digits are 0.556 em wide
    x = amount.x1 - new_width + shift
    baseline = y_bottom + 0.22 * height
    parts = []
    if cover:
        parts.append(f"q 1 1 1 rg {amount.x0 - 1:.2f} {y_bottom - 1:.2f} {width + 2:.2f} {height + 2:.2f} re f Q")
    parts.append(f"q BT 0 0 0 rg /{font} {amount.size:.2f} Tf {x:.2f} {baseline:.2f} Td ({new_text}) Tj ET Q")
    return ("\n" + "\n".join(parts) + "\n").encode("latin-1")


def incremental_update(data: bytes, pdf: pikepdf.Pdf, changed: list[pikepdf.Object]) -> bytes:
    """``data`` plus an update section rewriting the given indirect objects (dictionaries or
    streams, already modified in ``pdf``), with a classic xref table chained by ``/Prev``."""
    matches = list(_STARTXREF.finditer(data))
    if not matches:
        raise ValueError("no startxref: not a PDF this generator can update")
    previous = int(matches[-1].group(1))
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets: dict[int, tuple[int, int]] = {}
    for obj in changed:
        number, generation = obj.objgen
        offsets[number] = (len(out), generation)
        out += f"{number} {generation} obj\n".encode()
        if isinstance(obj, pikepdf.Stream):
            raw = obj.read_bytes()
            body = zlib.compress(raw)
            out += f"<< /Length {len(body)} /Filter /FlateDecode >>\nstream\n".encode() + body + b"\nendstream"
        else:
            out += obj.unparse(resolved=True)
        out += b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n"
    for number in sorted(offsets):
        offset, generation = offsets[number]
        out += f"{number} 1\n{offset:010d} {generation:05d} n\r\n".encode()
    size = max(int(pdf.trailer.get("/Size", 0)), max(offsets) + 1)
    trailer = f"<< /Size {size} /Root {pdf.Root.objgen[0]} {pdf.Root.objgen[1]} R /Prev {previous}"
    if "/Info" in pdf.trailer and pdf.trailer.Info.is_indirect:
        trailer += f" /Info {pdf.trailer.Info.objgen[0]} {pdf.trailer.Info.objgen[1]} R"
    if "/ID" in pdf.trailer:
        trailer += " /ID " + pdf.trailer.ID.unparse().decode("latin-1")
    out += f"trailer\n{trailer} >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


def add_overlay(
    pdf: pikepdf.Pdf, amount: Amount, new_text: str, *, cover: bool = True, shift: float = 0.0
) -> list[pikepdf.Object]:
    """Draw the overlay on the page in ``pdf``; the objects it created or changed (page, stream, font)."""
    page = pdf.pages[amount.page]
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type1,
            BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )
    resources = page.obj.get("/Resources")
    resources = pikepdf.Dictionary(resources) if isinstance(resources, pikepdf.Dictionary) else pikepdf.Dictionary()
    fonts = resources.get("/Font")
    fonts = pikepdf.Dictionary(fonts) if isinstance(fonts, pikepdf.Dictionary) else pikepdf.Dictionary()
    fonts["/FPapyrEdit"] = font
    resources["/Font"] = fonts
    page.obj["/Resources"] = resources
    stream = pdf.make_stream(overlay_commands(amount, new_text, "FPapyrEdit", cover=cover, shift=shift))
    contents = page.obj.get("/Contents")
    items = list(contents) if isinstance(contents, pikepdf.Array) else ([contents] if contents is not None else [])
    # Wrap the original in q/Q so its graphics state cannot leak into the overlay.
    opening = pdf.make_stream(b"q\n")
    closing = pdf.make_stream(b"\nQ\n")
    page.obj["/Contents"] = pikepdf.Array([opening, *items, closing, stream])
    return [page.obj, opening, closing, stream, font]


def edit_digits_in_stream(pdf: pikepdf.Pdf, amount: Amount, new_text: str) -> list[pikepdf.Object] | None:
    """Replace the amount's characters inside a literal string of the page's content stream (works
    for simple fonts whose strings are plain text); None when the amount is not found there."""
    page = pdf.pages[amount.page]
    contents = page.obj.get("/Contents")
    items = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    old, new = amount.text.encode("latin-1"), new_text.encode("latin-1")
    for item in items:
        if not isinstance(item, pikepdf.Stream) or not item.is_indirect:
            continue
        raw = item.read_bytes()
        if raw.count(b"(" + old + b")") == 1:
            item.write(raw.replace(b"(" + old + b")", b"(" + new + b")"))
            return [item]
    return None
