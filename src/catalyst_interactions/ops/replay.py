"""Replay a recorded corpus against the old and the new endpoint and compare the answers.

Each recorded interaction gets a fresh id (a snowflake of now, so that both sides'
timestamp windows and replay guards accept it) and a fresh token, is signed with a staging
key, and is sent to both endpoints — alternately old first and new first, so neither side
always gets the warm connection. The answers are reduced to what a user can tell apart and
compared. The rules, also in docs/migration.md:

A **regression** (the command exits 1) is any of:
  R1 status: the old endpoint answered 2xx, the new one did not (or could not be reached);
  R2 no answer: the old one answered with an interaction response, the new one with none
     (an empty body, a 204, not JSON);
  R3 kind: the response changed kind other than between *now* (4, 7) and *deferred*
     (5, 6) — e.g. a message became a modal, or a deferred ack an autocomplete result;
  R4 visibility: an ephemeral answer became public;
  R5 emptiness: the new message has no content, embeds, components or attachments while the
     old one had some;
  R6 buttons lost: the old message had components with custom_ids, the new one has none;
  R7 deadline: the new answer took 3 s or more (Discord gives up) where the old did not.

An **improvement**: a non-2xx or empty old answer became a valid one; an answer now became a
deferred one (a slow command acknowledged in time; its content arrives later as an edit and
is not compared) or the reverse. A **change** is reported but accepted: different text,
embeds or custom_ids, 4↔7 or 5↔6, a public answer made ephemeral, a different error status.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import secrets
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

from ..discord.limits import EPHEMERAL
from ..discord.snowflake import make_snowflake
from ..discord.verify import signed_headers

DISCORD_DEADLINE_MS = 3000.0
_FAMILY = {
    1: "pong",
    4: "now",
    7: "now",
    5: "deferred",
    6: "deferred",
    8: "autocomplete",
    9: "modal",
}
_VISIBILITY_TYPES = (4, 5)  # 6 and 7 concern an existing message: no visibility of their own


class ReplayError(Exception):
    """The corpus or the key cannot be used; the message says which line or file."""


class Verdict(Enum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    CHANGE = "change"


@dataclass(frozen=True, slots=True)
class Answer:
    """One endpoint's answer, reduced to what a user can tell apart."""

    status: int
    latency_ms: float
    body: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    @property
    def type(self) -> int | None:
        kind = (self.body or {}).get("type")
        return kind if isinstance(kind, int) else None

    @property
    def family(self) -> str:
        return _FAMILY.get(self.type or 0, "none") if self.ok else "none"

    @property
    def data(self) -> dict[str, Any]:
        data = (self.body or {}).get("data")
        return data if isinstance(data, dict) else {}

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & EPHEMERAL)

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def embeds(self) -> list[Any]:
        return list(self.data.get("embeds") or [])

    @property
    def custom_ids(self) -> list[str]:
        return sorted(_custom_ids(self.data.get("components") or []))

    @property
    def empty(self) -> bool:
        d = self.data
        return not (self.content or self.embeds or d.get("components") or d.get("attachments"))

    def describe(self) -> str:
        if self.error is not None:
            return f"error ({self.error}) {self.latency_ms:.1f} ms"
        kind = f"type {self.type}" if self.type is not None else "no answer"
        seen = " ephemeral" if self.type in _VISIBILITY_TYPES and self.ephemeral else ""
        return f"{self.status} {kind}{seen} {self.latency_ms:.1f} ms"


def _custom_ids(components: Iterable[Any]) -> Iterable[str]:
    for component in components:
        if not isinstance(component, dict):
            continue
        if isinstance(component.get("custom_id"), str):
            yield component["custom_id"]
        for key in ("components", "accessory", "component"):
            child = component.get(key)
            if isinstance(child, list):
                yield from _custom_ids(child)
            elif isinstance(child, dict):
                yield from _custom_ids([child])


@dataclass(frozen=True, slots=True)
class Difference:
    verdict: Verdict
    what: str
    detail: str


@dataclass(slots=True)
class Comparison:
    index: int
    label: str
    old: Answer
    new: Answer
    differences: list[Difference] = field(default_factory=list)

    def has(self, verdict: Verdict) -> bool:
        return any(d.verdict is verdict for d in self.differences)


def _short(text: str, limit: int = 60) -> str:
    text = text.replace("\n", " ")
    return json.dumps(text if len(text) <= limit else text[: limit - 1] + "…", ensure_ascii=False)


