"""Immutable reply builders that refuse, when built, anything Discord would reject.

Every builder checks Discord's documented limits in ``__post_init__`` and raises
:class:`LimitError` naming the field and the limit, so a bad reply fails where it is made
(in a handler, under test) and never as a 400 from Discord minutes later in a worker.
``to_dict()`` produces the JSON Discord expects. These builders are the only place the bot
enforces Discord's limits (the values live in :mod:`.limits`); the local Discord emulator
checks what arrives with its own reading of the same rules, so each catches the other's
mistakes under test.

Text limits are counted after trimming leading and trailing whitespace, as Discord does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeGuard

from .enums import ButtonStyle, ComponentType, TextInputStyle
from .limits import (
    ACTION_ROWS_MAX,
    ALLOWED_MENTION_IDS_MAX,
    ATTACHMENT_DESCRIPTION_MAX,
    ATTACHMENT_FILENAME_MAX,
    ATTACHMENTS_MAX,
    BUTTON_LABEL_MAX,
    BUTTON_URL_MAX,
    CHOICE_NAME_MAX,
    CHOICE_STRING_VALUE_MAX,
    CHOICES_MAX,
    COLOR_MAX,
    CONTENT_MAX,
    CUSTOM_ID_MAX,
    EMBED_AUTHOR_MAX,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBED_FIELDS_MAX,
    EMBED_FOOTER_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
    EMBED_URL_MAX,
    EMBEDS_MAX,
    EMOJI_NAME_MAX,
    EPHEMERAL,
    LABEL_MAX,
    MODAL_COMPONENTS_MAX,
    MODAL_TITLE_MAX,
    ROW_BUTTONS_MAX,
    SAFE_INTEGER_MAX,
    SELECT_OPTION_TEXT_MAX,
    SELECT_OPTIONS_MAX,
    SELECT_PLACEHOLDER_MAX,
    SELECT_VALUES_MAX,
    SUPPRESS_EMBEDS,
    TEXT_INPUT_LENGTH_MAX,
    TEXT_INPUT_PLACEHOLDER_MAX,
)

__all__ = [
    "ActionRow",
    "Button",
    "Choice",
    "Embed",
    "EmbedField",
    "File",
    "LimitError",
    "Message",
    "Modal",
    "SelectOption",
    "StringSelect",
    "TextInput",
    "autocomplete_choices",
    "quoted",
    "truncate",
    "user_text",
]


class LimitError(ValueError):
    """A reply breaks one of Discord's documented limits or rules; the message says which."""


def _check(problem: str | None) -> None:
    if problem is not None:
        raise LimitError(problem)


