"""Diff the registry's commands against what Discord has, before one bulk overwrite.

Discord returns commands with server-side fields (ids, versions, defaults); only the fields
we send are compared, with Discord's defaults filled in, so an unchanged command is never
reported as changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_OPTION_DEFAULTS: dict[str, Any] = {
    "required": False,
    "options": [],
    "choices": [],
    "autocomplete": False,
}
_COMMAND_DEFAULTS: dict[str, Any] = {
    "options": [],
    "default_member_permissions": None,
    "description": "",
}


def _normal_option(option: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in option.items() if v not in (None, [], False) or k == "required"}
    if out.get("type") in (1, 2):
        out.pop("required", None)  # subcommands carry no `required`
    elif "required" not in out:
        out["required"] = False
    if "options" in out:
        out["options"] = [_normal_option(o) for o in out["options"]]
    for key, default in _OPTION_DEFAULTS.items():
        if out.get(key) == default and key != "required":
            out.pop(key, None)
    return out


def normalise(command: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys | {"name", "type", "description", "options"}:
        value = command.get(key, _COMMAND_DEFAULTS.get(key))
        if key == "options":
            value = [_normal_option(o) for o in value or []]
        out[key] = value
    out["type"] = out.get("type") or 1
    return out


@dataclass(slots=True)
class CommandDiff:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def render(self) -> str:
        lines = [f"+ {n}" for n in self.added] + [f"~ {n}" for n in self.changed]
        lines += [f"- {n}" for n in self.removed]
        lines.append(
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {len(self.unchanged)} unchanged"
        )
        return "\n".join(lines)


def diff_commands(local: list[dict[str, Any]], remote: list[dict[str, Any]]) -> CommandDiff:
    def key(c: dict[str, Any]) -> tuple[int, str]:
        return (int(c.get("type") or 1), str(c["name"]))

    def label(c: dict[str, Any]) -> str:
        return ("/" if int(c.get("type") or 1) == 1 else "(menu) ") + str(c["name"])

    theirs = {key(c): c for c in remote}
    ours = {key(c): c for c in local}
    diff = CommandDiff()
    for k, cmd in sorted(ours.items()):
        keys = set(cmd)
        if k not in theirs:
            diff.added.append(label(cmd))
        elif normalise(cmd, keys) != normalise(theirs[k], keys):
            diff.changed.append(label(cmd))
        else:
            diff.unchanged.append(label(cmd))
    diff.removed = [label(c) for k, c in sorted(theirs.items()) if k not in ours]
    return diff


def registration_plan(
    payload: list[dict[str, Any]],
    home_only: frozenset[str],
    home_guilds: frozenset[str],
    *,
    only_guild: str | None = None,
) -> dict[str | None, list[dict[str, Any]]]:
    """Where each command is registered: ``None`` (global) or a guild id -> its commands.

    Home-only commands (the admin tools) go to each home server, everything else globally;
    without a home server (admins by user id alone) everything is global. ``only_guild``
    registers the whole public set in that one guild (instant, for testing), with the
    home-only commands only if it is a home server.
    """

    def home(command: dict[str, Any]) -> bool:
        return int(command.get("type") or 1) == 1 and command["name"] in home_only

    public = [c for c in payload if not home(c)]
    admin = [c for c in payload if home(c)]
    if only_guild is not None:
        chosen = public + (admin if only_guild in home_guilds or not home_guilds else [])
        return {only_guild: chosen}
    if not home_guilds:
        return {None: payload}
    plan: dict[str | None, list[dict[str, Any]]] = {None: public}
    for guild in sorted(home_guilds):
        plan[guild] = admin
    return plan
