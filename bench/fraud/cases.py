"""Labelled fraud cases built from one clean dev invoice (``../shared/data/{zugferd,invoice2data}``).

``generate(source, rng)`` returns the clean case (the dev PDF unchanged, mailed from the vendor's
domain) and tampered cases of five fraud types, each with the setup it needs: the vendor master,
history documents processed before it (three earlier monthly invoices of the vendor, mailed from the
vendor's domain, marked exported), purchase orders and receipts. Where the content must change (another
IBAN, number, date, amount or line), the document is re-rendered from the dev labels with the change
(``bench.fraud.render``); the sender cases mail the unchanged dev PDF from a spoofed sender.

Fraud types and their variants (one of each type per source, rotating; re-scans on a few sources):

- bank_change: IBAN differs from the vendor master; or the master has none and the IBAN differs from
  the one on the history's invoices.
- duplicate: number reformatted (``INV-`` prefix, zero padding, separators) with the date shifted 0-20
  days; re-scan (first page as a JPEG, read by OCR).
- sender_spoof: the vendor's display name on a free-mail address; edit-distance, homoglyph and punycode
  look-alike domains; Reply-To elsewhere; DMARC fail.
- anomaly: amount x5; tax rate above the country's highest; unknown vendor with 6,000 or more; an extra
  invoice 3 days after the last monthly one.
- po_mismatch: one line billed with +50 % quantity or +15 % unit price against a PO made from the labels.
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from bench.fraud.render import render_pdf
from shared.checks.tax_rates import valid_rates
from shared.domain import Vendor
from shared.domain.keys import vendor_key

CENT = Decimal("0.01")
FRAUD_TYPES = ("bank_change", "duplicate", "sender_spoof", "anomaly", "po_mismatch")
CODE_PREFIXES: dict[str, tuple[str, ...]] = {
    "bank_change": ("bank.",),
    "duplicate": ("duplicate.",),
    "sender_spoof": ("sender.",),
    "anomaly": ("anomaly.",),
    "po_mismatch": ("po.",),
}
AUTH_PASS = "mx.papyr.example; spf=pass smtp.mailfrom={d}; dkim=pass header.d={d}; dmarc=pass header.from={d}"
_IBAN_TEMPLATES = {
    "DE": "DE00370400440532013000",
    "NL": "NL00ABNA0417164300",
    "FR": "FR0020041010050500013002606",
    "GB": "GB00WEST12345698765432",
}
_SENDER_KINDS = ("display_name", "lookalike_edit", "homoglyph", "punycode", "reply_to", "dmarc_fail")
_ANOMALY_KINDS = ("amount_outlier", "tax_rate", "new_vendor_high_amount", "cadence")


@dataclass
class Doc:
    data: bytes
    filename: str


@dataclass
class Case:
    case_id: str
    fraud_type: str | None  # None: a clean document
    data: bytes
    filename: str
    variant: str = "clean"
    vendors: list[Vendor] = field(default_factory=list)
    history: list[Doc] = field(default_factory=list)
    purchase_orders: list[dict[str, str]] = field(default_factory=list)
    receipts: list[dict[str, str]] = field(default_factory=list)


def labels_of(source: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(source.with_suffix(".json").read_text(encoding="utf-8"))
    return data


def iban_for(country: str, rng: random.Random) -> str:
    """A valid IBAN (ISO 13616 check digits) of the country's format, with a random account."""
    template = _IBAN_TEMPLATES.get(country, _IBAN_TEMPLATES["DE"])
    bban = template[4:-6] + "".join(str(rng.randrange(10)) for _ in range(6))
    country_code = template[:2]
    digits = "".join(str(int(ch, 36)) for ch in bban + country_code + "00")
    return f"{country_code}{98 - int(digits) % 97:02d}{bban}"


def _country(labels: dict[str, Any]) -> str | None:
    prefix = str(labels.get("vendor_vat_id", ""))[:2].upper()
    return ("GR" if prefix == "EL" else prefix) if prefix.isalpha() else None


def _domain(labels: dict[str, Any]) -> str:
    return f"{vendor_key(labels.get('vendor_name')) or 'vendor'}.example"


