"""What the structural analysis of a PDF found, before it becomes findings (picklable, JSON-ready).

Boxes are (x0, top, x1, bottom) in PDF points, origin top-left, pages 1-based: the frame of
``DocumentContent`` and of finding evidence locations.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

Box = tuple[float, float, float, float]


def enclosing(a: Box, b: Box) -> Box:
    """The smallest box holding both."""
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def on_line(box: Box, word: Box) -> bool:
    """``box`` is on ``word``'s line: its centre is less than half ``word``'s height from ``word``'s."""
    return abs((box[1] + box[3]) / 2 - (word[1] + word[3]) / 2) < 0.5 * (word[3] - word[1])


class TextChange(BaseModel):
    """Words that appeared or disappeared on one page between two revisions."""

    page: int
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    boxes: list[Box] = Field(default_factory=list)  # where the added words are (final revision)


class RevisionDiff(BaseModel):
    """What one incremental update (or all of them together) changed on the pages."""

    from_revision: int  # 1-based, 1 = the file as first written
    to_revision: int
    objects: list[str] = Field(default_factory=list)  # kinds of objects rewritten: "page", "content", "annot"...
    pages_changed: list[int] = Field(default_factory=list)  # pages whose rendering differs
    changed_boxes: dict[int, list[Box]] = Field(default_factory=dict)  # page -> boxes of changed pixels
    text: list[TextChange] = Field(default_factory=list)
    page_count: tuple[int, int] = (0, 0)


class Signature(BaseModel):
    field: str
    byte_range: list[int] = Field(default_factory=list)
    covers_to: int = 0  # the last byte the signature covers
    file_size: int = 0
    well_formed: bool = True  # the ByteRange hole holds exactly the /Contents hex string
    signed: bool = True  # False: a signature field whose value is gone
    changed_after: RevisionDiff | None = None  # what later updates changed, when the signature does not cover the file


class CharRun(BaseModel):
    """A token (amount, IBAN) whose glyphs are not drawn alike."""

    page: int
    text: str
    box: Box
    fonts: list[str]
    sizes: list[float]
    reason: str  # "mixed_font", "mixed_size", "baseline", "font_differs"
    compared_with: str | None = None  # what the other amounts use


class HiddenText(BaseModel):
    """Text in the text layer that the rendered page does not show (covered, white, invisible)."""

    page: int
    text: str
    box: Box
    cause: str  # "covered", "white_text"
    cover: Box | None = None  # the shape drawn over it, if one was found


class Overprint(BaseModel):
    """Two different texts drawn at the same place: the top one is what a person sees. An
    annotation drawn over text counts too (``over`` then names the annotation)."""

    page: int
    under: str
    over: str
    box: Box


class RenderedCrop(BaseModel):
    """A key field's place: the text layer's words there and the rendered pixels (PNG), for OCR."""

    label: str
    page: int
    text: str
    box: Box
    png: bytes
    scale: float  # pixels per point


class PdfForensics(BaseModel):
    size: int = 0
    revisions: int = 1  # complete file versions (first write + incremental updates)
    producer: str | None = None
    creator: str | None = None
    created: str | None = None  # ISO 8601, when the dates parse
    modified: str | None = None
    xmp_producer: str | None = None
    diff: RevisionDiff | None = None  # first revision vs the final one, when there are several
    signatures: list[Signature] = Field(default_factory=list)
    signature_traces: int = 0  # signature dictionaries present in the bytes
    hidden: list[HiddenText] = Field(default_factory=list)
    overprints: list[Overprint] = Field(default_factory=list)
    glyph_runs: list[CharRun] = Field(default_factory=list)
    crops: list[RenderedCrop] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
