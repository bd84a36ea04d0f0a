"""Discord's REST API as the backend uses it, served under ``/api/v10``.

Each route runs the same steps as Discord: bot authentication where needed (401), the rate
limit of its bucket (headers on every answer, 429 when exhausted), the token's validity for
webhook routes (401 50027 after 15 minutes), then body validation with the shared validators
(400 50035 with nested ``errors``), then the action.
"""

from __future__ import annotations

import copy
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..discord.validation import EPHEMERAL, validate_command, validate_message_payload
from ..secret import Secret
from .bodies import Upload, parse_body
from .callbacks import apply_callback, callback_problems
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
    form_errors,
    invalid_form_body,
)
from .http import Handler, Request, Response, Router
from .messages import (
    LOADING,
    apply_fields,
    forget_unused_files,
    is_empty,
    is_ephemeral,
    new_message,
)
from .ratelimit import BucketRule, RateLimiter
from .store import JSON, InteractionRecord, Store

__all__ = ["API_PREFIX", "RestApi"]

log = logging.getLogger("catalyst_interactions.emulator.rest")

API_PREFIX = "/api/v10"
_P = r"/api/v(?:9|10)"
_ID = r"(?P<{}>\d{{1,20}})"
_TOKEN = r"(?P<token>[^/]+)"  # noqa: S105 - a path pattern, not a secret
_HOOK = _P + "/webhooks/" + _ID.format("application_id") + "/" + _TOKEN
_APP = _P + "/applications/" + _ID.format("application_id")
_GUILD_CMDS = _APP + "/guilds/" + _ID.format("guild_id") + "/commands"
_CHANNEL = _P + "/channels/" + _ID.format("channel_id") + "/messages"
_MSG = "/messages/" + _ID.format("message_id")
COMMAND_LIMITS = {1: 100, 2: 15, 3: 15, 4: 1}
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
        rules = self._limiter.rules
        hook, hook_major = rules.webhook, ("application_id", "token")
        table: list[tuple[str, str, Handler, BucketRule, tuple[str, ...], bool]] = [
            (
                "POST",
                _P + "/interactions/" + _ID.format("interaction_id") + "/" + _TOKEN + "/callback",
                self.callback,
                rules.interaction_callback,
                ("interaction_id",),
                False,
            ),
            ("GET", _HOOK + "/messages/@original", self.get_original, hook, hook_major, False),
            ("PATCH", _HOOK + "/messages/@original", self.edit_original, hook, hook_major, False),
            (
                "DELETE",
                _HOOK + "/messages/@original",
                self.delete_original,
                hook,
                hook_major,
                False,
            ),
            ("POST", _HOOK, self.create_followup, hook, hook_major, False),
            ("GET", _HOOK + _MSG, self.get_followup, hook, hook_major, False),
            ("PATCH", _HOOK + _MSG, self.edit_followup, hook, hook_major, False),
            ("DELETE", _HOOK + _MSG, self.delete_followup, hook, hook_major, False),
            (
                "POST",
                _CHANNEL,
                self.create_channel_message,
                rules.channel_messages,
                ("channel_id",),
                True,
            ),
            (
                "GET",
                _CHANNEL + "/" + _ID.format("message_id"),
                self.get_channel_message,
                rules.channel_messages,
                ("channel_id",),
                True,
            ),
            (
                "PATCH",
                _CHANNEL + "/" + _ID.format("message_id"),
                self.edit_channel_message,
                rules.channel_messages,
                ("channel_id",),
                True,
            ),
            (
                "DELETE",
                _CHANNEL + "/" + _ID.format("message_id"),
                self.delete_channel_message,
                rules.channel_messages,
                ("channel_id",),
                True,
            ),
            ("GET", _APP + "/commands", self.get_commands, rules.commands, (), True),
            ("PUT", _APP + "/commands", self.put_commands, rules.commands, (), True),
            ("GET", _GUILD_CMDS, self.get_commands, rules.commands, ("guild_id",), True),
            ("PUT", _GUILD_CMDS, self.put_commands, rules.commands, ("guild_id",), True),
            ("GET", _P + "/applications/@me", self.get_application, rules.application, (), True),
            ("PATCH", _P + "/applications/@me", self.edit_application, rules.application, (), True),
        ]
        for method, pattern, handler, rule, major, bot in table:
            router.add(method, pattern, self._guard(handler, rule, major, bot), name=pattern)

    # -- the pipeline -----------------------------------------------------------------------
    def _guard(
        self, handler: Handler, rule: BucketRule, major: tuple[str, ...], bot: bool
    ) -> Handler:
        async def run(request: Request) -> Response:
            headers: dict[str, str] = {}
            try:
                if bot:
                    self._check_bot(request)
                key = ":".join(request.params.get(name, "") for name in major)
                headers = self._limiter.hit(rule, key, bot_global=bot)
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
        if not hmac.compare_digest(record.token.encode(), request.params["token"].encode()):
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
        if request.params["application_id"] != store.world.application_id:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        record = store.tokens.get(request.params["token"])
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
        problems = validate_message_payload(payload)
        if problems:
            raise invalid_form_body(problems)
        original = self._store.messages.get(record.original_id or "")
        if record.response_type == 5 and original is not None and original["flags"] & LOADING:
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
        problems = validate_message_payload(payload, edit=True)
        if problems:
            raise invalid_form_body(problems)
        return self._commit_edit(message, payload, uploads)

    def _commit_edit(self, message: JSON, payload: JSON, uploads: dict[str, Upload]) -> JSON:
        edited = copy.deepcopy(message)
        apply_fields(self._store, edited, payload, uploads, edit=True)
        edited["flags"] = int(edited["flags"]) & ~LOADING  # the first edit ends "thinking…"
        if is_empty(edited):
            raise invalid_form_body(["message is empty (Discord error 50006)"])
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
        problems = validate_message_payload(payload)
        if problems:
            raise invalid_form_body(problems)
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
        if not isinstance(payload, list):
            raise invalid_form_body(["body must be an array of application commands"])
        tree: dict[str, Any] = {}
        seen: set[tuple[int, str]] = set()
        counts: dict[int, int] = {}
        for i, command in enumerate(payload):
            own = validate_command(command)
            if isinstance(command, dict):
                key = (int(command.get("type", 1)), str(command.get("name")))
                if key in seen:
                    own.append(f"name {key[1]!r} is used by two commands of one type")
                seen.add(key)
                counts[key[0]] = counts.get(key[0], 0) + 1
            if own:
                tree[str(i)] = form_errors(own)
        for kind, n in counts.items():
            if n > COMMAND_LIMITS.get(kind, 0):
                tree.setdefault("_errors", []).append(
                    {
                        "code": "BASE_TYPE_MAX_LENGTH",
                        "message": f"{n} commands of type {kind}; Discord allows at most "
                        f"{COMMAND_LIMITS.get(kind, 0)}",
                    }
                )
        if tree:
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", tree)
        store = self._store
        before = {(c["type"], c["name"]): c["id"] for c in store.commands.get(guild_id, [])}
        stored: list[JSON] = []
        for command in payload:
            kind = int(command.get("type", 1))
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
        if not isinstance(payload, dict):
            raise invalid_form_body(["body must be an object"])
        editable = {
            "description",
            "interactions_endpoint_url",
            "tags",
            "icon",
            "cover_image",
            "flags",
            "custom_install_url",
            "install_params",
            "role_connections_verification_url",
            "integration_types_config",
            "event_webhooks_url",
            "event_webhooks_status",
            "event_webhooks_types",
        }
        unknown = sorted(set(payload) - editable)
        if unknown:
            raise invalid_form_body([f"{unknown[0]} is not a field Discord accepts here"])
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
