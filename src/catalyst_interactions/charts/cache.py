"""Render cache: PNGs keyed by what they show, kept in a pluggable :class:`ChartStore`.

The key is (ticker, timeframe, sorted indicators, bars.version) plus the quote's figures when
a quote is drawn in the title, so any change in the data gives a new key and entries never
need invalidating; stores may expire old objects by age (e.g. an S3 lifecycle rule).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import httpx

from ..market.tickers import normalize_ticker
from ..market.timeframe import Timeframe
from ..secret import Secret
from ._sigv4 import sign_headers

log = logging.getLogger(__name__)


class ChartStoreError(Exception):
    """A store could not read or write (I/O error, S3 error status, network)."""


class ChartStore(Protocol):
    """Bytes by key. ``get`` returns ``None`` for a missing key; errors raise ChartStoreError."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, data: bytes) -> None: ...


def chart_key(
    *,
    ticker: str,
    timeframe: Timeframe,
    indicators: Iterable[str],
    version: str,
    quote_figures: tuple[float, float, float] | None = None,
    as_of: str | None = None,
) -> str:
    """``charts/v1/{TICKER}/{TF}/{digest}.png``: a path-safe, deterministic key.

    ``as_of`` is the time printed on the image (to the minute): without it a cached chart
    would keep showing the time of its first render.
    """
    symbol = normalize_ticker(ticker)
    parts = [version, ",".join(sorted(i.lower() for i in indicators))]
    if as_of is not None:
        parts.append(as_of)
    if quote_figures is not None:
        parts.append(",".join(f"{v:.6g}" for v in quote_figures))
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"charts/v1/{symbol}/{timeframe.value}/{digest}.png"


class RenderCache:
    """Look a chart up in ``store``; on a miss run ``render`` and store the result.

    Store failures never fail a chart: a read error counts as a miss and a write error is
    logged, because the store is an optimisation.
    """

    def __init__(self, store: ChartStore) -> None:
        self._store = store

    async def get_or_render(
        self, key: str, render: Callable[[], Awaitable[bytes]]
    ) -> tuple[bytes, bool]:
        """Return ``(png, hit)``."""
        try:
            cached = await self._store.get(key)
        except ChartStoreError:
            log.warning("chart store read failed; rendering")
            cached = None
        if cached is not None:
            return cached, True
        png = await render()
        try:
            await self._store.put(key, png)
        except ChartStoreError:
            log.warning("chart store write failed; continuing without caching")
        return png, False


class LocalDiskStore:
    """Files under ``root``; writes are atomic (temp file + ``os.replace``).

    Reads and writes are small (~100 KB) local-disk calls done inline: a thread hop would
    cost more than the I/O.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if self._root.resolve() not in path.parents:
            raise ChartStoreError("key escapes the store root")
        return path

    async def get(self, key: str) -> bytes | None:
        return self._read(key)

    async def put(self, key: str, data: bytes) -> None:
        self._write(key, data)

    def _read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ChartStoreError(f"read failed: {exc.strerror}") from exc

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ChartStoreError(f"write failed: {exc.strerror}") from exc


class S3Store:
    """An S3-compatible bucket over path-style URLs (``{endpoint}/{bucket}/{key}``), SigV4.

    Works with AWS S3, MinIO, Cloudflare R2 and moto. Close it with :meth:`aclose`.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: Secret,
        region: str = "us-east-1",
        prefix: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(endpoint_url)
        self._host = parts.netloc
        self._base_path = parts.path.rstrip("/")
        self._bucket = bucket
        self._access_key = access_key
        self._secret_key = secret_key
        self._region = region
        self._prefix = prefix.strip("/")
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=f"{parts.scheme}://{parts.netloc}", transport=transport, timeout=timeout
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _object_path(self, key: str) -> str:
        full = f"{self._prefix}/{key}" if self._prefix else key
        return f"{self._base_path}/{self._bucket}/{full}"

    async def _send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        signed = sign_headers(
            method=method,
            host=self._host,
            path=path,
            headers=headers,
            payload_sha256=hashlib.sha256(body).hexdigest(),
            access_key=self._access_key,
            secret_key=self._secret_key,
            region=self._region,
            now=datetime.fromtimestamp(self._clock(), UTC),
        )
        try:
            return await self._client.request(
                method, quote(path, safe="/-_.~"), content=body, headers=signed
            )
        except httpx.HTTPError as exc:
            raise ChartStoreError(f"S3 request failed: {type(exc).__name__}") from exc

    async def get(self, key: str) -> bytes | None:
        response = await self._send("GET", self._object_path(key))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ChartStoreError(f"S3 GET answered HTTP {response.status_code}")
        return response.content

    async def put(self, key: str, data: bytes) -> None:
        response = await self._send(
            "PUT", self._object_path(key), data, {"content-type": "image/png"}
        )
        if response.status_code != 200:
            raise ChartStoreError(f"S3 PUT answered HTTP {response.status_code}")

    async def create_bucket(self) -> None:
        """Create the bucket (idempotent for its owner); for tests and first-time setup."""
        response = await self._send("PUT", f"{self._base_path}/{self._bucket}")
        if response.status_code not in (200, 409):
            raise ChartStoreError(f"S3 CreateBucket answered HTTP {response.status_code}")
