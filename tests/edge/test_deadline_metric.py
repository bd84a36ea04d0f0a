"""An answer that takes Discord's 3 s or more is counted as a deadline miss, one that does not
is not (real signatures and dispatch; only the edge's clock is driven by the test)."""

from __future__ import annotations

from pathlib import Path

from catalyst_interactions.app import _replay_guard
from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.verify import SignatureVerifier
from catalyst_interactions.edge.endpoint import InteractionEndpoint
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.dispatch import Dispatcher
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.metrics import Metrics
from catalyst_interactions.settings import Settings
from support.signing import Signer, command

MISSED = 'catalyst_interaction_deadline_missed_total{type="application_command"}'


async def test_answers_at_or_past_three_seconds_are_counted_as_missed(
    signer: Signer, tmp_path: Path
) -> None:
    now = [100.0]
    registry = Registry()

    @registry.command("work", "Takes the time it is given")
    async def work(ctx: CommandContext, seconds: float) -> Message:
        now[0] += seconds  # the edge's clock moves while the handler runs
        return Message(content="done")

    metrics = Metrics()
    endpoint = InteractionEndpoint(
        verifier=SignatureVerifier(bytes.fromhex(signer.public_key_hex), window_s=300),
        dispatcher=Dispatcher(registry),
        replay=_replay_guard(Settings(data_dir=tmp_path)),  # the edge's own replay memory
        metrics=metrics,
        clock=lambda: now[0],
    )

    async def answer(seconds: float) -> int:
        body, headers = signer.signed(
            command("work", [{"name": "seconds", "type": 10, "value": seconds}])
        )
        result = await endpoint.on_interaction(
            body,
            headers["X-Signature-Ed25519"].encode(),
            headers["X-Signature-Timestamp"].encode(),
        )
        return result.status

    assert await answer(2.9) == 200
    assert MISSED not in metrics.render().decode()
    assert await answer(3.0) == 200
    assert await answer(4.5) == 200
    text = metrics.render().decode()
    assert f"{MISSED} 2.0" in text
    # All three are in the latency histogram: 2.9 s and 3.0 s in its 3 s bucket (le is
    # inclusive), 4.5 s above it.
    hist = "catalyst_interaction_request_duration_seconds"
    assert f'{hist}_bucket{{le="2.5",type="application_command"}} 0.0' in text
    assert f'{hist}_bucket{{le="3.0",type="application_command"}} 2.0' in text
    assert f'{hist}_count{{type="application_command"}} 3.0' in text
