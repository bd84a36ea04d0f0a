"""A registry a caller passes to build_edge or build_runtime is refused at start like the
bot's own (which build_registry() validates) when its handlers cannot all work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from nacl.signing import SigningKey

from catalyst_interactions.app import build_runtime
from catalyst_interactions.discord.messages import Message
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.errors import RegistrationError
from catalyst_interactions.framework.options import Param
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.settings import Settings
from support.edge import edge_runtime


def unworkable() -> Registry:
    """One command whose option is marked for suggestions that nothing gives."""
    registry = Registry()

    @registry.command("find", "Find")
    async def find(
        ctx: CommandContext[None], what: Annotated[str, Param("What", autocomplete=True)]
    ) -> Message:
        return Message(content=what)

    return registry


def settings(data_dir: Path) -> Settings:
    return Settings(
        public_key_hex=SigningKey.generate().verify_key.encode().hex(),
        application_id="1",
        admin_user_ids=frozenset({"2"}),
        data_dir=data_dir,
    )


def test_build_edge_refuses_a_passed_registry_that_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(RegistrationError, match="'what' is marked for autocomplete"):
        edge_runtime(settings(tmp_path / "data"), registry=unworkable())


def test_build_runtime_refuses_it_before_any_resource_is_built(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with pytest.raises(RegistrationError, match="'what' is marked for autocomplete"):
        build_runtime(settings(data_dir), workers=False, registry=unworkable())
    assert not data_dir.exists()  # no database, queue or replay table was opened


def test_a_workable_passed_registry_still_builds_an_edge(tmp_path: Path) -> None:
    registry = Registry()

    @registry.command("ping", "Ping")
    async def ping(ctx: CommandContext[None]) -> Message:
        return Message(content="pong")

    runtime = edge_runtime(settings(tmp_path / "data"), registry=registry)
    assert runtime.registry is registry
