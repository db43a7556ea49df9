"""OAuth credentials for the Gmail API: a user's refresh token, or a service account acting for a
Workspace user through domain-wide delegation. Neither touches the network until the first call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

# modify = read + label/mark-read (after_processing) + watch; never delete or send.
GMAIL_SCOPES: tuple[str, ...] = ("https://www.googleapis.com/auth/gmail.modify",)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def refresh_token_credentials(
    *, client_id: str, client_secret: str, refresh_token: str, scopes: Sequence[str] = GMAIL_SCOPES
) -> user_credentials.Credentials:
    """Delegated access: the refresh token a user granted Papyr (kept encrypted, never logged)."""
    return user_credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=refresh_token,
        token_uri=GOOGLE_TOKEN_URI,
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(scopes),
    )


def delegated_credentials(
    service_account_info: Mapping[str, Any], *, subject: str, scopes: Sequence[str] = GMAIL_SCOPES
) -> service_account.Credentials:
    """Application access to a Workspace mailbox: the service account impersonates ``subject``."""
    base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        dict(service_account_info), scopes=list(scopes)
    )
    return base.with_subject(subject)  # type: ignore[no-any-return]
