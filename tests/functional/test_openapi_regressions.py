"""What schemathesis found against the served spec (tests/e2e/test_schemathesis.py), kept: each
was a request the spec called valid that the API refused, or a refusal the spec must describe."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.api.openapi import build_openapi
from tests.functional.helpers import call


def _idempotency_pattern() -> str:
    import app

    post = build_openapi(app.app)["paths"]["/v1/jobs"]["post"]
    (header,) = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    return str(header["schema"]["pattern"])


def test_the_spec_only_offers_idempotency_keys_the_api_accepts(api: Any, make_tenant: Any) -> None:
    """Found: an Idempotency-Key of control characters was schema-valid and answered 400."""
    pattern = _idempotency_pattern()
    assert re.fullmatch(pattern, "key\x7f") is None and re.fullmatch(pattern, "order-42 retry") is not None
    owner = make_tenant()
    status, body, _ = call(api, "POST", "/v1/jobs", owner, {"prompt": "x"}, {"Idempotency-Key": "a\x01b"})
    assert status == 400 and body["error"]["field"] == "Idempotency-Key"


def test_times_outside_the_documented_range_are_a_400_naming_the_field(api: Any, admin: Any) -> None:
    """Found: `to=1872-06-30T22:08:45.27-01:58` (a valid RFC 3339 time) is refused: the range is documented."""
    status, body, _ = call(api, "GET", "/admin/api/denials?to=1872-06-30T22%3A08%3A45.27-01%3A58", admin)
    assert status == 400 and body["error"]["field"] == "to"
    import app

    (to,) = [p for p in build_openapi(app.app)["paths"]["/admin/api/denials"]["get"]["parameters"] if p["name"] == "to"]
    assert "2000-01-01 to 2100-12-31" in to["schema"]["description"]


def test_an_integer_written_as_a_float_is_refused_without_a_change(api: Any, make_tenant: Any) -> None:
    """Found: `"threshold": 854876.0` is an integer to JSON Schema; the strict models refuse it (400, not a 500)."""
    owner = make_tenant()
    body = {"enabled": False, "threshold": 100.0, "amount": 5, "monthly_cap": 10}
    status, answer, _ = call(api, "PUT", "/v1/billing/auto-topup", owner, body)
    assert status == 400 and answer["error"]["field"] == "threshold"
    assert call(api, "GET", "/v1/balance", owner)[1]["auto_topup"] is None
