"""How a handler's answer reaches Discord. Handler code is the same in every mode."""

from __future__ import annotations

from enum import Enum


class Mode(Enum):
    INLINE = "inline"
    """Answered in the HTTP response: must finish well under Discord's 3-second deadline."""

    DEFERRED = "deferred"
    """Acknowledged at once (type 5 or 6); a worker runs it and edits the message."""

    AUTO = "auto"
    """Run inline under a time budget counted from the interaction's creation; if it is not
    done in time, acknowledged and handed to a worker like a deferred handler."""
