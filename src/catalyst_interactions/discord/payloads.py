"""Typed views of incoming interaction payloads (docs/discord-facts.md §1, §2).

Structs hold only the fields we use; msgspec ignores the rest, so decoding stays fast and a new
field from Discord never breaks us. ``Interaction.data`` is kept raw and decoded by the
decoder for the interaction's type only when a handler needs it: a PING never pays for it.

Every struct here is ``gc=False``: decoded JSON cannot hold a reference cycle, so the
collector need not track (and walk) the objects each request makes.

A signed body is still typed by a stranger, so decoding refuses what Discord never sends
(docs/security.md, "Hostile input"): bytes that are not UTF-8, JSON nested deeper than
:data:`MAX_DEPTH`, ids that are not snowflakes, a token that is not a short URL-safe string,
names, custom_ids and option values longer than Discord's own limits. Each is a
:class:`PayloadError` (a 400 at the edge), never another exception.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate
from typing import Annotated, Any, Final

import msgspec

from .enums import InteractionType, Permissions
from .limits import (
    COMMAND_NAME_MAX,
    CUSTOM_ID_MAX,
    OPTION_STRING_LENGTH_MAX,
    SELECT_VALUES_MAX,
)

MAX_DEPTH: Final = 32
"""Deepest JSON nesting accepted in what we decode into Python containers. Discord's deepest
interaction (a component on a V2 message, with the message resolved) nests about 12 levels.
Without a limit, msgspec (recursing in C) raises RecursionError near Python's recursion
limit, and our own walkers recurse too.

Where it is checked (``decode_interaction``, ``_decode_data``): the typed structs of the body
have a fixed depth; the clicked ``message`` (plain containers) is checked with the whole
body; ``data`` when it is decoded; unknown fields are only skipped by msgspec, which refuses
nesting past the recursion limit (a 400 too). Most bodies are commands: their check then
reads only ``data`` (tens of bytes), not the whole body."""
TOKEN_MAX: Final = 500
"""Interaction tokens are ~200 URL-safe characters; a token becomes part of REST paths."""

# Shapes of ids, tokens and bitfields are checked after decoding (``_shape_problem``), in
# Python: msgspec's ``pattern`` constraints cost ~3 µs each on the hot path.
Snowflake = str
"""A Discord id: a decimal string of at most 20 ASCII digits (a 64-bit integer)."""
Token = Annotated[str, msgspec.Meta(max_length=TOKEN_MAX)]
Bitfield = Annotated[str, msgspec.Meta(max_length=40)]
"""Permissions: a decimal string (a 128-bit field has at most 39 digits)."""
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~+=:-]+")
Name = Annotated[str, msgspec.Meta(max_length=COMMAND_NAME_MAX)]
CustomId = Annotated[str, msgspec.Meta(max_length=CUSTOM_ID_MAX)]
OptionText = Annotated[str, msgspec.Meta(max_length=OPTION_STRING_LENGTH_MAX)]


class User(msgspec.Struct, frozen=True, gc=False):
    id: Snowflake
    username: str = ""
    global_name: str | None = None
    avatar: str | None = None
    bot: bool = False

    @property
    def display_name(self) -> str:
        return self.global_name or self.username or self.id


class Member(msgspec.Struct, frozen=True, gc=False):
    user: User | None = None
    roles: list[Snowflake] = []
    permissions: Bitfield | None = None

    def has_permission(self, permission: Permissions) -> bool:
        if self.permissions is None or not _is_snowflake_like(self.permissions, 40):
            return False
        return bool(int(self.permissions) & permission.value)


class Role(msgspec.Struct, frozen=True, gc=False):
    id: str
    name: str = ""
    color: int = 0
    permissions: str = "0"


class Channel(msgspec.Struct, frozen=True, gc=False):
    id: str
    type: int = 0
    name: str | None = None


class Attachment(msgspec.Struct, frozen=True, gc=False):
    id: str
    filename: str
    size: int = 0
    url: str = ""
    content_type: str | None = None


class Message(msgspec.Struct, frozen=True, gc=False):
    """The message a component was attached to (type 3 interactions)."""

    id: str
    channel_id: str = ""
    content: str = ""
    embeds: list[dict[str, Any]] = []
    components: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    flags: int = 0


class Resolved(msgspec.Struct, frozen=True, gc=False):
    users: dict[str, User] = {}
    members: dict[str, Member] = {}
    roles: dict[str, Role] = {}
    channels: dict[str, Channel] = {}
    messages: dict[str, Message] = {}
    attachments: dict[str, Attachment] = {}


OptionValue = str | int | float | bool


class CommandOption(msgspec.Struct, frozen=True, gc=False):
    name: Name
    type: int
    value: OptionText | int | float | bool | None = None
    options: list[CommandOption] = []
    focused: bool = False


class CommandData(msgspec.Struct, frozen=True, gc=False):
    id: str
    name: Name
    type: int = 1
    options: list[CommandOption] = []
    resolved: Resolved = Resolved()
    target_id: str | None = None
    guild_id: str | None = None


class ComponentData(msgspec.Struct, frozen=True, gc=False):
    custom_id: CustomId
    component_type: int
    values: Annotated[list[OptionText], msgspec.Meta(max_length=SELECT_VALUES_MAX)] = []
    resolved: Resolved = Resolved()


class ModalField(msgspec.Struct, frozen=True, gc=False):
    """A submitted modal input, from a Label (type 18) or a legacy action row."""

    type: int
    custom_id: str | None = None
    value: str | None = None
    values: list[str] | None = None
    component: ModalField | None = None  # Label wrapper
    components: list[ModalField] = []  # legacy action row


class ModalData(msgspec.Struct, frozen=True, gc=False):
    custom_id: CustomId
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


class Interaction(msgspec.Struct, frozen=True, gc=False):
    id: Snowflake
    application_id: Snowflake
    type: int
    token: Token = ""
    version: int = 1  # always 1; typed, so an absurd number here is refused
    data: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)  # empty when absent
    guild_id: str | None = None
    channel_id: str | None = None
    member: Member | None = None
    user: User | None = None
    message: Message | None = None
    app_permissions: Bitfield | None = None

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
_PING = int(InteractionType.PING)
_TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Opening brackets become +1, closing ones -1 (0xFF as a signed byte).
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_TOO_DEEP_RUN = re.compile(rb"[\[{]{%d}" % (MAX_DEPTH + 1))


def nesting_within(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """False when the JSON in ``body`` nests arrays and objects deeper than ``limit``.

    A body with at most ``limit`` brackets (most are) costs two ``count`` calls. Otherwise
    strings are cut out (brackets in text do not nest) and the depth is the largest running
    sum of +1 per opening and -1 per closing bracket. Every step runs in C, linear in the
    size (~50 ms for a 1 MiB body of brackets); a body that is not JSON is left to the decoder.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return True
    # Escaped backslashes, then escaped quotes: every quote left opens or closes a string.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    if _TOO_DEEP_RUN.search(brackets):
        return False
    steps = array("b", brackets.translate(_DEPTH_STEP))
    return max(accumulate(steps), default=0) <= limit


