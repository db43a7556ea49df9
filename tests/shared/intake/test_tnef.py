"""TNEF (winmail.dat) extraction against MimeKit's expected outputs (names in *.list, bytes in <name>/)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from shared.intake import TnefError, extract_tnef
from shared.intake.tnef import is_tnef

TNEF_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "robustness" / "emails_mimekit" / "tnef"
BODY_FILES = {"message.rtf", "message.html", "message.txt"}
# Text fixtures were checked into MimeKit's git with LF line endings; the TNEF streams carry CRLF.
TEXT_SUFFIXES = (".htm", ".html", ".ini", ".dat", ".cfg")
# christmas.tnef attaches two embedded Outlook messages; MimeKit writes each as a placeholder text and
# the raw embedded stream, we open them and return the files inside instead.
EMBEDDED_MESSAGES = {
    "christmas": {"Untitled Attachment.1", "Untitled Attachment.2", "Untitled Attachment.3", "Untitled Attachment.4"}
}


def _payloads() -> list[Path]:
    return sorted(TNEF_DIR.glob("*.tnef"))


def _expected_files(stem: str) -> dict[str, bytes]:
    folder = TNEF_DIR / stem
    if not folder.is_dir():
        return {}
    skip = BODY_FILES | EMBEDDED_MESSAGES.get(stem, set())
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name not in skip}


def _by_expected_name(files: list[tuple[str, bytes]]) -> dict[str, bytes]:
    """MimeKit numbers repeated names ('Untitled Attachment.1', '.2'); do the same to compare."""
    counts: dict[str, int] = defaultdict(int)
    repeated = {name for name, _ in files if sum(1 for other, _ in files if other == name) > 1}
    out: dict[str, bytes] = {}
    for name, data in files:
        if name in repeated:
            counts[name] += 1
            name = f"{name}.{counts[name]}"
        out.setdefault(name, data)
    return out


@pytest.mark.parametrize("payload", _payloads(), ids=lambda p: p.stem)
def test_tnef_extraction_matches_mimekit_expected_bytes(payload: Path) -> None:
    files = extract_tnef(payload.read_bytes())
    got = _by_expected_name([(f.filename, f.data) for f in files if f.embedded_depth == 0])
    expected = _expected_files(payload.stem)
    for name, data in expected.items():
        assert name in got, f"{name} not extracted from {payload.name}; got {sorted(got)}"
        if name.lower().endswith(TEXT_SUFFIXES):
            assert got[name].replace(b"\r\n", b"\n") == data
        else:
            assert got[name] == data, f"{name}: {len(got[name])} bytes, expected {len(data)}"


@pytest.mark.parametrize("payload", _payloads(), ids=lambda p: p.stem)
def test_tnef_extraction_names_match_list_files(payload: Path) -> None:
    listed = [
        line.strip()
        for line in (TNEF_DIR / f"{payload.stem}.list").read_text().splitlines()
        if line.strip() and not line.strip().startswith("body.")
    ]
    if payload.stem in EMBEDDED_MESSAGES:
        listed = [name for name in listed if name != "Untitled Attachment"]
    names = [f.filename for f in extract_tnef(payload.read_bytes()) if f.embedded_depth == 0]
    assert sorted(names) == sorted(listed) or set(listed) <= set(names)


def test_pdf_inside_tnef_is_exact() -> None:
    files = extract_tnef((TNEF_DIR / "MAPI_ATTACH_DATA_OBJ.tnef").read_bytes())
    pdf = next(f for f in files if f.filename == "VIA_Nytt_1402.pdf")
    assert pdf.data == (TNEF_DIR / "MAPI_ATTACH_DATA_OBJ" / "VIA_Nytt_1402.pdf").read_bytes()
    assert pdf.data.startswith(b"%PDF")


def test_binary_attachments_keep_trailing_zero_bytes() -> None:
    # tnefparse alone strips trailing NULs from PR_ATTACH_DATA_OBJ; an OLE .doc must stay sector-aligned.
    files = extract_tnef((TNEF_DIR / "MAPI_ATTACH_DATA_OBJ.tnef").read_bytes())
    doc = next(f for f in files if f.filename == "VIA_Nytt_1402.doc")
    assert len(doc.data) % 512 == 0
    assert doc.data.endswith(b"\x00" * 16)


def test_embedded_messages_are_opened() -> None:
    files = extract_tnef((TNEF_DIR / "christmas.tnef").read_bytes())
    kitten = (TNEF_DIR / "christmas" / "kitten-playing-with-a-christmas-tree.jpg").read_bytes()
    assert [(f.filename, f.embedded_depth) for f in files] == [
        ("kitten-playing-with-a-christmas-tree.jpg", 0),
        ("kitten-playing-with-a-christmas-tree.jpg", 1),
    ]
    assert all(f.data == kitten for f in files)


def test_missing_filenames_fall_back_to_long_names() -> None:
    names = {f.filename for f in extract_tnef((TNEF_DIR / "missing-filenames.tnef").read_bytes())}
    assert names == {"generpts.src", "TechlibDEC99.doc", "TechlibDEC99-JAN00.doc", "TechlibNOV99.doc"}


@pytest.mark.parametrize("data", [b"", b"\x78\x9f\x3e\x22", b"\x78\x9f\x3e\x22" + b"\xff" * 40, b"not tnef at all"])
def test_garbage_raises_tnef_error_only(data: bytes) -> None:
    try:
        files = extract_tnef(data)
    except TnefError:
        return
    assert files == []


def test_is_tnef_by_magic_name_or_type() -> None:
    assert is_tnef((TNEF_DIR / "one-file.tnef").read_bytes())
    assert is_tnef(b"", "WINMAIL.DAT")
    assert is_tnef(b"", None, "application/ms-tnef")
    assert not is_tnef(b"%PDF-1.4", "invoice.pdf", "application/pdf")
