"""Hostile requests for the fuzz suite (tests/hostile) and the fuzz and soak benchmarks.

- :func:`seeds`: one real interaction for every registered command, autocompleted option,
  component and modal, built from the registry (so a new handler is fuzzed without edits).
- :class:`Mutator`: seeded mutations of a seed: hostile leaves (huge strings and numbers,
  wrong types, mentions, control characters), deep nesting, floods of options, odd ids and
  custom_ids, invalid UTF-8 and cut bodies — signed afterwards, so they reach the decoder —
  and odd HTTP: bad or missing signature headers, odd content types, chunked bodies,
  duplicate headers, wrong methods and paths, hand-overs with a valid HMAC.
- :class:`RawClient`: HTTP/1.1 over one socket, byte for byte as written (httpx would refuse
  or repair most of the odd requests).
- :func:`check`: what every answer must satisfy: no 5xx, an answer at all, a clean error
  body, and a reply within Discord's limits.

Everything is deterministic for a given seed (``random.Random(seed)``); interaction ids
are fresh so the replay memory does not turn the cases into 409s.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import random
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import nacl.signing

from catalyst_interactions.discord.enums import CommandType, OptionType
from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.framework.registry import (
    CommandSpec,
    ComponentSpec,
    ModalSpec,
    Registry,
)

# Replies are checked with the local Discord's own reading of Discord's rules (as the tests do).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.discord_rules import answer_problems

OVERSIZED = 1024 * 1024
"""Bodies above the server's default cap (CATALYST_MAX_BODY_BYTES)."""
ERROR_BODY_MAX = 1024
"""An error answer (4xx) is a short JSON object; anything longer quotes input."""

# --- seeds ---------------------------------------------------------------------------------

# Plausible values for custom_id fields and options, tried in order until a template or an
# option accepts one.
FIELD_VALUES: dict[str, tuple[str, ...]] = {
    "ticker": ("AAPL", "MSFT"),
    "a": ("AAPL",),
    "b": ("MSFT",),
    "tf": ("1D", "5D", "1M", "3M", "1Y"),
    "ind": ("0", "1", "3"),
    "action": ("approve", "reject"),
}
OPTION_VALUES: dict[str, Any] = {
    "ticker": "AAPL",
    "ticker1": "AAPL",
    "ticker2": "MSFT",
    "timeframe": "1D",
    "indicators": "vwap",
    "period": "7d",
    "parameter": "min_score",
    "value": "0.6",
    "reason": "fuzz",
    "question": "What moved it?",
    "command": "chart",
    "days": 30,
    "limit": 5,
    "change_id": 1,
}
MODAL_VALUES = {"min_score": "0.6", "max_alerts_per_hour": "12", "reason": "fuzz"}


@dataclass(frozen=True)
class Seed:
    kind: str  # command, autocomplete, component, modal
    key: str  # the handler key it reaches
    payload: dict[str, Any]


def _member(user_id: str, *, admin: bool) -> dict[str, Any]:
    return {
        "user": {"id": user_id, "username": "fuzzer", "global_name": "Fuzzer"},
        "roles": [],
        "permissions": str(1 << 3) if admin else "0",
        "joined_at": "2024-01-01T00:00:00+00:00",
    }


def _base(type_: int, data: dict[str, Any], application_id: str) -> dict[str, Any]:
    return {
        "id": "0",  # replaced by a fresh snowflake for every case
        "application_id": application_id,
        "type": type_,
        "token": "aW50ZXJhY3Rpb246" + "f" * 64,
        "version": 1,
        "data": data,
        "guild_id": "500",
        "channel_id": "600",
        "app_permissions": "2147483647",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": "500"},
        "context": 0,
    }


def _option_value(spec: Any) -> Any:
    if spec.choices:
        return spec.choices[0][1]
    if spec.name in OPTION_VALUES:
        return OPTION_VALUES[spec.name]
    if spec.type is OptionType.INTEGER:
        return int(spec.min_value or 1)
    if spec.type is OptionType.NUMBER:
        return float(spec.min_value or 1)
    if spec.type is OptionType.BOOLEAN:
        return True
    return "AAPL"


