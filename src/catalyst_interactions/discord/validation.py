"""Discord's documented limits, and validators for raw JSON bodies.

The validators take what actually goes on the wire (plain dicts from ``json.loads``), never
raise on malformed input, and return a list of human-readable problems; an empty list means
the body is valid. Tests run every reply the app produces through them, and the local
Discord emulator uses them to refuse bodies the way Discord does (docs/discord-facts.md §3, §5,
§6, §7, §8, §11).

Text limits are inclusive and counted after trimming leading and trailing whitespace
(docs/discord-facts.md §8); identifiers (custom_id, url) are counted as sent.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeGuard

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
    COMMAND_DESCRIPTION_MAX,
    COMMAND_NAME_MAX,
    COMMAND_OPTIONS_MAX,
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
    IS_COMPONENTS_V2,
    LABEL_MAX,
    MODAL_COMPONENTS_MAX,
    MODAL_TITLE_MAX,
    OPTION_STRING_LENGTH_MAX,
    ROW_BUTTONS_MAX,
    SAFE_INTEGER_MAX,
    SELECT_OPTION_TEXT_MAX,
    SELECT_OPTIONS_MAX,
    SELECT_PLACEHOLDER_MAX,
    SELECT_VALUES_MAX,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    TEXT_INPUT_LENGTH_MAX,
    TEXT_INPUT_PLACEHOLDER_MAX,
)
from .messages import _is_int, _kind, count_problem, length_problem, range_problem

__all__ = [
    # Flags the emulator still imports from here (the rest of .limits is imported directly).
    "EPHEMERAL",
    "IS_COMPONENTS_V2",
    "SUPPRESS_EMBEDS",
    "validate_callback",
    "validate_command",
    "validate_message_payload",
]

# Limits only this validator checks; the ones the reply builders share live in .limits.
LABEL_DESCRIPTION_MAX = 100
V2_COMPONENTS_MAX = 40
MEDIA_GALLERY_ITEMS_MAX = 10
THUMBNAIL_DESCRIPTION_MAX = 1024
COMMAND_TOTAL_CHARS_MAX = 8000
IS_VOICE_MESSAGE = 1 << 13
_FLAG_NAMES = {
    1 << 0: "CROSSPOSTED",
    1 << 1: "IS_CROSSPOST",
    SUPPRESS_EMBEDS: "SUPPRESS_EMBEDS",
    1 << 3: "SOURCE_MESSAGE_DELETED",
    1 << 4: "URGENT",
    1 << 5: "HAS_THREAD",
    EPHEMERAL: "EPHEMERAL",
    1 << 7: "LOADING",
    1 << 8: "FAILED_TO_MENTION_SOME_ROLES_IN_THREAD",
    SUPPRESS_NOTIFICATIONS: "SUPPRESS_NOTIFICATIONS",
    IS_VOICE_MESSAGE: "IS_VOICE_MESSAGE",
    1 << 14: "HAS_SNAPSHOT",
    IS_COMPONENTS_V2: "IS_COMPONENTS_V2",
}
_CREATE_FLAGS = SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE
_CREATE_FLAGS |= IS_COMPONENTS_V2
_EDIT_FLAGS = SUPPRESS_EMBEDS | IS_COMPONENTS_V2

_CALLBACK_NAMES = {
    1: "PONG",
    4: "CHANNEL_MESSAGE_WITH_SOURCE",
    5: "DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE",
    6: "DEFERRED_UPDATE_MESSAGE",
    7: "UPDATE_MESSAGE",
    8: "APPLICATION_COMMAND_AUTOCOMPLETE_RESULT",
    9: "MODAL",
    12: "LAUNCH_ACTIVITY",
}
# Callback type -> interaction types it may answer (§3).
_LEGAL_FOR = {
    1: {1},
    4: {2, 3, 5},
    5: {2, 3, 5},
    6: {3, 5},
    7: {3, 5},
    8: {4},
    9: {2, 3},
    12: {2, 3, 5},
}
_INTERACTION_NAMES = {
    1: "PING",
    2: "APPLICATION_COMMAND",
    3: "MESSAGE_COMPONENT",
    4: "APPLICATION_COMMAND_AUTOCOMPLETE",
    5: "MODAL_SUBMIT",
}

_MESSAGE_KEYS = frozenset(
    {
        "content",
        "tts",
        "embeds",
        "allowed_mentions",
        "flags",
        "components",
        "attachments",
        "poll",
        "sticker_ids",
        # Accepted by webhook execution (followups); harmless elsewhere.
        "username",
        "avatar_url",
        "thread_name",
        "applied_tags",
    }
)
_EMBED_KEYS = frozenset(
    {
        "title",
        "type",
        "description",
        "url",
        "timestamp",
        "color",
        "footer",
        "image",
        "thumbnail",
        "video",
        "provider",
        "author",
        "fields",
    }
)
_SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
_MODAL_LABEL_CHILDREN = frozenset({3, 4, 5, 6, 7, 8, 19, 21, 22, 23})


# --- small helpers ---------------------------------------------------------------------


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type(obj: Mapping[str, Any]) -> int | None:
    """A component's ``type`` when it is an integer (so garbage never reaches a set lookup)."""
    kind = obj.get("type")
    return kind if _is_int(kind) else None


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _add(out: list[str], problem: str | None) -> None:
    if problem is not None:
        out.append(problem)


