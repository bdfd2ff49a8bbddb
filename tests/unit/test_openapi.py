"""The OpenAPI document is built from the app's own route table and request models, and stays valid."""

from __future__ import annotations

import pytest

from chalicelib.api import openapi


@pytest.fixture(scope="module")
def document():
    import app

    return openapi.build_openapi(app.app)


def _routes():
    import app

    return {(method, path) for path, methods in app.app.routes.items() for method in methods}


def test_it_is_a_valid_openapi_31_document(document):
    from openapi_spec_validator import validate

    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_is_an_operation_and_nothing_else(document):
    operations = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert operations == _routes()


def test_every_declaration_names_a_real_route():
    routes = _routes()
    for table in (openapi.BODIES, openapi.OTHER_BODIES, openapi.QUERIES, openapi.HEADERS):
        assert set(table) <= routes, set(table) - routes
    assert routes >= openapi.PUBLIC


def test_every_route_that_reads_a_body_declares_it():
    """POST/PUT/PATCH routes: a pydantic model, or one of the few other bodies."""
    writes = {key for key in _routes() if key[0] in ("POST", "PUT", "PATCH")}
    assert writes == set(openapi.BODIES) | set(openapi.OTHER_BODIES)


def test_bodies_are_the_pydantic_models_with_their_constraints(document):
    op = document["paths"]["/v1/jobs"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JobCreate"}
    job = document["components"]["schemas"]["JobCreate"]
    assert job["additionalProperties"] is False and job["properties"]["prompt"]["maxLength"] == 4000
    assert "CropOp" in document["components"]["schemas"]  # nested models are hoisted beside it
    limit = next(p for p in document["paths"]["/v1/jobs"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["in"] == "query" and limit["schema"]["maximum"] == 100
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert document["security"] == [{"bearer": []}]
