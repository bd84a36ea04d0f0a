"""Discord's enumerations, as the spec lists them, and the message flags, as the docs do.

Read by name from the spec extract (``spec().enum``), so a value here is Discord's published
one, never a copy of the bot's. The message flags are not in the spec; they are written from
docs/discord-facts.md §6.
"""

from __future__ import annotations

from .spec import spec

__all__ = [
    "BUTTON_STYLE",
    "CALLBACK",
    "COMMAND_TYPE",
    "COMPONENT",
    "EPHEMERAL",
    "INTERACTION",
    "IS_COMPONENTS_V2",
    "LOADING",
    "MESSAGE_TYPE",
    "OPTION_TYPE",
    "SELECTS",
    "SUPPRESS_EMBEDS",
]

_SPEC = spec()
INTERACTION = _SPEC.enum("InteractionTypes")
CALLBACK = _SPEC.enum("InteractionCallbackTypes")
COMPONENT = _SPEC.enum("MessageComponentTypes")
BUTTON_STYLE = _SPEC.enum("ButtonStyleTypes")
TEXT_INPUT_STYLE = _SPEC.enum("TextInputStyleTypes")
COMMAND_TYPE = _SPEC.enum("ApplicationCommandType")
OPTION_TYPE = _SPEC.enum("ApplicationCommandOptionType")
MESSAGE_TYPE = _SPEC.enum("MessageType")
CONTEXT = _SPEC.enum("InteractionContextType")

SELECTS = frozenset(
    COMPONENT[name]
    for name in (
        "STRING_SELECT",
        "USER_SELECT",
        "ROLE_SELECT",
        "MENTIONABLE_SELECT",
        "CHANNEL_SELECT",
    )
)
"""The select menus: a message component that sends ``values``."""

# Message flags (§6).
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_VOICE_MESSAGE = 1 << 13
IS_COMPONENTS_V2 = 1 << 15
FLAG_NAMES = {
    SUPPRESS_EMBEDS: "SUPPRESS_EMBEDS",
    EPHEMERAL: "EPHEMERAL",
    LOADING: "LOADING",
    SUPPRESS_NOTIFICATIONS: "SUPPRESS_NOTIFICATIONS",
    IS_VOICE_MESSAGE: "IS_VOICE_MESSAGE",
    IS_COMPONENTS_V2: "IS_COMPONENTS_V2",
}
