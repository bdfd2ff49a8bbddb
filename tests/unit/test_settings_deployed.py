"""A deployed stage refuses the placeholder `local` provider unless told to allow it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.api.errors import to_api_error
from chalicelib.settings import ConfigurationError, get_settings, reset_settings


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("DEFAULT_PROVIDER", "ALLOW_LOCAL_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield monkeypatch
    monkeypatch.undo()
    reset_settings()


@pytest.mark.parametrize("stage", ["dev", "prod", "staging"])
def test_a_deployed_stage_refuses_the_local_provider(fresh_settings: pytest.MonkeyPatch, stage: str) -> None:
    fresh_settings.setenv("STAGE", stage)
    with pytest.raises(ConfigurationError) as refused:
        get_settings()
    error = refused.value
    answer = to_api_error(error)
    assert answer.status == 503 and answer.code == "service_unavailable"
    assert "DEFAULT_PROVIDER" in error.message and stage in error.message
    with pytest.raises(ConfigurationError):  # not cached: every call refuses until it is fixed
        get_settings()
    fresh_settings.setenv("DEFAULT_PROVIDER", "local")
    with pytest.raises(ConfigurationError):  # naming it explicitly is not consent either
        get_settings()


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"STAGE": "dev", "DEFAULT_PROVIDER": "gemini"}, "gemini"),
        ({"STAGE": "prod", "DEFAULT_PROVIDER": "openai"}, "openai"),
        ({"STAGE": "dev", "ALLOW_LOCAL_PROVIDER": "true"}, "local"),
        ({"STAGE": "local"}, "local"),
        ({"STAGE": "test"}, "local"),
    ],
)
def test_real_providers_local_stages_and_explicit_consent_start(
    fresh_settings: pytest.MonkeyPatch, env: dict[str, str], provider: str
) -> None:
    for key, value in env.items():
        fresh_settings.setenv(key, value)
    assert get_settings().default_provider == provider


def test_the_api_answers_503_naming_the_setting(fresh_settings: pytest.MonkeyPatch) -> None:
    """Through the app's middleware: the envelope with the reason, not a 500."""
    import json

    from chalice.test import Client

    import app as chalice_app

    fresh_settings.setenv("STAGE", "dev")
    with Client(chalice_app.app) as client:
        response = client.http.get("/healthz")
    body = json.loads(response.body)
    assert response.status_code == 503
    assert body["error"]["code"] == "service_unavailable"
    assert "DEFAULT_PROVIDER" in body["error"]["message"]
    assert response.headers["X-Request-Id"] == body["error"]["request_id"]
