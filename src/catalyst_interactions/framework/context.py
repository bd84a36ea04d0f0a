"""What a handler receives. The same context is built on the edge and in a worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ..discord.enums import Permissions
from ..discord.payloads import (
    CommandData,
    ComponentData,
    Interaction,
    Member,
    Message,
    ModalData,
    User,
)

if TYPE_CHECKING:
    from ..discord.messages import Message as Reply
    from .registry import Registry

R = TypeVar("R")
"""What the application gives every handler (the bot's :class:`~..bot.resources.Resources`).
The framework never looks inside it; a handler declares it in its context's type
(``ctx: CommandContext[Resources]``) and reads ``ctx.resources`` with no cast."""


class LiveMessage(Protocol):
    """The message a running handler can show progress in (see docs/architecture.md).

    A worker gives deferred handlers one that edits the interaction's message through the
    REST API; inline handlers get :data:`INLINE`, whose answer is the handler's return value.
    """

    async def progress(self, text: str) -> None: ...

    async def edit(self, message: Reply) -> None: ...

    async def followup(self, message: Reply, *, ephemeral: bool = False) -> None: ...


class _Inline:
    """Inline (and auto-inline) handlers answer within Discord's 3 s in the HTTP response.

    Nothing is shown before that answer, so progress and intermediate edits are superseded
    by it and dropped; a followup needs the answer to exist first, so it is refused.
    """

    async def progress(self, text: str) -> None:
        return None

    async def edit(self, message: Reply) -> None:
        return None

    async def followup(self, message: Reply, *, ephemeral: bool = False) -> None:
        raise RuntimeError(
            "followup() needs a deferred handler (mode=Mode.DEFERRED): an inline answer "
            "does not exist yet while the handler runs"
        )


INLINE: LiveMessage = _Inline()


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who counts as an admin: listed users anywhere (DMs too); listed roles and members with
    ADMINISTRATOR only inside a home server (``admin_guild_ids``).

    A guild's permissions are granted by its owner, and anyone can add a public bot to a
    server of their own where they hold Administrator: outside the home servers those
    permissions prove nothing.
    """

    admin_user_ids: frozenset[str] = frozenset()
    admin_role_ids: frozenset[str] = frozenset()
    admin_guild_ids: frozenset[str] = frozenset()

    def is_admin(self, interaction: Interaction) -> bool:
        author = interaction.author
        if author is not None and author.id in self.admin_user_ids:
            return True
        if interaction.guild_id is None or interaction.guild_id not in self.admin_guild_ids:
            return False
        member = interaction.member
        if member is None:
            return False
        if self.admin_role_ids.intersection(member.roles):
            return True
        return member.has_permission(Permissions.ADMINISTRATOR)


@dataclass(slots=True)
class Context(Generic[R]):
    """Base context: the interaction and the application's resources."""

    interaction: Interaction
    resources: R
    """Built once at start by the composition root (``app.py``) and shared by every handler."""
    access: AccessPolicy = field(default_factory=AccessPolicy)
    live: LiveMessage = INLINE
    """Where progress and edits go: the interaction's message when run by a worker."""
    registry: Registry[R] | None = None
    """Every declared handler (what ``/help`` lists); set by the dispatcher."""

    async def progress(self, text: str) -> None:
        """Show ``text`` (e.g. "Fetching 1Y of AAPL…") in the message while the work runs.

        Returns at once: updates are coalesced to respect Discord's rate limits, the newest
        wins, and none arrives after the final answer or near the token's expiry.
        """
        await self.live.progress(text)

    async def edit(self, message: Reply) -> None:
        """Show ``message`` as the current state of the answer (coalesced like progress)."""
        await self.live.edit(message)

    async def followup(self, message: Reply, *, ephemeral: bool = False) -> None:
        """Post an extra message under the answer now. Deferred handlers only; a retried job
        does not post the same (n-th) followup twice."""
        await self.live.followup(message, ephemeral=ephemeral)

    @property
    def user(self) -> User:
        author = self.interaction.author
        if author is None:  # Discord always sends one for non-PING interactions
            return User(id="0", username="unknown")
        return author

    @property
    def member(self) -> Member | None:
        return self.interaction.member

    @property
    def guild_id(self) -> str | None:
        return self.interaction.guild_id

    @property
    def channel_id(self) -> str | None:
        return self.interaction.channel_id

    @property
    def is_admin(self) -> bool:
        return self.access.is_admin(self.interaction)


@dataclass(slots=True)
class CommandContext(Context[R]):
    command: CommandData | None = None
    path: tuple[str, ...] = ()
    """The invoked command path, e.g. ``("watchlist", "add")``."""


@dataclass(slots=True)
class ComponentContext(Context[R]):
    component: ComponentData | None = None
    fields: dict[str, str] = field(default_factory=dict)
    """Named fields parsed from the custom_id by the handler's template."""

    @property
    def values(self) -> list[str]:
        return [] if self.component is None else self.component.values

    @property
    def message(self) -> Message | None:
        return self.interaction.message


@dataclass(slots=True)
class ModalContext(Context[R]):
    modal: ModalData | None = None
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    """Submitted inputs by their custom_id."""

    @property
    def message(self) -> Message | None:
        return self.interaction.message


@dataclass(slots=True)
class AutocompleteContext(Context[R]):
    path: tuple[str, ...] = ()
    focused: str = ""
    """Name of the option being typed."""
    value: str = ""
    """What the user has typed so far."""
    options: dict[str, Any] = field(default_factory=dict)
    """Other options already filled in (raw values)."""
