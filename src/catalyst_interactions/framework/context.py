"""What a handler receives. The same context is built on the edge and in a worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who counts as an admin: listed users, listed roles, or members with ADMINISTRATOR."""

    admin_user_ids: frozenset[str] = frozenset()
    admin_role_ids: frozenset[str] = frozenset()

    def is_admin(self, interaction: Interaction) -> bool:
        author = interaction.author
        if author is not None and author.id in self.admin_user_ids:
            return True
        member = interaction.member
        if member is None:
            return False
        if self.admin_role_ids.intersection(member.roles):
            return True
        return member.has_permission(Permissions.ADMINISTRATOR)


@dataclass(slots=True)
class Context:
    """Base context: the interaction and the application's resources (``state``)."""

    interaction: Interaction
    state: Any = None
    access: AccessPolicy = field(default_factory=AccessPolicy)

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
class CommandContext(Context):
    command: CommandData | None = None
    path: tuple[str, ...] = ()
    """The invoked command path, e.g. ``("watchlist", "add")``."""


@dataclass(slots=True)
class ComponentContext(Context):
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
class ModalContext(Context):
    modal: ModalData | None = None
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    """Submitted inputs by their custom_id."""

    @property
    def message(self) -> Message | None:
        return self.interaction.message


@dataclass(slots=True)
class AutocompleteContext(Context):
    path: tuple[str, ...] = ()
    focused: str = ""
    """Name of the option being typed."""
    value: str = ""
    """What the user has typed so far."""
    options: dict[str, Any] = field(default_factory=dict)
    """Other options already filled in (raw values)."""
