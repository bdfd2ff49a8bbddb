"""vary / upscale / edit (provider and local operations) / style_transfer: priced, admitted,
settled, with lineage; provider adapters in the worker path; the provider-wide quota defers."""

from __future__ import annotations

import io
from datetime import UTC

import pytest
from PIL import Image

from chalicelib.accounting import plans
from chalicelib.accounting.ledger import get_wallet, reconcile_wallet
from chalicelib.aws import client, queue_url
from chalicelib.generation import storage
from chalicelib.settings import get_settings
from chalicelib.store.models import ImageModel, JobModel
from tests.functional.accounting_helpers import UNLIMITED
from tests.functional.helpers import call, drain, purge, receive, run_worker


def _job(api, tenant, body, expect=202):
    status, answer, _ = call(api, "POST", "/v1/jobs", tenant, body)
    assert status == expect, answer
    return answer


def _done(api, tenant, job_id):
    drain()
    return call(api, "GET", f"/v1/jobs/{job_id}", tenant)[1]["job"]


def _image(tenant, image):
    data = storage.get_image(ImageModel.get(tenant.workspace_id, image["id"]).s3_key)
    return Image.open(io.BytesIO(data))


@pytest.fixture()
def base_image(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    job = _job(api, t, {"prompt": "a lighthouse", "size": "512x512"})["job"]
    done = _done(api, t, job["id"])
    assert done["status"] == "succeeded"
    return t, done["images"][0]


@pytest.mark.parametrize("strength", ["subtle", "strong"])
def test_vary_records_lineage(api, base_image, strength):
    t, source = base_image
    job = _job(
        api,
        t,
        {
            "prompt": "a lighthouse",
            "kind": "vary",
            "source_image_id": source["id"],
            "strength": strength,
            "n": 2,
            "size": "512x512",
        },
    )["job"]
    done = _done(api, t, job["id"])
    assert done["status"] == "succeeded" and len(done["images"]) == 2
    assert all(img["source_image_id"] == source["id"] for img in done["images"])
    assert ImageModel.get(t.workspace_id, done["images"][0]["id"]).source_image_id == source["id"]
    assert done["usage"]["credits_charged"] == 2


def test_upscale_2x_and_4x_with_prices_by_output_size(api, base_image):
    t, source = base_image
    job = _job(api, t, {"prompt": "sharper", "kind": "upscale", "source_image_id": source["id"], "scale": 2})["job"]
    assert job["provider"] == "local" and job["size"] == "1024x1024" and job["usage"]["credits_reserved"] == 2
    done = _done(api, t, job["id"])
    with _image(t, done["images"][0]) as png:
        assert png.size == (1024, 1024) and png.format == "PNG"
    big = _job(api, t, {"prompt": "huge", "kind": "upscale", "source_image_id": done["images"][0]["id"], "scale": 4})["job"]
    assert big["size"] == "4096x4096" and big["usage"]["credits_reserved"] == 32
    done_big = _done(api, t, big["id"])
    assert (done_big["images"][0]["width"], done_big["images"][0]["height"]) == (4096, 4096)
    _job(api, t, {"prompt": "x", "kind": "upscale", "source_image_id": source["id"], "scale": 3}, expect=400)
    _job(api, t, {"prompt": "x", "kind": "upscale", "source_image_id": source["id"], "n": 2}, expect=400)


def test_edit_with_local_operations(api, base_image):
    t, source = base_image
    ops = [
        {"op": "crop", "left": 0, "top": 0, "right": 400, "bottom": 300},
        {"op": "rotate", "degrees": 90},
        {"op": "format", "to": "jpeg"},
    ]
    job = _job(api, t, {"prompt": "crop and turn", "kind": "edit", "source_image_id": source["id"], "operations": ops})["job"]
    done = _done(api, t, job["id"])
    image = done["images"][0]
    assert done["status"] == "succeeded" and image["content_type"] == "image/jpeg"
    with _image(t, image) as jpeg:
        assert jpeg.format == "JPEG" and jpeg.size == (300, 400)
    bad = _job(
        api,
        t,
        {
            "prompt": "x",
            "kind": "edit",
            "source_image_id": source["id"],
            "operations": [{"op": "crop", "left": 0, "top": 0, "right": 5000, "bottom": 10}],
        },
    )["job"]
    failed = _done(api, t, bad["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "invalid_image_operation"
    assert get_wallet(t.workspace_id).held == 0
    for invalid in ([{"op": "blur"}], [{"op": "resize", "width": 0, "height": 5}], [], [{"op": "format", "to": "gif"}]):
        _job(api, t, {"prompt": "x", "kind": "edit", "source_image_id": source["id"], "operations": invalid}, expect=400)
    _job(api, t, {"prompt": "x", "operations": ops}, expect=400)  # operations only with kind edit
    assert reconcile_wallet(t.workspace_id).ok


def test_style_transfer_needs_a_style_image(api, base_image):
    t, source = base_image
    style = _done(api, t, _job(api, t, {"prompt": "starry swirls", "size": "512x512"})["job"]["id"])["images"][0]
    _job(api, t, {"prompt": "x", "kind": "style_transfer", "source_image_id": source["id"]}, expect=400)
    job = _job(
        api,
        t,
        {
            "prompt": "in that style",
            "kind": "style_transfer",
            "source_image_id": source["id"],
            "style_image_id": style["id"],
            "size": "512x512",
        },
    )["job"]
    assert job["usage"]["credits_reserved"] == 2
    done = _done(api, t, job["id"])
    assert done["status"] == "succeeded" and done["images"][0]["source_image_id"] == source["id"]


def test_another_tenants_image_is_not_found(api, base_image, make_tenant):
    _, source = base_image
    other = make_tenant()
    status, err, _ = call(api, "POST", "/v1/jobs", other, {"prompt": "x", "kind": "vary", "source_image_id": source["id"]})
    assert status == 404 and err["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("provider", "model", "cost_positive"), [("openai", "gpt-image-1", True), ("gemini", "gemini-2.5-flash-image", True)]
)
def test_remote_providers_through_the_worker_record_tokens_and_cost(
    api, make_tenant, provider_fakes, provider, model, cost_positive
):
    purge()
    t = make_tenant(plan="pro", limits={**UNLIMITED, "providers": ["local", "gemini", "openai"]})
    job = _job(api, t, {"prompt": "a fox [fake:503_once]", "provider": provider, "model": model, "n": 2})["job"]
    done = _done(api, t, job["id"])
    assert done["status"] == "succeeded" and len(done["images"]) == 2, done
    assert done["usage"]["output_tokens"] > 0 and (done["usage"]["cost_micro_usd"] > 0) is cost_positive
    ledger = call(api, "GET", "/v1/ledger", t)[1]["data"]
    charge = next(e for e in ledger if e["type"] == "charge")
    assert charge["provider"] == provider and charge["details"]["output_tokens"] == done["usage"]["output_tokens"]


def test_first_gemini_job_succeeds_despite_a_slow_cold_start(api, make_tenant, provider_fakes, monkeypatch):
    """End to end through the worker: the first call is slower than the normal timeout."""
    from chalicelib.generation.providers import reset_providers

    monkeypatch.setenv("GEMINI_TIMEOUT_S", "1")
    monkeypatch.setenv("GEMINI_FIRST_CALL_TIMEOUT_S", "5")
    reset_providers()
    purge()
    t = make_tenant(plan="pro", limits=UNLIMITED)
    job = _job(api, t, {"prompt": "first job [fake:slow_first:1500]", "provider": "gemini"})["job"]
    done = _done(api, t, job["id"])
    assert done["status"] == "succeeded"


def test_safety_block_fails_the_job_with_a_clear_code(api, make_tenant, provider_fakes):
    purge()
    t = make_tenant(plan="pro", limits=UNLIMITED)
    job = _job(api, t, {"prompt": "bad [fake:safety]", "provider": "gemini"})["job"]
    done = _done(api, t, job["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "content_blocked"
    assert get_wallet(t.workspace_id).held == 0


def test_full_provider_window_defers_the_job_and_keeps_its_hold(api, make_tenant, monkeypatch, frozen_clock):
    from datetime import datetime

    frozen_clock.set(datetime(2031, 5, 17, 9, 41, 5, tzinfo=UTC))  # a provider window no other test uses
    purge()
    monkeypatch.setitem(plans.PROVIDER_QUOTAS, "local", plans.ProviderQuota(100_000, 3))
    t = make_tenant(limits=UNLIMITED)
    first = _job(api, t, {"prompt": "fits", "n": 2})["job"]
    second = _job(api, t, {"prompt": "does not fit this minute", "n": 2})["job"]
    messages = receive()
    assert len(messages) == 2
    assert run_worker(messages) == {"batchItemFailures": []}
    statuses = {j: JobModel.get(t.workspace_id, j).status for j in (first["id"], second["id"])}
    assert sorted(statuses.values()) == ["queued", "succeeded"]
    assert get_wallet(t.workspace_id).held == 2  # the deferred job keeps its hold
    attrs = client("sqs").get_queue_attributes(
        QueueUrl=queue_url(get_settings().jobs_queue_name), AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert int(attrs["ApproximateNumberOfMessagesDelayed"]) == 1
    purge()