def _kind(value: object) -> str:
    """How an error message names a value's JSON kind."""
    return {
        type(None): "null",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def length_problem(
    path: str, value: object, max_len: int, *, min_len: int = 0, trim: bool = True
) -> str | None:
    """Describe why ``value`` is not a string of ``min_len..max_len`` characters, or None."""
    if not isinstance(value, str):
        return f"{path} must be a string, not {_kind(value)}"
    n = len(value.strip()) if trim else len(value)
    if n > max_len:
        return f"{path} is {n} characters; Discord allows at most {max_len}"
    if n < min_len:
        if n == 0:
            return f"{path} is empty; Discord requires at least {min_len} character(s)"
        return f"{path} is {n} characters; Discord requires at least {min_len}"
    return None


def count_problem(
    path: str, n: int, max_n: int, *, min_n: int = 0, noun: str = "items"
) -> str | None:
    """Describe why a collection of ``n`` items is outside ``min_n..max_n``, or None."""
    if n > max_n:
        return f"{path} has {n} {noun}; Discord allows at most {max_n}"
    if n < min_n:
        return f"{path} has {n} {noun}; Discord requires at least {min_n}"
    return None


def range_problem(path: str, value: object, lo: int, hi: int) -> str | None:
    """Describe why ``value`` is not an integer in ``lo..hi``, or None."""
    if not _is_int(value):
        return f"{path} must be an integer, not {_kind(value)}"
    if not lo <= value <= hi:
        return f"{path} is {value}; Discord allows {lo} to {hi}"
    return None


def _text(path: str, value: str | None, max_len: int, *, min_len: int = 0) -> int:
    """Check an optional text field; return its trimmed length (0 when None)."""
    if value is None:
        return 0
    if type(value) is str:  # fast path: the common, valid case builds no message
        n = len(value.strip())
        if min_len <= n <= max_len:
            return n
    _check(length_problem(path, value, max_len, min_len=min_len))
    return len(value.strip())


def _custom_id(path: str, value: str) -> None:
    if type(value) is str and 1 <= len(value) <= CUSTOM_ID_MAX:
        return
    _check(length_problem(path, value, CUSTOM_ID_MAX, min_len=1, trim=False))


def _unique(path: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for custom_id in ids:
        if custom_id in seen:
            raise LimitError(f"{path}: custom_id {custom_id!r} is used twice; it must be unique")
        seen.add(custom_id)


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, ending with "…" when it was cut."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


QUOTE_MAX = 100
"""How much of a user's input a reply repeats back (an unknown name, a bad value)."""


def quoted(value: object, limit: int = QUOTE_MAX) -> str:
    """User input to show inside a reply: at most ``limit`` characters, one line, and no
    backtick, so it cannot close the code span it is usually shown in."""
    text = " ".join(str(value).split()).replace("`", "'")
    return truncate(text, limit) or " "


def user_text(text: str) -> str:
    """A text message for the user, cut to Discord's 2000-character content limit."""
    return truncate(text, CONTENT_MAX) if len(text) > CONTENT_MAX else text


_CUSTOM_EMOJI = re.compile(r"<(a?):([A-Za-z0-9_]{2,32}):([0-9]{1,20})>")


def _emoji_dict(path: str, emoji: str) -> dict[str, Any]:
    """``"🔥"`` -> ``{"name": "🔥"}``; ``"<:up:123>"``/``"<a:up:123>"`` -> a custom emoji."""
    found = _CUSTOM_EMOJI.fullmatch(emoji)
    if found is not None:
        out: dict[str, Any] = {"name": found[2], "id": found[3]}
        if found[1]:
            out["animated"] = True
        return out
    _check(length_problem(path, emoji, EMOJI_NAME_MAX, min_len=1, trim=False))
    return {"name": emoji}


# --- embeds --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmbedField:
    name: str
    value: str
    inline: bool = False

    def __post_init__(self) -> None:
        _text("embed.field.name", self.name, EMBED_FIELD_NAME_MAX, min_len=1)
        _text("embed.field.value", self.value, EMBED_FIELD_VALUE_MAX, min_len=1)

    def text_length(self) -> int:
        return len(self.name.strip()) + len(self.value.strip())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": self.value}
        if self.inline:
            out["inline"] = True
        return out


@dataclass(frozen=True, slots=True)
class Embed:
    """A rich embed. ``timestamp`` must be timezone-aware; URLs may be ``attachment://name``."""

    title: str | None = None
    description: str | None = None
    url: str | None = None
    color: int | None = None
    fields: Sequence[EmbedField] = ()
    footer: str | None = None
    author: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    timestamp: datetime | None = None
    _length: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        _text("embed.title", self.title, EMBED_TITLE_MAX)
        _text("embed.description", self.description, EMBED_DESCRIPTION_MAX)
        _text("embed.footer", self.footer, EMBED_FOOTER_MAX)
        _text("embed.author", self.author, EMBED_AUTHOR_MAX)
        _check(count_problem("embed.fields", len(self.fields), EMBED_FIELDS_MAX, noun="fields"))
        for name in ("url", "image_url", "thumbnail_url"):
            value = getattr(self, name)
            if value is not None:
                _check(length_problem(f"embed.{name}", value, EMBED_URL_MAX, min_len=1, trim=False))
        if self.color is not None:
            _check(range_problem("embed.color", self.color, 0, COLOR_MAX))
        if self.timestamp is not None and self.timestamp.utcoffset() is None:
            raise LimitError("embed.timestamp must be timezone-aware (e.g. datetime.now(UTC))")
        total = sum(f.text_length() for f in self.fields)
        for text in (self.title, self.description, self.footer, self.author):
            if text is not None:
                total += len(text.strip())
        object.__setattr__(self, "_length", total)
        if total > EMBED_TOTAL_MAX:
            raise LimitError(
                f"embed text is {total} characters; Discord allows at most {EMBED_TOTAL_MAX}"
            )

    def text_length(self) -> int:
        """Characters counted toward the 6000 total: title, description, fields, footer, author."""
        return self._length

    def with_fields(self, *fields: EmbedField) -> Embed:
        """A copy with ``fields`` appended (checked like any new embed)."""
        return replace(self, fields=(*self.fields, *fields))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.title is not None:
            out["title"] = self.title
        if self.description is not None:
            out["description"] = self.description
        if self.url is not None:
            out["url"] = self.url
        if self.color is not None:
            out["color"] = self.color
        if self.fields:
            out["fields"] = [f.to_dict() for f in self.fields]
        if self.footer is not None:
            out["footer"] = {"text": self.footer}
        if self.author is not None:
            out["author"] = {"name": self.author}
        if self.image_url is not None:
            out["image"] = {"url": self.image_url}
        if self.thumbnail_url is not None:
            out["thumbnail"] = {"url": self.thumbnail_url}
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp.isoformat()
        return out


# --- message components ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """A button: ``custom_id`` for styles 1–4, ``url`` for LINK; a label or an emoji.

    ``emoji`` is a unicode emoji or a custom one written ``<:name:id>`` / ``<a:name:id>``.
    """

    label: str | None = None
    custom_id: str | None = None
    style: ButtonStyle = ButtonStyle.SECONDARY
    emoji: str | None = None
    url: str | None = None
    disabled: bool = False

    def __post_init__(self) -> None:
        try:
            if type(self.style) is not ButtonStyle:
                object.__setattr__(self, "style", ButtonStyle(self.style))
        except ValueError:
            raise LimitError(f"button.style {self.style!r} is not a button style") from None
        _text("button.label", self.label, BUTTON_LABEL_MAX)
        if not (self.label and self.label.strip()) and self.emoji is None:
            raise LimitError("button needs a label or an emoji")
        if self.emoji is not None:
            _emoji_dict("button.emoji", self.emoji)
        if self.style is ButtonStyle.LINK:
            if self.url is None:
                raise LimitError("button.url is required for a LINK button")
            _check(length_problem("button.url", self.url, BUTTON_URL_MAX, min_len=1, trim=False))
            if self.custom_id is not None:
                raise LimitError("button.custom_id is not allowed on a LINK button")
        else:
            if self.custom_id is None:
                raise LimitError(f"button.custom_id is required for a {self.style.name} button")
            _custom_id("button.custom_id", self.custom_id)
            if self.url is not None:
                raise LimitError("button.url is only allowed on a LINK button")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": int(ComponentType.BUTTON), "style": int(self.style)}
        if self.label is not None:
            out["label"] = self.label
        if self.emoji is not None:
            out["emoji"] = _emoji_dict("button.emoji", self.emoji)
        if self.custom_id is not None:
            out["custom_id"] = self.custom_id
        if self.url is not None:
            out["url"] = self.url
        if self.disabled:
            out["disabled"] = True
        return out


@dataclass(frozen=True, slots=True)
class SelectOption:
    label: str
    value: str
    description: str | None = None
    default: bool = False
    emoji: str | None = None

    def __post_init__(self) -> None:
        _text("select.option.label", self.label, SELECT_OPTION_TEXT_MAX, min_len=1)
        _text("select.option.value", self.value, SELECT_OPTION_TEXT_MAX, min_len=1)
        _text("select.option.description", self.description, SELECT_OPTION_TEXT_MAX)
        if self.emoji is not None:
            _emoji_dict("select.option.emoji", self.emoji)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "value": self.value}
        if self.description is not None:
            out["description"] = self.description
        if self.emoji is not None:
            out["emoji"] = _emoji_dict("select.option.emoji", self.emoji)
        if self.default:
            out["default"] = True
        return out


@dataclass(frozen=True, slots=True)
class StringSelect:
    """A string select. Refuses option values used twice and a ``max_values`` the options
    cannot satisfy (stricter than Discord's documentation, never looser)."""

    custom_id: str
    options: Sequence[SelectOption]
    placeholder: str | None = None
    min_values: int = 1
    max_values: int = 1
    disabled: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))
        _custom_id("select.custom_id", self.custom_id)
        _check(
            count_problem(
                "select.options", len(self.options), SELECT_OPTIONS_MAX, min_n=1, noun="options"
            )
        )
        _text("select.placeholder", self.placeholder, SELECT_PLACEHOLDER_MAX)
        _check(range_problem("select.min_values", self.min_values, 0, SELECT_VALUES_MAX))
        _check(range_problem("select.max_values", self.max_values, 1, SELECT_VALUES_MAX))
        if self.min_values > self.max_values:
            raise LimitError(
                f"select.min_values ({self.min_values}) is greater than "
                f"max_values ({self.max_values})"
            )
        if self.max_values > len(self.options):
            raise LimitError(
                f"select.max_values ({self.max_values}) exceeds its {len(self.options)} option(s)"
            )
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise LimitError("select.options: each option value must be unique")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": int(ComponentType.STRING_SELECT),
            "custom_id": self.custom_id,
            "options": [o.to_dict() for o in self.options],
            "min_values": self.min_values,
            "max_values": self.max_values,
        }
        if self.placeholder is not None:
            out["placeholder"] = self.placeholder
        if self.disabled:
            out["disabled"] = True
        return out


