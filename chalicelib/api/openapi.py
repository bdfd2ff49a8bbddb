"""An OpenAPI 3.1 document built from the app itself: its route table (`app.routes`), the pydantic
request models of `chalicelib/api/schemas.py`, the response models of `chalicelib/api/responses.py`
and the query parameters each listing reads.

Served at `/openapi.json` (and rendered at `/docs`); the fuzzer (tests/e2e/test_fuzz.py) and
schemathesis (tests/e2e/test_schemathesis.py) run against it. Request bodies, answers and query
parameters are declared here, next to the routes' names, because Chalice routes do not carry
them; tests/unit/test_openapi.py fails when a route has no declared answer or a body no model, a
declaration names a route that does not exist, or a declared model is not the one the view renders.
"""

from __future__ import annotations

from typing import Any, get_args

from chalicelib.api import responses, schemas

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}

# (method, path) -> (model in chalicelib.api.schemas, whether a body is required)
BODIES: dict[tuple[str, str], tuple[str, bool]] = {
    ("POST", "/v1/jobs"): ("JobCreate", True),
    ("PATCH", "/v1/me"): ("MePatch", True),
    ("POST", "/v1/keys"): ("KeyCreate", True),
    ("POST", "/v1/billing/checkout"): ("CheckoutCreate", True),
    ("PUT", "/v1/billing/auto-topup"): ("AutoTopupPut", True),
    ("POST", "/admin/api/workspaces"): ("WorkspaceCreate", True),
    ("POST", "/admin/api/workspaces/{workspace_id}/credits"): ("CreditAdjust", True),
    ("PUT", "/admin/api/workspaces/{workspace_id}/limits"): ("LimitsPut", True),
    ("PUT", "/admin/api/workspaces/{workspace_id}/billing"): ("BillingProviderPut", True),
    ("POST", "/admin/api/workspaces/{workspace_id}/ban"): ("BanBody", True),
    ("POST", "/admin/api/users/{user_id}/ban"): ("BanBody", True),
    ("POST", "/admin/api/workspaces/{workspace_id}/unban"): ("BanBody", False),
    ("POST", "/admin/api/users/{user_id}/unban"): ("BanBody", False),
    ("POST", "/admin/api/scheduled/{name}/run"): ("OptionalReason", False),
    ("POST", "/v1/templates"): ("TemplateCreate", True),
    ("PATCH", "/v1/templates/{template_id}"): ("TemplatePatch", True),
    ("POST", "/v1/templates/{template_id}/render"): ("TemplateRender", False),
    # --- teams ---
    ("POST", "/v1/service-keys"): ("KeyCreate", True),
    ("PATCH", "/v1/members/{user_id}"): ("MemberPatch", True),
    ("POST", "/v1/invitations"): ("InvitationCreate", True),
    ("POST", "/v1/invitations/accept"): ("InvitationAccept", True),
    ("POST", "/v1/webhook-endpoints"): ("WebhookEndpointCreate", True),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): ("WebhookEndpointPatch", True),
    ("POST", "/v1/integrations/zapier/subscriptions"): ("ZapierSubscribe", True),
    ("POST", "/ifttt/v1/triggers/{slug}"): ("IftttTrigger", False),
    ("POST", "/ifttt/v1/actions/{slug}"): ("IftttAction", True),
}
_NO_BODY = {"required": False, "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}}}
# Routes whose body is not one of our models.
OTHER_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/webhooks/stripe"): {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    ("POST", "/v1/jobs/{job_id}/cancel"): {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
    },
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): _NO_BODY,
    ("POST", "/v1/webhook-deliveries/{delivery_id}/replay"): _NO_BODY,
    ("POST", "/ifttt/v1/test/setup"): {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
    ("POST", "/admin"): {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
    ("POST", "/v1/members/{user_id}/transfer-ownership"): {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
    },
    ("POST", "/v1/invitations/{invitation_id}/resend"): {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
    },
}

_ID = {"type": "string", "maxLength": 100}
_TIME = {"type": "string", "format": "date-time", "description": "RFC 3339 or YYYY-MM-DD, 2000-01-01 to 2100-12-31 UTC"}
QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    "cursor": {"type": "string", "description": "next_cursor of the previous page, unchanged (signed)"},
    "from": _TIME,
    "to": _TIME,
    "workspace_id": _ID,
    "user_id": _ID,
    "provider": _ID,
    "model": _ID,
    "query": {"type": "string", "maxLength": 200},
    "plan": {"type": "string"},
    "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "canceled", "active", "banned"]},
    "group_by": {"type": "string"},
    "scope": {"type": "string", "enum": ["prebuilt", "workspace", "public"], "default": "workspace"},
    "q": {"type": "string", "maxLength": 200, "description": "words of the name or prompt (all must match)"},
    "tag": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"},
    "version": {"type": "integer", "minimum": 1, "description": "a version a job pinned (default: the latest)"},
    "dry_run": {"type": "string", "enum": ["true", "false"]},
    "event": {"type": "string", "enum": list(get_args(schemas.EventType))},
}
_ADMIN_FILTERS = ("from", "to", "workspace_id", "user_id", "provider", "model", "status")
QUERIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/v1/jobs"): ("limit", "cursor"),
    ("GET", "/v1/ledger"): ("limit", "cursor"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): ("limit", "cursor"),
    ("GET", "/v1/integrations/zapier/samples"): ("event",),
    ("GET", "/v1/usage"): ("from", "to", "group_by"),
    ("GET", "/admin/api/workspaces"): ("limit", "cursor", "query", "status", "plan"),
    ("GET", "/admin/api/usage"): (*_ADMIN_FILTERS, "group_by"),
    ("GET", "/admin/api/jobs"): ("limit", "cursor", *_ADMIN_FILTERS),
    ("GET", "/admin/api/denials"): ("limit", "from", "to", "workspace_id", "user_id", "provider", "model"),
    ("GET", "/admin/api/reports/usage.csv"): (*_ADMIN_FILTERS, "group_by"),
    ("GET", "/admin/api/reports/ledger.csv"): ("from", "to", "workspace_id", "user_id", "provider", "model"),
    ("GET", "/v1/templates"): ("scope", "q", "tag", "limit", "cursor"),
    ("GET", "/v1/templates/{template_id}"): ("version",),
    ("DELETE", "/v1/members/{user_id}"): ("dry_run",),
}
QUERIES[("GET", "/admin/api/outbox")] = ("to",)
REQUIRED_QUERY = {(("GET", "/v1/integrations/zapier/samples"), "event"), (("GET", "/admin/api/outbox"), "to")}
# A parameter whose name another route uses with another meaning (the outbox's `to` is an address).
QUERY_SCHEMAS: dict[tuple[tuple[str, str], str], dict[str, Any]] = {
    (("GET", "/admin/api/outbox"), "to"): {"type": "string", "format": "email", "minLength": 3, "maxLength": 254},
}
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/assets/{name}"),
    ("GET", "/ifttt/v1/status"),
    ("POST", "/ifttt/v1/test/setup"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/admin"),
    ("POST", "/admin"),
    ("GET", "/admin/assets/{name}"),
}
# --- library (API.md "Library") ---
BODIES.update(
    {
        ("PATCH", "/v1/images/{image_id}"): ("ImagePatch", True),
        ("POST", "/v1/images/bulk"): ("BulkImages", True),
        ("POST", "/v1/folders"): ("FolderCreate", True),
        ("PATCH", "/v1/folders/{folder_id}"): ("FolderPatch", True),
        ("POST", "/v1/uploads"): ("UploadCreate", True),
        ("POST", "/v1/shares"): ("ShareCreate", True),
    }
)
PUBLIC.add(("GET", "/s/{token}"))
OTHER_BODIES[("POST", "/v1/uploads/{upload_id}/complete")] = OTHER_BODIES[("POST", "/v1/jobs/{job_id}/cancel")]
OTHER_BODIES[("POST", "/v1/images/{image_id}/restore")] = OTHER_BODIES[("POST", "/v1/jobs/{job_id}/cancel")]
QUERY_PARAMETERS.update(
    {
        "folder_id": _ID,
        "parent_id": _ID,
        "tag": {"type": "string", "maxLength": 100},
        "q": {"type": "string", "maxLength": 200, "description": "words of the prompt or title (all must match)"},
        "kind": {"type": "string", "enum": ["generate", "vary", "upscale", "edit", "style_transfer", "upload"]},
        "trashed": {"type": "boolean"},
        "recursive": {"type": "boolean"},
    }
)
QUERIES.update(
    {
        ("GET", "/v1/images"): ("limit", "cursor", "folder_id", "tag", "q", "provider", "model", "kind", "from", "to", "trashed"),
        ("GET", "/v1/tags"): ("limit", "cursor"),
        ("GET", "/v1/folders"): ("limit", "cursor", "parent_id"),
        ("GET", "/v1/shares"): ("limit", "cursor"),
        ("DELETE", "/v1/folders/{folder_id}"): ("recursive",),
    }
)
HEADERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/webhooks/stripe"): ("Stripe-Signature",),
    ("GET", "/ifttt/v1/status"): ("IFTTT-Service-Key",),
    ("POST", "/ifttt/v1/test/setup"): ("IFTTT-Service-Key",),
    ("POST", "/ifttt/v1/triggers/{slug}"): ("IFTTT-Service-Key",),
    ("POST", "/ifttt/v1/actions/{slug}"): ("IFTTT-Service-Key",),
}
_HTML = {"text/html": {"schema": {"type": "string"}}}
_ASSET = {"application/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}
_CSV = {"text/csv": {"schema": {"type": "string"}}}
_HEALTH = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["status", "version"],
            "properties": {"status": {"const": "ok"}, "version": {"type": "string"}},
        }
    }
}
_DOCUMENT = {"application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}}
# (method, path) -> (success status, response model in chalicelib.api.responses | other content | None for no body)
RESPONSES: dict[tuple[str, str], tuple[int, str | dict[str, Any] | None]] = {
    ("GET", "/healthz"): (200, _HEALTH),
    ("GET", "/openapi.json"): (200, _DOCUMENT),
    ("GET", "/docs"): (200, _HTML),
    ("GET", "/docs/assets/{name}"): (200, _ASSET),
    ("GET", "/admin"): (200, _HTML),
    ("POST", "/admin"): (303, None),
    ("GET", "/admin/assets/{name}"): (200, _ASSET),
    ("GET", "/admin/api/billing/rejected-events"): (200, "Page[RejectedEventView]"),
    ("GET", "/admin/api/denials"): (200, "DenialList"),
    ("GET", "/admin/api/jobs"): (200, "AdminJobPage"),
    ("GET", "/admin/api/meta"): (200, "AdminMeta"),
    ("GET", "/admin/api/reports/ledger.csv"): (200, _CSV),
    ("GET", "/admin/api/reports/usage.csv"): (200, _CSV),
    ("POST", "/admin/api/scheduled/{name}/run"): (200, "TaskRun"),
    ("GET", "/admin/api/usage"): (200, "AdminUsage"),
    ("POST", "/admin/api/users/{user_id}/ban"): (200, "BanResult"),
    ("POST", "/admin/api/users/{user_id}/unban"): (200, "BanResult"),
    ("POST", "/admin/api/workspaces"): (201, "WorkspaceCreated"),
    ("GET", "/admin/api/workspaces"): (200, "WorkspacePage"),
    ("GET", "/admin/api/workspaces/{workspace_id}"): (200, "WorkspaceDetailView"),
    ("POST", "/admin/api/workspaces/{workspace_id}/ban"): (200, "BanResult"),
    ("PUT", "/admin/api/workspaces/{workspace_id}/billing"): (200, "WorkspaceBillingEnvelope"),
    ("POST", "/admin/api/workspaces/{workspace_id}/credits"): (201, "CreditEntry"),
    ("PUT", "/admin/api/workspaces/{workspace_id}/limits"): (200, "LimitsChanged"),
    ("POST", "/admin/api/workspaces/{workspace_id}/unban"): (200, "BanResult"),
    ("GET", "/v1/balance"): (200, "BalanceView"),
    ("PUT", "/v1/billing/auto-topup"): (200, "AutoTopupEnvelope"),
    ("POST", "/v1/billing/checkout"): (200, "CheckoutSessionUrl"),
    ("POST", "/v1/jobs"): (202, "JobEnvelope"),
    ("GET", "/v1/jobs"): (200, "JobPage"),
    ("GET", "/v1/jobs/{job_id}"): (200, "JobEnvelope"),
    ("POST", "/v1/jobs/{job_id}/cancel"): (200, "JobEnvelope"),
    ("POST", "/v1/keys"): (201, "KeyCreated"),
    ("GET", "/v1/keys"): (200, "KeyPage"),
    ("DELETE", "/v1/keys/{key_id}"): (204, None),
    ("GET", "/v1/ledger"): (200, "LedgerPage"),
    ("GET", "/v1/me"): (200, "MeView"),
    ("PATCH", "/v1/me"): (200, "MeView"),
    ("GET", "/v1/usage"): (200, "UsagePage"),
    ("POST", "/v1/webhook-endpoints"): (201, "WebhookEndpointCreated"),
    ("GET", "/v1/webhook-endpoints"): (200, "WebhookEndpointList"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): (200, "WebhookEndpointEnvelope"),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): (200, "WebhookEndpointEnvelope"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): (204, None),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): (200, "WebhookDeliveryPage"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): (200, "WebhookEndpointCreated"),
    ("POST", "/v1/webhook-deliveries/{delivery_id}/replay"): (202, "WebhookDeliveryEnvelope"),
    ("POST", "/webhooks/stripe"): (200, "WebhookReceipt"),
    ("POST", "/v1/integrations/zapier/subscriptions"): (201, "ZapierSubscription"),
    ("DELETE", "/v1/integrations/zapier/subscriptions/{subscription_id}"): (204, None),
    ("GET", "/v1/integrations/zapier/samples"): (200, "ZapierSamples"),
    ("GET", "/ifttt/v1/status"): (200, "IftttStatus"),
    ("POST", "/ifttt/v1/test/setup"): (200, "IftttSetup"),
    ("POST", "/ifttt/v1/triggers/{slug}"): (200, "IftttTriggerPage"),
    ("POST", "/ifttt/v1/actions/{slug}"): (200, "IftttActionResult"),
}
# --- library, templates, teams: success answers ---
RESPONSES.update(
    {
        ("GET", "/v1/images"): (200, "LibraryImagePage"),
        ("GET", "/v1/images/{image_id}"): (200, "LibraryImageEnvelope"),
        ("PATCH", "/v1/images/{image_id}"): (200, "LibraryImageEnvelope"),
        ("DELETE", "/v1/images/{image_id}"): (200, "LibraryImageEnvelope"),
        ("POST", "/v1/images/{image_id}/restore"): (200, "LibraryImageEnvelope"),
        ("POST", "/v1/images/bulk"): (200, "BulkResults"),
        ("GET", "/v1/tags"): (200, "TagPage"),
        ("POST", "/v1/folders"): (201, "FolderEnvelope"),
        ("GET", "/v1/folders"): (200, "FolderPage"),
        ("GET", "/v1/folders/{folder_id}"): (200, "FolderEnvelope"),
        ("PATCH", "/v1/folders/{folder_id}"): (200, "FolderEnvelope"),
        ("DELETE", "/v1/folders/{folder_id}"): (204, None),
        ("POST", "/v1/uploads"): (201, "UploadEnvelope"),
        ("POST", "/v1/uploads/{upload_id}/complete"): (201, "LibraryImageEnvelope"),
        ("POST", "/v1/shares"): (201, "ShareEnvelope"),
        ("GET", "/v1/shares"): (200, "SharePage"),
        ("DELETE", "/v1/shares/{share_id}"): (204, None),
        ("GET", "/s/{token}"): (200, "PublicShareView"),
        ("GET", "/v1/templates"): (200, "TemplatePage"),
        ("POST", "/v1/templates"): (201, "TemplateEnvelope"),
        ("GET", "/v1/templates/{template_id}"): (200, "TemplateEnvelope"),
        ("PATCH", "/v1/templates/{template_id}"): (200, "TemplateEnvelope"),
        ("DELETE", "/v1/templates/{template_id}"): (204, None),
        ("POST", "/v1/templates/{template_id}/render"): (200, "RenderedPrompt"),
        ("POST", "/v1/service-keys"): (201, "KeyCreated"),
        ("GET", "/v1/service-keys"): (200, "KeyPage"),
        ("DELETE", "/v1/service-keys/{key_id}"): (204, None),
        ("GET", "/v1/members"): (200, "MemberPage"),
        ("PATCH", "/v1/members/{user_id}"): (200, "MemberEnvelope"),
        ("DELETE", "/v1/members/{user_id}"): (204, None),  # ?dry_run=true: 200 RemovalView (README "Teams")
        ("POST", "/v1/members/{user_id}/transfer-ownership"): (200, "MemberEnvelope"),
        ("GET", "/v1/workspaces"): (200, "BelongingPage"),
        ("POST", "/v1/invitations"): (201, "InvitationEnvelope"),
        ("GET", "/v1/invitations"): (200, "InvitationPage"),
        ("DELETE", "/v1/invitations/{invitation_id}"): (204, None),
        ("POST", "/v1/invitations/{invitation_id}/resend"): (200, "InvitationEnvelope"),
        ("POST", "/v1/invitations/accept"): (200, "AcceptedView"),
        ("GET", "/admin/api/outbox"): (200, "OutboxPage"),
    }
)
# --- analytics (API.md "Teams") ---
_ANALYTICS_USAGE, _ANALYTICS_PERFORMANCE, _ANALYTICS_COSTS = (
    ("GET", "/v1/analytics/usage"),
    ("GET", "/v1/analytics/performance"),
    ("GET", "/v1/analytics/costs"),
)
QUERY_PARAMETERS["key_id"] = _ID
QUERY_PARAMETERS["bucket"] = {"type": "string", "enum": ["hour", "day"], "default": "day"}
QUERIES.update(
    {
        _ANALYTICS_USAGE: ("from", "to", "bucket", "group_by", "user_id", "key_id", "provider", "model"),
        _ANALYTICS_PERFORMANCE: ("from", "to", "provider", "model"),
        _ANALYTICS_COSTS: ("from", "to", "user_id", "key_id", "provider", "model"),
    }
)
QUERY_SCHEMAS[(_ANALYTICS_USAGE, "group_by")] = {"type": "string", "enum": ["member", "key", "provider", "model"]}
RESPONSES.update(
    {
        _ANALYTICS_USAGE: (200, "AnalyticsUsage"),
        _ANALYTICS_PERFORMANCE: (200, "AnalyticsPerformance"),
        _ANALYTICS_COSTS: (200, "AnalyticsCosts"),
    }
)
# --- collections, the gallery and its moderation (API.md "Templates, collections, gallery") ---
BODIES.update(
    {
        ("POST", "/v1/collections"): ("CollectionCreate", True),
        ("PATCH", "/v1/collections/{collection_id}"): ("CollectionPatch", True),
        ("POST", "/v1/collections/{collection_id}/items"): ("CollectionItems", True),
        ("PUT", "/v1/collections/{collection_id}/order"): ("CollectionOrder", True),
        ("POST", "/v1/gallery/reports"): ("ReportCreate", True),
        ("POST", "/admin/api/images/{image_id}/hide"): ("HideImage", True),
        ("POST", "/admin/api/reports/{image_id}/dismiss"): ("DismissReport", True),
    }
)
for _key in (
    ("POST", "/v1/images/{image_id}/publish"),
    ("POST", "/v1/images/{image_id}/unpublish"),
    ("POST", "/v1/gallery/images/{image_id}/like"),
):
    OTHER_BODIES[_key] = _NO_BODY
