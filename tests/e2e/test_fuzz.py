"""Property-based fuzzing of every route of the local stack with schemathesis: valid and invalid
requests generated from the OpenAPI document the app builds of itself (chalicelib/api/openapi.py).
The one property checked today: no answer is a server error (5xx) and no connection breaks.
Response-schema conformance comes with the served /openapi.json.

Deterministic by default (hypothesis `derandomize`), so CI replays the same cases; set
FUZZ_SEED=<n> to explore other ones and FUZZ_EXAMPLES=<n> (default 10 per operation and mode)
to go deeper. Each 5xx it ever found is kept as a regression test in
tests/functional/test_bad_input.py.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


def _settings() -> Any:
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize="FUZZ_SEED" not in os.environ,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def _fuzz(operation: Any, mode: Any, stack: Stack, session: requests.Session, found: list[str]) -> int:
    """Run one operation in one generation mode; returns how many requests were answered."""
    from hypothesis import given, seed

    answered = [0]
    headers = {"Authorization": f"Bearer {stack.admin_key}"}

    @_settings()
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            response = case.call(base_url=stack.base, session=session, headers=headers, timeout=30)
        except (requests.ConnectionError, requests.Timeout) as exc:
            found.append(f"{case.method} {case.formatted_path}: transport error {exc!r}\n{case.as_curl_command()}")
            return
        except (requests.exceptions.InvalidHeader, UnicodeError, ValueError):
            return  # a request the client itself cannot send (a header with a line break, ...)
        answered[0] += 1
        if response.status_code >= 500:
            found.append(
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}\n"
                f"{case.as_curl_command(headers=headers)}"
            )

    if "FUZZ_SEED" in os.environ:
        run = seed(int(os.environ["FUZZ_SEED"]))(run)
    run()
    return answered[0]


def test_no_route_answers_a_server_error(stack: Stack):
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    import app
    from chalicelib.api.openapi import build_openapi

    schema = schemathesis.openapi.from_dict(build_openapi(app.app))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 36
    found: list[str] = []
    answered = 0
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    answered += _fuzz(operation, mode, stack, session, found)
                except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                    continue
    assert answered >= len(operations) * EXAMPLES // 2, answered
    assert found == [], "\n\n".join(found[:10])
