"""The local Discord: Discord's REST side, an interaction sender and a web page.

:class:`Emulator` is an ASGI application that stands in for Discord. It validates what it
receives with its own reading of Discord's specification (``spec.py``: the OpenAPI request
schemas; ``rules.py``: the documented rules) and imports nothing from the bot's ``discord/``,
``framework/`` or ``bot/`` packages, so the bot and the emulator check each other.
``catalyst_interactions.dev`` runs it together with the bot.
"""

from .app import Emulator
from .ratelimit import BucketRule, RateLimitRules
from .sender import SendResult
from .world import World, default_world

__all__ = [
    "BucketRule",
    "Emulator",
    "RateLimitRules",
    "SendResult",
    "World",
    "default_world",
]
