"""AWS Signature Version 4 for S3-compatible stores (AWS, MinIO, R2, moto), header-based.

The algorithm, per AWS's "Signature Version 4 signing process": build the canonical
request (method, URI-encoded path, sorted query, sorted lower-cased headers, signed header
list, payload SHA-256), hash it into a string-to-sign scoped to date/region/service, and sign
that with a key derived by chained HMACs from the secret. S3 paths are encoded once (other
services encode twice), and S3 wants ``x-amz-content-sha256`` on every request.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from ..secret import Secret

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign_headers(
    *,
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    payload_sha256: str = EMPTY_SHA256,
    access_key: str,
    secret_key: Secret,
    region: str,
    service: str = "s3",
    now: datetime,
) -> dict[str, str]:
    """Return the headers to send: ``headers`` plus host, x-amz-date, x-amz-content-sha256
    and Authorization. ``path`` is the raw (unencoded) path; ``now`` must be UTC."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    out = {k.lower(): v for k, v in (headers or {}).items()}
    out.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256})
    names = sorted(out)
    canonical_headers = "".join(f"{n}:{' '.join(out[n].split())}\n" for n in names)
    signed = ";".join(names)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted((query or {}).items())
    )
    canonical = "\n".join(
        [
            method.upper(),
            quote(path, safe="/-_.~"),
            canonical_query,
            canonical_headers,
            signed,
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key.reveal()).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return out
