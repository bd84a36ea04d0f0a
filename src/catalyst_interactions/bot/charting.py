"""The chart pipeline a worker uses: render in a process pool, cache the PNG in a store.

Rendering is CPU work (50-100 ms of matplotlib per chart), so it never runs on the event
loop: a :class:`~concurrent.futures.ProcessPoolExecutor` of ``settings.process_pool_size``
processes, started on the first render (the edge, which never renders, never starts one).
Pool processes are spawned, not forked: the parent has threads (uvicorn, the database), and
forking a threaded process can copy a held lock. They run at a lower priority
(``settings.render_nice``) and exit when their parent dies, even by SIGKILL
(:mod:`..ops.lifeline`). Each pool process imports the renderer (and with it matplotlib)
once, in :func:`_warm`; this module never imports matplotlib.

PNGs are cached by :class:`~..charts.cache.RenderCache` in a local directory
(``data_dir/charts``) or, when ``CATALYST_CHART_STORE_URL`` is ``s3://bucket/prefix``, in
an S3-compatible bucket. Keys name the data version, so an entry never goes stale.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import multiprocessing
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from ..market.timeframe import Timeframe
from ..secret import Secret
from ..settings import ConfigError, Settings

if TYPE_CHECKING:
    from ..charts.cache import ChartStore
    from ..market.bars import Bars, Quote

log = logging.getLogger("catalyst_interactions.bot.charting")


class ChartRenderError(Exception):
    """The renderer refused the data (for example two series without common bars)."""


# -- what runs inside a pool process (module-level functions of picklable values) ---------
def _warm(parent_pid: int, nice: int) -> None:
    import signal

    from ..ops.lifeline import lower_priority, tie_to_parent

    # Ctrl-C in a terminal reaches the whole process group. The parent stops the pool when
    # it shuts down; a render process that also took the SIGINT would die mid-render and
    # print a KeyboardInterrupt traceback for every process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # A worker killed with SIGKILL cannot stop its pool: each render process watches it.
    tie_to_parent(parent_pid)
    # Renders yield the CPU to the edge: an acknowledgement must not wait for a chart.
    lower_priority(nice)
    from ..charts import render  # noqa: F401  (pays matplotlib's import once per process)

    # What the import made (tens of thousands of objects) goes to the permanent generation:
    # the collection after each render (_collect) then looks only at what renders made.
    gc.collect()
    gc.freeze()
    global _in_render_process
    _in_render_process = True


_in_render_process = False
"""Set in a pool process by :func:`_warm`; a thread render (pool size 0) leaves the worker's
own collector alone."""


def _collect() -> None:
    """A figure is a web of reference cycles (artists, transforms, the Agg buffer: several
    MB), freed only by the cyclic collector, which runs the full collection rarely. Left to
    it, a render process held a dozen dead charts at times: RSS swung between 105 and 170
    MiB and its mean looked like drift in the soak. Collected after every render (3-5 ms
    with the frozen import), it stays at 87-96 MiB (docs/performance.md, "Soak")."""
    if _in_render_process:
        gc.collect()


def _render_chart(
    bars: Bars, ticker: str, timeframe: Timeframe, indicators: frozenset[str], quote: Quote | None
) -> bytes:
    from ..charts.render import render_chart

    try:
        return render_chart(
            bars, ticker=ticker, timeframe=timeframe, indicators=indicators, quote=quote
        )
    finally:
        _collect()


def _render_compare(bars_a: Bars, bars_b: Bars, timeframe: Timeframe) -> bytes:
    from ..charts.render import render_compare

    try:
        return render_compare(bars_a, bars_b, timeframe=timeframe)
    finally:
        _collect()


# -- the service ---------------------------------------------------------------------------
def compare_key(a: Bars, b: Bars, timeframe: Timeframe) -> str:
    """``compare/v1/{A}-{B}/{TF}/{digest}.png``, keyed by both data versions."""
    digest = hashlib.sha256(f"{a.version}|{b.version}".encode()).hexdigest()[:32]
    return f"compare/v1/{a.ticker}-{b.ticker}/{timeframe.value}/{digest}.png"


class ChartService:
    """Renders charts off the event loop and caches the PNGs.

    ``pool_size`` 0 renders in a thread instead of a process pool (one process, no
    parallelism; for small machines and debugging). ``executor_factory`` lets tests swap
    the pool.

    The pool is replaced after ``renders_per_pool`` renders: matplotlib's caches (fonts,
    glyphs, text layouts) grow with what hostile or merely varied input makes them draw, so
    a render process's memory is bounded by what it holds after that many renders, not by
    how long it has lived. The old pool finishes what it is running and exits.
    (``ProcessPoolExecutor``'s own ``max_tasks_per_child`` is not used: on Python 3.11–3.13
    it can stop replacing processes and hang, CPython issue 115634.)
    """

    def __init__(
        self,
        store: ChartStore,
        *,
        pool_size: int,
        executor_factory: Callable[[int], Executor] | None = None,
        nice: int = 0,
        renders_per_pool: int = 2000,
    ) -> None:
        self.store = store
        from ..charts.cache import RenderCache  # httpx (S3): only where charts are made

        self.cache = RenderCache(store)
        self._pool_size = pool_size
        self._factory = executor_factory or partial(_spawn_pool, nice=nice)
        self._executor: Executor | None = None
        self._renders_per_pool = renders_per_pool
        self._renders_left = renders_per_pool
        self._closed = False

    async def chart(
        self, bars: Bars, *, indicators: frozenset[str], quote: Quote | None
    ) -> tuple[bytes, bool]:
        """``(png, cache_hit)`` for ``bars`` with ``indicators``; ``quote`` goes in the title."""
        figures = None if quote is None else (quote.last, quote.change, quote.change_pct)
        from ..charts.cache import chart_key

        key = chart_key(
            ticker=bars.ticker,
            timeframe=bars.timeframe,
            indicators=indicators,
            version=bars.version,
            quote_figures=figures,
            as_of=f"{bars.as_of:%Y-%m-%dT%H:%M}",
        )
        job = partial(_render_chart, bars, bars.ticker, bars.timeframe, indicators, quote)
        return await self.cache.get_or_render(key, lambda: self._run(job))

    async def compare(self, a: Bars, b: Bars, timeframe: Timeframe) -> tuple[bytes, bool]:
        """``(png, cache_hit)`` of both series' % performance on one chart."""
        job = partial(_render_compare, a, b, timeframe)
        return await self.cache.get_or_render(compare_key(a, b, timeframe), lambda: self._run(job))

    async def _run(self, job: Callable[[], bytes]) -> bytes:
        if self._closed:
            raise RuntimeError("the chart service is closed")
        if self._pool_size <= 0:
            return await self._translate(asyncio.to_thread(job))
        if self._renders_left <= 0 and self._executor is not None:
            retired, self._executor = self._executor, None
            retired.shutdown(wait=False)  # its processes exit once their renders are done
        if self._executor is None:
            self._executor = self._factory(self._pool_size)
            self._renders_left = self._renders_per_pool
        self._renders_left -= 1
        loop = asyncio.get_running_loop()
        try:
            return await self._translate(loop.run_in_executor(self._executor, job))
        except BrokenProcessPool:
            # A pool process died (OOM killer, signal): the pool is unusable from now on.
            # Drop it so the retried job starts a fresh one.
            broken, self._executor = self._executor, None
            broken.shutdown(wait=False, cancel_futures=True)
            raise

    @staticmethod
    async def _translate(pending: Awaitable[bytes]) -> bytes:
        try:
            return await pending
        except ValueError as exc:  # the renderer's only refusal: data it cannot draw
            raise ChartRenderError(str(exc)) from None

    async def aclose(self) -> None:
        """Stop the pool (waiting for running renders) and close the store."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        aclose = getattr(self.store, "aclose", None)
        if aclose is not None:
            await aclose()


def _spawn_pool(size: int, *, nice: int = 0) -> Executor:
    return ProcessPoolExecutor(
        max_workers=size,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_warm,
        initargs=(os.getpid(), nice),
    )


def check_chart_store(settings: Settings) -> None:
    """ConfigError (one line) when the chart store is misconfigured; imports nothing, so
    ``app.build_resources`` checks it at start on every process."""
    _s3_location(settings)


def _s3_location(settings: Settings) -> tuple[SplitResult, Secret, Secret] | None:
    """The bucket URL and its keys for an ``s3://`` store; None for the local disk."""
    url = settings.chart_store_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError("CATALYST_CHART_STORE_URL must look like s3://bucket/prefix")
    if settings.s3_access_key is None or settings.s3_secret_key is None:
        raise ConfigError(
            "an s3:// chart store needs CATALYST_S3_ACCESS_KEY and CATALYST_S3_SECRET_KEY"
        )
    return parts, settings.s3_access_key, settings.s3_secret_key


def build_store(settings: Settings) -> ChartStore:
    """Local disk under ``data_dir/charts``, or S3 for ``chart_store_url=s3://bucket/prefix``."""
    from ..charts.cache import LocalDiskStore, S3Store

    location = _s3_location(settings)
    if location is None:
        return LocalDiskStore(
            settings.data_dir / "charts",
            max_bytes=int(settings.chart_cache_max_mb * 1024 * 1024),
            max_age_s=settings.chart_cache_max_age_s,
        )
    parts, access_key, secret_key = location
    endpoint = settings.s3_endpoint_url or f"https://s3.{settings.s3_region}.amazonaws.com"
    return S3Store(
        endpoint_url=endpoint,
        bucket=parts.netloc,
        access_key=access_key.reveal(),
        secret_key=secret_key,
        region=settings.s3_region,
        prefix=parts.path.strip("/"),
    )


def open_chart_service(settings: Settings) -> ChartService:
    """The process's chart service (``Resources.charts`` makes it on first use)."""
    return ChartService(
        build_store(settings),
        pool_size=settings.process_pool_size,
        nice=settings.render_nice,
    )
