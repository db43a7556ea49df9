"""Business keys: the normalised vendor name and invoice number that identify an invoice across
re-sends, re-scans and typing variants. The repository indexes them and the duplicate check
compares them, so both must use these functions.

Rules (deliberately simple, so a person can predict a match):

* ``vendor_key``: Unicode-compatibility fold, accents dropped, case-folded; dots inside words
  removed (``B.V.`` → ``bv``), other punctuation treated as a space; trailing legal forms removed
  (``GmbH & Co. KG``, ``Ltd``, ``B.V.``, ``S.à r.l.``, ``Inc.`` ...); the remaining words joined
  without spaces. ``"ACME Gmbh"``, ``"Acme GmbH."`` and ``"acme"`` share the key ``"acme"``. A
  name made only of legal forms keeps them (``"AG"`` → ``"ag"``), so it never becomes empty.
* ``invoice_number_key``: upper case; leading zeros of every digit run removed (a run starts after
  a letter or a separator); then everything but letters and digits dropped. ``"INV-001"``,
  ``"inv 1"`` and ``"INV001"`` → ``"INV1"``; ``"2024-0007"`` → ``"20247"``; ``"000"`` → ``"0"``.
  ``"20240007"`` stays ``"20240007"``: zeros inside one run of digits are significant.

``None`` or a blank value gives ``""``, which callers treat as "no key" (never a match).
"""

from __future__ import annotations

import re
import unicodedata

# Legal-form suffixes as word sequences (after punctuation is normalised), comma-separated.
_LEGAL_FORM_LIST = """
    gmbh, mbh, ag, kg, ohg, gbr, ug, ek, ev, kgaa, se, gmbh co kg, gmbh co, co kg, ug haftungsbeschrankt,
    ltd, limited, plc, llp, lp, llc, inc, incorporated, corp, corporation, co, company, pty, pty ltd,
    bv, nv, vof, cv, sarl, s a r l, s a rl, sa rl, sa, sas, sasu, eurl, sci, snc,
    srl, spa, sl, slu, sc, oy, oyj, ab, as, asa, aps, a s, kft, zrt, sro, s r o, sp z oo, sp zoo, doo, d o o
"""
# Longest first, so "gmbh co kg" is removed whole rather than "kg" then "co" then "gmbh".
_LEGAL_FORMS: tuple[tuple[str, ...], ...] = tuple(
    sorted((tuple(form.split()) for form in _LEGAL_FORM_LIST.split(",")), key=len, reverse=True)
)

_DOTS_IN_WORD = re.compile(r"(?<=\w)\.(?=\w)")
_NON_WORD = re.compile(r"[^\w]+|_")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
_NON_ALNUM = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return without_marks.casefold()


def _strip_legal_forms(words: list[str]) -> list[str]:
    stripped = True
    while stripped:
        stripped = False
        for form in _LEGAL_FORMS:
            if len(words) > len(form) and tuple(words[-len(form) :]) == form:
                words = words[: -len(form)]
                stripped = True
                break
    return words


def vendor_key(name: str | None) -> str:
    """The normalised vendor name used to match invoices and vendor-master entries."""
    if not name or not name.strip():
        return ""
    text = _fold(name).replace("&", " ").replace("+", " ")
    text = _DOTS_IN_WORD.sub("", text)
    words = [word for word in _NON_WORD.split(text) if word]
    return "".join(_strip_legal_forms(words))


def invoice_number_key(number: str | None) -> str:
    """The normalised invoice number used to detect the same invoice sent twice."""
    if not number or not number.strip():
        return ""
    text = unicodedata.normalize("NFKC", number).upper()
    text = _LEADING_ZEROS.sub("", text)
    return _NON_ALNUM.sub("", text)
