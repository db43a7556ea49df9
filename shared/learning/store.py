"""Vendor profiles on top of the repository's keyed items (kind ``vendor_profile``)."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from shared.learning.models import VendorProfile
from shared.ports.records import Repository

KIND = "vendor_profile"
_log = logging.getLogger(__name__)


class ProfileStore:
    def __init__(self, repo: Repository) -> None:
        self._repo = repo

    def get(self, key: str) -> VendorProfile | None:
        data = self._repo.get_item(KIND, key)
        return self._parse(data) if data is not None else None

    def list(self) -> list[VendorProfile]:
        profiles = (self._parse(data) for data in self._repo.list_items(KIND))
        return [profile for profile in profiles if profile is not None]

    def save(self, profile: VendorProfile) -> bool:
        """Write the profile unless the stored one is identical; True when something changed."""
        data = profile.model_dump(mode="json")
        if self._repo.get_item(KIND, profile.key) == data:
            return False
        self._repo.put_item(KIND, profile.key, data)
        return True

    @staticmethod
    def _parse(data: dict[str, object]) -> VendorProfile | None:
        try:
            return VendorProfile.model_validate(data)
        except ValidationError as exc:  # a damaged item must not stop extraction: skip it, say so
            _log.warning("vendor profile %r skipped: %s", data.get("key"), exc.errors()[:1])
            return None