def _command_data(spec: CommandSpec, *, focused: str | None = None) -> dict[str, Any]:
    options: list[dict[str, Any]] = []
    for opt in spec.options:
        if not opt.required and focused is None and opt.name not in OPTION_VALUES:
            continue
        item: dict[str, Any] = {"name": opt.name, "type": int(opt.type)}
        item["value"] = "AA" if opt.name == focused else _option_value(opt)
        if opt.name == focused:
            item["focused"] = True
        options.append(item)
    for name in reversed(spec.path[1:]):  # subcommand (and group) wrappers
        kind = OptionType.SUB_COMMAND if not options or options[0].get("type") != 1 else None
        options = [
            {"name": name, "type": int(kind or OptionType.SUB_COMMAND_GROUP), "options": options}
        ]
    return {"id": "900", "name": spec.path[0], "type": int(spec.kind), "options": options}


def _custom_id(spec: ComponentSpec | ModalSpec, report_id: str) -> str | None:
    template = spec.template
    choices = [FIELD_VALUES.get(name, (report_id,)) for name in template.fields]
    for combo in itertools.product(*choices):
        try:
            return template.build(**dict(zip(template.fields, combo, strict=True)))
        except ValueError:
            continue
    return None


def _message(application_id: str, custom_id: str) -> dict[str, Any]:
    """The message a component sits on, as Discord includes it."""
    return {
        "id": "700",
        "channel_id": "600",
        "type": 20,
        "content": "",
        "author": {"id": application_id, "username": "Catalyst", "bot": True},
        "embeds": [{"title": "AAPL · 1D", "image": {"url": "attachment://chart.png"}}],
        "components": [
            {
                "type": 1,
                "components": [{"type": 2, "style": 2, "label": "1D", "custom_id": custom_id}],
            }
        ],
        "attachments": [],
        "flags": 0,
        "timestamp": "2026-01-01T00:00:00+00:00",
    }


def seeds(
    registry: Registry, *, application_id: str, user_id: str, admin: bool, report_id: str
) -> list[Seed]:
    """A real interaction for every handler of ``registry``; raises if one has none."""
    out: list[Seed] = []
    missing: list[str] = []
    member = _member(user_id, admin=admin)
    for spec in registry.handlers():
        if isinstance(spec, CommandSpec):
            if spec.kind is not CommandType.CHAT_INPUT:
                missing.append(spec.key)  # no context-menu commands today; add when there are
                continue
            payload = _base(2, _command_data(spec), application_id) | {"member": member}
            out.append(Seed("command", spec.key, payload))
            for opt in spec.options:
                if opt.autocomplete:
                    data = _command_data(spec, focused=opt.name)
                    payload = _base(4, data, application_id) | {"member": member}
                    out.append(Seed("autocomplete", f"{spec.key}/{opt.name}", payload))
        elif isinstance(spec, ComponentSpec):
            custom_id = _custom_id(spec, report_id)
            if custom_id is None:
                missing.append(spec.key)
                continue
            is_menu = ":ind:" in custom_id
            data: dict[str, Any] = {"custom_id": custom_id, "component_type": 3 if is_menu else 2}
            if is_menu:
                data["values"] = ["vwap", "sma20"]
            payload = _base(3, data, application_id) | {
                "member": member,
                "message": _message(application_id, custom_id),
            }
            out.append(Seed("component", spec.key, payload))
        elif isinstance(spec, ModalSpec):
            custom_id = _custom_id(spec, report_id)
            if custom_id is None:
                missing.append(spec.key)
                continue
            fields = [
                {"type": 18, "component": {"type": 4, "custom_id": k, "value": v}}
                for k, v in MODAL_VALUES.items()
            ]
            payload = _base(5, {"custom_id": custom_id, "components": fields}, application_id)
            out.append(Seed("modal", spec.key, payload | {"member": member}))
    if missing:
        raise ValueError(f"no seed interaction for handlers {missing}")
    return out


# --- mutations -----------------------------------------------------------------------------

