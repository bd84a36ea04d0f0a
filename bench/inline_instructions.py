"""CPU instructions per request on the edge's inline path, counted by callgrind: a figure
that does not move with the load of a shared machine (wall-clock rates drift by 2x there).

The real edge (``build_runtime`` as ``serve --no-workers`` builds it, the real bot registry)
answers signed requests in-process through its ASGI app, as uvicorn calls it, without HTTP;
beside it, the signature check alone as the bare app does it (PyNaCl's ``VerifyKey``). Kinds:
``verify``, PING and ``/help``. Each is run twice under ``valgrind --tool=callgrind`` with a
different number of requests; the difference divided by the difference in requests is the
cost of one request, start-up and imports cancelled out. ``/help`` minus the signature check
alone is what the edge adds to the work the bare ASGI app of ``edge_throughput.py`` does
(which also reads the body and answers: a few thousand instructions).

Usage: ``python bench/inline_instructions.py [--requests 1000]`` (needs valgrind; ~3 min).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nacl.signing import VerifyKey

from _signing import help_body, interaction_id, new_signing_key, ping_body, verify_key_hex

APPLICATION_ID = "1000000000000000001"
KINDS = ("verify", "ping", "help")
_COLLECTED = re.compile(r"Collected : (\d+)")


def write_pool(path: Path, size: int) -> None:
    """``size`` signed PINGs and ``/help`` commands with distinct ids, stamped now."""
    key = new_signing_key()
    timestamp = str(int(time.time()))
    base_ms = int(time.time() * 1000) - 60_000
    pool: dict[str, object] = {"public_key": verify_key_hex(key), "timestamp": timestamp}
    for kind, make, offset in (("ping", ping_body, 0), ("help", help_body, 10)):
        bodies = [make(interaction_id(base_ms + offset, i), APPLICATION_ID) for i in range(size)]
        pool[kind] = [
            [body.decode(), key.sign(timestamp.encode() + body).signature.hex()] for body in bodies
        ]
    path.write_text(json.dumps(pool))


def serve_requests(pool_path: Path, kind: str, count: int) -> None:
    """Run ``count`` requests of ``kind`` through the edge (this is what callgrind counts)."""
    pool = json.loads(pool_path.read_text())
    data_dir = tempfile.mkdtemp(prefix="inline-instructions-")
    os.environ.update(
        {
            "DISCORD_PUBLIC_KEY": pool["public_key"],
            "DISCORD_APPLICATION_ID": APPLICATION_ID,
            "CATALYST_DATA_DIR": data_dir,
            "CATALYST_LOG_LEVEL": "warning",
            # As in edge_throughput.py: one load generator is one member, limits are off.
            "CATALYST_ADMIN_GUILD_IDS": "1",
            "CATALYST_USER_RATE": "off",
            "CATALYST_JOBS_PER_USER": "0",
        }
    )
    from catalyst_interactions.app import build_runtime
    from catalyst_interactions.settings import Settings

    runtime = build_runtime(Settings.from_env(), workers=False)
    app = runtime.app
    # The signature check alone, as the bare app of edge_throughput.py does it.
    verify_key = VerifyKey(bytes.fromhex(pool["public_key"]))
    timestamp = pool["timestamp"].encode()
    requests = [
        (body.encode(), signature.encode())
        for body, signature in pool["ping" if kind == "ping" else "help"][:count]
    ]
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def run() -> None:
        for body, signature in requests:
            if kind == "verify":
                verify_key.verify(timestamp + body, bytes.fromhex(signature.decode()))
                continue
            # Through the ASGI app as uvicorn calls it: adapter, endpoint, dispatcher.
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-signature-ed25519", signature),
                (b"x-signature-timestamp", timestamp),
            ]
            scope = {"type": "http", "method": "POST", "path": "/interactions", "headers": headers}
            message = {"type": "http.request", "body": body, "more_body": False}

            async def receive(message: dict[str, object] = message) -> dict[str, object]:
                return message

            sent.clear()
            await app(scope, receive, send)  # type: ignore[arg-type]
            if sent[0].get("status") != 200:
                raise SystemExit(f"{kind}: answered {sent[0].get('status')} {sent[1:]!r:.200}")

    asyncio.run(run())
    shutil.rmtree(data_dir, ignore_errors=True)


def instructions(pool_path: Path, kind: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}/callgrind.out",
                sys.executable,
                __file__,
                "--serve",
                str(pool_path),
                kind,
                str(count),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed:\n{done.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--requests", type=int, default=1000, help="requests in the longer run")
    parser.add_argument(
        "--serve", nargs=3, metavar=("POOL", "KIND", "COUNT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve_requests(Path(args.serve[0]), args.serve[1], int(args.serve[2]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    short, long = max(1, args.requests // 5), args.requests
    per_request: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        pool_path = Path(scratch) / "pool.json"
        for kind in KINDS:
            # A fresh pool per kind: the runs of all three take longer than a timestamp lives.
            write_pool(pool_path, long)
            counted = [instructions(pool_path, kind, n) for n in (short, long)]
            per_request[kind] = (counted[1] - counted[0]) / (long - short)
            print(f"{kind:<7} {per_request[kind]:>10,.0f} instructions per request", flush=True)
    extra = per_request["help"] - per_request["verify"]
    print(f"/help beyond the signature check: {extra:,.0f} instructions per request")


if __name__ == "__main__":
    main()
