"""Everything the emulated Discord remembers: messages, uploads, commands, interactions.

One process, one event loop: the store is plain data mutated by the REST API and the
interaction sender, and every visible change is published to the page as an event.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .events import EventHub
from .world import World

DISCORD_EPOCH_MS = 1_420_070_400_000
"""Snowflakes count milliseconds from 2015-01-01 (REF #snowflakes, docs/discord-facts.md §2)."""
TOKEN_LIFETIME_S = 15 * 60
"""An interaction token works for 15 minutes (docs/discord-facts.md §5)."""


def make_snowflake(unix_ms: int, increment: int = 0) -> str:
    """A snowflake made at ``unix_ms``: the time in the top bits, an increment in the low 12."""
    return str(((unix_ms - DISCORD_EPOCH_MS) << 22) | (increment & 0xFFF))


__all__ = ["InteractionRecord", "Store", "StoredFile"]

JSON = dict[str, Any]
CALLBACK_DEADLINE_S = 3.0
"""The initial response must arrive within 3 s (RR #interaction-callback)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(eq=False, slots=True)
class InteractionRecord:
    """One interaction the emulator sent: its token's life and what its responses made."""

    id: str
    token: str = field(repr=False)
    type: int
    channel_id: str
    persona: str
    user: JSON
    created_at: float
    payload: JSON = field(repr=False)
    command_name: str | None = None
    source_message_id: str | None = None
    """The message a component (or a modal opened from one) belongs to."""
    acked: bool = False
    failed: bool = False
    """The initial response failed: Discord invalidates the token."""
    response_type: int | None = None
    original_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)
    modal: JSON | None = None
    choices: list[Any] | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a callback arrives through REST (the HTTP-202 path)."""

    @property
    def expires_at(self) -> float:
        return self.created_at + TOKEN_LIFETIME_S

    @property
    def callback_deadline(self) -> float:
        return self.created_at + CALLBACK_DEADLINE_S


class Store:
    def __init__(self, world: World, *, clock: Callable[[], float], public_base: str = "") -> None:
        self.world = world
        self.clock = clock
        self.public_base = public_base
        """Absolute base URL of the emulator, for attachment URLs."""
        self.hub = EventHub()
        self.messages: dict[str, JSON] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[str | None, list[JSON]] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self.tokens: dict[str, InteractionRecord] = {}
        self.application: JSON = {
            "id": world.application_id,
            "name": world.application_name,
            "icon": None,
            "description": "The local Discord's application",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "flags": 0,
            "interactions_endpoint_url": None,
            "verify_key": "",
            "tags": [],
            "integration_types_config": {"0": {}},
            "bot": dict(world.bot_user),
            "owner": dict(world.personas["admin"].user),
            "team": None,
            "approximate_guild_count": 1,
            "redirect_uris": [],
        }
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return make_snowflake(int(self.clock() * 1000), next(self._ids))

    # -- interactions -----------------------------------------------------------------------
    def add_interaction(self, record: InteractionRecord) -> None:
        if len(self.interactions) > 5000:  # a long session: forget tokens long expired
            now = self.clock()
            for old in [r for r in self.interactions.values() if r.expires_at + 3600 < now]:
                self.interactions.pop(old.id, None)
                self.tokens.pop(old.token, None)
        self.interactions[record.id] = record
        self.tokens[record.token] = record

    # -- messages ---------------------------------------------------------------------------
    def put_message(self, message: JSON, *, created: bool) -> None:
        self.messages[message["id"]] = message
        # A snapshot: later edits change ``message`` in place, and an event must keep showing
        # the message as it was (a reconnecting page replays the backlog).
        self.hub.publish("message_create" if created else "message_update", copy.deepcopy(message))

    def delete_message(self, message_id: str) -> JSON | None:
        message = self.messages.pop(message_id, None)
        if message is not None:
            self.hub.publish(
                "message_delete", {"id": message_id, "channel_id": message["channel_id"]}
            )
        return message

    def channel_messages(self) -> list[JSON]:
        return sorted(self.messages.values(), key=lambda m: int(m["id"]))

    # -- commands ---------------------------------------------------------------------------
    def all_commands(self) -> list[JSON]:
        """Global commands, then the guild's (the composer shows both, like Discord)."""
        return [*self.commands.get(None, []), *self.commands.get(self.world.guild_id, [])]

    def find_command(self, command_id: str) -> JSON | None:
        return next((c for c in self.all_commands() if c["id"] == command_id), None)
