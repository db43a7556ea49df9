"""Gmail: users.watch + Cloud Pub/Sub push (OIDC-verified) + history.list reconcile."""

from shared.mailboxes.gmail.certs import GOOGLE_CERTS_URL, CertsUnavailableError, GoogleCerts
from shared.mailboxes.gmail.connector import CredentialsFactory, GmailConnector, MessageGoneError
from shared.mailboxes.gmail.credentials import GMAIL_SCOPES, delegated_credentials, refresh_token_credentials
from shared.mailboxes.gmail.mime import GmailPayloadError, decode_base64url, rebuild_mime
from shared.mailboxes.gmail.push import GmailPush, PushAuthError, PushFormatError, parse_push, verify_pubsub_jwt

__all__ = [
    "GMAIL_SCOPES",
    "GOOGLE_CERTS_URL",
    "CertsUnavailableError",
    "CredentialsFactory",
    "GmailConnector",
    "GmailPayloadError",
    "GmailPush",
    "GoogleCerts",
    "MessageGoneError",
    "PushAuthError",
    "PushFormatError",
    "decode_base64url",
    "delegated_credentials",
    "parse_push",
    "rebuild_mime",
    "refresh_token_credentials",
    "verify_pubsub_jwt",
]
