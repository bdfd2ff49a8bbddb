"""The hosted trainer seam (Replicate's trainings API) against a local fake of its wire format.

The worker starts the training at the trainer (the images as a zip behind a presigned URL),
keeps its handle, polls it with delayed messages, and settles or refunds once; a cancel reaches
the trainer; retryable outages leave the message to come back, a refusal fails the training.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.local.fake_replicate import FakeReplicate
from chalicelib.training import worker
from tests.functional.helpers import call
from tests.functional.training_helpers import (
    create,
    ledger_types,
    run_trainings_worker,
    seed_pictures,
    take_messages,
    training_of,
    wallet,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture()
def polls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The worker's delayed poll messages, kept instead of sent (the test plays them itself)."""
    sent: list[tuple[str, int]] = []

    def keep(workspace_id: str, training_id: str, correlation_id: str | None, delay_s: int = 0) -> str:
        sent.append((training_id, delay_s))
        return "kept"

    monkeypatch.setattr(worker, "queue", SimpleNamespace(enqueue_training=keep))
    return sent


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch, polls: list[tuple[str, int]]) -> Iterator[FakeReplicate]:
    server = FakeReplicate()
    url = server.start()
    for name, value in {
        "TRAINER": "replicate",
        "REPLICATE_BASE_URL": url,
        "REPLICATE_API_TOKEN": server.token,
        "REPLICATE_TRAINER": f"ostris/flux-dev-lora-trainer/versions/{'4ffd3216' * 8}",
        "REPLICATE_DESTINATION": "acme/house-style",
    }.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    take_messages()
    yield server
    server.stop()
    monkeypatch.undo()
    bootstrap.reset()


def test_a_hosted_training_is_started_polled_and_charged_once(
    api: Any, make_tenant: Any, fake: FakeReplicate, polls: list[tuple[str, int]]
) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    made = create(api, tenant, {"name": "hosted", "upload_ids": seed_pictures(tenant, 5), "steps": 800})
    assert made["trainer"] == "replicate" and made["base_model"].startswith("ostris/flux-dev-lora-trainer/versions/")
    run_trainings_worker(take_messages(made["id"]))
    (handle,) = fake.trainings
    assert fake.zip_files[handle] == 5 and fake.trainings[handle]["input"]["steps"] == 800
    assert training_of(api, tenant, made["id"])["status"] == "running"
    assert polls == [(made["id"], 60)]  # the next look is a delayed message
    assert worker.run_training(tenant.workspace_id, made["id"]) == "running"  # the poll message: processing
    assert worker.run_training(tenant.workspace_id, made["id"]) == "succeeded"
    assert worker.run_training(tenant.workspace_id, made["id"]) == "succeeded"  # a late duplicate poll
    done = training_of(api, tenant, made["id"])
    assert done["status"] == "succeeded" and done["credits_charged"] == 50 and done["style"] is None
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "charge"]
    assert wallet(tenant.workspace_id) == (before[0] - 50, 0)
    assert len(fake.trainings) == 1  # started once, whatever the redeliveries
    status, body, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": "p", "model": made["id"]})
    assert status == 400 and body["error"]["field"] == "model" and "hosted" in body["error"]["message"]


def test_a_hosted_failure_refunds_once(api: Any, make_tenant: Any, fake: FakeReplicate) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    made = create(api, tenant, {"name": "doomed", "upload_ids": seed_pictures(tenant, 5)})
    run_trainings_worker(take_messages(made["id"]))
    fake.fail(next(iter(fake.trainings)))
    assert worker.run_training(tenant.workspace_id, made["id"]) == "failed"
    assert worker.run_training(tenant.workspace_id, made["id"]) == "failed"
    failed = training_of(api, tenant, made["id"])
    assert failed["error"] == {"code": "training_failed", "message": "CUDA out of memory"}
    assert wallet(tenant.workspace_id) == before
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "release"]


def test_a_cancel_reaches_the_hosted_trainer(api: Any, make_tenant: Any, fake: FakeReplicate) -> None:
    tenant = make_tenant()
    made = create(api, tenant, {"name": "stop it", "upload_ids": seed_pictures(tenant, 5)})
    run_trainings_worker(take_messages(made["id"]))
    handle = next(iter(fake.trainings))
    assert call(api, "POST", f"/v1/trainings/{made['id']}/cancel", tenant)[0] == 200
    assert worker.run_training(tenant.workspace_id, made["id"]) == "canceled"  # the next poll message
    assert fake.trainings[handle]["status"] == "canceled"
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "release"]


def test_outages_retry_and_the_last_receive_fails_it(api: Any, make_tenant: Any, fake: FakeReplicate) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    made = create(api, tenant, {"name": "flaky", "upload_ids": seed_pictures(tenant, 5)})
    messages = take_messages(made["id"])
    fake.outage = True
    failed = run_trainings_worker(messages)
    assert [f["itemIdentifier"] for f in failed["batchItemFailures"]] == [messages[0]["MessageId"]]  # comes back
    assert training_of(api, tenant, made["id"])["status"] == "running"
    assert run_trainings_worker(messages, receive_count=3) == {"batchItemFailures": []}  # its last receive
    ended = training_of(api, tenant, made["id"])
    assert ended["status"] == "failed" and ended["error"]["code"] == "trainer_unavailable"
    assert wallet(tenant.workspace_id) == before


def test_a_refused_token_fails_the_training(
    api: Any, make_tenant: Any, fake: FakeReplicate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_wrong")
    tenant = make_tenant()
    made = create(api, tenant, {"name": "unauthorised", "upload_ids": seed_pictures(tenant, 5)})
    run_trainings_worker(take_messages(made["id"]))
    ended = training_of(api, tenant, made["id"])
    assert ended["status"] == "failed" and ended["error"]["code"] == "trainer_error"
    assert "authentication" in ended["error"]["message"] and fake.trainings == {}
