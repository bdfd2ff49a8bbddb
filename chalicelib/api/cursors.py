"""Pagination cursors: opaque, signed, and bound to who may use them and for which listing.

A cursor is `<payload>.<mac>` (base64url): the payload is the listing's position (a DynamoDB
LastEvaluatedKey, or the last id shown); the mac is HMAC-SHA256 over the listing kind, its scope
(the caller's workspace, plus any filter that picks the partition or index) and the payload. So
a client can neither forge a position nor replay a cursor in another tenant or another listing:
anything that does not verify is 400 `invalid_request` with `field: "cursor"`, before DynamoDB
sees it.

The key is `CURSOR_SECRET` (or the SSM parameter named by `CURSOR_SECRET_PARAM`). The local and
test stages generate one per process when it is unset, so their cursors do not survive a restart;
a deployed stage must provide it (several Lambda containers must agree on it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as random
from functools import lru_cache
from typing import Any

from chalicelib.api.errors import InvalidRequest, ServiceUnavailable
from chalicelib.bootstrap import on_reset
from chalicelib.secrets import secret
from chalicelib.settings import get_settings

MAX_CURSOR_CHARS = 2048
_LOCAL_STAGES = ("local", "test")


@lru_cache(maxsize=1)
def _key() -> bytes:
    value = secret("CURSOR_SECRET", required=False)
    if value:
        return hashlib.sha256(b"imagegen-cursor-v1\x00" + value.encode("utf-8")).digest()
    if get_settings().stage in _LOCAL_STAGES:
        return random.token_bytes(32)
    raise ServiceUnavailable("not configured: CURSOR_SECRET (or CURSOR_SECRET_PARAM) is not set")


@on_reset
def reset() -> None:
    """Forget the key (tests that change CURSOR_SECRET)."""
    _key.cache_clear()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(kind: str, scope: str, payload: bytes) -> bytes:
    message = b"\x00".join((kind.encode("utf-8"), scope.encode("utf-8"), payload))
    return hmac.new(_key(), message, hashlib.sha256).digest()


def encode(kind: str, scope: str, position: dict[str, Any] | None) -> str | None:
    """The cursor for the next page (None when there is none)."""
    if not position:
        return None
    payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(kind, scope, payload))}"


def decode(params: dict[str, str], kind: str, scope: str) -> dict[str, Any] | None:
    """The position in `?cursor=`, if it was issued for this listing and scope; else 400."""
    raw = params.get("cursor")
    if raw is None or raw == "":
        return None
    invalid = InvalidRequest("cursor is not valid: pass next_cursor of the same listing unchanged", field="cursor")
    head, dot, tail = raw.partition(".")
    if not dot or len(raw) > MAX_CURSOR_CHARS:
        raise invalid
    try:
        payload, mac = _unb64(head), _unb64(tail)
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(mac, _mac(kind, scope, payload)):
        raise invalid
    position = json.loads(payload)
    if not isinstance(position, dict):
        raise invalid
    return position
