"""Import the old bot's data: its alert log and its per-user watchlist files.

**Alert log** — JSON lines, one alert per line. Accepted field names (first present wins):

* ticker: ``ticker`` | ``symbol``
* time: ``timestamp`` | ``ts`` | ``posted_at`` | ``time`` — ISO 8601 with or without a zone
  (no zone means UTC), or epoch seconds as a number or numeric string
* headline: ``title`` | ``headline`` | ``reason`` (at least one is required); ``reason`` is
  also kept in its own column
* optional: ``price`` | ``last_price``, ``score``, ``sentiment`` | ``sentiment_score``
  (numbers or numeric strings), ``source``, ``url`` | ``link``

Blank lines are ignored. A line that is not valid UTF-8 or JSON, or lacks a ticker, time or
headline, or holds a non-numeric price/score/sentiment, is counted as bad with its line
number and reason; the import goes on.

**Watchlists** — a directory of ``<user_id>.json`` files. Each file holds either an object
``{"user_id": "123…", "tickers": [...]}`` (the ``user_id`` field wins over the file name) or
a bare list ``[...]`` (the user id is the file name, which must then be a Discord id). List
items are ticker strings or objects ``{"ticker": "AAPL", "added_at": <time>}``.

Re-running an import adds nothing twice: alerts are keyed by (ticker, UTC time, headline),
watchlist entries by (user, ticker).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .errors import ImportFailed, InvalidValue
from .records import NewAlert
from .store import Store
from .tickers import normalize_ticker

_NUMERIC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DISCORD_ID = re.compile(r"\d{1,20}")


@dataclass(frozen=True, slots=True)
class BadLine:
    """One rejected record: its file, its 1-based line (None for whole files), and why."""

    source: str
    line: int | None
    reason: str


@dataclass(slots=True)
class ImportReport:
    added: int = 0
    duplicates: int = 0
    bad: list[BadLine] = field(default_factory=list)

    @property
    def bad_count(self) -> int:
        return len(self.bad)


async def import_alert_log(store: Store, path: Path) -> ImportReport:
    """Import one JSON-lines alert log; raises :class:`ImportFailed` only if it is unreadable."""
    alerts, bad = await asyncio.to_thread(_read_alert_log, path)
    added, duplicates = await store.alerts.add_many(alerts)
    return ImportReport(added=added, duplicates=duplicates, bad=bad)


async def import_watchlists(store: Store, directory: Path) -> ImportReport:
    """Import every ``*.json`` file of ``directory`` (see the module docstring for the format)."""
    report = ImportReport()
    for path in await asyncio.to_thread(_watchlist_files, directory):
        parsed = await asyncio.to_thread(_read_watchlist_file, path, report.bad)
        if parsed is None:
            continue
        user_id, entries = parsed
        added, duplicates = await store.watchlists.import_entries(user_id, entries)
        report.added += added
        report.duplicates += duplicates
    return report


def parse_alert_record(record: object) -> NewAlert:
    """One decoded log line as an alert; raises :class:`InvalidValue` saying what is wrong."""
    if not isinstance(record, dict):
        raise InvalidValue("not a JSON object")
    ticker = _text(record, "ticker", "symbol")
    if ticker is None:
        raise InvalidValue("missing ticker")
    raw_time = _first(record, "timestamp", "ts", "posted_at", "time")
    if raw_time is None:
        raise InvalidValue("missing timestamp")
    reason = _text(record, "reason")
    title = _text(record, "title", "headline") or reason
    if title is None:
        raise InvalidValue("missing title/reason")
    return NewAlert(
        ticker=normalize_ticker(ticker),
        posted_at=parse_timestamp(raw_time),
        title=title,
        reason=reason,
        price=_number(record, "price", "last_price"),
        score=_number(record, "score"),
        sentiment=_number(record, "sentiment", "sentiment_score"),
        source=_text(record, "source"),
        url=_text(record, "url", "link"),
    )


def parse_timestamp(value: object) -> datetime:
    """ISO 8601 (no zone = UTC) or epoch seconds, as an aware UTC datetime."""
    if isinstance(value, str):
        text = value.strip()
        if _NUMERIC.fullmatch(text):
            return _from_epoch(float(text))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValue(f"unreadable timestamp {text[:40]!r}") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    raise InvalidValue("timestamp must be a string or a number")


def _from_epoch(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidValue(f"epoch seconds out of range: {seconds:g}") from None


def _read_alert_log(path: Path) -> tuple[list[NewAlert], list[BadLine]]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFailed(f"cannot read {path.name}: {error.strerror}") from error
    alerts: list[NewAlert] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            alerts.append(parse_alert_record(json.loads(raw.decode("utf-8"))))
        except UnicodeDecodeError:
            bad.append(BadLine(path.name, number, "not UTF-8"))
        except json.JSONDecodeError as error:
            bad.append(BadLine(path.name, number, f"invalid JSON: {error.msg}"))
        except InvalidValue as error:
            bad.append(BadLine(path.name, number, str(error)))
    return alerts, bad


def _watchlist_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ImportFailed(f"not a directory: {directory.name}")
    return sorted(directory.glob("*.json"))


def _read_watchlist_file(
    path: Path, bad: list[BadLine]
) -> tuple[str, list[tuple[str, datetime | None]]] | None:
    """(user id, entries) or None when the whole file is unusable; item errors go to ``bad``."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        bad.append(BadLine(path.name, None, f"unreadable: {error.strerror}"))
        return None
    except (UnicodeDecodeError, json.JSONDecodeError):
        bad.append(BadLine(path.name, None, "not a UTF-8 JSON document"))
        return None
    if isinstance(document, list):
        user_id: object = path.stem
        items: object = document
    elif isinstance(document, dict):
        user_id = document.get("user_id", path.stem)
        items = document.get("tickers")
    else:
        bad.append(BadLine(path.name, None, "expected an object or a list"))
        return None
    user = str(user_id) if isinstance(user_id, str | int) else ""
    if not _DISCORD_ID.fullmatch(user):
        bad.append(BadLine(path.name, None, "no Discord user id (field user_id or file name)"))
        return None
    if not isinstance(items, list):
        bad.append(BadLine(path.name, None, "tickers must be a list"))
        return None
    entries: list[tuple[str, datetime | None]] = []
    for index, item in enumerate(items, start=1):
        try:
            entries.append(_watchlist_item(item))
        except InvalidValue as error:
            bad.append(BadLine(path.name, None, f"item {index}: {error}"))
    return user, entries


def _watchlist_item(item: object) -> tuple[str, datetime | None]:
    if isinstance(item, str):
        return normalize_ticker(item), None
    if isinstance(item, dict):
        ticker = _text(item, "ticker", "symbol")
        if ticker is None:
            raise InvalidValue("missing ticker")
        added_at = item.get("added_at")
        return normalize_ticker(ticker), None if added_at is None else parse_timestamp(added_at)
    raise InvalidValue("expected a ticker string or an object")


def _first(record: dict[str, object], *names: str) -> object:
    for name in names:
        value = record.get(name)
        if value is not None and value != "":
            return value
    return None


def _text(record: dict[str, object], *names: str) -> str | None:
    value = _first(record, *names)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{names[0]} must be a string")
    return value.strip() or None


def _number(record: dict[str, object], *names: str) -> float | None:
    value = _first(record, *names)
    if value is None:
        return None
    if isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise InvalidValue(f"{names[0]} must be a number")
