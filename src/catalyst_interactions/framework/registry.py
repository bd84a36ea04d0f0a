"""The handler registry: declared once by decorator, it drives routing and registration JSON.

Feature modules declare their handlers at import on module-level objects and the application
adds them with ``registry.include(...)``::

    commands = Feature()                                # bot/check.py
    watchlist = commands.group("watchlist", "Your watchlist", checks=(...,))

    @commands.command("check", "Quote and recent alerts", mode=Mode.AUTO)
    @cooldown(3)
    async def check(ctx: CommandContext, ticker: Ticker) -> Message: ...

The handlers stay plain module-level functions (tests import and call them). A group's
checks and cooldown apply to its subcommands *and* to the components and forms declared on
it; a feature's checks to everything it declares. Options carry their own autocomplete and
conversion (``options.py``).

Mistakes are refused at start, not found at run time: two handlers for one command path or
one custom_id template at declaration; :meth:`Registry.validate` then checks the whole set
(an autocomplete option without a source, a source for no such option, two templates that
can match the same custom_id, a cooldown with nothing to keep it) and names every problem.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from ..discord.custom_id import CustomIdTemplate
from ..discord.enums import CommandType, OptionType
from ..discord.limits import COMMAND_DESCRIPTION_MAX, COMMAND_NAME_MAX
from .context import Context
from .cooldowns import Cooldown, CooldownCheck, CooldownSource, declared_cooldown
from .errors import RegistrationError
from .modes import Mode
from .options import OptionSpec, S, Suggest, options_from_signature
from .overlap import common_match

Handler = Callable[..., Awaitable[object]]
R = TypeVar("R")
"""The application's resources type, as in ``Context[R]`` and ``Dispatcher[R]``: a
``Registry[Resources]`` takes only checks, cooldown sources and suggestion sources that
accept a ``Context[Resources]``."""
Check = Callable[[Context[R]], Awaitable[None]]
"""A check receives the context and raises CheckFailure to refuse the interaction."""
F = TypeVar("F", bound=Handler)
P = ParamSpec("P")
Out = TypeVar("Out")

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerSpec(Generic[S]):
    key: str
    """Stable identifier, stored in jobs: ``command:watchlist add``, ``component:chart:{...}``."""
    func: Handler
    mode: Mode = Mode.INLINE
    ephemeral: bool = False
    checks: tuple[Check[S], ...] = ()
    """Every check in the order they run: the feature's, the groups', the handler's own,
    then the cooldown's (not the registry-wide ``global_checks``, which run first)."""
    cooldown: Cooldown | None = None
    """The cooldown in force (the handler's own, else its group's), its bucket named."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSpec(HandlerSpec[S]):
    path: tuple[str, ...]
    description: str
    kind: CommandType = CommandType.CHAT_INPUT
    options: tuple[OptionSpec[S], ...] = ()

    def option_json(self) -> list[dict[str, Any]]:
        return [o.to_json() for o in self.options]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentSpec(HandlerSpec[S]):
    template: CustomIdTemplate
    updates_message: bool = True
    """True: the reply replaces the clicked message (type 7 / 6). False: a new message (4 / 5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModalSpec(HandlerSpec[S]):
    template: CustomIdTemplate
    updates_message: bool = False
    """True: when the modal was opened from a component, the reply replaces that component's
    message (type 7 / 6), as Discord allows; from a command it is a new message."""


T = TypeVar("T", ComponentSpec, ModalSpec)


@dataclass(frozen=True, slots=True)
class AutocompleteSpec(Generic[S]):
    path: tuple[str, ...]
    option: str
    func: Suggest[S]
    declared: str = "registry.autocomplete"
    """Where the source was declared: on the option itself, or apart by command path."""


@dataclass(slots=True)
class _Node(Generic[S]):
    """A top-level command name: a plain command or a tree of subcommands."""

    name: str
    description: str
    kind: CommandType = CommandType.CHAT_INPUT
    command: CommandSpec[S] | None = None
    children: dict[str, _Node[S]] = field(default_factory=dict)
    default_member_permissions: str | None = None


def _check_name(name: str, where: str) -> None:
    if not (1 <= len(name) <= COMMAND_NAME_MAX and set(name) <= _NAME_CHARS):
        raise RegistrationError(
            f"{where}: name {name!r} must be 1-{COMMAND_NAME_MAX} characters of a-z 0-9 - _"
        )


def _check_description(description: str, where: str) -> str:
    description = description.strip()
    if not 1 <= len(description) <= COMMAND_DESCRIPTION_MAX:
        raise RegistrationError(
            f"{where}: description must be 1-{COMMAND_DESCRIPTION_MAX} characters"
        )
    return description


def _doc_summary(func: Callable[..., object]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _where(func: Callable[..., object]) -> str:
    """A handler as a reader finds it: ``catalyst_interactions.bot.chart.legacy_chart``."""
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def _check_fields(func: Callable[..., object], template: CustomIdTemplate, where: str) -> None:
    """The handler takes exactly the template's fields (after ``ctx``), so a renamed field
    is found at start instead of failing every click."""
    params = list(inspect.signature(func).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    names = {p.name for p in params}
    required = {p.name for p in params if p.default is inspect.Parameter.empty}
    missing = [f for f in template.fields if f not in names]
    unknown = sorted(required - set(template.fields))
    if missing or unknown:
        raise RegistrationError(
            f"{where}: {_where(func)} must take the template's fields as parameters "
            f"(missing {missing}, not in the template {unknown})"
        )


def _template(template: CustomIdTemplate | str) -> CustomIdTemplate:
    return template if isinstance(template, CustomIdTemplate) else CustomIdTemplate(template)


class Scope(Generic[R]):
    """Where declarations land: the registry's top level, or a command group. Carries the
    checks and the cooldown every handler declared through it inherits."""

    def __init__(
        self,
        registry: Registry[R],
        node: _Node[R] | None,
        path: tuple[str, ...],
        checks: tuple[Check[R], ...] = (),
        cooldown: Cooldown | None = None,
    ) -> None:
        self._registry = registry
        self._node = node
        self._path = path
        self.checks = checks
        self.cooldown = cooldown

    def narrowed(self, checks: tuple[Check[R], ...], cooldown: Cooldown | None = None) -> Scope[R]:
        """This scope with more checks first-in-line after its own (a feature's)."""
        inherited = cooldown or self.cooldown
        return Scope(self._registry, self._node, self._path, (*self.checks, *checks), inherited)

    def command(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        checks: tuple[Check[R], ...] = (),
        default_member_permissions: str | None = None,
    ) -> Callable[[F], F]:
        """A slash command (a subcommand inside a group); options come from the handler's
        parameters."""

        def decorate(func: F) -> F:
            sub = name or func.__name__.replace("_", "-")
            path = (*self._path, sub)
            where = "/" + " ".join(path)
            _check_name(sub, where)
            children = self._registry._roots if self._node is None else self._node.children
            if sub in children:
                raise RegistrationError(f"{where} is registered twice")
            if default_member_permissions is not None and self._node is not None:
                raise RegistrationError(
                    f"{where}: default_member_permissions belongs on the top-level group"
                )
            cooldown = self._cooldown(func, path[0], where)
            spec = CommandSpec(
                key="command:" + " ".join(path),
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=self._checks(checks, cooldown, command=path[0]),
                cooldown=cooldown,
                path=path,
                description=_check_description(description or _doc_summary(func), where),
                options=tuple(options_from_signature(func, where)),
            )
            children[sub] = _Node(
                sub,
                spec.description,
                command=spec,
                default_member_permissions=default_member_permissions,
            )
            self._registry._add_path(spec)
            return func

        return decorate

    def group(
        self,
        name: str,
        description: str,
        *,
        checks: tuple[Check[R], ...] = (),
        cooldown: Cooldown | None = None,
        default_member_permissions: str | None = None,
        home_only: bool = False,
    ) -> Scope[R]:
        """A command with subcommands (``/watchlist add``); a group may hold one level of
        groups. ``checks`` and ``cooldown`` apply to everything declared through it."""
        path = (*self._path, name)
        where = "/" + " ".join(path)
        if len(path) > 2:
            raise RegistrationError("Discord allows only one level of subcommand groups")
        _check_name(name, where)
        children = self._registry._roots if self._node is None else self._node.children
        if name in children:
            raise RegistrationError(f"{where} is registered twice")
        if self._node is not None and (default_member_permissions is not None or home_only):
            raise RegistrationError(
                f"{where}: default_member_permissions and home_only belong on the top-level group"
            )
        node = _Node(
            name,
            _check_description(description, where),
            default_member_permissions=default_member_permissions,
        )
        children[name] = node
        if home_only:
            self._registry.mark_home_only(name)
        inherited = cooldown.named(path[0]) if cooldown is not None else self.cooldown
        inner = Scope(self._registry, node, path, (*self.checks, *checks), inherited)
        return inner

    def user_command(
        self,
        name: str,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        checks: tuple[Check[R], ...] = (),
    ) -> Callable[[F], F]:
        """A context-menu command on a user; the handler gets ``(ctx, target: User)``."""
        return self._context_menu(CommandType.USER, name, mode, ephemeral, checks)

    def message_command(
        self,
        name: str,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        checks: tuple[Check[R], ...] = (),
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
        checks: tuple[Check[R], ...] = (),
    ) -> Callable[[F], F]:
        """A button or select handler; template fields arrive as keyword arguments."""
        registry = self._registry
        kind = (ComponentSpec, "component", registry._components)
        return self._templated(kind, template, mode, ephemeral, updates_message, checks)

    def modal(
        self,
        template: CustomIdTemplate | str,
        *,
        mode: Mode = Mode.INLINE,
        ephemeral: bool = False,
        updates_message: bool = False,
        checks: tuple[Check[R], ...] = (),
    ) -> Callable[[F], F]:
        """A modal-submit handler; ``ctx.values`` holds the inputs by custom_id."""
        kind = (ModalSpec, "modal", self._registry._modals)
        return self._templated(kind, template, mode, ephemeral, updates_message, checks)

    # -- internals ------------------------------------------------------------------------
    def _templated(
        self,
        kind: tuple[type[T], str, list[T]],
        template: CustomIdTemplate | str,
        mode: Mode,
        ephemeral: bool,
        updates_message: bool,
        checks: tuple[Check[R], ...],
    ) -> Callable[[F], F]:
        """A component or form handler: ``kind`` is its spec class, key prefix and bucket."""
        spec_type, prefix, bucket = kind
        tpl = _template(template)
        where = f"{'form' if prefix == 'modal' else prefix} {tpl.pattern!r}"

        def decorate(func: F) -> F:
            _check_fields(func, tpl, where)
            cooldown = self._cooldown(func, None, where)
            spec = spec_type(
                key=f"{prefix}:{tpl.pattern}",
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=self._checks(checks, cooldown, command=None),
                cooldown=cooldown,
                template=tpl,
                updates_message=updates_message,
            )
            self._registry._add_templated(spec, bucket)
            return func

        return decorate

    def _cooldown(self, func: Handler, command: str | None, where: str) -> Cooldown | None:
        """The handler's own cooldown, else the scope's; its bucket named (by default after
        the top-level command)."""
        declared = declared_cooldown(func) or self.cooldown
        if declared is None or declared.name is not None:
            return declared
        if command is None:
            raise RegistrationError(
                f"{where}: a cooldown on a component or form needs name= (its key in "
                "CATALYST_COOLDOWNS), e.g. cooldown(1, name='chart-buttons')"
            )
        return declared.named(command)

    def _checks(
        self, own: tuple[Check[R], ...], cooldown: Cooldown | None, *, command: str | None
    ) -> tuple[Check[R], ...]:
        checks = (*self.checks, *own)
        if cooldown is None:
            return checks
        registry = self._registry
        registry._cooldown_users.append(cooldown)
        return (
            *checks,
            CooldownCheck(cooldown, lambda: registry._cooldown_source, command=command),
        )

    def _context_menu(
        self,
        kind: CommandType,
        name: str,
        mode: Mode,
        ephemeral: bool,
        checks: tuple[Check[R], ...],
    ) -> Callable[[F], F]:
        registry = self._registry
        if self._node is not None:
            raise RegistrationError(f"context menu {name!r} cannot be inside a command group")

        def decorate(func: F) -> F:
            if not 1 <= len(name) <= COMMAND_NAME_MAX:
                raise RegistrationError(
                    f"context menu name {name!r} must be 1-{COMMAND_NAME_MAX} characters"
                )
            if (kind, name) in registry._context_menus:
                raise RegistrationError(f"context menu {name!r} is registered twice")
            cooldown = self._cooldown(func, None, f"context menu {name!r}")
            spec = CommandSpec(
                key=f"{kind.name.lower()}:{name}",
                func=func,
                mode=mode,
                ephemeral=ephemeral,
                checks=self._checks(checks, cooldown, command=None),
                cooldown=cooldown,
                path=(name,),
                description="",
                kind=kind,
            )
            registry._context_menus[(kind, name)] = spec
            registry._by_key[spec.key] = spec
            return func

        return decorate


CommandGroup = Scope
"""A command group is a scope below the top level (the name older code uses)."""


Step = Callable[[Scope[R]], object]


def _recorded(
    method: Callable[Concatenate[Scope[R], P], Callable[[F], F]],
) -> Callable[Concatenate[_Declarations[R], P], Callable[[F], F]]:
    """A :class:`Scope` decorator, recorded now and run on the scope ``include`` gives."""

    @functools.wraps(method)
    def record(self: _Declarations[R], /, *args: P.args, **kwargs: P.kwargs) -> Callable[[F], F]:
        def decorate(func: F) -> F:
            self._steps.append(lambda scope: method(scope, *args, **kwargs)(func))
            return func

        return decorate

    return record


class _Declarations(ABC, Generic[R]):
    """Handlers recorded where a module declares them, declared on a registry by
    :meth:`Registry.include`. Each decorator takes what :class:`Scope`'s does and returns
    the function unchanged."""

    def __init__(self, checks: tuple[Check[R], ...], cooldown: Cooldown | None) -> None:
        self.checks = tuple(checks)
        self.cooldown = cooldown
        self._steps: list[Step[R]] = []

    command = _recorded(Scope.command)
    component = _recorded(Scope.component)
    modal = _recorded(Scope.modal)

    def group(
        self,
        name: str,
        description: str,
        *,
        checks: tuple[Check[R], ...] = (),
        cooldown: Cooldown | None = None,
        default_member_permissions: str | None = None,
        home_only: bool = False,
    ) -> Group[R]:
        """A command group inside this one (see :meth:`Scope.group`)."""
        group: Group[R] = Group(
            name,
            description,
            checks=checks,
            cooldown=cooldown,
            default_member_permissions=default_member_permissions,
            home_only=home_only,
        )
        self._steps.append(group.declare_in)
        return group

    @abstractmethod
    def declare_in(self, scope: Scope[R]) -> None:
        """Declare every recorded handler in ``scope`` (what ``include`` calls)."""


class Feature(_Declarations[R]):
    """A feature module's handlers: ``commands = Feature()`` at module level, decorators on
    module-level functions, ``registry.include(module.commands)`` at start. ``checks`` and
    ``cooldown`` apply to every handler the feature declares."""

    def __init__(self, *, checks: tuple[Check[R], ...] = (), cooldown: Cooldown | None = None):
        super().__init__(checks, cooldown)

    user_command = _recorded(Scope.user_command)
    message_command = _recorded(Scope.message_command)

    def declare_in(self, scope: Scope[R]) -> None:
        inner = scope.narrowed(self.checks, self.cooldown)
        for step in self._steps:
            step(inner)


class Group(_Declarations[R]):
    """A slash-command group declared at module level (``/watchlist``), discord.py's
    ``app_commands.Group`` without the subclassing: ``checks`` and ``cooldown`` apply to its
    subcommands and to the components and forms declared on it."""

    def __init__(
        self,
        name: str,
        description: str,
        *,
        checks: tuple[Check[R], ...] = (),
        cooldown: Cooldown | None = None,
        default_member_permissions: str | None = None,
        home_only: bool = False,
    ) -> None:
        super().__init__(checks, cooldown)
        self.name = name
        self.description = description
        self.default_member_permissions = default_member_permissions
        self.home_only = home_only

    def declare_in(self, scope: Scope[R]) -> None:
        inner = scope.group(
            self.name,
            self.description,
            checks=self.checks,
            cooldown=self.cooldown,
            default_member_permissions=self.default_member_permissions,
            home_only=self.home_only,
        )
        for step in self._steps:
            step(inner)


def _on_top_level(
    method: Callable[Concatenate[Scope[R], P], Out],
) -> Callable[Concatenate[Registry[R], P], Out]:
    """A :class:`Scope` method run on the registry's top-level scope."""

    @functools.wraps(method)
    def forward(self: Registry[R], /, *args: P.args, **kwargs: P.kwargs) -> Out:
        return method(self._root, *args, **kwargs)

    return forward


class Registry(Generic[R]):
    """Every handler of an application, by command path, custom_id template and modal id;
    ``R`` is the resources type its handlers' contexts carry (``Registry[Resources]``)."""

    def __init__(self) -> None:
        self._roots: dict[str, _Node[R]] = {}
        self._context_menus: dict[tuple[CommandType, str], CommandSpec[R]] = {}
        self._commands: dict[tuple[str, ...], CommandSpec[R]] = {}
        self._components: list[ComponentSpec[R]] = []
        self._modals: list[ModalSpec[R]] = []
        self._autocomplete: dict[tuple[tuple[str, ...], str], AutocompleteSpec[R]] = {}
        self._by_key: dict[str, HandlerSpec[R]] = {}
        self._home_only: set[str] = set()
        self._cooldown_source: CooldownSource[R] | None = None
        self._cooldown_users: list[Cooldown] = []
        self._root: Scope[R] = Scope(self, None, ())
        self.global_checks: tuple[Check[R], ...] = ()
        """Run before every command's, component's and form's own checks (not autocomplete):
        e.g. a per-user rate."""

    # -- declaration ----------------------------------------------------------------------
    def include(self, *declarations: _Declarations[R]) -> None:
        """Declare the handlers of module-level :class:`Feature` and :class:`Group` objects,
        in order (the order of ``/help``)."""
        for declared in declarations:
            declared.declare_in(self._root)

    def check_all(self, check: Check[R]) -> None:
        """Add a check every interaction with a handler passes first."""
        self.global_checks = (*self.global_checks, check)

    def cooldowns_from(self, source: CooldownSource[R]) -> None:
        """Where a handler's context finds the application's
        :class:`~.cooldowns.Cooldowns` (needed once any handler declares a cooldown)."""
        self._cooldown_source = source

    # Declared directly on the registry's top level (tests, small apps); feature modules use
    # a Feature and include().
    command = _on_top_level(Scope.command)
    group = _on_top_level(Scope.group)
    user_command = _on_top_level(Scope.user_command)
    message_command = _on_top_level(Scope.message_command)
    component = _on_top_level(Scope.component)
    modal = _on_top_level(Scope.modal)

    def autocomplete(self, command: str, option: str) -> Callable[[Suggest[R]], Suggest[R]]:
        """Suggestions for ``option`` of ``command`` (``"watchlist remove"``), declared apart
        from the option. Prefer the option's own ``Param(autocomplete=source)``: then the
        two cannot disagree. :meth:`validate` checks that this one names a real option."""
        path = tuple(command.split())

        def decorate(func: Suggest[R]) -> Suggest[R]:
            self._add_autocomplete(AutocompleteSpec(path, option, func))
            return func

        return decorate

    def validate(self) -> None:
        """Refuse, at start, a set of handlers that cannot all work: raises one
        RegistrationError naming every problem (and, for templates, an id both match)."""
        problems = [*self._autocomplete_problems(), *self._template_problems()]
        if self._cooldown_users and self._cooldown_source is None:
            names = sorted({c.name or "?" for c in self._cooldown_users})
            problems.append(
                f"cooldowns {names} are declared but the registry has no Cooldowns "
                "(registry.cooldowns_from(...))"
            )
        if problems:
            raise RegistrationError(
                "the declared handlers cannot all work:\n- " + "\n- ".join(problems)
            )

    # -- lookup ---------------------------------------------------------------------------
    def find_command(self, kind: CommandType, path: tuple[str, ...]) -> CommandSpec[R] | None:
        if kind is CommandType.CHAT_INPUT:
            return self._commands.get(path)
        return self._context_menus.get((kind, path[0])) if path else None

    def route_component(self, custom_id: str) -> tuple[ComponentSpec[R], dict[str, str]] | None:
        return _route(self._components, custom_id)

    def route_modal(self, custom_id: str) -> tuple[ModalSpec[R], dict[str, str]] | None:
        return _route(self._modals, custom_id)

    def find_autocomplete(self, path: tuple[str, ...], option: str) -> AutocompleteSpec[R] | None:
        return self._autocomplete.get((path, option))

    def handler(self, key: str) -> HandlerSpec[R] | None:
        return self._by_key.get(key)

    def commands(self) -> Iterator[CommandSpec[R]]:
        """Every command (leaves of groups included), in declaration order."""
        yield from self._commands.values()
        yield from self._context_menus.values()

    def handlers(self) -> Iterator[HandlerSpec[R]]:
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
    def _add_path(self, spec: CommandSpec[R]) -> None:
        self._commands[spec.path] = spec
        self._by_key[spec.key] = spec
        for option in spec.options:
            if option.suggest is not None:
                self._add_autocomplete(
                    AutocompleteSpec(spec.path, option.name, option.suggest, declared="option")
                )

    def _add_autocomplete(self, spec: AutocompleteSpec[R]) -> None:
        key = (spec.path, spec.option)
        earlier = self._autocomplete.get(key)
        if earlier is not None:
            raise RegistrationError(
                f"autocomplete for /{' '.join(spec.path)} {spec.option} is declared twice: "
                f"{_where(earlier.func)} ({earlier.declared}) and {_where(spec.func)} "
                f"({spec.declared})"
            )
        self._autocomplete[key] = spec

    def _autocomplete_problems(self) -> list[str]:
        problems = []
        for command in self._commands.values():
            for declared in command.options:
                if (
                    declared.autocomplete
                    and (command.path, declared.name) not in self._autocomplete
                ):
                    problems.append(
                        f"/{' '.join(command.path)} option {declared.name!r} is marked for "
                        f"autocomplete but has no source ({_where(command.func)}): give it "
                        "Param(autocomplete=a_function)"
                    )
        for (path, name), source in self._autocomplete.items():
            target = self._commands.get(path)
            option = next((o for o in target.options if o.name == name), None) if target else None
            if option is None or not option.autocomplete:
                what = "has no such option" if option is None else "is not marked for autocomplete"
                problems.append(
                    f"autocomplete {_where(source.func)} is for /{' '.join(path)} {name!r}, "
                    f"which {what}"
                )
        return problems

    def _template_problems(self) -> list[str]:
        problems = []
        kinds: tuple[tuple[str, list[Any]], ...] = (
            ("component", self._components),
            ("form", self._modals),
        )
        for kind, specs in kinds:
            for first, second in combinations(specs, 2):
                a, b = first.template.prefix, second.template.prefix
                if not (a.startswith(b) or b.startswith(a)):
                    continue  # their literal starts differ: no id can begin with both
                example = common_match(first.template.regex, second.template.regex)
                if example is not None:
                    problems.append(
                        f"{kind} templates {first.template.pattern!r} ({_where(first.func)}) and "
                        f"{second.template.pattern!r} ({_where(second.func)}) can both match "
                        f"the custom_id {example!r}"
                    )
        return problems

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


def _node_json(node: _Node[S]) -> dict[str, Any]:
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


def _child_json(node: _Node[S]) -> dict[str, Any]:
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
