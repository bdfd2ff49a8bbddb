"""/v1/devices, /v1/me/notifications, /v1/sync: the mobile backend (API.md "Platform").

Each route parses (auth, body, params), makes one call to a `chalicelib.mobile` service and
renders a response model. Devices and push settings are the caller's own (`SELF`); sync reads
with `library:read` and writes with `library:write` (per-record rights: the services').
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api import cursors
from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.params import known
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.library.images as images
    import chalicelib.mobile.devices as devices
    import chalicelib.mobile.notifications as notifications
    import chalicelib.mobile.sync as sync
    import chalicelib.mobile.sync_push as sync_push
    import chalicelib.templates.records as template_records
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    images = lazy_module("chalicelib.library.images")
    devices = lazy_module("chalicelib.mobile.devices")
    notifications = lazy_module("chalicelib.mobile.notifications")
    sync = lazy_module("chalicelib.mobile.sync")
    sync_push = lazy_module("chalicelib.mobile.sync_push")
    template_records = lazy_module("chalicelib.templates.records")

mobile = Blueprint(__name__)

MAX_PULLED_AT_MS = 4_102_444_800_000  # 2100-01-01


@route(mobile, "/v1/devices", methods=["POST"])
def register_device() -> Response:
    """Register a push token; the same token again answers the same device (`created` false)."""
    request = mobile.current_request
    principal = authenticate(request, permissions.DEVICES_OWN)
    body = validate(schemas.DeviceCreate, json_body(request))
    person = devices.person_of(principal)

    def register() -> Response:
        return render(responses.DeviceEnvelope.of(devices.register_device(person, body.platform, body.token)), 201)

    return idempotent(request, principal.replay_scope, register, mobile.lambda_context)


@route(mobile, "/v1/devices", methods=["GET"])
def list_devices() -> Response:
    request = mobile.current_request
    person = devices.person_of(authenticate(request, permissions.DEVICES_OWN))
    params = known(query_params(request), ("limit", "cursor"))
    scope = f"{person.workspace_id}|{person.user_id}"
    limit, position = page_limit(params), cursors.decode(params, "devices", scope)
    after = str(position["after"]) if position and isinstance(position.get("after"), str) else None
    found, last = devices.list_devices(person, after, limit)
    return render(responses.DevicePage.of(found, cursors.encode("devices", scope, {"after": last} if last else None)))


@route(mobile, "/v1/devices/{device_id}", methods=["DELETE"])
def remove_device(device_id: str) -> Response:
    person = devices.person_of(authenticate(mobile.current_request, permissions.DEVICES_OWN))
    devices.remove_device(person, device_id)
    return no_content()


@route(mobile, "/v1/me/notifications", methods=["GET"])
def get_push_settings() -> Response:
    principal = authenticate(mobile.current_request, permissions.DEVICES_OWN)
    return render(responses.PushSettingsView.of(notifications.get_push_settings(principal)))


@route(mobile, "/v1/me/notifications", methods=["PUT"])
def put_push_settings() -> Response:
    """Turn the pushes of one's finished jobs on or off (fields left out keep their value)."""
    request = mobile.current_request
    principal = authenticate(request, permissions.DEVICES_OWN)
    body = validate(schemas.PushSettingsPut, json_body(request))
    given = {name: bool(getattr(body, name)) for name in body.model_fields_set}
    return render(responses.PushSettingsView.of(notifications.update_push_settings(principal, given)))


@route(mobile, "/v1/sync", methods=["GET"])
def pull_changes() -> Response:
    """WatermelonDB's pull: the library's and templates' changes since `last_pulled_at` (ms)."""
    request = mobile.current_request
    principal = authenticate(request, permissions.SYNC_READ)
    last = _pulled_at(known(query_params(request), ("last_pulled_at",)))
    return render(responses.SyncPullView.of(sync.pull(sync.Reader(principal.workspace_id, principal.user_id), last)))


@route(mobile, "/v1/sync", methods=["POST"])
def push_changes() -> Response:
    """WatermelonDB's push: 409 `conflict` (nothing applied) when a record changed after the last pull."""
    request = mobile.current_request
    principal = authenticate(request, permissions.SYNC_WRITE)
    body = validate(schemas.SyncPush, json_body(request))
    actor = images.actor_of(principal)
    caller = template_records.Caller(principal.workspace_id, principal.user_id, principal.role)
    changes = [sync_push.Change(t, op, rid, _plain(fields), held) for t, op, rid, fields, held in body.records()]

    def apply() -> Response:
        return render(responses.SyncPushResult.of(sync_push.push(actor, caller, changes, body.last_pulled_at)))

    return idempotent(request, principal.replay_scope, apply, mobile.lambda_context)


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated columns as the services take them (variable declarations as plain dicts)."""
    variables = fields.get("variables")
    if isinstance(variables, dict):
        fields = {**fields, "variables": {k: v.model_dump(exclude_none=True) for k, v in variables.items()}}
    return fields


def _pulled_at(params: dict[str, str]) -> int | None:
    """`last_pulled_at`: absent, empty or `null` (a first pull), else epoch ms (an integer)."""
    raw = params.get("last_pulled_at", "")
    if raw in ("", "null"):
        return None
    if not raw.isdigit() or len(raw) > 13 or int(raw) > MAX_PULLED_AT_MS:
        raise InvalidRequest("last_pulled_at is the timestamp of the last pull (epoch ms) or null", field="last_pulled_at")
    return int(raw)
