"""/research and /ask against a loopback server speaking the OpenAI chat-completions API."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from bot_support import Bot, FakeLLM, FixedProvider, content, is_ephemeral

from catalyst_interactions.secret import Secret
from catalyst_interactions.store import NewAlert, Store
from support.servers import serve_in_thread
from support.signing import command

pytestmark = pytest.mark.loopback

API_KEY = "sk-test-key-never-logged"


@pytest.fixture
def llm() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM()
    with serve_in_thread(fake) as url:
        yield fake, url + "/v1"


@pytest.fixture
def research_bot(start_bot: Callable[..., Bot], llm: tuple[FakeLLM, str]) -> Bot:
    _, base_url = llm
    bot = start_bot(llm_base_url=base_url, llm_model="test-model", llm_api_key=Secret(API_KEY))
    bot.services.market = FixedProvider({"ACME": [100.0, 104.0]})

    async def seed(store: Store) -> None:
        await store.alerts.add(
            NewAlert(
                "ACME",
                datetime(2024, 3, 4, 14, 30, tzinfo=UTC),
                "Acme wins $2B defence contract",
                price=99.5,
                score=0.9,
                sentiment=0.7,
                source="prnewswire",
            )
        )

    bot.with_store(seed)
    return bot


def research(question: str | None = None, ticker: str = "ACME") -> dict[str, object]:
    options = [{"name": "ticker", "type": 3, "value": ticker}]
    if question is not None:
        options.append({"name": "question", "type": 3, "value": question})
    return command("research", options)


def test_research_sends_quote_and_alerts_and_edits_the_answer(
    research_bot: Bot, llm: tuple[FakeLLM, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = llm
    fake.answer = "Acme's **contract win** is the main catalyst."
    caplog.set_level(logging.DEBUG)
    _, edit = research_bot.deferred(research("Is the contract material?"))

    [request] = fake.requests
    assert request["path"] == "/v1/chat/completions"
    body = request["json"]
    assert body["model"] == "test-model" and body["stream"] is True
    assert fake.headers[0]["accept"] == "text/event-stream"
    system, user = body["messages"]
    assert system["role"] == "system" and "not financial advice" in system["content"]
    assert user["role"] == "user"
    assert "Ticker: ACME" in user["content"]
    assert "Quote: $104.00, +4.00 (+4.00%)" in user["content"]
    assert "Acme wins $2B defence contract | price $99.50" in user["content"]
    assert user["content"].endswith("Question: Is the contract material?")
    assert fake.headers[0]["authorization"] == f"Bearer {API_KEY}"

    card = edit.json["embeds"][0]
    assert card["title"] == "Research: ACME"
    assert card["description"] == "Acme's **contract win** is the main catalyst."
    assert card["fields"][0] == {"name": "Question", "value": "Is the contract material?"}
    assert card["footer"]["text"].startswith("test-model · not financial advice")
    assert edit.json["attachments"] == []
    assert API_KEY not in caplog.text


def test_a_long_answer_is_previewed_and_attached_in_full(
    research_bot: Bot, llm: tuple[FakeLLM, str]
) -> None:
    fake, _ = llm
    fake.answer = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum " * 40 for i in range(12))
    assert len(fake.answer) > 5000
    _, edit = research_bot.deferred(research())
    card = edit.json["embeds"][0]
    assert len(card["description"]) <= 4096
    assert card["description"].endswith("*The full answer is attached as `research-ACME.md`.*")
    assert edit.json["attachments"][0]["filename"] == "research-ACME.md"
    document = next(p for p in edit.parts if p.name == "files[0]").data.decode()
    assert fake.answer.strip() in document
    assert "Summarise the recent catalysts for ACME" in document  # the default question


def test_llm_failure_is_explained_privately(research_bot: Bot, llm: tuple[FakeLLM, str]) -> None:
    fake, _ = llm
    fake.status = 500
    reason = research_bot.refused_after_ack(research())
    assert reason == "The research assistant is unavailable right now."
    assert "upstream exploded" not in str(research_bot.fake.requests[-1].body)


def test_ask_uses_the_newest_alerts_as_context(research_bot: Bot, llm: tuple[FakeLLM, str]) -> None:
    fake, _ = llm
    fake.answer = "Defence names lead."
    _, edit = research_bot.deferred(
        command("ask", [{"name": "question", "type": 3, "value": "What is hot today?"}])
    )
    prompt = fake.requests[0]["json"]["messages"][1]["content"]
    assert "ACME | Acme wins $2B defence contract" in prompt
    assert prompt.endswith("Question: What is hot today?")
    assert edit.json["embeds"][0]["title"] == "Ask Catalyst"
    assert edit.json["embeds"][0]["description"] == "Defence names lead."


def test_without_an_llm_research_is_refused_at_once_and_ephemerally(bot: Bot) -> None:
    for payload in (
        research(),
        command("ask", [{"name": "question", "type": 3, "value": "Anything?"}]),
    ):
        answer = bot.send(payload)
        assert answer["type"] == 4 and is_ephemeral(answer)
        assert content(answer).startswith("Research is not configured on this bot")
    assert bot.fake.requests_for("edit_original") == []


def test_research_cooldown(start_bot: Callable[..., Bot], llm: tuple[FakeLLM, str]) -> None:
    _, base_url = llm
    bot = start_bot(llm_base_url=base_url, llm_model="m", cooldowns={"*": 0.0, "research": 30.0})
    bot.services.market = FixedProvider({"ACME": [1.0, 2.0]})
    bot.deferred(research())
    again = bot.send(research())
    assert is_ephemeral(again) and content(again).startswith("Slow down: try `/research` again")


def test_the_answer_streams_into_the_message_then_the_final_replaces_it(
    research_bot: Bot, llm: tuple[FakeLLM, str]
) -> None:
    fake, _ = llm
    fake.answer = " ".join(f"word{i}" for i in range(50)) + "."
    fake.delay_s = 0.06  # ~3 s of streaming: several coalesced edits
    _, final = research_bot.deferred(research("What moved it?"))
    edits = research_bot.last_edits
    # No edit in the job's first second (FIRST_EDIT_AFTER_S): by then the "Reading …"
    # progress text is superseded by the answer streaming in, which the first edit shows.
    assert not any(e.json.get("content") for e in edits), [e.json for e in edits]
    partial = [
        e.json["embeds"][0]["description"]
        for e in edits[:-1]
        if e.json.get("embeds") and e.json["embeds"][0]["description"].endswith(" ▌")
    ]
    assert len(partial) >= 2, [e.json for e in edits]
    texts = [p.removesuffix(" ▌") for p in partial]
    assert all(fake.answer.startswith(t) for t in texts)
    assert [len(t) for t in texts] == sorted(len(t) for t in texts)  # it only grows
    assert len(texts[0]) < len(fake.answer)  # shown before the model finished
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits[:-1])]
    assert not gaps or min(gaps) >= 0.95  # progress coalesced to one edit a second
    card = final.json["embeds"][0]
    assert card["description"] == fake.answer
    assert card["footer"]["text"].startswith("test-model · not financial advice")
    time.sleep(1.2)  # nothing arrives after the final answer
    assert research_bot.fake.requests_for("edit_original")[-1] is final


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("cut_after", "The research assistant's answer was cut off; try again."),
        ("error_after", "The research assistant is unavailable right now."),
    ],
)
def test_a_stream_that_breaks_is_explained(
    research_bot: Bot, llm: tuple[FakeLLM, str], fault: str, expected: str
) -> None:
    fake, _ = llm
    fake.answer = "one two three four five six"
    setattr(fake, fault, 3)
    # The partial answer streamed into the public message is removed; the reason is private.
    assert research_bot.refused_after_ack(research()) == expected
