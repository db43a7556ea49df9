"""Forensic results -> findings a person can act on (code, severity, plain message, evidence).

Severities are set so that what legitimate invoices do (an e-invoice XML attached in an update, a
signature, a late ModDate, a generic font name) stays info/low, and what only an edit does (words
changed after the first version, an amount covered or overprinted, digits from several fonts,
a text layer that disagrees with the pixels) is medium or high.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.domain import Finding, Severity
from shared.forensics.models import Box, PdfForensics, RevisionDiff
from shared.forensics.tokens import digits

LATE_MODIFICATION_DAYS = 30


def _location(page: int, box: Box, label: str) -> dict[str, Any]:
    return {"page": page, "bbox": [round(v, 1) for v in box], "label": label}


def pdf_findings(result: PdfForensics) -> list[Finding]:
    findings: list[Finding] = []
    if result.diff is not None:
        findings += _revision_findings(result.diff, result)
    findings += _signature_findings(result)
    findings += _metadata_findings(result)
    findings += _page_findings(result)
    return findings


def _revision_findings(diff: RevisionDiff, result: PdfForensics) -> list[Finding]:
    updates = diff.to_revision - diff.from_revision
    if not diff.pages_changed:
        return [
            Finding(
                code="tamper.pdf.incremental_update",
                severity=Severity.INFO,
                message=f"The PDF was saved {updates} more time(s) after it was first written; the pages look the "
                "same in every version (typical when an e-invoice file or a signature is added).",
                evidence={"revisions": result.revisions, "objects_rewritten": diff.objects},
            )
        ]
    locations = [
        _location(page, box, "changed after creation") for page, boxes in diff.changed_boxes.items() for box in boxes
    ]
    removed = [word for change in diff.text for word in change.removed]
    added = [word for change in diff.text for word in change.added]
    if added or removed:
        shown_before = ", ".join(removed[:6]) or "(nothing)"
        shown_after = ", ".join(added[:6]) or "(nothing)"
        return [
            Finding(
                code="tamper.pdf.revision_text_changed",
                severity=Severity.HIGH,
                message=(
                    f"This PDF was edited after it was created: a later version changed the text on page(s) "
                    f"{', '.join(map(str, diff.pages_changed))}. Before: {shown_before}. After: {shown_after}. "
                    "Ask the vendor for the original invoice."
                ),
                evidence={
                    "revisions": result.revisions,
                    "before": removed[:20],
                    "after": added[:20],
                    "objects_rewritten": diff.objects,
                    "locations": locations[:20],
                },
            )
        ]
    return [
        Finding(
            code="tamper.pdf.revision_content_changed",
            severity=Severity.MEDIUM,
            message=(
                f"A later version of this PDF changed what page(s) {', '.join(map(str, diff.pages_changed))} show "
                "(shapes or images added or removed) without changing its text; look at the marked places."
            ),
            evidence={"revisions": result.revisions, "objects_rewritten": diff.objects, "locations": locations[:20]},
        )
    ]


def _signature_findings(result: PdfForensics) -> list[Finding]:
    findings: list[Finding] = []
    signed = [s for s in result.signatures if s.signed]
    for signature in signed:
        evidence: dict[str, Any] = {
            "field": signature.field,
            "byte_range": signature.byte_range,
            "signed_bytes_end": signature.covers_to,
            "file_size": signature.file_size,
        }
        if not signature.well_formed:
            findings.append(
                Finding(
                    code="tamper.pdf.signature_broken",
                    severity=Severity.HIGH,
                    message=f"The digital signature '{signature.field}' does not cover the file the way a valid "
                    "signature does (its byte range is malformed): the document was altered after signing.",
                    evidence=evidence,
                )
            )
        elif signature.changed_after is not None:
            changed = signature.changed_after
            visible = bool(changed.pages_changed)
            evidence["pages_changed"] = changed.pages_changed
            evidence["objects_rewritten"] = changed.objects
            evidence["locations"] = [
                _location(page, box, "changed after signing")
                for page, boxes in changed.changed_boxes.items()
                for box in boxes
            ][:20]
            findings.append(
                Finding(
                    code="tamper.pdf.modified_after_signing",
                    severity=Severity.HIGH if visible else Severity.INFO,
                    message=(
                        f"The document was changed after '{signature.field}' was signed"
                        + (", and the change is visible on the page." if visible else "; the pages look the same.")
                    ),
                    evidence=evidence,
                )
            )
    if result.signature_traces > len(signed):
        findings.append(
            Finding(
                code="tamper.pdf.signature_stripped",
                severity=Severity.HIGH,
                message=(
                    f"The file holds {result.signature_traces} signature record(s) but only {len(signed)} "
                    "signature is still attached: a signature was removed, which hides later edits."
                ),
                evidence={"signature_records": result.signature_traces, "attached_signatures": len(signed)},
            )
        )
    return findings


def _metadata_findings(result: PdfForensics) -> list[Finding]:
    findings: list[Finding] = []
    created = datetime.fromisoformat(result.created) if result.created else None
    modified = datetime.fromisoformat(result.modified) if result.modified else None
    if created and modified:
        gap = (modified - created).total_seconds() / 86400
        if gap > LATE_MODIFICATION_DAYS or gap < -1:
            findings.append(
                Finding(
                    code="tamper.pdf.modified_later",
                    severity=Severity.LOW,
                    message=(
                        f"The PDF says it was modified {round(gap)} days after it was created"
                        if gap > 0
                        else "The PDF says it was modified before it was created"
                    )
                    + " (its own metadata; an invoice is usually final when it is sent).",
                    evidence={"created": result.created, "modified": result.modified, "days": round(gap, 1)},
                )
            )
    producers = {p for p in (result.producer, result.xmp_producer) if p}
    if len(producers) == 2 and _tool(result.producer) != _tool(result.xmp_producer):
        findings.append(
            Finding(
                code="tamper.pdf.producer_inconsistent",
                severity=Severity.LOW,
                message=f"The PDF's two producer records disagree ({result.producer} vs {result.xmp_producer}): "
                "a second program wrote to it.",
                evidence={"info_producer": result.producer, "xmp_producer": result.xmp_producer},
            )
        )
    return findings


def _tool(name: str | None) -> str:
    """The program's name without versions: 'LibreOffice 7.0' and 'LibreOffice 7.3' are one tool."""
    return re.sub(r"[\d.()\s]+", " ", (name or "").lower()).split(" via ")[0].strip()


