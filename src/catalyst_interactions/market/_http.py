"""The HTTP side of the vendor providers (Polygon, Tiingo): one client per provider, every
HTTP outcome turned into a :class:`MarketDataError`, and answers decoded straight into the
vendor's typed payload structs, so a malformed answer is one clear error, never a KeyError
deep in the provider. Turning decoded rows into bars is ``assemble.py``'s job."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

import httpx
import msgspec

from ..member_errors import parse_retry_after
from ..secret import Secret
from .errors import ProviderRateLimited, ProviderUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


_decoders: dict[object, msgspec.json.Decoder[Any]] = {}


def _decoder(into: object) -> msgspec.json.Decoder[Any]:
    """One decoder per payload type, built on first use (building one compiles its schema)."""
    decoder = _decoders.get(into)
    if decoder is None:
        decoder = _decoders[into] = msgspec.json.Decoder(into)
    return decoder


class VendorProvider:
    """The base of a market-data provider that reaches a vendor's REST API with a key.

    A subclass names the vendor (``name``), where it lives (``default_base_url``) and how the
    key travels (``auth_scheme``: ``Authorization: <scheme> <key>``, never in the URL); it
    asks with :meth:`get`. Close it with :meth:`aclose` or use it as an ``async with``.
    """

    name: str
    default_base_url: ClassVar[str]
    auth_scheme: ClassVar[str]

    def __init__(
        self,
        api_key: Secret,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url or self.default_base_url,
            transport=transport,
            timeout=timeout,
            headers={
                "Authorization": f"{self.auth_scheme} {api_key.reveal()}",
                "Accept": "application/json",
            },
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def shape_error(self) -> ProviderUnavailable:
        """The error for an answer that decodes but is not what the vendor documents."""
        return ProviderUnavailable(f"{self.name} sent data in an unexpected shape.")

    async def get(self, path: str, params: dict[str, str], into: type[T]) -> T | None:
        """GET ``path`` and decode a 2xx answer into ``into``; None for a 404.

        Raises :class:`ProviderRateLimited` (429, or Tiingo's plain-text quota answer) and
        :class:`ProviderUnavailable` (401/403, other 4xx, 5xx, transport errors, a body that
        is not JSON, or JSON not of the payload's shape). The URL is never put into an error
        or a log line, because some vendors accept keys in query strings: only the provider's
        name and the status are.
        """
        provider = self.name
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException as exc:
            log.warning("%s request timed out", provider)
            raise ProviderUnavailable(f"{provider} did not answer in time.") from exc
        except httpx.HTTPError as exc:
            log.warning("%s request failed: %s", provider, type(exc).__name__)
            raise ProviderUnavailable(f"{provider} could not be reached.") from exc
        status = response.status_code
        if status == 429:
            raise ProviderRateLimited(
                f"{provider} is rate limiting us; try again in a minute.",
                parse_retry_after(response.headers.get("retry-after")),
            )
        if status in (401, 403):
            log.error("%s rejected our credentials or plan (HTTP %d)", provider, status)
            raise ProviderUnavailable(f"{provider} refused the request (API key or plan).")
        if status >= 500:
            log.warning("%s answered HTTP %d", provider, status)
            raise ProviderUnavailable(f"{provider} is having trouble (HTTP {status}).")
        if status == 404:
            return None  # callers decide what is missing; bodies vary (JSON, HTML)
        if status >= 400:
            log.warning("%s answered HTTP %d", provider, status)
            raise ProviderUnavailable(f"{provider} rejected the request (HTTP {status}).")
        body = response.content
        try:
            decoded: T = _decoder(into).decode(body)
        except msgspec.ValidationError as exc:
            # Checked while parsing, so a wrong type can be found before broken JSON is.
            if not _is_json(body):
                raise self._unreadable(body) from exc
            log.warning("%s answer does not match its documented shape: %s", provider, exc)
            raise self.shape_error() from exc
        except msgspec.DecodeError as exc:
            raise self._unreadable(body) from exc
        return decoded

    def _unreadable(self, body: bytes) -> ProviderRateLimited | ProviderUnavailable:
        # Tiingo reports some quota exhaustion as a plain-text 200 ("You have run over ...").
        if b"run over your" in body[:200]:
            return ProviderRateLimited(f"{self.name} usage limit reached.")
        return ProviderUnavailable(f"{self.name} sent an unreadable response.")


def _is_json(body: bytes) -> bool:
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False
    return True
