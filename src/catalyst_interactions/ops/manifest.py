"""The manifest an edge in front of the Python backend (the Cloudflare Worker) reads.

It says, for every command, component and modal, whether the backend answers inline or the
edge should acknowledge at once (type 5 or 6, ephemeral or not) and hand the work over; and
which answers are static enough for the edge to give itself. Generated from the registry, so
it cannot drift from the handlers.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..discord.enums import CommandType
from ..discord.limits import EPHEMERAL
from ..discord.payloads import decode_interaction
from ..framework.dispatch import Dispatcher, Respond
from ..framework.modes import Mode
from ..framework.registry import HandlerSpec, Registry

MANIFEST_VERSION = 1

R = TypeVar("R")  # the resources type the registry and dispatcher share


def _ack(spec: HandlerSpec[R], *, updates_message: bool) -> dict[str, Any]:
    if updates_message:
        return {"type": 6}
    ack: dict[str, Any] = {"type": 5}
    if spec.ephemeral:
        ack["data"] = {"flags": EPHEMERAL}
    return ack


def _entry(spec: HandlerSpec[R], *, updates_message: bool = False) -> dict[str, Any]:
    return {
        "mode": spec.mode.value,
        "ack": _ack(spec, updates_message=updates_message),
        "handler": spec.key,
    }


def js_regex(python_regex: str) -> str:
    """Python's named groups ``(?P<n>…)`` in the ``(?<n>…)`` form JavaScript understands."""
    return python_regex.replace("(?P<", "(?<")


async def build_manifest(
    registry: Registry[R], dispatcher: Dispatcher[R], *, auto_budget_s: float
) -> dict[str, Any]:
    commands: dict[str, Any] = {}
    for spec in registry.commands():
        key = (
            " ".join(spec.path)
            if spec.kind is CommandType.CHAT_INPUT
            else (f"{spec.kind.name.lower()}:{spec.path[0]}")
        )
        commands[key] = _entry(spec)
    components = [
        _entry(spec, updates_message=spec.updates_message)
        | {"prefix": spec.template.prefix, "regex": js_regex(spec.template.regex)}
        for spec in _ordered(registry, "component")
    ]
    modals = [
        _entry(spec)
        | {"prefix": spec.template.prefix, "regex": js_regex(spec.template.regex)}
        # Opened from a component, a form whose handler updates that message is acknowledged
        # with 6 (its message edited later), not with a new "thinking…" message.
        | ({"ack_from_component": {"type": 6}} if spec.updates_message else {})
        for spec in _ordered(registry, "modal")
    ]
    return {
        "version": MANIFEST_VERSION,
        "auto_budget_ms": int(auto_budget_s * 1000),
        "commands": commands,
        "components": components,
        "modals": modals,
        "static": await _static_answers(registry, dispatcher),
    }


def _ordered(registry: Registry[R], kind: str) -> list[Any]:
    specs = [h for h in registry.handlers() if h.key.startswith(kind + ":")]
    # Same order as the router: longest literal prefix first.
    return sorted(specs, key=lambda s: -len(s.template.prefix))


async def _static_answers(registry: Registry[R], dispatcher: Dispatcher[R]) -> dict[str, Any]:
    """Answers that depend on nothing but the registry: ``/help`` without options, as a
    regular member sees it (admins get the full list from the backend via ``/help``'s
    option or when the static answer is not used)."""
    out: dict[str, Any] = {}
    spec = registry.find_command(CommandType.CHAT_INPUT, ("help",))
    if spec is None or spec.mode is not Mode.INLINE:
        return out
    probe = decode_interaction(
        b'{"id":"0","application_id":"0","type":2,"token":"manifest","data":{"id":"0",'
        b'"name":"help",'
        b'"type":1},"member":{"user":{"id":"0","username":"manifest"},"roles":[],'
        b'"permissions":"0"}}'
    )
    outcome = await dispatcher.handle(probe)
    if isinstance(outcome, Respond) and outcome.outcome == "ok" and not outcome.files:
        out["help"] = outcome.body
    return out
