"""The issue's "Done when": a Graph notification with a wrong clientState, or a Gmail push with a
bad, expired or wrong-audience token, creates nothing and is answered 4xx. Through the local host's
real HTTP app (the route table both hosts serve), tokens signed by keys generated here."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt
from mailbox_fakes import T0, FakeConnector, ManualClock

from papyr.host import LocalHost, build_local_host
from papyr.server import create_app
from shared.mailboxes.models import Mailbox, MailRules, Provider, Subscription
from shared.mailboxes.queue import SqliteNotificationQueue
from shared.mailboxes.registry import MailboxRegistry
from shared.mailboxes.secrets import SecretBox
from shared.mailboxes.service import MailboxService, set_mailbox_service
from shared.services import set_services

AUDIENCE = "https://papyr.example.com/api/notifications/gmail"
PUSH_ACCOUNT = "gmail-push@papyr-prod.iam.gserviceaccount.com"
GMAIL_ADDRESS = "billing@papyr-demo.example"


def key_and_cert(name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=7)).sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return private, cert.public_bytes(serialization.Encoding.PEM).decode()


GOOGLE = key_and_cert("google")
ATTACKER = key_and_cert("attacker")


def token(private_pem: str = GOOGLE[0], **overrides: Any) -> str:
    issued = int(datetime.now(UTC).timestamp()) - 30
    claims = {"aud": AUDIENCE, "email": PUSH_ACCOUNT, "email_verified": True, "iss": "https://accounts.google.com",
              "iat": issued, "exp": issued + 3600, "sub": "1234567890", **overrides}
    signer = crypt.RSASigner.from_string(private_pem, key_id="google-kid")  # type: ignore[no-untyped-call]
    return google_jwt.encode(signer, claims).decode()  # type: ignore[no-untyped-call]


def push_body(history_id: int, message_id: str = "pubsub-1") -> bytes:
    data = base64.b64encode(json.dumps({"emailAddress": GMAIL_ADDRESS, "historyId": history_id}).encode()).decode()
    return json.dumps({"message": {"data": data, "messageId": message_id},
                       "subscription": "projects/p/subscriptions/gmail-push"}).encode()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[LocalHost]:
    local = build_local_host(tmp_path / "papyr")
    local.services.settings = local.settings.model_copy(
        update={"gmail_push_audience": AUDIENCE, "gmail_push_service_account": PUSH_ACCOUNT})
    yield local
    local.engine.close()
    set_services(None)


@pytest.fixture
def service(host: LocalHost) -> MailboxService:
    data_dir = host.settings.data_dir
    registry = MailboxRegistry.in_data_dir(data_dir, SecretBox.from_settings(host.settings))
    registry.add(Mailbox(id="mb-outlook", provider=Provider.OUTLOOK, address="ap@papyr-demo.example", created_at=T0))
    registry.add(Mailbox(id="mb-gmail", provider=Provider.GMAIL, address=GMAIL_ADDRESS, created_at=T0,
                         rules=MailRules(folders=["INBOX"])))
    registry.save_subscription(Subscription(mailbox_id="mb-outlook", id="sub-1", resource="me/messages",
                                            expires_at=T0 + timedelta(days=2), client_state="right-state",
                                            folder="Inbox"))
    service = MailboxService(registry, SqliteNotificationQueue(data_dir / "notifications.sqlite3"), host.services,
                             gmail_certs={"google-kid": GOOGLE[1]})
    set_mailbox_service(service)
    return service


def post(host: LocalHost, path: str, body: bytes, headers: dict[str, str] | None = None,
         params: dict[str, str] | None = None) -> httpx.Response:
    app = create_app(host.services, host.client)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://papyr") as client:
            return await client.post(f"/api/{path}", content=body, headers=headers or {}, params=params)

    return asyncio.run(call())


def nothing_created(host: LocalHost, service: MailboxService) -> None:
    connector = FakeConnector(ManualClock())
    sample = (Path(__file__).resolve().parents[3] / "samples" / "mailbox" / "01-pdf-invoice.eml").read_bytes()
    connector.deliver("m1", sample, T0)  # there is mail: a notification that got through would take it in
    assert service.queue.count() == 0  # type: ignore[attr-defined]
    asyncio.run(service.drain({Provider.OUTLOOK: connector, Provider.GMAIL: connector}, host.client))
    assert connector.changes_calls == 0 and connector.fetched == []
    assert host.services.repo.list_invoices() == []


def graph(client_state: str) -> bytes:
    return json.dumps({"value": [{"subscriptionId": "sub-1", "clientState": client_state, "changeType": "created",
                                  "resource": "Users/ap/Messages/AAMk1", "tenantId": "t"}]}).encode()


def test_graph_validation_handshake_echoes_the_decoded_token(host: LocalHost, service: MailboxService) -> None:
    response = post(host, "notifications/graph", b"", params={"validationToken": "Validation: Token & co/+="})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Validation: Token & co/+="


def test_graph_wrong_client_state_is_refused_and_creates_nothing(host: LocalHost, service: MailboxService) -> None:
    assert post(host, "notifications/graph", graph("wrong-state")).status_code == 403
    assert post(host, "notifications/graph", graph("")).status_code == 403
    assert post(host, "notifications/graph", b"{not json").status_code == 400
    nothing_created(host, service)


def test_graph_right_client_state_is_persisted_and_answered_202(host: LocalHost, service: MailboxService) -> None:
    response = post(host, "notifications/graph", graph("right-state"))
    assert response.status_code == 202
    assert service.queue.count() == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["attacker-signed", "expired", "wrong-audience", "missing", "garbage"])
def test_gmail_bad_token_is_401_and_creates_nothing(host: LocalHost, service: MailboxService, bad: str) -> None:
    past = int(datetime.now(UTC).timestamp()) - 7200
    headers = {
        "attacker-signed": {"authorization": f"Bearer {token(ATTACKER[0])}"},
        "expired": {"authorization": f"Bearer {token(iat=past, exp=past + 600)}"},
        "wrong-audience": {"authorization": f"Bearer {token(aud='https://evil.example/push')}"},
        "missing": {},
        "garbage": {"authorization": "Bearer not.a.jwt"},
    }[bad]
    assert post(host, "notifications/gmail", push_body(1000), headers).status_code == 401
    nothing_created(host, service)


def test_gmail_valid_push_is_queued_once_duplicates_and_stale_are_acknowledged(
    host: LocalHost, service: MailboxService
) -> None:
    auth = {"authorization": f"Bearer {token()}"}
    first = post(host, "notifications/gmail", push_body(1000, "m-1"), auth)
    assert (first.status_code, first.json()) == (200, {"accepted": 1})
    again = post(host, "notifications/gmail", push_body(1000, "m-1"), auth)  # Pub/Sub redelivery
    assert (again.status_code, again.json()) == (200, {"ignored": "stale"})
    older = post(host, "notifications/gmail", push_body(990, "m-0"), auth)  # out of order, already covered
    assert (older.status_code, older.json()) == (200, {"ignored": "stale"})
    newer = post(host, "notifications/gmail", push_body(1010, "m-2"), auth)
    assert newer.json() == {"accepted": 1}
    assert service.queue.count() == 2  # type: ignore[attr-defined]
