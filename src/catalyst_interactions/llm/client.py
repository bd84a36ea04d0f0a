"""A small client for OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp...).

``POST {base_url}/chat/completions`` with ``{"model", "messages", ...}`` and, when a key is
configured, ``Authorization: Bearer <key>``. :meth:`ChatClient.stream` asks for
``"stream": true`` and reads the server-sent events every one of those servers speaks:
``data: {chunk}`` lines whose ``choices[0].delta.content`` carries the next piece of text,
then ``data: [DONE]``. The key lives in a :class:`Secret` and is
revealed only into that header; nothing here logs it or puts it in an error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import msgspec

from ..member_errors import parse_retry_after
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


class _Delta(msgspec.Struct):
    content: str | None = None


class _ChunkChoice(msgspec.Struct):
    delta: _Delta = msgspec.field(default_factory=_Delta)
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_ChunkChoice] = msgspec.field(default_factory=list)
    model: str = ""
    error: Any = None
    """vLLM and llama.cpp report a failure that happens mid-stream as a chunk like this."""


_decode_chunk = msgspec.json.Decoder(_Chunk).decode
OnText = Callable[[str], Awaitable[None]]


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
        content, headers = self._request(messages, max_tokens, temperature, stream=False)
        with _transport_errors("LLM request failed"):
            async with self._http() as http:
                response = await http.post(
                    f"{self.base_url}/chat/completions", content=content, headers=headers
                )
        return self._parse(response)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        on_text: OnText,
        *,
        max_tokens: int = 900,
        temperature: float = 0.3,
    ) -> ChatResult:
        """One completion, streamed: ``on_text`` gets the whole answer so far after each
        piece. Raises only :class:`~.errors.LLMError` subclasses (and what ``on_text`` raises).

        A server that ignores ``"stream": true`` and answers with one JSON body works too.
        """
        content, headers = self._request(messages, max_tokens, temperature, stream=True)
        with _transport_errors("LLM stream failed"):
            async with (
                self._http() as http,
                http.stream(
                    "POST", f"{self.base_url}/chat/completions", content=content, headers=headers
                ) as response,
            ):
                kind = response.headers.get("content-type", "")
                if response.status_code != 200 or "text/event-stream" not in kind:
                    await response.aread()
                    result = self._parse(response)
                    await on_text(result.text)
                    return result
                return await self._read_events(response, on_text)

    def _request(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        *,
        stream: bool,
    ) -> tuple[bytes, dict[str, str]]:
        """The JSON body and the headers of one chat-completions request."""
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": stream,
        }
        accept = "text/event-stream" if stream else "application/json"
        headers = {"Content-Type": "application/json", "Accept": accept}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        return msgspec.json.encode(body), headers

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self._transport, timeout=self._timeout, follow_redirects=False
        )

    async def _read_events(self, response: httpx.Response, on_text: OnText) -> ChatResult:
        text = ""
        model = ""
        finish: str | None = None
        done = False
        async for data in _sse_data(response.aiter_lines()):
            if data == "[DONE]":
                done = True
                break
            try:
                chunk = _decode_chunk(data)
            except msgspec.DecodeError:
                raise LLMBadResponse() from None
            if chunk.error is not None:
                log.warning("LLM stream reported an error")
                raise LLMUnavailable()
            model = chunk.model or model
            if not chunk.choices:
                continue  # e.g. a final usage-only chunk
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            if choice.delta.content:
                text += choice.delta.content
                await on_text(text)
        if not done and finish is None:
            raise LLMUnavailable("The research assistant's answer was cut off; try again.")
        if not text.strip():
            raise LLMBadResponse("The research assistant returned an empty answer.")
        return ChatResult(text=text.strip(), model=model or self.model, finish_reason=finish)

    def _parse(self, response: httpx.Response) -> ChatResult:
        status = response.status_code
        if status in (401, 403):
            raise LLMAuthFailed()
        if status == 429:
            raise LLMRateLimited(retry_after=parse_retry_after(response.headers.get("retry-after")))
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


@contextmanager
def _transport_errors(failure: str) -> Iterator[None]:
    """httpx's errors as the client's own: a timeout, else the server is unavailable (logged
    as ``failure`` with the error's type only: its text may hold the URL)."""
    try:
        yield
    except httpx.TimeoutException:
        raise LLMTimeout() from None
    except httpx.HTTPError as exc:
        log.warning(failure, extra={"error": type(exc).__name__})
        raise LLMUnavailable() from None


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each server-sent event: its ``data:`` lines joined, sent at a blank line.

    Comments (``: keep-alive``), ``event:``, ``id:`` and ``retry:`` lines are ignored.
    """
    buffer: list[str] = []
    async for line in lines:
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
        elif line.startswith("data:"):
            value = line[5:]
            buffer.append(value[1:] if value.startswith(" ") else value)
    if buffer:
        yield "\n".join(buffer)
