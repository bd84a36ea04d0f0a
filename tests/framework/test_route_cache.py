"""The dispatcher's route cache: a chat-input command seen again with the same data skips
decoding, routing and conversion, and changes nothing a handler or member sees."""

from __future__ import annotations

import json
from typing import Annotated, Any

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.payloads import decode_interaction
from catalyst_interactions.framework import dispatch
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.dispatch import Dispatcher, Respond
from catalyst_interactions.framework.errors import BadOption
from catalyst_interactions.framework.options import Param
from catalyst_interactions.framework.registry import Registry
from support.signing import command, member

seen: list[tuple[str, Any, str]] = []
conversions: list[str] = []


def shout(raw: str) -> str:
    conversions.append(raw)
    if raw == "bad":
        raise BadOption("`word` cannot be bad")
    return str(raw).upper()


def letters(raw: str) -> list[str]:
    conversions.append(raw)
    return list(str(raw))  # a list: mutable, so never shared between requests


def build() -> Registry:
    reg = Registry()

    @reg.command("say", "Say a word")
    async def say(
        ctx: CommandContext,
        word: Annotated[str, Param("w", convert=shout)] = "hi",
    ) -> Message:
        seen.append((ctx.interaction.id, ctx.user.id, word))
        return Message(content=f"{word} from {ctx.user.id}")

    @reg.command("spell", "Spell a word")
    async def spell(
        ctx: CommandContext, word: Annotated[list[str], Param("w", sent_as=str, convert=letters)]
    ) -> Message:
        word.append("!")  # a handler that mutates its argument must not affect the next
        return Message(content="".join(word))

    return reg


def load(payload: dict[str, Any]):
    return decode_interaction(json.dumps(payload).encode())


async def answer(d: Dispatcher, payload: dict[str, Any]) -> str:
    outcome = await d.handle(load(payload))
    assert isinstance(outcome, Respond)
    return str(outcome.body["data"]["content"])


def word(value: str) -> list[dict[str, Any]]:
    return [{"name": "word", "type": 3, "value": value}]


async def test_a_repeated_command_is_converted_once_and_answers_each_member() -> None:
    d = Dispatcher(build())
    seen.clear()
    conversions.clear()
    first = command("say", word("abc"), user=member("101"))
    second = command("say", word("abc"), user=member("202"))  # same data, another member
    assert await answer(d, first) == "ABC from 101"
    assert await answer(d, second) == "ABC from 202"
    assert conversions == ["abc"]  # the second used the first's conversion
    # Each run got its own interaction in its context, not the cached one's.
    assert [(i, u) for i, u, _ in seen] == [(first["id"], "101"), (second["id"], "202")]


async def test_other_option_values_are_routed_and_converted_on_their_own() -> None:
    d = Dispatcher(build())
    conversions.clear()
    assert await answer(d, command("say", word("abc"))) == "ABC from 100"
    assert await answer(d, command("say", word("xyz"))) == "XYZ from 100"
    assert await answer(d, command("say")) == "hi from 100"  # the default, not a cached value
    assert conversions == ["abc", "xyz"]


async def test_a_refused_option_is_refused_every_time() -> None:
    d = Dispatcher(build())
    conversions.clear()
    counted = []
    for _ in range(2):
        outcome = await d.handle(load(command("say", word("bad"))))
        assert isinstance(outcome, Respond)
        assert "cannot be bad" in outcome.body["data"]["content"]
        counted.append(len(conversions))
    assert 0 < counted[0] < counted[1]  # converted (and refused) again: not remembered
    assert d._commands_seen == {}


async def test_mutable_converted_values_are_not_shared() -> None:
    d = Dispatcher(build())
    conversions.clear()
    assert await answer(d, command("spell", word("ab"))) == "ab!"
    assert await answer(d, command("spell", word("ab"))) == "ab!"  # not "ab!!"
    assert conversions == ["ab", "ab"]


async def test_the_cache_is_bounded_in_entries_and_key_size() -> None:
    d = Dispatcher(build())
    for n in range(dispatch._ROUTE_CACHE_SIZE + 50):
        assert await answer(d, command("say", word(f"w{n}"))) == f"W{n} from 100"
    assert len(d._commands_seen) == dispatch._ROUTE_CACHE_SIZE
    long_word = "x" * dispatch._ROUTE_CACHE_KEY_MAX
    before = set(d._commands_seen)
    assert await answer(d, command("say", word(long_word))) == long_word.upper() + " from 100"
    assert set(d._commands_seen) == before  # too large a key: answered, not kept
