"""The legacy baseline: the old Catalyst interaction server, as the migration notes show it.

Kept deliberately as it was, because it is the yardstick: Flask's built-in threaded
server, PyNaCl with the ``VerifyKey`` rebuilt from hex on every request, ``jsonify``
answers, an if/elif router on the interaction type, on command names and on
``custom_id.split("_")``. Do not "fix" it: the benchmark ratios are against this.

Two choices make it *faster* than the original, so our ratios are conservative:
its ``log.info`` calls and werkzeug's per-request access log are silent unless
``--log-level info`` / ``--access-log`` are given.

Run: ``DISCORD_PUBLIC_KEY=<hex> python bench/legacy_flask.py --port 8081``.
Also answers ``GET /health`` so that the harness can poll its readiness.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from flask import Flask, Response, jsonify, request
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

log = logging.getLogger("legacy_interaction_server")

HELP_TEXT = (
    "**Catalyst Bot commands**\n"
    "/chart <ticker> [timeframe] - price chart\n"
    "/watchlist - your watchlist\n"
    "/alerts - active alerts\n"
    "/help - this message"
)


def verify_discord_signature(signature: str, timestamp: str, body: bytes, public_key: str) -> bool:
    """The old check, verbatim in spirit: the key is parsed from hex on each call."""
    try:
        verify_key = VerifyKey(bytes.fromhex(public_key))
        message = timestamp.encode() + body
        verify_key.verify(message, bytes.fromhex(signature))
        return True
    except (BadSignatureError, ValueError):
        # ValueError: a signature that is not hex or not 64 bytes.
        return False


def message(content: str, *, ephemeral: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"content": content}
    if ephemeral:
        data["flags"] = 64
    return {"type": 4, "data": data}


def handle_command(interaction: dict[str, Any]) -> dict[str, Any]:
    name = interaction.get("data", {}).get("name")
    if name == "help":
        return message(HELP_TEXT)
    elif name == "watchlist":
        return message("Your watchlist is empty.", ephemeral=True)
    elif name == "chart":
        options = interaction["data"].get("options", [])
        ticker = str(options[0]["value"]).upper() if options else "SPY"
        return message(f"Chart for {ticker} (1D)")
    else:
        return message("An error occurred", ephemeral=True)


def handle_interaction(interaction: dict[str, Any]) -> dict[str, Any] | None:
    """Components and modals, routed by ``custom_id`` prefix as the old bot did."""
    custom_id = str(interaction.get("data", {}).get("custom_id", ""))
    parts = custom_id.split("_")
    if custom_id.startswith("chart_toggle_") and len(parts) >= 4:
        return message(f"Chart for {parts[2]} ({parts[3]}) with indicators toggled")
    elif custom_id.startswith("chart_") and len(parts) >= 3:
        return message(f"Chart for {parts[1]} ({parts[2]})")
    elif custom_id.startswith("admin_modal_") and len(parts) >= 3:
        return message(f"Report {parts[2]} updated", ephemeral=True)
    elif custom_id.startswith("admin_") and len(parts) >= 3:
        return message(f"Admin action {parts[1]} applied to report {parts[2]}", ephemeral=True)
    else:
        return None


def create_app(public_key: str) -> Flask:
    """The old server's routes; ``public_key`` is the hex key, kept as text like before."""
    app = Flask(__name__)

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.post("/interactions")
    def interactions() -> tuple[Response | str, int]:
        signature = request.headers.get("X-Signature-Ed25519")
        timestamp = request.headers.get("X-Signature-Timestamp")
        body = request.get_data()
        if not signature or not timestamp:
            return jsonify({"error": "missing signature"}), 401
        if not verify_discord_signature(signature, timestamp, body, public_key):
            return jsonify({"error": "invalid request signature"}), 401

        interaction_data = request.get_json(silent=True)
        if not isinstance(interaction_data, dict):
            return jsonify({"error": "invalid json"}), 400
        interaction_type = interaction_data.get("type")

        if interaction_type == 1:
            log.info("responding_to_ping")
            return jsonify({"type": 1}), 200
        if interaction_type == 2:
            log.info("handling_command")
            return jsonify(handle_command(interaction_data)), 200
        if interaction_type in (3, 5):
            log.info("handling_button_interaction")
            response = handle_interaction(interaction_data)
            if response:
                return jsonify(response), 200
            else:
                return "", 204
        return jsonify({"error": "unknown interaction type"}), 400

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--access-log", action="store_true", help="werkzeug per-request log")
    args = parser.parse_args(argv)

    public_key = os.environ.get("DISCORD_PUBLIC_KEY", "")
    try:
        if len(bytes.fromhex(public_key)) != 32:
            raise ValueError
    except ValueError:
        print("DISCORD_PUBLIC_KEY must be 64 hex characters", file=sys.stderr)
        return 2

    logging.basicConfig(level=args.log_level.upper())
    if not args.access_log:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    create_app(public_key).run(host=args.host, port=args.port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