def mail(
    doc: Doc,
    *,
    sender: str,
    name: str,
    when: date,
    reply_to: str | None = None,
    auth: str | None = None,
    message_id: str,
) -> Doc:
    message = EmailMessage()
    if auth:
        message["Authentication-Results"] = auth
    message["From"] = formataddr((name, sender))
    if reply_to:
        message["Reply-To"] = reply_to
    message["To"] = "ap@papyr.example"
    message["Subject"] = f"Invoice {doc.filename}"
    message["Date"] = format_datetime(_utc(when))
    message["Message-ID"] = f"<{message_id}@bench.papyr.example>"
    message.set_content("Please find our invoice attached.")
    maintype, subtype = ("image", "jpeg") if doc.filename.endswith(".jpg") else ("application", "pdf")
    message.add_attachment(doc.data, maintype=maintype, subtype=subtype, filename=doc.filename)
    return Doc(message.as_bytes(), f"{message_id}.eml")


def _utc(day: date) -> Any:
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def scaled(labels: dict[str, Any], factor: Decimal) -> dict[str, Any]:
    out = dict(labels)
    for key in ("subtotal", "tax", "total", "amount_due"):
        if out.get(key) not in (None, ""):
            out[key] = str((Decimal(out[key]) * factor).quantize(CENT, ROUND_HALF_UP))
    items = []
    for item in labels.get("line_items", []):
        item = dict(item)
        for key in ("unit_price", "amount"):
            if item.get(key):
                item[key] = str((Decimal(item[key]) * factor).quantize(CENT, ROUND_HALF_UP))
        items.append(item)
    out["line_items"] = items
    return out


def reformatted(number: str, rng: random.Random) -> str:
    """The same number as a person or another system would type it: prefix, zero padding, separators."""
    compact = "".join(ch for ch in number if ch.isalnum())
    options = [f"INV-{number}", f"No. 00{number}", compact if compact != number else f"{number[:3]}-{number[3:]}"]
    return rng.choice(options)


def _dated(labels: dict[str, Any]) -> date:
    return date.fromisoformat(labels.get("invoice_date") or "2024-01-15")


def generate(source: Path, rng: random.Random) -> list[Case]:
    labels = labels_of(source)
    if not labels.get("vendor_name"):
        return []  # no vendor: no one to impersonate and no history to compare with
    stem, country, domain = source.stem, _country(labels), _domain(labels)
    name = labels["vendor_name"]
    # The master and the history carry the account the labels give; a source whose labels name none keeps
    # none (its PDF may still print one, which the vendor master then simply does not know yet).
    iban = labels.get("iban")
    master = Vendor(name=name, vat_id=labels.get("vendor_vat_id"), iban=iban, email_domains=[domain], country=country)
    day = _dated(labels)
    sender = f"billing@{domain}"
    legit_auth = AUTH_PASS.format(d=domain)
    history = []
    for k, factor in ((3, "0.92"), (2, "1.04"), (1, "0.97")):
        old = scaled(labels, Decimal(factor))
        old.update(
            invoice_number=f"{labels.get('invoice_number', 'X')}-H{k}",
            iban=iban,
            po_number=None,
            invoice_date=(day - timedelta(days=30 * k)).isoformat(),
        )  # earlier orders, not this PO
        history.append(
            mail(
                Doc(render_pdf(old), f"{stem}-H{k}.pdf"),
                sender=sender,
                name=name,
                when=day - timedelta(days=30 * k),
                auth=legit_auth,
                message_id=f"{stem}-h{k}",
            )
        )
    original = Doc(source.read_bytes(), source.name)
    clean_mail = mail(original, sender=sender, name=name, when=day, auth=legit_auth, message_id=f"{stem}-clean")
    pos = _purchase_order(labels)

    def case(fraud_type: str | None, variant: str, doc: Doc, **setup: Any) -> Case:
        return Case(
            case_id=f"{stem}:{variant}",
            fraud_type=fraud_type,
            data=doc.data,
            filename=doc.filename,
            variant=variant,
            vendors=setup.get("vendors", [master]),
            history=setup.get("history", history),
            purchase_orders=setup.get("purchase_orders", pos),
            receipts=setup.get("receipts", []),
        )

    def rendered(changes: dict[str, Any], variant: str, *, when: date = day, base: dict[str, Any] | None = None) -> Doc:
        content = {**(base or labels), **changes}
        pdf = Doc(render_pdf(content), f"{stem}-{variant}.pdf")
        return mail(pdf, sender=sender, name=name, when=when, auth=legit_auth, message_id=f"{stem}-{variant}")

    cases = [case(None, "clean", clean_mail)]
    payable = labels.get("document_type") != "credit_note" and Decimal(labels.get("total") or 0) > 0
    if not payable:
        return cases  # credit notes, corrections, no amount: clean cases only (nothing paid out to divert)
    other_iban = iban_for(country or "DE", rng)
    if not iban:  # the master knows an account (entered by hand), the invoice shows another
        on_file = master.model_copy(update={"iban": iban_for(country or "DE", rng)})
        cases.append(
            case("bank_change", "iban_vs_master", rendered({"iban": other_iban}, "iban_vs_master"), vendors=[on_file])
        )
    elif rng.random() < 0.5:
        cases.append(case("bank_change", "iban_vs_master", rendered({"iban": other_iban}, "iban_vs_master")))
    else:
        no_iban = master.model_copy(update={"iban": None})
        cases.append(
            case("bank_change", "iban_vs_history", rendered({"iban": other_iban}, "iban_vs_history"), vendors=[no_iban])
        )
    shifted = day + timedelta(days=rng.randrange(0, 21))
    number = str(labels.get("invoice_number", "1"))
    cases.append(
        case(
            "duplicate",
            "reformatted_number",
            rendered(
                {"invoice_number": reformatted(number, rng), "invoice_date": shifted.isoformat(), "iban": iban},
                "reformatted_number",
                when=shifted,
            ),
            history=[*history, clean_mail],
        )
    )
    cases.append(
        _sender_case(case, original, _SENDER_KINDS[rng.randrange(len(_SENDER_KINDS))], name, domain, day, stem)
    )
    anomaly = _anomaly_case(case, rendered, labels, country, history, rng, iban)
    if anomaly is not None:
        cases.append(anomaly)
    if pos:
        cases.append(_po_case(case, rendered, labels, rng, iban))
    return cases


