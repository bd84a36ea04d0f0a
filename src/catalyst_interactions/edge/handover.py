"""``POST /handover``: an interaction handed over by an edge in front of us (the Worker).

The edge has already acknowledged Discord (type 5 or 6). We trust nothing it says without
proof: Discord's original signature and timestamp are verified again on the raw body, and
the edge's own statement (which acknowledgement it sent, when) is authenticated with an
HMAC under a shared secret. The record of interactions already run or queued, shared with
``/interactions`` (``replay.py``), and the queue's one-job-per-interaction-id rule make a
retried hand-over harmless. Without a configured secret the route does not exist.

Headers: ``X-Signature-Ed25519`` / ``X-Signature-Timestamp`` (Discord's, unchanged),
``X-Catalyst-Ack`` (the JSON of the ack sent, e.g. ``{"type":5}``),
``X-Catalyst-Handover-Timestamp`` (unix seconds) and ``X-Catalyst-Handover-Signature``:
hex HMAC-SHA256 over ``timestamp + "." + ack + "." + sha256_hex(body)``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from ..discord.limits import EPHEMERAL
from ..discord.messages import user_text
from ..discord.payloads import PayloadError, decode_interaction
from ..discord.verify import SignatureVerifier, VerificationError
from ..framework.dispatch import Dispatcher
from ..framework.errors import NoHandler, UserFacingError
from ..metrics import Metrics
from .asgi import BodyTooLarge, Receive, Route, Scope, Send, read_body, send_result
from .endpoint import EndpointResult, JobSink, error_result
from .replay import Previously, ReplayGuard

log = logging.getLogger("catalyst_interactions.handover")

HANDOVER_WINDOW_S = 60.0
_ACK_MAX = 64  # the longest acknowledgement above is 35 bytes of JSON
_TIMESTAMP_DIGITS_MAX = 12
_ACKS: list[tuple[dict[str, object], int]] = [
    ({"type": 5}, 5),
    ({"type": 6}, 6),
    ({"type": 5, "data": {"flags": EPHEMERAL}}, 5),
]


def ack_type_of(raw: bytes) -> int | None:
    """5 or 6 for an acknowledgement the edge may have sent; compared as JSON, not as bytes
    (the HMAC already covers the exact bytes, and key order differs between languages)."""
    if len(raw) > _ACK_MAX:  # also keeps nesting (RecursionError) out of the decoder
        return None
    try:
        ack = msgspec.json.decode(raw)
    except (msgspec.DecodeError, ValueError):  # ValueError: bytes that are not UTF-8
        return None
    return next((kind for shape, kind in _ACKS if ack == shape), None)


def handover_signature(secret: bytes, timestamp: str, ack: str, body: bytes) -> str:
    message = f"{timestamp}.{ack}.{hashlib.sha256(body).hexdigest()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class HandoverEndpoint:
    def __init__(
        self,
        *,
        secret: bytes,
        verifier: SignatureVerifier,
        dispatcher: Dispatcher[Any],
        jobs: JobSink,
        metrics: Metrics,
        replay: ReplayGuard,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._replay = replay
        self._secret = secret
        self._verifier = verifier
        self._dispatcher = dispatcher
        self._jobs = jobs
        self._metrics = metrics
        self._clock = clock

    async def on_handover(self, body: bytes, headers: dict[bytes, bytes]) -> EndpointResult:
        rejected = self._metrics.rejected
        signature = headers.get(b"x-signature-ed25519")
        timestamp = headers.get(b"x-signature-timestamp")
        ack = headers.get(b"x-catalyst-ack", b"")
        hop_ts = headers.get(b"x-catalyst-handover-timestamp", b"")
        hop_sig = headers.get(b"x-catalyst-handover-signature", b"")
        if not (signature and timestamp and ack and hop_ts and hop_sig):
            rejected.labels("handover_headers").inc()
            return error_result(401, "missing hand-over headers")
        try:
            expires_at = self._verifier.verify(signature, timestamp, body)
        except VerificationError as exc:
            rejected.labels("handover_" + exc.reason).inc()
            return error_result(401, exc.message)
        expected = handover_signature(
            self._secret, hop_ts.decode("ascii", "replace"), ack.decode("ascii", "replace"), body
        )
        if not hmac.compare_digest(expected.encode(), hop_sig):
            rejected.labels("handover_forged").inc()
            log.warning("forged hand-over refused")
            return error_result(401, "invalid hand-over signature")
        if (
            not hop_ts.isdigit()
            or len(hop_ts) > _TIMESTAMP_DIGITS_MAX
            or abs(self._clock() - int(hop_ts)) > HANDOVER_WINDOW_S
        ):
            rejected.labels("handover_stale").inc()
            return error_result(401, "hand-over timestamp outside the allowed window")
        ack_type = ack_type_of(ack)
        if ack_type is None:
            return error_result(400, "X-Catalyst-Ack must be a type 5 or 6 acknowledgement")
        try:
            interaction = decode_interaction(body)
        except PayloadError as exc:
            rejected.labels("handover_malformed").inc()
            log.info("malformed hand-over refused", extra={"status": 400, "problem": str(exc)})
            return error_result(400, str(exc))
        # The same routing and checks (admin-only, cooldowns ...) as on our own edge: work
        # that arrives acknowledged must not skip them.
        try:
            handler = await self._dispatcher.admit(interaction)
        except UserFacingError as exc:
            return self._refused(exc)
        except NoHandler:
            return error_result(400, "no handler can run this interaction as a job")
        # The record /interactions keeps too: an id handed over before is refused; one that ran
        # inline is enqueued anyway (the Worker hands over only what it got no answer for, so
        # the user is still waiting), and its committed effects make the job answer with the
        # first outcome instead of changing anything again.
        before = await self._handed_over(interaction.id, expires_at)
        if before is Previously.QUEUED:
            rejected.labels("replay").inc()
            return error_result(409, "interaction already received")
        try:
            stored = await self._jobs.submit(interaction, body, handler, ack_type)
        except UserFacingError as exc:  # the member's share of the queue is full
            return self._refused(exc)
        if not stored:
            return error_result(409, "interaction already received")
        if before is Previously.RAN_INLINE:
            log.info(
                "hand-over of an interaction already run inline",
                extra={"interaction_id": interaction.id},
            )
        log.info("hand-over enqueued", extra={"interaction_id": interaction.id, "handler": handler})
        return EndpointResult(202, msgspec.json.encode({"status": "enqueued"}))

    def _refused(self, exc: UserFacingError) -> EndpointResult:
        self._metrics.rejected.labels("handover_refused").inc()
        # The edge shows this text to the user in place of its "thinking…".
        return EndpointResult(
            403,
            msgspec.json.encode({"error": "refused", "message": user_text(exc.message)}),
        )

    async def _handed_over(self, interaction_id: str, expires_at: float) -> Previously:
        try:
            return await self._replay.hand_over(interaction_id, expires_at)
        except Exception:  # noqa: BLE001 - an outage of the shared record must not stop work
            # Fail open like /interactions: the queue still refuses a second job for the id,
            # and committed effects still make a second run change nothing.
            self._metrics.rejected.labels("replay_memory_unavailable").inc()
            log.warning(
                "replay memory unavailable; handing over without the check",
                extra={"interaction_id": interaction_id},
            )
            return Previously.NOTHING


def handover_route(endpoint: HandoverEndpoint, max_body_bytes: int) -> Route:
    """The ASGI route for ``POST /handover``, with the same body cap as /interactions."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        try:
            body = await read_body(receive, max_body_bytes)
        except BodyTooLarge:
            await send_result(send, error_result(413, f"body larger than {max_body_bytes} bytes"))
            return
        await send_result(send, await endpoint.on_handover(body, headers))

    return route
