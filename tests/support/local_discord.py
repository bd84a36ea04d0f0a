"""One driver for the local Discord: act through its page API as a member would, and read
back what the page would show.

The page API (``GET /ui/state``, ``GET /ui/events``, ``POST /ui/interactions``) is the only
way in for actions: the emulator builds, signs and sends each interaction itself, and the
bot's answers and REST edits land in the emulator's store. Waiting is done on the page's
event stream (Server-Sent Events), never by sleeping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from catalyst_interactions.dev import DevStack

__all__ = ["EPHEMERAL", "LOADING", "Clock", "Local", "Shown", "running", "visible_to"]

JSON = dict[str, Any]
EPHEMERAL = 1 << 6
LOADING = 1 << 7
"""The flag of a deferred answer's "… is thinking" placeholder."""
DEFERRED_MESSAGE, DEFERRED_UPDATE = 5, 6


class Clock:
    """Real time plus an offset a test can move; the emulator reads it for token lifetimes,
    the 3-second deadline, rate-limit windows and signature timestamps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def visible_to(message: JSON, user_id: str) -> bool:
    """The page's rule: an ephemeral message shows only to the member whose interaction
    made it; everything else shows to everyone in the channel."""
    if not int(message.get("flags", 0)) & EPHEMERAL:
        return True
    meta = message.get("interaction_metadata") or {}
    return bool((meta.get("user") or {}).get("id") == user_id)


@dataclass(frozen=True, slots=True)
class Shown:
    """What a member sees after an action: the emulator's answer and the resulting message
    (after a deferred answer, the message as the worker's edit left it)."""

    result: JSON
    message: JSON | None
    placeholder_deleted: bool = False
    """The public "thinking…" message was deleted and ``message`` is a private followup."""

    @property
    def ok(self) -> bool:
        return bool(self.result.get("ok"))

    @property
    def interaction_id(self) -> str:
        return str(self.result["interaction_id"])

    @property
    def ephemeral(self) -> bool:
        return self.message is not None and bool(int(self.message["flags"]) & EPHEMERAL)

    @property
    def content(self) -> str:
        return "" if self.message is None else str(self.message.get("content", ""))

    @property
    def embed(self) -> JSON:
        assert self.message is not None and self.message["embeds"], self.result
        first: JSON = self.message["embeds"][0]
        return first


class Local:
    """Drives the emulator's page API and Discord REST API like the page and the bot do."""

    def __init__(self, stack: DevStack, clock: Clock) -> None:
        self.stack = stack
        self.clock = clock
        self.page = httpx.Client(base_url=stack.url, timeout=10)
        self.api = httpx.Client(base_url=stack.api_base, timeout=10)

    @property
    def store(self) -> Any:
        return self.stack.emulator.store

    def bot_headers(self) -> dict[str, str]:
        return {"Authorization": "Bot " + self.stack.emulator.bot_token.reveal()}

    def token(self, interaction_id: str) -> str:
        token: str = self.store.interactions[interaction_id].token
        return token

    def hook(self, interaction_id: str) -> str:
        """The interaction's webhook path under the REST base (as the bot's client uses it)."""
        app_id = self.stack.emulator.world.application_id
        return f"/webhooks/{app_id}/{self.token(interaction_id)}"

    # -- the page's view ------------------------------------------------------------------
    def state(self) -> JSON:
        response = self.page.get("/ui/state")
        response.raise_for_status()
        state: JSON = response.json()
        return state

    def seq(self) -> int:
        return int(self.state()["seq"])

    def user_id(self, persona: str) -> str:
        member = next(m for m in self.state()["members"] if m["key"] == persona)
        return str(member["user"]["id"])

    def message(self, message_id: str) -> JSON:
        """A message as the page loads it (``GET /ui/state``)."""
        messages: list[JSON] = self.state()["messages"]
        found = next((m for m in messages if m["id"] == message_id), None)
        assert found is not None, f"no message {message_id} in the page's state"
        return found

    def timeline(self, persona: str, channel_id: str | None = None) -> list[JSON]:
        """The messages ``persona`` sees in a channel (default #general), oldest first."""
        state = self.state()
        channel = channel_id or str(state["channels"][0]["id"])
        user_id = next(str(m["user"]["id"]) for m in state["members"] if m["key"] == persona)
        return [
            m for m in state["messages"] if m["channel_id"] == channel and visible_to(m, user_id)
        ]

    def attachment(self, url: str) -> httpx.Response:
        """Fetch an attachment the way the page's <img> does."""
        return self.page.get(url)

    # -- acting ---------------------------------------------------------------------------
    def command_id(self, name: str) -> str:
        state = self.state()
        return str(next(c["id"] for c in state["commands"] if c["name"] == name))

    def interact(self, **body: Any) -> JSON:
        response = self.page.post("/ui/interactions", json=body)
        result: JSON = response.json()
        return result

    def command(self, name: str, persona: str = "regular", **options: Any) -> JSON:
        """Send ``/name`` (``name`` may hold a subcommand: ``"watchlist add"``)."""
        path = name.split()
        return self.interact(
            kind="command",
            persona=persona,
            command_id=self.command_id(path[0]),
            path=path,
            options=options,
        )

    def autocomplete(
        self, name: str, focused: str, typed: str, persona: str = "regular", **options: Any
    ) -> JSON:
        """Type ``typed`` into option ``focused`` of ``/name``; the answer has ``choices``."""
        path = name.split()
        return self.interact(
            kind="autocomplete",
            persona=persona,
            command_id=self.command_id(path[0]),
            path=path,
            options={**options, focused: typed},
            focused=focused,
        )

    def use(self, name: str, persona: str = "regular", **options: Any) -> Shown:
        """Send ``/name`` and return what the member then sees (a deferred answer's edit)."""
        since, finished = self.seq(), self.jobs_finished()
        return self._settle(self.command(name, persona, **options), since, None, finished)

    def press(
        self,
        message_id: str,
        custom_id: str,
        persona: str = "regular",
        values: list[str] | None = None,
    ) -> Shown:
        """Press a button (or choose ``values`` in a select) on a message; after a deferred
        update, the message as edited, or the private notice the bot sent instead."""
        since = self.seq()
        body: JSON = {
            "kind": "component",
            "persona": persona,
            "message_id": message_id,
            "custom_id": custom_id,
        }
        if values is not None:
            body["values"] = values
        return self._settle(self.interact(**body), since, message_id)

    def submit(self, opener_id: str, values: dict[str, Any], persona: str = "regular") -> Shown:
        """Submit the modal that interaction ``opener_id`` opened."""
        since, finished = self.seq(), self.jobs_finished()
        result = self.interact(
            kind="modal", persona=persona, interaction_id=opener_id, values=values
        )
        source: str | None = self.store.interactions[opener_id].source_message_id
        return self._settle(result, since, source, finished)

    def jobs_finished(self) -> float:
        """Jobs the stack's workers delivered or dead-lettered so far."""
        runtime = self.stack.runtime
        if runtime is None:
            return 0.0
        metrics = runtime.metrics
        return sum(
            sample.value
            for counter in (metrics.jobs_delivered, metrics.jobs_dead)
            for metric in counter.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )

    def _settle(
        self, result: JSON, since: int, source_id: str | None, finished: float | None = None
    ) -> Shown:
        if not result.get("ok"):
            return Shown(result, None)
        kind = result.get("response_type")
        interaction_id = str(result["interaction_id"])
        if kind == DEFERRED_MESSAGE:
            message_id = str(result["message_id"])
            event = self.wait_for(
                lambda e: (
                    e["data"].get("id") == message_id
                    and (
                        (e["kind"] == "message_update" and not int(e["data"]["flags"]) & LOADING)
                        or e["kind"] == "message_delete"
                    )
                ),
                since,
            )
            if finished is None and event["kind"] == "message_update":
                return Shown(result, event["data"])
            if finished is not None:
                # The first edit may be progress (or a streamed answer growing): the member's
                # answer is the message once the worker has finished the job.
                deadline = time.monotonic() + 15
                while self.jobs_finished() <= finished:
                    assert time.monotonic() < deadline, "the worker did not finish the job"
                    time.sleep(0.01)
            messages: list[JSON] = self.state()["messages"]
            found = next((m for m in messages if m["id"] == message_id), None)
            if found is not None:
                return Shown(result, found)
            # The public placeholder was deleted (a refusal): what the member sees is the
            # private followup sent for the interaction.
            deadline = time.monotonic() + 15
            while True:
                followup = next(
                    (
                        m
                        for m in self.state()["messages"]
                        if (m.get("interaction_metadata") or {}).get("id") == interaction_id
                    ),
                    None,
                )
                if followup is not None:
                    return Shown(result, followup, placeholder_deleted=True)
                assert time.monotonic() < deadline, "no answer after the placeholder was deleted"
                time.sleep(0.01)
        if kind == DEFERRED_UPDATE:
            event = self.wait_for(
                lambda e: (
                    (e["kind"] == "message_update" and e["data"]["id"] == source_id)
                    or (
                        e["kind"] == "message_create"
                        and (e["data"].get("interaction_metadata") or {}).get("id")
                        == interaction_id
                    )
                ),
                since,
            )
            return Shown(result, event["data"])
        created = result.get("message_id")
        return Shown(result, self.message(str(created)) if created else None)

    def wait_for(
        self, predicate: Callable[[JSON], bool], since: int, timeout: float = 10.0
    ) -> JSON:
        """Read the page's event stream until an event satisfies ``predicate``."""
        with self.page.stream(
            "GET", "/ui/events", params={"since": since}, timeout=httpx.Timeout(timeout)
        ) as stream:
            deadline = time.monotonic() + timeout
            kind = "message"
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif not line:
                    kind = "message"  # an event ends at a blank line
                if line.startswith("data: ") and kind == "update":  # not the server's hello
                    event: JSON = json.loads(line[6:])
                    if predicate(event):
                        return event
                if time.monotonic() > deadline:
                    break
        raise TimeoutError("no matching event")

    # -- the bot's side (bot-token REST, as the old alert system posts) -------------------
    def post_as_bot(
        self, channel_id: str, payload: JSON, files: dict[str, tuple[str, bytes, str]] | None = None
    ) -> JSON:
        """``POST /channels/{id}/messages`` with the bot token; ``files`` as ``files[n]``."""
        url = f"/channels/{channel_id}/messages"
        if files:
            response = self.api.post(
                url,
                headers=self.bot_headers(),
                data={"payload_json": json.dumps(payload)},
                files=files,
            )
        else:
            response = self.api.post(url, headers=self.bot_headers(), json=payload)
        assert response.status_code == 200, response.text
        message: JSON = response.json()
        return message

    def close(self) -> None:
        self.page.close()
        self.api.close()


@contextmanager
def running(stack: DevStack, clock: Clock, *, timeout_s: float = 20.0) -> Iterator[Local]:
    """Run ``stack`` on its own thread and drive it; stopped on exit."""
    with stack.background(timeout_s):
        local = Local(stack, clock)
        try:
            yield local
        finally:
            local.close()