@dataclass(frozen=True, slots=True)
class ActionRow:
    """Up to five buttons, or exactly one select."""

    components: Sequence[Button | StringSelect]

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", tuple(self.components))
        n = len(self.components)
        if any(isinstance(c, StringSelect) for c in self.components):
            if n != 1:
                raise LimitError(
                    f"action_row holds a select and {n - 1} other component(s); "
                    "a select must be alone"
                )
        else:
            _check(count_problem("action_row", n, ROW_BUTTONS_MAX, min_n=1, noun="buttons"))
        _unique("action_row", self.custom_ids())

    def custom_ids(self) -> list[str]:
        return [c.custom_id for c in self.components if c.custom_id is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": int(ComponentType.ACTION_ROW),
            "components": [c.to_dict() for c in self.components],
        }


# --- modals ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextInput:
    custom_id: str
    label: str
    style: TextInputStyle = TextInputStyle.SHORT
    min_length: int | None = None
    max_length: int | None = None
    required: bool = True
    value: str | None = None
    placeholder: str | None = None

    def __post_init__(self) -> None:
        try:
            if type(self.style) is not TextInputStyle:
                object.__setattr__(self, "style", TextInputStyle(self.style))
        except ValueError:
            raise LimitError(f"text_input.style {self.style!r} is not a text input style") from None
        _custom_id("text_input.custom_id", self.custom_id)
        _text("text_input.label", self.label, LABEL_MAX, min_len=1)
        if self.min_length is not None:
            _check(
                range_problem("text_input.min_length", self.min_length, 0, TEXT_INPUT_LENGTH_MAX)
            )
        if self.max_length is not None:
            _check(
                range_problem("text_input.max_length", self.max_length, 1, TEXT_INPUT_LENGTH_MAX)
            )
        lo, hi = self.min_length, self.max_length
        if lo is not None and hi is not None and lo > hi:
            raise LimitError(f"text_input.min_length ({lo}) is greater than max_length ({hi})")
        _text("text_input.value", self.value, hi if hi is not None else TEXT_INPUT_LENGTH_MAX)
        _text("text_input.placeholder", self.placeholder, TEXT_INPUT_PLACEHOLDER_MAX)

    def to_dict(self) -> dict[str, Any]:
        """The text input as placed inside a Label: no ``label`` of its own."""
        out: dict[str, Any] = {
            "type": int(ComponentType.TEXT_INPUT),
            "custom_id": self.custom_id,
            "style": int(self.style),
            "required": self.required,
        }
        if self.min_length is not None:
            out["min_length"] = self.min_length
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.value is not None:
            out["value"] = self.value
        if self.placeholder is not None:
            out["placeholder"] = self.placeholder
        return out


