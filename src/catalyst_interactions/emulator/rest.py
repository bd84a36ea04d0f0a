"""Discord's REST API as the backend uses it, served under ``/api/v10``.

The routes are the paths of Discord's OpenAPI spec (the extract in ``discord_api.json``, by
operationId), each served by one method here. Each route runs the same steps as Discord: bot
authentication where needed (401), the rate limit of its bucket (headers on every answer, 429
when exhausted), the token's validity for webhook routes (401 50027 after 15 minutes), then
body validation against the operation's schema and the documented rules (spec.py, rules.py;
400 50035 with nested ``errors``), then the action.
"""

from __future__ import annotations

import copy
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..secret import Secret
from .bodies import Upload, parse_body
from .callbacks import apply_callback, callback_problems
from .enums import CALLBACK, EPHEMERAL, LOADING
from .errors import (
    ALREADY_ACKNOWLEDGED,
    INVALID_FORM_BODY,
    OTHER_USERS_MESSAGE,
    UNKNOWN_APPLICATION,
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_INTERACTION,
    UNKNOWN_WEBHOOK,
    ApiError,
    RateLimitExceeded,
    invalid_form_body,
)
from .http import Handler, Request, Response, Router
from .messages import apply_fields, forget_unused_files, is_ephemeral, new_message
from .ratelimit import BucketRule, RateLimiter
from .rules import EDIT_FLAGS, RESPONSE_FLAGS, command_list_problems, is_empty, message_problems
from .spec import Problem, spec
from .store import JSON, InteractionRecord, Store

__all__ = ["API_PREFIX", "RestApi"]

log = logging.getLogger("catalyst_interactions.emulator.rest")

API_PREFIX = "/api/v10"
DEFERRED = CALLBACK["DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE"]
_VERSIONS = r"/api/v(?:9|10)"


def route_pattern(template: str) -> str:
    """A spec path template as a regular expression: ``{x_token}`` any segment, ``{x_id}`` a
    snowflake, the rest literal (``@original``, ``@me``)."""
    out = _VERSIONS
    for segment in template.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            out += f"/(?P<{name}>[^/]+)" if name.endswith("_token") else rf"/(?P<{name}>\d{{1,20}})"
        else:
            out += "/" + re.escape(segment)
    return out


EndpointCheck = Callable[[str], Awaitable[str | None]]
"""Verifies an interactions endpoint URL; returns why it failed, or None."""


