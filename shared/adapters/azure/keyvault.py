"""Key Vault secrets (azure-keyvault-secrets) and Key Vault references in settings.

In Azure, app settings written as Key Vault references
(``@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/<version?>)`` or
``@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<v>])``) are resolved by the
platform with the Function App's managed identity: the process sees the secret. Run off-platform (a
laptop running ``papyr`` against Azure with ``az login``), nothing resolves them, so
``resolve_key_vault_references`` does the same for a loaded ``Settings`` through
``DefaultAzureCredential``. Values that are not references are left as they are; a reference that
cannot be resolved raises (a setting silently holding "@Microsoft.KeyVault(...)" would fail later,
more obscurely).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.transport import HttpTransport
from azure.keyvault.secrets import SecretClient
from pydantic import SecretStr

from shared.settings import Settings

_REFERENCE = re.compile(r"^\s*@Microsoft\.KeyVault\((?P<args>.*)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SecretReference:
    vault_url: str  # https://<vault>.vault.azure.net
    name: str
    version: str | None


def parse_reference(value: str) -> SecretReference | None:
    """The reference written in an app setting, or None when ``value`` is not one."""
    match = _REFERENCE.match(value)
    if match is None:
        return None
    args: dict[str, str] = {}
    for part in match.group("args").split(";"):
        key, sep, item = part.partition("=")
        if sep:
            args[key.strip().lower()] = item.strip()
    if "secreturi" in args:
        uri = urlsplit(args["secreturi"])
        segments = [segment for segment in uri.path.split("/") if segment]
        if uri.scheme != "https" or len(segments) not in (2, 3) or segments[0] != "secrets":
            raise ValueError(f"not a Key Vault secret URI: {args['secreturi']!r}")
        return SecretReference(f"https://{uri.netloc}", segments[1], segments[2] if len(segments) == 3 else None)
    if "vaultname" in args and "secretname" in args:
        return SecretReference(f"https://{args['vaultname']}.vault.azure.net", args["secretname"],
                               args.get("secretversion") or None)
    raise ValueError(f"a Key Vault reference needs SecretUri, or VaultName and SecretName: {value!r}")


class KeyVaultSecrets:
    """Get and set secrets in one vault. ``transport`` is azure-core's HTTP seam (tests serve recorded
    shapes through it); the credential is DefaultAzureCredential / a managed identity in practice."""

    def __init__(
        self, vault_url: str, credential: TokenCredential, *, transport: HttpTransport[Any, Any] | None = None
    ) -> None:
        self.vault_url = vault_url.rstrip("/")
        options: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self._client = SecretClient(self.vault_url, credential, **options)

    def get(self, name: str, version: str | None = None) -> str | None:
        """The secret's value; None when the vault has no such secret (or version)."""
        try:
            secret = self._client.get_secret(name, version)
        except ResourceNotFoundError:
            return None
        return secret.value

    def set(self, name: str, value: str, *, content_type: str | None = None) -> str:
        """Store a new version; returns its version id."""
        secret = self._client.set_secret(name, value, content_type=content_type)
        return str(secret.properties.version)

    def close(self) -> None:
        self._client.close()


def resolve_key_vault_references(
    settings: Settings,
    vault_for: Callable[[str], KeyVaultSecrets] | None = None,
) -> Settings:
    """A copy of ``settings`` with every string / secret field written as a Key Vault reference replaced
    by the secret's value. ``vault_for(vault_url)`` gives the client for a vault (default: one
    ``KeyVaultSecrets`` per vault with ``DefaultAzureCredential``)."""
    references: dict[str, tuple[SecretReference, bool]] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        secret = isinstance(value, SecretStr)
        text = value.get_secret_value() if secret else value
        if isinstance(text, str) and (reference := parse_reference(text)) is not None:
            references[name] = (reference, secret)
    if not references:
        return settings
    clients: dict[str, KeyVaultSecrets] = {}
    factory = vault_for or _default_vault
    updates: dict[str, Any] = {}
    for name, (reference, secret) in references.items():
        if reference.vault_url not in clients:
            clients[reference.vault_url] = factory(reference.vault_url)
        client = clients[reference.vault_url]
        resolved = client.get(reference.name, reference.version)
        if resolved is None:
            raise LookupError(f"setting {name}: secret {reference.name!r} not found in {reference.vault_url}")
        updates[name] = SecretStr(resolved) if secret else resolved
    return settings.model_copy(update=updates)


def secrets_from_settings(settings: Settings, credential: TokenCredential | None = None) -> KeyVaultSecrets:
    """The vault named by ``PAPYR_KEY_VAULT_URL``."""
    if not settings.key_vault_url:
        raise RuntimeError("PAPYR_KEY_VAULT_URL is not set")
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return KeyVaultSecrets(settings.key_vault_url, credential)


def _default_vault(vault_url: str) -> KeyVaultSecrets:
    from azure.identity import DefaultAzureCredential

    return KeyVaultSecrets(vault_url, DefaultAzureCredential())
