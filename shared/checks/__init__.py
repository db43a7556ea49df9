"""Checks, first version: arithmetic, identifier checksums, duplicates, vendor master and bank details.

``run_checks(record, repo=...)`` gives the findings; ``risk_score(findings)`` sums them up in 0..1.
Each check module is a pure function of the extraction (plus the records it needs, passed in).
"""

from shared.checks.arithmetic import check_arithmetic
from shared.checks.bank import check_bank_details, match_vendor
from shared.checks.duplicates import check_duplicates
from shared.checks.identifiers import check_identifiers
from shared.checks.risk import RISK_BANDS, SEVERITY_WEIGHT, risk_band, risk_score
from shared.checks.runner import run_checks

__all__ = [
    "RISK_BANDS",
    "SEVERITY_WEIGHT",
    "check_arithmetic",
    "check_bank_details",
    "check_duplicates",
    "check_identifiers",
    "match_vendor",
    "risk_band",
    "risk_score",
    "run_checks",
]
