"""Render cache: PNGs keyed by what they show, kept in a pluggable :class:`ChartStore`.

The key is (ticker, timeframe, sorted indicators, bars.version) plus the quote's figures when
a quote is drawn in the title, so any change in the data gives a new key and entries never
need invalidating; stores may expire old objects by age (e.g. an S3 lifecycle rule).
"""

from __future__ import annotations

import asyncio
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
        self._rendering: dict[str, asyncio.Future[bytes]] = {}
        """Renders under way in this process, by key: a chart asked for again meanwhile waits
        for that render instead of starting its own (single flight)."""

    async def get_or_render(
        self, key: str, render: Callable[[], Awaitable[bytes]]
    ) -> tuple[bytes, bool]:
        """Return ``(png, hit)``; ``hit``: this call started no render (the PNG came from the
        store, or from a render of the same key another caller had already started)."""
        try:
            cached = await self._store.get(key)
        except ChartStoreError:
            log.warning("chart store read failed; rendering")
            cached = None
        if cached is not None:
            return cached, True
        pending = self._rendering.get(key)
        if pending is not None:
            # Many jobs ask for the same chart when its data changes (every ticker's minute
            # rolls over for all of them at once): one render serves them all.
            return await asyncio.shield(pending), True
        # The render runs as its own task: a caller cancelled meanwhile (its job timed out)
        # does not cancel it for the others waiting on it.
        task = asyncio.ensure_future(self._render_and_store(key, render))
        self._rendering[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task), False

    async def _render_and_store(self, key: str, render: Callable[[], Awaitable[bytes]]) -> bytes:
        png = await render()
        try:
            await self._store.put(key, png)
        except ChartStoreError:
            log.warning("chart store write failed; continuing without caching")
        return png

    def _finished(self, key: str, task: asyncio.Future[bytes]) -> None:
        if self._rendering.get(key) is task:
            del self._rendering[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone (no "never retrieved")


#: Defaults of the local chart cache's bounds (settings CATALYST_CHART_CACHE_MAX_MB / _MAX_AGE_S).
DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_CACHE_MAX_AGE_S = 3600.0


class LocalDiskStore:
    """Files under ``root``, bounded by total size and age, least recently used first out.

    Writes are atomic (temp file + ``os.replace``); files are 0600, directories 0700. A hit
    sets the file's mtime to now, so mtime is the time of last use for every process sharing
    the directory. A file unused for ``max_age_s`` is a miss and is deleted. When the bytes
    written since the last sweep could take the total over ``max_bytes`` (or once a minute),
    a sweep scans the directory, deletes what is too old, then the least recently used files
    until the total is at most 90% of ``max_bytes``. Reads and writes are small (~100 KB)
    local-disk calls done inline: a thread hop would cost more than the I/O; sweeps run in
    a thread.
    """

    SWEEP_EVERY_S = 60.0
    LOW_WATER = 0.9

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
        max_age_s: float = DEFAULT_CACHE_MAX_AGE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 1 or max_age_s <= 0:
            raise ValueError("max_bytes and max_age_s must be positive")
        self._root = Path(root).resolve()
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._clock = clock
        self._total: int | None = None
        """Bytes in the store as of the last sweep plus what this process wrote since."""
        self._last_sweep = 0.0

    def _path(self, key: str) -> Path:
        # Checked by its parts, not with Path.resolve(): that costs a system call per path
        # component on every lookup (7 % of a worker's CPU at 300 charts/s). Only this
        # store writes below its root (0700), so no symlink there can point outside.
        parts = key.split("/")
        if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
            raise ChartStoreError("key escapes the store root")
        return self._root.joinpath(*parts)

    async def get(self, key: str) -> bytes | None:
        return self._read(key)

    async def put(self, key: str, data: bytes) -> None:
        self._write(key, data)
        now = self._clock()
        if (
            self._total is None
            or self._total > self.max_bytes
            or now - self._last_sweep >= self.SWEEP_EVERY_S
        ):
            try:
                await asyncio.to_thread(self.sweep)
            except OSError as exc:
                raise ChartStoreError(f"sweep failed: {exc.strerror}") from exc

    def _read(self, key: str) -> bytes | None:
        path = self._path(key)
        now = self._clock()
        try:
            if now - path.stat().st_mtime > self.max_age_s:
                path.unlink(missing_ok=True)
                return None
            data = path.read_bytes()
            os.utime(path, (now, now))
            return data
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ChartStoreError(f"read failed: {exc.strerror}") from exc

    def _write(self, key: str, data: bytes) -> None:
        from ..fileperms import private_dir

        path = self._path(key)
        try:
            private_dir(self._root)
            for parent in reversed(path.parents):
                if self._root in parent.parents:
                    parent.mkdir(exist_ok=True, mode=0o700)
            # mkstemp creates the file 0600.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
                now = self._clock()
                os.utime(path, (now, now))  # last use, on the store's clock
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ChartStoreError(f"write failed: {exc.strerror}") from exc
        if self._total is not None:
            self._total += len(data)

    def sweep(self) -> tuple[int, int]:
        """Delete files unused for ``max_age_s``, then the least recently used ones until the
        total is at most 90% of ``max_bytes``: ``(files kept, bytes kept)``."""
        now = self._clock()
        files: list[tuple[float, int, Path]] = []
        for dirpath, _dirs, names in os.walk(self._root):
            for name in names:
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                if name.startswith(".tmp-") and now - st.st_mtime < 60:
                    continue  # another process is writing it
                if now - st.st_mtime > self.max_age_s or name.startswith(".tmp-"):
                    path.unlink(missing_ok=True)
                    continue
                files.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in files)
        if total > self.max_bytes:
            files.sort()  # oldest use first
            target = self.max_bytes * self.LOW_WATER
            evicted = 0
            for _, size, path in files:
                if total <= target:
                    break
                path.unlink(missing_ok=True)
                total -= size
                evicted += 1
            files = files[evicted:]
        self._total = total
        self._last_sweep = now
        return len(files), total


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
