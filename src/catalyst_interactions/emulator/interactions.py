"""Interaction payloads as Discord builds them from what a user did in the client.

Discord's client refuses some input before anything is sent (a missing required option, a
number out of range, too few values in a select, a required modal field left empty); so do
these builders, raising :class:`ClientRefusal` with the message the page shows. Everything
else goes to the application, which must cope with it.

Payload fields follow RR ``#interaction-object-interaction-structure`` (docs/discord-facts.md §2).
"""

from __future__ import annotations

import base64
import binascii
import copy
import secrets
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from .bodies import Upload
from .enums import BUTTON_STYLE, COMPONENT, CONTEXT, INTERACTION, OPTION_TYPE, SELECTS
from .messages import MAX_FILE_BYTES, is_ephemeral
from .store import JSON, InteractionRecord, Store, StoredFile
from .world import ADMINISTRATOR, BOT_PERMISSIONS, LOCALE, Persona

__all__ = [
    "ClientRefusal",
    "command_interaction",
    "component_interaction",
    "find_component",
    "modal_interaction",
]

APPLICATION_COMMAND = INTERACTION["APPLICATION_COMMAND"]
MESSAGE_COMPONENT = INTERACTION["MESSAGE_COMPONENT"]
AUTOCOMPLETE = INTERACTION["APPLICATION_COMMAND_AUTOCOMPLETE"]
MODAL_SUBMIT = INTERACTION["MODAL_SUBMIT"]
SUB_COMMAND, SUB_COMMAND_GROUP = OPTION_TYPE["SUB_COMMAND"], OPTION_TYPE["SUB_COMMAND_GROUP"]
STRING, INTEGER, BOOLEAN = OPTION_TYPE["STRING"], OPTION_TYPE["INTEGER"], OPTION_TYPE["BOOLEAN"]
USER, CHANNEL, ROLE = OPTION_TYPE["USER"], OPTION_TYPE["CHANNEL"], OPTION_TYPE["ROLE"]
MENTIONABLE, NUMBER = OPTION_TYPE["MENTIONABLE"], OPTION_TYPE["NUMBER"]
ATTACHMENT = OPTION_TYPE["ATTACHMENT"]
BUTTON, LINK = COMPONENT["BUTTON"], BUTTON_STYLE["LINK"]
# What a select's values resolve to, as the option type of the same kind.
_SELECT_RESOLVES = {
    COMPONENT["USER_SELECT"]: USER,
    COMPONENT["ROLE_SELECT"]: ROLE,
    COMPONENT["MENTIONABLE_SELECT"]: MENTIONABLE,
    COMPONENT["CHANNEL_SELECT"]: CHANNEL,
}


class ClientRefusal(ValueError):
    """What Discord's client would not send; the message is shown to the user."""


# -- the envelope -------------------------------------------------------------------------------
def new_interaction(
    store: Store,
    itype: int,
    persona: Persona,
    channel_id: str,
    data: JSON,
    *,
    message: JSON | None = None,
) -> tuple[JSON, InteractionRecord]:
    world = store.world
    channel = world.channel(channel_id)
    if channel is None:
        raise ClientRefusal("Unknown channel")
    interaction_id = store.new_id()
    # Real tokens are long opaque strings; only their secrecy matters.
    token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
    payload: JSON = {
        "id": interaction_id,
        "application_id": world.application_id,
        "type": itype,
        "data": data,
        "guild_id": world.guild_id,
        "guild": world.guild_json(),
        "channel_id": channel_id,
        "channel": world.channel_json(channel, persona),
        "member": persona.member_json(),
        "token": token,
        "version": 1,
        "app_permissions": str(BOT_PERMISSIONS),
        "locale": LOCALE,
        "guild_locale": LOCALE,
        "entitlements": [],
        "authorizing_integration_owners": {"0": world.guild_id},
        "context": CONTEXT["GUILD"],
        "attachment_size_limit": MAX_FILE_BYTES,
    }
    if message is not None:
        payload["message"] = copy.deepcopy(message)
    record = InteractionRecord(
        id=interaction_id,
        token=token,
        type=itype,
        channel_id=channel_id,
        persona=persona.key,
        user=dict(persona.user),
        created_at=store.clock(),
        payload=payload,
        source_message_id=message["id"] if message is not None else None,
    )
    return payload, record


def can_use(command: Mapping[str, Any], persona: Persona) -> bool:
    """``default_member_permissions``: the member needs every bit; administrators pass."""
    required = command.get("default_member_permissions")
    if required is None:
        return True
    if persona.permissions & ADMINISTRATOR:
        return True
    needed = int(required)
    return needed != 0 and persona.permissions & needed == needed