HUGE_INT_TEXT = "9" * 5000
HOSTILE_STRINGS = (
    "",
    " ",
    "x" * 101,
    "y" * 2001,
    "z" * 6001,
    "w" * 100_000,
    "`" * 300,
    "@everyone @here <@1> <@&2> <#3>",
    "\u202e\u200b\ufeff" * 50,
    "\x00\x01\x1f",
    "🔥" * 3000,
    "\ud800",
    "../../../../etc/passwd",
    "%00%ff%2e%2e",
    "a:b:c:d:e:f",
    "AAPL" + ":" * 90,
    "\n" * 500,
    "$AAPL",
    "null",
)
HOSTILE_NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**64,
    -(2**70),
    10**30,
    1e308,
    -1e308,
    5e-324,
    0.1,
)
_CHUNKED = b"POST /interactions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
DEPTHS = (10, 31, 32, 33, 64, 500, 990, 5000, 60_000)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    if path:
        yield path


def _containers(node: Any) -> Iterator[dict[str, Any] | list[Any]]:
    if isinstance(node, dict | list):
        yield node
        for value in node.values() if isinstance(node, dict) else node:
            yield from _containers(value)


def _set(root: Any, path: tuple[Any, ...], value: Any) -> None:
    node = root
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path:
        node = node[step]
    return node


@dataclass
class Case:
    """One request: what to send, and how it was made (for the report of a failure)."""

    label: str
    method: bytes
    path: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    chunked: bool = False
    raw: bytes | None = None  # sent as is, instead of a request built from the fields

    def describe(self) -> str:
        path = self.path.decode("latin-1")[:80]
        method = self.method.decode("latin-1")[:10]
        return f"{self.label}: {method} {path} ({len(self.body)} B)"


