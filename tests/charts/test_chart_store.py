"""Chart stores: local disk, S3 over loopback (moto server), the SigV4 signer, RenderCache."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalyst_interactions.charts._sigv4 import EMPTY_SHA256, sign_headers
from catalyst_interactions.charts.cache import (
    ChartStoreError,
    LocalDiskStore,
    RenderCache,
    S3Store,
    chart_key,
)
from catalyst_interactions.market import Timeframe
from catalyst_interactions.secret import Secret

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_sigv4_matches_aws_documented_example() -> None:
    # "GET Object" example from the S3 SigV4 header-authentication documentation.
    headers = sign_headers(
        method="GET",
        host="examplebucket.s3.amazonaws.com",
        path="/test.txt",
        headers={"Range": "bytes=0-9"},
        payload_sha256=EMPTY_SHA256,
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key=Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region="us-east-1",
        now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_sigv4_agrees_with_botocore_on_a_put() -> None:
    from botocore.auth import S3SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    body = b"chart bytes"
    digest = hashlib.sha256(body).hexdigest()
    request = AWSRequest(
        method="PUT",
        url="http://127.0.0.1:9000/bucket/charts/v1/BRK.B/1D/a%20b.png",
        data=body,
        headers={"Content-Type": "image/png", "X-Amz-Content-SHA256": digest},
    )
    S3SigV4Auth(Credentials("AK", "SK"), "s3", "eu-west-1").add_auth(request)
    # botocore signs with the current time; sign ours at the same instant.
    when = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = sign_headers(
        method="PUT",
        host="127.0.0.1:9000",
        path="/bucket/charts/v1/BRK.B/1D/a b.png",
        headers={"Content-Type": "image/png"},
        payload_sha256=digest,
        access_key="AK",
        secret_key=Secret("SK"),
        region="eu-west-1",
        now=when,
    )
    assert ours["authorization"] == request.headers["Authorization"]


def test_chart_key_is_stable_and_sensitive() -> None:
    base = {
        "ticker": "aapl",
        "timeframe": Timeframe.D1,
        "indicators": ["vwap", "RSI"],
        "version": "v1",
    }
    k = chart_key(**base)  # type: ignore[arg-type]
    assert k.startswith("charts/v1/AAPL/1D/")
    assert k.endswith(".png")
    assert k == chart_key(**{**base, "indicators": ["rsi", "vwap"]})  # type: ignore[arg-type]
    assert k != chart_key(**{**base, "version": "v2"})  # type: ignore[arg-type]
    assert k != chart_key(**base, quote_figures=(1.0, 2.0, 3.0))  # type: ignore[arg-type]


async def test_local_disk_round_trip_and_atomicity(tmp_path: Path) -> None:
    store = LocalDiskStore(tmp_path)
    assert await store.get("charts/v1/AAPL/1D/x.png") is None
    await store.put("charts/v1/AAPL/1D/x.png", PNG)
    await store.put("charts/v1/AAPL/1D/x.png", PNG)  # overwrite is fine
    assert await store.get("charts/v1/AAPL/1D/x.png") == PNG
    leftovers = [p.name for p in (tmp_path / "charts/v1/AAPL/1D").iterdir()]
    assert leftovers == ["x.png"]  # no temp files left behind
    with pytest.raises(ChartStoreError):
        await store.get("../outside.png")


async def test_local_disk_write_failure_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "charts").write_text("a file where a directory should be")
    with pytest.raises(ChartStoreError):
        await LocalDiskStore(tmp_path).put("charts/v1/x.png", PNG)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.0  # every operation is a second later: an unambiguous use order
        return self.now


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


async def test_local_disk_is_bounded_by_size_least_recently_used_first(tmp_path: Path) -> None:
    clock = Clock()
    store = LocalDiskStore(tmp_path, max_bytes=1000, max_age_s=3600, clock=clock)
    blob = b"x" * 200
    for i in range(5):  # exactly the bound
        await store.put(f"charts/v1/A/1D/{i}.png", blob)
    assert disk_bytes(tmp_path) == 1000
    assert await store.get("charts/v1/A/1D/0.png") == blob  # 0 is now the most recent
    await store.put("charts/v1/B/1D/5.png", blob)  # over the bound: down to 90%
    assert disk_bytes(tmp_path) <= 900
    names = {p.name for p in tmp_path.rglob("*.png")}
    assert names == {"0.png", "3.png", "4.png", "5.png"}  # 1 and 2 were the least recent
    for _ in range(20):  # a flood of new renders never takes it past the bound
        await store.put(f"charts/v1/C/1D/{clock.now}.png", blob)
        assert disk_bytes(tmp_path) <= 1000


async def test_local_disk_forgets_charts_unused_for_max_age(tmp_path: Path) -> None:
    clock = Clock()
    store = LocalDiskStore(tmp_path, max_bytes=10**6, max_age_s=100, clock=clock)
    await store.put("charts/v1/A/1D/old.png", PNG)
    await store.put("charts/v1/A/1D/kept.png", PNG)
    clock.now += 60
    assert await store.get("charts/v1/A/1D/kept.png") == PNG  # used: its age starts again
    clock.now += 60
    assert await store.get("charts/v1/A/1D/old.png") is None  # 120 s unused: a miss
    assert not (tmp_path / "charts/v1/A/1D/old.png").exists()  # and deleted
    await store.put("charts/v1/A/1D/other.png", PNG)
    clock.now += 200
    assert store.sweep() == (0, 0)  # everything is past its age
    assert list(tmp_path.rglob("*.png")) == []


async def test_local_disk_bound_holds_for_two_processes_sharing_it(tmp_path: Path) -> None:
    """Each process's sweep scans the directory, so the bound is on the total they wrote."""
    clock = Clock()
    one = LocalDiskStore(tmp_path, max_bytes=1000, clock=clock)
    two = LocalDiskStore(tmp_path, max_bytes=1000, clock=clock)
    for i in range(10):
        await (one if i % 2 else two).put(f"charts/v1/A/1D/{i}.png", b"y" * 150)
    await one.put("charts/v1/A/1D/last.png", b"y" * 150)
    assert one.sweep()[1] == disk_bytes(tmp_path) <= 1000
    assert (tmp_path / "charts/v1/A/1D/last.png").exists()


