"""Errors the IMAP connector raises. Messages never carry a password."""

from __future__ import annotations


class ImapError(Exception):
    """The server could not be reached, refused the login, or answered a command with NO/BAD."""


class ImapConnectionLost(ImapError):
    """The connection broke mid-command (dropped, timed out, the server said BYE): a fresh one may work."""


class MessageGone(LookupError):
    """The message was expunged (or the folder's UIDVALIDITY changed) since it was listed: skip it."""
