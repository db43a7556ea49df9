"""Per-vendor history: what this vendor's earlier invoices looked like, for the checks that compare
an invoice with the past (changed or first-seen bank account, near duplicates and rescans, amount and
cadence anomalies, first mail from a sender).

Stored as one small item per vendor (``repo.put_item("vendor_history", vendor_key, ...)``), updated
when an invoice is checked. Bounded: the newest ``MAX_INVOICES`` invoices and ``MAX_KNOWN`` accounts,
senders and domains. Idempotent: an invoice's entry is keyed by its id, so re-running the checks
replaces it instead of adding a second one.

Only what looked trustworthy becomes "known": an IBAN, sender or domain is added only when the
invoice that carried it raised no medium-or-worse finding about it, so one forged invoice does not
teach Papyr that the forger's account is the vendor's. (An approver's later approval does not add it
either; the vendor master is the place for a confirmed new account.)

Updates go through ``Repository.update_item`` (one SQLite write transaction; a Cosmos ETag compare
and retry), so invoices of one vendor checked at the same instant do not lose each other's entries.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from shared.checks.domains import mail_domain
from shared.documents.content import DocumentContent
from shared.domain import Extraction, Source, Vendor
from shared.domain.keys import invoice_number_key, vendor_key
from shared.extraction.normalize import compact
from shared.ports import Repository

KIND = "vendor_history"
MAX_INVOICES = 100
MAX_KNOWN = 50
_UP_TO_FIRST_SIGNIFICANT_DIGIT = re.compile(r"^[^1-9]+")
_NON_ALNUM = re.compile(r"[\W_]+")
_TOKEN = re.compile(r"[0-9A-Za-zÀ-ÿ]{2,}")


class HistoryInvoice(BaseModel):
    id: str
    number: str | None = None
    number_core: str = ""
    total: Decimal | None = None
    currency: str | None = None
    invoice_date: date | None = None
    received_at: datetime | None = None
    iban: str | None = None
    sender: str | None = None
    ocr: bool = False
    fingerprint: str | None = None  # 64-bit SimHash of the first page's words, hex


class VendorHistory(BaseModel):
    vendor_key: str
    invoices: list[HistoryInvoice] = Field(default_factory=list)
    ibans: list[str] = Field(default_factory=list)  # accounts seen on earlier, unflagged invoices
    senders: list[str] = Field(default_factory=list)  # addresses the vendor's invoices came from
    domains: list[str] = Field(default_factory=list)  # their domains

    def others(self, invoice_id: str) -> list[HistoryInvoice]:
        return [entry for entry in self.invoices if entry.id != invoice_id]


def number_core(number: str | None) -> str:
    """The invoice number without its formatting, prefix and leading zeros: separators dropped, then
    every letter and zero before the first significant digit. ``INV-001``, ``INV001`` and ``1`` → ``"1"``;
    ``00FA-2017-0009`` → ``"20170009"``; ``RE-2014/0501`` → ``"20140501"``; ``9314110911/00/M`` and
    ``931411091100M`` agree. Numbers without digits keep their key."""
    key = invoice_number_key(number)
    compact = _NON_ALNUM.sub("", unicodedata.normalize("NFKC", number or "")).upper()
    core = _UP_TO_FIRST_SIGNIFICANT_DIGIT.sub("", compact)
    if not core:
        return "0" if compact and compact[-1] == "0" else key
    return core


def history_key(extraction: Extraction, master: Vendor | None) -> str:
    """The vendor the history belongs to: the master entry's name when the vendor matched one (so
    spelling variants share one history), else the name read, else the VAT id."""
    if master is not None:
        return vendor_key(master.name)
    key = vendor_key(extraction.value("vendor_name"))
    if key:
        return key
    vat_id = extraction.value("vendor_vat_id")
    return f"vat:{compact(vat_id)}" if vat_id else ""


def load_history(repo: Repository, key: str) -> VendorHistory:
    data = repo.get_item(KIND, key) if key else None
    return VendorHistory.model_validate(data) if data else VendorHistory(vendor_key=key)


def entry_for(
    invoice_id: str,
    extraction: Extraction,
    *,
    received_at: datetime | None,
    sender: str | None,
    fingerprint: str | None,
) -> HistoryInvoice:
    money = extraction.money("total")
    iban = extraction.value("iban")
    return HistoryInvoice(
        id=invoice_id,
        number=extraction.value("invoice_number"),
        number_core=number_core(extraction.value("invoice_number")),
        total=money.amount if money else extraction.decimal("total"),
        currency=money.currency if money else extraction.value("currency"),
        invoice_date=extraction.date_value("invoice_date"),
        received_at=received_at,
        iban=compact(iban) if iban else None,
        sender=sender,
        ocr=extraction.method is Source.OCR,
        fingerprint=fingerprint,
    )


def remember(
    repo: Repository,
    key: str,
    entry: HistoryInvoice,
    *,
    trust_iban: bool,
    trust_sender: bool,
) -> None:
    """Add (or replace) this invoice in the vendor's stored history, atomically: two invoices of one
    vendor checked at the same moment both end up in it."""
    if not key:
        return

    def add(data: dict[str, Any] | None) -> dict[str, Any]:
        history = VendorHistory.model_validate(data) if data else VendorHistory(vendor_key=key)
        return _with_entry(history, entry, trust_iban=trust_iban, trust_sender=trust_sender).model_dump(mode="json")

    repo.update_item(KIND, key, add)


def _with_entry(
    history: VendorHistory, entry: HistoryInvoice, *, trust_iban: bool, trust_sender: bool
) -> VendorHistory:
    invoices = [e for e in history.invoices if e.id != entry.id] + [entry]
    invoices.sort(key=lambda e: (e.invoice_date or date.min, e.received_at.isoformat() if e.received_at else "", e.id))
    history.invoices = invoices[-MAX_INVOICES:]
    if trust_iban and entry.iban:
        history.ibans = _bounded_add(history.ibans, entry.iban)
    if trust_sender and entry.sender:
        history.senders = _bounded_add(history.senders, entry.sender)
        domain = mail_domain(entry.sender)
        if domain:
            history.domains = _bounded_add(history.domains, domain)
    return history


def _bounded_add(values: list[str], value: str) -> list[str]:
    if value in values:
        return values
    return [*values, value][-MAX_KNOWN:]


def text_fingerprint(content: DocumentContent | None) -> str | None:
    """A 64-bit SimHash of the first page's words: a re-scan of a document (OCR'd words, a few
    misread) lands within a few bits of the original's text layer, another invoice on the same
    template (other numbers, dates, lines) much further. None when the page has too few words."""
    if content is None or not content.pages:
        return None
    tokens = [token.upper() for token in _TOKEN.findall(content.pages[0].text)]
    if len(tokens) < 12:
        return None
    weights = [0] * 64
    for token in tokens:
        bits = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if bits >> bit & 1 else -1
    value = sum(1 << bit for bit in range(64) if weights[bit] > 0)
    return f"{value:016x}"


def fingerprint_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
