"""The variable validation matrix through the routes: every type × every way a value can be
wrong, on POST /v1/templates/{id}/render and on POST /v1/jobs (where nothing may be admitted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.accounting.ledger import get_wallet
from chalicelib.tenancy import create_workspace
from tests.conftest import Tenant
from tests.functional.helpers import app_client, call, purge, receive

TEMPLATE = {
    "name": "Matrix",
    "prompt": "{text} | {choice} | {count}",
    "variables": {
        "text": {"type": "string", "max_length": 10},
        "choice": {"type": "enum", "enum": ["red", "blue"]},
        "count": {"type": "integer", "min": 1, "max": 9},
    },
    "visibility": "private",
}
GOOD = {"text": "hello", "choice": "red", "count": 3}

MATRIX: list[tuple[str, Any, str]] = [
    # (variable, value or MISSING, field)
    ("text", "MISSING", "variables.text"),
    ("text", 5, "variables.text"),
    ("text", "x" * 11, "variables.text"),
    ("text", "   ", "variables.text"),
    ("text", None, "variables.text"),
    ("text", ["a"], "variables.text"),
    ("text", {"a": "b"}, "variables.text"),
    ("text", True, "variables.text"),
    ("choice", "MISSING", "variables.choice"),
    ("choice", "green", "variables.choice"),
    ("choice", "RED", "variables.choice"),
    ("choice", 1, "variables.choice"),
    ("choice", 1.5, "variables.choice"),
    ("count", "MISSING", "variables.count"),
    ("count", "3", "variables.count"),
    ("count", 0, "variables.count"),
    ("count", 10, "variables.count"),
    ("count", -1, "variables.count"),
    ("count", 3.0, "variables.count"),
    ("count", False, "variables.count"),
    ("count", 10**16, "variables.count"),
    ("extra", "surprise", "variables.extra"),
    ("__class__", "x", "variables.__class__"),
]


def _values(name: str, value: Any) -> dict[str, Any]:
    values = dict(GOOD)
    if value == "MISSING":
        values.pop(name)
    else:
        values[name] = value
    return values


@pytest.fixture(scope="module")
def world(aws: Any) -> Iterator[dict[str, Any]]:
    """One tenant and one template for the whole matrix (each case changes nothing)."""
    with app_client() as client:
        made = create_workspace("Matrix", "matrix@example.test", "starter")
        tenant = Tenant(made.workspace.workspace_id, made.owner.user_id, made.key.key_id, made.secret)
        status, body, _ = call(client, "POST", "/v1/templates", tenant, TEMPLATE)
        assert status == 201, body
        yield {"api": client, "tenant": tenant, "template_id": body["template"]["id"]}


def test_good_values_render(world):
    status, body, _ = call(
        world["api"], "POST", f"/v1/templates/{world['template_id']}/render", world["tenant"], {"variables": GOOD}
    )
    assert status == 200 and body["prompt"] == "hello | red | 3"


@pytest.mark.parametrize(("name", "value", "field"), MATRIX, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MATRIX)])
def test_a_bad_value_is_400_naming_it_on_render_and_on_jobs(world, name, value, field):
    api, tenant = world["api"], world["tenant"]
    variables = _values(name, value)
    status, err, _ = call(api, "POST", f"/v1/templates/{world['template_id']}/render", tenant, {"variables": variables})
    assert status == 400, err
    assert err["error"]["code"] == "invalid_request" and err["error"]["field"] == field, err
    purge()
    before = get_wallet(tenant.workspace_id)
    status, err, _ = call(api, "POST", "/v1/jobs", tenant, {"template_id": world["template_id"], "variables": variables})
    assert status == 400 and err["error"]["field"] == field, err
    after = get_wallet(tenant.workspace_id)
    assert (after.available, after.held) == (before.available, before.held)
    assert receive() == []
    _, detail, _ = call(api, "GET", f"/v1/templates/{world['template_id']}", tenant)
    assert detail["template"]["usage"] == {"uses": 0, "workspaces": 0}
