"""parse_message over the real robustness corpora: never raises, and finds the PDFs they are known to carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.intake import ParsedMessage, parse_message

ROBUSTNESS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "robustness"
CORPUS = sorted(
    [
        *(ROBUSTNESS / "emails_mailparser" / "mails").iterdir(),
        *(ROBUSTNESS / "emails_mimekit" / "messages").iterdir(),
        *(ROBUSTNESS / "emails_mimekit" / "partial").iterdir(),
        *(ROBUSTNESS / "emails_mimekit" / "tnef").glob("*.eml"),
    ]
)
# From emails_mailparser/SOURCE.md and INVENTORY.tsv: the PDF attachments each message carries.
KNOWN_PDFS = {
    "mail_test_2.eml": ["Bollettino.pdf"],  # sent as application/octet-stream
    "mail_test_10.eml": ["Move To Eight ZWEP6227F.pdf"],  # application/octet-stream
    "mail_test_7.eml": ["20170609091403417.pdf"],
}


def test_corpus_is_present() -> None:
    assert len(CORPUS) >= 19 + 32 + 7 + 2


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parse_never_raises(path: Path) -> None:
    parsed = parse_message(path.read_bytes(), mailbox="robustness@test")
    assert isinstance(parsed, ParsedMessage)
    assert parsed.mail.message_id
    assert parsed.mail.received_at is None or parsed.mail.received_at.tzinfo is not None
    # Nothing silently dropped: every message yields carriers, skipped parts or errors.
    assert parsed.carriers or parsed.skipped or parsed.errors
    parsed.model_dump_json()
    pdfs = [c for c in parsed.carriers if c.content_type == "application/pdf"]
    assert all(c.data[:1024].find(b"%PDF") >= 0 for c in pdfs)
    assert sorted(c.filename for c in pdfs) == sorted(KNOWN_PDFS.get(path.name, []))


def test_malformed_mime_is_reported() -> None:
    parsed = parse_message((ROBUSTNESS / "emails_mailparser" / "mails" / "mail_malformed_1.eml").read_bytes())
    assert any(e.startswith("MIME defect:") for e in parsed.errors)


def test_tnef_message_yields_its_attachment() -> None:
    tnef = ROBUSTNESS / "emails_mimekit" / "tnef"
    parsed = parse_message((tnef / "rich-text.eml").read_bytes())
    kitten = (tnef / "christmas" / "kitten-playing-with-a-christmas-tree.jpg").read_bytes()
    assert [(c.filename, c.origin, c.data == kitten) for c in parsed.carriers] == [
        ("kitten-playing-with-a-christmas-tree.jpg", "tnef", True)
    ]


def test_reassembled_partial_message_carries_the_image() -> None:
    parsed = parse_message((ROBUSTNESS / "emails_mimekit" / "partial" / "message-partial.eml").read_bytes())
    assert [(c.filename, c.content_type) for c in parsed.carriers] == [("earrings.jpg", "image/jpeg")]
    fragment = parse_message((ROBUSTNESS / "emails_mimekit" / "partial" / "message-partial.0.eml").read_bytes())
    assert fragment.carriers == []
    assert [s.reason for s in fragment.skipped] == ["fragment of a split message (message/partial)"]


def test_spam_logos_are_skipped_but_pdf_found() -> None:
    parsed = parse_message((ROBUSTNESS / "emails_mailparser" / "mails" / "mail_test_2.eml").read_bytes())
    logos = {s.filename for s in parsed.skipped if "logo" in s.reason}
    assert logos == {"intestazione.jpg", "logometeo.jpg"}
