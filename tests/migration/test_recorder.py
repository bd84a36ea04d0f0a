"""The opt-in recorder: tokens and user identifiers never reach the corpus, pseudonyms are
consistent within it, and the edge writes one line per verified non-PING interaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.payloads import decode_interaction
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.ops.recorder import InteractionRecorder
from catalyst_interactions.settings import Settings
from support.edge import edge_runtime
from support.servers import serve_in_thread
from support.signing import Signer, command, component, member, modal_submit, ping

ALICE, BOB, ROLE, GUILD = "80351110224678912", "80351110224678913", "41771983423143936", "500"
TOKEN = "aW50ZXJhY3Rpb246c2VjcmV0LXRva2Vu"
PRIVATE = (
    ALICE,
    BOB,
    "alice_real",
    "Alice Real",
    "Ali the Great",
    "bob_real",
    TOKEN,
    "a_1269e74af4df7417b13759eae50c83dc",
)


def rich_interaction() -> dict[str, Any]:
    alice = {
        "id": ALICE,
        "username": "alice_real",
        "global_name": "Alice Real",
        "avatar": "a_1269e74af4df7417b13759eae50c83dc",
    }
    bob = {"id": BOB, "username": "bob_real", "global_name": None}
    payload = command(
        "watch",
        [
            {"name": "friend", "type": 6, "value": BOB},
            {"name": "who", "type": 9, "value": ROLE},
            {"name": "ticker", "type": 3, "value": "AAPL"},
        ],
        user={
            "user": alice,
            "nick": "Ali the Great",
            "roles": [ROLE],
            "permissions": "8",
            "joined_at": "2020-01-01T00:00:00+00:00",
        },
        resolved={
            "users": {BOB: bob},
            "members": {BOB: {"nick": "bobby", "roles": []}},
            "roles": {ROLE: {"id": ROLE, "name": "traders"}},
        },
    )
    payload["token"] = TOKEN
    payload["authorizing_integration_owners"] = {"0": GUILD, "1": ALICE}
    payload["message"] = {
        "id": "700",
        "author": alice,
        "content": f"ping <@{BOB}> and <@!{ALICE}>",
        "mentions": [bob],
    }
    return payload


def record(tmp_path: Path, *payloads: dict[str, Any]) -> list[dict[str, Any]]:
    recorder = InteractionRecorder(tmp_path / "corpus.jsonl")
    for payload in payloads:
        body = json.dumps(payload).encode()
        recorder.record(decode_interaction(body), body)
    text = (tmp_path / "corpus.jsonl").read_text()
    for secret in PRIVATE:
        assert secret not in text, "an identifier or token reached the corpus"
    return [json.loads(line) for line in text.splitlines()]


def test_tokens_and_user_identifiers_are_replaced_consistently(tmp_path: Path) -> None:
    [line] = record(tmp_path, rich_interaction())
    assert line["v"] == 1 and len(line["corpus"]) == 16
    got = line["interaction"]
    assert got["token"] == "REDACTED"
    alice = got["member"]["user"]["id"]
    assert alice != ALICE and alice.isdigit()
    assert got["member"]["nick"].startswith("nick") and "avatar" not in got["member"]["user"]
    assert "joined_at" not in got["member"]
    assert got["message"]["author"]["id"] == alice
    assert got["authorizing_integration_owners"] == {"0": GUILD, "1": alice}
    bob = got["data"]["options"][0]["value"]
    assert bob not in (alice, BOB)
    assert list(got["data"]["resolved"]["users"]) == [bob]
    assert list(got["data"]["resolved"]["members"]) == [bob]
    assert got["data"]["resolved"]["users"][bob]["id"] == bob
    assert got["message"]["mentions"][0]["id"] == bob
    assert got["message"]["content"] == f"ping <@{bob}> and <@{alice}>"
    # What identifies no one and drives behaviour is kept.
    assert got["data"]["options"][1]["value"] == ROLE  # a mentionable that is a role
    assert got["data"]["options"][2]["value"] == "AAPL"
    assert got["member"]["roles"] == [ROLE] and got["member"]["permissions"] == "8"
    assert got["guild_id"] == GUILD and got["data"]["resolved"]["roles"][ROLE]["name"] == "traders"


def test_same_user_same_pseudonym_across_lines_of_a_corpus(tmp_path: Path) -> None:
    first, second = record(tmp_path, rich_interaction(), rich_interaction())
    assert first["corpus"] == second["corpus"]
    assert first["interaction"]["member"] == second["interaction"]["member"]
    user = first["interaction"]["member"]["user"]
    assert user["username"].startswith("user") and user["global_name"].startswith("User ")


@pytest.mark.loopback
def test_the_edge_records_verified_interactions_when_enabled(
    tmp_path: Path, signer: Signer
) -> None:
    registry = Registry()

    @registry.command("hello", "Says hello")
    async def hello(ctx: CommandContext) -> Message:
        return Message(content="hi")

    corpus = tmp_path / "rec" / "corpus.jsonl"
    settings = Settings(public_key_hex=signer.public_key_hex, data_dir=tmp_path, record_path=corpus)
    runtime = edge_runtime(settings, registry=registry)
    with serve_in_thread(runtime.app) as url, httpx.Client(base_url=url) as client:
        for payload in (ping(), command("hello"), command("hello")):
            body, headers = signer.signed(payload)
            assert client.post("/interactions", content=body, headers=headers).status_code == 200
        body, headers = signer.signed(command("hello"))
        headers["X-Signature-Ed25519"] = "0" * 128
        assert client.post("/interactions", content=body, headers=headers).status_code == 401
    lines = [json.loads(line) for line in corpus.read_text().splitlines()]
    assert [line["interaction"]["data"]["name"] for line in lines] == ["hello", "hello"]
    assert corpus.stat().st_mode & 0o077 == 0  # owner-only


def test_mentions_in_embeds_components_and_dm_recipients_are_replaced() -> None:
    from catalyst_interactions.ops.recorder import Pseudonyms

    secret_id, secret_name = "81234567890123456", "real.person"
    payload = {
        "id": "1",
        "application_id": "2",
        "type": 3,
        "token": "secret-token-xyz",
        "channel": {
            "id": "9",
            "type": 1,
            "recipients": [{"id": secret_id, "username": secret_name}],
        },
        "message": {
            "id": "3",
            "content": "",
            "embeds": [
                {
                    "title": "Report",
                    "fields": [{"name": "Status", "value": f"Approved by <@{secret_id}>"}],
                }
            ],
            "components": [{"type": 10, "content": f"cc <@!{secret_id}>"}],
            "interaction_metadata": {
                "id": "4",
                "type": 2,
                "target_user": {"id": secret_id, "username": secret_name},
            },
        },
        "data": {"custom_id": "x", "component_type": 2},
    }
    text = json.dumps(Pseudonyms().interaction(payload))
    assert secret_id not in text
    assert secret_name not in text
    assert "secret-token-xyz" not in text


@pytest.mark.loopback
def test_user_ids_in_selects_options_and_forms_are_replaced(tmp_path: Path, signer: Signer) -> None:
    """Through the real edge: every place a user id or a typed mention can travel in a
    component, a command option, an autocomplete and a form."""
    carol, dave = "81234567890123457", "81234567890123458"
    mention = f"look at <@{carol}> and <@!{dave}>"
    user_select = component("pick:user", values=[carol, dave], component_type=5)
    user_select["data"]["resolved"] = {
        "users": {carol: {"id": carol, "username": "carol_real"}, dave: {"id": dave}}
    }
    mentionable = component("pick:any", values=[dave, ROLE], component_type=7)
    mentionable["data"]["resolved"] = {
        "users": {dave: {"id": dave, "username": "dave_real"}},
        "roles": {ROLE: {"id": ROLE, "name": "traders"}},
    }
    string_select = component("pick:text", values=[mention, "plain"], component_type=3)
    typed = command("note", [{"name": "text", "type": 3, "value": mention}])
    autocomplete = command(
        "note", [{"name": "text", "type": 3, "value": f"<@{carol}>", "focused": True}], type_=4
    )
    form = modal_submit("form:v1", {"why": mention})
    form["data"]["components"].append(
        {"type": 18, "component": {"type": 5, "custom_id": "who", "values": [carol]}}
    )
    form["data"]["resolved"] = {"users": {carol: {"id": carol}}}
    payloads = [user_select, mentionable, string_select, typed, autocomplete, form]
    alice_member = member(ALICE, username="alice_real")
    for payload in payloads:
        payload["member"] = alice_member

    corpus = tmp_path / "corpus.jsonl"
    settings = Settings(public_key_hex=signer.public_key_hex, data_dir=tmp_path, record_path=corpus)
    runtime = edge_runtime(settings, registry=Registry())  # no handlers: recorded, then refused
    with serve_in_thread(runtime.app) as url, httpx.Client(base_url=url) as client:
        for payload in payloads:
            body, headers = signer.signed(payload)
            assert client.post("/interactions", content=body, headers=headers).status_code == 200
    text = corpus.read_text()
    for private in (carol, dave, ALICE, "carol_real", "dave_real", "alice_real"):
        assert private not in text
    got = [json.loads(line)["interaction"] for line in text.splitlines()]
    assert len(got) == len(payloads)
    carol_p, dave_p = got[0]["data"]["values"]
    assert carol_p.isdigit() and dave_p.isdigit() and carol_p != dave_p
    assert set(got[0]["data"]["resolved"]["users"]) == {carol_p, dave_p}
    assert got[1]["data"]["values"] == [dave_p, ROLE]  # the same person, the role kept
    pseudonymised = f"look at <@{carol_p}> and <@{dave_p}>"
    assert got[2]["data"]["values"] == [pseudonymised, "plain"]
    assert got[3]["data"]["options"][0]["value"] == pseudonymised
    assert got[4]["data"]["options"][0]["value"] == f"<@{carol_p}>"
    fields = got[5]["data"]["components"]
    assert fields[0]["component"]["value"] == pseudonymised
    assert fields[1]["component"]["values"] == [carol_p]


def test_the_pseudonym_map_is_bounded_and_stays_consistent_past_its_bound() -> None:
    """A flood of made-up user ids cannot grow the recorder: past the bound, pseudonyms come
    from a keyed hash (no memory), still the same for the same id and different for others."""
    from catalyst_interactions.ops.recorder import Pseudonyms

    names = Pseudonyms(max_entries=3)
    first = [names.user_id(str(10**17 + i)) for i in range(3)]
    assert len(set(first)) == 3
    flood = [names.user_id(str(2 * 10**17 + i)) for i in range(2_000)]
    assert len(names._index) == 3  # nothing past the bound is remembered
    assert len(set(flood)) == 2_000  # still one pseudonym per user
    assert names.user_id(str(2 * 10**17 + 7)) == flood[7]  # consistent within the corpus
    assert names.user_id(str(10**17)) == first[0]
    assert all(str(2 * 10**17 + i) not in flood[i] for i in range(2_000))
    # Another corpus hashes with another key: pseudonyms cannot be matched across corpora.
    other = Pseudonyms(max_entries=0)
    assert other.user_id(str(2 * 10**17 + 7)) != names.user_id(str(2 * 10**17 + 7))
