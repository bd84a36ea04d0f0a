"""Property: whatever arrives — random bytes, random headers, or well-signed random JSON —
the edge never answers with a 5xx and never shows a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalyst_interactions.settings import Settings
from support.edge import edge_runtime
from support.servers import serve_in_thread
from support.signing import Signer, new_id

pytestmark = pytest.mark.loopback

# Printable ASCII plus inner spaces (httpx refuses leading/trailing whitespace in values):
# bytes.fromhex skips spaces, which once let a 128-character header decode to too few bytes.
header_value = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=140
).map(str.strip) | st.builds(lambda n: "00 " * n + "00", st.integers(0, 60))
json_scalar = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats() | st.text(max_size=30)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
option = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["command", "x", "ticker"]),
        "type": st.integers(0, 12),
        "value": json_scalar,
    }
)
data = st.fixed_dictionaries(
    {"name": st.sampled_from(["help", "nope", ""]), "id": st.just("9"), "type": st.integers(-1, 5)},
    optional={
        "options": st.lists(option, max_size=3),
        "custom_id": st.text(max_size=120),
        "component_type": st.integers(0, 9),
        "values": st.lists(st.text(max_size=5)),
        "components": st.lists(json_value, max_size=3),
        "resolved": json_value,
    },
)
interaction = st.fixed_dictionaries(
    {"id": st.builds(lambda: new_id()), "application_id": st.just("1"), "type": st.integers(0, 6)},
    optional={
        "data": data | json_value,
        "token": st.text(max_size=20),
        "member": json_value,
        "user": json_value,
        "message": json_value,
        "guild_id": json_value,
    },
)


@pytest.fixture(scope="module")
def module_signer() -> Signer:
    from nacl.signing import SigningKey

    return Signer(SigningKey.generate())


@pytest.fixture(scope="module")
def client(
    module_signer: Signer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    settings_ = Settings(
        public_key_hex=module_signer.public_key_hex,
        application_id="1",
        data_dir=tmp_path_factory.mktemp("edge"),
    )
    with serve_in_thread(edge_runtime(settings_).app) as url, httpx.Client(base_url=url) as c:
        yield c


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=2048), signature=header_value, timestamp=header_value)
def test_arbitrary_bytes_and_headers(
    client: httpx.Client, body: bytes, signature: str, timestamp: str
) -> None:
    check(
        client.post(
            "/interactions",
            content=body,
            headers={"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp},
        )
    )


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=interaction)
def test_signed_arbitrary_interactions(
    client: httpx.Client, module_signer: Signer, payload: dict[str, object]
) -> None:
    body = json.dumps(payload).encode()
    check(client.post("/interactions", content=body, headers=module_signer.headers(body)))
