"""Discord's documented rules that its schemas do not express, checked by the local Discord.

Written from docs/discord-facts.md (each rule cites its section), never from the bot's code:
the bot enforces the same rules in its reply builders, and the two are meant to catch each
other's mistakes. These run after the schema (spec.py) has accepted a body, so types are
known to be right. Each check returns :class:`Problem` objects at the JSON path they concern.

The enumerations and flags are the emulator's own (enums.py: read from the spec, the flags
from §6).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from .enums import (
    BUTTON_STYLE,
    CALLBACK,
    COMMAND_TYPE,
    COMPONENT,
    EPHEMERAL,
    FLAG_NAMES,
    INTERACTION,
    IS_COMPONENTS_V2,
    IS_VOICE_MESSAGE,
    OPTION_TYPE,
    SELECTS,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
)
from .spec import Path, Problem

__all__ = [
    "EDIT_FLAGS",
    "RESPONSE_FLAGS",
    "callback_problems",
    "command_list_problems",
    "message_problems",
]

# What a response or a new message may set (§3), what an edit may set (§5), and what a
# deferred (type 5) response may set (§3).
RESPONSE_FLAGS = (
    SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2
)
EDIT_FLAGS = SUPPRESS_EMBEDS | IS_COMPONENTS_V2
DEFERRED_FLAGS = EPHEMERAL

# Limits (§3, §7, §8, §11).
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
V2_COMPONENTS_MAX = 40
MODAL_COMPONENTS_MAX = 5
COMMAND_TOTAL_CHARS_MAX = 8000
COMMANDS_PER_TYPE_MAX = {
    COMMAND_TYPE["CHAT"]: 100,
    COMMAND_TYPE["USER"]: 15,
    COMMAND_TYPE["MESSAGE"]: 15,
    COMMAND_TYPE["PRIMARY_ENTRY_POINT"]: 1,
}

# Which interaction types each callback type may answer (§3).
_ANSWERS = {
    CALLBACK["PONG"]: {INTERACTION["PING"]},
    CALLBACK["CHANNEL_MESSAGE_WITH_SOURCE"]: {
        INTERACTION["APPLICATION_COMMAND"],
        INTERACTION["MESSAGE_COMPONENT"],
        INTERACTION["MODAL_SUBMIT"],
    },
    CALLBACK["DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE"]: {
        INTERACTION["APPLICATION_COMMAND"],
        INTERACTION["MESSAGE_COMPONENT"],
        INTERACTION["MODAL_SUBMIT"],
    },
    CALLBACK["DEFERRED_UPDATE_MESSAGE"]: {
        INTERACTION["MESSAGE_COMPONENT"],
        INTERACTION["MODAL_SUBMIT"],
    },
    CALLBACK["UPDATE_MESSAGE"]: {INTERACTION["MESSAGE_COMPONENT"], INTERACTION["MODAL_SUBMIT"]},
    CALLBACK["APPLICATION_COMMAND_AUTOCOMPLETE_RESULT"]: {
        INTERACTION["APPLICATION_COMMAND_AUTOCOMPLETE"]
    },
    CALLBACK["MODAL"]: {INTERACTION["APPLICATION_COMMAND"], INTERACTION["MESSAGE_COMPONENT"]},
}
_CALLBACK_NAMES = {value: name for name, value in CALLBACK.items()}
_INTERACTION_NAMES = {value: name for name, value in INTERACTION.items()}
# -- messages -----------------------------------------------------------------------------


def message_problems(
    message: Mapping[str, Any], *, allowed_flags: int, partial: bool, path: Path = ()
) -> list[Problem]:
    """The rules of one message body: a new message, a response's data, or an edit.

    ``allowed_flags`` is the set the route allows (RESPONSE_FLAGS, EDIT_FLAGS); ``partial``
    allows a body that names no content (an edit changes only what it names).
    """
    out: list[Problem] = []
    flags = int(message.get("flags") or 0)  # JSON may spell an integer 64.0
    if flags < 0:
        out.append(Problem((*path, "flags"), "BASE_TYPE_BAD_VALUE", "Flags cannot be negative."))
    elif flags & ~allowed_flags:
        names = [FLAG_NAMES.get(bit, str(bit)) for bit in _bits(flags & ~allowed_flags)]
        out.append(
            Problem(
                (*path, "flags"),
                "MESSAGE_FLAGS_INVALID",
                f"This request cannot set {', '.join(names)} (docs/discord-facts.md §3, §5, §6).",
            )
        )
    v2 = bool(flags & IS_COMPONENTS_V2)
    embeds = message.get("embeds") or []
    total = sum(_embed_chars(embed) for embed in embeds)
    if total > EMBED_TOTAL_MAX:
        out.append(
            Problem(
                (*path, "embeds"),
                "BASE_TYPE_MAX_LENGTH",
                f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX} ({total} characters).",
            )
        )
    components = message.get("components") or []
    out += _component_problems(components, (*path, "components"), v2=v2)
    if v2:
        for key in ("content", "embeds", "poll", "sticker_ids"):
            if message.get(key):
                out.append(
                    Problem(
                        (*path, key),
                        "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                        f"{key} cannot be used when IS_COMPONENTS_V2 is set (§6).",
                    )
                )
    mentions = message.get("allowed_mentions") or {}
    for kind in ("users", "roles"):
        if mentions.get(kind) is not None and kind in (mentions.get("parse") or ()):
            out.append(
                Problem(
                    (*path, "allowed_mentions", "parse"),
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    f'parse names "{kind}" and {kind} is set; they exclude each other (§5).',
                )
            )
    if not partial and is_empty(message):
        out.append(Problem(path, "EMPTY_MESSAGE", "Cannot send an empty message"))
    return out


def is_empty(message: Mapping[str, Any]) -> bool:
    """Nothing to show (Discord's 50006): blank content counts as none (§8)."""
    content = message.get("content")
    return not (
        (isinstance(content, str) and content.strip())
        or message.get("embeds")
        or message.get("components")
        or message.get("attachments")
        or message.get("poll")
        or message.get("sticker_ids")
    )


def _bits(value: int) -> list[int]:
    return [1 << i for i in range(value.bit_length()) if value >> i & 1]


def _text_len(value: object) -> int:
    return len(value.strip()) if isinstance(value, str) else 0


def _embed_chars(embed: Mapping[str, Any]) -> int:
    """What counts toward the 6000 total: title, description, fields, footer, author (§8)."""
    total = _text_len(embed.get("title")) + _text_len(embed.get("description"))
    for field in embed.get("fields") or ():
        total += _text_len(field.get("name")) + _text_len(field.get("value"))
    total += _text_len((embed.get("footer") or {}).get("text"))
    total += _text_len((embed.get("author") or {}).get("name"))
    return total


def _component_problems(components: list[Any], path: Path, *, v2: bool) -> list[Problem]:
    out: list[Problem] = []
    if not v2:
        if len(components) > ACTION_ROWS_MAX:
            out.append(
                Problem(
                    path, "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length."
                )
            )
        for i, component in enumerate(components):
            if component.get("type") != COMPONENT["ACTION_ROW"]:
                out.append(
                    Problem(
                        (*path, i, "type"),
                        "COMPONENT_TYPE_INVALID",
                        "Without IS_COMPONENTS_V2 a message holds only action rows (§7).",
                    )
                )
    else:
        count = sum(1 for _ in _walk(components, path))
        if count > V2_COMPONENTS_MAX:
            out.append(
                Problem(
                    path,
                    "BASE_TYPE_MAX_LENGTH",
                    f"{count} components (nested ones counted); at most {V2_COMPONENTS_MAX} (§7).",
                )
            )
    seen: set[str] = set()
    for where, component in _walk(components, path):
        kind = component.get("type")
        if kind == COMPONENT["ACTION_ROW"]:
            children = component.get("components") or []
            if any(c.get("type") in SELECTS for c in children) and len(children) > 1:
                out.append(
                    Problem(
                        (*where, "components"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "A select menu must be alone in its action row (§7).",
                    )
                )
        elif kind == COMPONENT["BUTTON"]:
            out += _button_problems(component, where)
        out += _repeated_custom_id(component, where, seen)
    return out


def _repeated_custom_id(component: Mapping[str, Any], path: Path, seen: set[str]) -> list[Problem]:
    """A custom_id already ``seen`` in the same message or form is refused (§7); records it."""
    custom_id = component.get("custom_id")
    if not isinstance(custom_id, str):
        return []
    if custom_id in seen:
        return [
            Problem(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated (§7).",
            )
        ]
    seen.add(custom_id)
    return []


def _walk(components: list[Any], path: Path) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every component with its path, nested ones included (rows, sections, containers)."""
    for i, component in enumerate(components):
        if not isinstance(component, dict):
            continue
        where = (*path, i)
        yield where, component
        yield from _walk(component.get("components") or [], (*where, "components"))
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                yield (*where, key), component[key]


def _button_problems(button: Mapping[str, Any], path: Path) -> list[Problem]:
    """Styles 1-4 need custom_id, 5 (link) a url and no custom_id, 6 a sku_id only (§7)."""
    style = button.get("style")
    has = {key for key in ("custom_id", "url", "sku_id", "label", "emoji") if button.get(key)}
    if style == BUTTON_STYLE["PREMIUM"]:
        wrong, needed = has - {"sku_id"}, {"sku_id"}
    elif style == BUTTON_STYLE["LINK"]:
        wrong, needed = has & {"custom_id", "sku_id"}, {"url"}
    else:
        wrong, needed = has & {"url", "sku_id"}, {"custom_id"}
    out = [
        Problem(
            (*path, key), "BUTTON_COMPONENT_INVALID", f"A style {style} button cannot have {key}."
        )
        for key in sorted(wrong)
    ]
    out += [
        Problem((*path, key), "BASE_TYPE_REQUIRED", f"A style {style} button needs {key}.")
        for key in sorted(needed - has)
    ]
    if style != BUTTON_STYLE["PREMIUM"] and not has & {"label", "emoji"}:
        out.append(Problem(path, "BUTTON_COMPONENT_INVALID", "A button needs a label or an emoji."))
    return out


# -- interaction callbacks ----------------------------------------------------------------


def callback_problems(
    body: Mapping[str, Any], *, interaction_type: int, from_component: bool
) -> list[Problem]:
    """The rules of an interaction response (§3) for the interaction it answers.

    ``from_component``: the interaction came from a message component (a click, or a modal
    opened from one); only those may answer with types 6 and 7.
    """
    kind = body["type"]
    name = f"{kind} ({_CALLBACK_NAMES.get(kind, 'unknown')})"
    allowed = _ANSWERS.get(kind, set())
    if interaction_type not in allowed or (
        kind in (CALLBACK["DEFERRED_UPDATE_MESSAGE"], CALLBACK["UPDATE_MESSAGE"])
        and not from_component
    ):
        what = _INTERACTION_NAMES.get(interaction_type, str(interaction_type))
        return [
            Problem(
                ("type",),
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Response type {name} cannot answer a {what} interaction"
                + ("" if from_component else " that did not come from a component")
                + " (§3).",
            )
        ]
    data = body.get("data")
    if kind in (CALLBACK["PONG"], CALLBACK["DEFERRED_UPDATE_MESSAGE"]):
        if data is not None:
            return [Problem(("data",), "BASE_TYPE_BAD_VALUE", f"Response type {name} has no data.")]
        return []
    if kind == CALLBACK["DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE"]:
        extra = sorted(set(data or {}) - {"flags"})
        out = [
            Problem(
                ("data", key), "BASE_TYPE_BAD_VALUE", "A deferred response carries only flags (§3)."
            )
            for key in extra
        ]
        flags = int((data or {}).get("flags") or 0)
        if flags & ~DEFERRED_FLAGS:
            out.append(
                Problem(
                    ("data", "flags"),
                    "MESSAGE_FLAGS_INVALID",
                    "A deferred response may set only EPHEMERAL (§3).",
                )
            )
        return out
    if kind in (CALLBACK["CHANNEL_MESSAGE_WITH_SOURCE"], CALLBACK["UPDATE_MESSAGE"]):
        # UPDATE_MESSAGE changes the message it came from: naming nothing keeps it as it is.
        return message_problems(
            data or {},
            allowed_flags=RESPONSE_FLAGS,
            partial=kind == CALLBACK["UPDATE_MESSAGE"],
            path=("data",),
        )
    if kind == CALLBACK["MODAL"]:
        return _modal_problems(data or {})
    return []


def _modal_problems(modal: Mapping[str, Any]) -> list[Problem]:
    """1-5 top-level components (§3); custom_ids unique within the modal (§7)."""
    out: list[Problem] = []
    components = modal.get("components") or []
    path: Path = ("data", "components")
    if len(components) > MODAL_COMPONENTS_MAX:
        out.append(
            Problem(
                path,
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MODAL_COMPONENTS_MAX} in length.",
            )
        )
    seen: set[str] = set()
    for where, component in _walk(components, path):
        out += _repeated_custom_id(component, where, seen)
    return out


# -- application commands -----------------------------------------------------------------


def command_list_problems(commands: list[Mapping[str, Any]]) -> list[Problem]:
    """The rules of a bulk overwrite (§11): each command, names unique per type, counts."""
    out: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    counts: dict[int, int] = {}
    for i, command in enumerate(commands):
        kind = command.get("type") or COMMAND_TYPE["CHAT"]
        out += _command_problems(command, kind, (i,))
        key = (kind, command["name"])
        if key in seen:
            out.append(
                Problem(
                    (i, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique per type ({command['name']!r}).",
                )
            )
        seen.add(key)
        counts[kind] = counts.get(kind, 0) + 1
    for kind, n in sorted(counts.items()):
        most = COMMANDS_PER_TYPE_MAX.get(kind, 0)
        if n > most:
            out.append(
                Problem(
                    (),
                    "BASE_TYPE_MAX_LENGTH",
                    f"{n} commands of type {kind}; Discord allows at most {most} (§11).",
                )
            )
    return out


def _name_char_ok(ch: str) -> bool:
    # ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]$ (§11), without the third-party `regex` module.
    if ch in "-_'" or unicodedata.category(ch)[0] in "LN":
        return True
    code = ord(ch)
    return 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF or 0x0E00 <= code <= 0x0E7F


def _chat_name_problems(name: str, path: Path) -> list[Problem]:
    if all(_name_char_ok(ch) for ch in name) and name == name.lower():
        return []
    return [
        Problem(
            (*path, "name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command and option names are lowercase letters, digits, - _ and ' (§11).",
        )
    ]


def _longest(obj: Mapping[str, Any], key: str) -> int:
    """A text's length toward the 8000 total: its longest localization (§11)."""
    values = [obj.get(key), *(obj.get(f"{key}_localizations") or {}).values()]
    return max(len(v) for v in values if isinstance(v, str)) if any(values) else 0


def _command_problems(command: Mapping[str, Any], kind: int, path: Path) -> list[Problem]:
    out: list[Problem] = []
    if kind == COMMAND_TYPE["CHAT"]:
        out += _chat_name_problems(command["name"], path)
        if not _text_len(command.get("description")):
            out.append(
                Problem(
                    (*path, "description"),
                    "BASE_TYPE_REQUIRED",
                    "A slash command needs a description (§11).",
                )
            )
    else:
        if command.get("description"):
            out.append(
                Problem(
                    (*path, "description"),
                    "BASE_TYPE_BAD_VALUE",
                    "USER and MESSAGE commands have no description (§11).",
                )
            )
        if command.get("options"):
            out.append(
                Problem(
                    (*path, "options"),
                    "BASE_TYPE_BAD_VALUE",
                    "Only slash commands have options (§11).",
                )
            )
    total = _longest(command, "name") + _longest(command, "description")
    total += _options_problems(command.get("options") or [], (*path, "options"), out, depth=0)
    if total > COMMAND_TOTAL_CHARS_MAX:
        out.append(
            Problem(
                path,
                "APPLICATION_COMMAND_TOO_LARGE",
                f"Command exceeds maximum size ({COMMAND_TOTAL_CHARS_MAX}): {total} characters.",
            )
        )
    return out


def _options_problems(
    options: list[Mapping[str, Any]], path: Path, out: list[Problem], *, depth: int
) -> int:
    """Check one level of options; return the characters they add to the 8000 total."""
    sub, group = OPTION_TYPE["SUB_COMMAND"], OPTION_TYPE["SUB_COMMAND_GROUP"]
    total = 0
    names: set[str] = set()
    optional_seen = False
    kinds = {option["type"] for option in options}
    if kinds & {sub, group} and kinds - {sub, group}:
        out.append(
            Problem(
                path, "BASE_TYPE_BAD_VALUE", "Subcommands cannot sit beside plain options (§11)."
            )
        )
    for i, option in enumerate(options):
        where = (*path, i)
        kind = option["type"]
        out += _chat_name_problems(option["name"], where)
        if option["name"] in names:
            out.append(
                Problem(
                    (*where, "name"),
                    "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                    "Option names must be unique at their level (§11).",
                )
            )
        names.add(option["name"])
        total += _longest(option, "name") + _longest(option, "description")
        if kind in (sub, group):
            if (kind == group and depth > 0) or depth > 1:
                out.append(
                    Problem(where, "BASE_TYPE_BAD_VALUE", "Subcommands nest too deeply (§11).")
                )
            total += _options_problems(
                option.get("options") or [], (*where, "options"), out, depth=depth + 1
            )
            continue
        if option.get("required"):
            if optional_seen:
                out.append(
                    Problem(
                        where,
                        "APPLICATION_COMMAND_OPTIONS_ORDER_INVALID",
                        "Required options must be placed before non-required options (§11).",
                    )
                )
        else:
            optional_seen = True
        choices = option.get("choices") or []
        if option.get("autocomplete") and choices:
            out.append(
                Problem(
                    (*where, "autocomplete"),
                    "BASE_TYPE_BAD_VALUE",
                    "autocomplete and choices exclude each other (§11).",
                )
            )
        for choice in choices:
            total += _longest(choice, "name") + len(str(choice.get("value")))
    return total
