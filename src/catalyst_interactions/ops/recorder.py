"""Opt-in recording of received interactions, for replaying them against a new endpoint.

Enabled by ``CATALYST_RECORD_PATH``: every verified, non-PING interaction is appended to
that file as one JSON line, ``{"v": 1, "corpus": …, "recorded_at": …, "interaction": …}``.
Before it is written, the interaction loses what identifies a person or grants access:

- the interaction token (a credential for 15 minutes) becomes ``"REDACTED"``;
- every user id — the member's or user's, message authors and mentions, resolved users and
  guild members (the map keys too), USER/MENTIONABLE option values, user and mentionable
  select values (in messages and in forms), the target of a user command, user-install
  owners, entitlements — becomes a pseudonym id, and ``<@id>`` mentions follow wherever
  text appears: message text, embeds, string options (autocomplete too), string select
  values and form fields;
- usernames, global names and member nicknames become ``user<n>`` / ``User <n>`` /
  ``nick<n>``; avatars, banners and join dates are dropped.

Pseudonyms are consistent within a corpus: one recorder instance (one process run), named
by the random ``corpus`` id on each line. The mapping lives in memory only and is never
written, so a corpus cannot be turned back into real identities. Roles, channels, guilds,
permissions and option values other than users are kept: handlers' behaviour depends on
them and they identify no one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from ..discord.enums import OptionType
from ..discord.payloads import Interaction
from ..fileperms import private_dir

log = logging.getLogger("catalyst_interactions.recorder")

RECORD_VERSION = 1
REDACTED_TOKEN = "REDACTED"  # noqa: S105 - the placeholder, not a secret
_PSEUDONYM_BASE = 100_000_000_000_000_000  # 18 digits, shaped like a snowflake
_MEMBER_KEEP = (
    "roles",
    "permissions",
    "flags",
    "pending",
    "deaf",
    "mute",
    "communication_disabled_until",
)
_MENTION = re.compile(r"<@!?(\d+)>")
_USER_INSTALL = "1"
_USER_COMMAND = 2
_USER_SELECT = 5
_MENTIONABLE_SELECT = 7


class Pseudonyms:
    """Consistent replacements for one corpus: the n-th distinct user is user n.

    The map is bounded: the first ``max_entries`` distinct users are numbered in order
    (about 130 bytes each, so 100,000 users cost ~13 MB); any later user gets a number
    derived from a keyed hash of the id, with a key made for this corpus and never written.
    That stays consistent within the corpus and costs no memory, so a flood of made-up user
    ids cannot grow the recorder.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._index: dict[str, int] = {}
        self._max_entries = max_entries
        self._key = secrets.token_bytes(32)

    def number(self, user_id: str) -> int:
        known = self._index.get(user_id)
        if known is not None:
            return known
        if len(self._index) < self._max_entries:
            n = self._index[user_id] = len(self._index) + 1
            return n
        digest = hashlib.blake2b(user_id.encode(), key=self._key, digest_size=8).digest()
        return self._max_entries + 1 + int.from_bytes(digest) % 10**15

    def user_id(self, user_id: str) -> str:
        return str(_PSEUDONYM_BASE + self.number(user_id))

    def user(self, user: Any) -> Any:
        if not isinstance(user, dict):
            return user
        n = self.number(str(user.get("id", "")))
        out: dict[str, Any] = {
            "id": str(_PSEUDONYM_BASE + n),
            "username": f"user{n}",
            "discriminator": "0",
        }
        if user.get("global_name") is not None:
            out["global_name"] = f"User {n}"
        if user.get("bot"):
            out["bot"] = True
        return out

    def member(self, member: Any, user_id: str | None = None) -> Any:
        if not isinstance(member, dict):
            return member
        out = {k: member[k] for k in _MEMBER_KEEP if k in member}
        user = member.get("user")
        if isinstance(user, dict):
            out["user"] = self.user(user)
            user_id = str(user.get("id", user_id or ""))
        if member.get("nick") is not None:
            out["nick"] = f"nick{self.number(user_id or '')}"
        return out

    def text(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return _MENTION.sub(lambda m: f"<@{self.user_id(m.group(1))}>", text)

    def message(self, message: Any) -> Any:
        if not isinstance(message, dict):
            return message
        out = dict(message)
        if "author" in out:
            out["author"] = self.user(out["author"])
        if isinstance(out.get("mentions"), list):
            out["mentions"] = [self.user(u) for u in out["mentions"]]
        for key in ("interaction_metadata", "interaction"):
            meta = out.get(key)
            if isinstance(meta, dict):
                meta = dict(meta)
                if "user" in meta:
                    meta["user"] = self.user(meta["user"])
                if "member" in meta:
                    meta["member"] = self.member(meta["member"])
                meta.pop("authorizing_integration_owners", None)
                out[key] = meta
        if "content" in out:
            out["content"] = self.text(out["content"])
        # Mentions hide in every text a message carries: embeds (a report's "Approved by
        # <@…>"), components (V2 text displays), a target user.
        for key in ("embeds", "components"):
            if key in out:
                out[key] = self._texts(out[key])
        meta = out.get("interaction_metadata")
        if isinstance(meta, dict) and "target_user" in meta:
            out["interaction_metadata"] = {**meta, "target_user": self.user(meta["target_user"])}
        return out

    def _texts(self, value: Any) -> Any:
        """Every string inside ``value`` with its mentions pseudonymised."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._texts(v) for v in value]
        if isinstance(value, dict):
            return {k: self._texts(v) for k, v in value.items()}
        return value

    def interaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A copy of a raw interaction payload without tokens or user identifiers."""
        out = dict(payload)
        if "token" in out:
            out["token"] = REDACTED_TOKEN
        if "member" in out:
            out["member"] = self.member(out["member"])
        if "user" in out:
            out["user"] = self.user(out["user"])
        if "message" in out:
            out["message"] = self.message(out["message"])
        channel = out.get("channel")
        if isinstance(channel, dict) and isinstance(channel.get("recipients"), list):
            # DMs and group DMs name their members.
            out["channel"] = {
                **channel,
                "recipients": [self.user(u) for u in channel["recipients"]],
            }
        owners = out.get("authorizing_integration_owners")
        if isinstance(owners, dict) and _USER_INSTALL in owners:
            out["authorizing_integration_owners"] = {
                **owners,
                _USER_INSTALL: self.user_id(str(owners[_USER_INSTALL])),
            }
        if isinstance(out.get("entitlements"), list):
            out["entitlements"] = [
                {**e, "user_id": self.user_id(str(e["user_id"]))}
                if isinstance(e, dict) and e.get("user_id")
                else e
                for e in out["entitlements"]
            ]
        if isinstance(out.get("data"), dict):
            out["data"] = self._data(out["data"])
        return out

    def _data(self, data: dict[str, Any]) -> dict[str, Any]:
        out = dict(data)
        resolved = out.get("resolved")
        user_ids: set[str] = set()
        if isinstance(resolved, dict):
            resolved = dict(resolved)
            users = resolved.get("users")
            if isinstance(users, dict):
                user_ids |= set(users)
                resolved["users"] = {self.user_id(k): self.user(v) for k, v in users.items()}
            members = resolved.get("members")
            if isinstance(members, dict):
                user_ids |= set(members)
                resolved["members"] = {
                    self.user_id(k): self.member(v, k) for k, v in members.items()
                }
            messages = resolved.get("messages")
            if isinstance(messages, dict):
                resolved["messages"] = {k: self.message(v) for k, v in messages.items()}
            out["resolved"] = resolved
        if isinstance(out.get("options"), list):
            out["options"] = self._options(out["options"], user_ids)
        # A select menu's choice (component interaction), or a form's fields (modal submit).
        if isinstance(out.get("values"), list):
            out["values"] = self._values(out["values"], out.get("component_type"), user_ids)
        if isinstance(out.get("components"), list):
            out["components"] = self._fields(out["components"], user_ids)
        if out.get("type") == _USER_COMMAND and out.get("target_id") is not None:
            out["target_id"] = self.user_id(str(out["target_id"]))
        return out

    def _options(self, options: list[Any], user_ids: set[str]) -> list[Any]:
        out = []
        for option in options:
            if not isinstance(option, dict):
                out.append(option)
                continue
            option = dict(option)
            kind, value = option.get("type"), option.get("value")
            if kind == OptionType.USER or (
                kind == OptionType.MENTIONABLE and str(value) in user_ids
            ):
                option["value"] = self.user_id(str(value))
            elif kind == OptionType.STRING:
                option["value"] = self.text(value)  # a typed "<@id>" names someone too
            if isinstance(option.get("options"), list):
                option["options"] = self._options(option["options"], user_ids)
            out.append(option)
        return out

    def _values(self, values: list[Any], component_type: Any, user_ids: set[str]) -> list[Any]:
        """A select's chosen values: user ids (user select; mentionable select when the id
        is a resolved user) become pseudonyms, other strings lose their mentions."""
        out = []
        for value in values:
            if component_type == _USER_SELECT or (
                component_type == _MENTIONABLE_SELECT and str(value) in user_ids
            ):
                out.append(self.user_id(str(value)))
            else:
                out.append(self.text(value))
        return out

    def _fields(self, components: list[Any], user_ids: set[str]) -> list[Any]:
        """A submitted form: rows and labels wrap text inputs (``value``) and selects
        (``values``), at any depth."""
        out: list[Any] = []
        for component in components:
            if not isinstance(component, dict):
                out.append(component)
                continue
            component = dict(component)
            if "value" in component:
                component["value"] = self.text(component["value"])
            if isinstance(component.get("values"), list):
                component["values"] = self._values(
                    component["values"], component.get("type"), user_ids
                )
            if isinstance(component.get("component"), dict):
                component["component"] = self._fields([component["component"]], user_ids)[0]
            if isinstance(component.get("components"), list):
                component["components"] = self._fields(component["components"], user_ids)
            out.append(component)
        return out


class InteractionRecorder:
    """Appends sanitised interactions to a JSON-lines file (the edge's recorder hook)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.corpus = secrets.token_hex(8)
        self._pseudonyms = Pseudonyms()
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._encode = msgspec.json.Encoder().encode
        self._failed = False

    def _open(self) -> IO[bytes]:
        if self._file is None:
            private_dir(self.path.parent)
            # The corpus holds what users typed: readable by its owner only.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._file = os.fdopen(fd, "ab", buffering=0)
        return self._file

    def record(self, interaction: Interaction, body: bytes) -> None:
        """Write one line; a failure is logged once and never reaches the request."""
        try:
            payload = msgspec.json.decode(body)
            if not isinstance(payload, dict):
                return
            line = (
                self._encode(
                    {
                        "v": RECORD_VERSION,
                        "corpus": self.corpus,
                        "recorded_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                        "interaction": self._pseudonyms.interaction(payload),
                    }
                )
                + b"\n"
            )
            with self._lock:
                out = self._open()
                out.write(line)  # unbuffered, one write per line: whole lines under O_APPEND
        except Exception:  # recording is best effort and never fails a request
            if not self._failed:
                self._failed = True
                log.warning(
                    "interaction recording failed",
                    exc_info=True,
                    extra={"interaction_id": interaction.id},
                )

    async def aclose(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


__all__ = ["RECORD_VERSION", "REDACTED_TOKEN", "InteractionRecorder", "Pseudonyms"]
