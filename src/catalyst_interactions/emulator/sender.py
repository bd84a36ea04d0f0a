"""Sends interactions to the application's endpoint the way Discord does, and reads the answer.

The request is ``POST`` with the JSON body signed by Ed25519 over ``timestamp + body``
(``X-Signature-Ed25519``, ``X-Signature-Timestamp``; OV ``#setting-up-an-endpoint``). The
answer must come within 3 s: ``200`` with a callback body (JSON, or multipart with
``payload_json`` and files), or ``202`` and a callback through REST. Anything else (another
status, a body that fails validation, a timeout) is what the user sees as "The application
did not respond", and the interaction's token stops working.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from nacl.signing import SigningKey

from .bodies import parse_body
from .callbacks import apply_callback, callback_problems
from .errors import ApiError
from .store import JSON, InteractionRecord, Store

__all__ = ["InteractionSender", "SendResult"]

log = logging.getLogger("catalyst_interactions.emulator.sender")

DID_NOT_RESPOND = "The application did not respond"
USER_AGENT = "Discord-Interactions/1.0 (+https://discord.com)"


@dataclass(frozen=True, slots=True)
class SendResult:
    interaction_id: str
    ok: bool
    response_type: int | None = None
    error: str | None = None
    """What Discord would show the user."""
    detail: str | None = None
    """Why, for the developer (Discord shows nothing like it)."""
    message_id: str | None = None
    modal: JSON | None = None
    choices: list[Any] | None = None
    elapsed_ms: float = 0.0

    def to_json(self) -> JSON:
        return {k: getattr(self, k) for k in self.__slots__}


class InteractionSender:
    def __init__(
        self,
        store: Store,
        key: SigningKey,
        *,
        deadline_s: float = 3.0,
        timestamp: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._key = key
        self._deadline_s = deadline_s
        self._timestamp = timestamp
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                follow_redirects=False, trust_env=False, headers={"User-Agent": USER_AGENT}
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def signed_headers(self, body: bytes, *, forge: bool = False) -> dict[str, str]:
        stamp = str(int(self._timestamp()))
        signature = self._key.sign(stamp.encode() + body).signature
        if forge:  # Discord's routine security check sends a bad signature on purpose
            signature = bytes([signature[0] ^ 0xFF]) + signature[1:]
        return {
            "Content-Type": "application/json",
            "X-Signature-Ed25519": signature.hex(),
            "X-Signature-Timestamp": stamp,
        }

    # -- endpoint verification (PATCH /applications/@me) ------------------------------------
    async def verify_endpoint(self, url: str) -> str | None:
        """Discord PINGs a new endpoint URL and checks it refuses a forged signature."""
        body = json.dumps(
            {
                "id": self._store.new_id(),
                "application_id": self._store.world.application_id,
                "type": 1,
                "version": 1,
                "token": "ping",
            },
            separators=(",", ":"),
        ).encode()
        try:
            good = await self._client().post(
                url, content=body, headers=self.signed_headers(body), timeout=self._deadline_s
            )
            bad = await self._client().post(
                url,
                content=body,
                headers=self.signed_headers(body, forge=True),
                timeout=self._deadline_s,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__} while sending a PING"
        try:
            answer = good.json()
        except ValueError:
            answer = None
        if good.status_code != 200 or answer != {"type": 1}:
            return f'the PING was answered with HTTP {good.status_code}, not {{"type": 1}}'
        if bad.status_code != 401:
            return f"a request with an invalid signature got HTTP {bad.status_code}, not 401"
        return None

    # -- interactions ----------------------------------------------------------------------
    async def send(self, payload: JSON, record: InteractionRecord) -> SendResult:
        store = self._store
        store.add_interaction(record)
        url = store.application.get("interactions_endpoint_url")
        started = time.perf_counter()

        def failed(detail: str) -> SendResult:
            record.failed = True
            log.info("interaction failed", extra={"interaction_id": record.id, "why": detail})
            return SendResult(
                record.id,
                False,
                error=DID_NOT_RESPOND,
                detail=detail,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )

        if not url:
            return failed("the application has no interactions endpoint URL")
        body = json.dumps(payload, separators=(",", ":")).encode()
        try:
            # The deadline covers the whole exchange, not each phase as httpx's timeout does.
            response = await asyncio.wait_for(
                self._client().post(
                    str(url),
                    content=body,
                    headers=self.signed_headers(body),
                    timeout=self._deadline_s,
                ),
                timeout=self._deadline_s,
            )
        except (TimeoutError, httpx.TimeoutException):
            return failed(f"no answer within {self._deadline_s:g} s")
        except httpx.HTTPError as exc:
            return failed(f"{type(exc).__name__}: the endpoint could not be reached")
        if response.status_code == 202 and not response.content:
            left = self._deadline_s - (time.perf_counter() - started)
            try:
                await asyncio.wait_for(record.answered.wait(), timeout=max(left, 0.0))
            except TimeoutError:
                return failed("HTTP 202, then no callback through REST within 3 s")
        elif record.acked:
            pass  # a REST callback raced the HTTP answer; Discord keeps the first
        elif response.status_code != 200:
            snippet = response.text[:200].replace("\n", " ")
            return failed(f"HTTP {response.status_code}: {snippet}")
        else:
            try:
                answer, uploads = parse_body(
                    response.headers.get("content-type", ""), response.content
                )
            except ApiError as exc:
                return failed(f"unreadable answer: {exc.message}")
            problems = callback_problems(record, answer)
            if problems:
                return failed("invalid answer: " + "; ".join(map(str, problems[:3])))
            try:
                apply_callback(store, record, answer, uploads)
            except ApiError as exc:
                return failed(f"answer refused: {exc.message}")
        return SendResult(
            record.id,
            True,
            response_type=record.response_type,
            message_id=record.original_id,
            modal=record.modal,
            choices=record.choices,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
