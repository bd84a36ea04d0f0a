"""The page's side: static files, attachments, the state snapshot, live events and actions.

The page is plain HTML/CSS/JS shipped in the package (no build step). It reads a snapshot
from ``GET /ui/state``, follows changes on ``GET /ui/events`` (Server-Sent Events) and acts
through ``POST /ui/interactions``, which builds the interaction exactly as Discord would and
sends it to the application through :class:`~.sender.InteractionSender`.

``POST /ui/*`` requires ``Content-Type: application/json``: a foreign web page cannot send
that to a loopback server without a CORS preflight, which is never granted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from importlib import resources

from .events import Event
from .http import Receive, Request, Response, Router, Scope, Send
from .interactions import (
    ClientRefusal,
    command_interaction,
    component_interaction,
    decode_upload,
    modal_interaction,
)
from .sender import InteractionSender
from .store import JSON, InteractionRecord, Store
from .world import Persona

__all__ = ["WebUi"]

log = logging.getLogger("catalyst_interactions.emulator.web")

_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "render.js": "text/javascript; charset=utf-8",
    "composer.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
KEEPALIVE_S = 15.0


class WebUi:
    def __init__(self, store: Store, sender: InteractionSender) -> None:
        self._store = store
        self._sender = sender
        self._static: dict[str, bytes] = {}
        # Told to every event stream: a page that sees another one knows the server restarted.
        self.instance = secrets.token_hex(8)

    def install(self, router: Router) -> None:
        router.add("GET", r"/", self.index)
        router.add("GET", r"/static/(?P<name>[a-z0-9_.-]+)", self.static)
        router.add("GET", r"/favicon\.ico", self.favicon)
        router.add(
            "GET", r"/attachments/(?P<channel_id>\d+)/(?P<attachment_id>\d+)/[^/]+", self.attachment
        )
        router.add("GET", r"/ui/state", self.state)
        router.add("POST", r"/ui/interactions", self.interact)
        router.add_raw("GET", r"/ui/events", self.events)

    # -- files ------------------------------------------------------------------------------
    def _file(self, name: str) -> bytes:
        if name not in self._static:
            self._static[name] = resources.files(__package__).joinpath("static", name).read_bytes()
        return self._static[name]

    async def index(self, request: Request) -> Response:
        return Response(
            200, self._file("index.html"), _STATIC["index.html"], {"Cache-Control": "no-store"}
        )

    async def static(self, request: Request) -> Response:
        name = request.params["name"]
        if name not in _STATIC:
            return Response.json({"error": "not found"}, 404)
        return Response(200, self._file(name), _STATIC[name], {"Cache-Control": "no-cache"})

    async def favicon(self, request: Request) -> Response:
        return Response.empty()  # the page declares its icon inline

    async def attachment(self, request: Request) -> Response:
        stored = self._store.files.get(request.params["attachment_id"])
        if stored is None:
            return Response.json({"message": "404: Not Found", "code": 0}, 404)
        headers = {
            "Cache-Control": "public, max-age=86400",
            "X-Content-Type-Options": "nosniff",
            # Files come from bots and users but are served from the page's own origin (Discord
            # uses a separate CDN domain): nothing in them may run as the page.
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
        }
        if not stored.content_type.startswith("image/"):
            headers["Content-Disposition"] = "attachment"
        return Response(200, stored.data, stored.content_type, headers)

    # -- state and events -------------------------------------------------------------------
    async def state(self, request: Request) -> Response:
        store = self._store
        world = store.world
        return Response.json(
            {
                "seq": store.hub.seq,
                "instance": self.instance,
                "application": {
                    "id": world.application_id,
                    "name": world.application_name,
                    "endpoint": store.application.get("interactions_endpoint_url"),
                },
                "bot": world.bot_user,
                "guild": world.guild,
                "channels": list(world.channels),
                "roles": list(world.roles),
                "members": [
                    {
                        "key": m.key,
                        "label": m.label,
                        "user": m.user,
                        "roles": list(m.roles),
                        "permissions": str(m.permissions),
                    }
                    for m in world.members
                ],
                "personas": list(world.personas),
                "commands": store.all_commands(),
                "messages": store.channel_messages(),
            }
        )

    async def events(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request.from_scope(scope, b"")
        since_raw = request.headers.get("last-event-id") or request.query.get("since")
        since = int(since_raw) if since_raw and since_raw.isdigit() else None
        hub = self._store.hub
        queue = hub.subscribe(since)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-store"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        disconnected = asyncio.ensure_future(_disconnect(receive))
        try:
            hello = json.dumps({"instance": self.instance})
            await send(
                {
                    "type": "http.response.body",
                    "body": f"retry: 1000\n\nevent: hello\ndata: {hello}\n\n".encode(),
                    "more_body": True,
                }
            )
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, disconnected}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    if disconnected in done:
                        break
                    await send(
                        {
                            "type": "http.response.body",
                            "body": b": keep-alive\n\n",
                            "more_body": True,
                        }
                    )
                    continue
                event = getter.result()
                if event is None:
                    break
                await send({"type": "http.response.body", "body": _sse(event), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the browser went away mid-write
            pass
        finally:
            hub.unsubscribe(queue)
            disconnected.cancel()

    # -- actions ----------------------------------------------------------------------------
    async def interact(self, request: Request) -> Response:
        if not request.content_type.startswith("application/json"):
            return Response.json({"error": "Content-Type must be application/json"}, 415)
        try:
            body = json.loads(request.body)
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return Response.json({"error": "the body must be a JSON object"}, 400)
        try:
            payload, record = self._build(body)
        except ClientRefusal as exc:
            return Response.json({"ok": False, "refused": True, "error": str(exc)}, 400)
        result = await self._sender.send(payload, record)
        return Response.json(result.to_json())

    def _build(self, body: JSON) -> tuple[JSON, InteractionRecord]:
        store = self._store
        persona = self._persona(body.get("persona"))
        kind = body.get("kind")
        if kind in ("command", "autocomplete"):
            options = body.get("options") or {}
            raw_files = body.get("files") or {}
            if not isinstance(options, dict) or not isinstance(raw_files, dict):
                raise ClientRefusal("options and files must be objects")
            files = {
                name: decode_upload(name, raw)
                for name, raw in raw_files.items()
                if isinstance(raw, dict)
            }
            path = body.get("path")
            if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
                raise ClientRefusal("path must be a list of names")
            focused = str(body.get("focused")) if kind == "autocomplete" else None
            return command_interaction(
                store,
                persona,
                str(body.get("channel_id") or store.world.default_channel_id),
                str(body.get("command_id", "")),
                path,
                options,
                focused=focused,
                files=files,
            )
        if kind == "component":
            values = body.get("values")
            return component_interaction(
                store,
                persona,
                str(body.get("message_id", "")),
                str(body.get("custom_id", "")),
                values if isinstance(values, list) else None,
            )
        if kind == "modal":
            values = body.get("values") or {}
            if not isinstance(values, dict):
                raise ClientRefusal("values must be an object")
            return modal_interaction(store, persona, str(body.get("interaction_id", "")), values)
        raise ClientRefusal("kind must be command, autocomplete, component or modal")

    def _persona(self, key: object) -> Persona:
        persona = self._store.world.personas.get(str(key or "regular"))
        if persona is None:
            raise ClientRefusal(f"no persona {key!r}")
        return persona


def _sse(event: Event) -> bytes:
    data = json.dumps({"kind": event.kind, "data": event.data}, separators=(",", ":"))
    return f"id: {event.seq}\nevent: update\ndata: {data}\n\n".encode()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