async def test_local_disk_files_are_private(tmp_path: Path) -> None:
    root = tmp_path / "charts-root"
    await LocalDiskStore(root).put("charts/v1/A/1D/x.png", PNG)
    assert root.stat().st_mode & 0o777 == 0o700
    for path in root.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_chart_cache_bounds_come_from_the_settings(tmp_path: Path) -> None:
    from catalyst_interactions.bot.charting import build_store
    from catalyst_interactions.settings import Settings

    settings = Settings.from_env(
        {
            "CATALYST_DATA_DIR": str(tmp_path),
            "CATALYST_CHART_CACHE_MAX_MB": "64",
            "CATALYST_CHART_CACHE_MAX_AGE_S": "600",
        },
        env_file=None,
    )
    store = build_store(settings)
    assert isinstance(store, LocalDiskStore)
    assert (store.max_bytes, store.max_age_s) == (64 * 1024 * 1024, 600.0)
    defaults = build_store(Settings.from_env({}, env_file=None))
    assert isinstance(defaults, LocalDiskStore)
    assert (defaults.max_bytes, defaults.max_age_s) == (256 * 1024 * 1024, 3600.0)


async def test_render_cache_renders_once_and_survives_store_failures(tmp_path: Path) -> None:
    calls = 0

    async def render() -> bytes:
        nonlocal calls
        calls += 1
        return PNG

    cache = RenderCache(LocalDiskStore(tmp_path))
    assert await cache.get_or_render("charts/v1/A/1D/k.png", render) == (PNG, False)
    assert await cache.get_or_render("charts/v1/A/1D/k.png", render) == (PNG, True)
    assert calls == 1
    (tmp_path / "broken").write_text("")
    broken = RenderCache(LocalDiskStore(tmp_path / "broken"))
    assert await broken.get_or_render("charts/v1/A/1D/k.png", render) == (PNG, False)
    assert calls == 2