@dataclass(frozen=True, slots=True)
class Modal:
    """A modal of 1–5 text inputs, each sent inside a Label component (type 18)."""

    custom_id: str
    title: str
    inputs: Sequence[TextInput]

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        _custom_id("modal.custom_id", self.custom_id)
        _text("modal.title", self.title, MODAL_TITLE_MAX, min_len=1)
        _check(
            count_problem(
                "modal.inputs", len(self.inputs), MODAL_COMPONENTS_MAX, min_n=1, noun="inputs"
            )
        )
        _unique("modal", [i.custom_id for i in self.inputs])

    def to_dict(self) -> dict[str, Any]:
        """The ``data`` of a type-9 (MODAL) callback."""
        return {
            "custom_id": self.custom_id,
            "title": self.title,
            "components": [
                {"type": int(ComponentType.LABEL), "label": i.label, "component": i.to_dict()}
                for i in self.inputs
            ],
        }


# --- autocomplete ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    value: str | int | float

    def __post_init__(self) -> None:
        _text("choice.name", self.name, CHOICE_NAME_MAX, min_len=1)
        value = self.value
        if isinstance(value, str):
            _text("choice.value", value, CHOICE_STRING_VALUE_MAX)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise LimitError(
                f"choice.value must be a string or a number, not {type(value).__name__}"
            )
        elif isinstance(value, float) and not math.isfinite(value):
            raise LimitError("choice.value must be a finite number")
        elif abs(value) > SAFE_INTEGER_MAX:
            raise LimitError(f"choice.value {value} is outside ±(2^53-1)")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


