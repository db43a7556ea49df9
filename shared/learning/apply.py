"""The vendor's profile applied to its next invoice, after template-free extraction.

Per-invoice values are read again where the vendor's layout prints them (from this document's own
words, with their page and box). Constant values a clerk taught replace a known misread, a
low-confidence value, or a value that disagrees while the taught one is printed on the page. Bank
details are never replaced: a different IBAN on the page is exactly what the fraud checks must see,
so the taught one is filled in only when extraction found none and the page shows no other.
"""

from __future__ import annotations

from shared.documents.content import DocumentContent
from shared.domain import ExtractedField, Extraction, ExtractionStatus, MailContext, Provenance, Source
from shared.extraction.normalize import compact, iban_is_valid, normalize_iban
from shared.learning.identify import SAME_LAYOUT, DocumentKeys, identify_vendor, similarity
from shared.learning.locate import PageLines, locate_text, reread, runs
from shared.learning.models import Layout, LearnedConstant, VendorProfile
from shared.learning.store import ProfileStore
from shared.learning.values import same_value
from shared.ports.records import Repository

LOW_CONFIDENCE = 0.8  # below this an extracted value is a guess the profile may replace
PRINTED = 0.9  # a taught value found printed on this document
KNOWN_MISREAD = 0.7  # a taught value replacing a misread it corrected before (not printed here)
NOT_PRINTED = 0.6  # a taught value filled in although this document does not print it
BANK_FIELDS = frozenset({"iban", "bic"})
IBAN_WORDS = 9  # "DE89 3704 0044 0532 0130 00" and longer


def apply_profile(
    extraction: Extraction, content: DocumentContent, mail: MailContext | None, repo: Repository
) -> Extraction:
    """The extraction with the vendor profile's lessons applied (a copy); unchanged when the document
    matches no profile, was read from e-invoice XML (exact), or was rejected."""
    if extraction.status is not ExtractionStatus.OK or extraction.method is Source.XML:
        return extraction
    profiles = ProfileStore(repo).list()
    if not profiles:
        return extraction
    keys = DocumentKeys.of(content, mail, extraction)
    match = identify_vendor(keys, profiles)
    if match is None:
        return extraction
    result = extraction.model_copy(deep=True)
    notes = _apply_constants(result, content, match.profile)
    layout = _layout(match.profile, keys.fingerprint)
    if layout is not None:
        notes.extend(_apply_positions(result, content, layout))
    if notes:
        result.warnings.append(
            f"vendor profile {match.profile.key!r} (recognised by {', '.join(match.evidence)}): {'; '.join(notes)}"
        )
    return result


def _layout(profile: VendorProfile, fingerprint: list[str]) -> Layout | None:
    scored = [(similarity(fingerprint, layout.fingerprint), layout) for layout in profile.layouts]
    best = max(scored, key=lambda item: item[0], default=None)
    return best[1] if best is not None and best[0] >= SAME_LAYOUT else None


def _apply_positions(result: Extraction, content: DocumentContent, layout: Layout) -> list[str]:
    notes: list[str] = []
    lines = PageLines()
    for name, position in sorted(layout.positions.items()):
        found = reread(content, name, position, lines)
        if found is None:
            continue
        current = result.fields.get(name)
        if current is not None and same_value(name, current.value, found.value):
            if found.confidence > current.confidence:
                result.fields[name] = current.model_copy(update={"confidence": found.confidence})
            continue
        result.fields[name] = ExtractedField(
            value=found.value, confidence=found.confidence, provenance=found.provenance
        )
        notes.append(f"{name} read at the learned place" + (f" (was {current.value!r})" if current else ""))
    return notes


def _apply_constants(result: Extraction, content: DocumentContent, profile: VendorProfile) -> list[str]:
    notes: list[str] = []
    # the IBAN before the BIC: whether a BIC may be filled depends on the account
    for name, taught in sorted(profile.constants.items(), key=lambda item: (item[0] != "iban", item[0])):
        current = result.fields.get(name)
        if current is not None and same_value(name, current.value, taught.value):
            continue
        if name in BANK_FIELDS:
            notes.extend(_bank_field(result, content, profile, name, taught))
            continue
        printed = locate_text(content, name, taught.value)
        misread = current is not None and any(same_value(name, current.value, old) for old in taught.misreads)
        if current is not None and not (misread or printed or current.confidence < LOW_CONFIDENCE):
            continue  # a confident, different value not known as a misread: keep what the page says
        result.fields[name] = _taught_field(taught, printed, KNOWN_MISREAD if misread else NOT_PRINTED)
        notes.append(f"{name} from the profile" + (f" (was {current.value!r})" if current else ""))
    return notes


def _bank_field(
    result: Extraction, content: DocumentContent, profile: VendorProfile, name: str, taught: LearnedConstant
) -> list[str]:
    """Fill a missing IBAN/BIC with the taught one unless the document shows another account; never replace."""
    if name in result.fields:
        return [f"{name} differs from the one taught for this vendor: kept as printed"]
    if name == "iban":
        other = _ibans_on(content) - {compact(taught.value)}
    else:  # a BIC belongs to its account: only beside the taught IBAN (or none at all)
        iban, taught_iban = result.value("iban"), profile.constants.get("iban")
        other = {iban} if iban and not (taught_iban and same_value("iban", iban, taught_iban.value)) else set()
    if other:
        return [f"{name} not filled from the profile: this document shows another bank account"]
    result.fields[name] = _taught_field(taught, locate_text(content, name, taught.value), NOT_PRINTED)
    return [f"{name} from the profile"]


def _ibans_on(content: DocumentContent) -> set[str]:
    """Every valid IBAN printed on the document."""
    lines = PageLines()
    found: set[str] = set()
    for page in content.pages:
        for line in lines(page):
            for run in runs(line, IBAN_WORDS):
                iban = normalize_iban(run.text)
                if iban and iban_is_valid(iban):
                    found.add(iban)
    return found


def _taught_field(taught: LearnedConstant, printed: Provenance | None, unprinted_confidence: float) -> ExtractedField:
    if printed is not None:
        return ExtractedField(value=taught.value, confidence=PRINTED, provenance=printed)
    return ExtractedField(
        value=taught.value, confidence=unprinted_confidence, provenance=Provenance(source=Source.PROFILE)
    )
