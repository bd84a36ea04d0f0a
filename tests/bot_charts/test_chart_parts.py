"""The pieces behind /chart without the network: indicator codes and parsing, custom_ids,
kept fields, the chart store choice, the render service and its shutdown."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot_charts.harness import fixed_clock
from catalyst_interactions.app import build_resources
from catalyst_interactions.bot import chart
from catalyst_interactions.bot.charting import (
    ChartRenderError,
    ChartService,
    build_store,
)
from catalyst_interactions.charts.cache import LocalDiskStore, S3Store
from catalyst_interactions.charts.render import render_chart, validate_indicators
from catalyst_interactions.discord.limits import CUSTOM_ID_MAX
from catalyst_interactions.discord.payloads import Message as Clicked
from catalyst_interactions.framework.errors import UserFacingError
from catalyst_interactions.market import Bars, DemoProvider, Timeframe
from catalyst_interactions.secret import Secret
from catalyst_interactions.settings import ConfigError, Settings
from support.discord_rules import webhook_message_problems

# -- indicators -----------------------------------------------------------------------------
INDICATORS = frozenset({"vwap", "sma20", "sma50", "ema9", "ema21", "bollinger", "rsi", "macd"})


def test_the_menu_offers_the_eight_indicators_the_renderer_draws() -> None:
    menu = chart.chart_components("AAPL", Timeframe.D1, frozenset())[1].components[0]
    offered = {option.value for option in menu.options}
    assert offered == INDICATORS
    assert validate_indicators(offered) == offered  # the renderer knows every one
    for preset in chart.PRESETS.values():
        assert set(preset) <= offered


def test_indicator_codes_are_hex_bit_flags_in_menu_order() -> None:
    assert chart.encode_indicators([]) == "0"
    assert chart.encode_indicators({"vwap"}) == "1"
    assert chart.encode_indicators({"macd"}) == "80"  # eighth option -> bit 7
    assert chart.encode_indicators({"vwap", "rsi"}) == "41"
    assert chart.encode_indicators(INDICATORS) == "ff"
    assert chart.decode_indicators("41") == {"vwap", "rsi"}
    assert chart.decode_indicators("1ff") == INDICATORS  # a future bit 8 is ignored
    names = sorted(INDICATORS)
    for mask in range(256):  # every subset survives the round trip
        chosen = {n for i, n in enumerate(names) if mask >> i & 1}
        assert chart.decode_indicators(chart.encode_indicators(chosen)) == chosen


def test_parse_indicators_accepts_presets_lists_labels_and_aliases() -> None:
    d1, y1 = Timeframe.D1, Timeframe.Y1
    assert chart.parse_indicators(None, d1) == {"vwap"}
    assert chart.parse_indicators("  ", y1) == {"sma20", "sma50"}
    assert chart.parse_indicators("none", d1) == set()
    assert chart.parse_indicators("momentum", d1) == {"rsi", "macd"}
    assert chart.parse_indicators("VWAP, RSI", d1) == {"vwap", "rsi"}
    assert chart.parse_indicators("sma 20 + bb; ema9", d1) == {"sma20", "bollinger", "ema9"}
    assert chart.parse_indicators("vwap rsi", d1) == {"vwap", "rsi"}
    assert chart.parse_indicators("trend, macd", d1) == {"sma20", "sma50", "macd"}
    with pytest.raises(UserFacingError) as info:
        chart.parse_indicators("vwap, fib, ichimoku", d1)
    assert "fib, ichimoku" in info.value.message


def test_indicator_autocomplete_completes_the_last_item() -> None:
    assert [c.value for c in chart.indicator_choices("mo")] == ["momentum"]
    assert [c.value for c in chart.indicator_choices("sma")] == ["sma20", "sma50"]
    after = chart.indicator_choices("rsi, sma")
    assert [c.value for c in after] == ["rsi,sma20", "rsi,sma50"]
    assert after[0].name == "RSI, SMA 20"
    assert chart.indicator_choices("vwap,vw") == []  # already chosen
    assert len(chart.indicator_choices("")) <= 25


# -- custom_ids -----------------------------------------------------------------------------
def test_custom_ids_fit_and_route_to_one_template_each() -> None:
    longest = "ABCDEF.XYZ"
    ids = [
        chart.TIMEFRAME_BUTTON.build(ticker=longest, tf="1Y", ind="ff"),
        chart.INDICATOR_MENU.build(ticker=longest, tf="1Y"),
        chart.COMPARE_BUTTON.build(a=longest, b=longest, tf="1Y"),
    ]
    assert all(len(i) <= CUSTOM_ID_MAX for i in ids)
    templates = [
        chart.TIMEFRAME_BUTTON,
        chart.INDICATOR_MENU,
        chart.COMPARE_BUTTON,
        chart.LEGACY_CHART,
        chart.LEGACY_TOGGLE,
    ]
    samples = [*ids, "chart_BRK.B_5D", "chart_toggle_AAPL_1D"]
    for sample in samples:
        assert sum(t.match(sample) is not None for t in templates) == 1, sample
    assert chart.LEGACY_TOGGLE.match("chart_toggle_AAPL_1D") == {"ticker": "AAPL", "tf": "1D"}


# -- messages -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bars() -> Bars:
    return asyncio.run(DemoProvider(clock=fixed_clock).bars("AAPL", Timeframe.D5))


def test_kept_fields_are_trimmed_to_discords_embed_limits(bars: Bars) -> None:
    huge = [{"name": f"field {i}", "value": "x" * 1000} for i in range(30)]
    clicked = Clicked(id="1", content="keep me", embeds=[{"title": "t", "fields": huge}])
    message = chart.chart_message(bars, None, frozenset(), b"png", keep=clicked)
    payload = message.to_dict(edit=True)
    assert webhook_message_problems(payload, edit=True) == []
    fields = payload["embeds"][0]["fields"]
    assert 0 < len(fields) < 6  # 6000 characters leave room for five 1007-character fields
    assert fields[0] == {"name": "field 0", "value": "x" * 1000}
    assert payload["content"] == "keep me"


def test_title_without_a_quote_uses_the_range_shown(bars: Bars) -> None:
    first, last = float(bars.open[0]), float(bars.close[-1])
    title = chart.chart_title(bars, None)
    assert title.startswith(f"AAPL  ${last:,.2f}")
    assert f"({(last - first) / first * 100:+.2f}%)" in title
    assert title.endswith("over 5D")


def test_shown_indicators_reads_the_menu_defaults() -> None:
    rows = [
        row.to_dict()
        for row in chart.chart_components("AAPL", Timeframe.D1, frozenset({"rsi", "ema9"}))
    ]
    assert chart.shown_indicators(Clicked(id="1", components=rows)) == {"rsi", "ema9"}
    legacy = [{"type": 1, "components": [{"type": 2, "custom_id": "chart_AAPL_1D"}]}]
    assert chart.shown_indicators(Clicked(id="1", components=legacy)) == set()
    assert chart.shown_indicators(None) == set()


# -- the render service ---------------------------------------------------------------------
def test_the_edge_never_imports_matplotlib() -> None:
    code = (
        "import sys\n"
        "from catalyst_interactions.bot import build_registry\n"
        "import catalyst_interactions.bot.charting\n"
        "build_registry()\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
        "assert 'catalyst_interactions.charts.render' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_store_choice(tmp_path: Path) -> None:
    disk = build_store(Settings(data_dir=tmp_path))
    assert isinstance(disk, LocalDiskStore)
    keys: dict[str, Any] = {"s3_access_key": Secret("AK"), "s3_secret_key": Secret("SK")}
    s3 = build_store(
        Settings(
            data_dir=tmp_path,
            chart_store_url="s3://bucket/pre/fix",
            s3_endpoint_url="http://127.0.0.1:9",
            **keys,
        )
    )
    assert isinstance(s3, S3Store)
    assert s3._object_path("k.png") == "/bucket/pre/fix/k.png"
    asyncio.run(s3.aclose())
    with pytest.raises(ConfigError, match="s3://bucket/prefix"):
        build_store(Settings(data_dir=tmp_path, chart_store_url="https://x/y", **keys))
    with pytest.raises(ConfigError, match="CATALYST_S3_SECRET_KEY"):
        build_store(Settings(data_dir=tmp_path, chart_store_url="s3://b"))


async def test_thread_mode_renders_and_caches(tmp_path: Path, bars: Bars) -> None:
    service = ChartService(LocalDiskStore(tmp_path), pool_size=0)
    png, hit = await service.chart(bars, indicators=frozenset({"vwap"}), quote=None)
    assert not hit
    assert png == render_chart(
        bars, ticker="AAPL", timeframe=Timeframe.D5, indicators=frozenset({"vwap"})
    )
    again, hit = await service.chart(bars, indicators=frozenset({"vwap"}), quote=None)
    assert hit and again == png
    await service.aclose()


async def test_renderer_refusals_become_render_errors(tmp_path: Path, bars: Bars) -> None:
    service = ChartService(LocalDiskStore(tmp_path), pool_size=0)
    # Daily bars are stamped 16:00, 30-minute bars start 09:30 ... 15:30: nothing in common.
    other = await DemoProvider(clock=fixed_clock).bars("MSFT", Timeframe.M1)
    with pytest.raises(ChartRenderError, match="fewer than two bars"):
        await service.compare(bars, other, Timeframe.D5)
    await service.aclose()


class CountingThreads:
    """An executor factory that records what it made (instead of a process pool)."""

    def __init__(self) -> None:
        self.made: list[ThreadPoolExecutor] = []

    def __call__(self, size: int) -> Executor:
        self.made.append(ThreadPoolExecutor(size))
        return self.made[-1]


async def test_pool_is_made_on_first_render_and_shut_by_resources_close(
    tmp_path: Path, bars: Bars, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = build_resources(Settings(data_dir=tmp_path, process_pool_size=2), workers=False)
    factory = CountingThreads()
    real_init = ChartService.__init__

    def init(self: ChartService, store: object, *, pool_size: int, **_: object) -> None:
        real_init(self, store, pool_size=pool_size, executor_factory=factory)  # type: ignore[arg-type]

    monkeypatch.setattr(ChartService, "__init__", init)
    service = svc.charts.get()
    assert svc.charts.get() is service  # one per process
    assert factory.made == []  # lazily
    await service.chart(bars, indicators=frozenset(), quote=None)
    (pool,) = factory.made
    assert pool._max_workers == 2
    await svc.aclose()
    assert pool._shutdown
    with pytest.raises(RuntimeError, match="closed"):
        await service.chart(bars, indicators=frozenset({"rsi"}), quote=None)


async def test_process_pool_renders_the_same_bytes(tmp_path: Path, bars: Bars) -> None:
    service = ChartService(LocalDiskStore(tmp_path), pool_size=1)
    try:
        png, _ = await service.chart(bars, indicators=frozenset({"macd"}), quote=None)
    finally:
        await service.aclose()
    assert png == render_chart(
        bars, ticker="AAPL", timeframe=Timeframe.D5, indicators=frozenset({"macd"})
    )


def _recording_spawner(pools: list[ProcessPoolExecutor]) -> Callable[[int], ProcessPoolExecutor]:
    """The chart service's real pool factory, keeping each pool it makes in ``pools``."""
    from catalyst_interactions.bot.charting import _spawn_pool

    def spawn(size: int) -> ProcessPoolExecutor:
        pool = _spawn_pool(size)
        assert isinstance(pool, ProcessPoolExecutor)
        pools.append(pool)
        return pool

    return spawn


