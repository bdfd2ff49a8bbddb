"""What every route shares: the error envelope, JSON in/out, validation, the caller, pagination.

`authenticate` only reads the bearer credential (an API key, or a person's sign-in token with the
`X-Workspace-Id` header) off the request; who it stands for, and whether they may act, is
`chalicelib.tenancy.auth`'s and `chalicelib.tenancy.signin`'s (routes name
`chalicelib.tenancy.auth.Principal` in their types).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Request, Response

from chalicelib.api.errors import ApiError, InvalidRequest, PayloadTooLarge, Unauthenticated, to_api_error
from chalicelib.bootstrap import ready
from chalicelib.domain import DomainError
from chalicelib.lazy import lazy_module
from chalicelib.observability import bind, error_context
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from pydantic import BaseModel

    import chalicelib.tenancy.auth as auth
    import chalicelib.tenancy.signin as signin
else:
    auth = lazy_module("chalicelib.tenancy.auth")
    signin = lazy_module("chalicelib.tenancy.signin")  # PyJWT: only when a sign-in token arrives

S = TypeVar("S", bound="BaseModel")
JSON_TYPE = "application/json; charset=utf-8"
CHALICE_ERROR_CODES = {
    400: "invalid_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "invalid_request",
    500: "internal_error",
    501: "not_implemented",
}
# On every answer (the middleware and the local server's own errors): no MIME sniffing, no
# framing, no Referer leaving the admin page.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
# What an echoed X-Request-Id or a stored X-Correlation-Id may look like: short, header- and log-safe.
TRACE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_SECRET_CHARS = 200
MAX_SIGNIN_CHARS = 8192
JWS_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
WORKSPACE_HEADER = "X-Workspace-Id"
MAX_JSON_DEPTH = 64  # deeper bodies are refused before parsing (json.loads recurses per level)
# A string literal; an unterminated one runs to the end (possessive: linear time on any input).
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_response(body: Any, status: int = 200, headers: Mapping[str, str | list[str]] | None = None) -> Response:
    """`body` as compact JSON; `headers` may hold a list for a repeated header (Chalice's multi-value)."""
    return Response(
        body=json.dumps(body, separators=(",", ":")), status_code=status, headers={"Content-Type": JSON_TYPE, **(headers or {})}
    )


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
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
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
    from pydantic import ValidationError  # heavy: loaded by the first request that parses a body

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


def bearer_token(request: Request) -> str:
    """The credential of `Authorization: Bearer …`: an API key (`sk_…`) or a sign-in token (a JWT);
    401 when there is none that could be either."""
    header = request.headers.get("authorization", "") if request.headers else ""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith("sk_") and len(token) <= MAX_SECRET_CHARS:
        return token
    if scheme.lower() == "bearer" and token.startswith("eyJ") and signin_shape(token):
        return token
    raise Unauthenticated("a valid API key or sign-in token is required: Authorization: Bearer sk_… (or the ID token)")


def signin_shape(token: str) -> bool:
    """A compact JWS (three base64url parts): what a Cognito ID token looks like."""
    return len(token) <= MAX_SIGNIN_CHARS and JWS_SHAPE.fullmatch(token) is not None


def bearer_secret(request: Request) -> str:
    """The secret of `Authorization: Bearer sk_…`; 401 when there is none that could be a key."""
    token = bearer_token(request)
    if not token.startswith("sk_"):
        raise Unauthenticated("this needs an API key: Authorization: Bearer sk_…")
    return token


def _resolved(resolve: Callable[[], auth.Principal]) -> auth.Principal:
    ready()
    try:
        principal = resolve()
    except DomainError as error:  # answered the same whether or not the view is wrapped by `route`
        raise to_api_error(error) from error
    bind(user_id=principal.user_id, workspace_id=principal.workspace_id)
    error_context(user_id=principal.user_id, workspace_id=principal.workspace_id)
    return principal


def authenticate(request: Request, permission: str, *, allow_banned: bool = False) -> auth.Principal:
    """The caller, if it may use `permission` (tenancy.permissions: every route names the one it
    needs): 401 unknown/revoked key or invalid sign-in token, 403 banned workspace or user, 403
    `forbidden` with `scope` when its role or its key's scopes do not grant the permission.

    A person signed in with a Cognito ID token acts in the workspace `X-Workspace-Id` names
    (tenancy/signin.py); an API key acts in its own, and naming another is a 400."""
    token = bearer_token(request)
    chosen = workspace_header(request)
    if token.startswith("sk_"):
        principal = _resolved(lambda: auth.authenticate(token, permission, allow_banned=allow_banned))
        if chosen is not None and chosen != principal.workspace_id:
            raise InvalidRequest("an API key acts in its own workspace; X-Workspace-Id names another", field=WORKSPACE_HEADER)
        return principal
    return _resolved(lambda: signin.authenticate_person(token, chosen, permission, allow_banned=allow_banned))


def workspace_header(request: Request) -> str | None:
    """`X-Workspace-Id`, when given (its value is checked by whoever reads it)."""
    value = request.headers.get(WORKSPACE_HEADER.lower()) if request.headers else None
    return value.strip() if value is not None and value.strip() else None


def authenticate_admin(request: Request) -> auth.Principal:
    """A platform admin (403 for everyone else, 401 without a valid key): admins use API keys."""
    secret = bearer_secret(request)
    return _resolved(lambda: auth.authenticate_admin(secret))


def require_admin(principal: auth.Principal) -> None:
    """403 unless the caller is a platform admin."""
    try:
        auth.require_admin(principal)
    except DomainError as error:
        raise to_api_error(error) from error
