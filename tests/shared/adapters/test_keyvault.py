"""Key Vault through azure-core's HTTP transport seam: the real SecretClient (challenge auth, retries,
deserialisation) talks to a transport serving the documented REST shapes in recorded/keyvault/."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from pydantic import SecretStr

from shared.adapters.azure.keyvault import (
    KeyVaultSecrets,
    SecretReference,
    parse_reference,
    resolve_key_vault_references,
)
from shared.settings import Settings

RECORDED = Path(__file__).parent / "recorded" / "keyvault"


class FakeCredential:
    """A TokenCredential: hands out one token and remembers the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("kv-token", 4_102_444_800)


class RecordedVault(HttpTransport):  # type: ignore[type-arg]
    """Answers like Key Vault: 401 + challenge without a bearer token, else the recorded response
    for (method, path); records every request it sees."""

    def __init__(self, routes: dict[tuple[str, str], str]) -> None:
        self.routes = routes
        self.requests: list[Any] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        # A snapshot: the pipeline mutates and resends the same request object after the challenge.
        self.requests.append(SimpleNamespace(method=request.method, url=request.url, headers=dict(request.headers),
                                             content=request.content))
        url = urlsplit(request.url)
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            recorded = "challenge_401.json"
        else:
            recorded = self.routes[(request.method, url.path)]
        shape = json.loads((RECORDED / recorded).read_text())
        raw = requests.Response()
        raw.status_code = shape["status"]
        raw.headers.update(shape["headers"])
        raw.raw = io.BytesIO(json.dumps(shape["body"]).encode())
        raw.url = request.url
        raw.reason = "recorded"
        response = RestRequestsTransportResponse(request=request, internal_response=raw)  # type: ignore[no-untyped-call]
        response.read()
        return response

    def open(self) -> None: ...

    def close(self) -> None: ...

    def __exit__(self, *args: Any) -> None: ...


def _vault() -> str:
    # Challenges are cached per vault host by the SDK: a fresh host per test keeps tests independent.
    return f"https://papyr-{uuid.uuid4().hex[:8]}.vault.azure.net"


def _authorised(transport: RecordedVault) -> list[Any]:
    return [r for r in transport.requests if r.headers.get("Authorization")]


def test_get_secret_answers_the_challenge_with_a_bearer_token() -> None:
    transport = RecordedVault({("GET", "/secrets/servicebus-connection/"): "get_secret_200.json"})
    credential = FakeCredential()
    vault = KeyVaultSecrets(_vault(), credential, transport=transport)

    value = vault.get("servicebus-connection")

    assert value is not None and value.startswith("Endpoint=sb://papyr-test.servicebus.windows.net/")
    first, second = transport.requests
    assert "Authorization" not in first.headers  # elicits the challenge
    assert second.headers["Authorization"] == "Bearer kv-token"
    assert credential.scopes == [("https://vault.azure.net/.default",)]  # scope from the challenge's resource
    query = parse_qs(urlsplit(second.url).query)
    assert query["api-version"] == [vault._client.api_version]
    assert second.method == "GET"


def test_a_missing_secret_is_none() -> None:
    transport = RecordedVault({("GET", "/secrets/missing/"): "get_secret_404.json"})
    vault = KeyVaultSecrets(_vault(), FakeCredential(), transport=transport)
    assert vault.get("missing") is None


def test_get_a_version_and_set_a_secret() -> None:
    transport = RecordedVault({
        ("GET", "/secrets/servicebus-connection/abc123"): "get_secret_200.json",
        ("PUT", "/secrets/crpsecretname"): "set_secret_200.json",
    })
    vault = KeyVaultSecrets(_vault(), FakeCredential(), transport=transport)

    assert vault.get("servicebus-connection", "abc123") is not None
    assert vault.set("crpsecretname", "mysecretvalue", content_type="text/plain") == "4387e9f3d6e14c459867679a90fd0f79"

    [put] = [r for r in _authorised(transport) if r.method == "PUT"]
    assert json.loads(put.content) == {"value": "mysecretvalue", "contentType": "text/plain"}
    assert put.headers["Content-Type"].startswith("application/json")
    assert "api-version" in parse_qs(urlsplit(put.url).query)


def test_parse_the_app_service_reference_syntaxes() -> None:
    assert parse_reference("plain value") is None
    assert parse_reference("@Microsoft.KeyVault(SecretUri=https://v1.vault.azure.net/secrets/name/)") == \
        SecretReference("https://v1.vault.azure.net", "name", None)
    assert parse_reference("@Microsoft.KeyVault(SecretUri=https://v1.vault.azure.net/secrets/name/ver1)") == \
        SecretReference("https://v1.vault.azure.net", "name", "ver1")
    assert parse_reference("@Microsoft.KeyVault(VaultName=v2;SecretName=other;SecretVersion=ver2)") == \
        SecretReference("https://v2.vault.azure.net", "other", "ver2")
    with pytest.raises(ValueError):
        parse_reference("@Microsoft.KeyVault(SecretName=alone)")
    with pytest.raises(ValueError):
        parse_reference("@Microsoft.KeyVault(SecretUri=http://v.vault.azure.net/keys/k)")


def test_settings_references_are_resolved_through_the_vault() -> None:
    vault_url = _vault()
    transport = RecordedVault({("GET", "/secrets/servicebus-connection/"): "get_secret_200.json"})
    settings = Settings(
        servicebus_connection_string=SecretStr(f"@Microsoft.KeyVault(SecretUri={vault_url}/secrets/servicebus-connection/)"),
        intake_queue="notifications",
    )
    opened: list[str] = []

    def vault_for(url: str) -> KeyVaultSecrets:
        opened.append(url)
        return KeyVaultSecrets(url, FakeCredential(), transport=transport)

    resolved = resolve_key_vault_references(settings, vault_for)

    assert opened == [vault_url]
    assert resolved.servicebus_connection_string is not None
    assert resolved.servicebus_connection_string.get_secret_value().startswith("Endpoint=sb://papyr-test.")
    assert resolved.intake_queue == "notifications"
    assert settings.servicebus_connection_string is not None  # the original is untouched
    assert settings.servicebus_connection_string.get_secret_value().startswith("@Microsoft.KeyVault(")


def test_settings_without_references_are_returned_as_they_are() -> None:
    settings = Settings(intake_queue="q")

    def no_vault(url: str) -> KeyVaultSecrets:
        raise AssertionError("no vault should be opened")

    assert resolve_key_vault_references(settings, no_vault) is settings


def test_an_unresolvable_reference_raises() -> None:
    vault_url = _vault()
    transport = RecordedVault({("GET", "/secrets/missing/"): "get_secret_404.json"})
    settings = Settings(key_vault_url=f"@Microsoft.KeyVault(SecretUri={vault_url}/secrets/missing)")
    with pytest.raises(LookupError, match="key_vault_url"):
        resolve_key_vault_references(settings, lambda url: KeyVaultSecrets(url, FakeCredential(), transport=transport))