def autocomplete_choices(choices: Sequence[Choice]) -> list[dict[str, Any]]:
    """The ``choices`` of an autocomplete result (callback type 8): at most 25, and all of the
    focused option's type, so all strings or all numbers (docs/discord-facts.md §3)."""
    _check(count_problem("autocomplete.choices", len(choices), CHOICES_MAX, noun="choices"))
    strings = sum(isinstance(c.value, str) for c in choices)
    if 0 < strings < len(choices):
        raise LimitError(
            "autocomplete.choices mixes string and number values; "
            "they must all have the option's type"
        )
    return [c.to_dict() for c in choices]


# --- messages -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class File:
    """An attachment uploaded as ``files[n]``; embeds refer to it as ``attachment://filename``."""

    filename: str
    data: bytes = field(repr=False)
    description: str | None = None

    def __post_init__(self) -> None:
        _check(
            length_problem(
                "file.filename", self.filename, ATTACHMENT_FILENAME_MAX, min_len=1, trim=False
            )
        )
        _text("file.description", self.description, ATTACHMENT_DESCRIPTION_MAX)


_NO_MENTIONS: Mapping[str, Any] = MappingProxyType({"parse": []})


def _copy_mentions(mentions: Mapping[str, Any]) -> dict[str, Any]:
    # allowed_mentions holds only lists of strings and booleans: copying the lists is deep enough.
    return {k: list(v) if isinstance(v, list | tuple) else v for k, v in mentions.items()}


