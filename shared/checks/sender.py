"""Sender: does the mail that carried the invoice come from the vendor it claims to be from?

Business e-mail compromise sends a real-looking invoice (or a "new bank details" letter) from an
address that only *looks* like the vendor's. Known domains of a vendor are those in the vendor master
(``email_domains``) plus those its earlier, unflagged invoices came from (``shared.checks.history``).

* ``sender.lookalike_domain`` (high): From or Reply-To domain imitates a known vendor domain
  (``shared.checks.domains``: edit distance, homoglyphs, punycode).
* ``sender.display_name_spoof`` (high): the display name claims a known vendor (or shows an address)
  while the real address is on a domain that vendor does not use.
* ``sender.reply_to_mismatch`` (high when the From domain is the vendor's own — replies would go
  elsewhere —, else medium): Reply-To on another registrable domain than From, not one of the vendor's.
* ``sender.auth_failed``: DMARC fail (high), SPF or DKIM fail without a DMARC pass (medium), SPF
  softfail (low), from the topmost Authentication-Results / Received-SPF (``shared.checks.mail_auth``).
* ``sender.first_seen``: the first mail from this address for this vendor: info when the domain is
  one the vendor uses (a new colleague) or the vendor has no known domain yet, medium when the vendor's
  known domains do not include it.

Documents without a mail (uploads, files) get none of these.
"""

from __future__ import annotations

from typing import Any

from shared.checks.domains import FREE_MAIL, lookalike_of, mail_domain, registrable
from shared.checks.history import VendorHistory
from shared.checks.mail_auth import mail_verdicts
from shared.domain import Finding, InvoiceRecord, MailContext, Severity, Vendor
from shared.domain.keys import vendor_key


def known_domains(vendor: Vendor | None, history: VendorHistory | None) -> list[str]:
    domains = list(vendor.email_domains) if vendor else []
    if history is not None:
        domains += [d for d in history.domains if d not in domains]
    return domains


def check_sender(
    record: InvoiceRecord,
    *,
    vendors: list[Vendor],
    master: Vendor | None,
    history: VendorHistory | None,
) -> list[Finding]:
    mail = record.document.mail
    domain = mail_domain(mail.sender)
    if domain is None:
        return []
    own = known_domains(master, history)
    every_known = sorted({d for v in vendors for d in v.email_domains} | set(own))
    findings: list[Finding] = []
    evidence: dict[str, Any] = {
        "from": mail.sender,
        "display_name": mail.sender_name,
        "reply_to": mail.reply_to,
        "vendor": master.name if master else None,
        "vendor_domains": own,
    }
    lookalike = _lookalikes(mail, every_known, evidence)
    findings += lookalike
    findings += _display_name(mail, domain, vendors, master, own, evidence)
    findings += _reply_to(mail, domain, own, evidence, already=bool(lookalike))
    findings += _authentication(mail, evidence)
    if not findings and master is not None:
        findings += _first_seen(mail, domain, own, history, evidence)
    return findings


def _lookalikes(mail: MailContext, known: list[str], evidence: dict[str, Any]) -> list[Finding]:
    findings = []
    for header, address in (("From", mail.sender), ("Reply-To", mail.reply_to)):
        domain = mail_domain(address)
        match = lookalike_of(domain, known) if domain else None
        if match is None:
            continue
        imitated, how = match
        findings.append(
            Finding(
                code="sender.lookalike_domain",
                severity=Severity.HIGH,
                message=(
                    f"The {header} address {address} is on the domain {domain}, which imitates the vendor domain "
                    f"{imitated} ({how}). This is how invoice fraud by e-mail impersonation works: do not pay or "
                    "reply before confirming with the vendor through a known phone number."
                ),
                evidence={**evidence, "header": header, "domain": domain, "imitates": imitated, "how": how},
            )
        )
        break  # one look-alike finding per mail is enough to stop it
    return findings


