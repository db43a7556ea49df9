"""Corrections teach Papyr: vendor profiles learned from a clerk's corrections and applied to the
vendor's next invoice.

- ``learn_from(record, repo, content)``: after a correction is saved, update the vendor's profile.
- ``apply_profile(extraction, content, mail, repo)``: after template-free extraction, use it.
- ``identify_vendor``: which profile a document belongs to, before its extracted name is trusted.
"""

from __future__ import annotations

from shared.learning.apply import apply_profile
from shared.learning.identify import DocumentKeys, VendorMatch, identify_vendor
from shared.learning.learn import Learned, learn_from
from shared.learning.models import VendorProfile
from shared.learning.store import ProfileStore

__all__ = [
    "DocumentKeys",
    "Learned",
    "ProfileStore",
    "VendorMatch",
    "VendorProfile",
    "apply_profile",
    "identify_vendor",
    "learn_from",
]
