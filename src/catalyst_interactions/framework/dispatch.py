"""From a verified interaction to an outcome: answer now, or acknowledge and defer.

This is the one place where handler errors become responses. The edge
calls :meth:`Dispatcher.handle`; a worker calls :meth:`Dispatcher.run_deferred` with the same
interaction and gets the same handler with the same context.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, overload

import msgspec

from ..discord.enums import CommandType, InteractionType, OptionType, ResponseType
from ..discord.limits import CHOICES_MAX, EPHEMERAL
from ..discord.messages import (
    Choice,
    File,
    Message,
    Modal,
    autocomplete_choices,
    quoted,
    user_text,
)
from ..discord.payloads import (
    CommandData,
    CommandOption,
    Interaction,
    PayloadError,
    command_data,
    component_data,
    modal_data,
)
from ..discord.snowflake import snowflake_time_ms
from .context import (
    INLINE,
    AccessPolicy,
    AutocompleteContext,
    CommandContext,
    ComponentContext,
    Context,
    LiveMessage,
    ModalContext,
    R,
)
from .errors import BadOption, NoHandler, UserFacingError
from .modes import Mode
from .registry import CommandSpec, HandlerSpec, Registry

log = logging.getLogger("catalyst_interactions.dispatch")

_ANSWER_CACHE_SIZE = 64
_ROUTE_CACHE_SIZE = 256
_ROUTE_CACHE_KEY_MAX = 512
# Option values the route cache may share between requests: immutable ones, and enum
# members (a converter that returns anything else leaves its command uncached).
_SHAREABLE = frozenset({str, int, float, bool, type(None), frozenset, tuple})
_COMMAND_KINDS = {int(kind): kind for kind in CommandType}
_NOTHING_GIVEN: dict[str, Any] = {}  # read only: a command invoked without options
_encode = msgspec.json.Encoder().encode
# Enum members bound once: reading ``InteractionType.X`` off an enum class costs more than
# the comparison it feeds, and the request path below compares several per request.
_COMMAND = InteractionType.APPLICATION_COMMAND
_COMPONENT = InteractionType.MESSAGE_COMPONENT
_MODAL_SUBMIT = InteractionType.MODAL_SUBMIT
_AUTOCOMPLETE = InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE
_CHAT_INPUT = CommandType.CHAT_INPUT
_USER_COMMAND = CommandType.USER
_MESSAGE_COMMAND = CommandType.MESSAGE
_DEFERRED = Mode.DEFERRED
_AUTO = Mode.AUTO


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer in the HTTP response."""

    body: dict[str, Any]
    files: tuple[File, ...] = ()
    outcome: str = "ok"
    """Metric label: ok, user_error, refused, error, no_handler."""
    handler: str = ""
    """Handler key, for metrics and logs."""
    encoded: bytes | None = None
    """``body`` as JSON, when already known (replies answered again and again)."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Acknowledge with ``ack`` (type 5 or 6) once the job for ``handler_key`` is enqueued."""

    ack: dict[str, Any]
    handler_key: str


Outcome = Respond | Defer


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a worker sends after running a deferred handler.

    ``message`` edits the original response (which, after a type-6 ack, is the clicked
    message). ``ephemeral_notice`` is sent as an ephemeral followup instead, for a user error
    on a component whose message must stay as it was. ``delete_original`` goes with it for a
    user error after a *public* deferred ack: the channel saw "thinking…", so that placeholder
    is deleted and only the member who asked sees the refusal (docs/decisions.md D22).
    """

    message: Message
    ephemeral_notice: bool = False
    delete_original: bool = False


@dataclass(frozen=True, slots=True)
class _ReadCommand:
    """A command's handler, decoded data, path and converted options: what routing reads
    from its ``data`` (kept for chat-input commands seen again, see ``_remember_command``)."""

    spec: CommandSpec
    data: CommandData
    path: tuple[str, ...]
    args: dict[str, Any]


@dataclass(slots=True)
class _Routed(Generic[R]):
    spec: HandlerSpec
    ctx: Context[R]
    args: dict[str, Any]
    updates_message: bool = False


def ephemeral_message(text: str) -> dict[str, Any]:
    """An ephemeral text answer; texts that quote input are cut to Discord's limit here."""
    return {
        "type": int(ResponseType.CHANNEL_MESSAGE_WITH_SOURCE),
        "data": {
            "content": user_text(text),
            "flags": EPHEMERAL,
            "allowed_mentions": {"parse": []},
        },
    }


