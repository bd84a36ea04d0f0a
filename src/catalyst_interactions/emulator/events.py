"""Live updates for the page: a sequence of events fanned out to every subscriber.

Each event has a sequence number; a subscriber that reconnects with ``since`` gets what it
missed from a bounded backlog (or a ``reset`` telling it to reload the whole state).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "EventHub"]


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    kind: str
    data: Any


class EventHub:
    def __init__(self, backlog: int = 1000) -> None:
        self.seq = 0
        self._backlog: deque[Event] = deque(maxlen=backlog)
        self._queues: set[asyncio.Queue[Event | None]] = set()
        self.closed = False

    def publish(self, kind: str, data: Any) -> None:
        self.seq += 1
        event = Event(self.seq, kind, data)
        self._backlog.append(event)
        for queue in self._queues:
            queue.put_nowait(event)

    def subscribe(self, since: int | None = None) -> asyncio.Queue[Event | None]:
        """A queue of events after ``since``; None in it means the hub closed."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        if since is not None and since < self.seq:
            oldest = self._backlog[0].seq if self._backlog else self.seq + 1
            if since + 1 < oldest:
                queue.put_nowait(Event(self.seq, "reset", None))
            else:
                for event in self._backlog:
                    if event.seq > since:
                        queue.put_nowait(event)
        if self.closed:
            queue.put_nowait(None)
        else:
            self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self._queues.discard(queue)

    def close(self) -> None:
        """End every stream (so a server can shut down without waiting on them)."""
        self.closed = True
        for queue in self._queues:
            queue.put_nowait(None)
        self._queues.clear()
