"""Each endpoint's method, path, headers and body, over loopback HTTP against the fake."""

from __future__ import annotations

import re

import pytest

from catalyst_interactions.discord.rest import BotTokenRequired, DiscordRest
from fakes.fake_discord import FakeDiscord

from .conftest import APP_ID, BOT_TOKEN, INTERACTION_ID, TOKEN, MakeRest

pytestmark = pytest.mark.loopback

HOOK = f"/webhooks/{APP_ID}/{TOKEN}"


def assert_no_auth(fake: FakeDiscord) -> None:
    for request in fake.requests:
        assert "authorization" not in request.headers, request.path


def assert_bot_auth(fake: FakeDiscord) -> None:
    for request in fake.requests:
        assert request.headers["authorization"] == "Bot " + BOT_TOKEN


async def test_user_agent_follows_discord_format(make_rest: MakeRest, fake: FakeDiscord) -> None:
    rest = make_rest(user_agent_url="https://example.org/bot", version="9.8.7")
    await rest.get_application()
    (request,) = fake.requests
    assert request.headers["user-agent"] == "DiscordBot (https://example.org/bot, 9.8.7)"
    # The default carries the project URL and a dotted version.
    await make_rest().get_application()
    assert re.fullmatch(
        r"DiscordBot \(https://github\.com/catalyst-bot/catalyst-interactions, \d+\.\d+\.\d+\)",
        fake.requests[-1].headers["user-agent"],
    )


async def test_callback_posts_json_without_auth(rest: DiscordRest, fake: FakeDiscord) -> None:
    body = {"type": 4, "data": {"content": "pong", "flags": 64}}
    assert await rest.create_interaction_response(INTERACTION_ID, TOKEN, body) is None
    (request,) = fake.requests
    assert (request.method, request.path) == (
        "POST",
        f"/interactions/{INTERACTION_ID}/{TOKEN}/callback",
    )
    assert request.headers["content-type"] == "application/json"
    assert request.json == body
    assert_no_auth(fake)


async def test_edit_then_get_original_round_trips(rest: DiscordRest, fake: FakeDiscord) -> None:
    await rest.create_interaction_response(INTERACTION_ID, TOKEN, {"type": 5})
    edited = await rest.edit_original(TOKEN, {"content": "AAPL 187.20", "embeds": []})
    fetched = await rest.get_original(TOKEN)
    assert edited["content"] == fetched["content"] == "AAPL 187.20"
    assert fetched["id"] == edited["id"]
    methods = [(r.method, r.path) for r in fake.requests[1:]]
    assert methods == [
        ("PATCH", HOOK + "/messages/@original"),
        ("GET", HOOK + "/messages/@original"),
    ]
    assert fake.requests[1].json == {"content": "AAPL 187.20", "embeds": []}
    assert fake.requests[2].body == b""
    assert_no_auth(fake)


async def test_delete_original(rest: DiscordRest, fake: FakeDiscord) -> None:
    await rest.create_interaction_response(
        INTERACTION_ID, TOKEN, {"type": 4, "data": {"content": "x"}}
    )
    assert TOKEN in fake.originals
    assert await rest.delete_original(TOKEN) is None
    assert (fake.requests[-1].method, fake.requests[-1].path) == (
        "DELETE",
        HOOK + "/messages/@original",
    )
    assert TOKEN not in fake.originals
    assert_no_auth(fake)


async def test_followup_create_edit_delete(rest: DiscordRest, fake: FakeDiscord) -> None:
    created = await rest.create_followup(TOKEN, {"content": "first", "flags": 64})
    message_id = created["id"]
    edited = await rest.edit_followup(TOKEN, message_id, {"content": "second"})
    assert edited["id"] == message_id
    assert edited["content"] == "second"
    await rest.delete_followup(TOKEN, message_id)
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", HOOK),
        ("PATCH", f"{HOOK}/messages/{message_id}"),
        ("DELETE", f"{HOOK}/messages/{message_id}"),
    ]
    assert fake.requests[0].json == {"content": "first", "flags": 64}
    assert fake.requests[0].query == {}
    assert message_id not in fake.followups
    assert_no_auth(fake)


async def test_channel_messages_use_bot_token(rest: DiscordRest, fake: FakeDiscord) -> None:
    channel = "1200000000000000007"
    created = await rest.create_channel_message(channel, {"content": "report #12"})
    edited = await rest.edit_channel_message(channel, created["id"], {"content": "closed"})
    assert edited["content"] == "closed"
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", f"/channels/{channel}/messages"),
        ("PATCH", f"/channels/{channel}/messages/{created['id']}"),
    ]
    assert fake.requests[1].json == {"content": "closed"}
    assert_bot_auth(fake)


async def test_commands_global_and_guild(rest: DiscordRest, fake: FakeDiscord) -> None:
    commands = [{"name": "chart", "description": "Show a chart", "type": 1}]
    stored = await rest.bulk_overwrite_commands(commands)
    assert [c["name"] for c in stored] == ["chart"]
    assert await rest.get_commands() == stored
    guild = "1400000000000000009"
    await rest.bulk_overwrite_commands([], guild_id=guild)
    assert await rest.get_commands(guild) == []
    assert [(r.method, r.path) for r in fake.requests] == [
        ("PUT", f"/applications/{APP_ID}/commands"),
        ("GET", f"/applications/{APP_ID}/commands"),
        ("PUT", f"/applications/{APP_ID}/guilds/{guild}/commands"),
        ("GET", f"/applications/{APP_ID}/guilds/{guild}/commands"),
    ]
    assert fake.requests[0].json == commands
    assert fake.requests[2].json == []
    assert_bot_auth(fake)


async def test_application_get_and_edit(rest: DiscordRest, fake: FakeDiscord) -> None:
    assert (await rest.get_application())["id"] == APP_ID
    edited = await rest.edit_application({"interactions_endpoint_url": "https://x.test/i"})
    assert edited["interactions_endpoint_url"] == "https://x.test/i"
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/applications/@me"),
        ("PATCH", "/applications/@me"),
    ]
    assert_bot_auth(fake)


async def test_bot_route_without_bot_token_sends_nothing(
    make_rest: MakeRest, fake: FakeDiscord
) -> None:
    rest = make_rest(bot_token=None)
    with pytest.raises(BotTokenRequired):
        await rest.get_commands()
    await rest.edit_original(TOKEN, {"content": "webhook routes still work"})
    assert [r.route for r in fake.requests] == ["edit_original"]


@pytest.mark.parametrize(
    "call",
    [
        lambda rest: rest.edit_followup(TOKEN, "../../channels/1", {}),
        lambda rest: rest.edit_channel_message("1", "not-a-snowflake", {}),
        lambda rest: rest.get_original(""),
    ],
)
async def test_bad_ids_are_refused_before_sending(
    rest: DiscordRest, fake: FakeDiscord, call
) -> None:
    with pytest.raises(ValueError, match="must be"):
        await call(rest)
    assert fake.requests == []


def test_constructor_validates(fake: FakeDiscord) -> None:
    with pytest.raises(ValueError, match="base_url"):
        DiscordRest(base_url="discord.com/api", application_id=APP_ID, bot_token=None)
    with pytest.raises(ValueError, match="snowflake"):
        DiscordRest(base_url=fake.base_url, application_id="app", bot_token=None)