class Dispatcher(Generic[R]):
    """Routes interactions to handlers and turns their replies into Discord responses.

    ``resources`` reaches every handler as ``ctx.resources`` (the bot's ``Resources``, built
    once by ``app.py``); a dispatcher made without them hands handlers ``None``.
    """

    @overload
    def __init__(
        self: Dispatcher[None],
        registry: Registry[None],
        *,
        access: AccessPolicy | None = None,
        auto_budget_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None: ...

    @overload
    def __init__(
        self,
        registry: Registry[R],
        *,
        resources: R,
        access: AccessPolicy | None = None,
        auto_budget_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None: ...

    def __init__(
        self,
        registry: Registry[Any],
        *,
        resources: Any = None,
        access: AccessPolicy | None = None,
        auto_budget_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry: Registry[R] = registry
        self.resources: R = resources
        self.access = access or AccessPolicy()
        self.auto_budget_s = auto_budget_s
        self._clock = clock
        self._answers: dict[tuple[int, bool, str], tuple[Message, Respond]] = {}
        self._commands_seen: dict[bytes, _ReadCommand] = {}

    # -- the edge -------------------------------------------------------------------------
    async def handle(self, interaction: Interaction) -> Outcome:
        """Decide the HTTP answer for a verified, non-PING interaction."""
        if interaction.type == _AUTOCOMPLETE:
            return await self._autocomplete(interaction)
        try:
            routed = self._route(interaction)
            for check in self.registry.global_checks:
                await check(routed.ctx)
            for check in routed.spec.checks:
                await check(routed.ctx)
        except NoHandler as exc:
            return Respond(ephemeral_message(str(exc)), outcome="no_handler", handler="none")
        except UserFacingError as exc:
            return Respond(
                ephemeral_message(exc.message),
                outcome="refused",
                handler=_key_of(self, interaction),
            )
        except Exception as exc:  # a failing check (store down ...) is our error
            log.error("check failed", extra={"interaction_id": interaction.id}, exc_info=exc)
            return Respond(
                ephemeral_message(
                    f"Something went wrong on our side. Reference: `{interaction.id}`."
                ),
                outcome="error",
                handler=_key_of(self, interaction),
            )
        spec = routed.spec
        mode = spec.mode
        if mode is _DEFERRED:
            return self._defer(routed)
        if mode is _AUTO:
            # Counted from the interaction's creation; never more than the budget itself, even
            # when our clock is behind Discord's.
            remaining = min(self.auto_budget_s, self.auto_budget_s - self._age_s(interaction))
            if remaining <= 0:
                return self._defer(routed)
            task = asyncio.ensure_future(spec.func(routed.ctx, **routed.args))
            done, _ = await asyncio.wait({task}, timeout=remaining)
            if not done:
                # Cancelled and re-run by a worker from the durable job: a process death can
                # then never lose it. Handlers are written to be safe to run again.
                task.cancel()
                return self._defer(routed)
            error = task.exception()
            return self._respond(routed, None if error else task.result(), error)
        # Inline: awaited directly; a task per request would cost more than the handler.
        try:
            reply = await spec.func(routed.ctx, **routed.args)
        except Exception as exc:  # noqa: BLE001 - every handler error becomes a response
            return self._respond(routed, None, exc)
        return self._respond(routed, reply, None)

    # -- the worker -----------------------------------------------------------------------
    async def run_deferred(
        self, interaction: Interaction, live: LiveMessage | None = None
    ) -> Delivery:
        """Run the handler of a deferred interaction; unexpected errors propagate (retry).

        ``live`` is the acknowledged message the handler may report progress in.
        """
        routed = self._route(interaction)
        if live is not None:
            routed.ctx.live = live
        try:
            reply = await routed.spec.func(routed.ctx, **routed.args)
        except UserFacingError as exc:
            refusal = Message(content=user_text(exc.message))
            if routed.updates_message:
                return Delivery(refusal, ephemeral_notice=True)
            if routed.spec.ephemeral:
                return Delivery(refusal)  # the placeholder is already private: edit it
            return Delivery(refusal, ephemeral_notice=True, delete_original=True)
        if isinstance(reply, Modal):
            # A form can only answer the interaction itself; once acknowledged (an edge in
            # front of us ran out of time) the user has to press again.
            notice = "This took too long to open. Please press the button again."
            return Delivery(Message(content=notice), ephemeral_notice=True)
        if not isinstance(reply, Message):
            raise TypeError(
                f"{routed.spec.key} returned {type(reply).__name__}; a deferred handler must "
                "return a Message"
            )
        return Delivery(reply)

    async def admit(self, interaction: Interaction) -> str:
        """Route and run the checks exactly as :meth:`handle` does before answering, for work
        that arrives already acknowledged (the Worker's hand-over): the handler key, or
        :class:`NoHandler` / :class:`UserFacingError` (a refused permission or cooldown)."""
        if interaction.type == InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            raise NoHandler("autocomplete is answered inline, never handed over")
        routed = self._route(interaction)
        for check in (*self.registry.global_checks, *routed.spec.checks):
            await check(routed.ctx)
        return routed.spec.key

    # -- internals ------------------------------------------------------------------------
    def _age_s(self, interaction: Interaction) -> float:
        try:
            return self._clock() - snowflake_time_ms(interaction.id) / 1000
        except ValueError:
            return 0.0

    def _defer(self, routed: _Routed[R]) -> Defer:
        if routed.updates_message:
            ack: dict[str, Any] = {"type": int(ResponseType.DEFERRED_UPDATE_MESSAGE)}
        else:
            ack = {"type": int(ResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE)}
            if routed.spec.ephemeral:
                ack["data"] = {"flags": EPHEMERAL}
        return Defer(ack=ack, handler_key=routed.spec.key)

    def _respond(self, routed: _Routed[R], reply: Any, exc: BaseException | None) -> Respond:
        spec = routed.spec
        interaction = routed.ctx.interaction
        if isinstance(exc, UserFacingError):
            return Respond(ephemeral_message(exc.message), outcome="user_error", handler=spec.key)
        if exc is not None:
            log.error(
                "handler failed",
                extra={"interaction_id": interaction.id, "handler": spec.key},
                exc_info=exc,
            )
            return Respond(
                ephemeral_message(
                    f"Something went wrong on our side. Reference: `{interaction.id}`."
                ),
                outcome="error",
                handler=spec.key,
            )
        if isinstance(reply, Modal) and interaction.type != InteractionType.MODAL_SUBMIT:
            return Respond(
                {"type": int(ResponseType.MODAL), "data": reply.to_dict()}, handler=spec.key
            )
        if isinstance(reply, Message):
            # Handlers may return the same immutable Message again (e.g. a cached /help):
            # its answer is then built and encoded once, not per request.
            key = (id(reply), routed.updates_message, spec.key)
            cached = self._answers.get(key)
            if cached is not None and cached[0] is reply:
                return cached[1]
            data = reply.to_dict(edit=routed.updates_message)
            if routed.updates_message:
                kind = ResponseType.UPDATE_MESSAGE
            else:
                kind = ResponseType.CHANNEL_MESSAGE_WITH_SOURCE
                if spec.ephemeral:
                    data["flags"] = data.get("flags", 0) | EPHEMERAL
            body = {"type": int(kind), "data": data}
            if reply.files:
                return Respond(body, files=tuple(reply.files), handler=spec.key)
            answer = Respond(body, handler=spec.key, encoded=_encode(body))
            if len(self._answers) >= _ANSWER_CACHE_SIZE:
                self._answers.pop(next(iter(self._answers)))
            # The reply is kept alive with its answer, so its id cannot be reused meanwhile.
            self._answers[key] = (reply, answer)
            return answer
        # A handler bug (wrong return type, a modal answering a modal): same as an exception.
        problem = TypeError(
            f"{spec.key} returned {type(reply).__name__}; expected Message, or Modal for a "
            "command or component"
        )
        return self._respond(routed, None, problem)

    def _route(self, interaction: Interaction) -> _Routed[R]:
        itype = interaction.type
        try:
            if itype == _COMMAND:
                return self._route_command(interaction)
            if itype == _COMPONENT:
                return self._route_component(interaction)
            if itype == _MODAL_SUBMIT:
                return self._route_modal(interaction)
        except PayloadError as exc:
            raise BadOption(str(exc)) from None
        raise NoHandler(f"interaction type {interaction.type} has no handlers")

    def _route_command(self, interaction: Interaction) -> _Routed[R]:
        raw = bytes(interaction.data)
        read = self._commands_seen.get(raw)  # the same command and options as a recent one
        if read is None:
            read = self._read_command(interaction)
            self._remember_command(raw, read)
        ctx = CommandContext(
            interaction, self.resources, self.access, INLINE, self.registry, read.data, read.path
        )
        return _Routed(read.spec, ctx, dict(read.args))

    def _read_command(self, interaction: Interaction) -> _ReadCommand:
        data = command_data(interaction)
        kind = _COMMAND_KINDS.get(data.type, _CHAT_INPUT)  # a dict: no enum call
        path, options = _command_path(data.name, data.options)
        spec = self.registry.find_command(kind, path)
        if spec is None:
            raise NoHandler(f"`/{quoted(' '.join(path))}` is not available any more.")
        args: dict[str, Any] = {}
        if kind is _USER_COMMAND:
            args["target"] = data.resolved.users.get(data.target_id or "")
        elif kind is _MESSAGE_COMMAND:
            args["target"] = data.resolved.messages.get(data.target_id or "")
        else:
            given = {o.name: o.value for o in options} if options else _NOTHING_GIVEN
            for opt in spec.options:
                if opt.name in given and given[opt.name] is not None:
                    args[opt.python_name] = opt.convert(given[opt.name], data.resolved)
                elif opt.required:
                    raise BadOption(f"`{opt.name}` is required")
                else:
                    args[opt.python_name] = opt.default
        return _ReadCommand(spec, data, path, args)

    def _remember_command(self, raw: bytes, read: _ReadCommand) -> None:
        """Keep a chat-input command's reading, so that the same command with the same
        options (every ``/help``) skips decoding, routing and conversion. Converters are pure
        functions of the option and ``resolved`` (options.py), so the result is the same; only
        immutable values are kept, as they are shared. User and message commands are not kept
        (their target is a struct read from ``resolved``).

        Bound: :data:`_ROUTE_CACHE_SIZE` entries of at most :data:`_ROUTE_CACHE_KEY_MAX`
        bytes, oldest out first (the key is request data)."""
        if (
            read.spec.kind is not _CHAT_INPUT
            or len(raw) > _ROUTE_CACHE_KEY_MAX
            or not all(
                type(value) in _SHAREABLE or isinstance(value, enum.Enum)
                for value in read.args.values()
            )
        ):
            return
        if len(self._commands_seen) >= _ROUTE_CACHE_SIZE:
            self._commands_seen.pop(next(iter(self._commands_seen)))
        self._commands_seen[raw] = read

    def _route_component(self, interaction: Interaction) -> _Routed[R]:
        data = component_data(interaction)
        found = self.registry.route_component(data.custom_id)
        if found is None:
            raise NoHandler("This button or menu no longer works. Run the command again.")
        spec, fields = found
        ctx = ComponentContext(
            interaction=interaction,
            resources=self.resources,
            access=self.access,
            registry=self.registry,
            component=data,
            fields=fields,
        )
        return _Routed(spec, ctx, dict(fields), updates_message=spec.updates_message)

    def _route_modal(self, interaction: Interaction) -> _Routed[R]:
        data = modal_data(interaction)
        found = self.registry.route_modal(data.custom_id)
        if found is None:
            raise NoHandler("This form is no longer accepted. Open it again.")
        spec, fields = found
        ctx = ModalContext(
            interaction=interaction,
            resources=self.resources,
            access=self.access,
            registry=self.registry,
            modal=data,
            fields=fields,
            values=data.values(),
        )
        # A modal opened from a component may update that component's message.
        updates = spec.updates_message and interaction.message is not None
        return _Routed(spec, ctx, dict(fields), updates_message=updates)

    async def _autocomplete(self, interaction: Interaction) -> Respond:
        def result(choices: Sequence[Choice]) -> Respond:
            return Respond(
                {
                    "type": int(ResponseType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT),
                    "data": {"choices": autocomplete_choices(choices)},
                },
                handler="autocomplete",
            )

        try:
            data = command_data(interaction)
        except PayloadError:
            return result([])
        path, options = _command_path(data.name, data.options)
        focused = next((o for o in options if o.focused), None)
        spec = self.registry.find_autocomplete(path, focused.name) if focused else None
        if focused is None or spec is None:
            return result([])
        ctx = AutocompleteContext(
            interaction=interaction,
            resources=self.resources,
            access=self.access,
            registry=self.registry,
            path=path,
            focused=focused.name,
            value=str(focused.value or ""),
            options={o.name: o.value for o in options if not o.focused},
        )
        try:
            # Built inside the try: choices the builder refuses (LimitError) are a bug too.
            return result(list(await spec.func(ctx, ctx.value))[:CHOICES_MAX])
        except Exception:  # suggestions are best effort; the user can still type
            log.exception("autocomplete failed", extra={"interaction_id": interaction.id})
            return Respond(result([]).body, outcome="error", handler="autocomplete")


def _key_of(dispatcher: Dispatcher[Any], interaction: Interaction) -> str:
    """Best-effort handler key for a refusal's metric label."""
    try:
        return dispatcher._route(interaction).spec.key
    except Exception:  # noqa: BLE001 - only a label; never turn a refusal into an error
        return "unknown"


def _command_path(
    name: str, options: list[CommandOption]
) -> tuple[tuple[str, ...], list[CommandOption]]:
    """Walk subcommand groups/subcommands to the invoked leaf and its options."""
    path = [name]
    while len(options) == 1 and options[0].type in (
        OptionType.SUB_COMMAND,
        OptionType.SUB_COMMAND_GROUP,
    ):
        path.append(options[0].name)
        options = options[0].options
    return tuple(path), options


__all__ = ["Defer", "Delivery", "Dispatcher", "Outcome", "Respond", "ephemeral_message"]
