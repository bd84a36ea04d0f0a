"""Snowflake ids carry their creation time (REF #snowflakes)."""

from __future__ import annotations

DISCORD_EPOCH_MS = 1_420_070_400_000
INTERACTION_TOKEN_LIFETIME_S = 15 * 60


def snowflake_time_ms(snowflake: str | int) -> int:
    """Unix time in milliseconds at which the snowflake was made."""
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS


def make_snowflake(unix_ms: int, increment: int = 0) -> str:
    """A snowflake for the given time; used by the local Discord and by tests."""
    return str(((unix_ms - DISCORD_EPOCH_MS) << 22) | (increment & 0xFFF))


def token_expires_at_s(interaction_id: str | int) -> float:
    """Unix time (seconds) at which the interaction's token stops working."""
    return snowflake_time_ms(interaction_id) / 1000 + INTERACTION_TOKEN_LIFETIME_S
