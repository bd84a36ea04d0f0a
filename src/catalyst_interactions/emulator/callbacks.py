"""What an interaction response does, whichever way it arrived (HTTP answer or REST callback).

RR ``#interaction-response-object-interaction-callback-type``: 4 posts a message, 5 posts a
"thinking…" placeholder (flag LOADING) that the first edit replaces, 6 changes nothing yet,
7 edits the message the component belongs to, 8 carries autocomplete choices, 9 opens a modal.
After 6 or 7 the interaction's ``@original`` is that component message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bodies import Upload
from .enums import CALLBACK, EPHEMERAL, LOADING
from .errors import ApiError
from .messages import (
    apply_fields,
    forget_unused_files,
    is_ephemeral,
    new_message,
    number_components,
)
from .rules import callback_problems as callback_rules
from .spec import Problem, spec
from .store import JSON, InteractionRecord, Store

__all__ = ["apply_callback", "callback_problems"]


def callback_problems(record: InteractionRecord, body: object) -> list[Problem]:
    """Why Discord would refuse ``body`` as the answer to this interaction (empty: it accepts).

    The request schema first; when it holds, the documented rules, which also depend on where
    the interaction came from (a component's message, for types 6 and 7).
    """
    problems = spec().problems("create_interaction_response", body)
    if problems or not isinstance(body, dict):
        return problems
    return callback_rules(
        body, interaction_type=record.type, from_component=record.source_message_id is not None
    )


def apply_callback(
    store: Store, record: InteractionRecord, body: Mapping[str, Any], uploads: Mapping[str, Upload]
) -> JSON:
    """Apply a validated callback; return the ``with_response`` body."""
    kind = int(body["type"])
    data: Mapping[str, Any] = body.get("data") or {}
    resource: JSON = {"type": kind}
    if kind == CALLBACK["CHANNEL_MESSAGE_WITH_SOURCE"]:
        message = new_message(store, channel_id=record.channel_id, record=record)
        apply_fields(store, message, data, uploads, edit=False)
        record.original_id = message["id"]
        store.put_message(message, created=True)
        resource["message"] = message
    elif kind == CALLBACK["DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE"]:
        flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
        message = new_message(store, channel_id=record.channel_id, record=record, flags=flags)
        record.original_id = message["id"]
        store.put_message(message, created=True)
        resource["message"] = message
    elif kind in (CALLBACK["DEFERRED_UPDATE_MESSAGE"], CALLBACK["UPDATE_MESSAGE"]):
        source = store.messages.get(record.source_message_id or "")
        if source is None:
            raise ApiError.unknown_message()
        record.original_id = source["id"]
        if kind == CALLBACK["UPDATE_MESSAGE"]:
            before = {"attachments": list(source.get("attachments", []))}
            apply_fields(store, source, data, uploads, edit=True)
            forget_unused_files(store, before, source)
            store.put_message(source, created=False)
            resource["message"] = source
    elif kind == CALLBACK["APPLICATION_COMMAND_AUTOCOMPLETE_RESULT"]:
        record.choices = list(data.get("choices") or [])
    elif kind == CALLBACK["MODAL"]:
        modal = dict(data)
        number_components(modal.get("components"))
        record.modal = modal
    record.acked = True
    record.response_type = kind
    record.answered.set()
    original = store.messages.get(record.original_id or "")
    return {
        "interaction": {
            "id": record.id,
            "type": record.type,
            "response_message_id": record.original_id,
            "response_message_loading": bool(original and int(original["flags"]) & LOADING),
            "response_message_ephemeral": bool(original and is_ephemeral(original)),
        },
        "resource": resource,
    }