def rescan_case(source: Path, rng: random.Random) -> Case | None:
    """The dev PDF's first page as a greyscale JPEG (110 dpi), mailed after the original was processed."""
    cases = generate(source, rng)
    if not cases:
        return None
    clean = cases[0]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["pdftoppm", "-r", "110", "-gray", "-jpeg", "-f", "1", "-l", "1", str(source), f"{tmp}/scan"],
            check=True,
            capture_output=True,
        )
        jpeg = next(Path(tmp).glob("scan*.jpg")).read_bytes()
    labels = labels_of(source)
    domain = _domain(labels)
    scan = mail(
        Doc(jpeg, f"{source.stem}-scan.jpg"),
        sender=f"billing@{domain}",
        name=labels["vendor_name"],
        when=_dated(labels) + timedelta(days=40),
        auth=AUTH_PASS.format(d=domain),
        message_id=f"{source.stem}-rescan",
    )
    original = Doc(clean.data, clean.filename)
    return Case(
        case_id=f"{source.stem}:rescan",
        fraud_type="duplicate",
        data=scan.data,
        filename=scan.filename,
        variant="rescan",
        vendors=clean.vendors,
        history=[*clean.history, original],
        purchase_orders=clean.purchase_orders,
    )


def _sender_case(case: Any, original: Doc, kind: str, name: str, domain: str, day: date, stem: str) -> Case:
    label = domain.rsplit(".", 1)[0]
    auth = None
    reply_to = None
    sender = f"billing@{domain}"
    display = name
    if kind == "display_name":
        sender = f"{label[:12]}.accounts@gmail.com"
    elif kind == "lookalike_edit":
        swapped = label[:-2] + label[-1] + label[-2] if len(label) >= 5 else f"{label}-billing"
        sender = f"billing@{swapped if swapped != label else label + 's'}.example"
    elif kind == "homoglyph":  # one character swapped for one that looks the same
        swaps = [("o", "0"), ("l", "1"), ("m", "rn"), ("i", "1"), ("w", "vv"), ("e", "3")]
        glyphs = next((label.replace(a, b, 1) for a, b in swaps if a in label), f"{label}-pay")
        sender = f"billing@{glyphs}.example"
    elif kind == "punycode":
        cyrillic = label.replace("a", "а", 1) if "a" in label else label.replace("o", "о", 1).replace("e", "е", 1)
        puny = cyrillic.encode("idna").decode() if cyrillic != label else f"{label}-invoice"
        sender = f"billing@{puny}.example"
    elif kind == "reply_to":
        reply_to = f"{label[:12]}.payments@outlook.com"
    elif kind == "dmarc_fail":
        auth = f"mx.papyr.example; spf=fail smtp.mailfrom={domain}; dkim=none; dmarc=fail header.from={domain}"
    doc = mail(
        original, sender=sender, name=display, when=day, reply_to=reply_to, auth=auth, message_id=f"{stem}-{kind}"
    )
    built: Case = case("sender_spoof", f"sender_{kind}", doc)
    return built