@dataclass
class Mutator:
    """Seeded cases from ``seeds``, signed with ``key`` (and the hand-over secret, if any)."""

    seeds: list[Seed]
    key: nacl.signing.SigningKey
    rng: random.Random
    handover_secret: bytes | None = None
    clock: Callable[[], float] = time.time
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> str:
        return make_snowflake(int(self.clock() * 1000), next(self._counter))

    # -- payload mutations ----------------------------------------------------------------
    def _hostile_value(self) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            return rng.choice(HOSTILE_STRINGS)
        if roll < 0.75:
            return rng.choice(HOSTILE_NUMBERS)
        return rng.choice([None, True, False, [], {}, [1, "a", None], {"a": {"b": [1]}}])

    def mutate(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any] | bytes]:
        """A mutated copy of ``payload`` (its id made fresh first), or raw bytes."""
        rng = self.rng
        out = copy.deepcopy(payload)
        out["id"] = self.new_id()
        op = rng.choice(self._OPS)
        return op.__name__.lstrip("_"), op(self, out)

    def _leaf(self, p: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self.rng.randint(1, 3)):
            paths = [x for x in _leaves(p) if x != ("id",)]
            _set(p, self.rng.choice(paths), self._hostile_value())
        return p

    def _drop_key(self, p: dict[str, Any]) -> dict[str, Any]:
        dicts = [c for c in _containers(p) if isinstance(c, dict) and c]
        target = self.rng.choice(dicts)
        target.pop(self.rng.choice(list(target)))
        return p

    def _add_key(self, p: dict[str, Any]) -> dict[str, Any]:
        dicts = [c for c in _containers(p) if isinstance(c, dict)]
        key = self.rng.choice(["x", "resolved", "options", "values", "focused", "z" * 300])
        self.rng.choice(dicts)[key] = self._hostile_value()
        return p

    def _nest(self, p: dict[str, Any]) -> bytes:
        depth = self.rng.choice(DEPTHS)
        where = self.rng.choice(["data", "message", "member", "zz", "options", "components"])
        opener, closer = ("[", "]") if self.rng.random() < 0.5 else ('{"a":', "}")
        deep = (opener * depth + "1" + closer * depth).encode()
        if where in ("options", "components") and isinstance(p.get("data"), dict):
            data = p["data"]
            data[where] = "__DEEP__"
        else:
            p[where] = "__DEEP__"
        return json.dumps(p).encode().replace(b'"__DEEP__"', deep)

    def _ids(self, p: dict[str, Any]) -> dict[str, Any]:
        target = self.rng.choice(["id", "application_id", "token", "guild_id", "channel_id"])
        p[target] = self.rng.choice(
            [
                "",
                "-1",
                "1e9",
                "0x10",
                "9" * 21,
                "9" * 5000,
                "a/../b",
                "tok en",
                "x" * 501,
                "x" * 100_000,
                12345,
                None,
                ["1"],
                "١٢٣",  # Arabic-Indic digits: str.isdigit() accepts them, Discord never sends them
            ]
        )
        return p

    def _types(self, p: dict[str, Any]) -> dict[str, Any]:
        value = self.rng.choice([-1, 0, 1, 2, 3, 4, 5, 6, 99, 2**40, "2", 2.5, None])
        if self.rng.random() < 0.5 or not isinstance(p.get("data"), dict):
            p["type"] = value
        else:
            p["data"][self.rng.choice(["type", "component_type"])] = value
        return p

    def _flood(self, p: dict[str, Any]) -> dict[str, Any]:
        data = p.get("data")
        if not isinstance(data, dict):
            return self._leaf(p)
        n = self.rng.choice([26, 100, 2000])
        roll = self.rng.random()
        if roll < 0.3:
            data["options"] = [
                {"name": f"o{i}", "type": 3, "value": "x" * self.rng.choice([1, 500])}
                for i in range(n)
            ]
        elif roll < 0.5:
            chain: list[dict[str, Any]] = []
            for i in range(self.rng.choice([3, 10, 25])):
                chain = [{"name": f"s{i}", "type": 1 + i % 2, "options": chain}]
            data["options"] = chain
        elif roll < 0.7:
            data["values"] = ["v" * self.rng.choice([1, 100, 7000]) for _ in range(n)]
        elif roll < 0.85:
            users = {str(10**17 + i): {"id": str(10**17 + i), "username": "u"} for i in range(n)}
            data["resolved"] = {"users": users, "members": {k: {"roles": []} for k in users}}
        else:
            data["components"] = [
                {"type": 18, "component": {"type": 4, "custom_id": f"f{i}", "value": "x" * 4000}}
                for i in range(min(n, 200))
            ]
        return p

    def _custom_ids(self, p: dict[str, Any]) -> dict[str, Any]:
        data = p.get("data")
        if not isinstance(data, dict) or "custom_id" not in data:
            return self._leaf(p)
        cid = str(data["custom_id"])
        prefix = cid.rsplit(":", 1)[0] if ":" in cid else cid.rsplit("_", 1)[0]
        data["custom_id"] = self.rng.choice(
            [
                prefix + ":" + "Z" * self.rng.choice([1, 60, 99, 200, 5000]),
                prefix + "_" + "9" * 80,
                cid + ":extra",
                cid.upper(),
                cid[: self.rng.randint(0, len(cid))],
                prefix + ":" + self.rng.choice(HOSTILE_STRINGS),
                "chart:v1:" + "A" * 12 + ":1D:ffff",
                "admin:v1:approve:" + "r" * 64,
                "admin_approve_" + "_" * 86,
                "",
            ]
        )
        return p

    def _mentions(self, p: dict[str, Any]) -> dict[str, Any]:
        text = self.rng.choice(HOSTILE_STRINGS[6:11]) * self.rng.choice([1, 20])
        for path in _leaves(p):
            if isinstance(_get(p, path), str) and path[-1] in ("value", "name", "content"):
                _set(p, path, text)
        return p

    _OPS: ClassVar[tuple[Callable[[Mutator, dict[str, Any]], dict[str, Any] | bytes], ...]] = (
        _leaf,
        _leaf,
        _drop_key,
        _add_key,
        _nest,
        _ids,
        _types,
        _flood,
        _custom_ids,
        _custom_ids,
        _mentions,
    )

    def _encode(self, payload: dict[str, Any] | bytes) -> bytes:
        if isinstance(payload, bytes):
            return payload
        # surrogatepass: a lone surrogate becomes bytes that are not UTF-8, as a client may send
        return json.dumps(payload, ensure_ascii=self.rng.random() < 0.5).encode(
            "utf-8", "surrogatepass"
        )

    def _byte_damage(self, body: bytes) -> tuple[str, bytes]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            at = rng.randint(0, len(body))
            junk = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80" * 9])
            return "invalid_utf8", body[:at] + junk + body[at:]
        if roll < 0.45:
            return "cut", body[: rng.randint(0, len(body))]
        if roll < 0.6:
            return "duplicate_keys", body.replace(b'"type":', b'"type": 1, "type":', 1)
        if roll < 0.7:
            return "padding", b"\xef\xbb\xbf" + b" " * rng.choice([0, 10_000]) + body
        if roll < 0.8:
            return "huge_number", body.replace(
                b'"version": 1', b'"version": ' + HUGE_INT_TEXT.encode(), 1
            )
        if roll < 0.9:
            return "not_an_object", rng.choice([b"[]", b"null", b'"x"', b"1" * 400, b"{}", b""])
        return "nul", body.replace(b",", b",\x00", 1)

    # -- requests -------------------------------------------------------------------------
    def signed_headers(
        self, body: bytes, *, timestamp: str | None = None
    ) -> list[tuple[bytes, bytes]]:
        ts = timestamp or str(int(self.clock()))
        signature = self.key.sign(ts.encode() + body).signature.hex()
        return [
            (b"X-Signature-Ed25519", signature.encode()),
            (b"X-Signature-Timestamp", ts.encode()),
            (b"Content-Type", b"application/json"),
        ]

    def case(self) -> Case:
        rng = self.rng
        seed = rng.choice(self.seeds)
        roll = rng.random()
        if roll < 0.08:  # a real seed, unchanged but for a fresh id: the happy path runs too
            payload = copy.deepcopy(seed.payload) | {"id": self.new_id()}
            body = json.dumps(payload).encode()
            return Case(
                f"seed {seed.key}", b"POST", b"/interactions", self.signed_headers(body), body
            )
        label, mutated = self.mutate(seed.payload)
        body = self._encode(mutated)
        label = f"{label} of {seed.key}"
        if rng.random() < 0.15:
            damage, body = self._byte_damage(body)
            label = f"{damage} {label}"
        roll = rng.random()
        if roll < 0.62:
            return Case(label, b"POST", b"/interactions", self.signed_headers(body), body)
        if roll < 0.72:
            chunked = Case(
                label + " chunked",
                b"POST",
                b"/interactions",
                self.signed_headers(body),
                body,
                chunked=True,
            )
            return chunked
        if roll < 0.8 and self.handover_secret is not None:
            return self.handover(body, label)
        return self.odd_http(body, label)

    def handover(self, body: bytes, label: str) -> Case:
        assert self.handover_secret is not None
        rng = self.rng
        ack = rng.choice(
            [
                b'{"type":5}',
                b'{"type":6}',
                b'{"type":5,"data":{"flags":64}}',
                b'{"type":4}',
                b"[[[[[[[[",
                b"\xff",
                b"{" * 3000,
            ]
        )
        hop_ts = (
            str(int(self.clock())) if rng.random() < 0.8 else rng.choice(["9" * 40, "-5", "x", "1"])
        )
        digest = hashlib.sha256(body).hexdigest()
        message = f"{hop_ts}.{ack.decode('ascii', 'replace')}.{digest}".encode()
        signature = hmac.new(self.handover_secret, message, hashlib.sha256).hexdigest()
        headers = [
            *self.signed_headers(body),
            (b"X-Catalyst-Ack", ack),
            (b"X-Catalyst-Handover-Timestamp", hop_ts.encode()),
            (b"X-Catalyst-Handover-Signature", signature.encode()),
        ]
        return Case(f"handover {label}", b"POST", b"/handover", headers, body)

    def odd_http(self, body: bytes, label: str) -> Case:
        rng = self.rng
        headers = self.signed_headers(body)
        kind = rng.randrange(12)
        if kind == 0:
            headers[0] = (
                b"X-Signature-Ed25519",
                rng.choice(
                    [
                        b"",
                        b"zz" * 64,
                        b"\xff" * 128,
                        b"00 " * 42 + b"00",
                        headers[0][1][:-2] + b"00",
                    ]
                ),
            )
        elif kind == 1:
            headers[1] = (
                b"X-Signature-Timestamp",
                rng.choice(
                    [
                        b"",
                        b"-1",
                        b"1e9",
                        b"9" * 30,
                        b"9" * 5000,
                        b"\xff\xfe",
                        str(int(self.clock()) + 10_000).encode(),
                    ]
                ),
            )
        elif kind == 2:
            headers = headers[rng.randrange(2) :][:1] + headers[2:]
        elif kind == 3:
            headers.append((b"x-signature-ed25519", b"00" * 64))  # a second, lower-case copy
        elif kind == 4:
            headers[2] = (
                b"Content-Type",
                rng.choice(
                    [b"text/plain", b"application/json; charset=latin-1", b"\xff", b"x" * 8000]
                ),
            )
        elif kind == 5:
            headers += [
                (f"X-Junk-{i}".encode(), b"v" * rng.choice([1, 100]))
                for i in range(rng.choice([50, 90]))
            ]
        elif kind == 6:
            headers.append((b"X-Long", b"v" * rng.choice([4000, 60_000])))
        elif kind == 7:
            method = rng.choice([b"GET", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"HEAD", b"BREW"])
            return Case(
                f"method {method.decode()} {label}",
                method,
                b"/interactions",
                headers,
                body if method != b"HEAD" else b"",
            )
        elif kind == 8:
            path = rng.choice(
                [
                    b"/interactions?x=" + b"1" * 3000,
                    b"/interactions/",
                    b"//interactions",
                    b"/%ff%fe",
                    b"/interactions#x",
                    b"/" + b"a" * 5000,
                    b"/handover",
                    b"/metrics?x=1",
                ]
            )
            return Case(f"path {label}", b"POST", path, headers, body)
        elif kind == 9:
            cl = rng.choice(
                [
                    b"9" * 30,
                    b"-1",
                    b"1e3",
                    b"0x10",
                    str(max(len(body) - 5, 0)).encode(),
                    b"99999999999999999999",
                ]
            )
            raw = (
                b"POST /interactions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
                + b"Content-Length: "
                + cl
                + b"\r\n\r\n"
                + body
            )
            return Case(
                f"content-length {cl[:12].decode()} {label}",
                b"POST",
                b"/interactions",
                headers,
                body,
                raw=raw,
            )
        elif kind == 10:
            raw = rng.choice(
                [
                    _CHUNKED + b"zz\r\n",
                    _CHUNKED.replace(b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n") + b"0\r\n\r\n",
                    b"POST /interactions HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}",
                    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
                    b"POST /interactions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}" * 3,
                    b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
                    _CHUNKED + b"1;ext=" + b"e" * 3000 + b"\r\n{\r\n0\r\n\r\n",
                ]
            )
            method, path = [*raw.split(b" ", 2), b"", b""][:2]
            return Case(f"raw {label}", method, path, [], b"", raw=raw)
        else:
            headers[1] = (b"X-Signature-Timestamp", str(int(self.clock()) - 3600).encode())
            headers[0] = (
                b"X-Signature-Ed25519",
                self.key.sign(headers[1][1] + body).signature.hex().encode(),
            )
        return Case(f"odd headers {kind} {label}", b"POST", b"/interactions", headers, body)


# --- a raw HTTP/1.1 client -----------------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: the server closed the connection without an answer
    headers: dict[bytes, bytes]
    body: bytes
    seconds: float


class RawClient:
    """Keep-alive HTTP/1.1 over one socket; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, timeout_s: float = 30.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._buffer = b""

    def _connect(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._sock

    @staticmethod
    def encode(case: Case, host: bytes) -> bytes:
        if case.raw is not None:
            return case.raw
        lines = [case.method + b" " + case.path + b" HTTP/1.1", b"Host: " + host]
        lines += [k + b": " + v for k, v in case.headers]
        if case.chunked:
            lines.append(b"Transfer-Encoding: chunked")
            chunks, rest, size = [], case.body, 1
            while rest:
                chunks.append(b"%x\r\n%s\r\n" % (len(rest[:size]), rest[:size]))
                rest, size = rest[size:], min(size * 3, 65_536)
            return b"\r\n".join(lines) + b"\r\n\r\n" + b"".join(chunks) + b"0\r\n\r\n"
        lines.append(b"Content-Length: %d" % len(case.body))
        return b"\r\n".join(lines) + b"\r\n\r\n" + case.body

    def send(self, case: Case) -> Answer:
        request = self.encode(case, f"{self.host}:{self.port}".encode())
        started = time.perf_counter()
        for _ in range(2):
            reused = self._sock is not None
            sock = self._connect()
            try:
                sock.sendall(request)
                answer = self._read(case.method == b"HEAD")
            except (OSError, ValueError, IndexError):
                self.close()
                if reused and case.raw is None:
                    continue  # a kept-alive socket the server had closed: one fresh try
                return Answer(0, {}, b"", time.perf_counter() - started)
            if answer.headers.get(b"connection", b"").lower() == b"close" or case.raw is not None:
                self.close()
            answer.seconds = time.perf_counter() - started
            return answer
        return Answer(0, {}, b"", time.perf_counter() - started)

    def _recv(self) -> bytes:
        assert self._sock is not None
        data = self._sock.recv(65_536)
        if not data:
            raise ConnectionResetError("closed")
        return data

    def _read(self, head_only: bool) -> Answer:
        while b"\r\n\r\n" not in self._buffer:
            self._buffer += self._recv()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.split(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[bytes, bytes] = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_only else int(headers.get(b"content-length", b"0"))
        while len(self._buffer) < length:
            self._buffer += self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return Answer(status, headers, body, 0.0)


# --- checks --------------------------------------------------------------------------------


@dataclass
class Tally:
    """What a run saw; the goal is zero in every problem column."""

    cases: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    over_limit: list[str] = field(default_factory=list)
    bad_errors: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    closed_early: int = 0
    """Connections closed while an oversized or non-HTTP request was still being sent."""

    def problems(self) -> list[str]:
        return self.server_errors + self.over_limit + self.bad_errors + self.slow

    def merge(self, other: Tally) -> None:
        self.cases += other.cases
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n
        self.server_errors += other.server_errors
        self.over_limit += other.over_limit
        self.bad_errors += other.bad_errors
        self.slow += other.slow
        self.slowest_s = max(self.slowest_s, other.slowest_s)
        self.closed_early += other.closed_early


def _reply_json(answer: Answer) -> Any:
    content_type = answer.headers.get(b"content-type", b"")
    if content_type.startswith(b"multipart/form-data"):
        marker = b'name="payload_json"'
        start = answer.body.index(marker)
        part = answer.body[start:].split(b"\r\n\r\n", 1)[1]
        return json.loads(part.split(b"\r\n--", 1)[0])
    return json.loads(answer.body)


def check(case: Case, answer: Answer, tally: Tally, *, slow_s: float) -> None:
    """Count ``answer`` in ``tally``; a problem is kept with the case that caused it."""
    tally.cases += 1
    tally.by_status[answer.status] = tally.by_status.get(answer.status, 0) + 1
    tally.slowest_s = max(tally.slowest_s, answer.seconds)
    what = case.describe()
    if answer.seconds > slow_s:
        tally.slow.append(f"{answer.seconds:.2f} s for {what}")
    if answer.status >= 500:
        tally.server_errors.append(f"{answer.status} {answer.body[:300]!r} for {what}")
        return
    if b"Traceback" in answer.body:
        tally.bad_errors.append(f"traceback in the answer to {what}")
    if answer.status == 0:
        # The server may close a connection without an answer when the bytes were not HTTP
        # at all (a TLS hello), or refuse a body over the 1 MiB cap (413, or 400 for framing it
        # cannot parse) and close while the client is still sending it: the reset then
        # swallows the answer. Everything else deserves a status.
        if (case.raw or b"").startswith(b"\x16") or len(case.raw or case.body) > OVERSIZED:
            tally.closed_early += 1
        else:
            tally.bad_errors.append(f"no answer to {what}")
        return
    if 400 <= answer.status < 500:
        if len(answer.body) > ERROR_BODY_MAX:
            tally.bad_errors.append(f"{len(answer.body)}-byte error body for {what}")
        return
    if answer.status == 200 and case.path in (b"/interactions",) and case.method == b"POST":
        try:
            reply = _reply_json(answer)
        except (ValueError, IndexError) as exc:
            tally.over_limit.append(f"unreadable reply ({exc}) to {what}")
            return
        try:
            interaction = json.loads(case.body)  # the edge accepted it: an interaction
        except ValueError:
            tally.over_limit.append(f"a reply to a body that is not JSON: {what}")
            return
        problems = answer_problems(reply, interaction)
        if problems:
            tally.over_limit.append(f"{problems[:3]} in the reply to {what}")


def fuzz(client: RawClient, mutator: Mutator, n: int, *, slow_s: float) -> Tally:
    tally = Tally()
    for _ in range(n):
        case = mutator.case()
        check(case, client.send(case), tally, slow_s=slow_s)
    return tally