async def test_the_render_pool_is_replaced_after_its_share_of_renders(
    tmp_path: Path, bars: Bars
) -> None:
    """A render process's memory is bounded by a fixed number of renders: after that the
    pool is replaced and the old processes exit (they do not linger beside the new ones)."""
    pools: list[ProcessPoolExecutor] = []
    spawn = _recording_spawner(pools)
    service = ChartService(
        LocalDiskStore(tmp_path), pool_size=1, executor_factory=spawn, renders_per_pool=2
    )
    pids: list[set[int]] = []
    try:
        for indicators in ({"sma20"}, {"rsi"}, {"macd"}, {"ema9"}, {"bollinger"}):
            png, hit = await service.chart(bars, indicators=frozenset(indicators), quote=None)
            assert png.startswith(b"\x89PNG") and not hit
            pids.append(set(pools[-1]._processes))  # type: ignore[attr-defined]
    finally:
        await service.aclose()
    assert len(pools) == 3  # renders 1-2, 3-4, 5
    assert pids[0] == pids[1] and pids[2] == pids[3]
    assert pids[0].isdisjoint(pids[2]) and pids[2].isdisjoint(pids[4])

    def alive(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"

    retired = pids[0] | pids[2]
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in retired) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not any(alive(pid) for pid in retired)


