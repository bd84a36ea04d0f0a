"""The interaction endpoint's protocol core: bytes in, status and bytes out, no HTTP.

Checks run cheapest first, each with one status (statuses: docs/design.md, "Contracts"):
headers (401) → signature over the raw bytes and timestamp window (401) → JSON and type
(400) → PING → replay (409: the id is in the record of interactions already run or
queued, shared with ``/handover``, see ``replay.py``) → dispatch. The body-size cap (413)
is enforced by the adapter while reading, before any of this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from ..discord.enums import InteractionType
from ..discord.payloads import Interaction, PayloadError, decode_interaction
from ..discord.verify import SignatureVerifier, VerificationError
from ..framework.dispatch import Defer, Dispatcher, Respond, ephemeral_message
from ..framework.errors import UserFacingError
from ..metrics import INITIAL_RESPONSE_DEADLINE_S, InteractionCount, Metrics
from .replay import ReplayGuard, immediate_first_seen

log = logging.getLogger("catalyst_interactions.edge")

JSON = b"application/json"
_encode = msgspec.json.Encoder().encode
_PONG = b'{"type":1}'
_TYPE_LABELS = {int(t): t.name.lower() for t in InteractionType}
_PING_TYPE = InteractionType.PING  # bound once: an enum class attribute read costs per request
_PREPARED_MAX = 64  # as many as the dispatcher caches answers


@dataclass(frozen=True, slots=True)
class EndpointResult:
    status: int
    body: bytes
    content_type: bytes = JSON
    start_message: dict[str, Any] | None = None
    """The ASGI response start, prepared once for results sent again and again (PONG)."""

    def response_start(self, allow: bytes | None = None) -> dict[str, Any]:
        """The ASGI response start (``start_message`` when prepared); ``allow`` for a 405."""
        headers = [
            (b"content-type", self.content_type),
            (b"content-length", str(len(self.body)).encode()),
        ]
        if allow is not None:
            headers.append((b"allow", allow))
        return {"type": "http.response.start", "status": self.status, "headers": headers}

    def prepared(self) -> EndpointResult:
        return EndpointResult(self.status, self.body, self.content_type, self.response_start())


_PONG_RESULT = EndpointResult(200, _PONG).prepared()


def error_result(status: int, message: str) -> EndpointResult:
    return EndpointResult(status, _encode({"error": message}))


class JobSink(Protocol):
    """Where deferred work goes: durably stored before the acknowledgement is sent."""

    async def submit(
        self, interaction: Interaction, body: bytes, handler_key: str, ack_type: int
    ) -> bool:
        """True when stored; False when a job for this interaction id already exists.
        Raises :class:`UserFacingError` when this user's job is refused (their share of the
        queue is full): its message is the answer."""
        ...


class InteractionRecorder(Protocol):
    def record(self, interaction: Interaction, body: bytes) -> None: ...


class InteractionEndpoint:
    def __init__(
        self,
        *,
        verifier: SignatureVerifier,
        dispatcher: Dispatcher[Any],
        replay: ReplayGuard,
        metrics: Metrics,
        jobs: JobSink | None = None,
        recorder: InteractionRecorder | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._verifier = verifier
        self._dispatcher = dispatcher
        self._replay = replay
        self._replay_now = immediate_first_seen(replay)
        self._metrics = metrics
        self._jobs = jobs
        self._recorder = recorder
        self._clock = clock
        self._rejected = metrics.rejected
        # One series per (interaction type, handler, outcome), found with one lookup per
        # request: its count and its type's latency histogram.
        self._series: dict[tuple[int, str, str], InteractionCount] = {}
        self._ping_ok = metrics.interactions.series("ping", "", "ok", timed=False)
        # Answers the dispatcher hands out again and again (a cached /help) as HTTP results
        # with their response start prepared: built once, like the answers themselves.
        self._prepared: dict[int, tuple[Respond, EndpointResult]] = {}

    async def on_interaction(
        self, body: bytes, signature: bytes | None, timestamp: bytes | None
    ) -> EndpointResult:
        started = self._clock()
        if not signature or not timestamp:
            self._rejected.labels("missing_headers").inc()
            return error_result(401, "missing signature headers")
        try:
            expires_at = self._verifier.verify(signature, timestamp, body)
        except VerificationError as exc:
            self._rejected.labels(exc.reason).inc()
            # Debug only: Discord probes with bad signatures on purpose, and a flood of
            # forgeries must not become a flood of log lines.
            log.debug("interaction refused", extra={"status": 401, "reason": exc.reason})
            return error_result(401, exc.message)
        try:
            interaction = decode_interaction(body)
        except PayloadError as exc:
            self._rejected.labels("malformed").inc()
            # Signed, so Discord (or someone holding a captured body) sent it: one line, no
            # traceback; the message is bounded by decode_interaction.
            log.info("malformed interaction refused", extra={"status": 400, "problem": str(exc)})
            return error_result(400, str(exc))
        itype = interaction.type
        if itype == _PING_TYPE:
            self._ping_ok.inc()
            return _PONG_RESULT
        # Asked here rather than in a helper coroutine: a coroutine costs per request.
        try:
            if self._replay_now is not None:  # the host's table: no I/O, no coroutine
                first_seen = self._replay_now(interaction.id, expires_at)
            else:
                first_seen = await self._replay.first_seen(interaction.id, expires_at)
        except Exception:  # noqa: BLE001 - an outage of the shared memory must not stop the bot
            first_seen = self._replay_unavailable(interaction.id)
        if not first_seen:
            self._rejected.labels("replay").inc()
            log.warning("replayed interaction refused", extra={"interaction_id": interaction.id})
            return error_result(409, "interaction already received")
        if self._recorder is not None:
            self._recorder.record(interaction, body)
        decided = await self._dispatcher.handle(interaction)
        if isinstance(decided, Respond):  # answered inline: no coroutine of our own for it
            result, handler, outcome = self._inline_result(decided)
        else:
            result, handler, outcome = await self._enqueue(interaction, body, decided)
        series = self._series.get((itype, handler, outcome))
        if series is None:
            series = self._series[(itype, handler, outcome)] = self._metrics.interactions.series(
                _TYPE_LABELS[itype], handler, outcome
            )
        elapsed = self._clock() - started
        series.record(elapsed)
        if elapsed >= INITIAL_RESPONSE_DEADLINE_S:
            self._metrics.late.labels(series.type_label).inc()
        # A line per inline success would cost as much as the rest of the request; those are
        # counted in metrics and logged at debug. Everything else is logged at info.
        level = logging.DEBUG if outcome == "ok" else logging.INFO
        if log.isEnabledFor(level):
            log.log(
                level,
                "interaction answered",
                extra={
                    "interaction_id": interaction.id,
                    "handler": handler,
                    "outcome": outcome,
                    "status": result.status,
                    "ms": round(elapsed * 1000, 3),
                },
            )
        return result

    def _replay_unavailable(self, interaction_id: str) -> bool:
        """The replay record could not be asked: answer anyway (True, as if first seen).

        Fail open, as the shared rate limits do (D11): verification still holds, deferred
        work is still deduplicated by the queue; only inline replays go unnoticed."""
        self._rejected.labels("replay_memory_unavailable").inc()
        log.warning(
            "replay memory unavailable; answering without the replay check",
            extra={"interaction_id": interaction_id},
        )
        return True

    def _inline_result(self, outcome: Respond) -> tuple[EndpointResult, str, str]:
        """The HTTP result of an inline answer, its handler and outcome labels."""
        if outcome.encoded is None:
            return _respond(outcome), outcome.handler, outcome.outcome
        prepared = self._prepared.get(id(outcome))
        if prepared is None or prepared[0] is not outcome:
            if len(self._prepared) >= _PREPARED_MAX:
                self._prepared.pop(next(iter(self._prepared)))
            # The answer is kept alive with its result, so its id is not reused meanwhile.
            prepared = self._prepared[id(outcome)] = (outcome, _respond(outcome).prepared())
        return prepared[1], outcome.handler, outcome.outcome

    async def _enqueue(
        self, interaction: Interaction, body: bytes, outcome: Defer
    ) -> tuple[EndpointResult, str, str]:
        """Store deferred work as a job; the acknowledgement (or the refusal) to send."""
        if self._jobs is None:
            log.error(
                "deferred handler without a job queue", extra={"handler": outcome.handler_key}
            )
            return error_result(503, "deferred work is not available"), outcome.handler_key, "error"
        try:
            stored = await self._jobs.submit(
                interaction, body, outcome.handler_key, outcome.ack["type"]
            )
        except UserFacingError as exc:  # e.g. the user's share of the queue is full
            body_out = ephemeral_message(exc.message)
            return EndpointResult(200, _encode(body_out)), outcome.handler_key, "refused"
        except Exception:  # a queue outage must become a clear answer, not a 500
            log.exception("enqueue failed", extra={"interaction_id": interaction.id})
            body_out = ephemeral_message("The service is busy right now; please try again.")
            return EndpointResult(200, _encode(body_out)), outcome.handler_key, "queue_error"
        if not stored:
            self._rejected.labels("replay").inc()
            return error_result(409, "interaction already received"), outcome.handler_key, "dup"
        return EndpointResult(200, _encode(outcome.ack)), outcome.handler_key, "deferred"


def _respond(outcome: Respond) -> EndpointResult:
    if not outcome.files:
        return EndpointResult(200, outcome.encoded or _encode(outcome.body))
    # Only replies with files pay for this import (it pulls in the REST package).
    from ..discord.rest.multipart import encode_multipart

    content_type, body = encode_multipart(_encode(outcome.body), outcome.files)
    return EndpointResult(200, body, content_type.encode())


def health_body(**fields: Any) -> bytes:
    return _encode(fields)