# -- slash commands and autocomplete ------------------------------------------------------------
def command_interaction(
    store: Store,
    persona: Persona,
    channel_id: str,
    command_id: str,
    path: list[str],
    values: Mapping[str, Any],
    *,
    focused: str | None = None,
    files: Mapping[str, Upload] | None = None,
) -> tuple[JSON, InteractionRecord]:
    """APPLICATION_COMMAND, or AUTOCOMPLETE when ``focused`` names the option being typed."""
    command = store.find_command(command_id)
    if command is None:
        raise ClientRefusal("This command is not registered (any more)")
    if not can_use(command, persona):
        raise ClientRefusal("You do not have permission to use this command")
    if not path or path[0] != command["name"]:
        raise ClientRefusal("The command path does not start with the command's name")
    definitions: list[JSON] = list(command.get("options") or [])
    chain: list[JSON] = []
    for name in path[1:]:
        found = next(
            (
                o
                for o in definitions
                if o["name"] == name and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
            ),
            None,
        )
        if found is None:
            raise ClientRefusal(f"/{' '.join(path)} is not a subcommand of /{command['name']}")
        chain.append(found)
        definitions = list(found.get("options") or [])
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in definitions):
        raise ClientRefusal("Choose a subcommand")
    unknown = set(values) - {o["name"] for o in definitions}
    if unknown:
        raise ClientRefusal(f"Unknown option {sorted(unknown)[0]!r}")
    resolved: dict[str, dict[str, Any]] = {}
    leaf: list[JSON] = []
    for definition in definitions:
        name = definition["name"]
        raw = values.get(name)
        if definition["type"] == ATTACHMENT and files and name in files:
            raw = name  # the value is the upload itself, sent beside the options
        if name == focused:
            leaf.append(
                {
                    "name": name,
                    "type": definition["type"],
                    "value": "" if raw is None else str(raw),
                    "focused": True,
                }
            )
            continue
        if raw is None or raw == "":
            if definition.get("required") and focused is None:
                raise ClientRefusal(f"`{name}` is required")
            continue
        try:
            value = _option_value(store, definition, raw, resolved, files or {})
        except ClientRefusal:
            if focused is not None:  # autocomplete sends what it can
                continue
            raise
        leaf.append({"name": name, "type": definition["type"], "value": value})
    options = leaf
    for sub in reversed(chain):
        options = [{"name": sub["name"], "type": sub["type"], "options": options}]
    data: JSON = {"id": command["id"], "name": command["name"], "type": command.get("type", 1)}
    if options:
        data["options"] = options
    if resolved:
        data["resolved"] = resolved
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    itype = AUTOCOMPLETE if focused is not None else APPLICATION_COMMAND
    payload, record = new_interaction(store, itype, persona, channel_id, data)
    record.command_name = " ".join(path)
    return payload, record


def _option_value(
    store: Store,
    definition: Mapping[str, Any],
    raw: Any,
    resolved: dict[str, dict[str, Any]],
    files: Mapping[str, Upload],
) -> Any:
    name, kind = definition["name"], definition["type"]
    value: Any
    if kind == STRING:
        value = str(raw)
        lo, hi = definition.get("min_length"), definition.get("max_length")
        if lo is not None and len(value) < lo:
            raise ClientRefusal(f"`{name}` must be at least {lo} characters")
        if hi is not None and len(value) > hi:
            raise ClientRefusal(f"`{name}` must be at most {hi} characters")
    elif kind in (INTEGER, NUMBER):
        value = _number(name, raw, integer=kind == INTEGER)
        lo, hi = definition.get("min_value"), definition.get("max_value")
        if lo is not None and value < lo:
            raise ClientRefusal(f"`{name}` must be at least {lo:g}")
        if hi is not None and value > hi:
            raise ClientRefusal(f"`{name}` must be at most {hi:g}")
    elif kind == BOOLEAN:
        if isinstance(raw, bool):
            value = raw
        elif str(raw).lower() in ("true", "false"):
            value = str(raw).lower() == "true"
        else:
            raise ClientRefusal(f"`{name}` must be True or False")
    elif kind in (USER, CHANNEL, ROLE, MENTIONABLE):
        value = str(raw)
        if not _resolve(store, kind, value, resolved, definition.get("channel_types")):
            raise ClientRefusal(f"`{name}`: no such {_KIND_NAMES[kind]}")
    elif kind == ATTACHMENT:
        upload = files.get(name)
        if upload is None:
            raise ClientRefusal(f"`{name}` needs a file")
        value = _attach(store, upload, resolved)
    else:
        raise ClientRefusal(f"`{name}` has an option type the emulator does not know ({kind})")
    choices = definition.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ClientRefusal(f"`{name}` must be one of the listed choices")
    return value


