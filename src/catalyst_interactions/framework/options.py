"""Slash-command options declared by a handler's parameters.

A parameter's annotation gives the option type, ``Annotated[..., Param(...)]`` adds the
description and constraints, a default makes it optional, and ``Literal[...]`` or an
``Enum`` gives choices. The same :class:`OptionSpec` produces the registration JSON and
converts the submitted value, so the two can never disagree.

An *option type* is such an annotation given a name and used everywhere: its ``Param``
carries the conversion (``convert=``, run before the handler, refusing bad input at once)
and the suggestions (``autocomplete=`` a function), e.g. the bot's
``Ticker = Annotated[str, Param("Ticker symbol", convert=parse_ticker, autocomplete=...)]``.
A use may refine it: ``Annotated[Ticker, Param(min_length=1)]`` keeps everything the type
declares and overrides only what the later ``Param`` sets.
"""

from __future__ import annotations

import builtins
import enum
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from ..discord.enums import OptionType
from ..discord.limits import COMMAND_NAME_MAX, COMMAND_OPTIONS_MAX
from ..discord.payloads import Attachment, Channel, Member, Resolved, Role, User
from .errors import BadOption, RegistrationError

if TYPE_CHECKING:
    from ..discord.messages import Choice
    from .context import AutocompleteContext

R = TypeVar("R")
Suggest = Callable[["AutocompleteContext[R]", str], Awaitable[Sequence["Choice"]]]
"""An autocomplete source: ``async (ctx, typed) -> choices`` (at most 25 are sent); ``R``
is the resources type (``Suggest[Resources]``)."""
if TYPE_CHECKING:
    from typing_extensions import TypeVar as DefaultedTypeVar

    S = DefaultedTypeVar("S", default=Any)
else:
    S = TypeVar("S")
"""The resources type a declaration's checks and suggestion sources take (``R`` of the
registry that holds it). Its default lets code that only reads a declaration (the
dispatcher's routed ``HandlerSpec``) name it without the type; declaring takes ``R``."""
Convert = Callable[[Any], Any]
"""Turns a submitted value into the handler's argument; raises ``UserFacingError`` (or
``BadOption``) with a message fit to show the member when the value is unusable."""

_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class Param(Generic[S]):
    """Metadata for one option, used as ``Annotated[str, Param("Ticker symbol")]``."""

    description: str = ""
    name: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    autocomplete: bool | Suggest[S] = False
    """A suggestion function (the option's own source), or True when the source is declared
    apart with ``registry.autocomplete(command, option)``; start-up fails without one."""
    choices: Mapping[str, str | int | float] | None = None  # display name -> value
    convert: Convert | None = None
    """Run on the submitted value before the handler; see :data:`Convert`."""
    sent_as: type | None = None
    """What Discord sends (the option's type) when ``convert`` turns it into something else:
    ``Annotated[frozenset[str] | None, Param(sent_as=str, convert=parse_list)]``."""

    def refined_by(self, later: Param[S]) -> Param[S]:
        """This Param with every field ``later`` sets (differs from the default) replaced."""
        changes = {
            f.name: getattr(later, f.name)
            for f in fields(Param)
            if getattr(later, f.name) != f.default
        }
        return replace(self, **changes)


_SIMPLE_TYPES: dict[Any, OptionType] = {
    str: OptionType.STRING,
    int: OptionType.INTEGER,
    float: OptionType.NUMBER,
    bool: OptionType.BOOLEAN,
    User: OptionType.USER,
    Member: OptionType.USER,
    Channel: OptionType.CHANNEL,
    Role: OptionType.ROLE,
    Attachment: OptionType.ATTACHMENT,
}

_MISSING = object()