def compare(old: Answer, new: Answer) -> list[Difference]:
    """The differences that matter between two answers to the same interaction."""
    out: list[Difference] = []
    reg, imp, chg = Verdict.REGRESSION, Verdict.IMPROVEMENT, Verdict.CHANGE
    if old.ok and not new.ok:
        out.append(Difference(reg, "status", f"{old.status} -> {new.error or new.status}"))
        return out
    if not old.ok and new.ok:
        out.append(Difference(imp, "status", f"{old.error or old.status} -> {new.status}"))
    elif not old.ok and not new.ok:
        if (old.error or old.status) != (new.error or new.status):
            out.append(
                Difference(chg, "status", f"{old.error or old.status} -> {new.error or new.status}")
            )
        return out
    if old.latency_ms < DISCORD_DEADLINE_MS <= new.latency_ms:
        out.append(
            Difference(
                reg,
                "latency",
                f"{old.latency_ms:.0f} ms -> {new.latency_ms:.0f} ms (past Discord's 3 s deadline)",
            )
        )
    of, nf = old.family, new.family
    if of != "none" and nf == "none":
        out.append(Difference(reg, "answer", f"type {old.type} -> no interaction response"))
        return out
    if of == "none" and nf != "none":
        out.append(Difference(imp, "answer", f"no interaction response -> type {new.type}"))
        return out
    if of != nf:
        deferral = {of, nf} == {"now", "deferred"}
        out.append(
            Difference(
                imp if deferral else reg,
                "type",
                f"{old.type} -> {new.type}"
                + (" (content arrives as an edit)" if nf == "deferred" else ""),
            )
        )
    elif old.type != new.type:
        out.append(Difference(chg, "type", f"{old.type} -> {new.type}"))
    if (
        old.type in _VISIBILITY_TYPES
        and new.type in _VISIBILITY_TYPES
        and old.ephemeral != new.ephemeral
    ):
        verdict = reg if old.ephemeral else chg
        out.append(
            Difference(
                verdict,
                "visibility",
                "ephemeral -> public" if old.ephemeral else "public -> ephemeral",
            )
        )
    if of == nf == "now":
        out.extend(_message_differences(old, new))
    return out


def _message_differences(old: Answer, new: Answer) -> list[Difference]:
    out: list[Difference] = []
    reg, chg = Verdict.REGRESSION, Verdict.CHANGE
    if new.empty and not old.empty:
        out.append(Difference(reg, "message", "the new message is empty"))
    if old.content != new.content:
        out.append(Difference(chg, "content", f"{_short(old.content)} -> {_short(new.content)}"))
    if old.embeds != new.embeds:
        titles_old = [str(e.get("title", "")) for e in old.embeds if isinstance(e, dict)]
        titles_new = [str(e.get("title", "")) for e in new.embeds if isinstance(e, dict)]
        out.append(
            Difference(
                chg, "embeds", f"{len(old.embeds)} {titles_old} -> {len(new.embeds)} {titles_new}"
            )
        )
    if old.custom_ids != new.custom_ids:
        lost = old.custom_ids and not new.custom_ids
        out.append(
            Difference(reg if lost else chg, "components", f"{old.custom_ids} -> {new.custom_ids}")
        )
    return out


