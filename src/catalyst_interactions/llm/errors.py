"""The LLM client's exception tree; httpx errors are translated at the client boundary.

Every error carries ``user_message``: a sentence safe to show in Discord. It never holds the
API key, the base URL or an upstream response body (which may echo the request).
"""

from __future__ import annotations


class LLMError(Exception):
    """Base of every error the LLM client raises."""

    default_message = "The research assistant is unavailable right now."

    def __init__(self, user_message: str | None = None) -> None:
        self.user_message = user_message or self.default_message
        super().__init__(self.user_message)


class LLMUnavailable(LLMError):
    """Network failure, timeout or a 5xx: trying again later may help."""


class LLMTimeout(LLMUnavailable):
    default_message = "The research assistant took too long to answer; try again later."


class LLMRateLimited(LLMError):
    default_message = "The research assistant is busy (rate limited); try again in a minute."

    def __init__(self, user_message: str | None = None, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(user_message)


class LLMAuthFailed(LLMError):
    """The API key was refused (401/403): an operator must fix the configuration."""

    default_message = "The research assistant's API key was refused; tell an admin."


class LLMRequestRejected(LLMError):
    """Another 4xx: an unknown model, a context that is too long, a bad parameter."""

    default_message = "The research assistant rejected the request (check the model name)."


class LLMBadResponse(LLMError):
    """The server answered 2xx with something that is not a chat completion."""

    default_message = "The research assistant sent an answer we could not read."