def _anomaly_case(
    case: Any,
    rendered: Any,
    labels: dict[str, Any],
    country: str | None,
    history: list[Doc],
    rng: random.Random,
    iban: str,
) -> Case | None:
    kinds = list(_ANOMALY_KINDS)
    rng.shuffle(kinds)
    day = _dated(labels)
    number = f"{labels.get('invoice_number', 'X')}-A"
    for kind in kinds:
        if kind == "amount_outlier" and labels.get("total"):
            doc = rendered({**scaled(labels, Decimal(5)), "invoice_number": number, "iban": iban}, kind, base=labels)
            return case("anomaly", kind, doc)
        if kind == "tax_rate" and country and valid_rates(country) and labels.get("subtotal"):
            subtotal = Decimal(labels["subtotal"])
            if subtotal <= 0:
                continue
            rate = valid_rates(country)[-1] + 6  # type: ignore[index]
            tax = (subtotal * rate / 100).quantize(CENT)
            doc = rendered(
                {
                    "tax": str(tax),
                    "total": str(subtotal + tax),
                    "amount_due": str(subtotal + tax),
                    "invoice_number": number,
                    "iban": iban,
                },
                kind,
            )
            return case("anomaly", kind, doc)
        if kind == "new_vendor_high_amount" and labels.get("total") and Decimal(labels["total"]) > 0:
            factor = max(Decimal(1), (Decimal(6000) / Decimal(labels["total"])).quantize(Decimal("0.1")) + 1)
            doc = rendered({**scaled(labels, factor), "invoice_number": number, "iban": iban}, kind)
            return case("anomaly", kind, doc, vendors=[], history=[])
        if kind == "cadence":
            when = day - timedelta(days=27)  # three days after the last monthly history invoice
            doc = rendered(
                {
                    **scaled(labels, Decimal("1.1")),
                    "invoice_number": number,
                    "invoice_date": when.isoformat(),
                    "iban": iban,
                },
                kind,
                when=when,
            )
            return case("anomaly", kind, doc, history=history)
    return None


def _purchase_order(labels: dict[str, Any]) -> list[dict[str, str]]:
    items = labels.get("line_items", [])
    if not items or any(not i.get("quantity") or not i.get("unit_price") for i in items):
        return []
    if any(Decimal(i["quantity"]) <= 0 or Decimal(i["unit_price"]) < 0 for i in items):
        return []
    po = labels.get("po_number") or f"PO-{labels.get('invoice_number', '1')}"
    return [
        {
            "po_number": po,
            "vendor": labels["vendor_name"],
            "line": str(n),
            "description": i.get("description", ""),
            "quantity": i["quantity"],
            "unit_price": i["unit_price"],
            "currency": labels.get("currency", ""),
        }
        for n, i in enumerate(items, start=1)
    ]


def _po_case(case: Any, rendered: Any, labels: dict[str, Any], rng: random.Random, iban: str) -> Case:
    items = [dict(i) for i in labels["line_items"]]
    target = rng.randrange(len(items))
    item = items[target]
    if rng.random() < 0.5:
        variant = "po_quantity"
        item["quantity"] = str((Decimal(item["quantity"]) * Decimal("1.5")).quantize(Decimal(1), ROUND_HALF_UP) + 1)
    else:
        variant = "po_price"
        item["unit_price"] = str((Decimal(item["unit_price"]) * Decimal("1.15")).quantize(CENT) + CENT)
    item["amount"] = str((Decimal(item["quantity"]) * Decimal(item["unit_price"])).quantize(CENT))
    subtotal = sum((Decimal(i["amount"]) for i in items), Decimal(0))
    old_subtotal = Decimal(labels.get("subtotal") or subtotal)
    old_tax = Decimal(labels.get("tax") or 0)
    tax = (old_tax * subtotal / old_subtotal).quantize(CENT) if old_subtotal else old_tax
    po = _purchase_order(labels)[0]["po_number"]
    doc = rendered(
        {
            "line_items": items,
            "subtotal": str(subtotal),
            "tax": str(tax) if labels.get("tax") else None,
            "total": str(subtotal + tax),
            "amount_due": None,
            "po_number": po,
            "iban": iban,
            "invoice_number": f"{labels.get('invoice_number', 'X')}-P",
        },
        variant,
    )
    built: Case = case("po_mismatch", variant, doc)
    return built
