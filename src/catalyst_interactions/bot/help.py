"""/help, generated from the registry: what every command does and which options it takes."""

from __future__ import annotations

import functools
from typing import Annotated

from ..discord.enums import CommandType, OptionType
from ..discord.limits import CHOICES_MAX, EMBED_FIELD_VALUE_MAX, EMBED_FIELDS_MAX
from ..discord.messages import Choice, Embed, EmbedField, Message, quoted, truncate
from ..framework.context import AutocompleteContext, CommandContext, Context
from ..framework.errors import UserFacingError
from ..framework.options import Param
from ..framework.registry import CommandSpec, Feature, Registry
from ._shared import BRAND_COLOR
from .resources import Resources

_TYPE_NAMES = {
    OptionType.STRING: "text",
    OptionType.INTEGER: "whole number",
    OptionType.NUMBER: "number",
    OptionType.BOOLEAN: "true/false",
    OptionType.USER: "user",
    OptionType.CHANNEL: "channel",
    OptionType.ROLE: "role",
    OptionType.MENTIONABLE: "mention",
    OptionType.ATTACHMENT: "file",
}


def describe_options(spec: CommandSpec[Resources]) -> str:
    if not spec.options:
        return "no options"
    parts = []
    for opt in spec.options:
        kind = "/".join(n for n, _ in opt.choices) if opt.choices else _TYPE_NAMES[opt.type]
        shown = f"`{opt.name}`" if opt.required else f"`[{opt.name}]`"
        parts.append(f"{shown} ({kind})")
    return ", ".join(parts)


def help_message(
    registry: Registry[Resources], *, is_admin: bool, only: str | None = None
) -> Message:
    """One field per slash command (subcommands included); admin commands only for admins."""
    fields: list[EmbedField] = []
    for spec in registry.commands():
        if spec.kind is not CommandType.CHAT_INPUT:
            continue
        name = " ".join(spec.path)
        if only is not None and spec.path[0] != only:
            continue
        if spec.path[0] == "admin" and not is_admin:
            continue
        value = truncate(
            f"{spec.description}\nOptions: {describe_options(spec)}", EMBED_FIELD_VALUE_MAX
        )
        fields.append(EmbedField(name=f"/{name}", value=value))
    if not fields:
        raise UserFacingError(f"There is no command called `/{quoted(only or '')}`.")
    if len(fields) > EMBED_FIELDS_MAX:  # the rest go to a second embed
        first, rest = fields[:EMBED_FIELDS_MAX], fields[EMBED_FIELDS_MAX:]
        embeds = [
            Embed(title="Catalyst Bot commands", color=BRAND_COLOR, fields=first),
            Embed(color=BRAND_COLOR, fields=rest[:EMBED_FIELDS_MAX]),
        ]
    else:
        embeds = [
            Embed(
                title="Catalyst Bot commands",
                color=BRAND_COLOR,
                fields=fields,
                footer="[option] is optional. Answers marked ephemeral are only visible to you.",
            )
        ]
    return Message(embeds=embeds, ephemeral=True)


@functools.lru_cache(maxsize=256)
def cached_help(registry: Registry[Resources], is_admin: bool, only: str | None) -> Message:
    """:func:`help_message`, built once per variant: the registry is complete before the
    first request and never changes afterwards (``/help`` is on the edge's hot path)."""
    return help_message(registry, is_admin=is_admin, only=only)


def declared(ctx: Context[Resources]) -> Registry[Resources]:
    if ctx.registry is None:  # the dispatcher always sets it; a test building one by hand may not
        raise TypeError("/help needs the dispatcher's registry in its context")
    return ctx.registry


async def command_names(ctx: AutocompleteContext[Resources], typed: str) -> list[Choice]:
    """Top-level command names starting with what was typed; admin ones only for admins."""
    registry = declared(ctx)
    names = sorted({s.path[0] for s in registry.commands() if s.kind is CommandType.CHAT_INPUT})
    if not ctx.is_admin:
        names = [n for n in names if n != "admin"]
    return [Choice(name=n, value=n) for n in names if n.startswith(typed.lower())][:CHOICES_MAX]


commands = Feature[Resources]()


@commands.command("help", "List the bot's commands and their options", ephemeral=True)
async def help_command(
    ctx: CommandContext[Resources],
    command: Annotated[
        str | None, Param("Show only this command", autocomplete=command_names)
    ] = None,
) -> Message:
    return cached_help(declared(ctx), ctx.is_admin, command)
