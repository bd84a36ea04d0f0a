"""Would Discord accept what the bot sends? Asked of the local Discord's own reading of the rules.

The bot enforces Discord's limits in its reply builders (discord/messages.py); these checks
come from the emulator's independent reading (emulator/spec.py: the OpenAPI request schemas;
emulator/rules.py: the documented rules the schemas do not express), so a test that builds a
reply with the first and checks it with the second catches a mistake in either. Each function
returns the problems as readable strings; an empty list means Discord would accept the body.
"""

from __future__ import annotations

from typing import Any

from catalyst_interactions.emulator.rules import (
    EDIT_FLAGS,
    RESPONSE_FLAGS,
    callback_problems,
    command_list_problems,
    message_problems,
)
from catalyst_interactions.emulator.spec import spec

COMPONENT, MODAL_SUBMIT = 3, 5


def answer_problems(body: Any, interaction: dict[str, Any] | int) -> list[str]:
    """Problems with ``body`` as the HTTP answer (or callback) to ``interaction``: the
    interaction payload itself, or just its type when it did not come from a component."""
    if isinstance(interaction, int):
        interaction_type, from_component = interaction, False
    else:
        interaction_type = interaction["type"]
        # A click, or a modal opened from one (its submission carries the message).
        from_component = interaction_type == COMPONENT or (
            interaction_type == MODAL_SUBMIT and "message" in interaction
        )
    problems = spec().problems("create_interaction_response", body)
    if problems or not isinstance(body, dict):
        return [str(p) for p in problems]
    rules = callback_problems(
        body, interaction_type=interaction_type, from_component=from_component
    )
    return [str(p) for p in rules]


def webhook_message_problems(body: Any, *, edit: bool = False) -> list[str]:
    """Problems with a followup (``edit=False``) or an edit of an interaction's message."""
    operation = "update_original_webhook_message" if edit else "execute_webhook"
    return _message_problems(operation, body, edit=edit)


def channel_message_problems(body: Any) -> list[str]:
    """Problems with a message posted to a channel with the bot token."""
    return _message_problems("create_message", body, edit=False)


def command_problems(commands: list[Any]) -> list[str]:
    """Problems with a bulk overwrite of the application's commands."""
    problems = spec().problems("bulk_set_application_commands", commands)
    if problems:
        return [str(p) for p in problems]
    return [str(p) for p in command_list_problems(commands)]


def _message_problems(operation: str, body: Any, *, edit: bool) -> list[str]:
    problems = spec().problems(operation, body)
    if problems or not isinstance(body, dict):
        return [str(p) for p in problems]
    allowed = EDIT_FLAGS if edit else RESPONSE_FLAGS
    return [str(p) for p in message_problems(body, allowed_flags=allowed, partial=edit)]
