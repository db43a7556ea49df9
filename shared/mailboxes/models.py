"""Mailboxes Papyr watches, the rules applied to their mail, and what the connectors hand back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Provider(StrEnum):
    OUTLOOK = "outlook"
    GMAIL = "gmail"
    IMAP = "imap"


class AfterProcessing(StrEnum):
    """What to do with a mail once its documents are stored."""

    NOTHING = "nothing"
    MARK_READ = "mark_read"
    MOVE = "move"  # to MailRules.target_folder (Outlook folder / IMAP mailbox)
    LABEL = "label"  # add MailRules.target_label (Gmail label; IMAP keyword)


class MailRules(BaseModel):
    folders: list[str] = Field(
        default_factory=lambda: ["Inbox"], description="folders (Outlook, IMAP) or labels (Gmail)"
    )
    allow_senders: list[str] = Field(default_factory=list, description="addresses or @domains; empty = everyone")
    deny_senders: list[str] = Field(default_factory=list, description="addresses or @domains never read")
    after: AfterProcessing = AfterProcessing.NOTHING
    target_folder: str | None = None
    target_label: str | None = None

    def accepts(self, sender: str | None) -> bool:
        """Deny wins over allow; an empty allow list allows everyone."""
        address = (sender or "").strip().lower()
        domain = "@" + address.rsplit("@", 1)[-1] if "@" in address else ""

        def listed(entries: list[str]) -> bool:
            return any(entry.lower() in (address, domain) for entry in entries)

        if listed(self.deny_senders):
            return False
        return not self.allow_senders or listed(self.allow_senders)


class Mailbox(BaseModel):
    """A watched mailbox. ``config`` holds non-secret provider settings (tenant id, client id,
    IMAP host/port/user, Gmail topic...); secrets live encrypted in the registry, never here."""

    id: str
    provider: Provider
    address: str
    rules: MailRules = Field(default_factory=MailRules)
    config: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class MessageRef(BaseModel):
    """One message as its provider names it: Graph message id, Gmail message id, IMAP UID."""

    mailbox_id: str
    provider_id: str
    folder: str | None = None
    sender: str | None = None  # when the listing already tells (lets rules skip a fetch)
    internet_message_id: str | None = None


class ChangeBatch(BaseModel):
    """What changed since a cursor. ``cursor`` is saved only after every ref was handled; None means
    "no new cursor" (keep the old one). ``complete`` is False when the provider has more pages."""

    refs: list[MessageRef] = Field(default_factory=list)
    cursor: str | None = None
    full_resync: bool = False  # the old cursor was invalid (Graph 410 / Gmail 404 / new UIDVALIDITY)
    complete: bool = True


class Subscription(BaseModel):
    """A push subscription (Graph) or watch (Gmail) and when it runs out."""

    mailbox_id: str
    id: str
    resource: str
    expires_at: datetime
    client_state: str | None = None
    folder: str | None = None  # the folder (Outlook) or label (Gmail) it watches


class Notification(BaseModel):
    """A push, persisted before it is acknowledged. Notifications are hints: each one only asks for
    a reconcile of its mailbox (and folder); ``key`` dedupes repeated deliveries of the same push."""

    key: str
    mailbox_id: str
    folder: str | None = None
    kind: str = "change"  # change | lifecycle:<event> | push
    received_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)