async def test_the_same_chart_asked_for_at_once_is_rendered_once(tmp_path: Path) -> None:
    """Jobs that want the same chart while it is being drawn (a ticker's minute rolled over
    for all of them at once) wait for that one render."""
    calls = 0
    release = asyncio.Event()

    async def render() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return PNG

    cache = RenderCache(LocalDiskStore(tmp_path))
    waiting = [
        asyncio.create_task(cache.get_or_render("charts/v1/A/1D/k.png", render)) for _ in range(10)
    ]
    other = asyncio.create_task(cache.get_or_render("charts/v1/B/1D/k.png", render))
    await asyncio.sleep(0.05)
    assert calls == 2  # one per key
    release.set()
    results = await asyncio.gather(*waiting)
    assert [png for png, _ in results] == [PNG] * 10
    assert sorted(hit for _, hit in results) == [False] + [True] * 9  # one drew it
    assert await other == (PNG, False)
    assert await cache.get_or_render("charts/v1/A/1D/k.png", render) == (PNG, True)
    assert calls == 2


async def test_a_cancelled_caller_does_not_cancel_the_render_others_wait_for(
    tmp_path: Path,
) -> None:
    release = asyncio.Event()
    calls = 0

    async def render() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return PNG

    cache = RenderCache(LocalDiskStore(tmp_path))
    first = asyncio.create_task(cache.get_or_render("charts/v1/A/1D/k.png", render))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(cache.get_or_render("charts/v1/A/1D/k.png", render))
    await asyncio.sleep(0.01)
    first.cancel()  # its job timed out
    release.set()
    assert await second == (PNG, True)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert calls == 1
    assert await LocalDiskStore(tmp_path).get("charts/v1/A/1D/k.png") == PNG  # stored


async def test_a_failed_render_fails_every_waiter_and_the_next_call_tries_again(
    tmp_path: Path,
) -> None:
    attempts = 0

    async def render() -> bytes:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.02)
        if attempts == 1:
            raise ValueError("no common bars")
        return PNG

    cache = RenderCache(LocalDiskStore(tmp_path))
    results = await asyncio.gather(
        *(cache.get_or_render("charts/v1/A/1D/k.png", render) for _ in range(3)),
        return_exceptions=True,
    )
    assert [type(r) for r in results] == [ValueError] * 3
    assert await cache.get_or_render("charts/v1/A/1D/k.png", render) == (PNG, False)
    assert attempts == 2


@pytest.mark.parametrize("key", ["../x.png", "charts/../../x.png", "/etc/x", "a//b", "a\\b"])
async def test_a_key_cannot_leave_the_store_root(tmp_path: Path, key: str) -> None:
    store = LocalDiskStore(tmp_path / "store")
    with pytest.raises(ChartStoreError, match="escapes"):
        await store.put(key, PNG)
    with pytest.raises(ChartStoreError, match="escapes"):
        await store.get(key)


# --------------------------------------------------------------------- S3 over loopback


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


@pytest.fixture
async def s3(moto_endpoint: str) -> AsyncIterator[S3Store]:
    bucket = "charts-" + os.urandom(4).hex()
    store = S3Store(
        endpoint_url=moto_endpoint,
        bucket=bucket,
        access_key="testing",
        secret_key=Secret("testing-secret"),
        region="us-east-1",
        prefix="cat",
    )
    await store.create_bucket()
    try:
        yield store
    finally:
        await store.aclose()


@pytest.mark.loopback
async def test_s3_round_trip_is_visible_to_an_independent_client(
    s3: S3Store, moto_endpoint: str
) -> None:
    import boto3  # type: ignore[import-untyped]

    key = "charts/v1/BRK.B/1Y/abc.png"
    assert await s3.get(key) is None
    await s3.put(key, PNG)
    assert await s3.get(key) == PNG
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    )
    obj = client.get_object(Bucket=s3._bucket, Key=f"cat/{key}")
    assert obj["Body"].read() == PNG
    assert obj["ContentType"] == "image/png"


@pytest.mark.loopback
async def test_s3_errors_are_store_errors(moto_endpoint: str) -> None:
    store = S3Store(
        endpoint_url=moto_endpoint,
        bucket="no-such-bucket-here",
        access_key="testing",
        secret_key=Secret("s3cr3t-value"),
    )
    try:
        with pytest.raises(ChartStoreError) as info:
            await store.put("k.png", PNG)
        assert "s3cr3t-value" not in str(info.value)
    finally:
        await store.aclose()
    dead = S3Store(
        endpoint_url="http://127.0.0.1:9", bucket="b", access_key="a", secret_key=Secret("s")
    )
    try:
        with pytest.raises(ChartStoreError):
            await dead.get("k.png")
    finally:
        await dead.aclose()
