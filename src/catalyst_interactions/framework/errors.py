"""The framework's exception tree. Each one becomes a response in one place (dispatch)."""

from __future__ import annotations


class FrameworkError(Exception):
    """Base of every error the framework raises."""


class RegistrationError(FrameworkError):
    """A handler declaration is invalid or collides with another; raised at import/start."""


class UserFacingError(FrameworkError):
    """Raise from a handler to tell the user something went wrong because of their input.

    The message is shown to the user (ephemerally where Discord allows); nothing is logged as a
    failure. Use it for an unknown ticker, a full watchlist, a bad option value.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CheckFailure(UserFacingError):
    """A check (permission, cooldown) refused the interaction before the handler ran."""


class BadOption(UserFacingError):
    """An option's value does not fit its declaration (type, range, choice)."""


class NoHandler(FrameworkError):
    """No handler is registered for the interaction's command, custom_id or modal."""
