"""SPF, DKIM and DMARC verdicts from the headers receiving servers add (RFC 8601 Authentication-Results,
RFC 7208 Received-SPF).

Papyr does not verify signatures itself: the receiving mail system did, and wrote its verdicts. Only
the topmost header counts (the one our own boundary added last); lower ones were written by servers
the mail passed on the way and can be forged by the sender. Comments in parentheses are dropped,
method names and results compared case-insensitively; a method that appears twice (two DKIM
signatures) passes when any instance passed.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([A-Za-z0-9_-]+)(?:/[0-9]+)?\s*=\s*([A-Za-z]+)")
_METHODS = ("spf", "dkim", "dmarc")


class AuthVerdicts(BaseModel):
    """Per method the result (``pass``, ``fail``, ``softfail``, ``none``, ``temperror`` ...), when stated."""

    authserv_id: str | None = None
    results: dict[str, str] = Field(default_factory=dict)
    header: str = ""

    def result(self, method: str) -> str | None:
        return self.results.get(method)


def _strip_comments(text: str) -> str:
    previous = None
    while previous != text:  # nested comments: innermost first
        previous, text = text, _COMMENT.sub(" ", text)
    return text


def parse_authentication_results(header: str) -> AuthVerdicts:
    """One Authentication-Results value: ``authserv-id [version]; method=result ...; ...``."""
    parts = [part.strip() for part in _strip_comments(header).split(";")]
    authserv = parts[0].split()[0] if parts and parts[0] else None
    results: dict[str, str] = {}
    for part in parts[1:]:
        match = _RESULT.match(part)
        if not match:
            continue  # "none", or a malformed resinfo: nothing to take from it
        method, result = match[1].lower(), match[2].lower()
        if method not in _METHODS:
            continue
        if results.get(method) != "pass":
            results[method] = result
    return AuthVerdicts(authserv_id=authserv, results=results, header=header[:500])


def parse_received_spf(header: str) -> str | None:
    """The result keyword that starts a Received-SPF value (``Pass``, ``Fail``, ``SoftFail`` ...)."""
    words = _strip_comments(header).split()
    return words[0].lower() if words else None


def mail_verdicts(authentication_results: list[str], received_spf: list[str]) -> AuthVerdicts | None:
    """The verdicts of the topmost headers; None when the mail carries neither header."""
    if authentication_results:
        verdicts = parse_authentication_results(authentication_results[0])
    elif received_spf:
        verdicts = AuthVerdicts(header=received_spf[0][:500])
    else:
        return None
    if "spf" not in verdicts.results and received_spf and (spf := parse_received_spf(received_spf[0])):
        verdicts.results["spf"] = spf
    return verdicts
