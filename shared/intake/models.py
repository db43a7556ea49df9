"""What intake hands on: the mail's context, the invoice carriers it found, and what it left out and why."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.models import MailContext


class Carrier(BaseModel):
    """One part that may be an invoice (PDF, image, e-invoice XML), with its original bytes."""

    # Bytes travel as base64 in JSON (queues, activity payloads), and round-trip.
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    filename: str
    content_type: str
    data: bytes
    origin: str = Field(description="attachment | inline | tnef | nested-eml | body")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


class SkippedPart(BaseModel):
    """A part that is not an invoice carrier, kept on record so nothing is dropped silently."""

    filename: str | None
    content_type: str
    reason: str


class ParsedMessage(BaseModel):
    mail: MailContext
    carriers: list[Carrier] = Field(default_factory=list)
    skipped: list[SkippedPart] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
