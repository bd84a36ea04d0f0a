from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from catalyst_interactions.settings import Settings
from support.edge import edge_runtime
from support.servers import serve_in_thread
from support.signing import Signer


@pytest.fixture
def edge_settings(signer: Signer, tmp_path) -> Settings:
    return Settings(
        public_key_hex=signer.public_key_hex,
        application_id="1",
        data_dir=tmp_path,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
def edge_url(edge_settings: Settings) -> Iterator[str]:
    runtime = edge_runtime(edge_settings)
    with serve_in_thread(runtime.app) as url:
        yield url


@pytest.fixture
def client(edge_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge_url, timeout=10) as c:
        yield c
