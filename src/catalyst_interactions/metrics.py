"""Prometheus metrics of one process (edge, workers, REST client), in a registry of its own.

Names follow the Prometheus conventions so that stock dashboards and alert rules fit them:
``catalyst_`` as the namespace, base units in the name (``_seconds``, ``_bytes``), ``_total``
on counters, ``code`` for an HTTP status. The registry also carries the standard
``process_*`` and ``python_*`` collectors and ``catalyst_build_info``.

Label values come from fixed sets only (interaction types, registered handler keys, route
names, outcome and reason words chosen here). Never from raw input: a label value read from a
request or a response would let a sender create an unbounded number of series. Tokens, ids and
user data never appear at all. docs/observability.md lists every metric and what to alert on.
"""

from __future__ import annotations

import platform
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from . import __version__
from .jobs.job import DeadReason

#: Discord drops an initial response that arrives 3 s or more after it sent the interaction.
INITIAL_RESPONSE_DEADLINE_S = 3.0

# Edge latency: fine below 10 ms where the edge lives, and a bucket at the 3 s deadline.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0)
# Jobs and REST calls: up to the 15-minute life of an interaction token.
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

#: The only values of ``catalyst_jobs_dead_lettered_total{reason}``: the workers' reason codes.
DEAD_LETTER_REASONS = tuple(code.value for code in DeadReason)
_LE_LABELS = (*map(floatToGoString, LATENCY_BUCKETS), "+Inf")  # as prometheus_client writes them
_RATE_LIMIT_SCOPES = frozenset({"user", "global", "shared"})

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Every metric of one process. Other layers (jobs, REST) record theirs here too, so the
    ``/metrics`` of a single process shows the whole picture."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series double /metrics for no operational value
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # The standard collectors: stock "process" and "Python" dashboards work unchanged.
        # (The default registry has them; ours is private, so they are registered here.)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)

        self.build_info = Gauge(
            "catalyst_build_info",
            "Always 1; the labels say which catalyst-interactions release and Python run here.",
            ["version", "python_version"],
            registry=r,
        )
        self.build_info.labels(__version__, platform.python_version()).set(1)

        # -- the edge (POST /interactions) ------------------------------------------------
        self.interactions = InteractionStats()
        """Answered interactions and their latency: counted on the hot path without locks."""
        r.register(self.interactions)
        self.late = Counter(
            "catalyst_interaction_deadline_missed_total",
            "Initial responses that took 3 s or more here: Discord has already shown the "
            "user 'The application did not respond'.",
            ["type"],
            registry=r,
        )
        self.rejected = Counter(
            "catalyst_interaction_requests_rejected_total",
            "Requests refused before dispatch, by reason (bad_signature, missing_headers, "
            "stale_timestamp, malformed, too_large, replay, handover_forged ...).",
            ["reason"],
            registry=r,
        )

        # -- the queue and the workers ----------------------------------------------------
        self.queue_pending = Gauge(
            "catalyst_queue_pending_jobs",
            "Jobs waiting to run (retries waiting for their delay included), as last seen "
            "by this process's workers (refreshed every 2 s while they run).",
            registry=r,
        )
        self.queue_oldest_age = Gauge(
            "catalyst_queue_oldest_pending_job_age_seconds",
            "Age of the job at the head of the queue (0 when empty). Every second here is a "
            "second the user watches 'thinking...'; the token dies at 15 minutes.",
            registry=r,
        )
        self.jobs_delivered = Counter(
            "catalyst_jobs_delivered_total",
            "Deferred jobs whose answer reached Discord.",
            registry=r,
        )
        self.jobs_retried = Counter(
            "catalyst_jobs_retried_total",
            "Job attempts that failed and were scheduled again (backoff with jitter).",
            registry=r,
        )
        self.jobs_dead = Counter(
            "catalyst_jobs_dead_lettered_total",
            "Jobs given up and moved to the dead letters (`catalyst-interactions jobs list "
            "--state dead`), by reason; token_expired means the 15-minute token ran out first.",
            ["reason"],
            registry=r,
        )
        for reason in DEAD_LETTER_REASONS:
            self.jobs_dead.labels(reason)  # present at 0, so rate() and alerts see a start
        self.job_wait = Histogram(
            "catalyst_job_queue_wait_duration_seconds",
            "Time from enqueue to the first attempt's start.",
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.job_run = Histogram(
            "catalyst_job_run_duration_seconds",
            "Time from an attempt's start to its answer delivered to Discord.",
            buckets=JOB_BUCKETS,
            registry=r,
        )

        # -- Discord REST -----------------------------------------------------------------
        self.rest_calls = Counter(
            "catalyst_discord_rest_requests_total",
            "Discord REST requests answered, by route name and HTTP status code.",
            ["route", "code"],
            registry=r,
        )
        self.rest_errors = Counter(
            "catalyst_discord_rest_connection_errors_total",
            "Discord REST requests that got no HTTP answer (connect error, timeout), by route.",
            ["route"],
            registry=r,
        )
        self.rest_latency = Histogram(
            "catalyst_discord_rest_request_duration_seconds",
            "Discord REST request latency, by route name.",
            ["route"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.rest_ratelimited = Counter(
            "catalyst_discord_rest_ratelimited_total",
            "429 answers from Discord, by route name and scope (user, global, shared).",
            ["route", "scope"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class InteractionCount:
    """One (type, handler, outcome) series of the edge's answered interactions, with the
    latency histogram of its type. :meth:`record` is the edge's whole per-request metrics
    cost: two list increments, a float addition and a bisect, no lock (a prometheus_client
    child takes a lock per update and walks its buckets in Python: ~1 µs a request)."""

    __slots__ = ("_buckets", "count", "type_label")

    def __init__(self, type_label: str, buckets: list[float]) -> None:
        self.type_label = type_label
        self.count = 0
        self._buckets = buckets  # per bucket (+Inf last), then the sum: shared by the type

    def record(self, seconds: float) -> None:
        self.count += 1
        buckets = self._buckets
        buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        buckets[-1] += seconds

    def inc(self) -> None:
        """Counted without a latency (PONG: answered before anything is timed)."""
        self.count += 1


class InteractionStats(Collector):
    """``catalyst_interaction_requests_total`` and
    ``catalyst_interaction_request_duration_seconds``, exported at scrape.

    The edge's event loop is the only writer; a scrape (the same loop, or the metrics
    listener's thread) reads plain integers and floats. Series are created by :meth:`series`
    with label values from fixed sets (see the module docstring)."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, str], InteractionCount] = {}
        self._latency: dict[str, list[float]] = {}

    def series(
        self, type_label: str, handler: str, outcome: str, *, timed: bool = True
    ) -> InteractionCount:
        """The series of these labels; ``timed=False`` for one only ever counted (PONG), so
        that its type gets no latency histogram."""
        key = (type_label, handler, outcome)
        found = self._series.get(key)
        if found is None:
            buckets = self._latency.get(type_label) if timed else None
            if buckets is None:
                buckets = [0.0] * (len(LATENCY_BUCKETS) + 2)
                if timed:
                    self._latency[type_label] = buckets
            found = self._series[key] = InteractionCount(type_label, buckets)
        return found

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "catalyst_interaction_requests",
            "Signed interactions answered, by interaction type, handler key and outcome "
            "(ok, deferred, user_error, refused, no_handler, error, queue_error, dup).",
            labels=["type", "handler", "outcome"],
        )
        for labels, series in list(self._series.items()):
            requests.add_metric(list(labels), series.count)
        yield requests
        latency = HistogramMetricFamily(
            "catalyst_interaction_request_duration_seconds",
            "Time from the request body read to the response ready, by interaction type. "
            "Discord gives up on an initial response after 3 s.",
            labels=["type"],
        )
        for type_label, buckets in list(self._latency.items()):
            counts = buckets[:-1]  # copied first: the loop may add to it meanwhile
            cumulative, running = [], 0.0
            for bound, count in zip(_LE_LABELS, counts, strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([type_label], cumulative, sum_value=buckets[-1])
        yield latency


class PrometheusRestMetrics:
    """Adapts the REST client's metrics hook to these counters."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def observe(self, route: str, status: int, seconds: float) -> None:
        if status == 0:  # the client's mark for "no HTTP answer"
            self._m.rest_errors.labels(route).inc()
        else:
            self._m.rest_calls.labels(route, str(status)).inc()
        self._m.rest_latency.labels(route).observe(seconds)

    def ratelimited(self, route: str, scope: str) -> None:
        # The scope comes from a response header: only known words become a label.
        label = scope if scope in _RATE_LIMIT_SCOPES else "other"
        self._m.rest_ratelimited.labels(route, label).inc()


__all__ = [
    "CONTENT_TYPE",
    "DEAD_LETTER_REASONS",
    "INITIAL_RESPONSE_DEADLINE_S",
    "InteractionCount",
    "InteractionStats",
    "Metrics",
    "PrometheusRestMetrics",
]
