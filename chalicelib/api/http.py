"""What every route shares: the error envelope, JSON in/out, validation, auth, pagination."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Request, Response

from chalicelib import clock, ids
from chalicelib.api.errors import (
    AccountBanned,
    ApiError,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    Unauthenticated,
)
from chalicelib.bootstrap import on_reset
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from pydantic import BaseModel as Schema

    from chalicelib.store.models import ApiKeyModel, UserModel, WorkspaceModel

S = TypeVar("S", bound="Schema")
JSON_TYPE = "application/json; charset=utf-8"
CHALICE_ERROR_CODES = {400: "invalid_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                       413: "payload_too_large", 415: "invalid_request", 500: "internal_error",
                       501: "not_implemented"}
# On every answer (the middleware and the local server's own errors): no MIME sniffing, no
# framing, no Referer leaving the admin page.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
# What an echoed X-Request-Id or a stored X-Correlation-Id may look like: short, header- and log-safe.
TRACE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_JSON_DEPTH = 64  # deeper bodies are refused before parsing (json.loads recurses per level)
# A string literal; an unterminated one runs to the end (possessive: linear time on any input).
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": JSON_TYPE, **(headers or {})})


def error_response(error: ApiError, request_id: str) -> Response:
    return json_response(error.body(request_id), error.status, error.headers)


def trace_id(value: str | None) -> str | None:
    """`value` when it is a usable request/correlation id (1-128 of [A-Za-z0-9._:-]), else None."""
    if value and TRACE_ID.fullmatch(value):
        return value
    return None


def request_id_from(headers: Any, context: dict[str, Any] | None = None) -> str:
    """The client's X-Request-Id when well-formed, else API Gateway's request id, else a new one."""
    given = trace_id((headers or {}).get("x-request-id"))
    if given:
        return given
    if context and context.get("requestId"):
        return str(context["requestId"])
    return f"req_{uuid.uuid4().hex}"


def request_id_of(request: Request | None) -> str:
    if request is None:
        return request_id_from(None)
    return request_id_from(request.headers, request.context)


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than `limit`: a cheap scan at C speed
    (strings removed by one regex, then only the bracket bytes are walked)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    depth = 0
    for step in map(_DEPTH_STEP.__getitem__, brackets):
        depth += step
        if depth > limit:
            return True
    return False


def check_body(raw: bytes) -> None:
    """Every body, before any route parses it: 413 over MAX_BODY_BYTES, 400 when nested too deep."""
    limit = get_settings().max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    if json_depth_exceeds(raw):
        raise InvalidRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels")


def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object. An absent or empty body is `{}` (routes whose body is optional);
    a body that is present must be a JSON object: whitespace alone, `null` or `[]` are 400."""
    raw = request.raw_body or b""
    check_body(raw)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    return data


def validate(schema: type[S], data: dict[str, Any]) -> S:
    """Validate with a pydantic model; the first error becomes a 400 naming its field."""
    from pydantic import ValidationError

    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        message = first.get("msg", "invalid value")
        raise InvalidRequest(f"{field}: {message}" if field else message, field=field) from None


def query_params(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def page_limit(params: dict[str, str]) -> int:
    raw = params.get("limit", "20")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest("limit must be an integer between 1 and 100", field="limit") from None
    if not 1 <= value <= 100:
        raise InvalidRequest("limit must be an integer between 1 and 100", field="limit")
    return value


@dataclass
class Principal:
    """Who is calling: a user in a workspace, through one API key."""

    user: UserModel
    workspace: WorkspaceModel
    key: ApiKeyModel | None

    @property
    def is_admin(self) -> bool:
        return bool(self.user.is_admin)


def authenticate(request: Request, *, allow_banned: bool = False) -> Principal:
    """Resolve `Authorization: Bearer <key>`: 401 unknown/revoked, 403 banned."""
    from chalicelib.store import bind_models
    from chalicelib.store.models import ApiKeyModel, UserModel, WorkspaceModel

    header = (request.headers or {}).get("authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith("sk_") or len(secret) > 200:
        raise Unauthenticated("a valid API key is required: Authorization: Bearer sk_…")
    bind_models()
    try:
        key = ApiKeyModel.get(ids.hash_secret(secret))
    except ApiKeyModel.DoesNotExist:
        raise Unauthenticated("unknown API key") from None
    if key.revoked_at is not None:
        raise Unauthenticated("this API key was revoked")
    try:
        user = UserModel.get(key.user_id)
        workspace = WorkspaceModel.get(key.workspace_id)
    except (UserModel.DoesNotExist, WorkspaceModel.DoesNotExist):
        raise Unauthenticated("unknown API key") from None
    if not allow_banned and not user.is_admin:
        if workspace.status == "banned":
            raise AccountBanned("this workspace is banned", reason=workspace.ban_reason)
        if user.status == "banned":
            raise AccountBanned("this user is banned")
    _touch_key(key)
    from chalicelib.observability import bind, error_context

    bind(user_id=user.user_id, workspace_id=workspace.workspace_id)
    error_context(user_id=user.user_id, workspace_id=workspace.workspace_id)
    return Principal(user, workspace, key)


_last_touch: dict[str, float] = {}


@on_reset
def reset() -> None:
    """Forget when keys were last touched."""
    _last_touch.clear()


def _touch_key(key: ApiKeyModel) -> None:
    """Record last use at most once a minute per key (a write on every call is waste)."""
    now = time.monotonic()
    if now - _last_touch.get(key.key_hash, -1e9) < 60:
        return
    _last_touch[key.key_hash] = now
    from chalicelib.store.models import ApiKeyModel

    try:
        key.update(actions=[ApiKeyModel.last_used_at.set(clock.now())])
    except Exception:
        pass


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("platform admins only")
