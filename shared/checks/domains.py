"""Look-alike domains: is a sender's domain a near copy of a domain the vendor really uses?

Three tests against each known domain, on the registrable part (``billing.acme.co.uk`` → ``acme.co.uk``):

* edit distance: Damerau-Levenshtein (a swap of two neighbours counts as one edit) of at most 2 on
  the name without its public suffix (``acme-gmbh`` vs ``acrne-gmbh``), for names of 5+ characters
  (shorter names are a couple of edits from many real, unrelated domains);
* homoglyphs: the same *skeleton* after mapping characters that look alike to one representative
  (Cyrillic ``а`` and Latin ``a``, Greek ``ο`` and ``o``, ``0``/``o``, ``1``/``l``/``I``, ``rn``/``m``,
  ``vv``/``w``) — a compact subset of Unicode's confusables (UTS #39) for Latin, Cyrillic, Greek, digits;
* punycode: an ``xn--`` label is decoded (IDNA) before both tests, so ``xn--pple-43d.com`` is ``аpple.com``.

A domain that *contains* a known vendor name with extra words (``acme-invoices.com``), or the same name
under another suffix (``acme.co`` for ``acme.com``), is also a look-alike.
"""

from __future__ import annotations

import contextlib
import unicodedata

from rapidfuzz.distance import DamerauLevenshtein

MAX_EDITS = 2
MIN_NAME_LENGTH = 5
# Two-label public suffixes common in vendors' domains (a full public-suffix list is not needed to
# compare a sender with the few domains a vendor uses).
_TWO_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "co.nz", "co.jp", "co.in", "co.za",
        "com.br", "com.cn", "com.tr", "com.mx", "com.ar", "co.il", "co.kr", "com.sg", "com.hk", "or.at", "co.at",
    }
)  # fmt: skip
# Public mail providers: a sender there says nothing about which company it is.
FREE_MAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
        "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "mail.ru", "yandex.ru", "t-online.de",
    }
)  # fmt: skip
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "l", "ї": "l", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ս": "u",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # digits and Latin look-alikes
    "0": "o", "1": "l", "i": "l", "|": "l", "3": "e", "5": "s", "@": "a", "ı": "l", "ł": "l",
}  # fmt: skip
_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("nn", "m"))


def mail_domain(address: str | None) -> str | None:
    """The domain of an e-mail address, lower case (``Billing <ap@Acme.com>`` → ``acme.com``)."""
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().strip(">").lower() or None


def decode_domain(domain: str) -> str:
    """Lower case, trailing dot dropped, each ``xn--`` label decoded to Unicode (kept as is if invalid)."""
    labels = []
    for label in domain.strip().rstrip(".").lower().split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def registrable(domain: str) -> str:
    """The registered domain: the last two labels, three under a known two-label suffix."""
    labels = decode_domain(domain).split(".")
    take = 3 if len(labels) >= 3 and ".".join(labels[-2:]) in _TWO_LABEL_SUFFIXES else 2
    return ".".join(labels[-take:])


def _name(domain: str) -> str:
    """The registrable domain without its public suffix: ``acme.co.uk`` → ``acme``."""
    return registrable(domain).split(".", 1)[0]


def skeleton(text: str) -> str:
    """Characters that look alike mapped to one, accents dropped: the form homoglyph attacks share."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    mapped = "".join(_CONFUSABLES.get(ch, ch) for ch in decomposed if not unicodedata.combining(ch))
    for sequence, replacement in _SEQUENCES:
        mapped = mapped.replace(sequence, replacement)
    return mapped


def lookalike_of(domain: str, known: list[str]) -> tuple[str, str] | None:
    """(the known domain it imitates, how) when ``domain`` is not one of ``known`` but looks like one."""
    mine = registrable(domain)
    known_registrable = {registrable(k) for k in known if k}
    if not mine or mine in known_registrable:
        return None
    punycode = any(label.startswith("xn--") for label in domain.lower().split("."))
    name = _name(domain)
    for other in sorted(known_registrable):
        other_name = other.split(".", 1)[0]
        if skeleton(mine) == skeleton(other) or (skeleton(name) == skeleton(other_name) and name != other_name):
            how = "punycode (xn--) homoglyphs" if punycode else "letters that look alike (homoglyphs)"
            return other, how
        if name == other_name:
            return other, "the vendor's name under another top-level domain"
        if len(other_name) >= MIN_NAME_LENGTH:
            edits = DamerauLevenshtein.distance(name, other_name)
            if 0 < edits <= MAX_EDITS:
                return other, f"{edits} character edit{'s' if edits > 1 else ''} away"
            if other_name in name and name != other_name:
                return other, "the vendor's name with extra words"
    return None
