"""Command paths with the store on PostgreSQL (a schema of our own, dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

import psycopg
import pytest
from bot_support import Bot, content, embed
from psycopg import sql

from support.signing import command, member

pytestmark = [pytest.mark.postgres, pytest.mark.loopback]

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"


@pytest.fixture
def pg_url() -> Iterator[str]:
    schema = f"bot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (
            f"postgresql://postgres@127.0.0.1:5432/test?options={quote(f'-csearch_path={schema}')}"
        )
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_watchlist_and_admin_set_on_postgres(start_bot: Callable[..., Bot], pg_url: str) -> None:
    bot = start_bot(database_url=pg_url, watchlist_max=2)
    assert bot.with_store(lambda s: s.ping()) is True
    for ticker in ("AAPL", "MSFT"):
        bot.send(
            command(
                "watchlist",
                [
                    {
                        "name": "add",
                        "type": 1,
                        "options": [{"name": "ticker", "type": 3, "value": ticker}],
                    }
                ],
            )
        )
    full = bot.send(
        command(
            "watchlist",
            [
                {
                    "name": "add",
                    "type": 1,
                    "options": [{"name": "ticker", "type": 3, "value": "NVDA"}],
                }
            ],
        )
    )
    assert content(full).startswith("Your watchlist is full (2 tickers)")
    listed = bot.send(command("watchlist", [{"name": "list", "type": 1, "options": []}]))
    assert embed(listed)["description"] == "**AAPL**, **MSFT**"

    async def seed(store):  # type: ignore[no-untyped-def]
        from catalyst_interactions.store import ParameterType

        assert store.backend == "postgresql"
        await store.parameters.define("min_score", ParameterType.FLOAT, 0.5, minimum=0, maximum=1)

    bot.with_store(seed)
    done = bot.send(
        command(
            "admin",
            [
                {
                    "name": "set",
                    "type": 1,
                    "options": [
                        {"name": "parameter", "type": 3, "value": "min_score"},
                        {"name": "value", "type": 3, "value": "0.7"},
                    ],
                }
            ],
            user=member("1", permissions=8),
        )
    )
    assert content(done).startswith("Set `min_score`: `0.5` → `0.7` (change #1).")
    refused = bot.send(
        command(
            "admin",
            [
                {
                    "name": "rollback",
                    "type": 1,
                    "options": [{"name": "change_id", "type": 4, "value": 1}],
                }
            ],
            user=member("2"),
        )
    )
    assert content(refused) == "Only Catalyst admins can do that."
    entries = bot.with_store(lambda s: s.audit.list())
    assert [(e.action, e.allowed) for e in entries] == [
        ("admin.refused", False),
        ("parameter.set", True),
    ]
