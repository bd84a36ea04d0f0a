"""An OpenAI-compatible chat client (OpenAI, Ollama, vLLM, ...) configured by base URL,
API key and model; see :class:`ChatClient`."""

from .client import ChatClient, ChatMessage, ChatResult
from .errors import (
    LLMAuthFailed,
    LLMBadResponse,
    LLMError,
    LLMRateLimited,
    LLMRequestRejected,
    LLMTimeout,
    LLMUnavailable,
)

__all__ = [
    "ChatClient",
    "ChatMessage",
    "ChatResult",
    "LLMAuthFailed",
    "LLMBadResponse",
    "LLMError",
    "LLMRateLimited",
    "LLMRequestRejected",
    "LLMTimeout",
    "LLMUnavailable",
]