_KIND_NAMES = {USER: "member", CHANNEL: "channel", ROLE: "role", MENTIONABLE: "member or role"}


def _number(name: str, raw: Any, *, integer: bool) -> int | float:
    try:
        number = float(raw) if not isinstance(raw, bool) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise ClientRefusal(f"`{name}` must be a number")
    if integer:
        if not number.is_integer():
            raise ClientRefusal(f"`{name}` must be a whole number")
        return int(number)
    # JSON has one number type; Discord sends 5, not 5.0.
    return int(number) if number.is_integer() else number


def _resolve(
    store: Store,
    kind: int,
    value: str,
    resolved: dict[str, dict[str, Any]],
    channel_types: list[int] | None = None,
) -> bool:
    world = store.world
    if kind in (USER, MENTIONABLE):
        member = world.member(value)
        if member is not None:
            resolved.setdefault("users", {})[value] = dict(member.user)
            resolved.setdefault("members", {})[value] = member.member_json(with_user=False)
            return True
    if kind in (ROLE, MENTIONABLE):
        role = world.role(value)
        if role is not None:
            resolved.setdefault("roles", {})[value] = dict(role)
            return True
    if kind == CHANNEL:
        channel = world.channel(value)
        if channel is not None and (not channel_types or channel["type"] in channel_types):
            resolved.setdefault("channels", {})[value] = {
                k: channel[k] for k in ("id", "name", "type", "parent_id", "flags", "topic")
            } | {"permissions": str(world.personas["regular"].permissions)}
            return True
    return False


def _attach(store: Store, upload: Upload, resolved: dict[str, dict[str, Any]]) -> str:
    if len(upload.data) > MAX_FILE_BYTES:
        raise ClientRefusal("That file is larger than the 10 MiB upload limit")
    att_id = store.new_id()
    store.files[att_id] = StoredFile(upload.filename, upload.content_type, upload.data)
    channel_id = store.world.default_channel_id
    url = f"{store.public_base}/attachments/{channel_id}/{att_id}/{quote(upload.filename)}"
    resolved.setdefault("attachments", {})[att_id] = {
        "id": att_id,
        "filename": upload.filename,
        "size": len(upload.data),
        "url": url,
        "proxy_url": url,
        "content_type": upload.content_type,
        "ephemeral": True,
    }
    return att_id


