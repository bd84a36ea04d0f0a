"""``POST /handover``: an interaction handed over by an edge in front of us (the Worker).

The edge has already acknowledged Discord (type 5 or 6). We trust nothing it says without
proof: Discord's original signature and timestamp are verified again on the raw body, and
the edge's own statement (which acknowledgement it sent, when) is authenticated with an
HMAC under a shared secret. The queue's one-job-per-interaction-id rule makes a retried
hand-over harmless. Without a configured secret the route does not exist.

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

import msgspec

from ..discord.payloads import PayloadError, decode_interaction
from ..discord.verify import SignatureVerifier, VerificationError
from ..framework.dispatch import Dispatcher
from .asgi import BodyTooLarge, Receive, Route, Scope, Send, read_body, send_result
from .endpoint import EndpointResult, JobSink, error_result
from .metrics import Metrics

log = logging.getLogger("catalyst_interactions.handover")

HANDOVER_WINDOW_S = 60.0
_ACKS = {b'{"type":5}': 5, b'{"type":6}': 6, b'{"type":5,"data":{"flags":64}}': 5}


def handover_signature(secret: bytes, timestamp: str, ack: str, body: bytes) -> str:
    message = f"{timestamp}.{ack}.{hashlib.sha256(body).hexdigest()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class HandoverEndpoint:
    def __init__(
        self,
        *,
        secret: bytes,
        verifier: SignatureVerifier,
        dispatcher: Dispatcher,
        jobs: JobSink,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
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
            self._verifier.verify(signature, timestamp, body)
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
        if not hop_ts.isdigit() or abs(self._clock() - int(hop_ts)) > HANDOVER_WINDOW_S:
            rejected.labels("handover_stale").inc()
            return error_result(401, "hand-over timestamp outside the allowed window")
        ack_type = _ACKS.get(ack)
        if ack_type is None:
            return error_result(400, "X-Catalyst-Ack must be a type 5 or 6 acknowledgement")
        try:
            interaction = decode_interaction(body)
        except PayloadError as exc:
            return error_result(400, str(exc))
        handler = await self._dispatcher.deferred_handler_key(interaction)
        if handler is None:
            return error_result(400, "no handler can run this interaction as a job")
        if not await self._jobs.submit(interaction, body, handler, ack_type):
            return error_result(409, "interaction already received")
        log.info("hand-over enqueued", extra={"interaction_id": interaction.id, "handler": handler})
        return EndpointResult(202, msgspec.json.encode({"status": "enqueued"}))


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
