"""The emulated guild: its channels, roles, members and the two personas a user can act as.

Ids are fixed so that a configuration naming them (an admin user id, an alert channel) keeps
working across runs; everything else the emulator creates gets a fresh snowflake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Persona", "World", "default_world"]

# Permission bits (https://discord.com/developers/docs/topics/permissions, docs/discord-facts.md
# §2); the spec does not enumerate them.
ADMINISTRATOR = 1 << 3
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
USE_APPLICATION_COMMANDS = 1 << 31
VIEW_CHANNEL = 1 << 10
READ_MESSAGE_HISTORY = 1 << 16
ADD_REACTIONS = 1 << 6
USE_EXTERNAL_EMOJIS = 1 << 18
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = (
    VIEW_CHANNEL
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | SEND_MESSAGES_IN_THREADS
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | USE_APPLICATION_COMMANDS
)
# An administrator is given every permission in every channel (permissions.mdx).
ALL_PERMISSIONS = (1 << 51) - 1
BOT_PERMISSIONS = MEMBER_PERMISSIONS
JOINED_AT = "2024-01-15T09:30:00.000000+00:00"
GUILD_ID = "1310000000000000000"
MEMBER_ROLE_ID = "1310000000000000011"
ADMIN_ROLE_ID = "1310000000000000012"
REGULAR_USER_ID = "1310000000000000021"
ADMIN_USER_ID = "1310000000000000022"
OTHER_USER_ID = "1310000000000000023"
DEV_APPLICATION_ID = "1310000000000000001"
ALERTS_CHANNEL_ID = "1310000000000000032"
ADMIN_CHANNEL_ID = "1310000000000000033"
LOCALE = "en-US"


def user_json(
    user_id: str, username: str, global_name: str | None, *, bot: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": user_id,
        "username": username,
        "global_name": global_name,
        "avatar": None,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }
    if bot:
        out["bot"] = True
    return out


@dataclass(frozen=True, slots=True)
class Persona:
    """Someone the page can act as: a guild member with roles and channel permissions."""

    key: str
    label: str
    user: dict[str, Any]
    roles: tuple[str, ...]
    permissions: int

    def member_json(self, *, with_user: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "deaf": False,
            "flags": 0,
            "joined_at": JOINED_AT,
            "mute": False,
            "nick": None,
            "pending": False,
            "premium_since": None,
            "roles": list(self.roles),
            "permissions": str(self.permissions),
            "unusual_dm_activity_until": None,
        }
        if with_user:
            out["user"] = dict(self.user)
        return out


@dataclass(frozen=True, slots=True)
class World:
    application_id: str
    application_name: str
    bot_user: dict[str, Any]
    guild: dict[str, Any]
    channels: tuple[dict[str, Any], ...]
    roles: tuple[dict[str, Any], ...]
    personas: dict[str, Persona] = field(default_factory=dict)
    members: tuple[Persona, ...] = ()
    """Everyone in the guild (the personas and a few others), for user options and selects."""

    @property
    def guild_id(self) -> str:
        return str(self.guild["id"])

    @property
    def default_channel_id(self) -> str:
        return str(self.channels[0]["id"])

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        return next((c for c in self.channels if c["id"] == channel_id), None)

    def role(self, role_id: str) -> dict[str, Any] | None:
        return next((r for r in self.roles if r["id"] == role_id), None)

    def member(self, user_id: str) -> Persona | None:
        return next((m for m in self.members if m.user["id"] == user_id), None)

    def guild_json(self) -> dict[str, Any]:
        """The partial guild Discord puts in an interaction."""
        return {"id": self.guild_id, "locale": LOCALE, "features": list(self.guild["features"])}

    def channel_json(self, channel: dict[str, Any], persona: Persona) -> dict[str, Any]:
        return {**channel, "permissions": str(persona.permissions)}


def _role(role_id: str, name: str, color: int, permissions: int, position: int) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "color": color,
        "hoist": color != 0,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": False,
        "mentionable": True,
        "flags": 0,
        "description": None,
    }


def _channel(channel_id: str, name: str, topic: str, position: int) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": GUILD_ID,
        "name": name,
        "topic": topic,
        "position": position,
        "parent_id": None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "flags": 0,
        "last_message_id": None,
    }


def default_world(application_id: str = DEV_APPLICATION_ID, name: str = "Catalyst") -> World:
    regular = Persona(
        "regular",
        "Regular member",
        user_json(REGULAR_USER_ID, "riley", "Riley"),
        (MEMBER_ROLE_ID,),
        MEMBER_PERMISSIONS,
    )
    admin = Persona(
        "admin",
        "Admin member",
        user_json(ADMIN_USER_ID, "ada", "Ada"),
        (MEMBER_ROLE_ID, ADMIN_ROLE_ID),
        ALL_PERMISSIONS,
    )
    other = Persona(
        "other",
        "Member",
        user_json(OTHER_USER_ID, "casey", "Casey"),
        (MEMBER_ROLE_ID,),
        MEMBER_PERMISSIONS,
    )
    return World(
        application_id=application_id,
        application_name=name,
        bot_user=user_json(application_id, name.lower(), name, bot=True),
        guild={"id": GUILD_ID, "name": "Catalyst Dev", "features": []},
        channels=(
            _channel("1310000000000000031", "general", "Try the bot's slash commands here", 0),
            _channel(ALERTS_CHANNEL_ID, "alerts", "Where the bot posts alerts", 1),
            _channel(ADMIN_CHANNEL_ID, "admin", "Tuning reports for the admins to decide", 2),
        ),
        roles=(
            _role(GUILD_ID, "@everyone", 0, MEMBER_PERMISSIONS, 0),
            _role(MEMBER_ROLE_ID, "Member", 0x3BA55C, MEMBER_PERMISSIONS, 1),
            _role(ADMIN_ROLE_ID, "Admin", 0xED4245, ADMINISTRATOR, 2),
        ),
        personas={"regular": regular, "admin": admin},
        members=(regular, admin, other),
    )
