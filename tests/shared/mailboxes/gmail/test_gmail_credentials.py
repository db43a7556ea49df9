"""OAuth credentials obtain their access token through the same transport seam as the API calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt as google_jwt
from googleapiclient.http import HttpMockSequence

from shared.mailboxes.gmail import GMAIL_SCOPES, GmailConnector, delegated_credentials, refresh_token_credentials
from shared.mailboxes.models import Mailbox, Provider

TOKEN_URI = "https://oauth2.googleapis.com/token"
PROFILE = '{"emailAddress": "ap@example.com", "messagesTotal": 1, "threadsTotal": 1, "historyId": "77"}'
LIST = '{"resultSizeEstimate": 0}'
BOX = Mailbox(id="ap", provider=Provider.GMAIL, address="ap@example.com", created_at=datetime(2025, 1, 1, tzinfo=UTC))


def token_response(token: str) -> tuple[dict[str, str], str]:
    body = {"access_token": token, "expires_in": 3599, "scope": GMAIL_SCOPES[0], "token_type": "Bearer"}
    return {"status": "200", "content-type": "application/json"}, json.dumps(body)


def test_a_refresh_token_is_exchanged_for_an_access_token_before_the_first_call() -> None:
    http = HttpMockSequence([token_response("ya29.fresh"), ({"status": "200"}, PROFILE), ({"status": "200"}, LIST)])
    credentials = refresh_token_credentials(
        client_id="cid.apps.googleusercontent.com", client_secret="s3cret", refresh_token="1//refresh-token"
    )
    connector = GmailConnector(lambda _box: credentials, http=http, sleep=lambda _s: None)

    batch = connector.changes(BOX, "INBOX", None)

    uri, method, body, _ = http.request_sequence[0]
    assert (uri, method) == (TOKEN_URI, "POST")
    form = parse_qs(body.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["1//refresh-token"]
    assert http.request_sequence[1][3]["authorization"] == "Bearer ya29.fresh"
    assert batch.cursor == "77"


def test_a_service_account_acts_for_the_mailbox_user_through_delegation() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = {
        "type": "service_account",
        "project_id": "papyr-prod",
        "private_key_id": "k1",
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "client_email": "papyr-reader@papyr-prod.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": TOKEN_URI,
    }
    http = HttpMockSequence([token_response("ya29.delegated"), ({"status": "200"}, PROFILE), ({"status": "200"}, LIST)])
    credentials = delegated_credentials(info, subject="ap@example.com")
    connector = GmailConnector(lambda _box: credentials, http=http, sleep=lambda _s: None)

    connector.changes(BOX, "INBOX", None)

    uri, _, body, _ = http.request_sequence[0]
    assert uri == TOKEN_URI
    form = parse_qs(body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assertion = google_jwt.decode(form["assertion"][0], verify=False)
    assert assertion["iss"] == info["client_email"]
    assert assertion["sub"] == "ap@example.com"
    assert assertion["scope"] == GMAIL_SCOPES[0]
    assert http.request_sequence[1][3]["authorization"] == "Bearer ya29.delegated"
