"""Pure parts of the features: backtest maths, value coercion, report files, the LLM client's
error translation (through httpx's mock transport), text fitting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from catalyst_interactions.bot._shared import lines_within
from catalyst_interactions.bot.admin_changes import BadValue, coerce
from catalyst_interactions.bot.admin_report import (
    DECIDE,
    MODAL,
    ReportFormatError,
    parse_report,
    report_message,
)
from catalyst_interactions.bot.backtest import replay
from catalyst_interactions.bot.sentiment import aggregate, headline_score
from catalyst_interactions.llm import (
    ChatClient,
    ChatMessage,
    LLMAuthFailed,
    LLMBadResponse,
    LLMRateLimited,
    LLMRequestRejected,
    LLMTimeout,
    LLMUnavailable,
)
from catalyst_interactions.secret import Secret
from catalyst_interactions.store import Alert, Parameter, ParameterType
from support.discord_rules import channel_message_problems

DAY = 86_400
T0 = int(datetime(2024, 3, 4, 21, tzinfo=UTC).timestamp())  # a session close


def alert(at: int, price: float | None, sentiment: float | None = None, title: str = "t") -> Alert:
    return Alert(
        id=1,
        ticker="X",
        posted_at=datetime.fromtimestamp(at, UTC),
        title=title,
        price=price,
        score=None,
        sentiment=sentiment,
        reason=None,
        source=None,
        url=None,
    )


def test_replay_entries_exits_and_skips() -> None:
    stamps = [T0 + k * DAY for k in range(5)]
    closes = [10.0, 11.0, 12.0, 9.0, 15.0]
    result = replay(
        [
            alert(T0 - 3600, 9.5),  # session 0 (close 10), exit session 2 (12)
            alert(T0 + DAY - 60, None),  # session 1, no price: entry 11, exit session 3 (9)
            alert(T0 + 3 * DAY + 5, 10.0),  # session 4 (after close of 3): exit at last bar, open
            alert(T0 + 4 * DAY + 1, 20.0),  # after the last close
            alert(T0 - 2 * DAY, 5.0),  # before the history
        ],
        stamps,
        closes,
        days=2,
    )
    assert [(t.entry, t.exit, t.sessions_held, t.complete) for t in result.trades] == [
        (9.5, 12.0, 2, True),
        (11.0, 9.0, 2, True),
        (10.0, 15.0, 0, False),
    ]
    assert (result.too_old, result.not_closed) == (1, 1)
    assert result.hit_rate == pytest.approx(2 / 3)
    assert result.average == pytest.approx((12 / 9.5 + 9 / 11 + 15 / 10 - 3) / 3)


def param(kind: ParameterType, low: float | None = None, high: float | None = None) -> Parameter:
    return Parameter(
        name="p",
        value=0,
        type=kind,
        minimum=low,
        maximum=high,
        updated_at=datetime.now(UTC),
        updated_by="t",
    )


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (ParameterType.INT, " 7 ", 7),
        (ParameterType.INT, 7, 7),
        (ParameterType.FLOAT, "0.25", 0.25),
        (ParameterType.FLOAT, 1, 1.0),
        (ParameterType.BOOL, "Yes", True),
        (ParameterType.BOOL, "off", False),
        (ParameterType.STR, "abc", "abc"),
    ],
)
def test_coerce_accepts(kind: ParameterType, raw: object, expected: object) -> None:
    value = coerce(
        param(
            kind,
            0 if kind in (ParameterType.INT, ParameterType.FLOAT) else None,
            10 if kind in (ParameterType.INT, ParameterType.FLOAT) else None,
        ),
        raw,
    )
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        (ParameterType.INT, "7.5", "`p` needs a whole number, got `7.5`"),
        (ParameterType.INT, True, "`p` needs a whole number, got `true`"),
        (ParameterType.FLOAT, "inf", "`p` needs a number, got `inf`"),
        (ParameterType.BOOL, "maybe", "`p` needs true or false, got `maybe`"),
        (ParameterType.INT, "11", "`p` must be between 0 and 10; got `11`"),
        (ParameterType.FLOAT, "-1", "`p` must be between 0 and 10; got `-1`"),
    ],
)
def test_coerce_refuses(kind: ParameterType, raw: object, message: str) -> None:
    with pytest.raises(BadValue) as caught:
        coerce(param(kind, 0, 10), raw)
    assert caught.value.message == message


def test_report_parsing_refuses_malformed_files() -> None:
    good = {"report_id": "r-1", "changes": [{"parameter": "a", "proposed": 1}]}
    assert parse_report(good).title == "Tuning report r-1"
    for bad, problem in [
        ([], "a report must be a JSON object"),
        (good | {"report_id": "has space"}, "report_id must be"),
        (good | {"changes": []}, "changes must be a non-empty list"),
        (good | {"changes": [{"parameter": "a"}]}, "changes[0].proposed must be"),
        (
            good | {"changes": [{"parameter": "a", "proposed": 1, "type": "list"}]},
            "changes[0].type must be one of",
        ),
        (
            good | {"changes": [{"parameter": "a", "proposed": 1, "min": 2, "max": 1}]},
            "min is greater than max",
        ),
        (good | {"changes": [{"parameter": "a", "proposed": 1}] * 2}, "only once"),
    ]:
        with pytest.raises(
            ReportFormatError,
            match=problem.replace("[", r"\[").replace("]", r"\]").replace(".", r"\."),
        ):
            parse_report(bad)


def test_report_message_is_valid_and_round_trips_through_the_payload() -> None:
    report = parse_report(
        {
            "report_id": "r-1",
            "summary": "s",
            "changes": [
                {"parameter": f"p{i}", "proposed": i, "reason": "x" * 2000} for i in range(30)
            ],
        }
    )
    assert parse_report(report.to_payload()) == report
    body = report_message(report).to_dict()
    assert channel_message_problems(body) == []  # posted with the bot token
    fields = body["embeds"][0]["fields"]
    assert 1 < len(fields) < 30  # as many as fit in the 6000 characters, then a count
    assert fields[-1]["value"] == f"…and {30 - (len(fields) - 1)} more (press Details)."
    assert DECIDE[1].match("admin_approve_a_b_c") == {"action": "approve", "report_id": "a_b_c"}
    assert MODAL[0].match("admin:v1:modal:r-1") == {"report_id": "r-1"}


def test_report_changes_show_the_stored_value_then_the_reports_then_not_defined() -> None:
    report = parse_report(
        {
            "report_id": "r-2",
            "changes": [
                {"parameter": "stored", "proposed": 0.7, "current": 0.1},  # stale in the file
                {"parameter": "from_file", "proposed": 5, "current": 4},
                {"parameter": "unknown", "proposed": True},
            ],
        }
    )
    fields = report_message(report, current={"stored": 0.55}).to_dict()["embeds"][0]["fields"]
    values = {f["name"]: f["value"] for f in fields}
    assert values["stored"] == "`0.55` → **`0.7`**"
    assert values["from_file"] == "`4` → **`5`**"
    assert values["unknown"] == "`not defined` → **`true`**"


def test_sentiment_aggregate_and_headline_lexicon() -> None:
    assert headline_score("Company beats estimates, raises guidance") == 1.0
    assert headline_score("Probe widens as shares plunge after record quarter") == -1 / 3
    assert headline_score("Quarterly report") is None
    result = aggregate(
        [
            alert(T0, None, 0.5),
            alert(T0, None, -2.0),  # clamped to -1
            alert(T0, None, None, "FDA approval"),
            alert(T0, None, None, "meh"),
        ]
    )
    assert result.score == pytest.approx((0.5 - 1 + 1) / 3)
    assert (result.stored, result.from_headlines) == (2, 1)
    assert (result.bullish, result.neutral, result.bearish) == (2, 0, 1)


def test_lines_within_says_what_it_dropped() -> None:
    lines = [f"line {i:02d}" for i in range(10)]  # 7 characters each
    assert lines_within(lines, 1000) == "\n".join(lines)
    cut = lines_within(lines, 40)
    # 3 lines (24 characters with newlines) + "…and 7 more" (11) = 35; a 4th line would be 43.
    assert cut == "line 00\nline 01\nline 02\n…and 7 more"


# -- the LLM client ------------------------------------------------------------------------
def client(handler: Any, key: str | None = "sk-secret") -> ChatClient:
    return ChatClient(
        "https://llm.example/v1",
        "m",
        Secret(key) if key else None,
        transport=httpx.MockTransport(handler),
    )


async def test_llm_client_request_and_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "model": "m-2024",
                "choices": [
                    {
                        "message": {"role": "assistant", "content": "  hi  "},
                        "finish_reason": "length",
                    }
                ],
            },
        )

    result = await client(handler).complete([ChatMessage("user", "q")], max_tokens=5)
    assert (result.text, result.model, result.finish_reason) == ("hi", "m-2024", "length")
    assert str(seen[0].url) == "https://llm.example/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer sk-secret"
    assert json.loads(seen[0].content) == {
        "model": "m",
        "max_tokens": 5,
        "temperature": 0.3,
        "stream": False,
        "messages": [{"role": "user", "content": "q"}],
    }
    without_key = await client(handler, key=None).complete([ChatMessage("user", "q")])
    assert without_key.text == "hi" and "authorization" not in seen[1].headers
    assert "sk-secret" not in repr(client(handler))


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(401, json={"error": "bad key sk-secret"}), LLMAuthFailed),
        (httpx.Response(429, headers={"Retry-After": "7"}), LLMRateLimited),
        (httpx.Response(503), LLMUnavailable),
        (httpx.Response(404, json={"error": "model not found"}), LLMRequestRejected),
        (httpx.Response(200, content=b"<html>"), LLMBadResponse),
        (httpx.Response(200, json={"choices": []}), LLMBadResponse),
        (httpx.Response(200, json={"choices": [{"message": {"content": ""}}]}), LLMBadResponse),
    ],
)
async def test_llm_client_errors_are_translated(
    response: httpx.Response, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        await client(lambda request: response).complete([ChatMessage("user", "q")])
    assert "sk-secret" not in str(caught.value)
    if isinstance(caught.value, LLMRateLimited):
        assert caught.value.retry_after == 7.0


async def test_llm_client_network_failures() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(LLMTimeout):
        await client(timeout).complete([ChatMessage("user", "q")])
    with pytest.raises(LLMUnavailable):
        await client(refused).complete([ChatMessage("user", "q")])
    with pytest.raises(ValueError, match="http"):
        ChatClient("ftp://x", "m")
