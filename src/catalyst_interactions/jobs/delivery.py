"""Delivery: turn a handler's result into the Discord REST call that shows it, once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..discord.limits import EPHEMERAL
from ..discord.messages import File
from ..discord.payloads import Interaction
from ..discord.rest import DiscordRest, HTTPError, NotFound, UnknownInteraction
from ..framework.dispatch import Delivery
from .job import Job
from .ledger import DeliveryLedger
from .live import RestLiveMessage


class Deliverer:
    def __init__(self, rest: DiscordRest, ledger: DeliveryLedger) -> None:
        self._rest = rest
        self._ledger = ledger

    def live_message(
        self, job: Job, interaction: Interaction, *, stop_at: float, extra: dict[str, object]
    ) -> RestLiveMessage:
        """The message the job's handler may report progress in until ``stop_at``."""
        posted = 0

        async def post_followup(body: dict[str, Any], files: Sequence[File]) -> None:
            # The n-th followup of a job, recorded before it is posted like every notice: a
            # retried job whose first attempt posted it does not post it again.
            nonlocal posted
            posted += 1
            await self._post_once(job, interaction, f"followup:{posted}", body, files)

        return RestLiveMessage(
            self._rest,
            interaction.token,
            stop_at=stop_at,
            updates_message=job.ack_type == 6,
            post_followup=post_followup,
            extra=extra,
        )

    async def deliver(self, job: Job, interaction: Interaction, delivery: Delivery) -> None:
        message = delivery.message
        if delivery.delete_original:
            await self._delete_placeholder(job, interaction)
        if delivery.ephemeral_notice:
            await self.notice(job, interaction, message.content or "")
            return
        # Editing @original is idempotent: a retried job edits the same message again.
        # The edit replaces the whole message: stale buttons and old attachments go.
        await self._rest.edit_original(
            interaction.token, message.to_dict(edit=True), message.files, deadline=job.deadline
        )

    async def _delete_placeholder(self, job: Job, interaction: Interaction) -> None:
        """Delete the public "thinking…" message; already gone (a retried job) is fine.

        Deleted *before* the notice: a followup right after a deferred ack would otherwise
        edit the public placeholder instead of arriving as a private message.
        """
        try:
            await self._rest.delete_original(interaction.token, deadline=job.deadline)
        except NotFound as exc:
            if isinstance(exc, UnknownInteraction):
                raise

    async def notice(
        self, job: Job, interaction: Interaction, text: str, *, kind: str = "notice"
    ) -> None:
        """An ephemeral followup, posted at most once per job and kind."""
        body = {
            "content": text,
            "flags": EPHEMERAL,
            "allowed_mentions": {"parse": []},
        }
        await self._post_once(job, interaction, kind, body, ())

    async def _post_once(
        self,
        job: Job,
        interaction: Interaction,
        kind: str,
        body: dict[str, Any],
        files: Sequence[File],
    ) -> None:
        key = f"{job.id}:{kind}"
        if not await self._ledger.first(key, ttl_s=job.deadline - time.time()):
            return
        try:
            await self._rest.create_followup(
                interaction.token, body, files=files, deadline=job.deadline
            )
        except HTTPError as exc:
            # A 4xx answer (429 included) proves nothing was posted: a retry may post it.
            # After a 5xx or a network error it may have been, so the record stays.
            if exc.status < 500:
                await self._ledger.forget(key)
            raise

    async def tell_failure(self, job: Job, interaction: Interaction, text: str) -> None:
        """Replace "thinking…" with an explanation; for a clicked message, a private notice."""
        if job.ack_type == 6:
            await self.notice(job, interaction, text, kind="failure")
        else:
            await self._rest.edit_original(
                interaction.token,
                {
                    "content": text,
                    "embeds": [],
                    "components": [],
                    "allowed_mentions": {"parse": []},
                },
                deadline=job.deadline,
            )