_MENTION_KINDS = ("roles", "users", "everyone")


def _check_allowed_mentions(mentions: Mapping[str, Any]) -> None:
    """Refuse an ``allowed_mentions`` Discord would reject (docs/discord-facts.md §5, §8)."""
    path = "message.allowed_mentions"
    for key in mentions:
        if key not in ("parse", "users", "roles", "replied_user"):
            raise LimitError(f"{path}.{key} is not a field Discord accepts here")
    parse = mentions.get("parse")
    if parse is not None and not isinstance(parse, list):
        raise LimitError(f"{path}.parse must be an array, not {_kind(parse)}")
    for item in parse or ():
        if item not in _MENTION_KINDS:
            raise LimitError(
                f"{path}.parse holds {item!r}; allowed are 'roles', 'users', 'everyone'"
            )
    for kind in ("users", "roles"):
        ids = mentions.get(kind)
        if ids is None:
            continue
        if not isinstance(ids, list):
            raise LimitError(f"{path}.{kind} must be an array, not {_kind(ids)}")
        _check(count_problem(f"{path}.{kind}", len(ids), ALLOWED_MENTION_IDS_MAX, noun="ids"))
        if parse and kind in parse:
            raise LimitError(
                f"{path}.parse contains {kind!r} and {path}.{kind} is set; they exclude each other"
            )
    replied = mentions.get("replied_user")
    if replied is not None and not isinstance(replied, bool):
        raise LimitError(f"{path}.replied_user must be a boolean, not {_kind(replied)}")


@dataclass(frozen=True, slots=True)
class Message:
    """A message reply: a callback's ``data``, a followup, or the new state of an edited message.

    ``allowed_mentions`` defaults to ``{"parse": []}``: a bot that echoes user text must never
    ping @everyone, so mentions are opt-in. An entirely empty message is refused (Discord 50006).
    """

    content: str | None = None
    embeds: Sequence[Embed] = ()
    components: Sequence[ActionRow] = ()
    files: Sequence[File] = ()
    ephemeral: bool = False
    allowed_mentions: Mapping[str, Any] | None = field(default=None, hash=False)
    suppress_embeds: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "embeds", tuple(self.embeds))
        object.__setattr__(self, "components", tuple(self.components))
        object.__setattr__(self, "files", tuple(self.files))
        if self.allowed_mentions is not None:
            frozen = MappingProxyType(_copy_mentions(self.allowed_mentions))
            object.__setattr__(self, "allowed_mentions", frozen)
            _check_allowed_mentions(frozen)
        content_len = _text("message.content", self.content, CONTENT_MAX)
        _check(count_problem("message.embeds", len(self.embeds), EMBEDS_MAX, noun="embeds"))
        total = sum(e.text_length() for e in self.embeds)
        if total > EMBED_TOTAL_MAX:
            raise LimitError(
                f"message.embeds total {total} characters; Discord allows at most "
                f"{EMBED_TOTAL_MAX} across all embeds of a message"
            )
        _check(
            count_problem(
                "message.components", len(self.components), ACTION_ROWS_MAX, noun="action rows"
            )
        )
        _unique("message.components", [cid for row in self.components for cid in row.custom_ids()])
        _check(count_problem("message.files", len(self.files), ATTACHMENTS_MAX, noun="files"))
        names = [f.filename for f in self.files]
        if len(set(names)) != len(names):
            raise LimitError(
                "message.files: filenames must be unique (attachment:// refers by name)"
            )
        if not (content_len or self.embeds or self.components or self.files):
            raise LimitError(
                "message is empty: it needs content, embeds, components or files (Discord 50006)"
            )

    def to_dict(self, *, edit: bool = False) -> dict[str, Any]:
        """The JSON body; pair it with :attr:`files` as ``files[i]`` parts when there are any.

        ``edit=True`` makes the body replace the whole message (PATCH @original, UPDATE_MESSAGE):
        empty ``embeds``/``components``/``attachments`` are sent as ``[]`` so leftovers from
        the previous state disappear, and EPHEMERAL is dropped (an edit cannot set it).
        """
        out: dict[str, Any] = {}
        if self.content is not None:
            out["content"] = self.content
        elif edit:
            out["content"] = ""
        if self.embeds or edit:
            out["embeds"] = [e.to_dict() for e in self.embeds]
        if self.components or edit:
            out["components"] = [row.to_dict() for row in self.components]
        if self.files or edit:
            attachments: list[dict[str, Any]] = []
            for i, f in enumerate(self.files):
                item: dict[str, Any] = {"id": str(i), "filename": f.filename}
                if f.description is not None:
                    item["description"] = f.description
                attachments.append(item)
            out["attachments"] = attachments
        mentions = self.allowed_mentions if self.allowed_mentions is not None else _NO_MENTIONS
        out["allowed_mentions"] = _copy_mentions(mentions)
        flags = (EPHEMERAL if self.ephemeral and not edit else 0) | (
            SUPPRESS_EMBEDS if self.suppress_embeds else 0
        )
        if flags:
            out["flags"] = flags
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """The message :meth:`to_dict` produced (files aside: they are not kept), checked
        again like any new message. Used to answer again with a stored first answer."""
        flags = int(data.get("flags") or 0)
        return cls(
            content=data.get("content") or None,
            embeds=[_embed_from(e) for e in data.get("embeds") or ()],
            components=[_row_from(r) for r in data.get("components") or ()],
            ephemeral=bool(flags & EPHEMERAL),
            allowed_mentions=data.get("allowed_mentions"),
            suppress_embeds=bool(flags & SUPPRESS_EMBEDS),
        )


