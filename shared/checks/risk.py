"""One number for "how worried should the approver be", in 0..1.

Each finding is treated as independent evidence that something is wrong, with probability
``SEVERITY_WEIGHT[severity] × FAMILY_WEIGHT[family]`` (the family is the code's first part:
``bank`` in ``bank.iban_changed``); the score is the chance that at least one is right:
``1 - prod(1 - weight)``. Families that point at fraud or at paying the wrong party (bank details,
duplicates, sender, tampering, identifiers) count fully; business anomalies, PO variances and
arithmetic, which are more often honest mistakes or unusual-but-fine orders, count less. So one
high bank finding gives 0.6, two give 0.84; one medium anomaly 0.18; info findings add nothing.
The score orders work queues and reports; routing decides on severities and its own threshold.
"""

from __future__ import annotations

from shared.domain import Finding, Severity

SEVERITY_WEIGHT: dict[Severity, float] = {
    Severity.INFO: 0.0,
    Severity.LOW: 0.1,
    Severity.MEDIUM: 0.3,
    Severity.HIGH: 0.6,
}
FAMILY_WEIGHT: dict[str, float] = {
    "bank": 1.0,
    "iban": 1.0,
    "bic": 1.0,
    "vat": 1.0,
    "duplicate": 1.0,
    "sender": 1.0,
    "tamper": 1.0,
    "vendor": 0.8,
    "arithmetic": 0.8,
    "po": 0.8,
    "anomaly": 0.6,
}
DEFAULT_FAMILY_WEIGHT = 1.0  # a family not listed (a new check) counts fully until weighed


def finding_weight(finding: Finding) -> float:
    family = finding.code.split(".", 1)[0]
    return SEVERITY_WEIGHT[finding.severity] * FAMILY_WEIGHT.get(family, DEFAULT_FAMILY_WEIGHT)


def risk_score(findings: list[Finding]) -> float:
    clear = 1.0
    for finding in findings:
        clear *= 1.0 - finding_weight(finding)
    return round(1.0 - clear, 4)


# Bands of the score for people: queue filters, badges, the report.
RISK_BANDS: dict[str, tuple[float, float]] = {"low": (0.0, 0.2), "medium": (0.2, 0.5), "high": (0.5, 1.01)}


def risk_band(score: float) -> str:
    return next(band for band, (low, high) in RISK_BANDS.items() if low <= score < high or band == "high")
