"""GraphConnector driven through httpx.MockTransport serving the documented Graph shapes in recorded/."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.intake import parse_message
from shared.mailboxes.graph import GraphConnector, GraphError, parse_retry_after
from shared.mailboxes.models import AfterProcessing, Mailbox, MailRules, MessageRef, Provider, Subscription

RECORDED = Path(__file__).parent / "recorded"
NOW = datetime(2024, 3, 19, 18, 13, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def recorded(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=(RECORDED / name).read_bytes(), headers={"Content-Type": "application/json", **(headers or {})}
    )


class RecordedGraph:
    """Serves queued responses per (method, path) and records every request it saw."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[httpx.Response | Handler]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *responses: httpx.Response | Handler) -> None:
        self.routes.setdefault((method, path), []).extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path.replace("()", ""))  # Graph serves delta() and delta alike
        queue = self.routes.get(key)
        if not queue:
            return httpx.Response(599, text=f"no recorded response for {key}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


@pytest.fixture
def graph() -> RecordedGraph:
    return RecordedGraph()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def connector(graph: RecordedGraph, waits: list[float]) -> Iterator[GraphConnector]:
    instance = GraphConnector(
        lambda: "delegated-test-token", transport=httpx.MockTransport(graph), sleep=waits.append, clock=lambda: NOW
    )
    yield instance
    instance.close()


def mailbox(**rules: object) -> Mailbox:
    return Mailbox(
        id="mb-ap",
        provider=Provider.OUTLOOK,
        address="ap@contoso.com",
        rules=MailRules.model_validate(rules),
        created_at=NOW,
    )


INBOX_DELTA = "/v1.0/users/ap@contoso.com/mailFolders/inbox/messages/delta"


def test_initial_delta_follows_next_link_and_returns_the_delta_link(
    connector: GraphConnector, graph: RecordedGraph
) -> None:
    graph.on("GET", INBOX_DELTA, recorded("delta_page1.json"), recorded("delta_page2.json"))

    batch = connector.changes(mailbox(), "Inbox", None)

    assert [ref.provider_id for ref in batch.refs] == ["AAMkADNkNAAAgWkAAA", "AAMkADNkNAAAgWkBBB", "AAMkADNkNAAAgWkCCC"]
    assert batch.refs[0].sender == "billing@fabrikam.com"
    assert batch.refs[0].internet_message_id == "<INV-2024-0042@fabrikam.com>"
    assert {ref.folder for ref in batch.refs} == {"Inbox"} and {ref.mailbox_id for ref in batch.refs} == {"mb-ap"}
    assert batch.cursor is not None and "$deltatoken=LztZwWjo5" in batch.cursor
    assert batch.complete and not batch.full_resync

    first, second = graph.requests
    query = parse_qs(urlsplit(str(first.url)).query)
    assert query["$select"] == ["id,internetMessageId,from,hasAttachments,receivedDateTime,isRead"]
    assert query["$filter"] == [f"receivedDateTime ge {(NOW - timedelta(days=30)):%Y-%m-%dT%H:%M:%SZ}"]
    assert first.headers["Authorization"] == "Bearer delegated-test-token"
    assert first.headers["Prefer"] == "odata.maxpagesize=50"
    assert parse_qs(urlsplit(str(second.url)).query) == {"$skiptoken": ["GwcBoTmPuoTQWfcsAbkYM"]}


def test_saved_delta_link_is_resumed_as_is(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("GET", INBOX_DELTA, recorded("delta_page2.json"))
    cursor = json.loads((RECORDED / "delta_page2.json").read_text())["@odata.deltaLink"]

    batch = connector.changes(mailbox(), "inbox", cursor)

    assert [ref.provider_id for ref in batch.refs] == ["AAMkADNkNAAAgWkCCC"]  # the @removed entry is ignored
    [request] = graph.requests
    assert request.url == httpx.URL(cursor)
    assert "$filter" not in parse_qs(urlsplit(str(request.url)).query)


def test_stale_delta_link_410_restarts_a_bounded_initial_sync(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("GET", INBOX_DELTA, recorded("error_410_sync_state_not_found.json", 410), recorded("delta_resync.json"))

    batch = connector.changes(
        mailbox(), "Inbox", "https://graph.microsoft.com/v1.0" + INBOX_DELTA[5:] + "?$deltatoken=old"
    )

    assert batch.full_resync and batch.complete
    assert [ref.provider_id for ref in batch.refs] == ["AAMkADNkNAAAgWkEEE"]
    assert batch.cursor is not None and batch.cursor.endswith("fresh-after-resync-0001")
    stale, fresh = graph.requests
    assert parse_qs(urlsplit(str(stale.url)).query) == {"$deltatoken": ["old"]}
    assert "receivedDateTime ge" in parse_qs(urlsplit(str(fresh.url)).query)["$filter"][0]


def test_delta_stops_after_max_pages_with_the_next_link_as_cursor(graph: RecordedGraph) -> None:
    graph.on("GET", INBOX_DELTA, recorded("delta_page1.json"))
    instance = GraphConnector(lambda: "t", transport=httpx.MockTransport(graph), max_pages=1, clock=lambda: NOW)
    try:
        batch = instance.changes(mailbox(), "Inbox", None)
    finally:
        instance.close()

    assert not batch.complete
    assert batch.cursor is not None and "$skiptoken=GwcBoTmPuoTQWfcsAbkYM" in batch.cursor
    assert len(batch.refs) == 2


def test_throttling_honours_retry_after_seconds_and_http_date(
    connector: GraphConnector, graph: RecordedGraph, waits: list[float]
) -> None:
    in_90_s = (datetime.now(UTC) + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    graph.on(
        "GET",
        INBOX_DELTA,
        recorded("error_429_throttled.json", 429, {"Retry-After": "7"}),
        recorded("error_429_throttled.json", 503, {"Retry-After": in_90_s}),
        recorded("delta_page2.json"),
    )

    batch = connector.changes(mailbox(), "Inbox", None)

    assert len(batch.refs) == 1
    assert waits[0] == 7.0
    assert 80 <= waits[1] <= 90  # the HTTP date, converted to seconds from now
    assert len(graph.requests) == 3


def test_throttling_gives_up_after_bounded_retries(graph: RecordedGraph) -> None:
    waits: list[float] = []
    graph.on("GET", INBOX_DELTA, recorded("error_429_throttled.json", 429, {"Retry-After": "1"}))
    instance = GraphConnector(lambda: "t", transport=httpx.MockTransport(graph), sleep=waits.append, max_retries=2)
    try:
        with pytest.raises(GraphError) as raised:
            instance.changes(mailbox(), "Inbox", None)
    finally:
        instance.close()

    assert (raised.value.status, raised.value.code) == (429, "ApplicationThrottled")
    assert waits == [1.0, 1.0] and len(graph.requests) == 3


def test_other_errors_raise_graph_error_with_status_and_code(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("GET", INBOX_DELTA, httpx.Response(403, json={"error": {"code": "ErrorAccessDenied", "message": "no"}}))

    with pytest.raises(GraphError) as raised:
        connector.changes(mailbox(), "Inbox", None)

    assert (raised.value.status, raised.value.code, raised.value.message) == (403, "ErrorAccessDenied", "no")


def invoice_mail(shared_data: Path) -> bytes:
    """What $value returns for a mail with a PDF fileAttachment and an itemAttachment (a forwarded mail)."""
    pdf = (shared_data / "invoice2data" / "AzureInterior.pdf").read_bytes()
    other_pdf = (shared_data / "invoice2data" / "QualityHosting.pdf").read_bytes()
    forwarded = EmailMessage()
    forwarded["From"] = "billing@azureinterior.example"
    forwarded["Subject"] = "Original invoice"
    forwarded["Message-ID"] = "<inner-1@azureinterior.example>"
    forwarded.set_content("Invoice attached.")
    forwarded.add_attachment(other_pdf, maintype="application", subtype="pdf", filename="QualityHosting.2024.pdf")
    outer = EmailMessage()
    outer["From"] = "Azure Interior <billing@azureinterior.example>"
    outer["To"] = "ap@contoso.com"
    outer["Subject"] = "Invoice INV/2023/00003"
    outer["Message-ID"] = "<INV-2023-00003@azureinterior.example>"
    outer["Date"] = "Mon, 18 Mar 2024 09:15:02 +0000"
    outer.set_content("Please find our invoice attached.")
    outer.add_attachment(pdf, maintype="application", subtype="pdf", filename="AzureInterior.pdf")
    outer.add_attachment(forwarded)
    return outer.as_bytes()


def test_fetch_mime_streams_value_that_intake_parses(
    connector: GraphConnector, graph: RecordedGraph, shared_data: Path
) -> None:
    raw = invoice_mail(shared_data)
    path = "/v1.0/users/ap@contoso.com/messages/AAMkADNkNAAAgWkAAA/$value"
    graph.on("GET", path, httpx.Response(200, content=raw, headers={"Content-Type": "text/plain"}))

    fetched = connector.fetch_mime(mailbox(), MessageRef(mailbox_id="mb-ap", provider_id="AAMkADNkNAAAgWkAAA"))

    assert fetched == raw
    parsed = parse_message(fetched, mailbox="ap@contoso.com")
    assert parsed.errors == []
    names = sorted(carrier.filename or "" for carrier in parsed.carriers)
    assert names == ["AzureInterior.pdf", "QualityHosting.2024.pdf"]
    assert graph.requests[0].headers["Authorization"] == "Bearer delegated-test-token"


def test_fetch_mime_of_a_vanished_message_raises_not_found(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("GET", "/v1.0/users/ap@contoso.com/messages/gone/$value", recorded("error_404_item_not_found.json", 404))

    with pytest.raises(GraphError) as raised:
        connector.fetch_mime(mailbox(), MessageRef(mailbox_id="mb-ap", provider_id="gone"))

    assert raised.value.is_not_found and raised.value.code == "ErrorItemNotFound"


def test_mark_read_patches_is_read(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("PATCH", "/v1.0/users/ap@contoso.com/messages/m1", httpx.Response(200, json={"id": "m1", "isRead": True}))

    connector.after_processing(
        mailbox(after=AfterProcessing.MARK_READ), MessageRef(mailbox_id="mb-ap", provider_id="m1")
    )

    [request] = graph.requests
    body = json.loads(request.content)
    assert request.method == "PATCH"
    assert body.pop("isRead") is True
    assert body == {"@odata.type": "#microsoft.graph.message"}  # the SDK names the entity type; nothing else changes


def test_move_resolves_the_folder_by_display_name_once(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("GET", "/v1.0/users/ap@contoso.com/mailFolders", recorded("mail_folders_by_name.json"))
    for message_id in ("m1", "m2"):
        graph.on(
            "POST", f"/v1.0/users/ap@contoso.com/messages/{message_id}/move", httpx.Response(201, json={"id": "n"})
        )
    box = mailbox(after=AfterProcessing.MOVE, target_folder="Processed")

    connector.after_processing(box, MessageRef(mailbox_id="mb-ap", provider_id="m1"))
    connector.after_processing(box, MessageRef(mailbox_id="mb-ap", provider_id="m2"))

    assert graph.paths() == [
        "GET /v1.0/users/ap@contoso.com/mailFolders",
        "POST /v1.0/users/ap@contoso.com/messages/m1/move",
        "POST /v1.0/users/ap@contoso.com/messages/m2/move",
    ]
    assert parse_qs(urlsplit(str(graph.requests[0].url)).query)["$filter"] == ["displayName eq 'Processed'"]
    folder_id = json.loads((RECORDED / "mail_folders_by_name.json").read_text())["value"][0]["id"]
    # msgraph-sdk spells the action parameter "DestinationId"; Graph matches action parameters case-insensitively.
    assert {key.lower(): value for key, value in json.loads(graph.requests[1].content).items()} == {
        "destinationid": folder_id
    }


def test_after_processing_ignores_a_message_that_disappeared(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("PATCH", "/v1.0/users/ap@contoso.com/messages/gone", recorded("error_404_item_not_found.json", 404))

    connector.after_processing(
        mailbox(after=AfterProcessing.MARK_READ), MessageRef(mailbox_id="mb-ap", provider_id="gone")
    )

    assert len(graph.requests) == 1


def test_subscribe_posts_the_documented_body(connector: GraphConnector, graph: RecordedGraph) -> None:
    graph.on("POST", "/v1.0/subscriptions", recorded("subscription_created.json", 201))
    url = "https://papyr.example.com/api/notifications/graph"

    subscription = connector.subscribe(mailbox(), "Inbox", url, "s3cr3t-client-state-0123456789")

    [request] = graph.requests
    body = json.loads(request.content)
    expires = datetime.fromisoformat(body.pop("expirationDateTime").replace("Z", "+00:00"))
    assert body == {
        "changeType": "created",
        "resource": "/users/ap@contoso.com/mailFolders('inbox')/messages",
        "notificationUrl": url,
        "lifecycleNotificationUrl": url,
        "clientState": "s3cr3t-client-state-0123456789",
    }
    assert timedelta(0) < expires - NOW <= timedelta(minutes=10080)
    assert subscription.id == "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
    assert subscription.expires_at == datetime(2024, 3, 26, 18, 13, tzinfo=UTC)
    assert subscription.client_state == "s3cr3t-client-state-0123456789"
    assert subscription.mailbox_id == "mb-ap" and subscription.folder == "Inbox"


def test_subscribe_refuses_a_client_state_graph_would_reject(connector: GraphConnector) -> None:
    with pytest.raises(ValueError):
        connector.subscribe(mailbox(), "Inbox", "https://papyr.example.com/api/notifications/graph", "x" * 129)


def test_renew_patches_expiration_and_renew_at_is_half_the_lifetime(
    connector: GraphConnector, graph: RecordedGraph
) -> None:
    subscription_id = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
    graph.on("PATCH", f"/v1.0/subscriptions/{subscription_id}", recorded("subscription_renewed.json"))
    current = Subscription(
        mailbox_id="mb-ap",
        id=subscription_id,
        resource="/users/ap@contoso.com/mailFolders('inbox')/messages",
        expires_at=datetime(2024, 3, 26, 18, 13, tzinfo=UTC),
        client_state="s3cr3t-client-state-0123456789",
    )

    renewed = connector.renew(mailbox(), current)

    [request] = graph.requests
    body = json.loads(request.content)
    assert list(body) == ["expirationDateTime"]
    assert datetime.fromisoformat(body["expirationDateTime"].replace("Z", "+00:00")) > NOW
    assert renewed.expires_at == datetime(2024, 3, 29, 18, 13, tzinfo=UTC)
    assert renewed.client_state == current.client_state and renewed.id == subscription_id
    # default lifetime: Graph's 10080-minute maximum less a 10-minute margin; renew halfway through it
    assert connector.renew_at(renewed) == renewed.expires_at - timedelta(minutes=10070) / 2


def test_unsubscribe_deletes_and_tolerates_an_already_gone_subscription(
    connector: GraphConnector, graph: RecordedGraph
) -> None:
    graph.on("DELETE", "/v1.0/subscriptions/s1", httpx.Response(204))
    graph.on("DELETE", "/v1.0/subscriptions/s2", recorded("error_404_item_not_found.json", 404))
    for subscription_id in ("s1", "s2"):
        connector.unsubscribe(
            mailbox(),
            Subscription(mailbox_id="mb-ap", id=subscription_id, resource="r", expires_at=NOW),
        )

    assert graph.paths() == ["DELETE /v1.0/subscriptions/s1", "DELETE /v1.0/subscriptions/s2"]


def test_a_retry_after_beyond_the_wait_cap_raises_at_once(graph: RecordedGraph, waits: list[float]) -> None:
    graph.on("GET", INBOX_DELTA, recorded("error_429_throttled.json", 429, {"Retry-After": "3600"}))
    with (
        GraphConnector(
            lambda: "t", transport=httpx.MockTransport(graph), sleep=waits.append, max_retry_wait_s=300
        ) as instance,
        pytest.raises(GraphError) as raised,
    ):
        instance.changes(mailbox(), "Inbox", None)

    assert raised.value.retry_after == 3600.0 and raised.value.retryable
    assert waits == [] and len(graph.requests) == 1


def test_parse_retry_after_reads_seconds_and_dates_and_ignores_junk() -> None:
    now = datetime(2024, 3, 19, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Tue, 19 Mar 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Tue, 19 Mar 2024 11:00:00 GMT", now=now) == 0.0  # already past: retry now
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
