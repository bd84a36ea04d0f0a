"""`catalyst-interactions replay` against the old server (bench/legacy_flask.py) and ours.

The corpus is recorded by our own edge (CATALYST_RECORD_PATH), as in the migration. Our
test registry answers the legacy commands the way the new bot does: /help ephemeral with
new text, /watchlist as before, /chart deferred, legacy chart buttons as a deferred update,
and an unknown button with an explanation where the old server sent an empty 204.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from nacl.signing import SigningKey

from catalyst_interactions.cli import main
from catalyst_interactions.discord.messages import Message
from catalyst_interactions.framework.context import CommandContext, ComponentContext
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.ops.replay import Answer, Verdict, compare
from support.signing import Signer, command, component

pytestmark = pytest.mark.loopback


def new_bot() -> Registry:
    reg = Registry()

    @reg.command("help", "Commands", ephemeral=True)
    async def help_(ctx: CommandContext) -> Message:
        return Message(content="Catalyst commands: /chart /watchlist /help")

    @reg.command("watchlist", "Your watchlist", ephemeral=True)
    async def watchlist(ctx: CommandContext) -> Message:
        return Message(content="Your watchlist is empty.")

    @reg.command("chart", "A chart", mode=Mode.DEFERRED)
    async def chart(ctx: CommandContext, ticker: str) -> Message:
        return Message(content=f"{ticker} chart")

    @reg.component("chart_{ticker}_{tf}", mode=Mode.DEFERRED)
    async def legacy_chart(ctx: ComponentContext, ticker: str, tf: str) -> Message:
        return Message(content=f"{ticker} {tf}")

    return reg


CORPUS = [
    command("help"),
    command("watchlist"),
    command("chart", [{"name": "ticker", "type": 3, "value": "AAPL"}]),
    component("chart_AAPL_1D"),
    component("mystery_button"),
]


@pytest.fixture
def recorded(tmp_path: Path, start_new) -> Path:  # type: ignore[no-untyped-def]
    """A corpus written by our edge's recorder while it served the interactions."""
    corpus = tmp_path / "corpus.jsonl"
    url = start_new(record_path=corpus, data_dir=tmp_path / "recording")
    with httpx.Client() as client:
        for payload in CORPUS:
            body, headers = start_new.signer.signed(payload)
            assert client.post(url, content=body, headers=headers).status_code == 200
    assert len(corpus.read_text().splitlines()) == len(CORPUS)
    return corpus


@pytest.fixture
def start_new(start_hybrid, signer: Signer):  # type: ignore[no-untyped-def]
    def start(**overrides: Any) -> str:
        hybrid = start_hybrid(new_bot(), **overrides)
        return str(hybrid.client.base_url.join("/interactions"))

    start.signer = signer  # type: ignore[attr-defined]
    return start


@pytest.fixture
def key_file(tmp_path: Path, signer: Signer) -> Path:
    path = tmp_path / "staging-key"
    path.write_text(bytes(signer.key).hex() + "\n")
    return path


def run_replay(corpus: Path, old: str, new: str, key_file: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        main,
        ["replay", str(corpus), "--old", old, "--new", new, "--key-file", str(key_file), "--json"],
    )
    return result.exit_code, json.loads(result.output)


