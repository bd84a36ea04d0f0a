"""The LLM client's exception tree; httpx errors are translated at the client boundary.

Every error is a :class:`~catalyst_interactions.member_errors.MemberSafeError`: its
``user_message`` is a sentence safe to show in Discord.
"""

from __future__ import annotations

from ..member_errors import MemberSafeError, MemberSafeRateLimited


class LLMError(MemberSafeError):
    """Base of every error the LLM client raises."""

    default_message = "The research assistant is unavailable right now."


class LLMUnavailable(LLMError):
    """Network failure, timeout or a 5xx: trying again later may help."""


class LLMTimeout(LLMUnavailable):
    default_message = "The research assistant took too long to answer; try again later."


class LLMRateLimited(LLMError, MemberSafeRateLimited):
    default_message = "The research assistant is busy (rate limited); try again in a minute."


class LLMAuthFailed(LLMError):
    """The API key was refused (401/403): an operator must fix the configuration."""

    default_message = "The research assistant's API key was refused; tell an admin."


class LLMRequestRejected(LLMError):
    """Another 4xx: an unknown model, a context that is too long, a bad parameter."""

    default_message = "The research assistant rejected the request (check the model name)."


class LLMBadResponse(LLMError):
    """The server answered 2xx with something that is not a chat completion."""

    default_message = "The research assistant sent an answer we could not read."
