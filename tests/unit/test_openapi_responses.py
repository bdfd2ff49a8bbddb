"""Every route declares its answer, and the declared response model is the one the view renders."""

from __future__ import annotations

import inspect
import re

import pytest

from chalicelib.api import openapi


def _entries():
    import app

    return {(method, path): entry for path, methods in app.app.routes.items() for method, entry in methods.items()}


def test_every_route_declares_its_answer_and_nothing_else_is_declared() -> None:
    assert set(openapi.RESPONSES) == set(_entries())


@pytest.mark.parametrize("key", sorted(k for k, (_, v) in openapi.RESPONSES.items() if isinstance(v, str)))
def test_the_declared_model_is_the_one_the_view_renders(key: tuple[str, str]) -> None:
    status, name = openapi.RESPONSES[key]
    source = inspect.getsource(_entries()[key].view_function)
    rendered = set(re.findall(r"responses\.(\w+)", source))
    assert name.partition("[")[0] in rendered, (key, rendered)
    statuses = set(re.findall(r"\),\s+(\d{3})[,)\s]", source)) or {"200"}
    assert str(status) in statuses, (key, statuses)
    assert openapi.response_model(name).model_json_schema(mode="serialization")["type"] in ("object", "array")


def test_the_document_names_its_success_answers(tmp_path) -> None:
    import app

    document = openapi.build_openapi(app.app)
    created = document["paths"]["/v1/webhook-endpoints"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WebhookEndpointCreated"}
    assert created["default"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "204" in document["paths"]["/v1/keys/{key_id}"]["delete"]["responses"]
    assert "WebhookDeliveryView" in document["components"]["schemas"]
    assert document["paths"]["/openapi.json"]["get"]["security"] == []
