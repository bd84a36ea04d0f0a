"""The local Discord: Discord's REST side, an interaction sender and a web page.

``build_dev(settings, registry)`` assembles the whole local system (edge, workers and the
emulator); :class:`Emulator` is the emulator alone, an ASGI application.
"""

from .app import Emulator
from .dev import DevStack, DevStartError, build_dev, run_dev
from .ratelimit import BucketRule, RateLimitRules
from .sender import SendResult
from .world import World, default_world

__all__ = [
    "BucketRule",
    "DevStack",
    "DevStartError",
    "Emulator",
    "RateLimitRules",
    "SendResult",
    "World",
    "build_dev",
    "default_world",
    "run_dev",
]
