"""Which program makes each vendor's PDFs: a per-vendor history in the repository's keyed items.

An invoice from a vendor whose last invoices all came out of one accounting system, but this one
from another program, was probably re-made or edited. Keyed by document hash, so a retried
activity does not count a document twice.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.ports import Repository

KIND = "vendor_pdf_profile"
KEEP = 50  # the most recent documents remembered per vendor
MIN_HISTORY = 3  # documents before a different producer means anything


class VendorPdfProfile(BaseModel):
    documents: dict[str, str] = Field(default_factory=dict)  # sha256 -> producer tool, oldest first

    def usual_tool(self, exclude: str) -> tuple[str, int] | None:
        """The one tool every other remembered document came from, and how many they are."""
        tools = [tool for sha, tool in self.documents.items() if sha != exclude and tool]
        if len(tools) < MIN_HISTORY or len(set(tools)) != 1:
            return None
        return tools[0], len(tools)


def load_profile(repo: Repository, vendor: str) -> VendorPdfProfile:
    raw: dict[str, Any] | None = repo.get_item(KIND, vendor)
    return VendorPdfProfile.model_validate(raw) if raw else VendorPdfProfile()


def remember(repo: Repository, vendor: str, sha256: str, tool: str) -> None:
    """Add this document's producer to the vendor's stored profile, atomically (concurrent invoices of
    one vendor both count)."""

    def add(raw: dict[str, Any] | None) -> dict[str, Any]:
        profile = VendorPdfProfile.model_validate(raw) if raw else VendorPdfProfile()
        documents = {k: v for k, v in profile.documents.items() if k != sha256}
        documents[sha256] = tool
        return VendorPdfProfile(documents=dict(list(documents.items())[-KEEP:])).model_dump()

    repo.update_item(KIND, vendor, add)
