"""The market-data exception tree: every provider failure is translated into one of these.

Each error is a :class:`~catalyst_interactions.member_errors.MemberSafeError`: its
``user_message`` (and ``str(error)``) is a short sentence safe to show in Discord.
"""

from __future__ import annotations

from ..member_errors import MemberSafeError, MemberSafeRateLimited


class MarketDataError(MemberSafeError):
    """Base of the market-data errors."""

    default_message = "Market data is unavailable right now."


class UnknownTicker(MarketDataError):
    """The symbol is malformed or the provider does not know it."""

    default_message = "Unknown ticker."

    def __init__(self, ticker: str, user_message: str | None = None) -> None:
        self.ticker = ticker
        super().__init__(user_message or f"Unknown ticker: {ticker}.")


class ProviderUnavailable(MarketDataError):
    """Network failure, 5xx, malformed response or a rejected key: retrying later may help."""

    default_message = "The market-data provider is unavailable; try again shortly."


class ProviderRateLimited(MarketDataError, MemberSafeRateLimited):
    """The provider asked us to slow down (HTTP 429 or its in-body equivalent)."""

    default_message = "The market-data provider is rate limiting us; try again in a minute."


class NoBarsYet(MarketDataError):
    """The ticker exists but there are no bars for the range yet (e.g. before today's open)."""

    default_message = "No bars yet: the market has not opened for this session."
