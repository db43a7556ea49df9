"""Google's token-signing certificates, fetched over HTTPS and cached as long as Google says.

Pass an instance as ``certs=`` to ``verify_pubsub_jwt``: it is a ``Callable[[], Mapping[str, str]]``.
Google rotates its keys and publishes new ones well before signing with them, so honouring
``Cache-Control: max-age`` is enough; a stale copy is kept on a fetch error for a grace period so a
short outage of the certs endpoint does not turn every push into a 401 (Pub/Sub would retry anyway).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping

import httpx

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"  # {kid: PEM X.509 certificate}
DEFAULT_MAX_AGE_S = 3600.0
STALE_GRACE_S = 6 * 3600.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


class CertsUnavailableError(Exception):
    pass


class GoogleCerts:
    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        url: str = GOOGLE_CERTS_URL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client or httpx.Client(timeout=5.0)
        self._url = url
        self._clock = clock
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}
        self._fresh_until = float("-inf")

    def __call__(self) -> Mapping[str, str]:
        with self._lock:
            now = self._clock()
            if now < self._fresh_until:
                return self._certs
            try:
                self._certs, max_age = self._fetch()
                self._fresh_until = now + max_age
            except (httpx.HTTPError, ValueError, CertsUnavailableError):
                if self._certs and now < self._fresh_until + STALE_GRACE_S:
                    return self._certs
                raise
            return self._certs

    def _fetch(self) -> tuple[dict[str, str], float]:
        response = self._client.get(self._url)
        response.raise_for_status()
        body = response.json()
        if (
            not isinstance(body, dict)
            or not body
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in body.items())
        ):
            raise CertsUnavailableError("certs endpoint did not return {kid: PEM}")
        match = _MAX_AGE.search(response.headers.get("cache-control", ""))
        return dict(body), float(match.group(1)) if match else DEFAULT_MAX_AGE_S
