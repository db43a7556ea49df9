"""One number for "how worried should the approver be", in 0..1.

Each finding is treated as independent evidence that something is wrong with probability
``SEVERITY_WEIGHT[severity]``; the score is the chance that at least one is right:
``1 - prod(1 - weight)``. One high finding gives 0.6, two give 0.84; info findings add nothing.
The score orders work queues and reports; routing decides on severities, never on this number.
"""

from __future__ import annotations

from shared.domain import Finding, Severity

SEVERITY_WEIGHT: dict[Severity, float] = {
    Severity.INFO: 0.0,
    Severity.LOW: 0.1,
    Severity.MEDIUM: 0.3,
    Severity.HIGH: 0.6,
}


def risk_score(findings: list[Finding]) -> float:
    clear = 1.0
    for finding in findings:
        clear *= 1.0 - SEVERITY_WEIGHT[finding.severity]
    return round(1.0 - clear, 4)


# Bands of the score for people: queue filters, badges, the report.
RISK_BANDS: dict[str, tuple[float, float]] = {"low": (0.0, 0.2), "medium": (0.2, 0.5), "high": (0.5, 1.01)}


def risk_band(score: float) -> str:
    return next(band for band, (low, high) in RISK_BANDS.items() if low <= score < high or band == "high")