# -- the corpus and the requests ---------------------------------------------------------------
def load_corpus(path: Path) -> list[dict[str, Any]]:
    """The recorded interactions of a JSON-lines corpus (see ops/recorder.py)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ReplayError(f"cannot read corpus {path}: {exc.strerror}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ReplayError(f"{path}:{number}: not JSON") from None
        interaction = record.get("interaction") if isinstance(record, dict) else None
        if not isinstance(interaction, dict) or not isinstance(interaction.get("type"), int):
            raise ReplayError(f"{path}:{number}: no recorded interaction on this line")
        out.append(interaction)
    if not out:
        raise ReplayError(f"corpus {path} holds no interactions")
    return out


def load_key(path: Path) -> SigningKey:
    """A private seed in hex (what `catalyst-interactions keys --out` writes)."""
    try:
        seed = bytes.fromhex(path.read_text().strip())
    except OSError as exc:
        raise ReplayError(f"cannot read key file {path}: {exc.strerror}") from None
    except ValueError:
        raise ReplayError(f"key file {path} is not a hex seed") from None
    if len(seed) != 32:
        raise ReplayError(f"key file {path} must hold a 32-byte seed (64 hex characters)")
    return SigningKey(seed)


def label(interaction: dict[str, Any]) -> str:
    data = interaction.get("data") if isinstance(interaction.get("data"), dict) else {}
    assert isinstance(data, dict)
    kind = interaction.get("type")
    if kind in (2, 4):
        path = [str(data.get("name", "?"))]
        options = data.get("options") or []
        while len(options) == 1 and isinstance(options[0], dict):
            if options[0].get("type") not in (1, 2):  # subcommand (group)
                break
            path.append(str(options[0].get("name")))
            options = options[0].get("options") or []
        return ("autocomplete /" if kind == 4 else "/") + " ".join(path)
    if kind == 3:
        return f"component {data.get('custom_id', '?')}"
    if kind == 5:
        return f"modal {data.get('custom_id', '?')}"
    return f"type {kind}"


def fresh(interaction: dict[str, Any], now_ms: int, sequence: int) -> bytes:
    """The recorded interaction with a new id and token, as the bytes to sign and send."""
    payload = dict(interaction)
    payload["id"] = make_snowflake(now_ms, sequence)
    payload["token"] = "replay-" + secrets.token_urlsafe(24)
    return json.dumps(payload, separators=(",", ":")).encode()


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any] | None:
    try:
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw
            )
            for part in message.iter_parts():
                if part.get_param("name", header="content-disposition") == "payload_json":
                    raw = bytes(part.get_payload(decode=True))
                    break
            else:
                return None
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def send(client: httpx.Client, url: str, key: SigningKey, body: bytes) -> Answer:
    headers = signed_headers(key, body)
    started = time.perf_counter()
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(0, (time.perf_counter() - started) * 1000, error=type(exc).__name__)
    latency = (time.perf_counter() - started) * 1000
    return Answer(
        response.status_code,
        latency,
        _parse_body(response.headers.get("content-type", ""), response.content),
    )


@dataclass(slots=True)
class ReplayReport:
    old_url: str
    new_url: str
    comparisons: list[Comparison]

    def count(self, verdict: Verdict) -> int:
        return sum(1 for c in self.comparisons if c.has(verdict))

    @property
    def regressions(self) -> int:
        return self.count(Verdict.REGRESSION)

    def render(self) -> str:
        lines = [f"replay: old {self.old_url}  new {self.new_url}"]
        width = max((len(c.label) for c in self.comparisons), default=0)
        for c in self.comparisons:
            lines.append(
                f"#{c.index:<3} {c.label:<{width}}  old {c.old.describe()} | new {c.new.describe()}"
            )
            lines += [f"       {d.verdict.value}: {d.what}: {d.detail}" for d in c.differences]
        same = sum(1 for c in self.comparisons if not c.differences)
        lines.append(
            f"{len(self.comparisons)} interactions: {same} identical, "
            f"{self.count(Verdict.CHANGE)} changed, {self.count(Verdict.IMPROVEMENT)} improved, "
            f"{self.regressions} regressed"
        )
        lines.append(
            "latency ms: old "
            + _stats([c.old.latency_ms for c in self.comparisons])
            + " | new "
            + _stats([c.new.latency_ms for c in self.comparisons])
        )
        lines.append("result: " + ("REGRESSED" if self.regressions else "no regression"))
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        def answer(a: Answer) -> dict[str, Any]:
            return {
                "status": a.status,
                "type": a.type,
                "ephemeral": a.ephemeral,
                "latency_ms": round(a.latency_ms, 3),
                "error": a.error,
            }

        return {
            "old": self.old_url,
            "new": self.new_url,
            "regressions": self.regressions,
            "interactions": [
                {
                    "index": c.index,
                    "label": c.label,
                    "old": answer(c.old),
                    "new": answer(c.new),
                    "differences": [
                        {"verdict": d.verdict.value, "what": d.what, "detail": d.detail}
                        for d in c.differences
                    ],
                }
                for c in self.comparisons
            ],
        }


def _stats(values: Sequence[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.1f} p95 {p95:.1f} max {ordered[-1]:.1f}"


def replay(
    corpus: Sequence[dict[str, Any]],
    *,
    old_url: str,
    new_url: str,
    key: SigningKey,
    timeout_s: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> ReplayReport:
    """Send every interaction to both endpoints and compare the answers."""
    comparisons = []
    sequence = itertools.count()
    with httpx.Client(timeout=timeout_s, transport=transport) as client:
        for index, interaction in enumerate(corpus, 1):
            body = fresh(interaction, int(time.time() * 1000), next(sequence))
            if index % 2:
                old = send(client, old_url, key, body)
                new = send(client, new_url, key, body)
            else:
                new = send(client, new_url, key, body)
                old = send(client, old_url, key, body)
            comparisons.append(Comparison(index, label(interaction), old, new, compare(old, new)))
    return ReplayReport(old_url, new_url, comparisons)


__all__ = [
    "Answer",
    "Comparison",
    "Difference",
    "ReplayError",
    "ReplayReport",
    "Verdict",
    "compare",
    "fresh",
    "label",
    "load_corpus",
    "load_key",
    "replay",
]
