"""Message objects as Discord stores them: made, edited and given attachments.

Bodies are validated before they get here (spec.py, rules.py); these functions apply a
valid body the way Discord does: an edit changes only the fields it names, the
``attachments`` array of an edit lists every attachment to keep plus the new ones (API v10),
uploads become attachments served at a local URL, and ``attachment://name`` in embeds and
components is resolved to that URL.
"""

from __future__ import annotations

import mimetypes
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .bodies import Upload
from .enums import EPHEMERAL, IS_COMPONENTS_V2, MESSAGE_TYPE, SUPPRESS_EMBEDS
from .errors import REQUEST_TOO_LARGE, ApiError, invalid_form_body
from .spec import Problem
from .store import JSON, InteractionRecord, Store, StoredFile

__all__ = ["apply_fields", "forget_unused_files", "iso_time", "new_message"]

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Per attachment, for webhooks and interaction responses (docs/discord-facts.md §9)."""
_REPLACED = ("content", "embeds", "components", "poll", "tts", "sticker_ids")


def iso_time(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).isoformat(timespec="microseconds")


def new_message(
    store: Store,
    *,
    channel_id: str,
    record: InteractionRecord | None = None,
    flags: int = 0,
    followup: bool = False,
) -> JSON:
    """An empty message by the bot; interaction messages carry ``interaction_metadata``."""
    app_id = store.world.application_id
    message: JSON = {
        "id": store.new_id(),
        "type": MESSAGE_TYPE["DEFAULT"],
        "channel_id": channel_id,
        "author": dict(store.world.bot_user),
        "content": "",
        "timestamp": iso_time(store.clock()),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": False,
        "flags": flags,
        "application_id": app_id,
    }
    if record is not None:
        message["webhook_id"] = app_id
        meta: JSON = {
            "id": record.id,
            "type": record.type,
            "user": dict(record.user),
            "authorizing_integration_owners": {"0": store.world.guild_id},
        }
        if record.command_name is not None:
            message["type"] = MESSAGE_TYPE["CHAT_INPUT_COMMAND"]
            meta["name"] = record.command_name
            meta["command_type"] = 1
            # The deprecated `interaction` field, still sent and still read by clients.
            message["interaction"] = {
                "id": record.id,
                "type": record.type,
                "name": record.command_name,
                "user": dict(record.user),
            }
        if record.source_message_id is not None:
            meta["interacted_message_id"] = record.source_message_id
        if followup and record.original_id is not None:
            meta["original_response_message_id"] = record.original_id
        message["interaction_metadata"] = meta
    return message


def apply_fields(
    store: Store,
    message: JSON,
    payload: Mapping[str, Any],
    uploads: Mapping[str, Upload],
    *,
    edit: bool,
) -> None:
    """Apply a validated message body (and its uploads) to ``message`` in place."""
    for key in _REPLACED:
        if key in payload:
            value = payload[key]
            if key == "content":
                value = value or ""
            elif key in ("embeds", "components", "sticker_ids"):
                value = [dict(v) if isinstance(v, dict) else v for v in (value or [])]
            message[key] = value
    if "embeds" in payload:
        message["embeds"] = [{"type": "rich", **e} for e in message["embeds"]]
    if "components" in payload:
        number_components(message["components"])
    flags = payload.get("flags")
    if isinstance(flags, int | float) and not isinstance(flags, bool):
        flags = int(flags)  # validated: an integer, which JSON may spell 64.0
        current = int(message.get("flags", 0))
        if edit:
            settable = SUPPRESS_EMBEDS | IS_COMPONENTS_V2
            # IS_COMPONENTS_V2 can never be removed once set (MSG #message-object-message-flags).
            message["flags"] = (current & ~SUPPRESS_EMBEDS) | (flags & settable)
        else:
            message["flags"] = current | flags
    _attachments(store, message, payload, uploads, edit=edit)
    _resolve_references(message)
    if edit:
        message["edited_timestamp"] = iso_time(store.clock())


def forget_unused_files(
    store: Store, before: Mapping[str, Any], after: Mapping[str, Any] | None
) -> None:
    """Drop the bytes of attachments an edit (or a delete, ``after=None``) removed."""
    kept = {str(a["id"]) for a in (after or {}).get("attachments", [])}
    for attachment in before.get("attachments", []):
        if str(attachment["id"]) not in kept:
            store.files.pop(str(attachment["id"]), None)


def number_components(components: Any) -> None:
    """Give every component without an ``id`` a sequential one, as Discord does (CR)."""
    used: set[int] = set()
    todo: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if isinstance(node.get("id"), int):
                used.add(node["id"])
            elif "type" in node:
                todo.append(node)
            for key in ("components", "accessory", "component"):
                if key in node:
                    walk(node[key])

    walk(components)
    next_id = 1
    for node in todo:
        while next_id in used:
            next_id += 1
        node["id"] = next_id
        used.add(next_id)


def is_ephemeral(message: Mapping[str, Any]) -> bool:
    return bool(int(message.get("flags", 0)) & EPHEMERAL)


def _attachments(
    store: Store,
    message: JSON,
    payload: Mapping[str, Any],
    uploads: Mapping[str, Upload],
    *,
    edit: bool,
) -> None:
    if any(len(u.data) > MAX_FILE_BYTES for u in uploads.values()):
        raise ApiError(413, REQUEST_TOO_LARGE, "Request entity too large")
    listed = payload.get("attachments")
    existing = {str(a["id"]): a for a in message.get("attachments", [])}
    used: set[str] = set()
    kept: list[JSON] = []
    if isinstance(listed, list):
        problems: list[Problem] = []
        for i, item in enumerate(listed):
            ref = str(item.get("id")) if isinstance(item, dict) else ""
            upload = uploads.get(f"files[{ref}]")
            if upload is not None:
                used.add(upload.name)
                kept.append(_store_upload(store, message, upload, item))
            elif ref in existing:
                kept.append(
                    {
                        **existing[ref],
                        **({"description": item["description"]} if "description" in item else {}),
                    }
                )
            else:
                problems.append(
                    Problem(
                        ("attachments", i, "id"),
                        "ATTACHMENT_NOT_FOUND",
                        f"{ref!r} is neither an upload (files[n]) nor an attachment of this "
                        "message",
                    )
                )
        if problems:
            raise invalid_form_body(problems)
    elif edit:
        kept = list(existing.values())
    # Uploads the payload does not list are attached too.
    kept += [
        _store_upload(store, message, u, {}) for name, u in uploads.items() if name not in used
    ]
    if isinstance(listed, list) or uploads or not edit:
        message["attachments"] = kept


def _store_upload(store: Store, message: JSON, upload: Upload, item: Mapping[str, Any]) -> JSON:
    att_id = store.new_id()
    filename = str(item.get("filename") or upload.filename)
    content_type = upload.content_type
    if content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename)[0] or content_type
    store.files[att_id] = StoredFile(filename, content_type, upload.data)
    url = f"{store.public_base}/attachments/{message['channel_id']}/{att_id}/{quote(filename)}"
    out: JSON = {
        "id": att_id,
        "filename": filename,
        "size": len(upload.data),
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
    }
    if item.get("description") is not None:
        out["description"] = item["description"]
    if is_ephemeral(message):
        out["ephemeral"] = True
    size = _png_size(upload.data)
    if size is not None:
        out["width"], out["height"] = size
    return out


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _resolve_references(message: JSON) -> None:
    """``attachment://name`` → the attachment's URL, in embeds and (V2) components."""
    by_name = {a["filename"]: a for a in message.get("attachments", [])}

    def fix(holder: Any, key: str) -> None:
        if not isinstance(holder, dict):
            return
        value = holder.get(key)
        if isinstance(value, str) and value.startswith("attachment://"):
            found = by_name.get(value[len("attachment://") :])
            if found is not None:
                holder[key] = found["url"]
                holder["proxy_url"] = found["url"]
                if "width" in found:
                    holder.setdefault("width", found["width"])
                    holder.setdefault("height", found["height"])

    for embed in message.get("embeds", []):
        for part in ("image", "thumbnail"):
            fix(embed.get(part), "url")
        fix(embed.get("author"), "icon_url")
        fix(embed.get("footer"), "icon_url")

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key in ("media", "file"):
                fix(node.get(key), "url")
            for key in ("components", "items", "accessory", "component"):
                if key in node:
                    walk(node[key])

    walk(message.get("components", []))