PUBLIC.update(
    {
        ("GET", "/v1/gallery"),
        ("GET", "/v1/gallery/collections"),
        ("GET", "/v1/gallery/collections/{collection_id}"),
        ("POST", "/v1/gallery/reports"),
        ("POST", "/v1/gallery/images/{image_id}/like"),
    }
)
QUERY_PARAMETERS["sort"] = {"type": "string", "enum": ["new", "top"], "default": "new"}
_GALLERY_TAG = {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[^#]*$"}
QUERIES.update(
    {
        ("GET", "/v1/collections"): ("limit", "cursor"),
        ("GET", "/v1/collections/{collection_id}/items"): ("limit", "cursor"),
        ("GET", "/v1/gallery"): ("q", "tag", "provider", "model", "sort", "from", "to", "limit", "cursor"),
        ("GET", "/v1/gallery/collections"): ("limit", "cursor"),
        ("GET", "/v1/gallery/collections/{collection_id}"): ("limit", "cursor"),
        ("GET", "/admin/api/reports"): ("status", "limit", "cursor"),
    }
)
QUERY_SCHEMAS.update(
    {
        (("GET", "/v1/gallery"), "tag"): _GALLERY_TAG,
        (("GET", "/v1/gallery"), "q"): {"type": "string", "maxLength": 200, "description": "1-5 words of the prompt or title"},
        (("GET", "/admin/api/reports"), "status"): {"type": "string", "enum": ["open", "hidden", "dismissed"], "default": "open"},
    }
)
RESPONSES.update(
    {
        ("POST", "/v1/collections"): (201, "CollectionEnvelope"),
        ("GET", "/v1/collections"): (200, "CollectionPage"),
        ("GET", "/v1/collections/{collection_id}"): (200, "CollectionEnvelope"),
        ("PATCH", "/v1/collections/{collection_id}"): (200, "CollectionEnvelope"),
        ("DELETE", "/v1/collections/{collection_id}"): (204, None),
        ("GET", "/v1/collections/{collection_id}/items"): (200, "CollectionItemPage"),
        ("POST", "/v1/collections/{collection_id}/items"): (200, "CollectionItemsAdded"),
        ("DELETE", "/v1/collections/{collection_id}/items/{image_id}"): (204, None),
        ("PUT", "/v1/collections/{collection_id}/order"): (200, "CollectionEnvelope"),
        ("POST", "/v1/images/{image_id}/publish"): (200, "LibraryImageEnvelope"),
        ("POST", "/v1/images/{image_id}/unpublish"): (200, "LibraryImageEnvelope"),
        ("GET", "/v1/gallery"): (200, "GalleryPage"),
        ("GET", "/v1/gallery/collections"): (200, "PublicCollectionPage"),
        ("GET", "/v1/gallery/collections/{collection_id}"): (200, "PublicCollectionView"),
        ("POST", "/v1/gallery/reports"): (201, "ReportReceipt"),
        ("POST", "/v1/gallery/images/{image_id}/like"): (200, "LikeResult"),
        ("GET", "/admin/api/reports"): (200, "ReportCasePage"),
        ("POST", "/admin/api/images/{image_id}/hide"): (200, "HiddenImage"),
        ("POST", "/admin/api/reports/{image_id}/dismiss"): (200, "ReportCaseView"),
    }
)
IDEMPOTENT = {key for key in BODIES if key[0] == "POST"} | {
    ("POST", "/v1/jobs/{job_id}/cancel"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
    ("POST", "/v1/webhook-deliveries/{delivery_id}/replay"),
}


BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (`sk_…`, acting in its own workspace) or, for people who sign in, the Cognito "
    "ID token of the stage's user pool, with the workspace named by the `X-Workspace-Id` header (optional "
    "for a person of one workspace).",
}


def build_openapi(app: Any, *, title: str = "imagegen API", version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app` (a Chalice app): one operation per route and method."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    info = {
        "title": title,
        "version": version,
        "description": 'Errors are always the envelope `{"error": {"code", "message", "request_id", ...}}`.',
    }
    paths: dict[str, Any] = {}
    for path in sorted(app.routes):
        for method, entry in sorted(app.routes[path].items()):
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, entry, schemas, components)
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": BEARER}},
        "security": [{"bearer": []}],
    }


def _operation(method: str, path: str, entry: Any, schemas: Any, components: dict[str, Any]) -> dict[str, Any]:
    key = (method, path)
    operation: dict[str, Any] = {
        "operationId": entry.view_name,
        "tags": [_tag(entry.view_function)],
        "parameters": _parameters(key, entry.view_args),
        "responses": _responses(key, components),
    }
    if entry.view_function.__doc__:
        operation["description"] = entry.view_function.__doc__.strip()
    if key in PUBLIC:
        operation["security"] = []
    if key in BODIES:
        name, required = BODIES[key]
        operation["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": _model(getattr(schemas, name), components)}},
        }
    elif key in OTHER_BODIES:
        operation["requestBody"] = OTHER_BODIES[key]
    return operation


def _tag(view: Any) -> str:
    """The area a route belongs to (its blueprint's module: jobs, library, webhooks, ...), so the
    docs group operations and generated clients get one module per area."""
    module = str(getattr(view, "__module__", "") or "")
    return module.rsplit(".", 1)[-1] if module.startswith("chalicelib.api.") else "health"


def _parameters(key: tuple[str, str], path_args: list[str]) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}} for name in path_args]
    params += [
        {
            "name": name,
            "in": "query",
            "required": (key, name) in REQUIRED_QUERY,
            "schema": QUERY_SCHEMAS.get((key, name), QUERY_PARAMETERS[name]),
        }
        for name in QUERIES.get(key, ())
    ]
    params += [{"name": name, "in": "header", "required": False, "schema": {"type": "string"}} for name in HEADERS.get(key, ())]
    if key in IDEMPOTENT:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
                "description": "a replay returns the first answer (printable characters)",
            }
        )
    return params


def _responses(key: tuple[str, str], components: dict[str, Any]) -> dict[str, Any]:
    """The success answer (its response model, or its other content) and the error envelope."""
    status, declared = RESPONSES[key]
    success: dict[str, Any] = {"description": "success"}
    if isinstance(declared, str):
        success["content"] = {"application/json": {"schema": _model(response_model(declared), components, "serialization")}}
    elif declared is not None:
        success["content"] = declared
    error = {
        "description": "an error, in the envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    return {str(status): success, "default": error}


def response_model(name: str) -> Any:
    """A response model by its name in RESPONSES (`Page[RejectedEventView]` for a generic one)."""
    base, _, argument = name.partition("[")
    model = getattr(responses, base)
    return model[getattr(responses, argument.rstrip("]"))] if argument else model


def _model(model: Any, components: dict[str, Any], mode: str = "validation") -> dict[str, Any]:
    """A pydantic model's JSON schema under components/schemas (its $defs hoisted beside it)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    components.update(schema.pop("$defs", {}))
    name = model.__name__.replace("[", "_").replace("]", "_")
    components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


# --- admin: webhooks view (issue 14) ---
_ADMIN_HOOKS = "/admin/api/workspaces/{workspace_id}"
BODIES.update(
    {
        ("POST", _ADMIN_HOOKS + "/webhook-deliveries/{delivery_id}/replay"): ("OptionalReason", False),
        ("POST", _ADMIN_HOOKS + "/webhook-endpoints/{endpoint_id}/disable"): ("AdminReason", True),
        ("POST", _ADMIN_HOOKS + "/webhook-endpoints/{endpoint_id}/enable"): ("AdminReason", True),
    }
)
QUERY_PARAMETERS["endpoint_id"] = {**_ID, "description": "only this endpoint's deliveries (whe_…)"}
QUERIES.update(
    {
        ("GET", _ADMIN_HOOKS + "/webhook-endpoints"): (),
        ("GET", _ADMIN_HOOKS + "/webhook-deliveries"): ("limit", "endpoint_id"),
    }
)
RESPONSES.update(
    {
        ("GET", _ADMIN_HOOKS + "/webhook-endpoints"): (200, "AdminWebhookEndpointList"),
        ("GET", _ADMIN_HOOKS + "/webhook-deliveries"): (200, "AdminWebhookDeliveryList"),
        ("POST", _ADMIN_HOOKS + "/webhook-deliveries/{delivery_id}/replay"): (202, "WebhookDeliveryEnvelope"),
        ("POST", _ADMIN_HOOKS + "/webhook-endpoints/{endpoint_id}/disable"): (200, "AdminWebhookEndpointEnvelope"),
        ("POST", _ADMIN_HOOKS + "/webhook-endpoints/{endpoint_id}/enable"): (200, "AdminWebhookEndpointEnvelope"),
    }
)

# --- library exports and storage (issue 12) ---------------------------------------------------------
BODIES[("POST", "/v1/exports")] = ("ExportCreate", True)
IDEMPOTENT.add(("POST", "/v1/exports"))
QUERIES[("GET", "/v1/exports")] = ("limit", "cursor")
RESPONSES.update(
    {
        ("POST", "/v1/exports"): (202, "ExportEnvelope"),
        ("GET", "/v1/exports"): (200, "ExportPage"),
        ("GET", "/v1/exports/{export_id}"): (200, "ExportEnvelope"),
        ("GET", "/admin/api/workspaces/{workspace_id}/storage"): (200, "WorkspaceStorageEnvelope"),
        ("GET", "/admin/api/workspaces/{workspace_id}/images"): (200, "LibraryImagePage"),
        ("GET", "/admin/api/workspaces/{workspace_id}/shares"): (200, "SharePage"),
    }
)
QUERIES[("GET", "/admin/api/workspaces/{workspace_id}/images")] = QUERIES[("GET", "/v1/images")]
QUERIES[("GET", "/admin/api/workspaces/{workspace_id}/shares")] = ("limit", "cursor")
# --- a folder's order (issue 12) ---
BODIES[("PUT", "/v1/folders/{folder_id}/order")] = ("FolderOrder", True)
QUERIES[("GET", "/v1/folders/{folder_id}/images")] = ("limit", "cursor")
RESPONSES.update(
    {
        ("GET", "/v1/folders/{folder_id}/images"): (200, "LibraryImagePage"),
        ("PUT", "/v1/folders/{folder_id}/order"): (200, "BulkResults"),
    }
)

# --- marketplace (issue 16, API.md "Platform") ------------------------------------------------------
_LISTINGS = "/v1/marketplace/listings"
_LISTING = _LISTINGS + "/{listing_id}"
BODIES.update(
    {
        ("POST", _LISTINGS): ("ListingCreate", True),
        ("POST", _LISTING + "/ratings"): ("ListingRating", True),
        ("POST", _LISTING + "/reports"): ("ListingReport", True),
        ("POST", "/v1/payouts"): ("PayoutCreate", True),
        ("POST", "/admin/api/marketplace/listings/{listing_id}/hide"): ("HideListing", True),
        ("POST", "/admin/api/marketplace/refunds"): ("RefundPurchase", True),
    }
)
OTHER_BODIES[("POST", _LISTING + "/purchase")] = _NO_BODY
OTHER_BODIES[("POST", "/v1/payouts/onboarding")] = _NO_BODY
OTHER_BODIES[("POST", "/webhooks/stripe-connect")] = OTHER_BODIES[("POST", "/webhooks/stripe")]
PUBLIC.add(("POST", "/webhooks/stripe-connect"))
HEADERS[("POST", "/webhooks/stripe-connect")] = ("Stripe-Signature",)
IDEMPOTENT.update(
    {
        ("POST", _LISTINGS),
        ("POST", _LISTING + "/purchase"),
        ("POST", "/v1/payouts"),
        ("POST", "/admin/api/marketplace/refunds"),
    }
)
QUERIES.update(
    {
        ("GET", _LISTINGS): ("q", "tag", "sort", "limit", "cursor"),
        ("GET", "/v1/earnings"): (),
        ("GET", "/admin/api/marketplace/reports"): ("limit", "cursor"),
    }
)
QUERY_SCHEMAS.update(
    {
        (("GET", _LISTINGS), "q"): {"type": "string", "maxLength": 200, "description": "words of the name (all must match)"},
        (("GET", _LISTINGS), "tag"): {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"},
        (("GET", _LISTINGS), "sort"): {"type": "string", "enum": ["new", "top"], "default": "new"},
    }
)
RESPONSES.update(
    {
        ("POST", _LISTINGS): (201, "ListingEnvelope"),
        ("GET", _LISTINGS): (200, "ListingPage"),
        ("GET", _LISTING): (200, "ListingEnvelope"),
        ("POST", _LISTING + "/purchase"): (201, "PurchaseEnvelope"),
        ("POST", _LISTING + "/ratings"): (200, "ListingEnvelope"),
        ("POST", _LISTING + "/reports"): (201, "ListingReportReceipt"),
        ("GET", "/v1/earnings"): (200, "EarningsView"),
        ("POST", "/v1/payouts/onboarding"): (200, "OnboardingUrl"),
        ("POST", "/v1/payouts"): (201, "PayoutEnvelope"),
        ("POST", "/webhooks/stripe-connect"): (200, "WebhookReceipt"),
        ("GET", "/admin/api/marketplace/reports"): (200, "ReportedListingPage"),
        ("POST", "/admin/api/marketplace/listings/{listing_id}/hide"): (200, "HiddenListingView"),
        ("POST", "/admin/api/marketplace/refunds"): (200, "PurchaseEnvelope"),
    }
)

# --- custom model training (issue 16) ---------------------------------------------------------------
BODIES[("POST", "/v1/trainings")] = ("TrainingCreate", True)
IDEMPOTENT.update({("POST", "/v1/trainings"), ("POST", "/v1/trainings/{training_id}/cancel")})
QUERIES[("GET", "/v1/trainings")] = ("limit", "cursor")
RESPONSES.update(
    {
        ("POST", "/v1/trainings"): (202, "TrainingEnvelope"),
        ("GET", "/v1/trainings"): (200, "TrainingPage"),
        ("GET", "/v1/trainings/{training_id}"): (200, "TrainingEnvelope"),
        ("POST", "/v1/trainings/{training_id}/cancel"): (200, "TrainingEnvelope"),
    }
)
OTHER_BODIES[("POST", "/v1/trainings/{training_id}/cancel")] = OTHER_BODIES[("POST", "/v1/jobs/{job_id}/cancel")]

# --- mobile: devices, push settings, offline sync (issue 16) ------------------------------------
BODIES.update(
    {
        ("POST", "/v1/devices"): ("DeviceCreate", True),
        ("PUT", "/v1/me/notifications"): ("PushSettingsPut", True),
        ("POST", "/v1/sync"): ("SyncPush", True),
    }
)
IDEMPOTENT.update({("POST", "/v1/devices"), ("POST", "/v1/sync")})
QUERY_PARAMETERS["last_pulled_at"] = {
    "type": ["integer", "null"],
    "minimum": 0,
    "maximum": 4102444800000,
    "description": "the `timestamp` of the last pull (epoch ms); absent or null: a first pull",
}
QUERIES.update({("GET", "/v1/devices"): ("limit", "cursor"), ("GET", "/v1/sync"): ("last_pulled_at",)})
RESPONSES.update(
    {
        ("POST", "/v1/devices"): (201, "DeviceEnvelope"),
        ("GET", "/v1/devices"): (200, "DevicePage"),
        ("DELETE", "/v1/devices/{device_id}"): (204, None),
        ("GET", "/v1/me/notifications"): (200, "PushSettingsView"),
        ("PUT", "/v1/me/notifications"): (200, "PushSettingsView"),
        ("GET", "/v1/sync"): (200, "SyncPullView"),
        ("POST", "/v1/sync"): (200, "SyncPushResult"),
    }
)
# --- marketplace: withdraw, reprice, a buyer's purchases (issue 16) ---------------------------------
BODIES[("PATCH", _LISTING)] = ("ListingUpdate", True)
QUERIES[("GET", "/v1/marketplace/purchases")] = ("limit", "cursor")
RESPONSES.update(
    {
        ("DELETE", _LISTING): (204, None),
        ("PATCH", _LISTING): (200, "ListingEnvelope"),
        ("GET", "/v1/marketplace/purchases"): (200, "PurchasePage"),
    }
)
