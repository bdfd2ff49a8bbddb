"""What every route shares: the error envelope, JSON in/out, validation, auth, pagination."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Request, Response

from chalicelib import clock, ids
from chalicelib.errors import (
    AccountBanned,
    ApiError,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    Unauthenticated,
)
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from pydantic import BaseModel as Schema

    from chalicelib.store.models import ApiKeyModel, UserModel, WorkspaceModel

S = TypeVar("S", bound="Schema")
JSON_TYPE = "application/json; charset=utf-8"
CHALICE_ERROR_CODES = {400: "invalid_request", 403: "forbidden", 404: "not_found", 405: "invalid_request",
                       413: "payload_too_large", 415: "invalid_request", 500: "internal_error"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": JSON_TYPE, **(headers or {})})


def error_response(error: ApiError, request_id: str) -> Response:
    return json_response(error.body(request_id), error.status, error.headers)


def request_id_of(request: Request | None) -> str:
    if request is not None:
        given = (request.headers or {}).get("x-request-id")
        if given and len(given) <= 128 and given.isprintable():
            return given
        context = request.context or {}
        if context.get("requestId"):
            return str(context["requestId"])
    return f"req_{uuid.uuid4().hex}"


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 413 over the size limit, 400 when malformed."""
    raw = request.raw_body or b""
    if len(raw) > get_settings().max_body_bytes:
        raise PayloadTooLarge(f"the body is larger than {get_settings().max_body_bytes} bytes")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
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


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_cursor(params: dict[str, str], allowed: set[str]) -> dict[str, Any] | None:
    """A cursor from `?cursor=`; only keys the caller expects are accepted (no injection)."""
    raw = params.get("cursor")
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("cursor is not valid", field="cursor") from None
    if not isinstance(data, dict) or set(data) - allowed:
        raise InvalidRequest("cursor is not valid", field="cursor")
    return data


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
