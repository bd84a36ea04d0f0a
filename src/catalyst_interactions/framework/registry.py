"""The handler registry: declared once by decorator, it drives routing and registration JSON.

Duplicates are refused: two handlers for one command path or one custom_id
template is a bug found at start, not a coin toss at run time.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..discord.custom_id import CustomIdTemplate
from ..discord.enums import CommandType, OptionType
from .errors import RegistrationError
from .modes import Mode
from .options import OptionSpec, options_from_signature

Handler = Callable[..., Awaitable[Any]]
Check = Callable[[Any], Awaitable[None]]
"""A check receives the context and raises CheckFailure to refuse the interaction."""
F = TypeVar("F", bound=Handler)

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerSpec:
    key: str
    """Stable identifier, stored in jobs: ``command:watchlist add``, ``component:chart:{...}``."""
    func: Handler
    mode: Mode = Mode.INLINE
    ephemeral: bool = False
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSpec(HandlerSpec):
    path: tuple[str, ...]
    description: str
    kind: CommandType = CommandType.CHAT_INPUT
    options: tuple[OptionSpec, ...] = ()

    def option_json(self) -> list[dict[str, Any]]:
        return [o.to_json() for o in self.options]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentSpec(HandlerSpec):
    template: CustomIdTemplate
    updates_message: bool = True
    """True: the reply replaces the clicked message (type 7 / 6). False: a new message (4 / 5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModalSpec(HandlerSpec):
    template: CustomIdTemplate
    updates_message: bool = False
    """True: when the modal was opened from a component, the reply replaces that component's
    message (type 7 / 6), as Discord allows; from a command it is a new message."""


T = TypeVar("T", ComponentSpec, ModalSpec)


@dataclass(frozen=True, slots=True)
class AutocompleteSpec:
    path: tuple[str, ...]
    option: str
    func: Handler


@dataclass(slots=True)
class _Node:
    """A top-level command name: a plain command or a tree of subcommands."""

    name: str
    description: str
    kind: CommandType = CommandType.CHAT_INPUT
    command: CommandSpec | None = None
    children: dict[str, _Node] = field(default_factory=dict)
    default_member_permissions: str | None = None


def _check_name(name: str, where: str) -> None:
    if not (1 <= len(name) <= 32 and set(name) <= _NAME_CHARS):
        raise RegistrationError(f"{where}: name {name!r} must be 1-32 characters of a-z 0-9 - _")


def _check_description(description: str, where: str) -> str:
    description = description.strip()
    if not 1 <= len(description) <= 100:
        raise RegistrationError(f"{where}: description must be 1-100 characters")
    return description


def _doc_summary(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class CommandGroup:
    """A command with subcommands (``/watchlist add``); may hold one level of groups."""

    def __init__(self, registry: Registry, node: _Node, path: tuple[str, ...]) -> None:
        self._registry = registry
        self._node = node
        self._path = path

    def command(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        checks: tuple[Check, ...] = (),
    ) -> Callable[[F], F]:
        def decorate(func: F) -> F:
            sub = name or func.__name__.replace("_", "-")
            path = (*self._path, sub)
            where = "/" + " ".join(path)
            _check_name(sub, where)
            if sub in self._node.children:
                raise RegistrationError(f"{where} is registered twice")
            spec = CommandSpec(
                key="command:" + " ".join(path),
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=checks,
                path=path,
                description=_check_description(description or _doc_summary(func), where),
                options=tuple(options_from_signature(func, where)),
            )
            self._node.children[sub] = _Node(sub, spec.description, command=spec)
            self._registry._add_path(spec)
            return func

        return decorate

    def group(self, name: str, description: str) -> CommandGroup:
        if len(self._path) >= 2:
            raise RegistrationError("Discord allows only one level of subcommand groups")
        where = "/" + " ".join((*self._path, name))
        _check_name(name, where)
        if name in self._node.children:
            raise RegistrationError(f"{where} is registered twice")
        node = _Node(name, _check_description(description, where))
        self._node.children[name] = node
        return CommandGroup(self._registry, node, (*self._path, name))


class Registry:
    """Every handler of an application, by command path, custom_id template and modal id."""

    def __init__(self) -> None:
        self._roots: dict[str, _Node] = {}
        self._context_menus: dict[tuple[CommandType, str], CommandSpec] = {}
        self._commands: dict[tuple[str, ...], CommandSpec] = {}
        self._components: list[ComponentSpec] = []
        self._modals: list[ModalSpec] = []
        self._autocomplete: dict[tuple[tuple[str, ...], str], AutocompleteSpec] = {}
        self._by_key: dict[str, HandlerSpec] = {}
        self._home_only: set[str] = set()
        self.global_checks: tuple[Check, ...] = ()
        """Run before every command's, component's and form's own checks (not autocomplete):
        e.g. a per-user rate."""

    # -- declaration ----------------------------------------------------------------------
    def check_all(self, check: Check) -> None:
        """Add a check every interaction with a handler passes first."""
        self.global_checks = (*self.global_checks, check)

    def command(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        checks: tuple[Check, ...] = (),
        default_member_permissions: str | None = None,
    ) -> Callable[[F], F]:
        """Declare a slash command; options come from the handler's parameters."""

        def decorate(func: F) -> F:
            cmd = name or func.__name__.replace("_", "-")
            where = f"/{cmd}"
            _check_name(cmd, where)
            if cmd in self._roots:
                raise RegistrationError(f"{where} is registered twice")
            spec = CommandSpec(
                key=f"command:{cmd}",
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=checks,
                path=(cmd,),
                description=_check_description(description or _doc_summary(func), where),
                options=tuple(options_from_signature(func, where)),
            )
            self._roots[cmd] = _Node(
                cmd,
                spec.description,
                command=spec,
                default_member_permissions=default_member_permissions,
            )
            self._add_path(spec)
            return func

        return decorate

    def group(
        self, name: str, description: str, *, default_member_permissions: str | None = None
    ) -> CommandGroup:
        where = f"/{name}"
        _check_name(name, where)
        if name in self._roots:
            raise RegistrationError(f"{where} is registered twice")
        node = _Node(
            name,
            _check_description(description, where),
            default_member_permissions=default_member_permissions,
        )
        self._roots[name] = node
        return CommandGroup(self, node, (name,))

    def user_command(
        self,
        name: str,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        checks: tuple[Check, ...] = (),
    ) -> Callable[[F], F]:
        """A context-menu command on a user; the handler gets ``(ctx, target: User)``."""
        return self._context_menu(CommandType.USER, name, mode, ephemeral, checks)

    def message_command(
        self,
        name: str,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        checks: tuple[Check, ...] = (),
    ) -> Callable[[F], F]:
        """A context-menu command on a message; the handler gets ``(ctx, target: Message)``."""
        return self._context_menu(CommandType.MESSAGE, name, mode, ephemeral, checks)

    def component(
        self,
        template: CustomIdTemplate | str,
        *,
        mode: Mode = Mode.INLINE,
        updates_message: bool = True,
        ephemeral: bool = False,
        checks: tuple[Check, ...] = (),
    ) -> Callable[[F], F]:
        """A button or select handler; template fields arrive as keyword arguments."""
        tpl = template if isinstance(template, CustomIdTemplate) else CustomIdTemplate(template)

        def decorate(func: F) -> F:
            spec = ComponentSpec(
                key=f"component:{tpl.pattern}",
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=checks,
                template=tpl,
                updates_message=updates_message,
            )
            self._add_templated(spec, self._components)
            return func

        return decorate

    def modal(
        self,
        template: CustomIdTemplate | str,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        updates_message: bool = False,
        checks: tuple[Check, ...] = (),
    ) -> Callable[[F], F]:
        """A modal-submit handler; ``ctx.values`` holds the inputs by custom_id."""
        tpl = template if isinstance(template, CustomIdTemplate) else CustomIdTemplate(template)

        def decorate(func: F) -> F:
            spec = ModalSpec(
                key=f"modal:{tpl.pattern}",
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=checks,
                template=tpl,
                updates_message=updates_message,
            )
            self._add_templated(spec, self._modals)
            return func

        return decorate

    def autocomplete(self, command: str, option: str) -> Callable[[F], F]:
        """Suggestions for ``option`` of ``command`` (``"watchlist remove"``)."""
        path = tuple(command.split())

        def decorate(func: F) -> F:
            key = (path, option)
            if key in self._autocomplete:
                raise RegistrationError(f"autocomplete for /{command} {option} is registered twice")
            self._autocomplete[key] = AutocompleteSpec(path, option, func)
            return func

        return decorate

    # -- lookup ---------------------------------------------------------------------------
    def find_command(self, kind: CommandType, path: tuple[str, ...]) -> CommandSpec | None:
        if kind is CommandType.CHAT_INPUT:
            return self._commands.get(path)
        return self._context_menus.get((kind, path[0])) if path else None

    def route_component(self, custom_id: str) -> tuple[ComponentSpec, dict[str, str]] | None:
        return _route(self._components, custom_id)

    def route_modal(self, custom_id: str) -> tuple[ModalSpec, dict[str, str]] | None:
        return _route(self._modals, custom_id)

    def find_autocomplete(self, path: tuple[str, ...], option: str) -> AutocompleteSpec | None:
        return self._autocomplete.get((path, option))

    def handler(self, key: str) -> HandlerSpec | None:
        return self._by_key.get(key)

    def commands(self) -> Iterator[CommandSpec]:
        """Every command (leaves of groups included), in declaration order."""
        yield from self._commands.values()
        yield from self._context_menus.values()

    def handlers(self) -> Iterator[HandlerSpec]:
        yield from self._by_key.values()

    def mark_home_only(self, name: str) -> None:
        """Register the top-level command ``name`` only in the bot's home servers (admin
        tools): elsewhere nobody can use it, so nobody should see it."""
        if name not in self._roots:
            raise RegistrationError(f"/{name} is not a declared command group or command")
        self._home_only.add(name)

    def home_only_commands(self) -> frozenset[str]:
        return frozenset(self._home_only)

    # -- registration JSON ----------------------------------------------------------------
    def commands_json(self) -> list[dict[str, Any]]:
        """The payload for Discord's bulk-overwrite endpoint (AC), sorted for stable diffs."""
        out = [_node_json(node) for node in self._roots.values()]
        for (kind, name), _spec in self._context_menus.items():
            out.append({"name": name, "type": int(kind), "description": ""})
        return sorted(out, key=lambda c: (c["type"], c["name"]))

    # -- internals ------------------------------------------------------------------------
    def _context_menu(
        self, kind: CommandType, name: str, mode: Mode, ephemeral: bool, checks: tuple[Check, ...]
    ) -> Callable[[F], F]:
        def decorate(func: F) -> F:
            if not 1 <= len(name) <= 32:
                raise RegistrationError(f"context menu name {name!r} must be 1-32 characters")
            if (kind, name) in self._context_menus:
                raise RegistrationError(f"context menu {name!r} is registered twice")
            spec = CommandSpec(
                key=f"{kind.name.lower()}:{name}",
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=checks,
                path=(name,),
                description="",
                kind=kind,
            )
            self._context_menus[(kind, name)] = spec
            self._by_key[spec.key] = spec
            return func

        return decorate

    def _add_path(self, spec: CommandSpec) -> None:
        self._commands[spec.path] = spec
        self._by_key[spec.key] = spec

    def _add_templated(self, spec: T, bucket: list[T]) -> None:
        if spec.key in self._by_key:
            raise RegistrationError(f"{spec.key} is registered twice")
        bucket.append(spec)
        # Longest literal prefix first: `chart_toggle_{t}_{tf}` before `chart_{t}_{tf}`.
        bucket.sort(key=lambda s: -len(s.template.prefix))
        self._by_key[spec.key] = spec


def _route(specs: list[T], custom_id: str) -> tuple[T, dict[str, str]] | None:
    for spec in specs:
        if custom_id.startswith(spec.template.prefix):
            fields = spec.template.match(custom_id)
            if fields is not None:
                return spec, fields
    return None


def _node_json(node: _Node) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": node.name,
        "type": int(CommandType.CHAT_INPUT),
        "description": node.description,
    }
    if node.command is not None:
        out["options"] = node.command.option_json()
    else:
        out["options"] = [_child_json(child) for child in node.children.values()]
    if node.default_member_permissions is not None:
        out["default_member_permissions"] = node.default_member_permissions
    return out


def _child_json(node: _Node) -> dict[str, Any]:
    if node.command is not None:
        return {
            "type": int(OptionType.SUB_COMMAND),
            "name": node.name,
            "description": node.description,
            "options": node.command.option_json(),
        }
    return {
        "type": int(OptionType.SUB_COMMAND_GROUP),
        "name": node.name,
        "description": node.description,
        "options": [_child_json(child) for child in node.children.values()],
    }