def _problem(exc: Exception) -> str:
    """msgspec's message, kept short: its path (``$.data.options[0]…``) grows with the input."""
    text = str(exc)
    return text if len(text) <= 200 else text[:199] + "…"


def decode_interaction(body: bytes) -> Interaction:
    """Decode a raw body; :class:`PayloadError` for anything that is not a well-formed
    interaction (see the module docstring), never another exception."""
    if not body.isascii():
        # msgspec checks UTF-8 only in the strings it decodes, and then raises
        # UnicodeDecodeError; skipped fields (``data``, unknown keys) are not checked at all.
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"body is not UTF-8 (byte {exc.start})") from None
    try:
        interaction = _interaction_decoder.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise PayloadError(f"malformed interaction: {_problem(exc)}") from None
    except RecursionError:  # nesting in a skipped field, past Python's recursion limit
        raise PayloadError(_TOO_DEEP) from None
    if interaction.type not in _KNOWN_TYPES:
        raise PayloadError(f"unknown interaction type {interaction.type}")
    # The clicked message's embeds and components are plain containers (see MAX_DEPTH).
    if interaction.message is not None and not nesting_within(body):
        raise PayloadError(_TOO_DEEP)
    problem = _shape_problem(interaction)
    if problem is not None:
        raise PayloadError(problem)
    return interaction


def _is_snowflake_like(value: str, digits: int = 20) -> bool:
    # bytes.isdigit() accepts ASCII digits only; str.isdigit() would accept "١٢٣".
    return 0 < len(value) <= digits and value.encode().isdigit()


def _shape_problem(interaction: Interaction) -> str | None:
    """What is wrong with the decoded interaction's ids, token and bitfield, if anything.

    On the hot path (PINGs too): plain string methods, one regex, no function calls. Digits
    are checked on the encoded bytes: ``bytes.isdigit`` accepts ASCII digits only (never
    another script's "١٢٣") and is cheaper than ``str.isdigit`` plus ``str.isascii``."""
    iid, app = interaction.id, interaction.application_id
    if not (len(iid) <= 20 and iid.encode().isdigit()):
        return "id must be a snowflake (1-20 digits)"
    if not (len(app) <= 20 and app.encode().isdigit()):
        return "application_id must be a snowflake (1-20 digits)"
    token = interaction.token
    if token:
        if _TOKEN_CHARACTERS.fullmatch(token) is None:
            return "token holds characters a token never has"
    elif interaction.type != _PING:
        return "interaction without a token"  # nothing could answer it later
    member = interaction.member
    user = member.user if member is not None and member.user is not None else interaction.user
    if user is not None:
        uid = user.id
        if not (0 < len(uid) <= 20 and uid.encode().isdigit()):
            return "user id must be a snowflake (1-20 digits)"
    perms = interaction.app_permissions
    if perms is not None and not (0 < len(perms) <= 40 and perms.encode().isdigit()):
        return "app_permissions must be decimal digits"
    return None


def _decode_data(raw: msgspec.Raw, decoder: msgspec.json.Decoder[Any], what: str) -> Any:
    if not raw:
        raise PayloadError(f"{what} interaction without data")
    if not nesting_within(bytes(raw)):  # options nest in options (see MAX_DEPTH)
        raise PayloadError(_TOO_DEEP)
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise PayloadError(f"malformed {what} data: {_problem(exc)}") from None
    except RecursionError:  # a skipped field nested past the recursion limit
        raise PayloadError(_TOO_DEEP) from None


def command_data(interaction: Interaction) -> CommandData:
    return _decode_data(interaction.data, _command_decoder, "command")  # type: ignore[no-any-return]


def component_data(interaction: Interaction) -> ComponentData:
    return _decode_data(interaction.data, _component_decoder, "component")  # type: ignore[no-any-return]


def modal_data(interaction: Interaction) -> ModalData:
    return _decode_data(interaction.data, _modal_decoder, "modal")  # type: ignore[no-any-return]
