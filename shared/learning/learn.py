"""What a clerk's corrections teach about the vendor: ``learn_from`` updates the vendor's profile.

Constant fields (name, VAT id, address, IBAN, BIC, currency) teach their value and the misread they
replaced; positional fields (number, dates, PO, amounts, buyer) teach where the corrected value is
printed on this layout, the words labelling it and its shape. Only a correction teaches: a field the
clerk left alone may be right or unnoticed, and guessing which would teach mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.documents.content import DocumentContent
from shared.domain import Correction, InvoiceRecord
from shared.domain.keys import vendor_key
from shared.extraction.normalize import compact
from shared.learning.identify import (
    SAME_LAYOUT,
    DocumentKeys,
    header_fingerprint,
    identify_vendor,
    sender_parts,
    similarity,
)
from shared.learning.locate import find_value, learn_position
from shared.learning.models import (
    CONSTANT_FIELDS,
    POSITIONAL_FIELDS,
    Layout,
    LearnedConstant,
    VendorProfile,
)
from shared.learning.store import ProfileStore
from shared.learning.values import same_value
from shared.ports.records import Repository

MAX_LAYOUTS = 8  # a vendor changes its template now and then; the oldest layouts are forgotten


@dataclass
class Learned:
    """What one ``learn_from`` did, for the audit trail."""

    profile: str | None  # the profile's key; None when there was nothing to learn
    changed: bool = False
    constants: list[str] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    not_located: list[str] = field(default_factory=list)  # corrected values not printed on the document


def _latest(corrections: list[Correction]) -> dict[str, Correction]:
    latest: dict[str, Correction] = {}
    for correction in corrections:  # in the order they were made: the last one stands
        if correction.field in CONSTANT_FIELDS or correction.field in POSITIONAL_FIELDS:
            latest[correction.field] = correction
    return latest


def learn_from(record: InvoiceRecord, repo: Repository, content: DocumentContent) -> Learned:
    """Teach the vendor's profile what the record's corrections show. ``content`` is the document's
    cached DocumentContent (where the corrected values are looked up). Learning the same record
    twice writes nothing the second time."""
    extraction = record.extraction
    corrections = _latest(record.corrections)
    if extraction is None or not corrections:
        return Learned(profile=None)
    store = ProfileStore(repo)
    mail = record.document.mail
    keys = DocumentKeys.of(content, mail, extraction)
    match = identify_vendor(keys, store.list())
    profile = match.profile if match else store.get(_new_key(record)) or VendorProfile(key=_new_key(record))
    learned = Learned(profile=profile.key)
    layout = _layout_for(profile, header_fingerprint(content))  # recorded even when no position is learned
    for name, correction in sorted(corrections.items()):
        if name in CONSTANT_FIELDS:
            _learn_constant(profile, record.id, correction)
            learned.constants.append(name)
            continue
        found = find_value(content, name, correction.new_value)
        if found is None:
            learned.not_located.append(name)
            continue
        layout.positions[name] = learn_position(found, name, record.id)
        learned.positions.append(name)
    _learn_identity(profile, record)
    profile.learned_from = sorted({*profile.learned_from, record.id})
    learned.changed = store.save(profile)
    return learned


def _new_key(record: InvoiceRecord) -> str:
    extraction = record.extraction
    name = vendor_key(extraction.value("vendor_name")) if extraction else ""
    if name:
        return name
    for field_name, prefix in (("vendor_vat_id", "vat"), ("iban", "iban")):
        value = extraction.value(field_name) if extraction else None
        if value:
            return f"{prefix}-{compact(value)}"
    sender, _ = sender_parts(record.document.mail)
    return f"sender-{sender}" if sender else f"document-{record.id[:16]}"


def _add(values: list[str], *new: str | None) -> list[str]:
    return sorted({*values, *(value for value in new if value)})


def _learn_identity(profile: VendorProfile, record: InvoiceRecord) -> None:
    extraction = record.extraction
    assert extraction is not None
    name = extraction.value("vendor_name")
    vat_id, iban = extraction.value("vendor_vat_id"), extraction.value("iban")
    sender, domain = sender_parts(record.document.mail)
    taught = profile.constants.get("vendor_name")
    profile.name = taught.value if taught else profile.name or name  # a taught name beats whatever was read
    profile.names = _add(profile.names, vendor_key(name))
    profile.vat_ids = _add(profile.vat_ids, compact(vat_id) if vat_id else None)
    profile.ibans = _add(profile.ibans, compact(iban) if iban else None)
    profile.senders = _add(profile.senders, sender)
    profile.domains = _add(profile.domains, domain)


def _learn_constant(profile: VendorProfile, invoice_id: str, correction: Correction) -> None:
    name, old = correction.field, correction.old_value
    known = profile.constants.get(name)
    misreads = known.misreads if known and same_value(name, known.value, correction.new_value) else []
    if old and not same_value(name, old, correction.new_value):
        misreads = _add(misreads, old)
        if name == "vendor_name":  # the misread name recognises the vendor next time it is misread alike
            profile.names = _add(profile.names, vendor_key(old))
    profile.constants[name] = LearnedConstant(value=correction.new_value, learned_from=invoice_id, misreads=misreads)


def _layout_for(profile: VendorProfile, fingerprint: list[str]) -> Layout:
    """The profile's layout this document shares, or a new one."""
    scored = [(similarity(fingerprint, layout.fingerprint), layout) for layout in profile.layouts]
    best = max(scored, key=lambda item: item[0], default=None)
    if best is not None and best[0] >= SAME_LAYOUT:
        return best[1]
    layout = Layout(fingerprint=fingerprint)
    profile.layouts = [*profile.layouts, layout][-MAX_LAYOUTS:]
    return layout