def verdicts(report: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    return {
        i["label"]: {(d["verdict"], d["what"]) for d in i["differences"]}
        for i in report["interactions"]
    }


def test_ours_against_the_legacy_server_has_no_regression(
    recorded: Path,
    key_file: Path,
    legacy_server,
    start_new,
    signer: Signer,  # type: ignore[no-untyped-def]
) -> None:
    old = legacy_server(signer.public_key_hex) + "/interactions"
    new = start_new()
    code, report = run_replay(recorded, old, new, key_file)
    assert code == 0 and report["regressions"] == 0
    got = verdicts(report)
    assert got["/help"] == {("change", "visibility"), ("change", "content")}
    assert got["/watchlist"] == set()  # the same answer on both sides
    assert got["/chart"] == {("improvement", "type")}  # 4 -> 5: deferred in time
    assert got["component chart_AAPL_1D"] == {("improvement", "type")}  # 4 -> 6
    assert got["component mystery_button"] == {("improvement", "answer")}  # 204 -> a message
    chart = next(i for i in report["interactions"] if i["label"] == "/chart")
    assert (chart["old"]["type"], chart["new"]["type"]) == (4, 5)


def test_the_reverse_direction_is_a_regression(
    recorded: Path,
    key_file: Path,
    legacy_server,
    start_new,
    signer: Signer,  # type: ignore[no-untyped-def]
) -> None:
    # Rolling back from ours to the old server loses privacy and answers: exit 1.
    old = start_new()
    new = legacy_server(signer.public_key_hex) + "/interactions"
    code, report = run_replay(recorded, old, new, key_file)
    assert code == 1
    got = verdicts(report)
    assert ("regression", "visibility") in got["/help"]  # ephemeral -> public
    assert got["component mystery_button"] == {("regression", "answer")}  # message -> 204
    assert got["/watchlist"] == set()
    assert report["regressions"] == 2


def test_a_new_endpoint_with_the_wrong_key_regresses_on_status(
    recorded: Path,
    key_file: Path,
    legacy_server,
    start_new,
    signer: Signer,  # type: ignore[no-untyped-def]
) -> None:
    old = legacy_server(signer.public_key_hex) + "/interactions"
    new = start_new(public_key_hex=SigningKey.generate().verify_key.encode().hex())
    code, report = run_replay(recorded, old, new, key_file)
    assert code == 1
    assert report["regressions"] == len(CORPUS)  # R1 for every one (the 204 is a 2xx too)
    assert all(i["new"]["status"] == 401 for i in report["interactions"])


def test_text_report_and_bad_corpus(tmp_path: Path, key_file: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"v":1,"interaction":{"type":2}}\nnot json\n')
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(bad),
            "--old",
            "http://127.0.0.1:1",
            "--new",
            "http://127.0.0.1:1",
            "--key-file",
            str(key_file),
        ],
    )
    assert result.exit_code == 2
    assert "bad.jsonl:2: not JSON" in result.output


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (Answer(200, 5, {"type": 4, "data": {"content": "a"}}), Answer(500, 5), Verdict.REGRESSION),
        (
            Answer(200, 5, {"type": 4, "data": {"content": "a"}}),
            Answer(200, 3100, {"type": 4, "data": {"content": "a"}}),
            Verdict.REGRESSION,
        ),
        (
            Answer(
                200,
                5,
                {
                    "type": 4,
                    "data": {
                        "content": "a",
                        "components": [{"type": 1, "components": [{"type": 2, "custom_id": "x"}]}],
                    },
                },
            ),
            Answer(200, 5, {"type": 4, "data": {"content": "a"}}),
            Verdict.REGRESSION,
        ),
        (
            Answer(200, 5, {"type": 4, "data": {"content": "a"}}),
            Answer(200, 5, {"type": 4, "data": {}}),
            Verdict.REGRESSION,
        ),
        (
            Answer(200, 5, {"type": 4, "data": {"content": "a"}}),
            Answer(200, 5, {"type": 9, "data": {"custom_id": "m"}}),
            Verdict.REGRESSION,
        ),
        (Answer(401, 5), Answer(200, 5, {"type": 1}), Verdict.IMPROVEMENT),
        (
            Answer(200, 5, {"type": 4, "data": {"content": "a"}}),
            Answer(200, 5, {"type": 7, "data": {"content": "a"}}),
            Verdict.CHANGE,
        ),
    ],
    ids=["5xx", "past-deadline", "buttons-lost", "empty", "became-modal", "fixed", "4-to-7"],
)
def test_regression_rules(old: Answer, new: Answer, expected: Verdict) -> None:
    assert expected in {d.verdict for d in compare(old, new)}
    if expected is not Verdict.REGRESSION:
        assert Verdict.REGRESSION not in {d.verdict for d in compare(old, new)}
