"""Mailboxes: Outlook (Graph push + delta), Gmail (watch + Pub/Sub push + history), IMAP (IDLE / poll)."""