def _text(
    out: list[str],
    obj: Mapping[str, Any],
    key: str,
    path: str,
    max_len: int,
    *,
    min_len: int = 0,
    required: bool = False,
    trim: bool = True,
) -> int:
    """Check an optional (or required) string member; return its counted length."""
    value = obj.get(key)
    where = _join(path, key)
    if value is None:
        if required:
            out.append(f"{where} is required")
        return 0
    problem = length_problem(where, value, max_len, min_len=min_len, trim=trim)
    _add(out, problem)
    return len(value.strip()) if isinstance(value, str) else 0


def _bool(out: list[str], obj: Mapping[str, Any], key: str, path: str) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        out.append(f"{_join(path, key)} must be a boolean, not {_kind(value)}")


def _object(out: list[str], value: object, path: str) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    out.append(f"{path} must be an object, not {_kind(value)}")
    return None


def _array(out: list[str], obj: Mapping[str, Any], key: str, path: str) -> list[Any] | None:
    """Return the array member, None when absent/null (reporting it when it is not an array)."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        out.append(f"{_join(path, key)} must be an array, not {_kind(value)}")
        return None
    return value


def _unknown_keys(out: list[str], obj: Mapping[str, Any], known: Iterable[str], path: str) -> None:
    known_set = set(known)
    for key in obj:
        if key not in known_set:
            out.append(f"{_join(path, str(key))} is not a field Discord accepts here")


def _custom_id(out: list[str], obj: Mapping[str, Any], path: str, seen: set[str]) -> None:
    value = obj.get("custom_id")
    where = _join(path, "custom_id")
    if value is None:
        out.append(f"{where} is required")
        return
    problem = length_problem(where, value, CUSTOM_ID_MAX, min_len=1, trim=False)
    if problem is not None:
        out.append(problem)
        return
    if value in seen:
        out.append(f"{where} {value!r} is used twice; custom_ids must be unique within a message")
    seen.add(value)


# --- messages ----------------------------------------------------------------------------


def validate_message_payload(payload: object, *, edit: bool = False) -> list[str]:
    """Problems with a message body: a callback's ``data`` (type 4), a followup, or an edit.

    ``edit=True`` applies the edit rules: only SUPPRESS_EMBEDS / IS_COMPONENTS_V2 may be set,
    and a partial body (even an empty one) is allowed. Otherwise the message must not be empty.
    """
    out: list[str] = []
    obj = _object(out, payload, "message")
    if obj is not None:
        _message(out, obj, "", edit=edit, partial=edit)
    return out


def _message(
    out: list[str], msg: Mapping[str, Any], path: str, *, edit: bool, partial: bool
) -> None:
    """``edit``: only the edit flags may be set; ``partial``: an empty body is allowed."""
    _unknown_keys(out, msg, _MESSAGE_KEYS, path)
    content_len = _text(out, msg, "content", path, CONTENT_MAX)
    _bool(out, msg, "tts", path)

    flags = msg.get("flags")
    v2 = False
    if flags is not None:
        if not _is_int(flags) or flags < 0:
            out.append(f"{_join(path, 'flags')} must be a non-negative integer")
        else:
            v2 = bool(flags & IS_COMPONENTS_V2)
            allowed = _EDIT_FLAGS if edit else _CREATE_FLAGS
            for bit in _bits(flags & ~allowed):
                name = _FLAG_NAMES.get(bit, "unknown")
                what = "an edit" if edit else "a new message"
                out.append(f"{_join(path, 'flags')} sets {bit} ({name}), which {what} cannot set")

    embeds = _array(out, msg, "embeds", path)
    if embeds is not None:
        where = _join(path, "embeds")
        _add(out, count_problem(where, len(embeds), EMBEDS_MAX, noun="embeds"))
        total = sum(_embed(out, e, f"{where}[{i}]") for i, e in enumerate(embeds))
        if total > EMBED_TOTAL_MAX:
            out.append(
                f"{where} total {total} characters; Discord allows at most {EMBED_TOTAL_MAX} "
                "across all embeds of a message"
            )

    seen: set[str] = set()
    components = _array(out, msg, "components", path)
    if components is not None:
        where = _join(path, "components")
        if v2:
            _v2_components(out, components, where, seen)
        else:
            _add(out, count_problem(where, len(components), ACTION_ROWS_MAX, noun="action rows"))
            for i, row in enumerate(components):
                _action_row(out, row, f"{where}[{i}]", seen)

    attachments = _array(out, msg, "attachments", path)
    if attachments is not None:
        _attachments(out, attachments, _join(path, "attachments"))

    mentions = msg.get("allowed_mentions")
    if mentions is not None:
        _allowed_mentions(out, mentions, _join(path, "allowed_mentions"))

    if v2:
        if msg.get("content") is not None:
            out.append(f"{_join(path, 'content')} must be null when IS_COMPONENTS_V2 is set")
        if embeds:
            out.append(f"{_join(path, 'embeds')} must be empty when IS_COMPONENTS_V2 is set")
        if msg.get("poll") is not None:
            out.append(f"{_join(path, 'poll')} must be null when IS_COMPONENTS_V2 is set")

    if not partial and not (
        content_len
        or embeds
        or components
        or attachments
        or msg.get("poll")
        or msg.get("sticker_ids")
    ):
        out.append(
            f"{path or 'message'} is empty: it needs content, embeds, components, attachments "
            "or a poll (Discord error 50006)"
        )


def _bits(value: int) -> list[int]:
    return [1 << i for i in range(value.bit_length()) if value >> i & 1]


def _embed(out: list[str], value: object, path: str) -> int:
    """Check one embed; return the characters it counts toward the 6000 total."""
    embed = _object(out, value, path)
    if embed is None:
        return 0
    _unknown_keys(out, embed, _EMBED_KEYS, path)
    total = _text(out, embed, "title", path, EMBED_TITLE_MAX)
    total += _text(out, embed, "description", path, EMBED_DESCRIPTION_MAX)
    _text(out, embed, "url", path, EMBED_URL_MAX, trim=False)
    color = embed.get("color")
    if color is not None:
        _add(out, range_problem(_join(path, "color"), color, 0, COLOR_MAX))
    stamp = embed.get("timestamp")
    if stamp is not None:
        try:
            datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            out.append(f"{_join(path, 'timestamp')} must be an ISO 8601 timestamp")
    fields = _array(out, embed, "fields", path)
    if fields is not None:
        where = _join(path, "fields")
        _add(out, count_problem(where, len(fields), EMBED_FIELDS_MAX, noun="fields"))
        for i, raw in enumerate(fields):
            field = _object(out, raw, f"{where}[{i}]")
            if field is None:
                continue
            fpath = f"{where}[{i}]"
            total += _text(
                out, field, "name", fpath, EMBED_FIELD_NAME_MAX, min_len=1, required=True
            )
            total += _text(
                out, field, "value", fpath, EMBED_FIELD_VALUE_MAX, min_len=1, required=True
            )
            _bool(out, field, "inline", fpath)
    for key, text_key, limit in (
        ("footer", "text", EMBED_FOOTER_MAX),
        ("author", "name", EMBED_AUTHOR_MAX),
    ):
        raw = embed.get(key)
        if raw is not None:
            sub = _object(out, raw, _join(path, key))
            if sub is not None:
                total += _text(out, sub, text_key, _join(path, key), limit, required=True)
    for key in ("image", "thumbnail"):
        raw = embed.get(key)
        if raw is not None:
            sub = _object(out, raw, _join(path, key))
            if sub is not None:
                _text(
                    out,
                    sub,
                    "url",
                    _join(path, key),
                    EMBED_URL_MAX,
                    min_len=1,
                    required=True,
                    trim=False,
                )
    return total


def _attachments(out: list[str], attachments: list[Any], path: str) -> None:
    _add(out, count_problem(path, len(attachments), ATTACHMENTS_MAX, noun="attachments"))
    ids: set[str] = set()
    for i, raw in enumerate(attachments):
        where = f"{path}[{i}]"
        att = _object(out, raw, where)
        if att is None:
            continue
        att_id = att.get("id")
        if att_id is None or not (
            _is_int(att_id) or (isinstance(att_id, str) and att_id.isdigit())
        ):
            out.append(f"{where}.id must be an attachment index or snowflake")
        elif str(att_id) in ids:
            out.append(f"{where}.id {att_id} is used twice")
        else:
            ids.add(str(att_id))
        _text(out, att, "filename", where, ATTACHMENT_FILENAME_MAX, min_len=1)
        _text(out, att, "description", where, ATTACHMENT_DESCRIPTION_MAX)


def _allowed_mentions(out: list[str], value: object, path: str) -> None:
    mentions = _object(out, value, path)
    if mentions is None:
        return
    _unknown_keys(out, mentions, ("parse", "users", "roles", "replied_user"), path)
    parse = _array(out, mentions, "parse", path)
    for item in parse or ():
        if item not in ("roles", "users", "everyone"):
            out.append(f"{path}.parse holds {item!r}; allowed are 'roles', 'users', 'everyone'")
    for kind in ("users", "roles"):
        ids = _array(out, mentions, kind, path)
        if ids is None:
            continue
        _add(out, count_problem(f"{path}.{kind}", len(ids), ALLOWED_MENTION_IDS_MAX, noun="ids"))
        if parse and kind in parse:
            out.append(
                f"{path}.parse contains {kind!r} and {path}.{kind} is set; they exclude each other"
            )
    _bool(out, mentions, "replied_user", path)


# --- components --------------------------------------------------------------------------


def _action_row(out: list[str], value: object, path: str, seen: set[str]) -> None:
    row = _object(out, value, path)
    if row is None:
        return
    if _type(row) != 1:
        out.append(f"{path}.type must be 1 (ACTION_ROW) at the top level of a message")
        return
    children = _array(out, row, "components", path)
    if children is None:
        out.append(f"{path}.components is required")
        return
    where = f"{path}.components"
    selects = [c for c in children if isinstance(c, dict) and _type(c) in _SELECT_TYPES]
    if selects and len(children) != 1:
        out.append(
            f"{where} holds a select menu and {len(children) - 1} other component(s); "
            "a select must be alone in its row"
        )
    else:
        _add(out, count_problem(where, len(children), ROW_BUTTONS_MAX, min_n=1, noun="buttons"))
    for i, raw in enumerate(children):
        _message_component(out, raw, f"{where}[{i}]", seen)


def _message_component(out: list[str], value: object, path: str, seen: set[str]) -> None:
    comp = _object(out, value, path)
    if comp is None:
        return
    kind = _type(comp)
    if kind == 2:
        _button(out, comp, path, seen)
    elif kind in _SELECT_TYPES:
        _select(out, comp, path, seen)
    else:
        out.append(f"{path}.type {comp.get('type')!r} cannot be placed in a message action row")


def _button(out: list[str], button: Mapping[str, Any], path: str, seen: set[str]) -> None:
    style = button.get("style")
    problem = range_problem(f"{path}.style", style, 1, 6)
    if problem is not None:
        out.append(problem)
        return
    _text(out, button, "label", path, BUTTON_LABEL_MAX)
    _bool(out, button, "disabled", path)
    emoji = button.get("emoji")
    if emoji is not None:
        _emoji(out, emoji, f"{path}.emoji")
    has_face = bool(button.get("label")) or emoji is not None
    if style == 6:  # PREMIUM: sku_id only
        if button.get("sku_id") is None:
            out.append(f"{path}.sku_id is required for a premium button (style 6)")
        for key in ("custom_id", "label", "url", "emoji"):
            if button.get(key) is not None:
                out.append(f"{path}.{key} is not allowed on a premium button (style 6)")
        return
    if not has_face:
        out.append(f"{path} needs a label or an emoji")
    if style == 5:  # LINK
        _text(out, button, "url", path, BUTTON_URL_MAX, min_len=1, required=True, trim=False)
        if button.get("custom_id") is not None:
            out.append(f"{path}.custom_id is not allowed on a link button (style 5)")
    else:
        _custom_id(out, button, path, seen)
        if button.get("url") is not None:
            out.append(f"{path}.url is only allowed on a link button (style 5)")


def _emoji(out: list[str], value: object, path: str) -> None:
    emoji = _object(out, value, path)
    if emoji is None:
        return
    if emoji.get("id") is None and not emoji.get("name"):
        out.append(f"{path} needs a name (unicode emoji) or an id (custom emoji)")
    _text(out, emoji, "name", path, EMOJI_NAME_MAX, trim=False)


def _select(out: list[str], select: Mapping[str, Any], path: str, seen: set[str]) -> None:
    _custom_id(out, select, path, seen)
    _text(out, select, "placeholder", path, SELECT_PLACEHOLDER_MAX)
    _bool(out, select, "disabled", path)
    lo, hi = select.get("min_values"), select.get("max_values")
    if lo is not None:
        _add(out, range_problem(f"{path}.min_values", lo, 0, SELECT_VALUES_MAX))
    if hi is not None:
        _add(out, range_problem(f"{path}.max_values", hi, 1, SELECT_VALUES_MAX))
    if _is_int(lo) and _is_int(hi) and lo > hi:
        out.append(f"{path}.min_values ({lo}) is greater than max_values ({hi})")
    options = _array(out, select, "options", path)
    if _type(select) != 3:
        if options is not None:
            out.append(f"{path}.options is only allowed on a string select (type 3)")
        return
    if options is None:
        out.append(f"{path}.options is required for a string select")
        return
    _add(
        out,
        count_problem(f"{path}.options", len(options), SELECT_OPTIONS_MAX, min_n=1, noun="options"),
    )
    values: set[str] = set()
    for i, raw in enumerate(options):
        where = f"{path}.options[{i}]"
        opt = _object(out, raw, where)
        if opt is None:
            continue
        _text(out, opt, "label", where, SELECT_OPTION_TEXT_MAX, min_len=1, required=True)
        _text(out, opt, "value", where, SELECT_OPTION_TEXT_MAX, min_len=1, required=True)
        _text(out, opt, "description", where, SELECT_OPTION_TEXT_MAX)
        _bool(out, opt, "default", where)
        if opt.get("emoji") is not None:
            _emoji(out, opt["emoji"], f"{where}.emoji")
        value = opt.get("value")
        if isinstance(value, str):
            if value in values:
                out.append(f"{where}.value {value!r} is used twice in this select")
            values.add(value)


def _v2_components(out: list[str], components: list[Any], path: str, seen: set[str]) -> None:
    """Components V2 (§7): a light structural check and the 40-component total."""
    count = 0

    def visit(value: object, where: str) -> None:
        nonlocal count
        count += 1
        comp = _object(out, value, where)
        if comp is None:
            return
        kind = _type(comp)
        if kind == 1:
            _action_row(out, comp, where, seen)
            count += len(comp.get("components") or ())
        elif kind == 2:
            _button(out, comp, where, seen)
        elif kind == 9:  # Section
            texts = _array(out, comp, "components", where) or []
            _add(
                out,
                count_problem(f"{where}.components", len(texts), 3, min_n=1, noun="text displays"),
            )
            for i, child in enumerate(texts):
                visit(child, f"{where}.components[{i}]")
            accessory = comp.get("accessory")
            if accessory is None:
                out.append(f"{where}.accessory is required")
            else:
                visit(accessory, f"{where}.accessory")
        elif kind == 10:  # Text Display
            _text(out, comp, "content", where, 4000, min_len=1, required=True)
        elif kind == 11:  # Thumbnail
            _text(out, comp, "description", where, THUMBNAIL_DESCRIPTION_MAX)
        elif kind == 12:  # Media Gallery
            items = _array(out, comp, "items", where) or []
            _add(out, count_problem(f"{where}.items", len(items), MEDIA_GALLERY_ITEMS_MAX, min_n=1))
        elif kind in (13, 14):  # File, Separator
            pass
        elif kind == 17:  # Container
            for i, child in enumerate(_array(out, comp, "components", where) or []):
                visit(child, f"{where}.components[{i}]")
            accent = comp.get("accent_color")
            if accent is not None:
                _add(out, range_problem(f"{where}.accent_color", accent, 0, COLOR_MAX))
        else:
            out.append(
                f"{where}.type {comp.get('type')!r} cannot be placed in a components V2 message"
            )

    for i, comp in enumerate(components):
        visit(comp, f"{path}[{i}]")
    _add(
        out, count_problem(path, count, V2_COMPONENTS_MAX, noun="components (counting nested ones)")
    )


# --- callbacks -----------------------------------------------------------------------------


def validate_callback(body: object, *, interaction_type: int | None = None) -> list[str]:
    """Problems with an interaction callback body ``{"type": ..., "data": ...}``.

    When ``interaction_type`` is given, also checks that the callback type may answer it.
    """
    out: list[str] = []
    obj = _object(out, body, "body")
    if obj is None:
        return out
    _unknown_keys(out, obj, ("type", "data"), "")
    kind = obj.get("type")
    if not _is_int(kind):
        out.append(f"type must be an integer callback type, not {_kind(kind)}")
        return out
    if kind == 10:
        out.append("type 10 (PREMIUM_REQUIRED) is deprecated; do not send it")
        return out
    if kind not in _LEGAL_FOR:
        out.append(f"type {kind} is not an interaction callback type")
        return out
    name = f"type {kind} ({_CALLBACK_NAMES[kind]})"
    if interaction_type is not None and not (
        _is_int(interaction_type) and interaction_type in _LEGAL_FOR[kind]
    ):
        itype = (
            _INTERACTION_NAMES.get(interaction_type, "unknown")
            if _is_int(interaction_type)
            else "unknown"
        )
        out.append(f"{name} cannot answer interaction type {interaction_type!r} ({itype})")

    data = obj.get("data")
    if kind in (1, 6, 12):
        if data is not None:
            out.append(f"{name} takes no data")
    elif kind == 5:
        if data is not None:
            _deferred_data(out, data, name)
    elif data is None:
        out.append(f"data is required for {name}")
    elif kind in (4, 7):
        msg = _object(out, data, "data")
        if msg is not None:
            # UPDATE_MESSAGE changes the message it came from, so a partial body is fine; the
            # response flag rules still apply (RR lists one flag set for response messages).
            _message(out, msg, "data", edit=False, partial=kind == 7)
    elif kind == 8:
        _autocomplete(out, data)
    elif kind == 9:
        _modal(out, data)
    return out


def _deferred_data(out: list[str], data: object, name: str) -> None:
    obj = _object(out, data, "data")
    if obj is None:
        return
    for key in obj:
        if key != "flags":
            out.append(f"data.{key} is ignored by {name}; it may only carry flags")
    flags = obj.get("flags")
    if flags is not None and (not _is_int(flags) or flags & ~EPHEMERAL):
        out.append(f"data.flags may only be 64 (EPHEMERAL) in {name}, not {flags!r}")


def _autocomplete(out: list[str], data: object) -> None:
    obj = _object(out, data, "data")
    if obj is None:
        return
    _unknown_keys(out, obj, ("choices",), "data")
    choices = _array(out, obj, "choices", "data")
    if choices is None:
        out.append("data.choices is required (an empty array shows no suggestions)")
        return
    _choices(out, choices, "data.choices", value_kind=None)


def _choices(out: list[str], choices: list[Any], path: str, value_kind: int | None) -> None:
    """Check choices; ``value_kind`` is the option type (3/4/10) when known."""
    _add(out, count_problem(path, len(choices), CHOICES_MAX, noun="choices"))
    for i, raw in enumerate(choices):
        where = f"{path}[{i}]"
        choice = _object(out, raw, where)
        if choice is None:
            continue
        _text(out, choice, "name", where, CHOICE_NAME_MAX, min_len=1, required=True)
        value = choice.get("value")
        if isinstance(value, str) and value_kind in (None, 3):
            _add(out, length_problem(f"{where}.value", value, CHOICE_STRING_VALUE_MAX))
        elif _is_int(value) and value_kind in (None, 4, 10):
            if abs(value) > SAFE_INTEGER_MAX:
                out.append(f"{where}.value {value} is outside ±(2^53-1)")
        elif isinstance(value, float) and value_kind in (None, 10):
            if value != value or value in (float("inf"), float("-inf")):
                out.append(f"{where}.value must be a finite number")
        else:
            expected = {3: "a string", 4: "an integer", 10: "a number"}.get(
                value_kind or 0, "a string or a number"
            )
            out.append(f"{where}.value must be {expected}, not {_kind(value)}")


def _modal(out: list[str], data: object) -> None:
    obj = _object(out, data, "data")
    if obj is None:
        return
    _unknown_keys(out, obj, ("custom_id", "title", "components"), "data")
    _custom_id(out, obj, "data", set())
    _text(out, obj, "title", "data", MODAL_TITLE_MAX, min_len=1, required=True)
    components = _array(out, obj, "components", "data")
    if components is None:
        out.append("data.components is required")
        return
    where = "data.components"
    _add(
        out, count_problem(where, len(components), MODAL_COMPONENTS_MAX, min_n=1, noun="components")
    )
    seen: set[str] = set()
    for i, raw in enumerate(components):
        path = f"{where}[{i}]"
        comp = _object(out, raw, path)
        if comp is None:
            continue
        kind = _type(comp)
        if kind == 18:  # Label wrapping one input
            _text(out, comp, "label", path, LABEL_MAX, min_len=1, required=True)
            _text(out, comp, "description", path, LABEL_DESCRIPTION_MAX)
            child = _object(out, comp.get("component"), f"{path}.component")
            if child is not None:
                _modal_child(out, child, f"{path}.component", seen, in_label=True)
        elif kind == 1:  # deprecated: an action row holding one text input
            children = _array(out, comp, "components", path) or []
            if len(children) != 1:
                out.append(f"{path}.components must hold exactly one text input")
            for j, child_raw in enumerate(children):
                child = _object(out, child_raw, f"{path}.components[{j}]")
                if child is not None and _type(child) != 4:
                    out.append(f"{path}.components[{j}] must be a text input (type 4)")
                elif child is not None:
                    _text_input(out, child, f"{path}.components[{j}]", seen, in_label=False)
        elif kind == 10:  # Text Display
            _text(out, comp, "content", path, 4000, min_len=1, required=True)
        else:
            out.append(
                f"{path}.type {comp.get('type')!r} cannot be placed at the top level of a modal"
            )


def _modal_child(
    out: list[str], child: Mapping[str, Any], path: str, seen: set[str], *, in_label: bool
) -> None:
    kind = _type(child)
    if kind not in _MODAL_LABEL_CHILDREN:
        out.append(f"{path}.type {child.get('type')!r} cannot be placed inside a modal Label")
    elif kind == 4:
        _text_input(out, child, path, seen, in_label=in_label)
    elif kind in _SELECT_TYPES:
        _select(out, child, path, seen)
    else:  # File Upload, Radio Group, Checkbox (Group): shape beyond custom_id not checked
        _custom_id(out, child, path, seen)


def _text_input(
    out: list[str], ti: Mapping[str, Any], path: str, seen: set[str], *, in_label: bool
) -> None:
    _custom_id(out, ti, path, seen)
    style = ti.get("style")
    if style not in (1, 2) or isinstance(style, bool):
        out.append(f"{path}.style must be 1 (SHORT) or 2 (PARAGRAPH), not {style!r}")
    if in_label:
        if ti.get("label") is not None:
            out.append(
                f"{path}.label is not allowed inside a Label component; set the Label's label"
            )
    else:
        _text(out, ti, "label", path, LABEL_MAX, min_len=1, required=True)
    lo, hi = ti.get("min_length"), ti.get("max_length")
    if lo is not None:
        _add(out, range_problem(f"{path}.min_length", lo, 0, TEXT_INPUT_LENGTH_MAX))
    if hi is not None:
        _add(out, range_problem(f"{path}.max_length", hi, 1, TEXT_INPUT_LENGTH_MAX))
    if _is_int(lo) and _is_int(hi) and lo > hi:
        out.append(f"{path}.min_length ({lo}) is greater than max_length ({hi})")
    _text(out, ti, "value", path, TEXT_INPUT_LENGTH_MAX)
    _text(out, ti, "placeholder", path, TEXT_INPUT_PLACEHOLDER_MAX)
    _bool(out, ti, "required", path)


# --- application commands --------------------------------------------------------------------


def _name_char_ok(ch: str) -> bool:
    # ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]$ without the third-party `regex` module.
    if ch in "-_'":
        return True
    if unicodedata.category(ch)[0] in "LN":
        return True
    code = ord(ch)
    return 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF or 0x0E00 <= code <= 0x0E7F


def _command_name(out: list[str], obj: Mapping[str, Any], path: str, *, chat_input: bool) -> str:
    name = obj.get("name")
    where = _join(path, "name")
    problem = length_problem(where, name, COMMAND_NAME_MAX, min_len=1, trim=False)
    if problem is not None:
        out.append(problem)
        return name if isinstance(name, str) else ""
    assert isinstance(name, str)
    if chat_input:
        bad = [ch for ch in name if not _name_char_ok(ch)]
        if bad:
            out.append(
                f"{where} {name!r} has characters Discord does not allow: "
                f"{''.join(sorted(set(bad)))!r}"
            )
        if name != name.lower():
            out.append(f"{where} {name!r} must be lowercase")
    elif name != name.strip():
        out.append(f"{where} {name!r} must not start or end with whitespace")
    return name


def _longest(obj: Mapping[str, Any], key: str) -> int:
    """Length of a field counted toward the 8000 total: its longest localization (§11)."""
    value = obj.get(key)
    best = len(value) if isinstance(value, str) else 0
    localized = obj.get(f"{key}_localizations")
    if isinstance(localized, dict):
        best = max([best, *(len(v) for v in localized.values() if isinstance(v, str))])
    return best


def validate_command(cmd: object) -> list[str]:
    """Problems with one application-command registration object (docs/discord-facts.md §11)."""
    out: list[str] = []
    obj = _object(out, cmd, "command")
    if obj is None:
        return out
    kind = obj.get("type", 1)
    if kind not in (1, 2, 3, 4) or isinstance(kind, bool):
        out.append(f"type must be 1 (CHAT_INPUT), 2 (USER), 3 (MESSAGE) or 4, not {kind!r}")
        return out
    chat_input = kind == 1
    _command_name(out, obj, "", chat_input=chat_input)
    total = _longest(obj, "name") + _longest(obj, "description")
    if chat_input:
        _text(out, obj, "description", "", COMMAND_DESCRIPTION_MAX, min_len=1, required=True)
    elif obj.get("description") not in (None, ""):
        out.append("description must be empty for USER and MESSAGE commands")
    options = _array(out, obj, "options", "")
    if options is not None:
        if not chat_input:
            out.append("options are only allowed on CHAT_INPUT commands")
        total += _options(out, options, "options", depth=0)
    for key, allowed in (("contexts", (0, 1, 2)), ("integration_types", (0, 1))):
        for value in _array(out, obj, key, "") or ():
            if value not in allowed or isinstance(value, bool):
                out.append(f"{key} holds {value!r}; allowed are {list(allowed)}")
    perms = obj.get("default_member_permissions")
    if perms is not None and not (isinstance(perms, str) and perms.isdigit()):
        out.append("default_member_permissions must be a string of decimal digits")
    _bool(out, obj, "nsfw", "")
    if total > COMMAND_TOTAL_CHARS_MAX:
        out.append(
            f"command has {total} characters in names, descriptions and values; "
            f"Discord allows at most {COMMAND_TOTAL_CHARS_MAX}"
        )
    return out


def _options(out: list[str], options: list[Any], path: str, *, depth: int) -> int:
    """Check a list of options; return the characters they add to the 8000 total."""
    _add(out, count_problem(path, len(options), COMMAND_OPTIONS_MAX, noun="options"))
    total = 0
    names: set[str] = set()
    seen_optional = False
    kinds: list[int] = []
    for i, raw in enumerate(options):
        where = f"{path}[{i}]"
        opt = _object(out, raw, where)
        if opt is None:
            continue
        kind = opt.get("type")
        if not _is_int(kind) or not 1 <= kind <= 11:
            out.append(f"{where}.type must be an option type 1..11, not {kind!r}")
            continue
        kinds.append(kind)
        name = _command_name(out, opt, where, chat_input=True)
        if name in names:
            out.append(f"{where}.name {name!r} is used twice at this level")
        names.add(name)
        _text(out, opt, "description", where, COMMAND_DESCRIPTION_MAX, min_len=1, required=True)
        total += _longest(opt, "name") + _longest(opt, "description")
        if kind in (1, 2):
            total += _subcommand(out, opt, where, kind, depth)
            continue
        if opt.get("required"):
            if seen_optional:
                out.append(
                    f"{where} is required but follows an optional option; required ones go first"
                )
        else:
            seen_optional = True
        total += _value_option(out, opt, where, kind)
    if any(k in (1, 2) for k in kinds) and any(k not in (1, 2) for k in kinds):
        out.append(f"{path} mixes subcommands with plain options")
    return total


def _subcommand(out: list[str], opt: Mapping[str, Any], where: str, kind: int, depth: int) -> int:
    if kind == 2 and depth > 0:
        out.append(f"{where} is a subcommand group nested below the top level")
    if kind == 1 and depth > 1:
        out.append(f"{where} is nested too deeply")
    children = _array(out, opt, "options", where) or []
    if kind == 2:
        if not children:
            out.append(f"{where}.options: a subcommand group needs at least one subcommand")
        for j, child in enumerate(children):
            if not (isinstance(child, dict) and child.get("type") == 1):
                out.append(f"{where}.options[{j}] must be a subcommand (type 1) inside a group")
    else:
        for j, child in enumerate(children):
            if isinstance(child, dict) and child.get("type") in (1, 2):
                out.append(f"{where}.options[{j}] cannot nest a subcommand inside a subcommand")
    return _options(out, children, f"{where}.options", depth=depth + 1)


def _value_option(out: list[str], opt: Mapping[str, Any], where: str, kind: int) -> int:
    total = 0
    choices = _array(out, opt, "choices", where)
    if choices is not None:
        if kind not in (3, 4, 10):
            out.append(f"{where}.choices are only allowed on STRING, INTEGER and NUMBER options")
        else:
            _choices(out, choices, f"{where}.choices", value_kind=kind)
        if opt.get("autocomplete") and choices:
            out.append(f"{where}.autocomplete must not be true when choices are present")
        for c in choices:
            if isinstance(c, dict):
                total += _longest(c, "name")
                value = c.get("value")
                total += len(value) if isinstance(value, str) else len(str(value))
    if opt.get("autocomplete") and kind not in (3, 4, 10):
        out.append(f"{where}.autocomplete is only allowed on STRING, INTEGER and NUMBER options")
    _bool(out, opt, "autocomplete", where)
    _bool(out, opt, "required", where)
    for key, lo in (("min_length", 0), ("max_length", 1)):
        value = opt.get(key)
        if value is not None:
            if kind != 3:
                out.append(f"{where}.{key} is only allowed on STRING options")
            else:
                _add(out, range_problem(f"{where}.{key}", value, lo, OPTION_STRING_LENGTH_MAX))
    for key in ("min_value", "max_value"):
        value = opt.get(key)
        if value is None:
            continue
        if kind not in (4, 10):
            out.append(f"{where}.{key} is only allowed on INTEGER and NUMBER options")
        elif kind == 4 and not _is_int(value):
            out.append(f"{where}.{key} must be an integer")
        elif not _is_number(value) or abs(value) > SAFE_INTEGER_MAX:
            out.append(f"{where}.{key} must be a number within ±(2^53-1)")
    return total
