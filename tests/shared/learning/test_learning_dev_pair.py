"""Issue 6, measured on real documents: two invoices of one vendor from the dev set (ZUGFeRD samples of
"Au bon moulin", read through their text layer, not their XML). Template-free extraction misses the
buyer on both (an unlabelled billing block); a clerk corrects the first, Papyr learns, and the
second comes out right."""

from __future__ import annotations

import json
from pathlib import Path

from shared.adapters.local.sqlite import SqliteRepository
from shared.documents.content import DocumentContent
from shared.documents.loader import load_content
from shared.domain import Correction, DocumentRef, ExtractedField, InvoiceRecord, MailContext, Provenance, Source
from shared.evaluation.scoring import field_correct
from shared.extraction import extract
from shared.learning import apply_profile, learn_from

FIRST = "ZUGFeRDv2__correct__FNFE-factur-x-examples__Avoir_FR_type381_BASIC"
NEXT = "ZUGFeRDv2__correct__FNFE-factur-x-examples__Facture_DOM_BASICWL"
TAUGHT = ("buyer_name",)


def _text_path(folder: Path, stem: str) -> tuple[DocumentContent, dict[str, str]]:
    pdf = folder / f"{stem}.pdf"
    content = load_content(pdf.read_bytes(), pdf.name, "application/pdf", ocr=None)
    content.xml = None  # the embedded e-invoice would make this exact: read the page instead
    return content, json.loads((folder / f"{stem}.json").read_text())


def test_a_field_corrected_on_one_invoice_is_right_on_the_vendor_s_next(shared_data: Path, tmp_path: Path) -> None:
    repo = SqliteRepository(tmp_path / "papyr.sqlite3")
    first_content, first_label = _text_path(shared_data / "zugferd", FIRST)
    next_content, next_label = _text_path(shared_data / "zugferd", NEXT)
    first, before = extract(first_content), extract(next_content)
    for name in TAUGHT:  # wrong on both without learning
        assert not field_correct(name, first_label[name], first.value(name))
        assert not field_correct(name, next_label[name], before.value(name))
    assert first_label["buyer_name"] != next_label["buyer_name"]  # a per-invoice value, not a constant

    record = InvoiceRecord(
        id="1" * 64,
        document=DocumentRef(sha256="1" * 64, blob_name="documents/1.pdf", filename=f"{FIRST}.pdf",
                             content_type="application/pdf", size=1),
        extraction=first,
    )
    for name in TAUGHT:  # what the clerk does in the dashboard
        record.corrections.append(Correction(field=name, old_value=first.value(name), new_value=first_label[name],
                                             by="clerk"))
        first.fields[name] = ExtractedField(value=first_label[name], confidence=1.0,
                                            provenance=Provenance(source=Source.USER))
    learned = learn_from(record, repo, first_content)
    assert sorted(learned.positions) == sorted(TAUGHT)

    after = apply_profile(before, next_content, MailContext(), repo)

    for name in TAUGHT:
        assert field_correct(name, next_label[name], after.value(name)), (name, after.value(name))
        provenance = after.fields[name].provenance
        assert provenance.source is Source.TEXT and provenance.page == 1 and provenance.bbox is not None
    for name, value in next_label.items():  # and nothing that was right is made wrong
        if name in before.fields and field_correct(name, value, before.value(name)):
            assert field_correct(name, value, after.value(name)), name