class RestApi:
    def __init__(
        self,
        store: Store,
        limiter: RateLimiter,
        *,
        bot_token: Secret,
        verify_endpoint: EndpointCheck,
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._bot_token = bot_token
        self._verify_endpoint = verify_endpoint

    def install(self, router: Router) -> None:
        """One route per operation of the spec extract; each must have a handler here."""
        rules = self._limiter.rules
        hook, hook_major = rules.webhook, ("webhook_id", "webhook_token")
        channel = rules.channel_messages, ("channel_id",)
        # operationId -> handler, rate-limit bucket, its major parameters, bot token needed
        served: dict[str, tuple[Handler, BucketRule, tuple[str, ...], bool]] = {
            "create_interaction_response": (
                self.callback,
                rules.interaction_callback,
                ("interaction_id",),
                False,
            ),
            "get_original_webhook_message": (self.get_original, hook, hook_major, False),
            "update_original_webhook_message": (self.edit_original, hook, hook_major, False),
            "delete_original_webhook_message": (self.delete_original, hook, hook_major, False),
            "execute_webhook": (self.create_followup, hook, hook_major, False),
            "get_webhook_message": (self.get_followup, hook, hook_major, False),
            "update_webhook_message": (self.edit_followup, hook, hook_major, False),
            "delete_webhook_message": (self.delete_followup, hook, hook_major, False),
            "create_message": (self.create_channel_message, *channel, True),
            "get_message": (self.get_channel_message, *channel, True),
            "update_message": (self.edit_channel_message, *channel, True),
            "delete_message": (self.delete_channel_message, *channel, True),
            "list_application_commands": (self.get_commands, rules.commands, (), True),
            "bulk_set_application_commands": (self.put_commands, rules.commands, (), True),
            "list_guild_application_commands": (
                self.get_commands,
                rules.commands,
                ("guild_id",),
                True,
            ),
            "bulk_set_guild_application_commands": (
                self.put_commands,
                rules.commands,
                ("guild_id",),
                True,
            ),
            "get_my_application": (self.get_application, rules.application, (), True),
            "update_my_application": (self.edit_application, rules.application, (), True),
        }
        operations = spec().operations
        if set(served) != set(operations):
            raise RuntimeError(
                f"routes without a handler: {sorted(set(operations) - set(served))}; "
                f"handlers without a route: {sorted(set(served) - set(operations))}"
            )
        for op_id, op in operations.items():
            handler, rule, major, bot = served[op_id]
            guarded = self._guard(op_id, handler, rule, major, bot)
            router.add(op.method, route_pattern(op.path), guarded, name=op.path)

    # -- the pipeline -----------------------------------------------------------------------
    def _guard(
        self,
        operation_id: str,
        handler: Handler,
        rule: BucketRule,
        major: tuple[str, ...],
        bot: bool,
    ) -> Handler:
        async def run(request: Request) -> Response:
            headers: dict[str, str] = {}
            try:
                if bot:
                    self._check_bot(request)
                key = ":".join(request.params.get(name, "") for name in major)
                headers = self._limiter.hit(rule, key, bot_global=bot)
                request.operation_id = operation_id
                response = await handler(request)
            except RateLimitExceeded as exc:
                return Response.json(exc.body(), 429, exc.headers)
            except ApiError as exc:
                return Response.json(exc.body(), exc.status, headers)
            response.headers.update(headers)
            return response

        return run

    def _check_bot(self, request: Request) -> None:
        given = request.headers.get("authorization", "")
        expected = "Bot " + self._bot_token.reveal()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError.unauthorized()

    @staticmethod
    def _body(request: Request) -> tuple[Any, dict[str, Upload]]:
        return parse_body(request.content_type, request.body)

    # -- interaction callback ---------------------------------------------------------------
    async def callback(self, request: Request) -> Response:
        store = self._store
        record = store.interactions.get(request.params["interaction_id"])
        if record is None:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        given = request.params["interaction_token"]
        if not hmac.compare_digest(record.token.encode(), given.encode()):
            raise ApiError.invalid_token()
        if record.acked:
            raise ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if record.failed or store.clock() > record.callback_deadline:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        payload, uploads = self._body(request)
        problems = callback_problems(record, payload)
        if problems:
            raise invalid_form_body(problems)
        result = apply_callback(store, record, payload, uploads)
        if request.query.get("with_response", "").lower() == "true":
            return Response.json(result)
        return Response.empty()

    # -- webhook routes (the interaction token authenticates) -------------------------------
    def _record(self, request: Request) -> InteractionRecord:
        store = self._store
        # An interaction's webhook is the application: its id is the application id (§5).
        if request.params["webhook_id"] != store.world.application_id:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        record = store.tokens.get(request.params["webhook_token"])
        if record is None or record.failed or store.clock() >= record.expires_at:
            raise ApiError.invalid_token()
        if not record.acked:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        return record

    def _owned(self, record: InteractionRecord, message_id: str | None) -> JSON:
        allowed = message_id is not None and (
            message_id == record.original_id or message_id in record.followup_ids
        )
        message = self._store.messages.get(message_id or "") if allowed else None
        if message is None:
            raise ApiError.unknown_message()
        return message

    async def get_original(self, request: Request) -> Response:
        record = self._record(request)
        return Response.json(self._owned(record, record.original_id))

    async def edit_original(self, request: Request) -> Response:
        record = self._record(request)
        return Response.json(self._edit(self._owned(record, record.original_id), request))

    async def delete_original(self, request: Request) -> Response:
        record = self._record(request)
        self._delete(self._owned(record, record.original_id))
        return Response.empty()

    async def create_followup(self, request: Request) -> Response:
        record = self._record(request)
        payload, uploads = self._body(request)
        _check_message(request.operation_id, payload, allowed_flags=RESPONSE_FLAGS, partial=False)
        original = self._store.messages.get(record.original_id or "")
        if (
            record.response_type == DEFERRED
            and original is not None
            and original["flags"] & LOADING
        ):
            # Right after a deferred ack the first followup edits the placeholder (RR).
            edit = {k: v for k, v in payload.items() if k != "flags"}
            return Response.json(self._commit_edit(original, edit, uploads))
        message = new_message(
            self._store, channel_id=record.channel_id, record=record, followup=True
        )
        apply_fields(self._store, message, payload, uploads, edit=False)
        record.followup_ids.append(message["id"])
        self._store.put_message(message, created=True)
        return Response.json(message)

    async def get_followup(self, request: Request) -> Response:
        record = self._record(request)
        return Response.json(self._owned(record, request.params["message_id"]))

    async def edit_followup(self, request: Request) -> Response:
        record = self._record(request)
        message = self._owned(record, request.params["message_id"])
        return Response.json(self._edit(message, request))

    async def delete_followup(self, request: Request) -> Response:
        record = self._record(request)
        self._delete(self._owned(record, request.params["message_id"]))
        return Response.empty()

    # -- editing ----------------------------------------------------------------------------
    def _edit(self, message: JSON, request: Request) -> JSON:
        payload, uploads = self._body(request)
        payload = {} if payload is None else payload
        _check_message(request.operation_id, payload, allowed_flags=EDIT_FLAGS, partial=True)
        return self._commit_edit(message, payload, uploads)

    def _commit_edit(self, message: JSON, payload: JSON, uploads: dict[str, Upload]) -> JSON:
        edited = copy.deepcopy(message)
        apply_fields(self._store, edited, payload, uploads, edit=True)
        edited["flags"] = int(edited["flags"]) & ~LOADING  # the first edit ends "thinking…"
        if is_empty(edited):
            raise invalid_form_body([Problem((), "EMPTY_MESSAGE", "Cannot send an empty message")])
        forget_unused_files(self._store, message, edited)
        message.clear()
        message.update(edited)
        self._store.put_message(message, created=False)
        return message

    def _delete(self, message: JSON) -> None:
        forget_unused_files(self._store, message, None)
        self._store.delete_message(message["id"])

    # -- channel messages (bot token) -------------------------------------------------------
    def _channel(self, request: Request) -> str:
        channel_id = request.params["channel_id"]
        if self._store.world.channel(channel_id) is None:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        return channel_id

    def _channel_message(self, request: Request) -> JSON:
        channel_id = self._channel(request)
        message = self._store.messages.get(request.params["message_id"])
        if message is None or message["channel_id"] != channel_id or is_ephemeral(message):
            raise ApiError.unknown_message()
        return message

    async def create_channel_message(self, request: Request) -> Response:
        channel_id = self._channel(request)
        payload, uploads = self._body(request)
        _check_message(request.operation_id, payload, allowed_flags=RESPONSE_FLAGS, partial=False)
        payload = dict(payload)
        # Only interaction responses can be ephemeral; Discord ignores the flag elsewhere.
        payload["flags"] = int(payload.get("flags") or 0) & ~EPHEMERAL
        message = new_message(self._store, channel_id=channel_id)
        apply_fields(self._store, message, payload, uploads, edit=False)
        self._store.put_message(message, created=True)
        return Response.json(message)

    async def get_channel_message(self, request: Request) -> Response:
        return Response.json(self._channel_message(request))

    async def edit_channel_message(self, request: Request) -> Response:
        message = self._channel_message(request)
        if message["author"]["id"] != self._store.world.bot_user["id"]:
            raise ApiError(
                403, OTHER_USERS_MESSAGE, "Cannot edit a message authored by another user"
            )
        return Response.json(self._edit(message, request))

    async def delete_channel_message(self, request: Request) -> Response:
        self._delete(self._channel_message(request))
        return Response.empty()

    # -- application commands ---------------------------------------------------------------
    def _scope(self, request: Request) -> str | None:
        if request.params["application_id"] != self._store.world.application_id:
            raise ApiError(404, UNKNOWN_APPLICATION, "Unknown Application")
        guild_id = request.params.get("guild_id")
        if guild_id is not None and guild_id != self._store.world.guild_id:
            raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild_id

    async def get_commands(self, request: Request) -> Response:
        return Response.json(self._store.commands.get(self._scope(request), []))

    async def put_commands(self, request: Request) -> Response:
        guild_id = self._scope(request)
        payload, _ = self._body(request)
        problems = spec().problems(request.operation_id, payload)
        if not problems and payload:
            problems = command_list_problems(payload)
        if problems:
            raise invalid_form_body(problems)
        payload = payload or []  # the spec allows null: no commands
        store = self._store
        before = {(c["type"], c["name"]): c["id"] for c in store.commands.get(guild_id, [])}
        stored: list[JSON] = []
        for command in payload:
            kind = int(command.get("type") or 1)  # the spec allows null: CHAT_INPUT
            entry: JSON = {
                "id": before.get((kind, command["name"])) or store.new_id(),
                "application_id": store.world.application_id,
                "version": store.new_id(),
                "default_member_permissions": None,
                "nsfw": False,
                "description": "",
                "dm_permission": True,
                "contexts": None,
                "integration_types": [0],
                **command,
                "type": kind,
            }
            if guild_id is not None:
                entry["guild_id"] = guild_id
            stored.append(entry)
        store.commands[guild_id] = stored
        store.hub.publish("commands", store.all_commands())
        return Response.json(stored)

    # -- the application --------------------------------------------------------------------
    async def get_application(self, request: Request) -> Response:
        return Response.json(self._store.application)

    async def edit_application(self, request: Request) -> Response:
        payload, _ = self._body(request)
        problems = spec().problems(request.operation_id, payload)
        if problems:
            raise invalid_form_body(problems)
        url = payload.get("interactions_endpoint_url")
        if url:
            why = await self._verify_endpoint(str(url))
            if why is not None:
                raise ApiError(
                    400,
                    INVALID_FORM_BODY,
                    "Invalid Form Body",
                    {
                        "interactions_endpoint_url": {
                            "_errors": [
                                {
                                    "code": "APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID",
                                    "message": "The specified interactions endpoint url could not "
                                    f"be verified: {why}",
                                }
                            ]
                        }
                    },
                )
        self._store.application.update(payload)
        log.info("application updated", extra={"fields": ",".join(sorted(payload))})
        return Response.json(self._store.application)


def _check_message(
    operation_id: str, payload: object, *, allowed_flags: int, partial: bool
) -> None:
    """Refuse a message body the operation's schema or the documented rules do not allow."""
    problems = spec().problems(operation_id, payload)
    if not problems and isinstance(payload, dict):
        problems = message_problems(payload, allowed_flags=allowed_flags, partial=partial)
    if problems:
        raise invalid_form_body(problems)
