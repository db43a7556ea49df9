"""BlobStore on Azure Blob Storage (or Azurite), with the same write-once contract as the local
store, plus short-lived read links (SAS) for the dashboard and approval cards.

Writes are conditional: ``put`` uploads with ``If-None-Match: *`` (the SDK's ``overwrite=False``), so
the service itself refuses to replace a blob, whatever other worker raced us. When the blob is
already there, the stored Content-MD5 decides: equal content is a no-op (activities run at least
once), different content is a ``ValueError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    UserDelegationKey,
    generate_blob_sas,
)

from shared.adapters.blob_names import check_blob_name
from shared.ports.blobs import BlobNotFound

Clock = Callable[[], datetime]

# Links go into cards and pages people open now; a user delegation key lives at most 7 days.
MAX_SAS_EXPIRY = timedelta(days=7)
# One delegation key serves many links: asked for this long, renewed when a link would outlive it.
_DELEGATION_KEY_LIFETIME = timedelta(days=1)
# A key (not a link) starts a little in the past, so a service clock slightly behind ours accepts it.
_CLOCK_SKEW = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AzureBlobStore:
    """``client_options`` go to the SDK client (``transport=``, ``raw_request_hook=``, retry settings)."""

    def __init__(
        self, connection_string: str, container: str, *, clock: Clock = _utcnow, **client_options: Any
    ) -> None:
        self._setup(BlobServiceClient.from_connection_string(connection_string, **client_options), container, clock)

    @classmethod
    def from_account_url(
        cls,
        account_url: str,
        credential: TokenCredential,
        container: str,
        *,
        clock: Clock = _utcnow,
        **client_options: Any,
    ) -> AzureBlobStore:
        """With a token credential (managed identity / ``DefaultAzureCredential``): no account key
        anywhere, and SAS links are user-delegation SAS signed with a key the service hands out."""
        store = cls.__new__(cls)
        store._setup(BlobServiceClient(account_url, credential=credential, **client_options), container, clock)
        return store

    def _setup(self, service: BlobServiceClient, container: str, clock: Clock) -> None:
        self._service = service
        self._container = service.get_container_client(container)
        self._clock = clock
        self._delegation_key: tuple[UserDelegationKey, datetime] | None = None
        self._delegation_lock = threading.Lock()
        # Created earlier, or by another worker at the same moment: either way it is there.
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()

    @property
    def container_name(self) -> str:
        return self._container.container_name

    def put(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        check_blob_name(name)
        md5 = hashlib.md5(data, usedforsecurity=False).digest()
        blob = self._container.get_blob_client(name)
        try:
            # overwrite=False: the SDK sends If-None-Match: *, and the service answers 409 when the
            # blob exists. content_md5 is stored on the blob, so the check below needs no download.
            blob.upload_blob(
                data,
                overwrite=False,
                content_settings=ContentSettings(content_type=content_type, content_md5=bytearray(md5)),
            )
        except (ResourceExistsError, ResourceModifiedError):
            self._check_same(name, data, md5)
        return name

    def _check_same(self, name: str, data: bytes, md5: bytes) -> None:
        blob = self._container.get_blob_client(name)
        stored_md5 = blob.get_blob_properties().content_settings.content_md5
        if stored_md5 is not None and bytes(stored_md5) != md5:
            raise ValueError(f"blob {name!r} exists with different content; blobs are write-once")
        if stored_md5 is None and blob.download_blob().readall() != data:
            raise ValueError(f"blob {name!r} exists with different content; blobs are write-once")

    def get(self, name: str) -> bytes:
        check_blob_name(name)
        try:
            return self._container.get_blob_client(name).download_blob().readall()
        except ResourceNotFoundError:
            raise BlobNotFound(name) from None

    def exists(self, name: str) -> bool:
        check_blob_name(name)
        return bool(self._container.get_blob_client(name).exists())

    def content_type(self, name: str) -> str:
        """The stored Content-Type (the local store has none; useful for serving originals)."""
        check_blob_name(name)
        try:
            properties = self._container.get_blob_client(name).get_blob_properties()
        except ResourceNotFoundError:
            raise BlobNotFound(name) from None
        return str(properties.content_settings.content_type)

    def list(self, prefix: str = "") -> list[str]:
        return sorted(self._container.list_blob_names(name_starts_with=prefix or None))

    # -- read links ------------------------------------------------------------------------------

    def sas_url(self, name: str, expiry: timedelta) -> str:
        """A read-only URL to one blob that stops working after ``expiry`` (at most 7 days).

        Account-key SAS when the store was built from a connection string with a key; user-delegation
        SAS (a key from the service, revocable with the identity's role) with a token credential."""
        check_blob_name(name)
        if not timedelta(0) < expiry <= MAX_SAS_EXPIRY:
            raise ValueError(f"SAS expiry must be more than 0 and at most {MAX_SAS_EXPIRY}, not {expiry}")
        expires_at = self._clock() + expiry
        blob = self._container.get_blob_client(name)
        signing: dict[str, Any]
        account_key = getattr(self._service.credential, "account_key", None)
        if account_key:
            signing = {"account_key": account_key}
        else:
            signing = {"user_delegation_key": self._user_delegation_key(expires_at)}
        token = generate_blob_sas(
            account_name=str(self._service.account_name),
            container_name=self.container_name,
            blob_name=name,
            permission=BlobSasPermissions(read=True),
            expiry=expires_at,
            protocol="https" if blob.url.startswith("https://") else None,  # Azurite speaks http
            **signing,
        )
        return f"{blob.url}?{token}"

    def _user_delegation_key(self, needed_until: datetime) -> UserDelegationKey:
        """A cached delegation key valid until at least ``needed_until`` (Get User Delegation Key)."""
        with self._delegation_lock:
            if self._delegation_key is not None and self._delegation_key[1] >= needed_until:
                return self._delegation_key[0]
            now = self._clock()
            key_expiry = min(max(needed_until, now + _DELEGATION_KEY_LIFETIME), now + MAX_SAS_EXPIRY)
            key = self._service.get_user_delegation_key(key_start_time=now - _CLOCK_SKEW, key_expiry_time=key_expiry)
            self._delegation_key = (key, key_expiry)
            return key
