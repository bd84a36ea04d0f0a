"""Ticker symbols: the one grammar the store, market data, custom_ids and commands share.

A symbol is a US listing as the providers spell it: a letter, up to five more letters or
digits, then optionally a share-class or series suffix after ``.`` or ``-`` (``AAPL``,
``BRK.B``, ``BF-B``). Members type it in any case, with a leading ``$`` (a chat cashtag)
and stray spaces; :func:`parse` turns that into the stored form or says, in a sentence fit
to show them, why it cannot.

Index symbols in Yahoo's spelling (``^GSPC``) are refused everywhere, with the ETF that
tracks the index when we know one: no provider we use serves them (docs/decisions.md D27).

Pure standard library and no I/O, so the edge, the store and the workers can all import it.
"""

from __future__ import annotations

import re

__all__ = ["INDEX_ETFS", "MAX_LENGTH", "PATTERN", "TickerError", "parse", "prefix"]

PATTERN = r"[A-Z][A-Z0-9]{0,5}(?:[.\-][A-Z0-9]{1,3})?"
"""The grammar as a regex fragment (no anchors, no groups that capture): a custom_id
template field uses it as is, so a button can only carry a symbol :func:`parse` accepts."""

MAX_LENGTH = 10
"""The longest symbol :data:`PATTERN` admits (six characters, a separator, three more)."""

# Yahoo-style index symbols members are likely to type, and the ETF that tracks each.
INDEX_ETFS: dict[str, str] = {
    "^GSPC": "SPY",  # S&P 500
    "^SPX": "SPY",
    "^NDX": "QQQ",  # Nasdaq-100
    "^DJI": "DIA",  # Dow Jones Industrial Average
    "^RUT": "IWM",  # Russell 2000
}

_SYMBOL = re.compile(PATTERN)
_SHOWN_MAX = 20  # how much of a member's input an error message repeats back


class TickerError(ValueError):
    """``text`` is not a ticker symbol. ``str(error)`` (also ``user_message``) is one
    sentence that can be shown to the member who typed it; ``text`` is what they typed."""

    def __init__(self, text: str, message: str) -> None:
        super().__init__(message)
        self.text = text
        self.user_message = message


def parse(text: str) -> str:
    """The symbol ``text`` names, normalised: ``" $brk.b "`` -> ``"BRK.B"``.

    Raises :class:`TickerError` for anything else: empty input, characters outside ASCII
    letters, digits, ``.`` and ``-``, a symbol longer than :data:`MAX_LENGTH`, an index.
    """
    cleaned = _clean(text)
    # Checked before upper-casing: str.upper() turns some non-ASCII letters into ASCII
    # ("ﬁ" -> "FI", "ß" -> "SS"), which would let look-alikes through as real symbols.
    if cleaned.isascii():
        symbol = cleaned.upper()
        if _SYMBOL.fullmatch(symbol):
            return symbol
        if symbol.startswith("^"):
            raise TickerError(text, _index_refusal(symbol))
    if not cleaned:
        raise TickerError(text, "Type a ticker symbol, such as AAPL.")
    raise TickerError(text, f"`{_shown(cleaned)}` does not look like a ticker symbol.")


def prefix(typed: str) -> str:
    """Partial input cleaned as :func:`parse` cleans it, for autocomplete; never raises.

    ``" $nv"`` -> ``"NV"``. Input that no symbol can start with gives ``""`` only when it
    is empty; otherwise it is returned upper-cased and simply matches nothing.
    """
    return _clean(typed).upper()


def _clean(text: str) -> str:
    """Trim spaces around the symbol and one leading ``$``."""
    return text.strip().removeprefix("$").strip()


def _index_refusal(symbol: str) -> str:
    etf = INDEX_ETFS.get(symbol)
    shown = _shown(symbol)
    reason = f"`{shown}` is an index; Catalyst has prices for listed stocks and ETFs only."
    if etf is not None:
        return f"{reason} Try {etf}, an ETF that tracks it."
    return f"{reason} Try an ETF that tracks it."


def _shown(text: str) -> str:
    """``text`` short and without backticks, to quote inside an inline-code span."""
    text = text.replace("`", "'")
    if len(text) <= _SHOWN_MAX:
        return text
    return text[: _SHOWN_MAX - 1].rstrip() + "…"