@dataclass(frozen=True, slots=True)
class OptionSpec(Generic[S]):
    """One declared option: its Discord shape and how to convert a submitted value."""

    name: str
    python_name: str
    type: OptionType
    description: str
    required: bool
    default: Any
    choices: tuple[tuple[str, str | int | float], ...] = ()
    enum_type: builtins.type[enum.Enum] | None = None
    min_value: float | None = None
    max_value: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    autocomplete: bool = False
    suggest: Suggest[S] | None = None
    """The option's own autocomplete source (None: declared apart, or no autocomplete)."""
    converter: Convert | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": int(self.type),
            "name": self.name,
            "description": self.description,
            "required": self.required,
        }
        if self.choices:
            out["choices"] = [{"name": n, "value": v} for n, v in self.choices]
        for key in ("min_value", "max_value", "min_length", "max_length"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.autocomplete:
            out["autocomplete"] = True
        return out

    def convert(self, raw: Any, resolved: Resolved) -> Any:
        """Turn a submitted value into the handler's argument; BadOption says what is wrong
        (or the option type's converter, with a UserFacingError)."""
        t = self.type
        if t in (OptionType.STRING, OptionType.INTEGER, OptionType.NUMBER, OptionType.BOOLEAN):
            value = self._scalar(raw)
            if self.choices and value not in {v for _, v in self.choices}:
                allowed = ", ".join(n for n, _ in self.choices)
                raise BadOption(f"`{self.name}` must be one of: {allowed}")
            value = self.enum_type(value) if self.enum_type is not None else value
            return value if self.converter is None else self.converter(value)
        key = str(raw)
        found: Any
        if t is OptionType.USER:
            found = resolved.users.get(key)
        elif t is OptionType.CHANNEL:
            found = resolved.channels.get(key)
        elif t is OptionType.ROLE:
            found = resolved.roles.get(key)
        else:
            found = resolved.attachments.get(key)
        if found is None:
            raise BadOption(f"`{self.name}` refers to something Discord did not include")
        return found

    def _scalar(self, raw: Any) -> Any:
        t = self.type
        if t is OptionType.STRING:
            if not isinstance(raw, str):
                raise BadOption(f"`{self.name}` must be text")
            if self.min_length is not None and len(raw) < self.min_length:
                raise BadOption(f"`{self.name}` must be at least {self.min_length} characters")
            if self.max_length is not None and len(raw) > self.max_length:
                raise BadOption(f"`{self.name}` must be at most {self.max_length} characters")
            return raw
        if t is OptionType.BOOLEAN:
            if not isinstance(raw, bool):
                raise BadOption(f"`{self.name}` must be true or false")
            return raw
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise BadOption(f"`{self.name}` must be a number")
        if t is OptionType.INTEGER:
            if isinstance(raw, float) and not raw.is_integer():
                raise BadOption(f"`{self.name}` must be a whole number")
            raw = int(raw)
        else:
            raw = float(raw)
        if self.min_value is not None and raw < self.min_value:
            raise BadOption(f"`{self.name}` must be at least {self.min_value:g}")
        if self.max_value is not None and raw > self.max_value:
            raise BadOption(f"`{self.name}` must be at most {self.max_value:g}")
        return raw


def options_from_signature(func: Callable[..., object], where: str) -> list[OptionSpec[S]]:
    """Options from every parameter after the first (the context)."""
    hints = typing.get_type_hints(func, include_extras=True)
    params = list(inspect.signature(func).parameters.values())[1:]
    specs: list[OptionSpec[S]] = [_option(p, hints.get(p.name, str), where) for p in params]
    seen_optional = False
    for spec in specs:
        if spec.required and seen_optional:
            raise RegistrationError(
                f"{where}: required option {spec.name!r} follows an optional one"
            )
        seen_optional = seen_optional or not spec.required
    if len(specs) > COMMAND_OPTIONS_MAX:
        raise RegistrationError(
            f"{where}: {len(specs)} options; Discord allows at most {COMMAND_OPTIONS_MAX}"
        )
    return specs


def _option(param: inspect.Parameter, hint: Any, where: str) -> OptionSpec[S]:
    meta: Param[S] = Param()
    if get_origin(hint) is typing.Annotated:
        # A nested alias is flattened by typing: Annotated[Ticker, Param(...)] arrives as
        # Annotated[str, <Ticker's Param>, <the refinement>]; later Params refine earlier ones.
        base, *extras = get_args(hint)
        for extra in extras:
            if isinstance(extra, Param):
                meta = meta.refined_by(extra)
        hint = base
    default = param.default
    required = default is inspect.Parameter.empty
    hint = _strip_optional(hint)
    if meta.sent_as is not None:
        if meta.convert is None:
            raise RegistrationError(f"{where}: {param.name!r} has sent_as= but no convert=")
        hint = meta.sent_as  # the handler's annotation is what convert returns
    name = meta.name or param.name
    if not (1 <= len(name) <= COMMAND_NAME_MAX and set(name) <= _NAME_OK):
        raise RegistrationError(
            f"{where}: option name {name!r} must be 1-{COMMAND_NAME_MAX} lowercase a-z0-9-_"
        )
    description = meta.description or name.replace("_", " ")
    choices: tuple[tuple[str, str | int | float], ...] = ()
    enum_type: type[enum.Enum] | None = None
    if get_origin(hint) is Literal:
        values = get_args(hint)
        choices = tuple((str(v), v) for v in values)
        hint = type(values[0])
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        enum_type = hint
        choices = tuple(
            (
                m.name.replace("_", " ").title() if not isinstance(m.value, str) else str(m.value),
                m.value,
            )
            for m in hint
        )
        hint = type(next(iter(hint)).value)
    if meta.choices:
        choices = tuple(meta.choices.items())
    option_type = _SIMPLE_TYPES.get(hint)
    if option_type is None:
        raise RegistrationError(f"{where}: parameter {param.name!r} has unsupported type {hint!r}")
    if meta.autocomplete and choices:
        raise RegistrationError(
            f"{where}: option {name!r} cannot have both choices and autocomplete"
        )
    return OptionSpec(
        name=name,
        python_name=param.name,
        type=option_type,
        description=description,
        required=required,
        default=None if required else default,
        choices=choices,
        enum_type=enum_type,
        min_value=meta.min_value,
        max_value=meta.max_value,
        min_length=meta.min_length,
        max_length=meta.max_length,
        autocomplete=meta.autocomplete is not False,
        suggest=None if isinstance(meta.autocomplete, bool) else meta.autocomplete,
        converter=meta.convert,
    )


def _strip_optional(hint: Any) -> Any:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint
