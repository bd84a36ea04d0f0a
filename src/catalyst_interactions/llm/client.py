"""A small client for OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp...).

``POST {base_url}/chat/completions`` with ``{"model", "messages", ...}`` and, when a key is
configured, ``Authorization: Bearer <key>``. The key lives in a :class:`Secret` and is
revealed only into that header; nothing here logs it or puts it in an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import msgspec

from ..secret import Secret
from ..settings import Settings
from .errors import (
    LLMAuthFailed,
    LLMBadResponse,
    LLMRateLimited,
    LLMRequestRejected,
    LLMTimeout,
    LLMUnavailable,
)

log = logging.getLogger("catalyst_interactions.llm")

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    model: str
    finish_reason: str | None
    """``"length"`` when the answer was cut by ``max_tokens``."""


class _Msg(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Msg
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: list[_Choice]
    model: str = ""


_decode = msgspec.json.Decoder(_Completion).decode


class ChatClient:
    """Chat completions against one server and model.

    A connection pool is opened per call: LLM answers take seconds, so pooling buys nothing
    and the client needs no lifecycle (nothing to close at shutdown).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: Secret | None = None,
        *,
        timeout_s: float = 90.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the LLM base URL must be an http(s) URL")
        if not model.strip():
            raise ValueError("the LLM model name is empty")
        self.base_url = base_url.rstrip("/")
        self.model = model.strip()
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self._transport = transport

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient | None:
        """The configured client, or None when base URL or model is missing."""
        if not settings.llm_base_url or not settings.llm_model:
            return None
        return cls(settings.llm_base_url, settings.llm_model, settings.llm_api_key)

    def __repr__(self) -> str:
        return f"ChatClient(base_url={self.base_url!r}, model={self.model!r})"

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 900,
        temperature: float = 0.3,
    ) -> ChatResult:
        """One completion; raises only :class:`~.errors.LLMError` subclasses."""
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout, follow_redirects=False
            ) as http:
                response = await http.post(
                    f"{self.base_url}/chat/completions",
                    content=msgspec.json.encode(body),
                    headers=headers,
                )
        except httpx.TimeoutException:
            raise LLMTimeout() from None
        except httpx.HTTPError as exc:
            log.warning("LLM request failed", extra={"error": type(exc).__name__})
            raise LLMUnavailable() from None
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> ChatResult:
        status = response.status_code
        if status in (401, 403):
            raise LLMAuthFailed()
        if status == 429:
            raise LLMRateLimited(retry_after=_retry_after(response.headers))
        if status >= 500:
            raise LLMUnavailable()
        if status >= 400:
            log.warning("LLM request rejected", extra={"status": status})
            raise LLMRequestRejected()
        if status != 200:
            raise LLMBadResponse()
        try:
            completion = _decode(response.content)
        except msgspec.DecodeError:
            raise LLMBadResponse() from None
        if not completion.choices:
            raise LLMBadResponse()
        choice = completion.choices[0]
        text = (choice.message.content or "").strip()
        if not text:
            raise LLMBadResponse("The research assistant returned an empty answer.")
        return ChatResult(
            text=text, model=completion.model or self.model, finish_reason=choice.finish_reason
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    raw: Any = headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