def _display_name(
    mail: MailContext,
    domain: str,
    vendors: list[Vendor],
    master: Vendor | None,
    own: list[str],
    evidence: dict[str, Any],
) -> list[Finding]:
    name = mail.sender_name or ""
    shown = mail_domain(next((word.strip("<>\"'()[],;") for word in name.split() if "@" in word), None))
    if shown and registrable(shown) != registrable(domain):
        return [
            _spoof(
                f"The sender's display name shows the address of {shown}, but the mail was sent from {mail.sender}.",
                {**evidence, "domain_in_display_name": shown},
            )
        ]
    name_key = vendor_key(name)
    if len(name_key) < 4:
        return []
    for vendor in vendors:
        key = vendor_key(vendor.name)
        claimed = key and (key == name_key or (len(key) >= 5 and key in name_key))
        if not claimed:
            continue
        domains = known_domains(vendor, None) + (own if master is not None and vendor.name == master.name else [])
        if domains and registrable(domain) not in {registrable(d) for d in domains}:
            return [
                _spoof(
                    f'The sender calls itself "{name}", the name of the vendor {vendor.name}, but writes from '
                    f"{mail.sender}; {vendor.name} uses {', '.join(sorted(set(domains)))}.",
                    {**evidence, "claimed_vendor": vendor.name, "claimed_vendor_domains": domains},
                )
            ]
    return []


def _spoof(message: str, evidence: dict[str, Any]) -> Finding:
    return Finding(
        code="sender.display_name_spoof",
        severity=Severity.HIGH,
        message=f"{message} A display name costs nothing to fake; confirm with the vendor before paying.",
        evidence=evidence,
    )


def _reply_to(
    mail: MailContext, domain: str, own: list[str], evidence: dict[str, Any], *, already: bool
) -> list[Finding]:
    reply_domain = mail_domain(mail.reply_to)
    if reply_domain is None or already or registrable(reply_domain) == registrable(domain):
        return []
    own_registrable = {registrable(d) for d in own}
    if registrable(reply_domain) in own_registrable:
        return []
    from_is_vendor = registrable(domain) in own_registrable
    free = registrable(reply_domain) in FREE_MAIL
    return [
        Finding(
            code="sender.reply_to_mismatch",
            severity=Severity.HIGH if from_is_vendor or free else Severity.MEDIUM,
            message=(
                f"Replies to this mail would go to {mail.reply_to}, not to the sender {mail.sender}"
                + (" (a free mail address)" if free else "")
                + ". Fraudsters send from (or spoof) the vendor's address and read the answers elsewhere; "
                "do not confirm payment details by replying."
            ),
            evidence={**evidence, "from_domain": domain, "reply_to_domain": reply_domain},
        )
    ]


def _authentication(mail: MailContext, evidence: dict[str, Any]) -> list[Finding]:
    verdicts = mail_verdicts(mail.authentication_results, mail.received_spf)
    if verdicts is None:
        return []
    spf, dkim, dmarc = (verdicts.result(m) for m in ("spf", "dkim", "dmarc"))
    failed = [
        f"{m.upper()}={r}" for m, r in (("spf", spf), ("dkim", dkim), ("dmarc", dmarc)) if r in ("fail", "softfail")
    ]
    if dmarc == "fail":
        severity = Severity.HIGH
    elif dmarc == "pass" or not failed:
        return []
    elif spf == "fail" or dkim == "fail":
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    return [
        Finding(
            code="sender.auth_failed",
            severity=severity,
            message=(
                "The receiving mail server could not confirm that this mail really comes from "
                f"{mail_domain(mail.sender)} ({', '.join(failed)}). The sender address may be forged."
            ),
            evidence={
                **evidence,
                "results": verdicts.results,
                "authserv_id": verdicts.authserv_id,
                "header": verdicts.header,
            },
        )
    ]


def _first_seen(
    mail: MailContext, domain: str, own: list[str], history: VendorHistory | None, evidence: dict[str, Any]
) -> list[Finding]:
    senders = history.senders if history is not None else []
    if mail.sender in senders:
        return []
    domain_known = registrable(domain) in {registrable(d) for d in own}
    if domain_known or not own:
        severity = Severity.INFO  # visible, but a new colleague at the vendor is no reason to stop a payment
        reason = "a new address on a domain the vendor uses" if domain_known else "the first mail seen from this vendor"
    else:
        severity = Severity.MEDIUM
        reason = f"on {domain}, which is not one of the vendor's domains ({', '.join(own)})"
    return [
        Finding(
            code="sender.first_seen",
            severity=severity,
            message=f"This is the first invoice from {mail.sender} for {evidence['vendor']}: {reason}.",
            evidence={**evidence, "senders_seen": senders[-10:]},
        )
    ]
