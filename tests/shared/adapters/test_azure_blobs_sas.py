"""Short-lived read links (SAS): account-key SAS against a real Azurite (fetched with httpx, an
expired one refused), and user-delegation SAS through the documented Get User Delegation Key
exchange at the HTTP transport seam (Azurite serves no OAuth over plain http)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport, RequestsTransportResponse
from defusedxml import ElementTree

from shared.adapters.azure.blobs import AzureBlobStore


@pytest.mark.azurite
def test_a_sas_link_reads_the_blob_and_nothing_else(azurite_connection_string: str, azure_container: str) -> None:
    store = AzureBlobStore(azurite_connection_string, azure_container)
    store.put("reports/abc.pdf", b"%PDF-1.7 the report", "application/pdf")

    url = store.sas_url("reports/abc.pdf", timedelta(minutes=15))

    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and "sig" in query and "se" in query
    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.content == b"%PDF-1.7 the report"
    assert fetched.headers["content-type"] == "application/pdf"
    # Read-only: the same signature cannot overwrite the blob.
    written = httpx.put(url, content=b"forged", headers={"x-ms-blob-type": "BlockBlob"})
    assert written.status_code == 403
    assert store.get("reports/abc.pdf") == b"%PDF-1.7 the report"


@pytest.mark.azurite
def test_an_expired_sas_link_is_refused(azurite_connection_string: str, azure_container: str) -> None:
    AzureBlobStore(azurite_connection_string, azure_container).put("reports/old.pdf", b"%PDF old")
    # A store whose clock reads two hours ago issues links that expired an hour and a half ago.
    past = AzureBlobStore(
        azurite_connection_string, azure_container, clock=lambda: datetime.now(UTC) - timedelta(hours=2)
    )

    refused = httpx.get(past.sas_url("reports/old.pdf", timedelta(minutes=30)))

    assert refused.status_code == 403
    assert b"%PDF old" not in refused.content


@pytest.mark.azurite
@pytest.mark.parametrize("expiry", [timedelta(0), timedelta(seconds=-1), timedelta(days=8)])
def test_sas_expiry_is_bounded(azurite_connection_string: str, azure_container: str, expiry: timedelta) -> None:
    store = AzureBlobStore(azurite_connection_string, azure_container)
    with pytest.raises(ValueError, match="SAS expiry"):
        store.sas_url("reports/x.pdf", expiry)


# Get User Delegation Key: POST https://<account>.blob.core.windows.net/?restype=service&comp=userdelegationkey
# with <KeyInfo><Start/><Expiry/></KeyInfo>; the response body as documented in the Blob REST API reference.
_DELEGATION_KEY_XML = """<?xml version="1.0" encoding="utf-8"?>
<UserDelegationKey>
  <SignedOid>6d8bd9f4-5a1e-4c62-9d7a-2f5d3c1e0a11</SignedOid>
  <SignedTid>72f988bf-86f1-41af-91ab-2d7cd011db47</SignedTid>
  <SignedStart>2030-01-01T00:00:00Z</SignedStart>
  <SignedExpiry>2030-01-02T00:00:00Z</SignedExpiry>
  <SignedService>b</SignedService>
  <SignedVersion>2025-01-05</SignedVersion>
  <Value>MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=</Value>
</UserDelegationKey>"""


class _Credential:
    """A TokenCredential (what DefaultAzureCredential / managed identity is to the SDK)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("storage-token", 4_102_444_800)


class _RecordedStorage(HttpTransport):  # type: ignore[type-arg]
    """Answers Create Container (201) and Get User Delegation Key (the documented body); records requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        self.requests.append((request.method, request.url, dict(request.headers), body))
        raw = requests.Response()
        if "comp=userdelegationkey" in request.url:
            raw.status_code, payload = 200, _DELEGATION_KEY_XML.encode()
            raw.headers.update({"Content-Type": "application/xml", "x-ms-version": "2025-01-05"})
        else:
            raw.status_code, payload = 201, b""
        raw.raw = io.BytesIO(payload)
        raw.url, raw.reason = request.url, "recorded"
        return RequestsTransportResponse(request, raw)

    def open(self) -> None: ...

    def close(self) -> None: ...

    def __exit__(self, *args: Any) -> None: ...


def test_with_a_token_credential_links_are_user_delegation_sas() -> None:
    transport = _RecordedStorage()
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    store = AzureBlobStore.from_account_url(
        "https://papyrdocs.blob.core.windows.net", _Credential(), "papyr", clock=lambda: now, transport=transport
    )

    first = store.sas_url("reports/abc.pdf", timedelta(minutes=10))
    second = store.sas_url("exports/abc.json", timedelta(hours=1))

    key_requests = [r for r in transport.requests if "comp=userdelegationkey" in r[1]]
    assert len(key_requests) == 1  # one key serves both links
    method, _, headers, body = key_requests[0]
    assert method == "POST" and headers["Authorization"] == "Bearer storage-token"
    key_info = ElementTree.fromstring(body)
    assert datetime.fromisoformat(key_info.findtext("Expiry").replace("Z", "+00:00")) >= now + timedelta(hours=1)
    assert datetime.fromisoformat(key_info.findtext("Start").replace("Z", "+00:00")) <= now

    parts = urlsplit(first)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "papyrdocs.blob.core.windows.net",
                                                        "/papyr/reports/abc.pdf")
    query = parse_qs(parts.query)
    assert query["skoid"] == ["6d8bd9f4-5a1e-4c62-9d7a-2f5d3c1e0a11"]
    assert query["sktid"] == ["72f988bf-86f1-41af-91ab-2d7cd011db47"]
    assert query["sks"] == ["b"] and query["sp"] == ["r"] and query["spr"] == ["https"]
    assert query["se"] == ["2030-01-01T12:10:00Z"]
    assert "sig" in query
    assert parse_qs(urlsplit(second).query)["se"] == ["2030-01-01T13:00:00Z"]
