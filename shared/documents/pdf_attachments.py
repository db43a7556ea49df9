"""Find the e-invoice XML embedded in a hybrid PDF (ZUGFeRD / Factur-X / XRechnung / UBL).

Looked for where the standards put it and where producers actually put it: the EmbeddedFiles name
tree, the document's /AF (associated files, PDF/A-3) and file-attachment annotations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pikepdf

from shared.extraction.einvoice import detect_einvoice

log = logging.getLogger(__name__)

# The names the specifications prescribe (Factur-X / ZUGFeRD 2.x, ZUGFeRD 1.0, XRechnung).
KNOWN_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml")
MAX_EMBEDDED_BYTES = 20 * 1024 * 1024
_MAX_ANNOTATED_PAGES = 50


def find_einvoice(pdf: pikepdf.Pdf) -> tuple[str, bytes] | None:
    """(file name, XML bytes) of the embedded e-invoice, preferring the standard names."""
    candidates: list[tuple[str, bytes]] = []
    seen: set[bytes] = set()
    for name, data in _embedded_files(pdf):
        if not name.lower().endswith(".xml") or data in seen:
            continue
        seen.add(data)
        candidates.append((name, data))
    candidates.sort(key=lambda item: 0 if item[0].rsplit("/", 1)[-1].lower() in KNOWN_NAMES else 1)
    for name, data in candidates:
        if detect_einvoice(data) is not None:
            return name, data
    return None


def _embedded_files(pdf: pikepdf.Pdf) -> Iterator[tuple[str, bytes]]:
    root = pdf.Root
    sources: list[tuple[str, Callable[[], Iterator[Any]]]] = [
        ("EmbeddedFiles", lambda: _name_tree_specs(root)),
        ("AF", lambda: _array_specs(root.get("/AF"))),
        ("annotations", lambda: _annotation_specs(pdf)),
    ]
    for label, specs in sources:
        try:
            for spec in specs():
                file = _read_filespec(spec)
                if file is not None:
                    yield file
        except (pikepdf.PdfError, AttributeError, TypeError, ValueError, KeyError, RecursionError) as exc:
            log.info("embedded files (%s) unreadable: %s", label, exc)


def _name_tree_specs(root: Any) -> Iterator[Any]:
    names = root.get("/Names")
    if not isinstance(names, pikepdf.Dictionary) or "/EmbeddedFiles" not in names:
        return
    tree = pikepdf.NameTree(names.EmbeddedFiles)
    for _key, spec in tree.items():
        yield spec


def _array_specs(array: Any) -> Iterator[Any]:
    if isinstance(array, pikepdf.Array):
        yield from array


def _annotation_specs(pdf: pikepdf.Pdf) -> Iterator[Any]:
    for index, page in enumerate(pdf.pages):
        if index >= _MAX_ANNOTATED_PAGES:
            return
        for annotation in _array_specs(page.obj.get("/Annots")):
            if isinstance(annotation, pikepdf.Dictionary) and annotation.get("/Subtype") == "/FileAttachment":
                spec = annotation.get("/FS")
                if spec is not None:
                    yield spec


def _read_filespec(spec: Any) -> tuple[str, bytes] | None:
    if not isinstance(spec, pikepdf.Dictionary):
        return None
    name = _text(spec.get("/UF")) or _text(spec.get("/F")) or ""
    streams = spec.get("/EF")
    if not isinstance(streams, pikepdf.Dictionary):
        return None
    stream = streams.get("/UF") or streams.get("/F")
    if not isinstance(stream, pikepdf.Stream):
        return None
    params = stream.get("/Params")
    declared = params.get("/Size") if isinstance(params, pikepdf.Dictionary) else None
    if isinstance(declared, int | pikepdf.Object) and int(declared) > MAX_EMBEDDED_BYTES:
        return None
    data = stream.read_bytes()
    if len(data) > MAX_EMBEDDED_BYTES:
        return None
    return name, data


def _text(value: Any) -> str | None:
    if isinstance(value, pikepdf.String):
        return str(value)
    return None