def _emoji_from(raw: Mapping[str, Any] | None) -> str | None:
    if raw is None:
        return None
    if raw.get("id"):
        return f"<{'a' if raw.get('animated') else ''}:{raw['name']}:{raw['id']}>"
    return str(raw["name"])


def _embed_from(raw: Mapping[str, Any]) -> Embed:
    stamp = raw.get("timestamp")
    return Embed(
        title=raw.get("title"),
        description=raw.get("description"),
        url=raw.get("url"),
        color=raw.get("color"),
        fields=[
            EmbedField(f["name"], f["value"], bool(f.get("inline"))) for f in raw.get("fields", ())
        ],
        footer=(raw.get("footer") or {}).get("text"),
        author=(raw.get("author") or {}).get("name"),
        image_url=(raw.get("image") or {}).get("url"),
        thumbnail_url=(raw.get("thumbnail") or {}).get("url"),
        timestamp=datetime.fromisoformat(stamp) if stamp else None,
    )


def _row_from(raw: Mapping[str, Any]) -> ActionRow:
    items: list[Button | StringSelect] = []
    for c in raw.get("components", ()):
        if c.get("type") == int(ComponentType.STRING_SELECT):
            items.append(
                StringSelect(
                    custom_id=c["custom_id"],
                    options=[
                        SelectOption(
                            label=o["label"],
                            value=o["value"],
                            description=o.get("description"),
                            default=bool(o.get("default")),
                            emoji=_emoji_from(o.get("emoji")),
                        )
                        for o in c.get("options", ())
                    ],
                    placeholder=c.get("placeholder"),
                    min_values=c.get("min_values", 1),
                    max_values=c.get("max_values", 1),
                    disabled=bool(c.get("disabled")),
                )
            )
        else:
            items.append(
                Button(
                    label=c.get("label"),
                    custom_id=c.get("custom_id"),
                    style=ButtonStyle(c.get("style", int(ButtonStyle.SECONDARY))),
                    emoji=_emoji_from(c.get("emoji")),
                    url=c.get("url"),
                    disabled=bool(c.get("disabled")),
                )
            )
    return ActionRow(items)
