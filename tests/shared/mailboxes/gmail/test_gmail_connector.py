"""The Gmail connector against recorded API shapes through googleapiclient's HttpMockSequence."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpMockSequence

from shared.intake import parse_message
from shared.mailboxes.gmail import GmailConnector, MessageGoneError
from shared.mailboxes.models import AfterProcessing, Mailbox, MailRules, MessageRef, Provider, Subscription

RECORDED = Path(__file__).parent / "recorded"
API = "https://gmail.googleapis.com/gmail/v1/users/me"
TOPIC = "projects/papyr-prod/topics/gmail-push"

Response = tuple[dict[str, str], str]


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def ok(name: str) -> Response:
    return {"status": "200", "content-type": "application/json; charset=UTF-8"}, recorded(name)


def error(status: int, name: str, **headers: str) -> Response:
    return {"status": str(status), "content-type": "application/json; charset=UTF-8", **headers}, recorded(name)


def mailbox(**rules: Any) -> Mailbox:
    return Mailbox(
        id="ap-gmail",
        provider=Provider.GMAIL,
        address="ap@example.com",
        rules=MailRules(folders=["Invoices"], **rules),
        config={"topic_name": TOPIC},
        created_at=datetime(2025, 3, 1, tzinfo=UTC),
    )


class Harness:
    def __init__(self, *responses: Response) -> None:
        self.http = HttpMockSequence(list(responses))
        self.sleeps: list[float] = []
        self.connector = GmailConnector(
            lambda _mailbox: Credentials(token="ya29.test-access-token"), http=self.http, sleep=self.sleeps.append
        )

    @property
    def requests(self) -> list[tuple[str, str, Any, dict[str, str]]]:
        return self.http.request_sequence

    def call(self, index: int) -> tuple[str, str, dict[str, list[str]]]:
        uri, method, _, _ = self.requests[index]
        parts = urlsplit(uri)
        return method, f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index][2])


def invoice_eml(pdf: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "Azure Interior <billing@azureinterior.example>"
    message["To"] = "ap@example.com"
    message["Subject"] = "Invoice INV/2023/03/0008"
    message["Date"] = "Tue, 04 Mar 2025 12:00:00 +0000"
    message["Message-ID"] = "<inv-2023-03-0008@azureinterior.example>"
    message.set_content("Please find attached invoice INV/2023/03/0008.\n")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="AzureInterior.pdf")
    return message.as_bytes()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def pdf(shared_data: Path) -> bytes:
    return (shared_data / "invoice2data" / "AzureInterior.pdf").read_bytes()


def test_history_pages_are_followed_and_the_cursor_is_the_latest_history_id() -> None:
    harness = Harness(ok("labels_list.json"), ok("history_page1.json"), ok("history_page2.json"))
    batch = harness.connector.changes(mailbox(), "Invoices", "1841233")

    # drafts, repeats and other labels' additions are left out; a mail filed into the label later is in
    assert [ref.provider_id for ref in batch.refs] == ["18f0a1b2c3d4e5f6", "18f0a1b2c3d4e7aa"]
    assert all(ref.folder == "Invoices" and ref.mailbox_id == "ap-gmail" for ref in batch.refs)
    assert (batch.cursor, batch.complete, batch.full_resync) == ("1841402", True, False)

    assert harness.call(0)[1] == f"{API}/labels"
    method, url, query = harness.call(1)
    assert (method, url) == ("GET", f"{API}/history")
    assert query["startHistoryId"] == ["1841233"]
    assert query["labelId"] == ["Label_7"]
    assert query["historyTypes"] == ["messageAdded", "labelAdded"]
    assert "pageToken" not in query
    assert harness.call(2)[2]["pageToken"] == ["04283710458762954921"]
    assert harness.requests[1][3]["authorization"] == "Bearer ya29.test-access-token"


def test_an_expired_history_id_triggers_a_bounded_full_sync() -> None:
    harness = Harness(
        error(404, "error_404_history.json"),
        ok("profile.json"),
        ok("messages_list_page1.json"),
        ok("messages_list_page2.json"),
    )
    batch = harness.connector.changes(mailbox(), "INBOX", "1000")

    assert batch.full_resync is True
    assert batch.cursor == "1850007"  # the profile's historyId, read before listing
    assert [ref.provider_id for ref in batch.refs] == ["18f0aaaa00000001", "18f0aaaa00000002", "18f0aaaa00000003"]
    assert harness.call(1)[1] == f"{API}/profile"
    _, url, query = harness.call(2)
    assert url == f"{API}/messages"
    assert query["labelIds"] == ["INBOX"]
    assert query["q"] == ["newer_than:30d"]
    assert int(query["maxResults"][0]) <= 500
    assert harness.call(3)[2]["pageToken"] == ["13905236540437523094"]


def test_first_sync_lists_recent_mail_without_claiming_a_resync() -> None:
    harness = Harness(ok("profile.json"), ok("messages_list_page2.json"))
    batch = harness.connector.changes(mailbox(), "inbox", None)
    assert (batch.full_resync, batch.cursor, [r.provider_id for r in batch.refs]) == (
        False,
        "1850007",
        ["18f0aaaa00000001"],
    )


def test_an_empty_history_is_read_once_and_keeps_the_cursor() -> None:
    # The retry after a push lives in the mailbox service (tests/shared/mailboxes), not here.
    harness = Harness(ok("history_empty.json"))
    batch = harness.connector.changes(mailbox(), "INBOX", "1841402")
    assert (batch.refs, batch.cursor, harness.sleeps, len(harness.requests)) == ([], "1841402", [], 1)


def test_raw_mime_is_decoded_and_intake_finds_the_pdf(pdf: bytes) -> None:
    eml = invoice_eml(pdf)
    response = json.loads(recorded("message_raw.json")) | {"raw": b64url(eml), "sizeEstimate": len(eml)}
    harness = Harness(({"status": "200"}, json.dumps(response)))
    ref = MessageRef(mailbox_id="ap-gmail", provider_id="18f0a1b2c3d4e5f6", folder="INBOX")

    raw = harness.connector.fetch_mime(mailbox(), ref)

    assert raw == eml
    _, url, query = harness.call(0)
    assert (url, query["format"]) == (f"{API}/messages/18f0a1b2c3d4e5f6", ["raw"])
    parsed = parse_message(raw, mailbox="ap@example.com")
    pdfs = [carrier for carrier in parsed.carriers if carrier.content_type == "application/pdf"]
    assert [carrier.data for carrier in pdfs] == [pdf]
    assert parsed.mail.message_id == "inv-2023-03-0008@azureinterior.example"


def test_when_raw_is_refused_the_message_is_rebuilt_from_parts(pdf: bytes) -> None:
    full = json.loads(recorded("message_full.json"))
    full["payload"]["parts"][0]["body"] = {"size": 46, "data": b64url(b"Please find attached invoice.\r\n")}
    attachment = json.loads(recorded("attachment_get.json")) | {"size": len(pdf), "data": b64url(pdf)}
    harness = Harness(
        ({"status": "400"}, json.dumps({"error": {"code": 400, "message": "Message too large for raw format"}})),
        ({"status": "200"}, json.dumps(full)),
        ({"status": "200"}, json.dumps(attachment)),
    )
    ref = MessageRef(mailbox_id="ap-gmail", provider_id="18f0a1b2c3d4e5f6")

    raw = harness.connector.fetch_mime(mailbox(), ref)

    assert harness.call(1)[2]["format"] == ["full"]
    assert harness.call(2)[1] == f"{API}/messages/18f0a1b2c3d4e5f6/attachments/ANGjdJ8wq0-attachment-id"
    parsed = parse_message(raw)
    assert [c.data for c in parsed.carriers if c.content_type == "application/pdf"] == [pdf]
    assert parsed.mail.message_id == "inv-2023-03-0008@azureinterior.example"
    assert parsed.mail.subject == "Invoice INV/2023/03/0008"


def test_a_deleted_message_is_reported_as_gone() -> None:
    harness = Harness(error(404, "error_404_history.json"))
    with pytest.raises(MessageGoneError):
        harness.connector.fetch_mime(mailbox(), MessageRef(mailbox_id="ap-gmail", provider_id="18f0dead"))


def test_mark_read_removes_the_unread_label() -> None:
    harness = Harness(({"status": "200"}, '{"id": "m1", "threadId": "m1", "labelIds": ["INBOX"]}'))
    harness.connector.after_processing(
        mailbox(after=AfterProcessing.MARK_READ), MessageRef(mailbox_id="x", provider_id="m1")
    )
    method, url, _ = harness.call(0)
    assert (method, url) == ("POST", f"{API}/messages/m1/modify")
    assert harness.body(0) == {"addLabelIds": [], "removeLabelIds": ["UNREAD"]}


def test_label_rule_resolves_the_label_by_name_and_creates_a_missing_one() -> None:
    modified = ({"status": "200"}, '{"id": "m1", "threadId": "m1", "labelIds": ["Label_9"]}')
    harness = Harness(ok("labels_list.json"), modified)
    rules = {"after": AfterProcessing.LABEL, "target_label": "papyr/processed"}
    harness.connector.after_processing(mailbox(**rules), MessageRef(mailbox_id="x", provider_id="m1"))
    assert harness.body(1) == {"addLabelIds": ["Label_9"], "removeLabelIds": []}

    created = ({"status": "200"}, '{"id": "Label_12", "name": "Papyr/Paid", "type": "user"}')
    harness = Harness(ok("labels_list.json"), created, modified)
    rules = {"after": AfterProcessing.LABEL, "target_label": "Papyr/Paid"}
    harness.connector.after_processing(mailbox(**rules), MessageRef(mailbox_id="x", provider_id="m1"))
    assert (harness.call(1)[0], harness.call(1)[1]) == ("POST", f"{API}/labels")
    assert harness.body(1)["name"] == "Papyr/Paid"
    assert harness.body(2) == {"addLabelIds": ["Label_12"], "removeLabelIds": []}


def test_move_rule_files_the_mail_out_of_the_watched_label() -> None:
    harness = Harness(ok("labels_list.json"), ({"status": "200"}, '{"id": "m1"}'))
    rules = {"after": AfterProcessing.MOVE, "target_folder": "Papyr/Processed"}
    harness.connector.after_processing(mailbox(**rules), MessageRef(mailbox_id="x", provider_id="m1", folder="INBOX"))
    assert harness.body(1) == {"addLabelIds": ["Label_9"], "removeLabelIds": ["INBOX"]}


def test_after_processing_a_vanished_message_is_not_an_error() -> None:
    harness = Harness(error(404, "error_404_history.json"))
    rules = mailbox(after=AfterProcessing.MARK_READ)
    harness.connector.after_processing(rules, MessageRef(mailbox_id="x", provider_id="gone"))
    assert len(harness.requests) == 1


def test_watch_request_and_subscription_then_renew_and_stop() -> None:
    harness = Harness(ok("labels_list.json"), ok("watch.json"), ok("watch.json"), ({"status": "204"}, ""))
    box = mailbox()

    subscription = harness.connector.subscribe(box, "Invoices", "https://unused.example/api", "unused-state")

    method, url, _ = harness.call(1)
    assert (method, url) == ("POST", f"{API}/watch")
    assert harness.body(1) == {"topicName": TOPIC, "labelIds": ["Label_7"], "labelFilterBehavior": "include"}
    assert subscription == Subscription(
        mailbox_id="ap-gmail",
        id="1841233",
        resource="Label_7",
        expires_at=datetime(2025, 3, 11, 12, 0, tzinfo=UTC),
    )

    renewed = harness.connector.renew(box, subscription)
    assert harness.body(2) == harness.body(1)
    assert renewed.expires_at == subscription.expires_at

    harness.connector.unsubscribe(box, renewed)
    assert harness.call(3)[:2] == ("POST", f"{API}/stop")


def test_watch_needs_a_pubsub_topic() -> None:
    box = mailbox().model_copy(update={"config": {}})
    with pytest.raises(ValueError, match="topic_name"):
        Harness().connector.subscribe(box, "INBOX", "", "")


def test_rate_limits_and_server_errors_are_retried_with_backoff() -> None:
    harness = Harness(
        error(429, "error_429.json", **{"retry-after": "7"}),
        error(500, "error_500.json"),
        error(403, "error_403_user_rate.json"),
        ok("history_empty.json"),
    )
    batch = harness.connector.changes(mailbox(), "INBOX", "1841400")
    assert harness.sleeps == [7.0, 2.0, 4.0]  # Retry-After honoured, else exponential
    assert batch.cursor == "1841402"


def test_retries_are_bounded_and_other_errors_are_not_retried() -> None:
    harness = Harness(*[error(503, "error_500.json")] * 5)
    with pytest.raises(HttpError) as raised:
        harness.connector.changes(mailbox(), "INBOX", "1841400")
    assert raised.value.status_code == 503
    assert harness.sleeps == [1.0, 2.0, 4.0, 8.0]

    harness = Harness(error(403, "error_403_forbidden.json"))
    with pytest.raises(HttpError):
        harness.connector.changes(mailbox(), "INBOX", "1841400")
    assert harness.sleeps == []