_LIVE_FIGURES = "sum(type(o).__name__ == 'Figure' for o in __import__('gc').get_objects())"


async def test_a_render_process_keeps_no_dead_chart_after_a_render(
    tmp_path: Path, bars: Bars
) -> None:
    """A figure is freed only by the cyclic collector; the render process collects after
    every render, so what it holds between renders does not depend on when the collector
    last ran (the soak's render-process memory, docs/performance.md)."""
    pools: list[ProcessPoolExecutor] = []
    spawn = _recording_spawner(pools)
    service = ChartService(LocalDiskStore(tmp_path), pool_size=1, executor_factory=spawn)
    try:
        for indicators in ({"sma20"}, {"rsi", "macd"}, {"bollinger"}):
            png, hit = await service.chart(bars, indicators=frozenset(indicators), quote=None)
            assert png.startswith(b"\x89PNG") and not hit
            # Asked in the render process itself (eval is a builtin: it pickles by name).
            live = await asyncio.wrap_future(pools[0].submit(eval, _LIVE_FIGURES))
            assert live == 0
    finally:
        await service.aclose()


# -- S3 over loopback -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.mark.loopback
async def test_charts_are_cached_in_the_configured_bucket(
    tmp_path: Path, bars: Bars, moto_endpoint: str
) -> None:
    bucket = "charts-" + os.urandom(4).hex()
    settings = Settings(
        data_dir=tmp_path,
        chart_store_url=f"s3://{bucket}/catalyst",
        s3_endpoint_url=moto_endpoint,
        s3_access_key=Secret("testing"),
        s3_secret_key=Secret("testing-secret"),
        process_pool_size=0,
    )
    svc = build_resources(settings, workers=False)
    service = svc.charts.get()
    store = service.store
    assert isinstance(store, S3Store)
    await store.create_bucket()
    png, hit = await service.chart(bars, indicators=frozenset(), quote=None)
    assert not hit
    _, hit = await service.chart(bars, indicators=frozenset(), quote=None)
    assert hit
    await svc.aclose()

    import boto3  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    )
    listed = client.list_objects_v2(Bucket=bucket)["Contents"]
    (obj,) = listed
    assert obj["Key"].startswith("catalyst/charts/v1/AAPL/5D/")
    assert client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read() == png
    assert not (tmp_path / "charts").exists()
