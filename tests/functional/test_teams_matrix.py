"""The permission matrix, walked: every route × owner/admin/member/viewer, another workspace's
owner, and a revoked key, with the exact status of each cell.

Each route's permission is written here once (ROUTES) and the test fails when a route is added
without a row. The expected status comes from `tenancy/permissions.py` (the matrix as data): a
role that lacks the permission gets 403; one that has it reaches the route, whose probe is built
to answer a known status without changing anything (a body the strict schema refuses: 400; an id
that does not exist: 404; a read: 200). A few cells are also written out by hand below.
"""

from __future__ import annotations

import pytest

from chalicelib.tenancy import permissions as p
from tests.functional.helpers import call
from tests.functional.teams_helpers import bearer, invite, join

ADMIN = "platform-admin"
GHOST = "00000000000000000000000000"  # a well-formed id nothing has
PROBE = {"probe": 1}  # every strict request model refuses it: 400 once past authorization

# (method, path) -> (permission, path as probed, body, status once authorized)
ROUTES: dict[tuple[str, str], tuple[str, str, dict | None, int]] = {
    ("GET", "/v1/me"): (p.SELF, "/v1/me", None, 200),
    ("PATCH", "/v1/me"): (p.SELF, "/v1/me", PROBE, 400),
    ("POST", "/v1/keys"): (p.KEYS_OWN, "/v1/keys", PROBE, 400),
    ("GET", "/v1/keys"): (p.SELF, "/v1/keys", None, 200),
    ("DELETE", "/v1/keys/{key_id}"): (p.SELF, "/v1/keys/key_{id}", None, 404),
    ("GET", "/v1/balance"): (p.BILLING_READ, "/v1/balance", None, 200),
    ("GET", "/v1/ledger"): (p.BILLING_READ, "/v1/ledger", None, 200),
    ("GET", "/v1/usage"): (p.JOBS_READ, "/v1/usage", None, 200),
    ("POST", "/v1/billing/checkout"): (p.BILLING_WRITE, "/v1/billing/checkout", PROBE, 400),
    ("PUT", "/v1/billing/auto-topup"): (p.BILLING_WRITE, "/v1/billing/auto-topup", PROBE, 400),
    ("POST", "/v1/jobs"): (p.JOBS_WRITE, "/v1/jobs", PROBE, 400),
    ("GET", "/v1/jobs"): (p.JOBS_READ, "/v1/jobs", None, 200),
    ("GET", "/v1/jobs/{job_id}"): (p.JOBS_READ, "/v1/jobs/job_{id}", None, 404),
    ("POST", "/v1/jobs/{job_id}/cancel"): (p.JOBS_WRITE, "/v1/jobs/job_{id}/cancel", None, 404),
    ("POST", "/v1/service-keys"): (p.MEMBERS_WRITE, "/v1/service-keys", PROBE, 400),
    ("GET", "/v1/service-keys"): (p.MEMBERS_WRITE, "/v1/service-keys", None, 200),
    ("DELETE", "/v1/service-keys/{key_id}"): (p.MEMBERS_WRITE, "/v1/service-keys/key_{id}", None, 404),
    ("GET", "/v1/members"): (p.SELF, "/v1/members", None, 200),
    ("PATCH", "/v1/members/{user_id}"): (p.MEMBERS_WRITE, "/v1/members/usr_{id}", PROBE, 400),
    ("DELETE", "/v1/members/{user_id}"): (p.MEMBERS_WRITE, "/v1/members/usr_{id}", None, 404),
    ("POST", "/v1/members/{user_id}/transfer-ownership"): (p.WORKSPACE_OWN, "/v1/members/usr_{id}/transfer-ownership", None, 404),
    ("GET", "/v1/workspaces"): (p.SELF, "/v1/workspaces", None, 200),
    ("POST", "/v1/invitations"): (p.MEMBERS_WRITE, "/v1/invitations", PROBE, 400),
    ("GET", "/v1/invitations"): (p.MEMBERS_WRITE, "/v1/invitations", None, 200),
    ("DELETE", "/v1/invitations/{invitation_id}"): (p.MEMBERS_WRITE, "/v1/invitations/inv_{id}", None, 404),
    ("POST", "/v1/invitations/{invitation_id}/resend"): (p.MEMBERS_WRITE, "/v1/invitations/inv_{id}/resend", None, 404),
    ("GET", "/admin/api/meta"): (ADMIN, "/admin/api/meta", None, 200),
    ("GET", "/admin/api/workspaces"): (ADMIN, "/admin/api/workspaces", None, 200),
    ("POST", "/admin/api/workspaces"): (ADMIN, "/admin/api/workspaces", PROBE, 400),
    ("GET", "/admin/api/workspaces/{workspace_id}"): (ADMIN, "/admin/api/workspaces/ws_{id}", None, 404),
    ("POST", "/admin/api/workspaces/{workspace_id}/ban"): (ADMIN, "/admin/api/workspaces/ws_{id}/ban", PROBE, 400),
    ("POST", "/admin/api/workspaces/{workspace_id}/unban"): (ADMIN, "/admin/api/workspaces/ws_{id}/unban", PROBE, 400),
    ("PUT", "/admin/api/workspaces/{workspace_id}/billing"): (ADMIN, "/admin/api/workspaces/ws_{id}/billing", PROBE, 400),
    ("POST", "/admin/api/workspaces/{workspace_id}/credits"): (ADMIN, "/admin/api/workspaces/ws_{id}/credits", PROBE, 400),
    ("PUT", "/admin/api/workspaces/{workspace_id}/limits"): (ADMIN, "/admin/api/workspaces/ws_{id}/limits", PROBE, 400),
    ("POST", "/admin/api/users/{user_id}/ban"): (ADMIN, "/admin/api/users/usr_{id}/ban", PROBE, 400),
    ("POST", "/admin/api/users/{user_id}/unban"): (ADMIN, "/admin/api/users/usr_{id}/unban", PROBE, 400),
    ("POST", "/admin/api/scheduled/{name}/run"): (ADMIN, "/admin/api/scheduled/no_such_task/run", None, 404),
    ("GET", "/admin/api/usage"): (ADMIN, "/admin/api/usage", None, 200),
    ("GET", "/admin/api/jobs"): (ADMIN, "/admin/api/jobs", None, 200),
    ("GET", "/admin/api/denials"): (ADMIN, "/admin/api/denials", None, 200),
    ("GET", "/admin/api/reports/usage.csv"): (ADMIN, "/admin/api/reports/usage.csv", None, 200),
    ("GET", "/admin/api/reports/ledger.csv"): (ADMIN, "/admin/api/reports/ledger.csv", None, 200),
    ("GET", "/admin/api/billing/rejected-events"): (ADMIN, "/admin/api/billing/rejected-events", None, 200),
    ("GET", "/admin/api/outbox"): (ADMIN, "/admin/api/outbox?to=nobody@matrix.test", None, 200),
    # --- library ---
    ("GET", "/v1/images"): (p.LIBRARY_READ, "/v1/images", None, 200),
    ("GET", "/v1/images/{image_id}"): (p.LIBRARY_READ, "/v1/images/img_{id}", None, 404),
    ("PATCH", "/v1/images/{image_id}"): (p.LIBRARY_WRITE, "/v1/images/img_{id}", PROBE, 400),
    ("DELETE", "/v1/images/{image_id}"): (p.LIBRARY_WRITE, "/v1/images/img_{id}", None, 404),
    ("POST", "/v1/images/{image_id}/restore"): (p.LIBRARY_WRITE, "/v1/images/img_{id}/restore", None, 404),
    ("POST", "/v1/images/bulk"): (p.LIBRARY_WRITE, "/v1/images/bulk", PROBE, 400),
    ("GET", "/v1/tags"): (p.LIBRARY_READ, "/v1/tags", None, 200),
    ("POST", "/v1/folders"): (p.LIBRARY_WRITE, "/v1/folders", PROBE, 400),
    ("GET", "/v1/folders"): (p.LIBRARY_READ, "/v1/folders", None, 200),
    ("GET", "/v1/folders/{folder_id}"): (p.LIBRARY_READ, "/v1/folders/fld_{id}", None, 404),
    ("PATCH", "/v1/folders/{folder_id}"): (p.LIBRARY_WRITE, "/v1/folders/fld_{id}", PROBE, 400),
    ("DELETE", "/v1/folders/{folder_id}"): (p.LIBRARY_WRITE, "/v1/folders/fld_{id}", None, 404),
    ("GET", "/v1/folders/{folder_id}/images"): (p.LIBRARY_READ, "/v1/folders/fld_{id}/images", None, 404),
    ("PUT", "/v1/folders/{folder_id}/order"): (p.LIBRARY_WRITE, "/v1/folders/fld_{id}/order", PROBE, 400),
    ("POST", "/v1/uploads"): (p.LIBRARY_WRITE, "/v1/uploads", PROBE, 400),
    ("POST", "/v1/uploads/{upload_id}/complete"): (p.LIBRARY_WRITE, "/v1/uploads/upl_{id}/complete", None, 404),
    ("POST", "/v1/shares"): (p.LIBRARY_MANAGE, "/v1/shares", PROBE, 400),
    ("GET", "/v1/shares"): (p.LIBRARY_READ, "/v1/shares", None, 200),
    ("DELETE", "/v1/shares/{share_id}"): (p.LIBRARY_MANAGE, "/v1/shares/shr_{id}", None, 404),
    # --- templates ---
    ("GET", "/v1/templates"): (p.LIBRARY_READ, "/v1/templates", None, 200),
    ("POST", "/v1/templates"): (p.LIBRARY_WRITE, "/v1/templates", PROBE, 400),
    ("GET", "/v1/templates/{template_id}"): (p.LIBRARY_READ, "/v1/templates/tpl_{id}", None, 404),
    ("PATCH", "/v1/templates/{template_id}"): (p.LIBRARY_WRITE, "/v1/templates/tpl_{id}", PROBE, 400),
    ("DELETE", "/v1/templates/{template_id}"): (p.LIBRARY_WRITE, "/v1/templates/tpl_{id}", None, 404),
    ("POST", "/v1/templates/{template_id}/render"): (p.LIBRARY_READ, "/v1/templates/tpl_{id}/render", PROBE, 400),
    # --- webhooks and integrations ---
    ("POST", "/v1/webhook-endpoints"): (p.WEBHOOKS_WRITE, "/v1/webhook-endpoints", PROBE, 400),
    ("GET", "/v1/webhook-endpoints"): (p.WEBHOOKS_WRITE, "/v1/webhook-endpoints", None, 200),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): (p.WEBHOOKS_WRITE, "/v1/webhook-endpoints/whe_{id}", None, 404),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): (p.WEBHOOKS_WRITE, "/v1/webhook-endpoints/whe_{id}", PROBE, 400),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): (p.WEBHOOKS_WRITE, "/v1/webhook-endpoints/whe_{id}", None, 404),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): (
        p.WEBHOOKS_WRITE,
        "/v1/webhook-endpoints/whe_{id}/rotate-secret",
        None,
        404,
    ),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): (
        p.WEBHOOKS_WRITE,
        "/v1/webhook-endpoints/whe_{id}/deliveries",
        None,
        404,
    ),
    ("POST", "/v1/webhook-deliveries/{delivery_id}/replay"): (
        p.WEBHOOKS_WRITE,
        "/v1/webhook-deliveries/whd_{id}/replay",
        None,
        404,
    ),
    ("POST", "/v1/integrations/zapier/subscriptions"): (p.WEBHOOKS_WRITE, "/v1/integrations/zapier/subscriptions", PROBE, 400),
    ("DELETE", "/v1/integrations/zapier/subscriptions/{subscription_id}"): (
        p.WEBHOOKS_WRITE,
        "/v1/integrations/zapier/subscriptions/whe_{id}",
        None,
        404,
    ),
    ("GET", "/v1/integrations/zapier/samples"): (
        p.WEBHOOKS_WRITE,
        "/v1/integrations/zapier/samples?event=job.succeeded",
        None,
        200,
    ),
}
# --- admin: webhooks view (issue 14) ---
_HOOKS = "/admin/api/workspaces/{workspace_id}"
_PROBED = "/admin/api/workspaces/ws_{id}"
ROUTES.update(
    {
        ("GET", _HOOKS + "/webhook-endpoints"): (ADMIN, _PROBED + "/webhook-endpoints", None, 404),
        ("GET", _HOOKS + "/webhook-deliveries"): (ADMIN, _PROBED + "/webhook-deliveries", None, 404),
        ("POST", _HOOKS + "/webhook-deliveries/{delivery_id}/replay"): (
            ADMIN,
            _PROBED + "/webhook-deliveries/whd_{id}/replay",
            None,
            404,
        ),
        ("POST", _HOOKS + "/webhook-endpoints/{endpoint_id}/disable"): (
            ADMIN,
            _PROBED + "/webhook-endpoints/whe_{id}/disable",
            PROBE,
            400,
        ),
        ("POST", _HOOKS + "/webhook-endpoints/{endpoint_id}/enable"): (
            ADMIN,
            _PROBED + "/webhook-endpoints/whe_{id}/enable",
            PROBE,
            400,
        ),
    }
)
# --- library exports and storage (issue 12) ---
ROUTES.update(
    {
        ("POST", "/v1/exports"): (p.LIBRARY_EXPORT, "/v1/exports", PROBE, 400),
        ("GET", "/v1/exports"): (p.LIBRARY_EXPORT, "/v1/exports", None, 200),
        ("GET", "/v1/exports/{export_id}"): (p.LIBRARY_EXPORT, "/v1/exports/exp_{id}", None, 404),
        ("GET", "/admin/api/workspaces/{workspace_id}/storage"): (ADMIN, "/admin/api/workspaces/ws_{id}/storage", None, 404),
        ("GET", "/admin/api/workspaces/{workspace_id}/images"): (ADMIN, "/admin/api/workspaces/ws_{id}/images", None, 404),
        ("GET", "/admin/api/workspaces/{workspace_id}/shares"): (ADMIN, "/admin/api/workspaces/ws_{id}/shares", None, 404),
    }
)
# --- analytics (every role reads them: DESIGN.md "read ... usage, analytics") ---
ROUTES.update(
    {
        ("GET", "/v1/analytics/usage"): (p.ANALYTICS_READ, "/v1/analytics/usage?bucket=hour&group_by=member", None, 200),
        ("GET", "/v1/analytics/performance"): (p.ANALYTICS_READ, "/v1/analytics/performance", None, 200),
        ("GET", "/v1/analytics/costs"): (p.ANALYTICS_READ, "/v1/analytics/costs", None, 200),
    }
)
# --- collections, publishing, moderation (API.md "Templates, collections, gallery") ---
ROUTES.update(
    {
        ("POST", "/v1/collections"): (p.COLLECTIONS_WRITE, "/v1/collections", PROBE, 400),
        ("GET", "/v1/collections"): (p.COLLECTIONS_READ, "/v1/collections", None, 200),
        ("GET", "/v1/collections/{collection_id}"): (p.COLLECTIONS_READ, "/v1/collections/col_{id}", None, 404),
        ("PATCH", "/v1/collections/{collection_id}"): (p.COLLECTIONS_WRITE, "/v1/collections/col_{id}", PROBE, 400),
        ("DELETE", "/v1/collections/{collection_id}"): (p.COLLECTIONS_WRITE, "/v1/collections/col_{id}", None, 404),
        ("GET", "/v1/collections/{collection_id}/items"): (p.COLLECTIONS_READ, "/v1/collections/col_{id}/items", None, 404),
        ("POST", "/v1/collections/{collection_id}/items"): (p.COLLECTIONS_WRITE, "/v1/collections/col_{id}/items", PROBE, 400),
        ("DELETE", "/v1/collections/{collection_id}/items/{image_id}"): (
            p.COLLECTIONS_WRITE,
            "/v1/collections/col_{id}/items/img_{id}",
            None,
            404,
        ),
        ("PUT", "/v1/collections/{collection_id}/order"): (p.COLLECTIONS_WRITE, "/v1/collections/col_{id}/order", PROBE, 400),
        ("POST", "/v1/images/{image_id}/publish"): (p.GALLERY_PUBLISH, "/v1/images/img_{id}/publish", None, 404),
        ("POST", "/v1/images/{image_id}/unpublish"): (p.GALLERY_PUBLISH, "/v1/images/img_{id}/unpublish", None, 404),
        ("GET", "/admin/api/reports"): (ADMIN, "/admin/api/reports", None, 200),
        ("POST", "/admin/api/images/{image_id}/hide"): (ADMIN, "/admin/api/images/img_{id}/hide", PROBE, 400),
        ("POST", "/admin/api/reports/{image_id}/dismiss"): (ADMIN, "/admin/api/reports/img_{id}/dismiss", PROBE, 400),
    }
)
# --- marketplace (issue 16, API.md "Platform") ---
_LST = "/v1/marketplace/listings/lst_{id}"
ROUTES.update(
    {
        ("POST", "/v1/marketplace/listings"): (p.MARKETPLACE_SELL, "/v1/marketplace/listings", PROBE, 400),
        ("GET", "/v1/marketplace/listings"): (p.MARKETPLACE_BROWSE, "/v1/marketplace/listings", None, 200),
        ("GET", "/v1/marketplace/listings/{listing_id}"): (p.MARKETPLACE_BROWSE, _LST, None, 404),
        ("POST", "/v1/marketplace/listings/{listing_id}/purchase"): (p.MARKETPLACE_BUY, _LST + "/purchase", None, 404),
        ("POST", "/v1/marketplace/listings/{listing_id}/ratings"): (p.MARKETPLACE_RATE, _LST + "/ratings", PROBE, 400),
        ("POST", "/v1/marketplace/listings/{listing_id}/reports"): (p.MARKETPLACE_REPORT, _LST + "/reports", PROBE, 400),
        ("GET", "/v1/earnings"): (p.EARNINGS_READ, "/v1/earnings", None, 200),
        ("POST", "/v1/payouts/onboarding"): (p.PAYOUTS_WRITE, "/v1/payouts/onboarding", PROBE, 400),
        ("POST", "/v1/payouts"): (p.PAYOUTS_WRITE, "/v1/payouts", PROBE, 400),
        ("GET", "/admin/api/marketplace/reports"): (ADMIN, "/admin/api/marketplace/reports", None, 200),
        ("POST", "/admin/api/marketplace/listings/{listing_id}/hide"): (
            ADMIN,
            "/admin/api/marketplace/listings/lst_{id}/hide",
            PROBE,
            400,
        ),
        ("POST", "/admin/api/marketplace/refunds"): (ADMIN, "/admin/api/marketplace/refunds", PROBE, 400),
    }
)
# --- custom model training (issue 16): every role reads; members and up create and cancel ---
ROUTES.update(
    {
        ("POST", "/v1/trainings"): (p.TRAININGS_WRITE, "/v1/trainings", PROBE, 400),
        ("GET", "/v1/trainings"): (p.TRAININGS_READ, "/v1/trainings", None, 200),
        ("GET", "/v1/trainings/{training_id}"): (p.TRAININGS_READ, "/v1/trainings/trn_{id}", None, 404),
        ("POST", "/v1/trainings/{training_id}/cancel"): (p.TRAININGS_WRITE, "/v1/trainings/trn_{id}/cancel", None, 404),
    }
)
# --- mobile: devices, push settings, offline sync (issue 16) ---
ROUTES.update(
    {
        ("POST", "/v1/devices"): (p.DEVICES_OWN, "/v1/devices", PROBE, 400),
        ("GET", "/v1/devices"): (p.DEVICES_OWN, "/v1/devices", None, 200),
        ("DELETE", "/v1/devices/{device_id}"): (p.DEVICES_OWN, "/v1/devices/dev_{id}", None, 404),
        ("GET", "/v1/me/notifications"): (p.DEVICES_OWN, "/v1/me/notifications", None, 200),
        ("PUT", "/v1/me/notifications"): (p.DEVICES_OWN, "/v1/me/notifications", PROBE, 400),
        ("GET", "/v1/sync"): (p.SYNC_READ, "/v1/sync", None, 200),
        ("POST", "/v1/sync"): (p.SYNC_WRITE, "/v1/sync", PROBE, 400),
    }
)
# --- marketplace: withdraw and reprice (sellers: owners, admins), a buyer's purchases (every role) ---
ROUTES.update(
    {
        ("DELETE", "/v1/marketplace/listings/{listing_id}"): (p.MARKETPLACE_WITHDRAW, _LST, None, 404),
        ("PATCH", "/v1/marketplace/listings/{listing_id}"): (p.MARKETPLACE_REPRICE, _LST, PROBE, 400),
        ("GET", "/v1/marketplace/purchases"): (p.MARKETPLACE_PURCHASES_READ, "/v1/marketplace/purchases", None, 200),
    }
)
# No bearer key needed (or, for accepting an invitation, optional): not cells of the matrix.
PUBLIC = {
    ("GET", "/healthz"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/admin"),
    ("POST", "/admin"),
    ("GET", "/admin/assets/{name}"),
    ("POST", "/v1/invitations/accept"),
    ("GET", "/s/{token}"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/assets/{name}"),
    # IFTTT's service API: its IFTTT-Service-Key comes first (then the user's bearer token).
    ("GET", "/ifttt/v1/status"),
    ("POST", "/ifttt/v1/test/setup"),
    ("POST", "/ifttt/v1/triggers/{slug}"),
    ("POST", "/ifttt/v1/actions/{slug}"),
    # The public gallery: anyone, rate-limited per client address.
    ("GET", "/v1/gallery"),
    ("GET", "/v1/gallery/collections"),
    ("GET", "/v1/gallery/collections/{collection_id}"),
    ("POST", "/v1/gallery/reports"),
    ("POST", "/v1/gallery/images/{image_id}/like"),
    # Stripe Connect's deliveries: the Stripe-Signature is the credential.
    ("POST", "/webhooks/stripe-connect"),
}
ROLES = ("owner", "admin", "member", "viewer")


def test_every_route_has_a_row():
    import app

    declared = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    assert declared == set(ROUTES) | PUBLIC, declared ^ (set(ROUTES) | PUBLIC)


@pytest.fixture(scope="module")
def world(aws):
    """Workspace A with one person per role, its real objects, another workspace's owner, a revoked key."""
    from chalicelib.tenancy import create_workspace
    from tests.conftest import Tenant
    from tests.functional.helpers import app_client

    def tenant(is_admin=False):
        made = create_workspace("Matrix", f"matrix-{id(made_list)}-{len(made_list)}@example.test", "pro", is_admin=is_admin)
        made_list.append(made)
        return Tenant(made.workspace.workspace_id, made.owner.user_id, made.key.key_id, made.secret)

    made_list: list = []
    with app_client() as api:
        owner, foreign, admin = tenant(), tenant(), tenant(is_admin=True)
        people = {"owner": owner, **{role: join(api, owner, admin, role) for role in ("admin", "member", "viewer")}}
        revoked = call(api, "POST", "/v1/keys", owner, {"name": "revoked"})[1]
        assert call(api, "DELETE", f"/v1/keys/{revoked['key']['id']}", owner)[0] == 204
        job = call(api, "POST", "/v1/jobs", owner, {"prompt": "matrix"})[1]["job"]["id"]
        inv_id, _ = invite(api, owner, admin, "member")
        service = call(api, "POST", "/v1/service-keys", owner, {"name": "svc"})[1]["key"]["id"]
        real = {
            "/v1/keys/key_{id}": f"/v1/keys/{owner.key_id}",
            "/v1/jobs/job_{id}": f"/v1/jobs/{job}",
            "/v1/jobs/job_{id}/cancel": f"/v1/jobs/{job}/cancel",
            "/v1/service-keys/key_{id}": f"/v1/service-keys/{service}",
            "/v1/members/usr_{id}": f"/v1/members/{people['viewer'].user_id}",
            "/v1/members/usr_{id}/transfer-ownership": f"/v1/members/{people['viewer'].user_id}/transfer-ownership",
            "/v1/invitations/inv_{id}": f"/v1/invitations/{inv_id}",
            "/v1/invitations/inv_{id}/resend": f"/v1/invitations/{inv_id}/resend",
        }
        yield {"api": api, "people": people, "foreign": foreign, "revoked": bearer(revoked["secret"]), "real": real}


def _expected(role: str, permission: str, authorized: int) -> int:
    if permission == ADMIN:
        return 403  # nobody here is a platform admin
    return authorized if p.role_allows(role, permission) else 403


def _send(world, who, method, path, body):
    headers = who if isinstance(who, dict) else None
    return call(world["api"], method, path, None if headers else who, body, headers=headers)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_the_matrix(world, route):
    permission, probe, body, authorized = ROUTES[route]
    method = route[0]
    cells = {}
    for role in ROLES:
        status, answer, _ = _send(world, world["people"][role], method, probe.format(id=GHOST), body)
        cells[role] = status
        if status == 403 and permission != ADMIN:
            assert answer["error"]["scope"] == permission, answer  # the 403 names what was missing
    expected = {role: _expected(role, permission, authorized) for role in ROLES}
    # Another workspace's owner: A's real objects are not found; everything else is about B.
    real = world["real"].get(probe)
    foreign_path = real or probe.format(id=GHOST)
    cells["foreign"] = _send(world, world["foreign"], method, foreign_path, body)[0]
    foreign = _expected("owner", permission, authorized)
    expected["foreign"] = 404 if real and foreign != 403 and authorized != 400 else foreign
    cells["revoked"] = _send(world, world["revoked"], method, probe.format(id=GHOST), body)[0]
    expected["revoked"] = 401
    assert cells == expected, route


def test_some_cells_by_hand(world):
    """Independent of permissions.py: DESIGN.md's rows read by a person."""
    api, people = world["api"], world["people"]
    assert call(api, "POST", "/v1/jobs", people["viewer"], PROBE)[0] == 403
    assert call(api, "POST", "/v1/jobs", people["member"], PROBE)[0] == 400
    assert call(api, "GET", "/v1/balance", people["member"])[0] == 403
    assert call(api, "GET", "/v1/balance", people["admin"])[0] == 200
    assert call(api, "GET", "/v1/invitations", people["member"])[0] == 403
    assert call(api, "GET", "/v1/invitations", people["admin"])[0] == 200
    assert call(api, "POST", f"/v1/members/usr_{GHOST}/transfer-ownership", people["admin"])[0] == 403
    assert call(api, "POST", f"/v1/members/usr_{GHOST}/transfer-ownership", people["owner"])[0] == 404
    assert call(api, "GET", "/v1/members", people["viewer"])[0] == 200
    assert call(api, "GET", "/admin/api/meta", people["owner"])[0] == 403
