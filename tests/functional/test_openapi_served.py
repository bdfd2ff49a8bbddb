"""/openapi.json is served and every answer the routes give matches the shape it documents;
/docs renders it with the vendored renderer under a strict CSP."""

from __future__ import annotations

from typing import Any

from tests.functional.helpers import call


def _check(document: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    from openapi_schema_validator import OAS31Validator

    responses = document["paths"][path][method.lower()]["responses"]
    declared = responses.get(str(status), responses["default"])
    schema = declared["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": document["components"]}).validate(body)


def test_the_document_is_served_and_public(api: Any) -> None:
    status, document, headers = call(api, "GET", "/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"
    assert "/v1/webhook-endpoints" in document["paths"] and "/docs" in document["paths"]
    from openapi_spec_validator import validate

    validate(document)


def test_answers_match_their_documented_shapes(api: Any, make_tenant: Any, admin: Any) -> None:
    document = call(api, "GET", "/openapi.json")[1]
    owner = make_tenant()
    made = call(api, "POST", "/v1/webhook-endpoints", owner, {"url": "http://127.0.0.1:9/x", "events": ["job.failed"]})
    endpoint_id = made[1]["endpoint"]["id"]
    job = call(api, "POST", "/v1/jobs", owner, {"prompt": "a shape check"})
    cases = [
        ("POST", "/v1/webhook-endpoints", made),
        ("POST", "/v1/jobs", job),
        ("GET", "/v1/jobs", call(api, "GET", "/v1/jobs", owner)),
        ("GET", "/v1/jobs/{job_id}", call(api, "GET", f"/v1/jobs/{job[1]['job']['id']}", owner)),
        ("GET", "/v1/me", call(api, "GET", "/v1/me", owner)),
        ("GET", "/v1/keys", call(api, "GET", "/v1/keys", owner)),
        ("GET", "/v1/balance", call(api, "GET", "/v1/balance", owner)),
        ("GET", "/v1/ledger", call(api, "GET", "/v1/ledger", owner)),
        ("GET", "/v1/usage", call(api, "GET", "/v1/usage", owner)),
        ("GET", "/v1/webhook-endpoints", call(api, "GET", "/v1/webhook-endpoints", owner)),
        ("GET", "/v1/webhook-endpoints/{endpoint_id}", call(api, "GET", f"/v1/webhook-endpoints/{endpoint_id}", owner)),
        (
            "GET",
            "/v1/webhook-endpoints/{endpoint_id}/deliveries",
            call(api, "GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", owner),
        ),
        (
            "POST",
            "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
            call(api, "POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", owner),
        ),
        ("GET", "/healthz", call(api, "GET", "/healthz")),
        ("GET", "/admin/api/meta", call(api, "GET", "/admin/api/meta", admin)),
        ("GET", "/admin/api/workspaces", call(api, "GET", "/admin/api/workspaces", admin)),
        ("GET", "/admin/api/workspaces/{workspace_id}", call(api, "GET", f"/admin/api/workspaces/{owner.workspace_id}", admin)),
        ("GET", "/admin/api/jobs", call(api, "GET", "/admin/api/jobs", admin)),
        ("GET", "/v1/jobs/{job_id}", call(api, "GET", "/v1/jobs/job_nope", owner)),  # an error: the envelope
        ("POST", "/v1/webhook-endpoints", call(api, "POST", "/v1/webhook-endpoints", owner, {"url": 1})),
    ]
    for method, path, (status, body, _) in cases:
        assert status < 500, (method, path, body)
        _check(document, method, path, status, body)


def test_a_wrong_shape_is_caught(api: Any) -> None:
    import pytest
    from jsonschema.exceptions import ValidationError

    document = call(api, "GET", "/openapi.json")[1]
    with pytest.raises(ValidationError):
        _check(document, "GET", "/v1/webhook-endpoints", 200, {"data": [{"id": 1}], "next_cursor": None})


def test_docs_render_offline_under_a_strict_csp(api: Any) -> None:
    response = api.http.get("/docs")
    html = response.body.decode()
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in html and "http" not in html.replace('charset="utf-8"', "")  # no inline code, nothing remote
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "reference.js"):
        got = api.http.get(f"/docs/assets/{asset}")
        assert got.status_code == 200 and len(got.body) > 100
    assert api.http.get("/docs/assets/..%2Fdocs.py").status_code == 404
    assert api.http.get("/docs/assets/index.html").status_code == 404
