"""Prometheus metrics of the edge, in a registry of their own (no global state).

Labels never carry tokens, ids or user data: only types, command names and outcomes.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Every metric of one process. Other layers (jobs, REST) add theirs to ``registry``."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series double /metrics for no operational value
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "catalyst_interactions_total",
            "Interactions received, by type, handler and outcome.",
            ["type", "handler", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "catalyst_interaction_seconds",
            "Time from request received to response sent, by interaction type.",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "catalyst_rejected_requests_total",
            "Requests refused before dispatch, by reason (verification, size, replay ...).",
            ["reason"],
            registry=r,
        )
        # Job metrics live here too so /metrics of a single process shows the whole picture.
        self.queue_depth = Gauge("catalyst_queue_depth", "Jobs waiting to run.", registry=r)
        self.jobs = Counter(
            "catalyst_jobs_total",
            "Job outcomes: delivered, retried, dead.",
            ["outcome", "reason"],
            registry=r,
        )
        self.job_wait = Histogram(
            "catalyst_job_wait_seconds",
            "Enqueue to handler start.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.job_run = Histogram(
            "catalyst_job_run_seconds",
            "Handler start to delivered.",
            buckets=(*LATENCY_BUCKETS, 5.0, 10.0, 30.0, 60.0),
            registry=r,
        )
        self.rest_calls = Counter(
            "catalyst_discord_rest_total", "Discord REST calls.", ["route", "status"], registry=r
        )
        self.rest_latency = Histogram(
            "catalyst_discord_rest_seconds",
            "Discord REST latency.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rest_ratelimited = Counter(
            "catalyst_discord_ratelimited_total",
            "429 answers from Discord, by route and scope.",
            ["route", "scope"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class PrometheusRestMetrics:
    """Adapts the REST client's metrics hook to these counters."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def observe(self, route: str, status: int, seconds: float) -> None:
        self._m.rest_calls.labels(route, str(status)).inc()
        self._m.rest_latency.labels(route).observe(seconds)

    def ratelimited(self, route: str, scope: str) -> None:
        self._m.rest_ratelimited.labels(route, scope).inc()
