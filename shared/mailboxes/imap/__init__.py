"""IMAP for any provider (standard library imaplib): UID + UIDVALIDITY cursor, IDLE or polling."""

from shared.mailboxes.imap.config import ImapSettings
from shared.mailboxes.imap.connector import ImapConnector
from shared.mailboxes.imap.errors import ImapError, MessageGone

__all__ = ["ImapConnector", "ImapError", "ImapSettings", "MessageGone"]
