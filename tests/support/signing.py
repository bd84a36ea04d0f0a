"""Signs interactions the way Discord does: Ed25519 over timestamp + raw body."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from nacl.signing import SigningKey

from catalyst_interactions.discord.snowflake import make_snowflake

_counter = itertools.count(1)


def new_id(at_ms: int | None = None) -> str:
    """A fresh snowflake; unique within the test run."""
    return make_snowflake(at_ms if at_ms is not None else int(time.time() * 1000), next(_counter))


class Signer:
    def __init__(self, key: SigningKey) -> None:
        self.key = key

    @property
    def public_key_hex(self) -> str:
        return self.key.verify_key.encode().hex()

    def headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.key.sign(ts.encode() + body).signature.hex()
        return {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": ts,
            "Content-Type": "application/json",
        }

    def signed(self, payload: dict[str, Any], **kw: Any) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        return body, self.headers(body, **kw)


def member(
    user_id: str = "100",
    *,
    roles: tuple[str, ...] = (),
    permissions: int = 0,
    username: str = "tester",
) -> dict[str, Any]:
    return {
        "user": {"id": user_id, "username": username},
        "roles": list(roles),
        "permissions": str(permissions),
        "joined_at": "2024-01-01T00:00:00+00:00",
    }


def ping() -> dict[str, Any]:
    return {"id": new_id(), "application_id": "1", "type": 1, "token": "tok", "version": 1}


def command(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    user: dict[str, Any] | None = None,
    resolved: dict[str, Any] | None = None,
    interaction_id: str | None = None,
    type_: int = 2,
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "900", "name": name, "type": 1}
    if options is not None:
        data["options"] = options
    if resolved is not None:
        data["resolved"] = resolved
    return {
        "id": interaction_id or new_id(),
        "application_id": "1",
        "type": type_,
        "token": "interaction-token-secret",
        "version": 1,
        "data": data,
        "guild_id": "500",
        "channel_id": "600",
        "member": user or member(),
        "app_permissions": "0",
        "locale": "en-US",
    }


def component(
    custom_id: str,
    *,
    values: list[str] | None = None,
    user: dict[str, Any] | None = None,
    component_type: int = 2,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = values
    return {
        "id": new_id(),
        "application_id": "1",
        "type": 3,
        "token": "interaction-token-secret",
        "version": 1,
        "data": data,
        "guild_id": "500",
        "channel_id": "600",
        "member": user or member(),
        "message": message
        or {"id": "700", "channel_id": "600", "content": "old", "embeds": [], "components": []},
    }


def modal_submit(
    custom_id: str,
    values: dict[str, str],
    *,
    user: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``message``: the message whose component opened the modal, as Discord sends it."""
    comps = [
        {"type": 18, "component": {"type": 4, "custom_id": k, "value": v}}
        for k, v in values.items()
    ]
    payload = {
        "id": new_id(),
        "application_id": "1",
        "type": 5,
        "token": "interaction-token-secret",
        "version": 1,
        "data": {"custom_id": custom_id, "components": comps},
        "guild_id": "500",
        "channel_id": "600",
        "member": user or member(),
    }
    if message is not None:
        payload["message"] = message
    return payload
