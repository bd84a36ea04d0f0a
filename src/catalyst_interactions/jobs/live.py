"""A deferred handler's message while it runs: progress, intermediate edits and followups.

Progress and edits are *coalesced*: a handler may call ``ctx.progress`` or ``ctx.edit`` as
often as it likes (every streamed token, say); at most one PATCH of ``@original`` is sent per
:data:`MIN_EDIT_INTERVAL_S` and it always carries the newest state. Interaction webhooks
share the rate limits of normal webhooks, about 5 requests per 2 s per token (see
docs/architecture.md, "Progress and streaming"): one edit a second leaves room in every
window for the final answer and a followup, so progress never makes the answer wait for a
429. The first edit waits until the job has run :data:`FIRST_EDIT_AFTER_S`: a job done by
then sends its answer only. :meth:`RestLiveMessage.close` runs before the final answer is
delivered: it drops what is still pending and waits for an edit already on the wire, so no
progress can land after the answer. Nothing is sent after ``stop_at`` (a margin before the
15-minute token expires).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..discord.limits import CONTENT_MAX, EPHEMERAL
from ..discord.messages import File, Message, truncate
from ..discord.rest import DiscordError, DiscordRest

log = logging.getLogger("catalyst_interactions.live")

PostFollowup = Callable[[dict[str, Any], Sequence[File]], Awaitable[None]]
"""Posts one followup (the deliverer's: recorded first, so a retried job does not repeat it)."""

MIN_EDIT_INTERVAL_S = 1.0
"""Between two progress edits of one message: 2 per 2 s, under the webhook bucket's 5."""
FIRST_EDIT_AFTER_S = 1.0
"""No progress edit before the job has run this long. Discord already shows "… is
thinking" for the acknowledgement; an answer that comes sooner (a cached chart takes tens of
ms) replaces it directly, without a progress text that would flash for an instant and cost a
REST call of the token's 5 per 2 s (half the requests of such a job)."""


class LiveMessageClosed(RuntimeError):
    """A followup was asked for after the answer was delivered or too near the token's end."""


class RestLiveMessage:
    """The :class:`~catalyst_interactions.framework.context.LiveMessage` of one job."""

    def __init__(
        self,
        rest: DiscordRest,
        token: str,
        *,
        stop_at: float,
        updates_message: bool,
        post_followup: PostFollowup,
        interval_s: float = MIN_EDIT_INTERVAL_S,
        first_after_s: float = FIRST_EDIT_AFTER_S,
        clock: Callable[[], float] = time.time,
        extra: dict[str, object] | None = None,
    ) -> None:
        self._rest = rest
        self._token = token
        self._post_followup = post_followup
        self._stop_at = stop_at
        self._updates_message = updates_message
        self._interval_s = interval_s
        self._clock = clock
        self._extra = extra or {}
        self._pending: tuple[dict[str, Any], Sequence[File]] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._sending = False
        self._closed = False
        self._broken = False
        self._next_at = clock() + first_after_s  # when the first update may go
        self.edits_sent = 0
        """How many intermediate edits reached Discord (for tests and metrics)."""

    def __repr__(self) -> str:  # the token stays out of logs
        return f"RestLiveMessage(edits_sent={self.edits_sent}, closed={self._closed})"

    # -- what handlers call (through the context) -------------------------------------------
    async def progress(self, text: str) -> None:
        if self._updates_message:
            # A clicked message (an alert, a chart) keeps showing what it shows until its new
            # state replaces it; Discord shows the pressed button as loading meanwhile.
            return
        self._offer({"content": truncate(text, CONTENT_MAX), "allowed_mentions": {"parse": []}}, ())

    async def edit(self, message: Message) -> None:
        self._offer(message.to_dict(edit=True), tuple(message.files))

    async def followup(self, message: Message, *, ephemeral: bool = False) -> None:
        if self._closed:
            raise LiveMessageClosed("the answer was already delivered; a followup comes before it")
        if self._clock() >= self._stop_at:
            raise LiveMessageClosed("the interaction token is about to expire")
        body = message.to_dict()
        if ephemeral:
            body["flags"] = int(body.get("flags", 0)) | EPHEMERAL
        await self._post_followup(body, message.files)

    # -- what the worker calls ------------------------------------------------------------
    async def close(self) -> None:
        """No more updates: drop the pending one, let one already sent finish."""
        self._closed = True
        self._pending = None
        task = self._flusher
        if task is None or task.done():
            return
        if not self._sending:
            task.cancel()  # only asleep between edits: nothing is on the wire
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # -- internals --------------------------------------------------------------------------
    def _offer(self, body: dict[str, Any], files: Sequence[File]) -> None:
        if self._closed or self._broken or self._clock() >= self._stop_at:
            return
        self._pending = (body, files)  # the newest state wins
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="catalyst-live-message")

    async def _flush(self) -> None:
        while self._pending is not None and not self._closed:
            wait = self._next_at - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self._clock() >= self._stop_at:
                self._pending = None
                return
            body, files = self._pending
            self._pending = None
            self._sending = True
            try:
                await self._rest.edit_original(self._token, body, files, deadline=self._stop_at)
                self.edits_sent += 1
            except DiscordError as exc:
                # Progress is a courtesy: the final answer still goes through the normal
                # delivery (with its retries), so stop updating rather than fail the job.
                log.warning("progress edit failed", extra=self._extra | {"error": repr(exc)})
                self._broken = True
                return
            finally:
                self._sending = False
                self._next_at = self._clock() + self._interval_s


__all__ = [
    "FIRST_EDIT_AFTER_S",
    "MIN_EDIT_INTERVAL_S",
    "LiveMessageClosed",
    "PostFollowup",
    "RestLiveMessage",
]
