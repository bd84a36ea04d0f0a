"""The edge's lock-free request counts and latencies export exactly what prometheus_client's
own Counter and Histogram export for the same observations (they replaced them on the hot
path; dashboards and alert rules must not see a difference)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from catalyst_interactions.metrics import LATENCY_BUCKETS, Metrics

# Latencies on, between and beyond the bucket bounds, for two types and three series.
OBSERVED = [
    ("application_command", "command:help", "ok", 0.0001),
    ("application_command", "command:help", "ok", 0.0005),  # exactly on a bound: le includes it
    ("application_command", "command:chart", "deferred", 0.004),
    ("application_command", "command:help", "ok", 3.0),
    ("application_command", "command:help", "ok", 7.5),  # beyond the last bound: +Inf only
    ("message_component", "component:refresh", "ok", 0.02),
]


def _lines(text: bytes, prefix: str) -> list[str]:
    return sorted(
        line for line in text.decode().splitlines() if line.startswith(prefix) and "{" in line
    )


def test_counts_and_histograms_match_prometheus_client() -> None:
    metrics = Metrics()
    reference = CollectorRegistry()
    counter = Counter(
        "catalyst_interaction_requests_total", "x", ["type", "handler", "outcome"],
        registry=reference,
    )  # fmt: skip
    histogram = Histogram(
        "catalyst_interaction_request_duration_seconds", "x", ["type"],
        buckets=LATENCY_BUCKETS, registry=reference,
    )  # fmt: skip
    for type_label, handler, outcome, seconds in OBSERVED:
        metrics.interactions.series(type_label, handler, outcome).record(seconds)
        counter.labels(type_label, handler, outcome).inc()
        histogram.labels(type_label).observe(seconds)
    metrics.interactions.series("ping", "", "ok", timed=False).inc()
    counter.labels("ping", "", "ok").inc()

    ours, theirs = metrics.render(), generate_latest(reference)
    for name in ("catalyst_interaction_requests_total", "catalyst_interaction_request_duration"):
        assert _lines(ours, name) == _lines(theirs, name)
    assert _lines(ours, "catalyst_interaction_request_duration_seconds_count") == [
        'catalyst_interaction_request_duration_seconds_count{type="application_command"} 5.0',
        'catalyst_interaction_request_duration_seconds_count{type="message_component"} 1.0',
    ]  # a PONG is counted, never timed: no histogram of type "ping"


def test_a_series_is_found_again_not_made_twice() -> None:
    stats = Metrics().interactions
    first = stats.series("application_command", "command:help", "ok")
    assert stats.series("application_command", "command:help", "ok") is first
    first.record(0.001)
    other = stats.series("application_command", "command:help", "refused")
    other.record(0.002)
    text = generate_latest(_registry_of(stats)).decode()
    assert 'outcome="ok",type="application_command"} 1.0' in text
    assert 'outcome="refused",type="application_command"} 1.0' in text
    # Both outcomes share their type's histogram.
    assert (
        'catalyst_interaction_request_duration_seconds_count{type="application_command"} 2.0'
        in text
    )


def _registry_of(stats: object) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(stats)  # type: ignore[arg-type]
    return registry
