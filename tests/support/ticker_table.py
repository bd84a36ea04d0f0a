"""One table of typed ticker inputs, checked against every layer that takes a symbol: the
domain parser, the store, market data, custom_id templates and the commands.

Each row: what a member types, the symbol it names (None when refused), and the sentence the
member is shown when it is refused. The expected values are written out here by hand, not
computed with the code under test.
"""

from __future__ import annotations

from typing import NamedTuple


class Row(NamedTuple):
    typed: str
    symbol: str | None
    refusal: str | None = None

    @property
    def id(self) -> str:
        return repr(self.typed)


def _garbled(shown: str) -> str:
    return f"`{shown}` does not look like a ticker symbol."


VALID = [
    Row("AAPL", "AAPL"),
    Row("aapl", "AAPL"),  # lower case
    Row("  msft\t", "MSFT"),  # whitespace around it
    Row("\u00a0nvda\u00a0", "NVDA"),  # no-break spaces, as pasted from a web page
    Row("$tsla", "TSLA"),  # a chat cashtag
    Row("$ amd", "AMD"),
    Row("brk.b", "BRK.B"),  # share class after a dot
    Row("BF-B", "BF-B"),  # or after a hyphen
    Row("F", "F"),  # one letter
    Row("ABCDEF.XYZ", "ABCDEF.XYZ"),  # the longest shape: 6 + separator + 3
]

REFUSED = [
    Row(
        "^GSPC",
        None,
        "`^GSPC` is an index; Catalyst has prices for listed stocks and ETFs only. "
        "Try SPY, an ETF that tracks it.",
    ),
    Row(
        " ^ndx ",
        None,
        "`^NDX` is an index; Catalyst has prices for listed stocks and ETFs only. "
        "Try QQQ, an ETF that tracks it.",
    ),
    Row(
        "^VIX",
        None,
        "`^VIX` is an index; Catalyst has prices for listed stocks and ETFs only. "
        "Try an ETF that tracks it.",
    ),
    Row("TOOLONGTICKER", None, _garbled("TOOLONGTICKER")),  # too long
    Row("ABCDEFG", None, _garbled("ABCDEFG")),  # seven letters before any separator
    Row("BRK.BBBB", None, _garbled("BRK.BBBB")),  # class suffix too long
    Row("A" * 40, None, _garbled("A" * 19 + "…")),  # long input is cut when repeated
    Row("1ABC", None, _garbled("1ABC")),  # must start with a letter
    Row("AAPL;DROP", None, _garbled("AAPL;DROP")),
    Row("A B", None, _garbled("A B")),
    Row("a/b", None, _garbled("a/b")),
    Row("EURUSD=X", None, _garbled("EURUSD=X")),  # Yahoo's currency pairs
    Row("$$AAPL", None, _garbled("$AAPL")),  # one cashtag sign, not two
    Row("not a ticker!", None, _garbled("not a ticker!")),
    Row("a`b", None, _garbled("a'b")),  # a backtick would end the code span
    # Unicode: refused before upper-casing, which would turn these into ASCII letters.
    Row("ＡＡＰＬ", None, _garbled("ＡＡＰＬ")),  # full-width letters
    Row("\ufb01", None, _garbled("\ufb01")),  # the "fi" ligature; "fi".upper() == "FI"
    Row("stra\u00dfe", None, _garbled("stra\u00dfe")),  # "ß".upper() == "SS"
    Row("\u0131bm", None, _garbled("\u0131bm")),  # dotless i; "ı".upper() == "I"
    Row("ÄPPL", None, _garbled("ÄPPL")),
    # Empty.
    Row("", None, "Type a ticker symbol, such as AAPL."),
    Row("   ", None, "Type a ticker symbol, such as AAPL."),
    Row("$", None, "Type a ticker symbol, such as AAPL."),
]

TABLE = VALID + REFUSED
IDS = [row.id for row in TABLE]
