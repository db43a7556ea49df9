"""Which known vendor sent this document, decided before its extracted vendor name is trusted.

Evidence, each independent of the (possibly misread) name: the sender's address or domain, a VAT id
or IBAN of the profile printed anywhere on the document, and the header fingerprint (the words at the
top of page 1, without numbers, which change per invoice). The extracted name counts too, including
misreads a clerk corrected before. The best-scoring profile wins only when it is clearly ahead:
several vendors can share a VAT id in a group of companies, and a tie is no identification.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from shared.documents.content import DocumentContent
from shared.domain import Extraction, MailContext
from shared.domain.keys import vendor_key
from shared.extraction.normalize import compact
from shared.learning.models import VendorProfile

HEADER_SHARE = 0.3  # the top 30 % of page 1 carries the letterhead
MAX_FINGERPRINT = 80
SAME_LAYOUT = 0.5  # Jaccard similarity of fingerprints above which two documents share a layout

_WEIGHTS = {"sender": 3.0, "domain": 2.0, "vat_id": 3.0, "iban": 3.0, "name": 2.0, "header": 4.0}
MIN_SCORE = 3.5  # two independent keys, or a near-identical letterhead (a shared template is not a vendor)
MIN_LEAD = 1.0  # over the runner-up

# Shared mail services: a domain there says nothing about the vendor (the full address still does).
PUBLIC_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com yahoo.de icloud.com me.com "
    "aol.com gmx.de gmx.net gmx.com web.de t-online.de proton.me protonmail.com mail.com yandex.com orange.fr "
    "free.fr wanadoo.fr laposte.net libero.it".split()
)

_TOKEN = re.compile(r"[^\W\d_]{2,}")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def header_fingerprint(content: DocumentContent) -> list[str]:
    """Sorted distinct word tokens (letters only, folded) of the top of page 1."""
    if not content.pages:
        return []
    page = content.pages[0]
    limit = page.height * HEADER_SHARE
    tokens = {token for word in page.words if word.top < limit for token in _TOKEN.findall(_fold(word.text))}
    return sorted(tokens)[:MAX_FINGERPRINT]


def similarity(a: list[str], b: list[str]) -> float:
    """Jaccard similarity of two fingerprints."""
    left, right = set(a), set(b)
    return len(left & right) / len(left | right) if left or right else 0.0


def sender_parts(mail: MailContext | None) -> tuple[str | None, str | None]:
    """(address, domain) of the mail's sender, lower case; the domain is None for public mail services."""
    address = (mail.sender or "").strip().lower() if mail else ""
    if "@" not in address:
        return None, None
    domain = address.rsplit("@", 1)[1]
    return address, None if domain in PUBLIC_MAIL_DOMAINS else domain


@dataclass
class DocumentKeys:
    """What identifies a vendor on one document."""

    text: str  # all pages, compacted: VAT ids and IBANs are looked up in it
    fingerprint: list[str]
    sender: str | None
    domain: str | None
    name: str  # vendor key of the extracted name ("" when none)

    @classmethod
    def of(cls, content: DocumentContent, mail: MailContext | None, extraction: Extraction) -> DocumentKeys:
        sender, domain = sender_parts(mail)
        return cls(
            text=compact(content.text),
            fingerprint=header_fingerprint(content),
            sender=sender,
            domain=domain,
            name=vendor_key(extraction.value("vendor_name")),
        )


@dataclass
class VendorMatch:
    profile: VendorProfile
    score: float
    evidence: list[str] = field(default_factory=list)
    header: float = 0.0  # best fingerprint similarity


def _score(profile: VendorProfile, keys: DocumentKeys) -> VendorMatch:
    match = VendorMatch(profile=profile, score=0.0)

    def add(kind: str, share: float = 1.0) -> None:
        match.score += _WEIGHTS[kind] * share
        match.evidence.append(kind)

    if keys.sender and keys.sender in profile.senders:
        add("sender")
    elif keys.domain and keys.domain in profile.domains:
        add("domain")
    if any(vat and vat in keys.text for vat in profile.vat_ids):
        add("vat_id")
    if any(iban and iban in keys.text for iban in profile.ibans):
        add("iban")
    if keys.name and keys.name in profile.names:
        add("name")
    match.header = max((similarity(keys.fingerprint, layout.fingerprint) for layout in profile.layouts), default=0.0)
    if match.header >= SAME_LAYOUT:
        add("header", match.header)
    return match


def identify_vendor(keys: DocumentKeys, profiles: list[VendorProfile]) -> VendorMatch | None:
    """The profile the document belongs to, or None when no profile is clearly indicated."""
    scored = sorted((_score(profile, keys) for profile in profiles), key=lambda m: (-m.score, -m.header))
    if not scored or scored[0].score < MIN_SCORE:
        return None
    if len(scored) > 1 and scored[0].score - scored[1].score < MIN_LEAD:
        return None
    return scored[0]