def decode_upload(name: str, raw: Mapping[str, Any]) -> Upload:
    """A file the page sent as ``{"filename", "content_type", "data": base64}``."""
    try:
        data = base64.b64decode(str(raw.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ClientRefusal(f"`{name}`: the file could not be read") from None
    return Upload(
        name,
        str(raw.get("filename") or "file"),
        str(raw.get("content_type") or "application/octet-stream"),
        data,
    )


# -- message components -------------------------------------------------------------------------
def walk_components(components: Any) -> Iterator[JSON]:
    """Every component of a message or modal, nested ones included."""
    stack = list(components or [])[::-1]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        yield node
        children: list[Any] = []
        for key in ("components", "accessory", "component"):
            value = node.get(key)
            if isinstance(value, list):
                children += value
            elif isinstance(value, dict):
                children.append(value)
        stack += children[::-1]


def find_component(message: Mapping[str, Any], custom_id: str) -> JSON | None:
    return next(
        (
            c
            for c in walk_components(message.get("components"))
            if c.get("custom_id") == custom_id and c.get("type") in SELECTS | {BUTTON}
        ),
        None,
    )


def component_interaction(
    store: Store, persona: Persona, message_id: str, custom_id: str, values: list[Any] | None
) -> tuple[JSON, InteractionRecord]:
    message = store.messages.get(message_id)
    if message is None or not _visible(message, persona):
        raise ClientRefusal("That message no longer exists")
    component = find_component(message, custom_id)
    if component is None:
        raise ClientRefusal("That component is not on the message any more")
    if component.get("disabled"):
        raise ClientRefusal("That component is disabled")
    kind = int(component["type"])
    data: JSON = {"custom_id": custom_id, "component_type": kind}
    if kind == BUTTON:
        if component.get("style") == LINK:
            raise ClientRefusal("Link buttons open their URL; they send no interaction")
    else:
        chosen = [str(v) for v in (values or [])]
        resolved = _select_values(store, component, chosen, "select")
        data["values"] = chosen
        if resolved:
            data["resolved"] = resolved
    return new_interaction(
        store, MESSAGE_COMPONENT, persona, message["channel_id"], data, message=message
    )


def _select_values(
    store: Store, select: Mapping[str, Any], chosen: list[str], what: str
) -> dict[str, dict[str, Any]]:
    lo = select.get("min_values", 1)
    hi = select.get("max_values", 1)
    if not lo <= len(chosen) <= hi:
        raise ClientRefusal(f"Choose between {lo} and {hi} option(s) in the {what}")
    if len(set(chosen)) != len(chosen):
        raise ClientRefusal(f"An option was chosen twice in the {what}")
    kind = int(select["type"])
    resolved: dict[str, dict[str, Any]] = {}
    if kind == COMPONENT["STRING_SELECT"]:
        allowed = {o["value"] for o in select.get("options", [])}
        if set(chosen) - allowed:
            raise ClientRefusal(f"That is not an option of the {what}")
        return resolved
    option_kind = _SELECT_RESOLVES[kind]
    for value in chosen:
        if not _resolve(store, option_kind, value, resolved, select.get("channel_types")):
            raise ClientRefusal(f"No such {_KIND_NAMES[option_kind]} in the {what}")
    return resolved


def _visible(message: Mapping[str, Any], persona: Persona) -> bool:
    if not is_ephemeral(message):
        return True
    meta = message.get("interaction_metadata") or {}
    return bool(meta.get("user", {}).get("id") == persona.user["id"])


# -- modals -------------------------------------------------------------------------------------
def modal_interaction(
    store: Store, persona: Persona, opener_id: str, values: Mapping[str, Any]
) -> tuple[JSON, InteractionRecord]:
    opener = store.interactions.get(opener_id)
    if opener is None or opener.modal is None or opener.persona != persona.key:
        raise ClientRefusal("That form is not open")
    modal = opener.modal
    resolved: dict[str, dict[str, Any]] = {}
    submitted: list[JSON] = []
    for top in modal.get("components") or []:
        kind = top.get("type")
        if kind == COMPONENT["LABEL"]:
            child = top.get("component") or {}
            out = _modal_field(store, child, values, resolved, str(top.get("label", "")))
            submitted.append({"type": kind, "id": top.get("id"), "component": out})
        elif kind == COMPONENT["ACTION_ROW"]:
            row = [
                _modal_field(store, c, values, resolved, str(c.get("label", "")))
                for c in top.get("components") or []
            ]
            submitted.append({"type": kind, "id": top.get("id"), "components": row})
        elif kind == COMPONENT["TEXT_DISPLAY"]:
            submitted.append({"type": kind, "id": top.get("id")})
    data: JSON = {"custom_id": modal["custom_id"], "components": submitted}
    if resolved:
        data["resolved"] = resolved
    source = store.messages.get(opener.source_message_id or "")
    return new_interaction(store, MODAL_SUBMIT, persona, opener.channel_id, data, message=source)


def _modal_field(
    store: Store,
    field: Mapping[str, Any],
    values: Mapping[str, Any],
    resolved: dict[str, dict[str, Any]],
    label: str,
) -> JSON:
    kind = int(field.get("type", 0))
    custom_id = str(field.get("custom_id", ""))
    raw = values.get(custom_id)
    out: JSON = {"type": kind, "id": field.get("id"), "custom_id": custom_id}
    if kind == COMPONENT["TEXT_INPUT"]:
        text = "" if raw is None else str(raw)
        if field.get("required", True) and not text:
            raise ClientRefusal(f"{label or custom_id} is required")
        lo, hi = field.get("min_length"), field.get("max_length", 4000)
        if text and lo is not None and len(text) < lo:
            raise ClientRefusal(f"{label or custom_id} needs at least {lo} characters")
        if len(text) > hi:
            raise ClientRefusal(f"{label or custom_id} allows at most {hi} characters")
        out["value"] = text
    elif kind in SELECTS:
        chosen = (
            [str(v) for v in (raw or [])]
            if isinstance(raw, list)
            else ([str(raw)] if raw not in (None, "") else [])
        )
        if not chosen and not field.get("required", True):
            out["values"] = []
            return out
        resolved.update(_select_values(store, field, chosen, label or "menu"))
        out["values"] = chosen
    elif kind == COMPONENT["CHECKBOX"]:
        out["value"] = bool(raw)
    elif kind == COMPONENT["CHECKBOX_GROUP"]:
        out["values"] = [str(v) for v in raw] if isinstance(raw, list) else []
    elif kind == COMPONENT["RADIO_GROUP"]:
        out["value"] = None if raw in (None, "") else str(raw)
    else:
        raise ClientRefusal(f"The emulator cannot fill a component of type {kind} yet")
    return out