def producer_tool(result: PdfForensics) -> str:
    return _tool(result.producer or result.xmp_producer)


def _page_findings(result: PdfForensics) -> list[Finding]:
    findings: list[Finding] = []
    for hidden in result.hidden:
        amount_like = len(digits(hidden.text)) >= 2
        where = [_location(hidden.page, hidden.box, "hidden text")]
        if hidden.cover:
            where.append(_location(hidden.page, hidden.cover, "drawn over it"))
        findings.append(
            Finding(
                code="tamper.pdf.hidden_text",
                severity=Severity.HIGH if amount_like else Severity.LOW,
                message=(
                    f"The text layer says '{hidden.text}' on page {hidden.page}, but nothing is visible there "
                    + ("(a box is drawn over it)." if hidden.cause == "covered" else "(it is printed in white).")
                    + (" A covered number is how amounts are replaced." if amount_like else "")
                ),
                evidence={"text_layer": hidden.text, "rendered": "", "cause": hidden.cause, "locations": where},
            )
        )
    for overprint in result.overprints:
        annotation = "annotation" in overprint.over
        serious = annotation or (len(digits(overprint.under)) >= 1 and len(digits(overprint.over)) >= 1)
        findings.append(
            Finding(
                code="tamper.pdf.overprint",
                severity=Severity.HIGH if serious else Severity.LOW,
                message=(
                    f"On page {overprint.page}, '{overprint.over}' is drawn on top of '{overprint.under}'"
                    + (": a person sees the top one, software may read the other." if serious else ".")
                ),
                evidence={
                    "under": overprint.under,
                    "over": overprint.over,
                    "locations": [_location(overprint.page, overprint.box, "drawn over")],
                },
            )
        )
    for run in result.glyph_runs:
        inside = run.reason != "font_differs"
        reasons = {
            "mixed_font": f"its digits come from different fonts ({', '.join(run.fonts)})",
            "mixed_size": f"its digits have different sizes ({', '.join(map(str, run.sizes))} pt)",
            "baseline": "its digits do not sit on one baseline",
            "font_differs": f"it is set in {', '.join(run.fonts)} while the other amounts use {run.compared_with}",
        }
        findings.append(
            Finding(
                code="tamper.pdf.glyph_inconsistent",
                severity=Severity.MEDIUM if inside else Severity.LOW,
                message=f"The amount '{run.text}' on page {run.page} looks typed in: {reasons[run.reason]}.",
                evidence={
                    "text": run.text,
                    "fonts": run.fonts,
                    "sizes": run.sizes,
                    "reason": run.reason,
                    "other_amounts_font": run.compared_with,
                    "locations": [_location(run.page, run.box, "amount")],
                },
            )
        )
    return findings
