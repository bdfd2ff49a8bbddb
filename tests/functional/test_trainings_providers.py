"""A trained style on the hosted providers' pictures (chalicelib/training/styled.py), through the
real routes and worker against the local fakes of the OpenAI and Gemini wire formats: the
provider draws with its base model, the worker applies the style to what it returns, the job
costs what the base model costs, and an unusable model costs nothing at the provider."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.accounting.prices import DEFAULT_MODEL
from chalicelib.aws import client
from chalicelib.settings import get_settings
from chalicelib.store import jobs as job_store
from chalicelib.training import service as training_service
from chalicelib.training.style import mean_rgb
from tests.functional.helpers import call, drain
from tests.functional.training_helpers import RED, seed_pictures, take_messages, train

pytestmark = pytest.mark.usefixtures("aws")
PROVIDERS = {"providers": ["local", "gemini", "openai"]}


@pytest.fixture(autouse=True)
def _empty_queue() -> None:
    take_messages()  # what earlier tests left on the shared trainings queue is not this test's


def _pixels(workspace_id: str, job_id: str) -> bytes:
    job = job_store.get_job(workspace_id, job_id)
    assert job is not None and job.status == "succeeded", job and job.error
    key = job.images[0]["s3_key"]
    return bytes(client("s3").get_object(Bucket=get_settings().images_bucket, Key=key)["Body"].read())


def _distance(a: list[int], b: tuple[int, int, int]) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def _models_asked(fakes: Any) -> list[str]:
    """The model each request to the fakes named (OpenAI: in the body; Gemini: in the path)."""
    return [r["model"] or r["path"].rsplit("/", 1)[-1].split(":")[0] for r in fakes.requests]


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_trained_style_is_applied_to_a_hosted_providers_pictures(
    api: Any, make_tenant: Any, provider_fakes: Any, provider: str
) -> None:
    tenant = make_tenant(plan="pro", limits=PROVIDERS)
    trained = train(api, tenant, seed_pictures(tenant, 6))
    body = {"prompt": f"a lighthouse at dusk on {provider}", "provider": provider}
    status, plain, _ = call(api, "POST", "/v1/jobs", tenant, body)
    assert status == 202, plain
    status, styled, _ = call(api, "POST", "/v1/jobs", tenant, {**body, "model": trained["id"]})
    assert status == 202, styled
    plain, styled = plain["job"], styled["job"]
    assert (styled["provider"], styled["model"]) == (provider, trained["id"])
    assert styled["usage"]["credits_reserved"] == plain["usage"]["credits_reserved"]  # the base model's price
    drain()
    plain_rgb = mean_rgb(_pixels(tenant.workspace_id, plain["id"]))
    styled_rgb = mean_rgb(_pixels(tenant.workspace_id, styled["id"]))
    # The provider drew the same picture for both; the styled one moved toward the set's red.
    assert _distance(styled_rgb, RED) < _distance(plain_rgb, RED) - 60, (plain_rgb, styled_rgb)
    assert styled_rgb[0] > plain_rgb[0] and styled_rgb[1] < plain_rgb[1]
    asked = _models_asked(provider_fakes)
    assert len(asked) == 2 and set(asked) == {DEFAULT_MODEL[provider]}, asked  # never the trn_ name
    done = call(api, "GET", f"/v1/jobs/{styled['id']}", tenant)[1]["job"]
    assert done["status"] == "succeeded" and done["images"][0]["content_type"] == "image/png", done
    assert (
        done["usage"]["credits_charged"]
        == call(api, "GET", f"/v1/jobs/{plain['id']}", tenant)[1]["job"]["usage"]["credits_charged"]
    )


def test_a_trained_model_that_is_not_usable_when_the_job_runs_costs_nothing_at_the_provider(
    api: Any, make_tenant: Any, provider_fakes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant(plan="pro", limits=PROVIDERS)
    trained = train(api, tenant, seed_pictures(tenant, 5))
    status, job, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": "p", "provider": "openai", "model": trained["id"]})
    assert status == 202, job
    monkeypatch.setattr(training_service, "trained_style", lambda workspace_id, model: None)
    drain()
    done = call(api, "GET", f"/v1/jobs/{job['job']['id']}", tenant)[1]["job"]
    assert done["status"] == "failed" and done["error"]["code"] == "invalid_provider_request", done
    assert done["usage"]["credits_charged"] == 0
    assert provider_fakes.requests == []


def test_a_trained_model_on_an_unknown_provider_is_400(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant(plan="pro", limits=PROVIDERS)
    trained = train(api, tenant, seed_pictures(tenant, 5))
    status, body, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": "p", "provider": "midjourney", "model": trained["id"]})
    assert status == 400 and body["error"]["field"] == "provider", body
    assert call(api, "GET", "/v1/jobs", tenant)[1]["data"] == []
