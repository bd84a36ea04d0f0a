"""What deploy/ promises an operator: every metric a Grafana panel or an alert rule uses is in
a real /metrics, the dashboard's queries return data from a real Prometheus scraping a real
server, and the alert rules pass promtool's checks and unit tests."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from catalyst_interactions import __version__
from fakes.fake_discord import Reply
from support.servers import free_port
from support.signing import command, ping

from .conftest import DEPLOY, METRIC, Served, base_name, exposition, need, wait_until

pytestmark = pytest.mark.loopback

DASHBOARD = DEPLOY / "grafana" / "catalyst-interactions.json"
RULES = DEPLOY / "prometheus" / "alerts.yml"


def dashboard_exprs() -> list[str]:
    data = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in data["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    return exprs


def drive_traffic(s: Served) -> tuple[str, str]:
    """PING, an inline command, a deferred chart whose delivery meets one 429; the edge's and
    the worker's metrics pages once the chart is delivered."""
    s.fake.enqueue(
        "edit_original",
        Reply(
            429,
            {"message": "You are being rate limited.", "retry_after": 0.2, "global": False},
            {"Retry-After": "1", "X-RateLimit-Scope": "user"},
        ),
    )
    assert s.send(ping()).json() == {"type": 1}
    assert s.send(command("help")).status_code == 200
    chart = command("chart", [{"name": "ticker", "type": 3, "value": "AAPL"}])
    assert s.send(chart).json()["type"] == 5
    worker = f"{s.worker_metrics_url}/metrics"
    wait_until(
        lambda: "catalyst_jobs_delivered_total 1.0" in httpx.get(worker).text,
        timeout=60,
        what="the chart's delivery",
    )
    return httpx.get(f"{s.metrics_url}/metrics").text, httpx.get(worker).text


def test_metrics_and_ready_live_on_their_own_port_with_conventional_names(
    served: Served,
) -> None:
    edge, worker = drive_traffic(served)
    text = edge + worker
    # The public port no longer shows them; the metrics port does, /health stays public.
    assert httpx.get(f"{served.url}/metrics").status_code == 404
    assert httpx.get(f"{served.url}/ready").status_code == 404
    assert httpx.get(f"{served.metrics_url}/ready").json() == {"status": "ready"}
    assert httpx.get(f"{served.worker_metrics_url}/ready").json() == {"status": "ready"}
    declared, sampled = exposition(text)
    # The standard collectors and the build info, in each process.
    for page in (edge, worker):
        assert {"process_resident_memory_bytes", "python_info", "catalyst_build_info"} <= (
            exposition(page)[1]
        )
    # The standard collectors and the build info.
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"} <= sampled
    assert "python_gc_collections_total" in sampled
    assert 'catalyst_build_info{python_version="' in text
    assert re.search(
        rf'catalyst_build_info\{{[^}}]*version="{re.escape(__version__)}"[^}}]*\}} 1\.0', text
    )
    # Conventions: counters end in _total, durations are histograms in seconds.
    for name, kind in declared.items():
        if not name.startswith("catalyst_"):
            continue
        if kind == "counter":
            assert name.endswith("_total"), name
        if kind == "histogram":
            assert name.endswith("_duration_seconds"), name
    # What the traffic above did, with labels from fixed sets (status as `code`).
    assert (
        'catalyst_interaction_requests_total{handler="command:help",outcome="ok",'
        'type="application_command"} 1.0'
    ) in text
    assert 'outcome="deferred",type="application_command"} 1.0' in text
    edit = "PATCH /webhooks/{application_id}/{token}/messages/@original"
    assert f'catalyst_discord_rest_ratelimited_total{{route="{edit}",scope="user"}} 1.0' in text
    assert re.search(r'catalyst_discord_rest_requests_total\{code="429",route="[^"]+"\} 1\.0', text)
    assert 'catalyst_jobs_dead_lettered_total{reason="token_expired"} 0.0' in text
    # No token or interaction id leaks into a label.
    assert "interaction-token-secret" not in text and served.fake.application_id not in text


def test_every_metric_of_the_dashboard_and_the_rules_exists_in_a_real_scrape(
    served: Served,
) -> None:
    declared, _ = exposition("".join(drive_traffic(served)))
    used = set()
    for expr in [*dashboard_exprs(), RULES.read_text()]:
        used |= set(METRIC.findall(expr))
    assert len(used) >= 15
    missing = sorted(n for n in used if base_name(n, declared) not in declared)
    assert missing == []


def test_the_dashboard_shows_data_from_a_real_prometheus(served: Served, tmp_path: Path) -> None:
    """Prometheus scrapes both metrics ports; every panel query parses, and a query may come
    back empty only when no metric it reads has a sample yet (e.g. no connection errors)."""
    prometheus = need("prometheus", "prometheus")
    declared, sampled = exposition("".join(drive_traffic(served)))
    port = free_port()
    edge = served.metrics_url.removeprefix("http://")
    worker = served.worker_metrics_url.removeprefix("http://")
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: catalyst-edge\n    static_configs: [{{targets: ['{edge}']}}]\n"
        f"  - job_name: catalyst-worker\n    static_configs: [{{targets: ['{worker}']}}]\n"
    )
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api/v1/query"
    try:

        def query(expr: str) -> list[object]:
            answer = httpx.get(api, params={"query": expr}, timeout=10).json()
            assert answer["status"] == "success", (expr, answer)
            return list(answer["data"]["result"])

        ready = f"http://127.0.0.1:{port}/-/ready"  # the API answers 503 text until then
        wait_until(lambda: httpx.get(ready).status_code == 200, timeout=30, what="Prometheus")
        wait_until(lambda: len(query("up == 1")) == 2, timeout=30, what="Prometheus's scrape")
        time.sleep(4)  # a few samples, so that rate() has two points
        for expr in dashboard_exprs():
            concrete = expr.replace("$__rate_interval", "1m").replace("$job", ".*")
            if query(concrete):
                continue
            read = {base_name(n, declared) for n in METRIC.findall(expr)}
            with_samples = {n for n in read if n in sampled or f"{n}_bucket" in sampled}
            assert with_samples == set(), f"no data for {expr}"
    finally:
        proc.terminate()
        proc.wait(20)


def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    promtool = need("promtool", "prometheus")
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout
    tested = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_the_dashboard_imports_with_any_prometheus_data_source() -> None:
    """What Grafana's import needs: unique panel ids, a place on the grid, and every query on
    the data source the importer picks (the `datasource` variable), never a fixed uid."""
    data = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert target["refId"] and target["expr"]
        if panel["type"] != "row":
            assert panel["description"], panel["title"]  # every panel says what it shows
