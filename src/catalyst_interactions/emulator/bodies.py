"""Request and response bodies as Discord reads them: JSON, or multipart with uploads.

A multipart body has a ``payload_json`` part and ``files[n]`` parts (REF ``#uploading-files``).
It is parsed with the standard library's MIME parser, independently of the REST client's
encoder, so the emulator really checks what the client sends.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from dataclasses import dataclass
from typing import Any

from .errors import INVALID_FORM_BODY, INVALID_JSON, ApiError

__all__ = ["Upload", "parse_body"]


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    """The form field name, e.g. ``files[0]``."""
    filename: str
    content_type: str
    data: bytes


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, INVALID_JSON, "The request body contains invalid JSON.") from None


def parse_body(content_type: str, body: bytes) -> tuple[Any, dict[str, Upload]]:
    """The JSON payload (None when there is no body) and the uploads by field name."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return None, {}
    if kind == "application/json":
        return _json(body), {}
    if kind != "multipart/form-data":
        raise ApiError(
            400,
            INVALID_FORM_BODY,
            "Invalid Form Body",
            {
                "_errors": [
                    {
                        "code": "CONTENT_TYPE_INVALID",
                        "message": f"Expected Content-Type application/json or "
                        f"multipart/form-data, got {kind or 'none'}",
                    }
                ]
            },
        )
    raw = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not message.is_multipart():
        raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body")
    payload: Any = None
    uploads: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition") or "")
        data = part.get_payload(decode=True)
        data = bytes(data) if isinstance(data, bytes | bytearray) else b""
        filename = part.get_filename()
        if name == "payload_json" and filename is None:
            payload = _json(data)
        elif filename is not None:
            uploads[name] = Upload(name, filename, part.get_content_type(), data)
    return payload, uploads
