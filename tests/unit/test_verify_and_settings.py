from __future__ import annotations

import time

import pytest
from nacl.signing import SigningKey

from catalyst_interactions.discord.verify import (
    SignatureVerifier,
    VerificationError,
    signed_headers,
)
from catalyst_interactions.settings import ConfigError, Settings


def make(window: float = 300, now: float | None = None) -> tuple[SigningKey, SignatureVerifier]:
    key = SigningKey.generate()
    clock = (lambda: now) if now is not None else time.time
    return key, SignatureVerifier(key.verify_key.encode(), window_s=window, clock=clock)


def sign(key: SigningKey, ts: str, body: bytes) -> bytes:
    return key.sign(ts.encode() + body).signature.hex().encode()


def test_valid_signature_passes() -> None:
    key, verifier = make(now=1_000_000)
    verifier.verify(sign(key, "1000000", b"{}"), b"1000000", b"{}")


@pytest.mark.parametrize(
    ("ts", "ok"),
    [
        (1_000_000 - 60, True),
        (1_000_000 - 61, False),
        # The future gets only the small skew (10 s by default), not the whole window: a
        # timestamp far ahead would otherwise outlive the replay memory's record of its id.
        (1_000_000 + 10, True),
        (1_000_000 + 11, False),
        (1_000_000 + 60, False),
    ],
)
def test_window_is_configurable_and_inclusive(ts: int, ok: bool) -> None:
    key, verifier = make(window=60, now=1_000_000)
    call = lambda: verifier.verify(sign(key, str(ts), b"x"), str(ts).encode(), b"x")  # noqa: E731
    if ok:
        call()
    else:
        with pytest.raises(VerificationError) as info:
            call()
        assert info.value.reason == "stale_timestamp"


def test_signed_headers_are_what_the_verifier_accepts() -> None:
    # The signer our tools use to play Discord (cli `send`, `replay`) and the edge's verifier
    # must agree: the same key and body pass, another body does not.
    key, verifier = make(now=1_000_000)
    headers = signed_headers(key, b'{"type":1}', timestamp=1_000_000)
    assert headers["X-Signature-Timestamp"] == "1000000"
    assert headers["Content-Type"] == "application/json"
    signature = headers["X-Signature-Ed25519"].encode()
    verifier.verify(signature, b"1000000", b'{"type":1}')
    with pytest.raises(VerificationError) as info:
        verifier.verify(signature, b"1000000", b'{"type":2}')
    assert info.value.reason == "bad_signature"


def test_forged_stale_request_reports_bad_signature_not_staleness() -> None:
    _, verifier = make(now=1_000_000)
    with pytest.raises(VerificationError) as info:
        verifier.verify(b"ab" * 64, b"1", b"{}")
    assert info.value.reason == "bad_signature"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "DISCORD_PUBLIC_KEY is not set"),
        ("abc", "must be 64 hexadecimal characters (32 bytes); got 3"),
        ("g" + "0" * 63, "is not hexadecimal (character 1"),
        ("0" * 63 + "z", "is not hexadecimal (character 64"),
    ],
)
def test_public_key_errors_say_exactly_what_is_wrong(value: str | None, expected: str) -> None:
    pattern = expected.replace("(", r"\(").replace(")", r"\)")
    if value is None:  # missing: only the commands that need the key refuse
        settings = Settings.from_env({}, env_file=None)
        with pytest.raises(ConfigError, match=pattern):
            settings.public_key()
    else:  # malformed: refused as soon as settings are read, before anything starts
        with pytest.raises(ConfigError, match="^DISCORD_PUBLIC_KEY " + pattern):
            Settings.from_env({"DISCORD_PUBLIC_KEY": value}, env_file=None)


def test_env_file_is_read_and_environment_wins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = SigningKey.generate().verify_key.encode().hex()
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"DISCORD_PUBLIC_KEY={key}\nCATALYST_ADMIN_USER_IDS=1, 2\nCATALYST_TIMESTAMP_WINDOW_S=120\n"
    )
    settings = Settings.from_env({"CATALYST_TIMESTAMP_WINDOW_S": "60"}, env_file=env_file)
    assert settings.public_key() == bytes.fromhex(key)
    assert settings.admin_user_ids == frozenset({"1", "2"})
    assert settings.timestamp_window_s == 60


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CATALYST_ADMIN_ROLE_IDS": "12,abc"},
            "CATALYST_ADMIN_ROLE_IDS must be a comma-separated",
        ),
        ({"CATALYST_MAX_BODY_BYTES": "lots"}, "CATALYST_MAX_BODY_BYTES must be a whole number"),
        (
            {"CATALYST_AUTO_BUDGET_S": "5"},
            "CATALYST_AUTO_BUDGET_S must be at least 0.1 and at most 2.9",
        ),
        ({"CATALYST_LOG_LEVEL": "loud"}, "CATALYST_LOG_LEVEL must be one of"),
        ({"DISCORD_APPLICATION_ID": "my-app"}, "DISCORD_APPLICATION_ID must be a numeric"),
    ],
)
def test_bad_values_are_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env, env_file=None)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_bot_token_never_prints() -> None:
    settings = Settings.from_env({"DISCORD_BOT_TOKEN": "MTIz.secret-token-value"}, env_file=None)
    assert "secret-token-value" not in repr(settings)
    assert (
        settings.bot_token is not None and settings.bot_token.reveal() == "MTIz.secret-token-value"
    )
