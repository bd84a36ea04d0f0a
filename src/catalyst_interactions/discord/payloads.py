"""Typed views of incoming interaction payloads (DISCORD_FACTS §1, §2).

Structs hold only the fields we use; msgspec ignores the rest, so decoding stays fast and a new
field from Discord never breaks us. ``Interaction.data`` is kept raw and decoded by the
decoder for the interaction's type only when a handler needs it: a PING never pays for it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .enums import InteractionType, Permissions


class User(msgspec.Struct, frozen=True):
    id: str
    username: str = ""
    global_name: str | None = None
    avatar: str | None = None
    bot: bool = False

    @property
    def display_name(self) -> str:
        return self.global_name or self.username or self.id


class Member(msgspec.Struct, frozen=True):
    user: User | None = None
    nick: str | None = None
    roles: list[str] = []
    permissions: str | None = None
    joined_at: str | None = None

    def has_permission(self, permission: Permissions) -> bool:
        if self.permissions is None:
            return False
        return bool(int(self.permissions) & permission.value)


class Role(msgspec.Struct, frozen=True):
    id: str
    name: str = ""
    color: int = 0
    permissions: str = "0"


class Channel(msgspec.Struct, frozen=True):
    id: str
    type: int = 0
    name: str | None = None


class Attachment(msgspec.Struct, frozen=True):
    id: str
    filename: str
    size: int = 0
    url: str = ""
    content_type: str | None = None


class Message(msgspec.Struct, frozen=True):
    """The message a component was attached to (type 3 interactions)."""

    id: str
    channel_id: str = ""
    content: str = ""
    embeds: list[dict[str, Any]] = []
    components: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    flags: int = 0


class Resolved(msgspec.Struct, frozen=True):
    users: dict[str, User] = {}
    members: dict[str, Member] = {}
    roles: dict[str, Role] = {}
    channels: dict[str, Channel] = {}
    messages: dict[str, Message] = {}
    attachments: dict[str, Attachment] = {}


OptionValue = str | int | float | bool


class CommandOption(msgspec.Struct, frozen=True):
    name: str
    type: int
    value: OptionValue | None = None
    options: list[CommandOption] = []
    focused: bool = False


class CommandData(msgspec.Struct, frozen=True):
    id: str
    name: str
    type: int = 1
    options: list[CommandOption] = []
    resolved: Resolved = Resolved()
    target_id: str | None = None
    guild_id: str | None = None


class ComponentData(msgspec.Struct, frozen=True):
    custom_id: str
    component_type: int
    values: list[str] = []
    resolved: Resolved = Resolved()


class ModalField(msgspec.Struct, frozen=True):
    """A submitted modal input, from a Label (type 18) or a legacy action row."""

    type: int
    custom_id: str | None = None
    value: str | None = None
    values: list[str] | None = None
    component: ModalField | None = None  # Label wrapper
    components: list[ModalField] = []  # legacy action row


class ModalData(msgspec.Struct, frozen=True):
    custom_id: str
    components: list[ModalField] = []

    def values(self) -> dict[str, str]:
        """Every input's custom_id mapped to its submitted text (selects: comma-joined)."""
        out: dict[str, str] = {}
        stack = list(self.components)
        while stack:
            field = stack.pop()
            if field.component is not None:
                stack.append(field.component)
            stack.extend(field.components)
            if field.custom_id is not None:
                if field.value is not None:
                    out[field.custom_id] = field.value
                elif field.values is not None:
                    out[field.custom_id] = ",".join(field.values)
        return out


class Interaction(msgspec.Struct, frozen=True):
    id: str
    application_id: str
    type: int
    token: str = ""
    version: int = 1
    data: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)  # empty when absent
    guild_id: str | None = None
    channel_id: str | None = None
    member: Member | None = None
    user: User | None = None
    message: Message | None = None
    locale: str | None = None
    guild_locale: str | None = None
    app_permissions: str | None = None
    context: int | None = None

    def __repr__(self) -> str:
        # The token is a credential for 15 minutes: keep it out of every repr and log.
        return f"Interaction(id={self.id!r}, type={self.type}, guild_id={self.guild_id!r})"

    @property
    def author(self) -> User | None:
        """Who acted: the member's user in a guild, the user in a DM."""
        if self.member is not None and self.member.user is not None:
            return self.member.user
        return self.user


class PayloadError(ValueError):
    """The body is not a well-formed interaction."""


_interaction_decoder = msgspec.json.Decoder(Interaction)
_command_decoder = msgspec.json.Decoder(CommandData)
_component_decoder = msgspec.json.Decoder(ComponentData)
_modal_decoder = msgspec.json.Decoder(ModalData)
_KNOWN_TYPES = frozenset(int(t) for t in InteractionType)


def decode_interaction(body: bytes) -> Interaction:
    """Decode a raw body; :class:`PayloadError` for malformed JSON or an unknown type."""
    try:
        interaction = _interaction_decoder.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise PayloadError(f"malformed interaction: {exc}") from None
    if interaction.type not in _KNOWN_TYPES:
        raise PayloadError(f"unknown interaction type {interaction.type}")
    return interaction


def _decode_data(raw: msgspec.Raw, decoder: msgspec.json.Decoder[Any], what: str) -> Any:
    if not raw:
        raise PayloadError(f"{what} interaction without data")
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise PayloadError(f"malformed {what} data: {exc}") from None


def command_data(interaction: Interaction) -> CommandData:
    return _decode_data(interaction.data, _command_decoder, "command")  # type: ignore[no-any-return]


def component_data(interaction: Interaction) -> ComponentData:
    return _decode_data(interaction.data, _component_decoder, "component")  # type: ignore[no-any-return]


def modal_data(interaction: Interaction) -> ModalData:
    return _decode_data(interaction.data, _modal_decoder, "modal")  # type: ignore[no-any-return]
